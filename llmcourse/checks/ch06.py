"""Checkers for chapter 06: the top-k and top-p filters, perplexity and bits per byte from
token losses, a greedy decoding loop, clipped n-gram precision, and sentence BLEU.

Each checker runs the learner's code on inputs chosen to expose the usual mistakes (k ± 1
tokens kept, the wrong dimension, probabilities or zeros returned instead of ``-inf``
logits, the input changed in place; the nucleus without the token that crosses p, left in
sorted order, summed over logits or over the whole batch; a log in the wrong base, per
byte where it should be per token and the other way round; logits read at position 0, an
uncropped context, sampling instead of argmax, the prompt dropped; no clipping or clipping
by the sum over references, n-gram types counted instead of tokens; BLEU without its
brevity penalty, with an arithmetic mean, with the wrong reference length, or penalising
long hypotheses). The reference answers are the package's own: ``llmcourse.generate``,
``llmcourse.functional``, ``GPT.generate`` and ``llmcourse.evaluate``; the wrong versions
written here only name mistakes. ``tests/test_checks_ch06.py`` shows each one is recognised.
"""

from __future__ import annotations

import math
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from llmcourse.checks.base import (
    CheckFailed,
    NotAttempted,
    call,
    checker,
    expect_equal,
    expect_tensor,
)
from llmcourse.evaluate import (
    brevity_penalty,
    closest_ref_length,
    corpus_bleu,
    ngram_counts,
)
from llmcourse.evaluate import clipped_precision as _clipped_precision
from llmcourse.functional import bits_per_byte, perplexity
from llmcourse.generate import top_k_filter as _top_k_filter
from llmcourse.generate import top_p_filter as _top_p_filter
from llmcourse.gpt import GPT, GPTConfig

NEG_INF = float("-inf")


def _cause_of(got: Any, expected: Tensor, variants: list[tuple[str, Tensor]]) -> dict[str, Tensor]:
    """The first (cause, tensor) whose tensor ``got`` reproduces, as a one-item ``mistakes``
    dict for ``expect_tensor``; several variants may share one cause."""
    if not isinstance(got, Tensor):
        return {}
    for cause, wrong in variants:
        if wrong.shape == got.shape and _same(got, wrong) and not _same(wrong, expected):
            return {cause: wrong}
    return {}


def _same(a: Tensor, b: Tensor) -> bool:
    if a.shape != b.shape:
        return False
    a, b = a.detach().cpu().double(), b.detach().cpu().double()
    return torch.allclose(a, b, atol=1e-6, rtol=1e-5, equal_nan=True)


def _unchanged(name: str, before: Tensor, after: Tensor, label: str) -> None:
    if not torch.equal(before, after):
        raise CheckFailed(
            f"{name} changed its input logits in place (on {label}). The caller may still "
            "need them, e.g. to try another k or p: build a new tensor with "
            "logits.masked_fill(mask, float('-inf')) (no trailing _), or work on "
            "logits.clone()."
        )


def _not_minus_inf(got: Tensor, expected: Tensor, what: str) -> None:
    """Name the removed entries set to a big negative number instead of -inf."""
    removed = expected == NEG_INF
    if got.shape != expected.shape or not removed.any() or not got.dtype.is_floating_point:
        return
    values = got.detach().cpu()[removed.cpu()]
    if torch.isfinite(values).all() and (values <= -1e4).all():
        raise CheckFailed(
            f"{what}: the removed entries are {values[0].item():.3g}, a big negative number; "
            "set them to float('-inf'). Then softmax gives them exactly 0 however the logits "
            "are scaled, and the next filter can tell them apart from real logits."
        )


# ---------------------------------------------------------------------- 06.1 top-k filter


def _top_k_cases() -> list[tuple[str, Tensor, int]]:
    g = torch.Generator().manual_seed(61)
    return [
        ("a batch of 6 rows, V = 10, k = 3", torch.randn(6, 10, generator=g), 3),
        ("one row of V = 12 (1-D), k = 1", 3 * torch.randn(12, generator=g), 1),
        ("logits of shape (2, 3, 7), k = 5", torch.randn(2, 3, 7, generator=g), 5),
        ("a batch of 2 rows, V = 4, k = V = 4 (keep all)", torch.randn(2, 4, generator=g), 4),
    ]


def _top_k_mistakes(logits: Tensor, k: int) -> list[tuple[str, Tensor]]:
    V = logits.size(-1)
    right = _top_k_filter(logits, k)
    variants = []
    if k + 1 <= V:
        variants.append(
            ("k + 1 tokens were kept; keep exactly the k largest (with torch.topk(logits, k), "
             "the k-th largest is values[..., -1:], and anything below it goes)",
             _top_k_filter(logits, k + 1))
        )  # fmt: skip
    if k - 1 >= 1:
        variants.append(
            ("only k − 1 tokens were kept; the k-th largest itself stays (remove what is "
             "strictly below it: logits < kth)",
             _top_k_filter(logits, k - 1))
        )  # fmt: skip
    if logits.dim() >= 2 and logits.size(0) >= k:
        variants.append(
            ("the k largest were taken along the batch dimension (dim=0); the vocabulary is "
             "the last dimension: torch.topk(logits, k, dim=-1)",
             _top_k_filter(logits.transpose(0, -1), k).transpose(0, -1))
        )  # fmt: skip
    variants += [
        ("probabilities were returned; return the filtered logits (-inf for removed tokens) "
         "and leave the softmax to the sampler, so that filters can be chained",
         torch.softmax(right, dim=-1)),
        ("removed tokens were set to 0; 0 is an ordinary logit (often an above-average one). "
         "Set them to float('-inf'), which softmax turns into probability 0",
         right.masked_fill(right == NEG_INF, 0.0)),
    ]  # fmt: skip
    return variants


@checker("top_k_filter")
def top_k_filter(fn: Callable[[Tensor, int], Tensor]) -> str:
    """``fn(logits, k)``: logits (..., V) → (..., V), all but the k largest per row -inf."""
    for label, logits, k in _top_k_cases():
        given = logits.clone()
        got = call(fn, given, k)
        _unchanged("top_k_filter", logits, given, label)
        expected = _top_k_filter(logits, k)
        what = f"on {label}, the result"
        mistakes = _cause_of(got, expected, _top_k_mistakes(logits, k))
        if isinstance(got, Tensor) and not mistakes:
            _not_minus_inf(got, expected, what)
        expect_tensor(got, expected, what=what, mistakes=mistakes, atol=0, rtol=0)
    return (
        "keeps exactly the k largest logits of every row and sets the rest to -inf, on 1-D, "
        "2-D and 3-D logits, k = 1 and k = V, without touching its input."
    )


# ---------------------------------------------------------------------- 06.2 top-p filter


def _top_p_cases() -> list[tuple[str, Tensor, float]]:
    """Logits and p chosen so that no running sum of probabilities lies within 0.005 of p:
    float rounding cannot decide which token is kept (``tests`` check the margin)."""
    g = torch.Generator().manual_seed(62)
    by_hand = torch.tensor([0.05, 0.30, 0.15, 0.50]).log()  # sorted: .50 .30 .15 .05
    rows = torch.randn(4, 8, generator=g) * torch.tensor([[0.5], [1.5], [3.0], [1.0]])
    clipped = torch.randn(2, 9, generator=g)
    clipped[0, [1, 4, 7]] = NEG_INF  # as after top_k_filter
    clipped[1, [0, 2]] = NEG_INF
    tiny = 2 * torch.randn(12, generator=g)
    return [
        ("one row of V = 12 (1-D), p = 0.05 (keeps at least one token)", tiny, 0.05),
        ("a batch of 4 rows from flat to peaked, V = 8, p = 0.6", rows, 0.6),
        ("one row of 4 tokens with probabilities 0.05, 0.30, 0.15, 0.50, p = 0.7",
         by_hand[None], 0.7),
        ("logits of shape (2, 3, 10), p = 0.9", torch.randn(2, 3, 10, generator=g), 0.9),
        ("a batch of 2 rows that already hold -inf (as after top-k), p = 0.75", clipped, 0.75),
    ]  # fmt: skip


def _top_p_wrong(logits: Tensor, p: float, mistake: str) -> Tensor:
    """One of the usual wrong nucleus filters."""
    if mistake == "flattened batch":  # one distribution over every entry of the batch
        return _top_p_filter(logits.reshape(-1), p).reshape(logits.shape)
    if mistake == "batch dim":
        return _top_p_filter(logits.transpose(0, -1), p).transpose(0, -1)
    if mistake == "sorted":
        return _top_p_filter(logits, p).sort(dim=-1, descending=True).values
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    probs = sorted_logits.softmax(dim=-1)
    cumulative = probs.cumsum(dim=-1)
    if mistake == "excluding":  # keep while the running sum, this token included, is ≤ p
        keep = cumulative <= p
    elif mistake == "logits cumsum":  # the running sum of logits, not probabilities
        keep = sorted_logits.cumsum(dim=-1) - sorted_logits < p
    elif mistake == "logits cumsum, including":
        keep = sorted_logits.cumsum(dim=-1) <= p
    else:  # right, as a mask in sorted order: used by the mistakes below
        keep = cumulative - probs < p
    keep[..., 0] = True
    if mistake == "whole-batch count":  # n_keep summed over every row: .sum() without dim
        n_keep = int((cumulative - probs < p).sum())
        keep = torch.arange(logits.size(-1)) < n_keep
        keep = keep.expand(logits.shape)
    if mistake == "sorted mask on unsorted":  # the sorted-order mask used in vocabulary order
        return logits.masked_fill(~keep, NEG_INF)
    return logits.masked_fill(~keep.scatter(-1, order, keep), NEG_INF)


_TOP_P_CAUSES = {
    "excluding": "the token that crosses p was left out. The nucleus is the smallest set "
    "whose probability reaches p, so it includes that token: keep a token while the mass "
    "of the tokens ranked above it is still < p (cumsum − probs < p)",
    "sorted": "the logits came back in sorted order; the i-th output must still be token i. "
    "Put the kept/removed mask back in vocabulary order (mask.scatter(-1, sorted_indices, "
    "sorted_mask)) or compare the unsorted logits with the last kept logit",
    "sorted mask on unsorted": "the mask was computed in sorted order but applied to the "
    "unsorted logits, so it removes tokens by rank position, not by identity. Scatter it "
    "back first: mask.scatter(-1, sorted_indices, sorted_mask)",
    "logits cumsum": "the running sum was taken over logits; p is a probability, so sum "
    "softmax(logits) (sorted from most to least likely)",
    "flattened batch": "the whole batch was treated as one distribution; every row is its "
    "own next-token distribution, with its own nucleus: sort, softmax and cumsum along "
    "dim=-1",
    "whole-batch count": "the number of tokens to keep was summed over the whole batch "
    "(.sum() without dim); count per row: .sum(dim=-1, keepdim=True)",
}
_TOP_P_VARIANTS = [
    ("excluding", "excluding"),
    ("sorted", "sorted"),
    ("sorted mask on unsorted", "sorted mask on unsorted"),
    ("logits cumsum", "logits cumsum"),
    ("logits cumsum", "logits cumsum, including"),
    ("flattened batch", "flattened batch"),
    ("flattened batch", "batch dim"),
    ("whole-batch count", "whole-batch count"),
]


@checker("top_p_filter")
def top_p_filter(fn: Callable[[Tensor, float], Tensor]) -> str:
    """``fn(logits, p)``: logits (..., V) → (..., V), only each row's nucleus kept."""
    for label, logits, p in _top_p_cases():
        given = logits.clone()
        got = call(fn, given, p)
        _unchanged("top_p_filter", logits, given, label)
        expected = _top_p_filter(logits, p)
        what = f"on {label}, the result"
        variants = [
            (_TOP_P_CAUSES[cause], _top_p_wrong(logits, p, mistake))
            for cause, mistake in _TOP_P_VARIANTS
            if not (mistake in ("batch dim", "whole-batch count") and logits.dim() < 2)
        ]
        mistakes = _cause_of(got, expected, variants)
        if isinstance(got, Tensor) and not mistakes:
            _not_minus_inf(got, expected, what)
            _keeps_one(got, expected, what)
        expect_tensor(got, expected, what=what, mistakes=mistakes, atol=0, rtol=0)
    return (
        "keeps each row's nucleus, the token that crosses p included, in vocabulary order, "
        "on 1-D to 3-D logits, a tiny p, and rows that already hold -inf."
    )


def _keeps_one(got: Tensor, expected: Tensor, what: str) -> None:
    """Name a row left with no token at all."""
    if got.shape != expected.shape or not got.dtype.is_floating_point:
        return
    empty = (got.detach().cpu() == NEG_INF).all(dim=-1)  # (...,)
    if empty.any():
        row = "the row" if empty.dim() == 0 else f"row {[int(i) for i in empty.nonzero()[0]]}"
        raise CheckFailed(
            f"{what}: {row} lost every token, so there is nothing left to sample. The "
            "token that crosses p is kept, so even a tiny p keeps the most likely token: "
            "keep a token while the mass ranked above it is < p (the first one's is 0)."
        )


# ------------------------------------------------------- 06.3 perplexity and bits per byte


def _lm_score_cases() -> list[tuple[str, Tensor, int]]:
    g = torch.Generator().manual_seed(63)
    return [
        ("40 BPE-like tokens over 150 bytes", 0.5 + 3.5 * torch.rand(40, generator=g), 150),
        ("4 tokens of loss ln 4 over 8 bytes", torch.full((4,), math.log(4)), 8),
        ("100 characters over 103 bytes", 0.2 + 2.0 * torch.rand(100, generator=g), 103),
    ]


def _lm_mistakes(losses: Tensor, n_bytes: int) -> tuple[dict[str, float], dict[str, float]]:
    """What the usual mistakes give for perplexity, and for bits per byte."""
    total = float(losses.double().sum())
    mean = total / len(losses)
    ppl = {
        "2 ** mean loss is the perplexity of losses in bits; these losses are in nats "
        "(natural log), so perplexity is exp(mean loss)": 2.0**mean,
        "10 ** mean loss is the perplexity of losses in base 10; these losses are in nats "
        "(natural log), so perplexity is exp(mean loss)": 10.0**mean,
        "the loss was averaged per byte; perplexity is per token: exp(sum / number of tokens)": (
            math.exp(total / n_bytes)
        ),
        "the losses were summed, not averaged: perplexity is exp of the MEAN loss per token": (
            math.exp(total)
        ),
    }
    bpb = {
        "ln 2 is missing: the losses are in nats, and one bit is ln 2 ≈ 0.693 nats, so "
        "bits = nats / ln 2": total / n_bytes,
        "divided by ln 10 (or used log10); a bit is a base-2 unit: divide the nats by ln 2": (
            total / (n_bytes * math.log(10))
        ),
        "multiplied by ln 2 instead of dividing: bits = nats / ln 2": total * math.log(2) / n_bytes,
        "that is bits per token; bits per byte spreads the total over the bytes: "
        "sum / (n_bytes · ln 2)": mean / math.log(2),
        "the mean loss was spread over the bytes; spread the total (the sum of the losses): "
        "sum / (n_bytes · ln 2)": mean / (n_bytes * math.log(2)),
    }
    return ppl, bpb


def _as_number(value: Any) -> Any:
    if isinstance(value, Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


@checker("lm_scores")
def lm_scores(fn: Callable[[Tensor, int], Any]) -> str:
    """``fn(token_losses, n_bytes)`` → (perplexity, bits per byte)."""
    for label, losses, n_bytes in _lm_score_cases():
        got = call(fn, losses.clone(), n_bytes)
        if not isinstance(got, tuple | list) or len(got) != 2:
            raise CheckFailed(
                f"for {label}, lm_scores returned {type(got).__name__}; return a pair: "
                "(perplexity, bits_per_byte)"
            )
        ppl, bpb = (_as_number(v) for v in got)
        for name, value in (("perplexity", ppl), ("bits per byte", bpb)):
            if not isinstance(value, float):
                raise CheckFailed(
                    f"for {label}, the {name} is a {type(value).__name__}; return a number "
                    "(a float, or a tensor with one element)"
                )
        total = float(losses.double().sum())
        expected_ppl = float(perplexity(total / len(losses)))
        expected_bpb = float(bits_per_byte(total, n_bytes))
        if math.isclose(ppl, expected_bpb, rel_tol=1e-5) and math.isclose(
            bpb, expected_ppl, rel_tol=1e-5
        ):
            raise CheckFailed(
                f"for {label}, the two numbers are swapped; return (perplexity, "
                "bits_per_byte) in that order."
            )
        wrong_ppl, wrong_bpb = _lm_mistakes(losses, n_bytes)
        setting = f"for {label} ({len(losses)} tokens, n_bytes = {n_bytes})"
        expect_equal(ppl, expected_ppl, f"{setting}, the perplexity", wrong_ppl, rtol=1e-5)
        expect_equal(bpb, expected_bpb, f"{setting}, the bits per byte", wrong_bpb, rtol=1e-5)
    return (
        "perplexity exp(mean loss) and bits per byte sum / (n_bytes · ln 2) are right on "
        "3 texts, BPE-like and character-level."
    )


# ------------------------------------------------------------------ 06.4 greedy decoding


def _decoding_model() -> GPT:
    """A tiny GPT with random weights, large enough that its greedy choices are clear-cut
    (no near-ties) and vary from step to step."""
    with torch.random.fork_rng(), torch.no_grad():  # leave the learner's random state alone
        torch.manual_seed(6)
        model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16))
        for param in model.parameters():
            if param.dim() >= 2:
                param.normal_(0.0, 0.5)
    return model.eval()


def _greedy_cases() -> list[tuple[str, Tensor, int]]:
    g = torch.Generator().manual_seed(64)
    return [
        ("one prompt of 3 tokens, 4 new tokens (all within block_size = 8)",
         torch.tensor([[1, 2, 3]]), 4),
        ("one prompt of 5 tokens, 10 new tokens (past block_size = 8)",
         torch.tensor([[4, 0, 9, 2, 6]]), 10),
        ("a batch of 3 prompts of 4 tokens, 9 new tokens",
         torch.randint(0, 11, (3, 4), generator=g), 9),
        ("a batch of 2 prompts, 0 new tokens", torch.randint(0, 11, (2, 3), generator=g), 0),
    ]  # fmt: skip


@torch.no_grad()
def _greedy(model: GPT, idx: Tensor, max_new_tokens: int, mistake: str | None = None) -> Tensor:
    """The greedy loop, or one of its usual wrong versions (``mistake``)."""
    start = idx
    for _ in range(max_new_tokens):
        context = idx[:, : model.config.block_size] if mistake == "first block" else (
            idx[:, -model.config.block_size :]
        )  # fmt: skip
        logits = model(context)[0]  # (B, T, V)
        position = 0 if mistake == "position 0" else -1
        next_id = logits[:, position].argmax(dim=-1, keepdim=True)  # (B, 1)
        if mistake == "row 0 for all":
            next_id = next_id[:1].expand(idx.size(0), 1)
        idx = torch.cat([idx, next_id], dim=1)
    if mistake == "new only":
        return idx[:, start.size(1) :]
    return idx


_GREEDY_CAUSES = {
    "position 0": "the logits were read at position 0; the prediction for the next token "
    "is at the last position: logits[:, -1, :]",
    "first block": "the first block_size tokens were kept, so the model never sees the "
    "tokens it added; keep the last ones: idx[:, -block_size:]",
    "new only": "only the new tokens were returned; return the prompt followed by them, "
    "(B, T + max_new_tokens), as GPT.generate does",
    "row 0 for all": "every row got the token chosen for row 0; take the argmax of each "
    "row: logits[:, -1, :].argmax(dim=-1, keepdim=True), which is (B, 1)",
}
_BATCH_CAUSE = (
    "the batch dimension got lost. logits[:, -1, :] is (B, V); its argmax per row is "
    "argmax(dim=-1, keepdim=True), of shape (B, 1), which torch.cat([idx, next_id], dim=1) "
    "appends to every row (argmax() without dim, or [0], picks one token for all)"
)


@checker("greedy_decode")
def greedy_decode(fn: Callable[[GPT, Tensor, int], Tensor]) -> str:
    """``fn(model, idx, max_new_tokens)`` → (B, T + max_new_tokens), argmax at each step."""
    model = _decoding_model()
    block_size = model.config.block_size
    for label, idx, n in _greedy_cases():
        batched = idx.size(0) > 1
        if batched:
            cause = _BATCH_CAUSE
        elif idx.size(1) + n > block_size:
            cause = (
                "the context was not cropped. GPT reads at most block_size tokens; once the "
                "sequence is longer, feed it the last block_size: idx[:, -block_size:]"
            )
        else:
            cause = None
        got = call(fn, model, idx.clone(), n, likely_cause=cause)
        expected = model.generate(idx, n, temperature=0, use_cache=False)
        if isinstance(got, Tensor) and got.shape == expected.shape and _same(got, expected):
            continue
        if isinstance(got, Tensor) and got.shape == expected.shape:
            _sampling(fn, model, idx, n, label)
        variants = [(_GREEDY_CAUSES[m], _greedy(model, idx, n, m)) for m in _GREEDY_CAUSES]
        mistakes = _cause_of(got, expected, variants)
        if not mistakes and batched and _only_first_row_right(got, expected):
            mistakes = {_BATCH_CAUSE: got}
        expect_tensor(got, expected, what=f"for {label}, the output", mistakes=mistakes)
    return (
        "the same tokens as GPT.generate(temperature=0) for one prompt and a batch, within "
        "and past block_size, and for 0 new tokens."
    )


def _only_first_row_right(got: Any, expected: Tensor) -> bool:
    return (
        isinstance(got, Tensor)
        and got.shape == expected.shape
        and _same(got[:1], expected[:1])
        and not _same(got, expected)
    )


def _sampling(fn: Callable[..., Tensor], model: GPT, idx: Tensor, n: int, label: str) -> None:
    """Raise if two runs with different random seeds give different tokens: it samples."""
    runs = []
    for seed in (1, 2):
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            runs.append(call(fn, model, idx.clone(), n))
    if isinstance(runs[0], Tensor) and isinstance(runs[1], Tensor) and not torch.equal(*runs):
        raise CheckFailed(
            f"for {label}, two runs gave different tokens: the loop samples (e.g. "
            "torch.multinomial) instead of choosing. Greedy decoding takes the most likely "
            "token, logits[:, -1, :].argmax(dim=-1, keepdim=True), so it is deterministic."
        )


# --------------------------------------------------------------- 06.5 clipped precision


def _split(*sentences: str) -> list[list[str]]:
    return [s.split() for s in sentences]


def _clipped_cases() -> list[tuple[list[str], list[list[str]], int]]:
    the7 = "the the the the the the the".split()
    return [
        (the7, _split("the cat is on the mat", "there is a cat on the mat"), 1),
        ("the cat sat on the mat the cat sat".split(),
         _split("a cat sat on the mat", "the cat sat and the cat sat on the mat"), 2),
        ("the mat the mat on the mat".split(),
         _split("the cat sat on the mat", "on the mat and the mat"), 1),
        ("the cat sat on the mat".split(), _split("the cat sat on a mat"), 3),
        ("on the mat the cat sat on the mat".split(), _split("the cat sat on the mat"), 4),
        ("the cat sat".split(), _split("the cat sat on the mat"), 4),
    ]  # fmt: skip


def _clipped(
    hypothesis: Sequence[str], references: Sequence[Sequence[str]], n: int, mistake: str
) -> tuple[int, int]:
    """One of the usual wrong clipped precisions."""
    hyp = ngram_counts(hypothesis, n)
    refs = [ngram_counts(r, n) for r in references]
    if mistake == "off by one":
        words = list(hypothesis)
        hyp = Counter(tuple(words[i : i + n]) for i in range(len(words) - n))
    limit: Counter = Counter()
    if mistake == "sum":
        for r in refs:
            limit += r
    elif mistake == "first reference":
        limit = refs[0]
    else:
        for r in refs:
            limit |= r
    if mistake == "no clipping":
        return sum(c for g, c in hyp.items() if limit[g]), sum(hyp.values())
    if mistake == "types":
        return sum(1 for g in hyp if limit[g]), len(hyp)
    return sum(min(c, limit[g]) for g, c in hyp.items()), sum(hyp.values())


_CLIPPED_CAUSES = {
    "no clipping": "no clipping: an n-gram that occurs in a reference was counted every "
    "time it occurs in the hypothesis. Count it at most as often as the reference has it "
    '("the the the the" earns one match against "the cat"), min(count, max_ref_count)',
    "sum": "the reference counts were added up over the references; clip by the largest "
    "count in any single reference (max, not sum): each reference is one whole "
    "translation, and the hypothesis must match one of them",
    "first reference": "only the first reference was used; clip by the largest count over "
    "all the references",
    "types": "distinct n-grams (types) were counted; count every occurrence (tokens), so a "
    "repeated n-gram counts as often as it occurs (up to its clip)",
    "off by one": "one n-gram is missing: a sentence of L words has L − n + 1 n-grams, "
    "range(len(words) - n + 1)",
}


@checker("clipped_precision")
def clipped_precision(fn: Callable[..., Any]) -> str:
    """``fn(hypothesis, references, n)`` → (matched, total) clipped n-gram counts."""
    cases = _clipped_cases()
    for hypothesis, references, n in cases:
        got = call(fn, list(hypothesis), [list(r) for r in references], n)
        if isinstance(got, tuple | list) and len(got) == 2:
            got = tuple(_as_int(v) for v in got)
        expected = _clipped_precision(hypothesis, references, n)
        wrong = {c: _clipped(hypothesis, references, n, m) for m, c in _CLIPPED_CAUSES.items()}
        refs = " / ".join(f'"{" ".join(r)}"' for r in references)
        expect_equal(
            got,
            expected,
            what=f'for "{" ".join(hypothesis)}" against {refs} with n = {n}, (matched, total)',
            mistakes=wrong,
        )
    return (
        f"(matched, total) right on {len(cases)} cases: n = 1 to 4, repeated n-grams, "
        "several references, and a hypothesis shorter than n."
    )


def _as_int(value: Any) -> Any:
    if isinstance(value, Tensor) and value.numel() == 1 and not value.dtype.is_floating_point:
        return int(value.item())
    return value


# ------------------------------------------------------------------------- 06.6 BLEU


def _bleu_cases() -> list[tuple[str, list[str], list[list[str]]]]:
    return [
        ("a hypothesis shorter than its one reference",
         "the cat sat on the mat".split(), _split("the cat sat on the red mat today")),
        ("two references, the closest one as long as the hypothesis",
         "the cat is on the mat".split(),
         _split("a cat is on the mat", "there is a cat on the mat in the hall")),
        ("a hypothesis shorter than the closest reference, longer than the shortest",
         "the cat is on the mat".split(),
         _split("a cat sat", "today the cat is on the red mat")),
        ("a hypothesis longer than every reference",
         "the cat sat on the mat and looked at the dog".split(),
         _split("the cat sat on the mat", "a cat sat on the mat")),
        ("a length tie: references of 5, 7 and 9 words, a hypothesis of 6",
         "the cat sat on the mat".split(),
         _split("the cat sat on mats", "the cat was sat on the mat",
                "and then the cat sat on the old mat")),
    ]  # fmt: skip


def _call_naming_todo(fn: Callable[..., Any], *args: Any) -> Any:
    """``call``, except that a TODO left in a function ``fn`` calls (the learner's
    ``clipped_precision``) is named as the one not attempted, not ``fn`` itself."""
    try:
        return call(fn, *args)
    except NotAttempted:
        pass
    try:
        fn(*args)
    except NotImplementedError as todo:
        frames = traceback.extract_tb(todo.__traceback__)
        raise NotAttempted(frames[-1].name if frames else fn.__name__) from None
    raise NotAttempted(getattr(fn, "__name__", "your function"))


def _bleu(hypothesis: Sequence[str], references: Sequence[Sequence[str]], mistake: str) -> float:
    """Sentence BLEU (0-100, no smoothing) with one of the usual mistakes."""
    counts = [_clipped_precision(hypothesis, references, n) for n in range(1, 5)]
    precisions = [m / t for m, t in counts]
    c, lengths = len(hypothesis), [len(r) for r in references]
    r = closest_ref_length(c, lengths)
    if mistake == "arithmetic":
        mean = sum(precisions) / 4
    else:
        mean = math.exp(sum(math.log(p) for p in precisions) / 4)
    bp = {
        "no penalty": 1.0,
        "longest": brevity_penalty(c, max(lengths)),
        "shortest": brevity_penalty(c, min(lengths)),
        "tie longer": brevity_penalty(c, min(lengths, key=lambda x: (abs(c - x), -x))),
        "no if": math.exp(1 - r / c),
        "both ways": math.exp(1 - max(r, c) / min(r, c)),
    }.get(mistake, brevity_penalty(c, r))
    return (1.0 if mistake == "0-1" else 100.0) * bp * mean


_BLEU_CAUSES = {  # the reference-length mistakes first: where they agree with another, they
    # are the more specific name
    "longest": "the brevity penalty used the longest reference; use the reference whose "
    "length is closest to the hypothesis' (ties: the shorter)",
    "shortest": "the brevity penalty used the shortest reference; use the reference whose "
    "length is closest to the hypothesis' (ties: the shorter)",
    "tie longer": "on a tie in length the longer reference was taken; take the shorter one "
    "(sacrebleu's rule): min(lengths, key=lambda r: (abs(c - r), r))",
    "no penalty": "the brevity penalty is missing. Precision alone rewards short "
    "hypotheses; multiply by BP = exp(1 − r/c) when the hypothesis (c words) is shorter "
    "than the closest reference (r words)",
    "arithmetic": "the precisions were averaged with an arithmetic mean; BLEU takes their "
    "geometric mean, exp((log p₁ + log p₂ + log p₃ + log p₄) / 4)",
    "no if": "a hypothesis longer than its reference got a bonus (BP > 1); BP is 1 when "
    "c ≥ r and exp(1 − r/c) only when c < r",
    "both ways": "a hypothesis longer than its reference was penalised; BP only punishes "
    "hypotheses that are too short: it is 1 when c ≥ r",
    "0-1": "the score is on the 0–1 scale; report it as sacrebleu and the chapter do, "
    "from 0 to 100: multiply by 100",
}


@checker("bleu")
def bleu(fn: Callable[..., Any]) -> str:
    """``fn(hypothesis, references)`` → sentence BLEU, 0-100, no smoothing."""
    cases = _bleu_cases()
    for label, hypothesis, references in cases:
        got = _as_number(_call_naming_todo(fn, list(hypothesis), [list(r) for r in references]))
        expected = corpus_bleu([hypothesis], [references], smooth="none").score
        wrong = {c: _bleu(hypothesis, references, m) for m, c in _BLEU_CAUSES.items()}
        refs = " / ".join(f'"{" ".join(r)}"' for r in references)
        expect_equal(
            got,
            expected,
            what=f'for {label}, "{" ".join(hypothesis)}" against {refs}: BLEU',
            mistakes=wrong,
            rtol=1e-6,
        )
    return (
        f"sentence BLEU right on {len(cases)} cases: shorter and longer hypotheses, the "
        "closest of several references, and a tie in length."
    )
