"""Memorization check: the longest run of generated tokens that also occurs in the training set.

Chapter 06 teaches this file. A model that copies its training text produces long n-grams
that occur there verbatim; one that generalises mostly produces short ones (a few tokens
are shared by chance). ``longest_common_ngram`` finds the longest such n-gram exactly, for
characters (``str``) or token ids (sequences of ints). ``tests/test_evaluate.py`` checks it
against a brute-force search on random inputs.

How: for each start i in the generated text, ask only whether a match LONGER than the best
so far starts there (``generated[i : i + best + 1] in corpus``, extending while it does).
That is about len(generated) + best substring searches, each done by CPython's string
search in C; token ids are first mapped to one character each (``chr(id)``), so ids and
text share the code. For 1,000 characters against tinyshakespeare (1.1 MB) on a busy 2-core
CPU: 0.1 s when a long passage was copied, about 1 s when nothing long matches.
A rolling hash or a suffix automaton is asymptotically faster (linear); at these sizes this
is simpler and exact. Left out on purpose: approximate matches (a changed word breaks an
n-gram) and counting how many generated n-grams of each length occur in the corpus.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from torch import Tensor


class NGramMatch(NamedTuple):
    """The longest shared n-gram: ``length`` tokens, at ``generated[generated_start:]`` and
    ``corpus[corpus_start:]``. No shared token gives (0, 0, 0)."""

    length: int
    generated_start: int
    corpus_start: int


def longest_common_ngram(
    generated: str | Sequence[int] | Tensor, corpus: str | Sequence[int] | Tensor
) -> NGramMatch:
    """The longest contiguous run of ``generated`` that occurs somewhere in ``corpus``.

    generated, corpus: both strings (characters are the tokens) or both 1-D sequences of
    non-negative integer ids (lists, tuples, 1-D tensors). Returns an ``NGramMatch``; among
    equally long matches, the one that starts first in ``generated``, at its first
    occurrence in ``corpus``.

    >>> longest_common_ngram("the cat sat", "a cat sat on the mat")
    NGramMatch(length=8, generated_start=3, corpus_start=1)
    >>> longest_common_ngram([5, 1, 2, 3, 9], [1, 2, 3, 1, 2])
    NGramMatch(length=3, generated_start=1, corpus_start=0)
    """
    if isinstance(generated, str) != isinstance(corpus, str):
        raise TypeError(
            f"generated is {type(generated).__name__} but corpus is {type(corpus).__name__}; "
            "give both as text (str) or both as token ids (sequences of ints)"
        )
    gen, text = _as_text(generated, "generated"), _as_text(corpus, "corpus")
    best, best_start = 0, 0
    for i in range(len(gen)):
        while i + best < len(gen) and gen[i : i + best + 1] in text:
            best, best_start = best + 1, i
    corpus_start = text.find(gen[best_start : best_start + best]) if best else 0
    return NGramMatch(best, best_start if best else 0, corpus_start)


def _as_text(seq: str | Sequence[int] | Tensor, name: str) -> str:
    """A string with one character per token: itself, or chr(id) for each id."""
    if isinstance(seq, str):
        return seq
    if isinstance(seq, Tensor):
        if seq.numel() == 0:  # torch.tensor([]) is float32
            return ""
        if seq.ndim != 1 or seq.dtype.is_floating_point or seq.dtype.is_complex:
            raise ValueError(
                f"{name} must be a 1-D tensor of integer token ids, got {seq.dtype} of shape "
                f"{tuple(seq.shape)}"
            )
        seq = seq.tolist()
    try:
        return "".join(map(chr, seq))
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(
            f"{name} must hold non-negative integer token ids below {0x110000:,} ({err}); "
            "pass text as a str"
        ) from err
