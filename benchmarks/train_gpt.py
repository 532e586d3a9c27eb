"""Training speed and quality of the course's GPT (and an LSTM of equal size) on Tiny Shakespeare.

    LLMCOURSE_DATA_DIR=../shared/data python benchmarks/train_gpt.py --threads 2 --seeds 0 1 2
    python benchmarks/train_gpt.py --iters 50 --model gpt          # a quick check
    python benchmarks/train_gpt.py --compile                      # on a GPU: bf16 + compile

The "baby GPT" CPU configuration that is the common reference for small character-level
models: n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12, dropout=0.0, AdamW
lr 1e-3 with 100 warmup steps and cosine decay to 1e-4 over 2000 iterations (β₂ = 0.99,
weight decay 0.1, clipping at 1.0), no biases (as the reference; ``--bias`` adds GPT-2's),
characters of Tiny Shakespeare split 90/10. The LSTM
(``RNNLM``, ``nn.LSTM`` inside) gets the same data and schedule and a hidden size chosen
so that its parameter count is the GPT's.

Printed per model and seed: tokens/s and ms per iteration (median over windows of 10
iterations, after the first 10% of the run), the exact validation loss (every token of the
split, ``llmcourse.evaluate.evaluate_lm``, dropout off) at 1/8, 1/4, 1/2 and all of the
iterations (250/500/1000/2000 by default), and peak memory: the
process's peak RSS, and on CUDA the peak of allocated GPU memory and the model FLOPs
utilisation (``llmcourse.gpt.flops_per_token`` · tokens/s over the GPU's peak). Each model
trains in its own process, so each peak RSS is its own. The machine is printed first;
on a shared machine, give ``--threads`` and compare medians.

With several ``--seeds`` (each seed: other initial weights and other batches) a summary
gives each figure's median over the seeds and the spread of the final loss: runs of this
size differ by about 0.01–0.02 in their final loss from the seed alone, so one run cannot
tell two training loops apart by less than that. ``benchmarks/reference_loop.py`` runs
the reference implementation's loop around the same model for comparison.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time

import torch

from llmcourse.data import load_corpus, train_val_split
from llmcourse.device import describe_environment, pick_device, seed_everything
from llmcourse.evaluate import evaluate_lm
from llmcourse.gpt import GPT, GPTConfig, flops_per_token
from llmcourse.history import Callback
from llmcourse.rnn import RNNLM
from llmcourse.tokenizers import CharTokenizer
from llmcourse.train import TrainConfig, Trainer

BABY_GPT = {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64, "dropout": 0.0}
#: The reference's model has no biases (0.80 M parameters); GPT-2's, the course's default,
#: has them (0.81 M): ``--bias``.

#: Dense bf16 peak TFLOP/s by GPU name, for the utilisation figure (fp16 for the T4).
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L4": 121.0, "T4": 65.0}


class Stopwatch(Callback):
    """Times windows of ``every`` steps, read right after the trainer's loss sync."""

    def __init__(self, every: int) -> None:
        self.every, self.windows, self.mark = every, [], None

    def on_start(self, trainer: Trainer) -> None:
        self.mark = (trainer.step, time.perf_counter())  # evaluations happen between runs

    def on_step(self, trainer: Trainer) -> None:
        if trainer.step % self.every == 0:  # the trainer has just waited for the device
            now = time.perf_counter()
            step, then = self.mark
            self.windows.append((trainer.step, (now - then) / (trainer.step - step)))
            self.mark = (trainer.step, now)


def lstm_params(V: int, E: int, H: int, num_layers: int) -> int:
    """Parameters of ``RNNLM(V, E, H, num_layers)``: embedding, LSTM layers, head."""
    first = 4 * H * (E + H) + 8 * H  # W_ih, W_hh and two biases of the four gates
    others = (num_layers - 1) * (4 * H * (2 * H) + 8 * H)
    return V * E + first + others + H * V + V


def lstm_of_size(vocab_size: int, n_params: int, embed_size: int, num_layers: int) -> RNNLM:
    """The RNNLM whose parameter count is closest to ``n_params``."""
    sizes = range(1, 4096)
    hidden = min(
        sizes, key=lambda H: abs(lstm_params(vocab_size, embed_size, H, num_layers) - n_params)
    )
    model = RNNLM(vocab_size, embed_size, hidden, num_layers)
    assert sum(p.numel() for p in model.parameters()) == lstm_params(
        vocab_size, embed_size, hidden, num_layers
    )
    return model


def build(args: argparse.Namespace, vocab_size: int) -> torch.nn.Module:
    gpt = GPT(GPTConfig(vocab_size=vocab_size, bias=args.bias, **BABY_GPT))
    if args.model == "gpt":
        return gpt
    n_params = sum(p.numel() for p in gpt.parameters())
    return lstm_of_size(vocab_size, n_params, BABY_GPT["n_embd"], args.lstm_layers)


def run_one(args: argparse.Namespace) -> None:
    """Train one model and print its figures."""
    seed_everything(args.seed)
    text = load_corpus("tinyshakespeare")
    tokenizer = CharTokenizer.train(text)
    train_ids, val_ids = train_val_split(torch.tensor(tokenizer.encode(text)), 0.1)
    model = build(args, tokenizer.vocab_size)
    config = TrainConfig(
        steps=args.iters,
        batch_size=12,
        block_size=BABY_GPT["block_size"],
        lr=1e-3,
        min_lr=1e-4,
        warmup_steps=min(100, args.iters // 10),
        weight_decay=0.1,
        betas=(0.9, 0.99),
        grad_clip=1.0,
        eval_every=args.iters + 1,  # the benchmark evaluates between runs, below
        eval_batches=1,
        log_every=10,
        seed=args.seed,
        compile=args.compile,
        precision=args.precision,
        progress=False,
    )
    stopwatch = Stopwatch(every=config.log_every)
    trainer = Trainer(model, train_ids, val_ids, config, [stopwatch])
    n_params = sum(p.numel() for p in model.parameters())
    print(f"\n{args.model}, seed {args.seed}: {n_params:,} parameters ({_describe(model)})")
    print(f"  device {trainer.device}, {trainer.dtype}, compile={args.compile}")
    for fraction in (8, 4, 2, 1):
        until = max(1, args.iters // fraction)
        if until <= trainer.step:
            continue
        trainer.run(until=until)
        val = evaluate_lm(model, val_ids, BABY_GPT["block_size"], batch_size=64).nll
        print(f"  val loss at {until:>5} iterations: {val:.3f}", flush=True)
    report_speed(args, trainer, stopwatch)


def report_speed(args: argparse.Namespace, trainer: Trainer, stopwatch: Stopwatch) -> None:
    warm = [seconds for step, seconds in stopwatch.windows if step > args.iters // 10]
    seconds = statistics.median(warm or [s for _, s in stopwatch.windows])
    tokens_per_s = trainer.tokens_per_step / seconds
    print(f"  median {seconds * 1000:.1f} ms/iteration = {tokens_per_s:,.0f} tokens/s", end="")
    print(
        f" ({len(warm)} windows of {stopwatch.every} iterations, threads={torch.get_num_threads()})"
    )
    print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if trainer.device.type == "cuda":
        print(f"  peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB allocated")
        name = torch.cuda.get_device_name()
        peak = next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
        if args.model == "gpt" and peak:
            flops = flops_per_token(trainer.model.config) * tokens_per_s
            print(f"  model FLOPs utilisation {flops / (peak * 1e12):.2%} of {peak:g} TFLOP/s")


def _describe(model: torch.nn.Module) -> str:
    if isinstance(model, RNNLM):
        return f"LSTM, {model.rnn.num_layers} layers, hidden {model.rnn.hidden_size}"
    return ", ".join(f"{k}={v}" for k, v in {**BABY_GPT, "bias": model.config.bias}.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=2000, help="training iterations")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--model", choices=("gpt", "lstm", "both"), default="both")
    parser.add_argument("--lstm-layers", type=int, default=2)
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "float32", "bfloat16", "float16"),
        help="auto: bf16 autocast on GPUs that have it, float32 on the CPU",
    )
    parser.add_argument("--bias", action="store_true", help="GPT-2's biases in the GPT")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="one run per seed (weights, batches)"
    )
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.child:
        print_machine()
    if args.child:
        run_one(args)
        return
    argv = ["--iters", str(args.iters), "--lstm-layers", str(args.lstm_layers), "--child"]
    argv += ["--precision", args.precision]
    argv += (["--compile"] if args.compile else []) + (["--bias"] if args.bias else [])
    argv += ["--threads", str(args.threads)] if args.threads else []
    for model in ("gpt", "lstm") if args.model == "both" else (args.model,):
        outputs = [run_child([*argv, "--model", model, "--seed", str(seed)]) for seed in args.seeds]
        if len(outputs) > 1:
            summarize(model, args.seeds, outputs)


def run_child(argv: list[str]) -> str:
    """Train in a fresh process (its own peak memory); echo and return what it prints."""
    done = subprocess.run(
        [sys.executable, __file__, *argv], check=True, capture_output=True, text=True
    )
    print(done.stdout, end="", flush=True)
    return done.stdout


def summarize(model: str, seeds: list[int], outputs: list[str]) -> None:
    """Each figure's median over the seeds' runs, and the range of the final loss."""
    losses = [re.findall(r"val loss at\s+(\d+) iterations: ([\d.]+)", out) for out in outputs]
    speeds = [float(re.search(r"median ([\d.]+) ms", out).group(1)) for out in outputs]
    print(f"\n{model}: median over seeds {seeds}")
    for i, (iters, _) in enumerate(losses[0]):
        values = [float(run[i][1]) for run in losses]
        spread = f" (range {min(values):.3f}–{max(values):.3f})" if i == len(losses[0]) - 1 else ""
        print(f"  val loss at {iters:>5} iterations: {statistics.median(values):.3f}{spread}")
    print(f"  median {statistics.median(speeds):.1f} ms/iteration")


def print_machine() -> None:
    print(describe_environment(pick_device()))
    print(f"{'cpu_count':<11}  {os.cpu_count()}")
    print(f"{'load avg':<11}  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'command':<11}  {' '.join(sys.argv)}", flush=True)


if __name__ == "__main__":
    main()
