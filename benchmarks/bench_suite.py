"""How long each notebook and the whole test suite take on this machine.

    python benchmarks/bench_suite.py              # each notebook, median of 3 runs
    python benchmarks/bench_suite.py --suite      # … and the README's test command once

Notebooks run as the test suite runs them: a fresh kernel of this Python, top to bottom,
kernel start included. The figures go into the README's chapter table ("minutes on CPU")
and into closing notes, with the machine this prints first.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from llmcourse.device import describe_environment
from llmcourse.notebooks import FOLDERS, read_notebook, run_cells

ROOT = Path(__file__).resolve().parents[1]


def time_notebook(path: Path) -> float:
    """Seconds to execute the notebook at ``path`` once, in a fresh kernel."""
    nb = read_notebook(path)
    start = time.perf_counter()
    run_cells(nb, path.parent, timeout=1800)
    return time.perf_counter() - start


def time_suite() -> float:
    """Seconds for `python -m pytest` (the README's test command, once installed)."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q"], cwd=ROOT, check=True, capture_output=True
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per notebook (median reported)")
    parser.add_argument("--suite", action="store_true", help="also time the whole test suite once")
    args = parser.parse_args()

    print(describe_environment(), end="\n\n")
    print(f"{'notebook':40} {'median s':>9} {'min s':>7} {'max s':>7}")
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            runs = [time_notebook(path) for _ in range(args.runs)]
            name = path.relative_to(ROOT).as_posix()
            print(f"{name:40} {statistics.median(runs):9.1f} {min(runs):7.1f} {max(runs):7.1f}")
    if args.suite:
        print(f"\nwhole test suite (python -m pytest): {time_suite():.0f} s")


if __name__ == "__main__":
    main()
