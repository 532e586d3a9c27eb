"""Checkers for chapter 02: bigram counts, log-softmax, cross-entropy and its gradient,
entropy, perplexity and bits per byte.

Each checker runs the learner's function on inputs chosen to expose the usual mistakes
(logits of ±1000 that overflow a naive exp, padding counted in the mean, the gradient not
divided by N, 0·log 0 giving nan, log base 2 where nats are asked for) and compares with a
reference written here from the equations. The references are tested against torch in
``tests/test_checks_ch02.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from llmcourse.checks.base import CheckFailed, call, checker, expect_equal, expect_tensor

OVERFLOW_HINT = (
    "exp() of a large logit overflows to inf (exp(1000) does not fit in a float), and "
    "inf / inf or inf - inf gives nan; a log of an underflowed 0 gives -inf. Subtract each "
    "row's maximum before exp: log_softmax(x) = (x - m) - log Σ exp(x - m), m = max of the row"
)
SOFTMAX_OVERFLOW_HINT = (
    "exp() of a large logit overflows to inf (exp(1000) does not fit in a float), and "
    "inf / inf gives nan. Subtract each row's maximum before exp, which leaves softmax "
    "unchanged: softmax(x) = softmax(x - m); torch.softmax does this for you"
)


def _non_finite_hint(got: Any, expected: Tensor, what: str, hint: str) -> None:
    """❌ with ``hint`` when ``got`` has inf/nan where the reference is finite."""
    if not (
        isinstance(got, Tensor)
        and got.shape == expected.shape
        and got.dtype.is_floating_point
        and bool((~torch.isfinite(got) & torch.isfinite(expected)).any())
    ):
        return
    where = tuple(int(i) for i in (~torch.isfinite(got) & torch.isfinite(expected)).nonzero()[0])
    at = f" at {list(where)}" if where else ""
    raise CheckFailed(
        f"{what} holds {got[where].item()}{at} where the reference is "
        f"{expected[where].item():.4g}.\nLikely cause: {hint}."
    )


def _expect(got: Any, expected: Tensor, what: str, mistakes: dict, hint: str, **kw: Any) -> None:
    """``expect_tensor``, but a non-finite result nobody named gets ``hint`` as its cause."""
    try:
        expect_tensor(got, expected, what=what, mistakes=mistakes, **kw)
    except CheckFailed as failure:
        if "Likely cause" not in str(failure):
            _non_finite_hint(got, expected, what, hint)
        raise


# ----------------------------------------------------------------- 02.1 bigram_probs


def _bigram_counts(ids: Tensor, V: int) -> Tensor:
    counts = torch.zeros(V, V, dtype=torch.float64)  # (V, V): row = previous, column = next
    counts.index_put_((ids[:-1], ids[1:]), torch.ones(len(ids) - 1, dtype=torch.float64), True)
    return counts


def _rows(counts: Tensor, k: float) -> Tensor:
    V = counts.shape[1]
    total = counts.sum(1, keepdim=True)  # (V, 1)
    probs = (counts + k) / (total + k * V)
    return torch.where(total > 0, probs, torch.full_like(probs, 1 / V))


@checker("bigram_probs")
def bigram_probs(fn: Callable[[Tensor, int, float], Tensor]) -> str:
    """``fn(ids, vocab_size, k)``: (V, V) add-k bigram table, row a = P(next | a)."""
    cases = [
        ([0, 1, 0, 2, 0, 1], 3, 0.0),
        ([0, 1, 0, 2], 3, 1.0),
        ([2, 2, 2, 0, 1, 2, 2, 0], 4, 0.0),
        ([3, 1, 4, 1, 5, 0, 2, 6, 5, 3, 5], 7, 0.1),
    ]
    for ids, V, k in cases:
        ids_t = torch.tensor(ids)
        counts = _bigram_counts(ids_t, V)
        expected = _rows(counts, k)
        what = f"bigram_probs(torch.tensor({ids}), vocab_size={V}, k={k})"
        got = call(fn, ids_t.clone(), V, k)
        if isinstance(got, Tensor) and got.shape == expected.shape and got.dtype.is_floating_point:
            nan_rows = torch.isnan(got).all(1) & (counts.sum(1) == 0)  # (V,)
            if bool(nan_rows.any()):
                row = int(nan_rows.nonzero()[0])
                raise CheckFailed(
                    f"{what}: row {row} is nan. Token {row} is never followed by anything in "
                    f"this corpus, so with k = {k} its row is 0 / 0.\nGive a context that was "
                    f"never seen the uniform distribution 1/V (here 1/{V})."
                )
        total = counts.sum(1, keepdim=True)  # (V, 1)
        unseen_uniform = torch.where(total > 0, 0.0, 1 / V)
        _expect(
            got,
            expected,
            what=what,
            check_dtype=False,
            hint="a row with no counts was divided by its total, 0; give a context that "
            "was never seen the uniform distribution 1/V",
            mistakes={
                "each row must sum to 1; add k·V to the row's total count, because k is "
                "added to every one of the V entries of the row": torch.where(
                    total > 0, (counts + k) / total.clamp(min=1), unseen_uniform
                ),
                "the table is normalized down its columns; row a holds P(next | a), so "
                "divide each row by its own sum": (counts + k)
                / (counts.sum(0, keepdim=True) + k * V),
                "rows and columns are swapped: row a should count what FOLLOWS a, i.e. "
                "counts[ids[t], ids[t + 1]]": _rows(counts.T.contiguous(), k),
                "these are the counts plus k, not probabilities; divide each row by its "
                "total (count + k·V)": counts + k,
            },
        )
    return (
        f"matches on {len(cases)} corpora, including add-k smoothing and a token never "
        "seen as a context."
    )


# ----------------------------------------------------------------- 02.2 log_softmax


def _log_softmax(x: Tensor) -> Tensor:
    m = x.amax(-1, keepdim=True)
    return (x - m) - (x - m).exp().sum(-1, keepdim=True).log()


@checker("log_softmax")
def log_softmax(fn: Callable[[Tensor], Tensor]) -> str:
    """``fn(x)``: log-softmax over the last dimension, stable for logits of any size."""
    g = torch.Generator().manual_seed(0)
    cases = [
        ("small logits", torch.tensor([1.0, 2.0, 3.0])),
        ("a batch (2, 3, 5)", torch.randn(2, 3, 5, generator=g)),
        ("logits near ±1000", torch.tensor([[1000.0, 1001.0, 999.0], [-1000.0, -1001.0, -1003.0]])),
        ("logits of 1e4", torch.tensor([[1e4, 0.0, -1e4], [3.0, 3.0, 3.0]])),
        ("float64 logits", torch.randn(4, 6, generator=g, dtype=torch.float64) * 30),
    ]
    for label, x in cases:
        expected = torch.log_softmax(x, dim=-1)
        keepdim = None
        if x.ndim > 1:
            keepdim = (
                "if the error is about sizes that do not match: take the max and the sum "
                "with keepdim=True, so that they keep a dimension of size 1 and broadcast "
                "against x"
            )
        got = call(fn, x.clone(), likely_cause=keepdim)
        if isinstance(got, Tensor) and got.shape != x.shape and got.numel() < x.numel():
            raise CheckFailed(
                f"log_softmax of {label} has shape {tuple(got.shape)}, expected "
                f"{tuple(x.shape)}: one log-probability per logit.\nDid you forget "
                "keepdim=True in the max or the sum, so that they broadcast against x?"
            )
        global_m = x.max()
        mistakes = {
            "the maximum of the whole tensor was subtracted, not each row's; a row far "
            "below it underflows to exp() = 0 and log 0 = -inf. Use x.amax(dim=-1, "
            "keepdim=True)": (x - global_m) - (x - global_m).exp().sum(-1, keepdim=True).log(),
            "this is softmax, not its log; take log-probabilities": torch.softmax(x, dim=-1),
            "normalized over the first dimension; the classes are the LAST dimension, "
            "dim=-1": torch.log_softmax(x, dim=0),
            "only the maximum was subtracted; also subtract log Σ exp(x - m), so that the "
            "probabilities sum to 1": x - x.amax(-1, keepdim=True),
        }
        _expect(
            got,
            expected,
            what=f"log_softmax of {label}",
            mistakes=mistakes,
            hint=OVERFLOW_HINT,
            atol=1e-5,
        )
    return (
        f"matches torch.log_softmax on {len(cases)} inputs, including logits of ±1000 and 1e4 "
        "and a batch."
    )


# --------------------------------------------------------------- 02.3 cross_entropy


def _cross_entropy_parts(logits: Tensor, targets: Tensor, ignore_index: int) -> tuple:
    keep = targets != ignore_index  # (B, T)
    safe = torch.where(keep, targets, torch.zeros_like(targets))
    nll = -_log_softmax(logits.double()).gather(-1, safe.unsqueeze(-1)).squeeze(-1)  # (B, T)
    return nll, keep


@checker("cross_entropy")
def cross_entropy(fn: Callable[[Tensor, Tensor, int], Tensor]) -> str:
    """``fn(logits (B, T, V), targets (B, T), ignore_index)``: mean loss over kept positions."""
    g = torch.Generator().manual_seed(1)
    padded = torch.randint(1, 6, (2, 4), generator=g)
    padded[0, 3], padded[1, 1:] = 0, 0  # pad id 0 at the ends of the rows
    big = torch.tensor([[[1000.0, 0.0, -1000.0], [0.0, 500.0, 0.0]]])
    cases = [
        ("one token", torch.tensor([[[2.0, 1.0, 0.1, -1.0]]]), torch.tensor([[0]]), -100),
        (
            "a batch (2, 3, 5)",
            torch.randn(2, 3, 5, generator=g),
            torch.randint(0, 5, (2, 3), generator=g),
            -100,
        ),
        (
            "a padded batch (ignore_index = -100)",
            torch.randn(2, 3, 4, generator=g),
            torch.tensor([[1, 2, -100], [3, -100, -100]]),
            -100,
        ),
        ("a padded batch (pad id 0 = ignore_index)", torch.randn(2, 4, 6, generator=g), padded, 0),
        ("logits of ±1000", big, torch.tensor([[2, 0]]), -100),
    ]
    for label, logits, targets, ignore in cases:
        nll, keep = _cross_entropy_parts(logits, targets, ignore)
        expected = (nll * keep).sum() / keep.sum()
        crash = None
        if bool((targets == ignore).any()) and ignore < 0:
            crash = (
                f"the targets hold {ignore} (= ignore_index) at the padded positions, which "
                "is no valid class id; mask those positions out before you pick the "
                "log-probabilities of the targets (e.g. replace them by 0, then zero their loss)"
            )
        got = call(fn, logits.clone(), targets.clone(), ignore, likely_cause=crash)
        if isinstance(got, float | int):
            raise CheckFailed(
                f"cross_entropy on {label} returned a Python {type(got).__name__}; return the "
                "0-dim tensor itself (no .item()), so that autograd can use it."
            )
        n_kept, n_all = int(keep.sum()), keep.numel()
        _expect(
            got,
            expected.to(logits.dtype),
            what=f"cross_entropy on {label}",
            check_dtype=False,
            atol=1e-4,
            hint="for logits this large a naive exp() overflows to inf (and inf / inf is "
            "nan), and log(softmax(x)) underflows to log 0 = -inf. Use a log-softmax that "
            "subtracts each row's maximum: your log_softmax of exercise 02.2, or "
            "torch.log_softmax",
            mistakes={
                f"the padded positions were averaged in. Only the {n_kept} positions whose "
                f"target is not ignore_index count, not all {n_all}": nll.mean(),
                f"the padded positions were zeroed but the sum was divided by all {n_all} "
                f"positions; divide by the {n_kept} kept ones": (nll * keep).sum() / n_all,
                "this is the sum of the losses; the mean divides it by the number of kept "
                "positions": (nll * keep).sum(),
                "the sign is flipped: the loss is the NEGATIVE mean log-probability of the "
                "targets, so it is never below 0": -expected,
            },
        )
    return (
        f"matches on {len(cases)} inputs, including padding (ignore_index 0 and -100) and "
        "logits of ±1000."
    )


# ----------------------------------------------------------- 02.4 cross_entropy_grad


@checker("cross_entropy_grad")
def cross_entropy_grad(fn: Callable[[Tensor, Tensor], Tensor]) -> str:
    """``fn(logits (N, V), targets (N,))``: d(mean cross-entropy)/d logits, (N, V)."""
    g = torch.Generator().manual_seed(2)
    cases = [
        ("one position", torch.tensor([[2.0, 1.0, 0.1]]), torch.tensor([1])),
        ("N = 4, V = 5", torch.randn(4, 5, generator=g), torch.tensor([0, 4, 2, 2])),
        ("N = 3, V = 3 (N equals V)", torch.randn(3, 3, generator=g), torch.tensor([2, 0, 1])),
        (
            "logits of ±1000",
            torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 0.0, 900.0]]),
            torch.tensor([1, 2]),
        ),
    ]
    for label, logits, targets in cases:
        leaf = logits.double().requires_grad_()
        torch.nn.functional.cross_entropy(leaf, targets).backward()
        expected = leaf.grad.to(logits.dtype)
        N, V = logits.shape
        p = torch.softmax(logits, dim=-1)
        one_hot = torch.nn.functional.one_hot(targets, V).to(logits.dtype)
        got = call(fn, logits.clone(), targets.clone())
        _expect(
            got,
            expected,
            what=f"the gradient for {label}",
            check_dtype=False,
            atol=1e-6,
            hint=SOFTMAX_OVERFLOW_HINT,
            mistakes={
                f"not divided by N: the loss is the MEAN over N = {N} positions, so each "
                "position's gradient softmax − one_hot is divided by N": p - one_hot,
                "the sign is flipped: it is softmax − one_hot (raising the target's logit "
                "lowers the loss, so its gradient is negative)": (one_hot - p) / N,
                "the logits were used where the probabilities belong: take softmax(logits) first": (
                    logits - one_hot
                )
                / N,
                f"divided by V = {V} instead of N = {N}, the number of positions": (p - one_hot)
                / V,
            },
        )
    return (
        f"equals autograd's gradient on {len(cases)} inputs, including one position and "
        "logits of ±1000."
    )


# ------------------------------------------------------------------ 02.5 entropy


@checker("entropy")
def entropy(fn: Callable[[Tensor], Tensor]) -> str:
    """``fn(p)``: -Σ p log p over the last dimension, in nats, with 0·log 0 = 0."""
    cases = [
        ("a fair coin", torch.tensor([0.5, 0.5])),
        ("uniform over 4", torch.full((4,), 0.25)),
        ("a skewed distribution", torch.tensor([0.7, 0.2, 0.1])),
        ("p = [0.5, 0.5, 0.0]", torch.tensor([0.5, 0.5, 0.0])),
        ("the one-hot p = [0, 1, 0]", torch.tensor([0.0, 1.0, 0.0])),
        (
            "a batch (3, 4) of rows",
            torch.tensor([[0.25] * 4, [1.0, 0.0, 0.0, 0.0], [0.1, 0.2, 0.3, 0.4]]),
        ),
    ]
    for label, p in cases:
        expected = -torch.special.xlogy(p, p).sum(-1)
        got = call(fn, p.clone())
        if isinstance(got, Tensor) and got.shape != expected.shape and p.ndim > 1:
            raise CheckFailed(
                f"entropy of {label} has shape {tuple(got.shape)}, expected "
                f"{tuple(expected.shape)}: one entropy per row.\nSum over the last "
                "dimension (dim=-1), the one that holds each distribution."
            )
        _expect(
            got,
            expected,
            what=f"entropy of {label}",
            check_dtype=False,
            atol=1e-5,
            hint="0 · log 0 gives 0 · (-inf) = nan in floating point, but the limit of "
            "p log p as p → 0 is 0. Skip the zero entries (torch.where(p > 0, …, 0)) or "
            "use torch.special.xlogy(p, p)",
            mistakes={
                "log base 2 gives bits; the exercise asks for nats, the natural log "
                "(torch.log)": expected / math.log(2),
                "the sign is missing: entropy is -Σ p log p, and it is never negative": -expected,
            },
        )
    return f"matches on {len(cases)} distributions, including zeros (0·log 0 = 0) and a batch."


# ------------------------------------------------------------ 02.6 perplexity_and_bpb


def _exp(x: float) -> float:
    """math.exp that gives inf instead of raising OverflowError."""
    return math.exp(x) if x < 709 else math.inf


def _as_float(value: Any) -> Any:
    if isinstance(value, Tensor) and value.numel() == 1:
        return value.item()
    return value


@checker("perplexity_and_bpb")
def perplexity_and_bpb(fn: Callable[[float, int, int], tuple[float, float]]) -> str:
    """``fn(mean_loss, n_tokens, n_bytes)``: (perplexity, bits per byte)."""
    cases = [(math.log(4), 10, 20), (2.0, 1000, 3500), (1.3, 400, 400), (0.0, 5, 7)]
    for mean_loss, n_tokens, n_bytes in cases:
        args = f"perplexity_and_bpb({mean_loss:.4g}, n_tokens={n_tokens}, n_bytes={n_bytes})"
        got = call(fn, mean_loss, n_tokens, n_bytes)
        if not (isinstance(got, tuple | list) and len(got) == 2):
            raise CheckFailed(
                f"{args} returned {got!r}; return two numbers: (perplexity, bits_per_byte)."
            )
        ppl, bpb = (_as_float(v) for v in got)
        expect_equal(
            ppl,
            math.exp(mean_loss),
            what=f"the perplexity from {args}",
            rtol=1e-6,
            mistakes={
                "2 ** loss: the loss is in nats (natural log), so perplexity is exp(loss)": 2
                ** mean_loss,
                "the perplexity uses the MEAN loss per token, exp(mean_loss), not the total "
                "over all tokens": _exp(mean_loss * n_tokens),
            },
        )
        total_bits = mean_loss * n_tokens / math.log(2)
        expect_equal(
            bpb,
            total_bits / n_bytes,
            what=f"the bits per byte from {args}",
            rtol=1e-6,
            mistakes={
                "these are bits per TOKEN; spread the total over the bytes: "
                "mean_loss · n_tokens / (n_bytes · ln 2)": mean_loss / math.log(2),
                "these are nats per byte: divide by ln 2 to turn nats into bits": mean_loss
                * n_tokens
                / n_bytes,
                "multiplied by ln 2 where you should divide by it (bits = nats / ln 2)": mean_loss
                * n_tokens
                / n_bytes
                * math.log(2),
                "the ratio is upside down: total bits are mean_loss · n_tokens / ln 2, "
                "then divide by n_bytes": mean_loss * n_bytes / n_tokens / math.log(2),
            },
        )
    return f"matches on {len(cases)} cases (perplexity in nats, bits spread over the bytes)."
