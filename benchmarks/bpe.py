"""How fast our byte-level BPE trains and encodes, and how well it compresses, against
Hugging Face ``tokenizers`` and the slow recount-everything trainer of the tests.

    LLMCOURSE_DATA_DIR=../shared/data python benchmarks/bpe.py                 # Tiny Shakespeare
    python benchmarks/bpe.py some.txt --vocab 512 1024 4096 --repeats 5

The text is split 90/10 (contiguous): tokenizers train on the first part; encode speed
and bytes per token are measured on the held-out part. Each time is the median of
``--repeats`` runs after a warm-up run, except the reference trainer, which runs once and,
by default, on the first 200,000 characters only (it would take minutes on the full text);
ours is then timed on the same characters, so that the speed-up compares like with like.
Targets (from the issue): ours >= 10x faster than the reference; held-out bytes per token
within 5% of HF's at the same vocabulary size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tokenizers
from tokenizers import Tokenizer as HFTokenizer

from llmcourse.data import load_corpus, train_val_split
from llmcourse.device import describe_environment
from llmcourse.interop import hf_byte_level_bpe
from llmcourse.tokenizers import BPETokenizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import bpe_reference  # noqa: E402  (lives with the tests, which check it too)


def median_seconds(
    fn: Callable[[Any], object], repeats: int, setup: Callable[[], Any] = lambda: None
) -> float:
    """Median wall time of ``repeats`` calls ``fn(setup())``, after one warm-up call.

    ``setup`` runs before each call, untimed (e.g. to start from an empty cache).
    """
    fn(setup())
    times = []
    for _ in range(repeats):
        arg = setup()
        start = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def once_seconds(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", help="a UTF-8 text file (default: Tiny Shakespeare)")
    parser.add_argument("--vocab", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (median)")
    parser.add_argument(
        "--reference-chars",
        type=int,
        default=200_000,
        help="characters of the training text given to the slow reference (0: all of it)",
    )
    args = parser.parse_args()

    text = Path(args.path).read_text(encoding="utf-8") if args.path else None
    text = text if text is not None else load_corpus("tinyshakespeare")
    train, held_out = train_val_split(text, val_fraction=0.1)
    ref_text = train[: args.reference_chars] if args.reference_chars else train
    held_bytes = len(held_out.encode("utf-8"))

    print(describe_environment())
    print(f"cpu_count    {os.cpu_count()}")
    print(f"tokenizers   {tokenizers.__version__} (Hugging Face)")
    print(
        f"\ntext: {args.path or 'tinyshakespeare'}, {len(text):,} characters; train "
        f"{len(train):,}, held-out {len(held_out):,} ({held_bytes:,} bytes); "
        f"median of {args.repeats} runs after a warm-up"
    )
    print(
        f"reference trainer: run once on the first {len(ref_text):,} characters of the "
        "training text; 'ours (same)' is ours on exactly those characters\n"
    )

    header = (
        f"{'vocab':>6} {'ours s':>8} {'HF s':>7} {'ref s':>8} {'ours (same) s':>14} "
        f"{'speed-up':>9} {'ours MB/s':>10} {'HF MB/s':>8} {'ours B/tok':>11} "
        f"{'HF B/tok':>9} {'diff':>7}"
    )
    print(header)
    print("-" * len(header))
    results = []
    for vocab in args.vocab:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a tiny text may run out of pairs; sizes say so
            ours = BPETokenizer.train(train, vocab)
            ours_s = median_seconds(lambda _, v=vocab: BPETokenizer.train(train, v), args.repeats)
            same_s = median_seconds(
                lambda _, v=vocab: BPETokenizer.train(ref_text, v), args.repeats
            )
        hf = hf_byte_level_bpe(train, vocab)
        hf_s = median_seconds(lambda _, v=vocab: hf_byte_level_bpe(train, v), args.repeats)
        ref_s, ref_merges = once_seconds(lambda v=vocab: bpe_reference.train(ref_text, v - 256))
        same_merges = BPETokenizer.train(ref_text, vocab).merges == ref_merges

        def fresh_ours(tok: BPETokenizer = ours) -> BPETokenizer:
            tok.clear_cache()
            return tok

        def fresh_hf(saved: str = hf.to_str()) -> HFTokenizer:
            return HFTokenizer.from_str(saved)  # a new tokenizer has an empty cache

        ours_ids = fresh_ours().encode(held_out)
        hf_ids = fresh_hf().encode(held_out).ids
        ours_enc_s = median_seconds(lambda t: t.encode(held_out), args.repeats, fresh_ours)
        hf_enc_s = median_seconds(lambda t: t.encode(held_out), args.repeats, fresh_hf)
        ours_mbs, hf_mbs = held_bytes / 1e6 / ours_enc_s, held_bytes / 1e6 / hf_enc_s
        ours_bpt, hf_bpt = held_bytes / len(ours_ids), held_bytes / len(hf_ids)
        diff = ours_bpt / hf_bpt - 1
        print(
            f"{ours.vocab_size:>6} {ours_s:>8.3f} {hf_s:>7.3f} {ref_s:>8.2f} {same_s:>14.3f} "
            f"{ref_s / same_s:>8.0f}x {ours_mbs:>10.2f} {hf_mbs:>8.2f} {ours_bpt:>11.3f} "
            f"{hf_bpt:>9.3f} {diff:>+7.2%}"
        )
        results.append((vocab, ref_s / same_s, diff, same_merges))

    print()
    for vocab, speedup, diff, same_merges in results:
        fast = "met" if speedup >= 10 else "MISSED"
        close = "met" if abs(diff) <= 0.05 else "MISSED"
        print(
            f"vocab {vocab}: ours {speedup:.0f}x faster than the reference (target >= 10x: "
            f"{fast}); held-out bytes/token {diff:+.2%} vs HF (target within 5%: {close}); "
            f"merges identical to the reference: {same_merges}"
        )


if __name__ == "__main__":
    main()
