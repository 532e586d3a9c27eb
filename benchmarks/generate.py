"""Generation speed of the course's GPT with and without the KV cache, by sequence length.

    python benchmarks/generate.py --threads 2
    python benchmarks/generate.py --lengths 64 128 --repeats 3       # a quick check

The chapter-05 "baby GPT" (n_layer=4, n_head=4, n_embd=128, V = 65, the characters of
Tiny Shakespeare, GPT-2's biases), but with block_size 1024 so that no length here crops
the context (chapter 05 trains it with 64). The weights are untrained and random: speed
does not depend on them. B = 1, a prompt of one token, greedy decoding, float32.

Printed per length (new tokens): tokens/s of ``GPT.generate`` without the cache (each step
runs the whole sequence so far: quadratic in the length) and with it (each step runs one
token against the cached keys and values), the speed-up, and whether the two gave the
same tokens. Each figure is the median of ``--repeats`` runs after one warm-up run. The
machine and the thread count are printed first; on a shared machine, give ``--threads``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch

from llmcourse.device import describe_environment, pick_device, seed_everything
from llmcourse.gpt import GPT, GPTConfig

BABY_GPT = {"n_layer": 4, "n_head": 4, "n_embd": 128, "vocab_size": 65, "dropout": 0.0}


def timed_generate(model: GPT, prompt: torch.Tensor, n: int, use_cache: bool):
    """(tokens, seconds) of one greedy generation of n tokens."""
    start = time.perf_counter()
    out = model.generate(prompt, n, temperature=0, use_cache=use_cache)
    if out.device.type == "cuda":
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def measure(model: GPT, prompt: torch.Tensor, n: int, repeats: int) -> dict:
    """Median tokens/s with and without the cache, and whether the tokens agree."""
    row = {"length": n}
    outputs = {}
    for use_cache in (False, True):
        timed_generate(model, prompt, n, use_cache)  # warm-up
        runs = [timed_generate(model, prompt, n, use_cache) for _ in range(repeats)]
        outputs[use_cache] = runs[0][0]
        row["cached" if use_cache else "uncached"] = n / statistics.median(s for _, s in runs)
    row["same"] = torch.equal(outputs[False], outputs[True])
    return row


def print_table(rows: list[dict]) -> None:
    print("\n| new tokens | uncached tok/s | cached tok/s | speed-up | same tokens |")
    print("|---:|---:|---:|---:|:---:|")
    for r in rows:
        speedup = r["cached"] / r["uncached"]
        same = "yes" if r["same"] else "**NO**"
        print(f"| {r['length']} | {r['uncached']:,.0f} | {r['cached']:,.0f} | ", end="")
        print(f"{speedup:.1f}× | {same} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[64, 128, 256, 512])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--block-size", type=int, default=1024)
    parser.add_argument("--attention", choices=("sdpa", "scratch"), default="sdpa")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or mps")
    parser.add_argument("--seed", type=int, default=0, help="seeds the random weights")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(describe_environment(pick_device()))
    print(f"{'cpu_count':<11}  {os.cpu_count()}")
    print(f"{'load avg':<11}  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'command':<11}  {' '.join(sys.argv)}")
    seed_everything(args.seed)
    config = GPTConfig(block_size=args.block_size, attention=args.attention, **BABY_GPT)
    model = GPT(config).to(device).eval()
    print(f"model: {model.num_params():,} parameters, {config}")
    print(f"device {device}, threads={torch.get_num_threads()}, B=1, prompt 1 token, greedy")
    prompt = torch.zeros(1, 1, dtype=torch.long, device=device)
    rows = []
    for n in args.lengths:
        if n + 1 > config.block_size:
            print(f"skipping {n}: 1 + {n} tokens exceed block_size {config.block_size}")
            continue
        rows.append(measure(model, prompt, n, args.repeats))
        r = rows[-1]
        print(f"  {n} tokens: {r['uncached']:,.0f} vs {r['cached']:,.0f} tok/s", flush=True)
    print_table(rows)


if __name__ == "__main__":
    main()
