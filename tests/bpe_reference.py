"""A slow BPE trainer that is obviously correct: it recounts every pair after every merge.

``tests/test_tokenizers.py`` checks that ``llmcourse.tokenizers.BPETokenizer`` (which
updates its counts incrementally) learns exactly these merges, and ``benchmarks/bpe.py``
times both. Same rules as the real one: chunks from ``GPT2_SPLIT_PATTERN``, pairs counted
at overlapping positions, the highest count wins and ties go to the smallest pair, merges
replace occurrences left to right. Left out on purpose: special tokens, speed.
"""

from __future__ import annotations

from collections import Counter

import regex

from llmcourse.tokenizers import GPT2_SPLIT_PATTERN


def chunks_of(text: str) -> list[list[int]]:
    """Every chunk of ``text`` (repeats included) as a list of byte values."""
    return [list(chunk.encode("utf-8")) for chunk in regex.findall(GPT2_SPLIT_PATTERN, text)]


def merge(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace ``pair`` by ``new_id`` in ``ids``, scanning left to right."""
    out = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def train(text: str, num_merges: int) -> list[tuple[int, int]]:
    """Up to ``num_merges`` merges; merge ``k`` creates id ``256 + k``."""
    chunks = chunks_of(text)
    merges = []
    for k in range(num_merges):
        counts = Counter()
        for ids in chunks:
            counts.update(zip(ids, ids[1:]))  # every adjacent pair, overlaps included
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        chunks = [merge(ids, best, 256 + k) for ids in chunks]
        merges.append(best)
    return merges


def encode(text: str, merges: list[tuple[int, int]]) -> list[int]:
    """Apply every merge, in the order learned, to each chunk of ``text``."""
    out = []
    for ids in chunks_of(text):
        for k, pair in enumerate(merges):
            ids = merge(ids, pair, 256 + k)
        out.extend(ids)
    return out
