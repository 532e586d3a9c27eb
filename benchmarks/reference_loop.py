"""The reference implementation's training loop, around the course's GPT, for comparison.

    LLMCOURSE_DATA_DIR=../shared/data python benchmarks/reference_loop.py --seeds 1337 0 1 2

``train_gpt.py`` trains the baby GPT with ``llmcourse.train.Trainer``. This script trains
the same model (``llmcourse.gpt.GPT``, no biases, 804,096 parameters) with the loop of the
best-known small reference implementation, rewritten here from its description, so that a
difference in loss can be traced to the loop or to chance:

- batches from the global random generator (``torch.manual_seed(seed)`` before the model
  is built), B = 12 windows of T = 64 characters;
- weight decay 0.1 on every parameter with 2 or more dimensions, the embeddings included
  (the Trainer leaves embeddings undecayed);
- warmup lr · (it + 1) / (warmup + 1) for 100 iterations, cosine to 1e-4 at 2000;
- ``torch.optim.AdamW`` with its default (for-each) kernel, β = (0.9, 0.99), clipping at 1;
- its evaluation: the mean loss of 20 random validation batches, drawn from the same global
  generator (so evaluating changes later batches, as in the reference), at 250, 500, 1000
  and 2000 iterations.

Printed per seed: that 20-batch estimate (the figure the reference reports) and the exact
loss on the whole validation split (``llmcourse.evaluate.evaluate_lm``); then the median
over the seeds. The reference's reported run uses seed 1337.
"""

from __future__ import annotations

import argparse
import math
import statistics

import torch
from torch import Tensor

from llmcourse.data import load_corpus, train_val_split
from llmcourse.evaluate import evaluate_lm
from llmcourse.gpt import GPT, GPTConfig
from llmcourse.tokenizers import CharTokenizer

B, T, ITERS, WARMUP, LR, MIN_LR = 12, 64, 2000, 100, 1e-3, 1e-4
CHECKPOINTS = (250, 500, 1000, 2000)


def get_batch(ids: Tensor) -> tuple[Tensor, Tensor]:
    """B random windows from the global generator: x, y (B, T)."""
    starts = torch.randint(len(ids) - T, (B,))
    return torch.stack([ids[s : s + T] for s in starts]), torch.stack(
        [ids[s + 1 : s + T + 1] for s in starts]
    )


def lr_at(it: int) -> float:
    """The reference's schedule: warmup over WARMUP + 1, cosine decay to MIN_LR."""
    if it < WARMUP:
        return LR * (it + 1) / (WARMUP + 1)
    ratio = min(1.0, (it - WARMUP) / (ITERS - WARMUP))
    return MIN_LR + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (LR - MIN_LR)


@torch.no_grad()
def estimate(model: GPT, val_ids: Tensor, batches: int = 20) -> float:
    """The reference's evaluation: the mean loss of ``batches`` random batches."""
    model.eval()
    loss = sum(model(*get_batch(val_ids))[1].item() for _ in range(batches)) / batches
    model.train()
    return loss


def run(seed: int, train_ids: Tensor, val_ids: Tensor, vocab_size: int) -> list[float]:
    """Train one model; print and return the exact validation loss at each checkpoint."""
    torch.manual_seed(seed)
    model = GPT(GPTConfig(vocab_size, T, n_layer=4, n_head=4, n_embd=128, bias=False))
    params = list(model.parameters())
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=LR, betas=(0.9, 0.99))
    exact = []
    for it in range(ITERS + 1):
        if it in CHECKPOINTS:
            estimated = estimate(model, val_ids)
            exact.append(evaluate_lm(model, val_ids, batch_size=64).nll)
            print(
                f"  seed {seed:>4}, {it:>4} iterations: 20 batches {estimated:.3f}, "
                f"whole split {exact[-1]:.3f}",
                flush=True,
            )
        if it == ITERS:
            return exact
        for group in optimizer.param_groups:
            group["lr"] = lr_at(it)
        _, loss = model(*get_batch(train_ids))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return exact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1337])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    text = load_corpus("tinyshakespeare")
    tokenizer = CharTokenizer.train(text)
    train_ids, val_ids = train_val_split(torch.tensor(tokenizer.encode(text)), 0.1)
    runs = [run(seed, train_ids, val_ids, tokenizer.vocab_size) for seed in args.seeds]
    print(f"median over seeds {args.seeds} (whole validation split):")
    for i, it in enumerate(CHECKPOINTS):
        values = [r[i] for r in runs]
        print(
            f"  {it:>4} iterations: {statistics.median(values):.3f} "
            f"(range {min(values):.3f}–{max(values):.3f})"
        )


if __name__ == "__main__":
    main()
