"""How much slower the from-scratch LSTM (``llmcourse.rnn.RNN("lstm")``) is than ``nn.LSTM``.

    python benchmarks/rnn.py                      # B=32, T=64, hidden 128/256/512, 1-2 layers
    python benchmarks/rnn.py --repeats 9 --hidden 256 --layers 1 --threads 1

Both modules hold the same weights (``from_torch``); input_size = hidden_size. Each figure
is the median wall time of ``--repeats`` forward + backward passes (loss = mean of the
output), after one warm-up pass, on the CPU. The from-scratch path runs one small Python
step per layer and time step (T · num_layers cell calls, each a few kernels); ``nn.LSTM``
runs a fused C++ loop (oneDNN where available), so the gap is mostly per-step overhead and
shrinks as the matrices grow. On a busy machine two threads per process oversubscribe the
cores and both figures swell; ``--threads 1`` gives steadier ones (the load average is
printed with the machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch import nn

from llmcourse.device import describe_environment
from llmcourse.rnn import from_torch


def forward_backward_seconds(module: nn.Module, x: torch.Tensor, repeats: int) -> float:
    """Median wall time of ``repeats`` forward + backward passes, after one warm-up pass."""

    def step() -> None:
        module.zero_grad(set_to_none=True)
        output, _ = module(x)
        output.mean().backward()

    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure")
    parser.add_argument("--batch", type=int, default=32, help="B")
    parser.add_argument("--steps", type=int, default=64, help="T")
    parser.add_argument("--hidden", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    print(describe_environment(device="cpu"))
    print(f"{'cpu_count':<11}  {os.cpu_count()}")
    print(f"{'load_avg':<11}  {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min)")
    print(
        f"\nLSTM forward + backward on cpu, B={args.batch}, T={args.steps}, input_size = "
        f"hidden_size, median of {args.repeats} runs\n"
    )
    print(f"{'hidden':>6} {'layers':>6} {'from scratch':>13} {'nn.LSTM':>10} {'ratio':>7}")
    torch.manual_seed(0)
    for hidden in args.hidden:
        for layers in args.layers:
            fast = nn.LSTM(hidden, hidden, layers, batch_first=True)
            ours = from_torch(fast)
            x = torch.randn(args.batch, args.steps, hidden)
            with torch.no_grad():  # same weights, so the same numbers (checked, not assumed)
                diff = (ours(x)[0] - fast(x)[0]).abs().max().item()
            assert diff < 1e-4, f"outputs differ by {diff:.2e}"
            t_ours = forward_backward_seconds(ours, x, args.repeats)
            t_fast = forward_backward_seconds(fast, x, args.repeats)
            print(
                f"{hidden:>6} {layers:>6} {t_ours * 1e3:>10.1f} ms {t_fast * 1e3:>7.1f} ms "
                f"{t_ours / t_fast:>6.2f}x"
            )


if __name__ == "__main__":
    main()
