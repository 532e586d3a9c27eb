"""BLEU from its definition: clipped n-gram precisions, their geometric mean, a brevity penalty.

Chapter 06 teaches this file. For n = 1..4, the precision p_n is the share of the
hypothesis' n-grams found in a reference, each counted at most as often as it occurs in
the reference that has it most (clipping: "the the the" does not earn three matches for
one "the"). Counts are summed over the whole corpus before dividing. Then

    BLEU = BP · exp((1/4) Σ_n log p_n),  BP = 1 if c ≥ r else exp(1 - r/c),

with c the hypotheses' total length and r the sum, per sentence, of the reference length
closest to the hypothesis' (ties: the shorter). Scores are on sacrebleu's 0-100 scale.

``tests/test_evaluate.py`` proves ``corpus_bleu`` and ``sentence_bleu`` equal
``sacrebleu.corpus_bleu`` / ``sacrebleu.sentence_bleu`` with ``tokenize="none"`` to 1e-9,
for every smoothing below, with one and several references, hypotheses shorter and longer
than their references, n-gram orders without a match, and empty hypotheses. Strings are
split on whitespace (that is what ``tokenize="none"`` does); token lists are used as they
are. Left out on purpose: sacrebleu's tokenizers (13a, intl, zh ...), lowercasing, chrF and
TER, and significance tests.

Smoothing (what to do with a p_n of 0, which makes the geometric mean 0):
``"none"`` keep it, so the score is 0; ``"exp"`` (sacrebleu's default, NIST's method) the
k-th order without a match gets precision 1 / (2^k · total n-grams); ``"floor"`` it gets
``smooth_value`` (0.1) / total; ``"add-k"`` add ``smooth_value`` (1) to the matches and
totals of every n > 1. ``effective_order`` averages only over the orders the hypotheses
have n-grams of (on by default for a sentence, as in sacrebleu, so a 3-word sentence is
not 0 for lack of 4-grams).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

#: Smoothing methods and their default ``smooth_value`` (sacrebleu's).
SMOOTHING = {"none": None, "exp": None, "floor": 0.1, "add-k": 1}

Sentence = str | Sequence[str]


@dataclass(frozen=True)
class BLEUScore:
    """``score`` (0-100); ``precisions`` per n (0-100, after smoothing); ``bp``; the total
    lengths ``sys_len`` (hypotheses) and ``ref_len`` (closest references); and per n the
    clipped ``matched`` and ``totals`` n-gram counts (before any add-k smoothing)."""

    score: float
    precisions: tuple[float, ...]
    bp: float
    sys_len: int
    ref_len: int
    matched: tuple[int, ...]
    totals: tuple[int, ...]

    def __str__(self) -> str:
        ps = "/".join(f"{p:.1f}" for p in self.precisions)
        return (
            f"BLEU = {self.score:.2f} {ps} (BP = {self.bp:.3f}, hyp_len = {self.sys_len}, "
            f"ref_len = {self.ref_len})"
        )


def ngram_counts(tokens: Sentence, n: int) -> Counter[tuple[str, ...]]:
    """How often each n-gram (a tuple of n tokens) occurs in ``tokens``.

    >>> ngram_counts("the cat the cat", 2)
    Counter({('the', 'cat'): 2, ('cat', 'the'): 1})
    """
    words = _words(tokens, "tokens")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def clipped_precision(
    hypothesis: Sentence, references: Sequence[Sentence], n: int
) -> tuple[int, int]:
    """(matched, total): the hypothesis' n-grams found in the references, each counted at
    most as often as in the reference where it is most frequent, and how many it has.

    >>> clipped_precision("the the the", ["the cat", "the the mat"], 1)   # "the" ≤ 2
    (2, 3)
    """
    hyp = ngram_counts(hypothesis, n)
    most = Counter()
    for reference in _references(references):
        most |= ngram_counts(reference, n)  # | keeps the larger count of each n-gram
    return sum(min(c, most[g]) for g, c in hyp.items()), sum(hyp.values())


def brevity_penalty(hyp_len: int, ref_len: int) -> float:
    """1 if hyp_len ≥ ref_len, else exp(1 - ref_len / hyp_len); 0 for an empty hypothesis.

    Precision alone rewards saying little; this takes it back from hypotheses shorter
    than their references.
    """
    if hyp_len >= ref_len:
        return 1.0
    return math.exp(1 - ref_len / hyp_len) if hyp_len > 0 else 0.0


def closest_ref_length(hyp_len: int, ref_lens: Sequence[int]) -> int:
    """The reference length closest to hyp_len; on a tie, the shorter (sacrebleu's rule)."""
    return min(ref_lens, key=lambda r: (abs(hyp_len - r), r))


def corpus_bleu(
    hypotheses: Sequence[Sentence],
    references: Sequence[Sequence[Sentence]],
    max_n: int = 4,
    smooth: str = "exp",
    smooth_value: float | None = None,
    effective_order: bool = False,
) -> BLEUScore:
    """BLEU of a corpus: ``references[i]`` is the list of references of ``hypotheses[i]``.

    NOTE: sacrebleu takes the references the other way round, as streams (one list per
    reference, one sentence per hypothesis): ``references[i][j]`` here is its
    ``refs[j][i]``. Each sentence is a string or a list of tokens.

    >>> print(corpus_bleu(["the cat sat on the mat"], [["the cat sat on a mat"]]))
    BLEU = 53.73 83.3/60.0/50.0/33.3 (BP = 1.000, hyp_len = 6, ref_len = 6)
    """
    if isinstance(hypotheses, str) or len(hypotheses) != len(references):
        raise ValueError(
            "give a list of hypotheses and, for each, a list of its references: got "
            f"{_describe(hypotheses)} hypotheses and {_describe(references)} reference lists"
        )
    matched, totals = [0] * max_n, [0] * max_n
    sys_len = ref_len = 0
    for hypothesis, refs in zip(hypotheses, references):
        hyp, refs = _words(hypothesis, "a hypothesis"), _references(refs)
        sys_len += len(hyp)
        ref_len += closest_ref_length(len(hyp), [len(r) for r in refs])
        for n in range(1, max_n + 1):
            m, t = clipped_precision(hyp, refs, n)
            matched[n - 1], totals[n - 1] = matched[n - 1] + m, totals[n - 1] + t
    return bleu_from_counts(
        matched, totals, sys_len, ref_len, smooth, smooth_value, effective_order
    )


def sentence_bleu(
    hypothesis: Sentence,
    references: Sequence[Sentence],
    max_n: int = 4,
    smooth: str = "exp",
    smooth_value: float | None = None,
    effective_order: bool = True,
) -> BLEUScore:
    """BLEU of one hypothesis against its references (a list, or one string): the corpus
    BLEU of a corpus of one sentence, with ``effective_order`` on, as in sacrebleu."""
    return corpus_bleu([hypothesis], [references], max_n, smooth, smooth_value, effective_order)


def bleu_from_counts(
    matched: Sequence[int],
    totals: Sequence[int],
    sys_len: int,
    ref_len: int,
    smooth: str = "exp",
    smooth_value: float | None = None,
    effective_order: bool = False,
) -> BLEUScore:
    """The score from the summed counts: precisions (smoothed), geometric mean, penalty."""
    if smooth not in SMOOTHING:
        raise ValueError(f"smooth must be one of {list(SMOOTHING)}, got {smooth!r}")
    k = SMOOTHING[smooth] if smooth_value is None else smooth_value
    bp, max_n = brevity_penalty(sys_len, ref_len), len(totals)
    counts = (sys_len, ref_len, tuple(matched), tuple(totals))
    precisions, halvings, order = [0.0] * max_n, 1, max_n
    if not any(matched):  # no n-gram matches at all: 0 whatever the smoothing
        return BLEUScore(0.0, tuple(precisions), bp, *counts)
    for n in range(1, max_n + 1):
        m, t = matched[n - 1], totals[n - 1]
        if smooth == "add-k" and n > 1:
            m, t = m + k, t + k
        if t == 0:  # the hypotheses have no n-grams this long
            break
        order = n if effective_order else max_n
        if m == 0 and smooth == "exp":
            halvings *= 2
            precisions[n - 1] = 100.0 / (halvings * t)
        elif m == 0 and smooth == "floor":
            precisions[n - 1] = 100.0 * k / t
        else:
            precisions[n - 1] = 100.0 * m / t
    used = precisions[:order]
    score = 0.0 if 0.0 in used else bp * math.exp(sum(math.log(p) for p in used) / order)
    return BLEUScore(score, tuple(precisions), bp, *counts)


# -------------------------------------------------------------------------- inputs


def _words(sentence: Sentence, name: str) -> list[str]:
    if isinstance(sentence, str):
        return sentence.split()
    if isinstance(sentence, Sequence) and all(isinstance(w, str) for w in sentence):
        return list(sentence)
    raise TypeError(
        f"{name} must be a string or a list of string tokens, got {_describe(sentence)}"
    )


def _references(references: Sequence[Sentence]) -> list[list[str]]:
    """A list of token lists; a single string is one reference."""
    if isinstance(references, str):
        references = [references]
    if not isinstance(references, Sequence) or len(references) == 0:
        raise ValueError(
            f"each hypothesis needs a list of at least one reference, got {_describe(references)}"
        )
    return [_words(r, "a reference") for r in references]


def _describe(obj: object) -> str:
    size = f" of length {len(obj)}" if isinstance(obj, Sequence) else ""
    return f"{type(obj).__name__}{size}"
