"""Checkers for chapter 01: vocabularies, BPE's two steps, the shifted window, OOV rate.

Each checker runs the learner's function on inputs chosen to expose the usual mistakes
(unseen characters, overlapping pairs, the off-by-one window, types counted instead of
tokens) and compares with a reference written here (for the merge: the package's own
``llmcourse.tokenizers.bpe.merge_pair``, which ``tests/test_tokenizers.py`` proves right).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import torch

from llmcourse.checks.base import CheckFailed, call, checker, expect_equal, expect_tensor
from llmcourse.tokenizers.bpe import merge_pair as reference_merge

TEXTS = ["hello world", "abracadabra", "a", "Zürich, 東京 & Paris!", "  \n\t"]


@checker("char_vocab")
def char_vocab(fn: Callable[[str], list[str]]) -> str:
    """``fn(text)``: the sorted list of distinct characters of ``text``."""
    for text in TEXTS:
        expected = sorted(set(text))
        got = call(fn, text)
        if isinstance(got, set | str):
            raise CheckFailed(
                f"char_vocab({text!r}) returned a {type(got).__name__}; return a list, so "
                "that position i in the list is the id of the character."
            )
        expect_equal(
            got,
            expected,
            what=f"char_vocab({text!r})",
            mistakes={
                "the characters are not sorted; use sorted(...) so the ids do not depend on "
                "the order of a set": list(dict.fromkeys(text)),
                "a character appears more than once; keep each character once": list(text),
                "words instead of characters: split the text into single characters": sorted(
                    set(text.split())
                ),
            },
        )
    return f"sorted, distinct characters on {len(TEXTS)} texts, including non-ASCII and spaces."


@checker("encode_chars")
def encode_chars(fn: Callable[[str, list[str], int], list[int]]) -> str:
    """``fn(text, vocab, unk_id)``: the id of each character; unseen ones get ``unk_id``."""
    vocab = sorted(set("hello world"))
    unk_id = len(vocab)
    cases = ["hello", "world hello", "", "help!", "HELLO"]
    for text in cases:
        index = {ch: i for i, ch in enumerate(vocab)}
        expected = [index.get(ch, unk_id) for ch in text]
        unseen = sorted({ch for ch in text if ch not in index})
        cause = None
        if unseen:
            cause = (
                f"{text!r} contains characters that are not in the vocabulary "
                f"({', '.join(map(repr, unseen))}); map them to unk_id instead of looking "
                "them up (dict.get(ch, unk_id))"
            )
        got = call(fn, text, list(vocab), unk_id, likely_cause=cause)
        expect_equal(
            got,
            expected,
            what=f"encode_chars({text!r}, …)",
            mistakes={
                "unseen characters were skipped; each character must produce one id, "
                "unk_id for the unseen ones": [index[ch] for ch in text if ch in index],
                "ids start at 1; position i in the vocabulary is id i, starting at 0": [
                    index.get(ch, unk_id - 1) + 1 for ch in text
                ],
            },
        )
    return f"matches on {len(cases)} texts, including the empty text and unseen characters."


@checker("count_pairs")
def count_pairs(fn: Callable[[list[int]], dict[tuple[int, int], int]]) -> str:
    """``fn(ids)``: how often each adjacent pair ``(ids[i], ids[i + 1])`` occurs."""
    cases = [[1, 2, 3, 1, 2], [7, 7, 7], [4, 5], [9], []]
    for ids in cases:
        expected = dict(Counter(zip(ids, ids[1:])))
        got = call(fn, list(ids))
        if isinstance(got, Counter):
            got = dict(got)
        expect_equal(
            got,
            expected,
            what=f"count_pairs({ids})",
            mistakes={
                "the last pair is missing; the pairs are (ids[i], ids[i + 1]) for i up to "
                "len(ids) - 2, i.e. zip(ids, ids[1:])": dict(Counter(zip(ids[:-1], ids[1:-1]))),
                "pairs were counted without overlap; in [7, 7, 7] the pair (7, 7) occurs "
                "twice, at positions 0 and 1": dict(Counter(zip(ids[::2], ids[1::2]))),
                "pairs skip a token; zip(ids, ids[2:]) pairs each id with the one two "
                "places later": dict(Counter(zip(ids, ids[2:]))),
            },
        )
    return f"matches on {len(cases)} sequences, including overlapping pairs and one token."


def _merge_overlapping(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """The mistake: replace every position where the pair starts, even inside a merge."""
    out = []
    for i, token in enumerate(ids):
        if i + 1 < len(ids) and (token, ids[i + 1]) == pair:
            out.append(new_id)
        elif not (i > 0 and (ids[i - 1], token) == pair):
            out.append(token)
    return out


@checker("merge_pair")
def merge_pair(fn: Callable[[list[int], tuple[int, int], int], list[int]]) -> str:
    """``fn(ids, pair, new_id)``: replace each occurrence of ``pair``, left to right."""
    cases = [
        ([1, 2, 3, 1, 2], (1, 2), 256),
        ([7, 7, 7], (7, 7), 300),
        ([7, 7, 7, 7], (7, 7), 300),
        ([3, 4], (4, 3), 256),
        ([5, 6], (5, 6), 256),
        ([], (1, 2), 256),
    ]
    for ids, pair, new_id in cases:
        original = list(ids)
        got = call(fn, original, pair, new_id)
        expect_equal(
            got,
            reference_merge(ids, pair, new_id),
            what=f"merge_pair({ids}, {pair}, {new_id})",
            mistakes={
                "overlapping occurrences were both merged; after merging a pair, skip past "
                "both of its tokens (in [7, 7, 7] only the first (7, 7) can merge)": (
                    _merge_overlapping(ids, pair, new_id)
                ),
                "a pair at the very end was not merged; check the last pair too": (
                    reference_merge(ids[:-2], pair, new_id) + ids[-2:] if len(ids) >= 2 else ids
                ),
            },
        )
        if original != ids:
            raise CheckFailed(
                f"merge_pair changed the list it was given ({ids} became {original}); "
                "build and return a new list instead."
            )
    return f"matches on {len(cases)} cases, including overlapping pairs and a pair at the end."


@checker("window_dataset")
def window_dataset(cls: Callable[[torch.Tensor, int], object]) -> str:
    """``cls(ids, block_size)``: a dataset of (x, y) windows, y shifted one step from x."""
    cases = [(torch.arange(10, 20), 3), (torch.tensor([4, 8, 15, 16, 23, 42]), 5)]
    for ids, T in cases:
        dataset = call(cls, ids, T)
        n = len(ids) - T
        length = call(dataset.__len__)
        expect_equal(
            length,
            n,
            what=f"len(dataset) for {len(ids)} tokens and block_size={T}",
            mistakes={
                "one window too many: the last window's target needs the token after it, "
                "so there are N - block_size windows": n + 1,
                "one window too few: the last window, starting at N - block_size - 1, is missing": n
                - 1,
            },
        )
        for i in (0, n - 1):
            x, y = call(dataset.__getitem__, i)
            what = f"dataset[{i}] for block_size={T}"
            expect_tensor(x, ids[i : i + T], what=f"x of {what}")
            expect_tensor(
                y,
                ids[i + 1 : i + T + 1],
                what=f"y of {what}",
                mistakes={
                    "y equals x; the target is the input shifted one step to the left": x,
                    "y is one token short; it is ids[i + 1 : i + block_size + 1]": ids[
                        i + 1 : i + T
                    ],
                },
            )
    return "len and (x, y) windows match, including the last window."


@checker("oov_rate")
def oov_rate(fn: Callable[[list[str], list[str]], float]) -> str:
    """``fn(train_words, heldout_words)``: fraction of held-out tokens unseen in training."""
    cases = [
        (["the", "cat", "sat"], ["the", "dog", "sat", "the", "dog"]),
        (["a", "b"], ["a", "b", "a"]),
        (["x"], ["y", "z"]),
        (["The", "end"], ["the", "end"]),
    ]
    for train, heldout in cases:
        vocab = set(train)
        unseen = [w for w in heldout if w not in vocab]
        expected = len(unseen) / len(heldout)
        got = call(fn, list(train), list(heldout))
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        types = set(heldout)
        expect_equal(
            got,
            expected,
            what=f"oov_rate({train}, {heldout})",
            mistakes={
                "counted distinct words (types) instead of tokens; every occurrence counts": (
                    len(types - vocab) / len(types)
                ),
                "a percentage; return a fraction between 0 and 1": 100 * expected,
                "the in-vocabulary rate; count the words NOT in the training vocabulary": (
                    1 - expected
                ),
            },
            rtol=1e-6,
        )
    return f"matches on {len(cases)} cases (counts tokens, not types; case-sensitive)."
