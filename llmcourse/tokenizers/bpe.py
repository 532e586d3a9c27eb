"""Byte-level byte-pair encoding (BPE), GPT-2 style: learn merges of frequent byte pairs.

Chapter 01 (``chapters/01_text_preprocessing.ipynb``) builds it up from the character
tokenizer. Text is cut into chunks by ``GPT2_SPLIT_PATTERN`` (words with their leading
space, numbers, punctuation runs, whitespace), each chunk becomes its UTF-8 bytes (ids
0..255, so no text is ever unknown), and training repeatedly merges the most frequent
adjacent pair of ids inside a chunk into a new id: merge ``k`` creates id ``256 + k``.

``tests/test_tokenizers.py`` proves it right: round trips on any Unicode string, merges
identical to the slow recount-everything trainer in ``tests/bpe_reference.py``, the same
chunks as Hugging Face ``tokenizers``' ByteLevel pre-tokenizer and about the same bytes
per token as its BPE trainer. ``benchmarks/bpe.py`` times it against both.

Rules a test can check (HF and minbpe may differ on ties):

- pairs are counted at adjacent, overlapping positions: ``[a, a, a]`` holds ``(a, a)`` twice;
- the pair with the highest count is merged; ties go to the smallest ``(left, right)``;
- a merge replaces occurrences left to right without overlap: ``[a, a, a]`` -> ``[X, a]``.

Left out on purpose: the GPT-4 split pattern, byte-to-unicode remapping of the vocabulary
file (GPT-2's ``vocab.json``), dropout, and training on more than one core.
"""

from __future__ import annotations

import heapq
import warnings
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import regex

from llmcourse.tokenizers.base import (
    Tokenizer,
    check_special_tokens,
    check_text,
    ordinary_parts,
)

GPT2_SPLIT_PATTERN = (
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)
_SPLIT = regex.compile(GPT2_SPLIT_PATTERN)
CACHE_SIZE = 50_000  # encoded chunks remembered; emptied when full, which bounds memory

Pair = tuple[int, int]


def split_chunks(text: str) -> list[str]:
    """Cut ``text`` with ``GPT2_SPLIT_PATTERN``; ``"".join`` of the result is ``text``.

    >>> split_chunks("Hello world's  end!!")
    ['Hello', ' world', "'s", ' ', ' end', '!!']
    """
    return _SPLIT.findall(text)


def merge_pair(ids: list[int], pair: Pair, new_id: int) -> list[int]:
    """Replace each occurrence of ``pair`` in ``ids``, left to right, by ``new_id``.

    >>> merge_pair([5, 5, 5, 6], (5, 5), 256)
    [256, 5, 6]
    """
    out, i, n = [], 0, len(ids)
    a, b = pair
    while i < n:
        if ids[i] == a and i + 1 < n and ids[i + 1] == b:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def learn_merges(chunk_counts: dict[bytes, int], num_merges: int) -> list[Pair]:
    """Up to ``num_merges`` merges learned from chunks (UTF-8 bytes) and their counts.

    Incremental: pair counts are kept for the whole corpus, with an index from each pair
    to the chunks that hold it. A merge touches only those chunks: their old pairs are
    subtracted (times the chunk's count) and their new pairs added. A heap of
    ``(-count, pair)`` finds the best pair; entries whose count has changed since they
    were pushed are stale and skipped when popped (every change pushes a fresh entry).
    """
    chunks = [list(chunk) for chunk in chunk_counts]
    freqs = list(chunk_counts.values())
    counts: dict[Pair, int] = defaultdict(int)
    where: dict[Pair, set[int]] = defaultdict(set)  # pair -> indices of chunks holding it
    for c, ids in enumerate(chunks):
        for pair in zip(ids, ids[1:]):
            counts[pair] += freqs[c]
            where[pair].add(c)
    heap = [(-count, pair) for pair, count in counts.items()]
    heapq.heapify(heap)

    merges: list[Pair] = []
    while len(merges) < num_merges:
        while heap:
            neg_count, best = heapq.heappop(heap)
            if counts.get(best) == -neg_count:
                break
        else:
            break  # no pair left anywhere: every chunk is a single token
        new_id = 256 + len(merges)
        merges.append(best)
        delta: dict[Pair, int] = defaultdict(int)
        for c in where.pop(best):
            old, f = chunks[c], freqs[c]
            new = chunks[c] = merge_pair(old, best, new_id)
            old_pairs, new_pairs = list(zip(old, old[1:])), list(zip(new, new[1:]))
            for pair in old_pairs:
                delta[pair] -= f
            for pair in new_pairs:
                delta[pair] += f
            for pair in set(old_pairs).difference(new_pairs):
                if pair != best:
                    where[pair].discard(c)
            for pair in set(new_pairs).difference(old_pairs):
                where[pair].add(c)
        for pair, d in delta.items():
            if d:
                count = counts[pair] + d
                if count:
                    counts[pair] = count
                    heapq.heappush(heap, (-count, pair))
                else:
                    del counts[pair]
    return merges


class BPETokenizer(Tokenizer):
    """Ids 0..255 are bytes, ``256 + k`` is merge ``k``, then the special tokens.

    >>> tok = BPETokenizer.train("aaab aaab aab", vocab_size=258)
    >>> tok.merges                                  # (97, 97) = "aa", then " " + "aa"
    [(97, 97), (32, 256)]
    >>> tok.encode(" aab")
    [257, 98]
    """

    kind = "bpe"

    def __init__(self, merges: Sequence[Pair], special_tokens: Sequence[str] = ()) -> None:
        super().__init__(special_tokens)
        self.merges: list[Pair] = []
        self._vocab = [bytes([b]) for b in range(256)]  # id -> the bytes it stands for
        self._ranks: dict[Pair, int] = {}  # pair -> id of its merge; lower = learned earlier
        for k, (a, b) in enumerate(merges):
            if not all(isinstance(x, int) and 0 <= x < 256 + k for x in (a, b)):
                raise ValueError(f"merge {k} ({a!r}, {b!r}) uses an id that does not exist yet")
            if (a, b) in self._ranks:
                raise ValueError(f"merge {k} ({a}, {b}) repeats an earlier merge")
            self.merges.append((a, b))
            self._ranks[a, b] = 256 + k
            self._vocab.append(self._vocab[a] + self._vocab[b])
        self._cache: dict[str, list[int]] = {}

    @classmethod
    def train(cls, text: str, vocab_size: int, special_tokens: Sequence[str] = ()) -> BPETokenizer:
        """Learn ``vocab_size - 256 - len(special_tokens)`` merges from ``text``.

        Special tokens in ``text`` are cut out before training. If the text runs out of
        pairs first, a warning says how many merges were learned, and ``vocab_size`` of
        the result is the real (smaller) size.
        """
        check_text(text, "train")
        specials = check_special_tokens(special_tokens)
        if not isinstance(vocab_size, int):
            raise TypeError(f"vocab_size must be an int, got {vocab_size!r}")
        if vocab_size < 256 + len(specials):
            raise ValueError(
                f"vocab_size={vocab_size!r} is too small: the 256 byte values are the base "
                f"alphabet and the {len(specials)} special tokens need ids too, so use "
                f"vocab_size >= {256 + len(specials)} (merges add ids beyond that)"
            )
        _check_utf8(text)
        chunks = Counter(c for part in ordinary_parts(text, specials) for c in split_chunks(part))
        num_merges = vocab_size - 256 - len(specials)
        merges = learn_merges({c.encode("utf-8"): n for c, n in chunks.items()}, num_merges)
        if len(merges) < num_merges:
            warnings.warn(
                f"the training text ran out of pairs to merge after {len(merges)} of "
                f"{num_merges} merges; vocab_size is {vocab_size - num_merges + len(merges)} "
                f"instead of {vocab_size}. Train on more text for a larger vocabulary.",
                stacklevel=2,
            )
        return cls(merges, specials)

    @property
    def base_size(self) -> int:
        """256 byte values plus the number of merges."""
        return len(self._vocab)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; ``ValueError`` if it holds a lone surrogate (no UTF-8)."""
        check_text(text, "encode")
        _check_utf8(text)
        return super().encode(text)

    def token_bytes(self, i: int) -> bytes:
        """The bytes that token ``i`` stands for (a special token: its UTF-8 bytes)."""
        piece = self.id_to_piece(i)  # checks that i is in range
        return self._vocab[i] if i < self.base_size else piece.encode("utf-8")

    def clear_cache(self) -> None:
        """Forget the chunks encoded so far (for fair timings)."""
        self._cache.clear()

    def _encode_ordinary(self, text: str) -> list[int]:
        ids: list[int] = []
        cache = self._cache
        for chunk in split_chunks(text):
            chunk_ids = cache.get(chunk)
            if chunk_ids is None:
                if len(cache) >= CACHE_SIZE:
                    cache.clear()
                chunk_ids = cache[chunk] = self._encode_chunk(chunk)
            ids.extend(chunk_ids)
        return ids

    def _encode_chunk(self, chunk: str) -> list[int]:
        # As GPT-2: merge the pair learned earliest, again and again. This equals applying
        # the merges in the order learned (a test checks it), but skips the absent ones.
        ids = list(chunk.encode("utf-8"))
        ranks = self._ranks
        while len(ids) > 1:
            pair = min(zip(ids, ids[1:]), key=lambda p: ranks.get(p, 1 << 62))
            if pair not in ranks:
                break
            ids = merge_pair(ids, pair, ranks[pair])
        return ids

    def _decode_ordinary(self, ids: list[int]) -> str:
        return b"".join(self._vocab[i] for i in ids).decode("utf-8", errors="replace")

    def _ordinary_piece(self, i: int) -> str:
        # Half a character is not valid UTF-8 on its own: show its bytes as \xNN.
        return self._vocab[i].decode("utf-8", errors="backslashreplace")

    def _state(self) -> dict[str, Any]:
        return {"merges": [list(pair) for pair in self.merges]}

    @classmethod
    def _from_state(cls, state: dict[str, Any]) -> BPETokenizer:
        return cls([tuple(pair) for pair in state["merges"]], state["special_tokens"])


def _check_utf8(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        bad = text[err.start]
        raise ValueError(
            f"the text holds a lone surrogate {bad!r} (U+{ord(bad):04X}) at index {err.start}, "
            "which has no UTF-8 bytes; remove or replace it first, e.g. "
            "text.encode('utf-8', 'replace').decode('utf-8')"
        ) from None
