"""Softmax, cross-entropy and the information measures around them, from the equations.

Chapter 02 (``chapters/02_language_models_and_cross_entropy.ipynb``) teaches this file. The
fast twins are ``torch.softmax``, ``torch.log_softmax``, ``torch.logsumexp`` and
``torch.nn.functional.cross_entropy``; ``tests/test_functional.py`` proves ours give the same
numbers and gradients on random shapes, scales up to ±1e4, masked (``-inf``) logits,
``ignore_index`` and label smoothing. Left out on purpose: class weights, probability
("soft") targets in ``cross_entropy``, and torch's ``(B, V, T)`` layout (ours is the
language-model layout ``(B, T, V)``).

Units: every loss and entropy here is in nats (natural log); ``bits_per_byte`` converts.
What is checked: ``cross_entropy`` checks shapes, dtypes and that targets are class ids;
``entropy`` and ``kl_divergence`` check that they were given probability distributions
(the usual mistake is passing logits); ``softmax`` and friends check only the dtype, since
``-inf`` and huge values are legitimate logits.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence

import torch
from torch import Tensor

REDUCTIONS = ("none", "mean", "sum")


def logsumexp(x: Tensor, dim: int = -1) -> Tensor:
    """log Σ_i exp(x_i) along ``dim``, computed as m + log Σ_i exp(x_i - m) with m = max x.

    x: (..., V). Returns (...,), ``dim`` removed. Exponentials of ``x - m`` are at most 1,
    so nothing overflows at x = 1e4. A row of only ``-inf`` gives ``-inf`` (log of an empty
    sum) and a row containing ``+inf`` gives ``+inf``, like ``torch.logsumexp``.

    >>> logsumexp(torch.tensor([1e4, 1e4]))     # 1e4 + log 2; the naive form gives inf
    tensor(10000.6934)
    """
    _check_floating(x, "x")
    m = x.detach().amax(dim=dim, keepdim=True)  # (..., 1); a constant for autograd
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))  # ±inf rows: shift by 0
    return (m + (x - m).exp().sum(dim=dim, keepdim=True).log()).squeeze(dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """log softmax(x)_i = x_i - logsumexp(x), stable for logits of any size.

    x: (..., V). Returns the same shape. Masked entries (``-inf``) get ``-inf``. A row that
    is entirely ``-inf`` (nothing left to choose) gives ``nan`` everywhere, as torch does.
    """
    _check_floating(x, "x")
    shifted = x - x.detach().amax(dim=dim, keepdim=True)  # (..., V), max is 0
    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """softmax(x)_i = exp(x_i - m) / Σ_j exp(x_j - m), m = max x (which cancels).

    x: (..., V). Returns the same shape; each slice along ``dim`` sums to 1. Masked entries
    (``-inf``) get probability 0. A row that is entirely ``-inf`` gives ``nan`` everywhere
    (0 / 0), as ``torch.softmax`` does: mask at least one position per row.

    >>> softmax(torch.tensor([1e4, 1e4, -float("inf")]))
    tensor([0.5000, 0.5000, 0.0000])
    """
    _check_floating(x, "x")
    e = (x - x.detach().amax(dim=dim, keepdim=True)).exp()  # (..., V), largest is 1
    return e / e.sum(dim=dim, keepdim=True)


def cross_entropy(
    logits: Tensor,
    targets: Tensor,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> Tensor:
    """Mean negative log-probability that the model gives to the right next token.

    logits: (N, V) or (B, T, V), any float dtype; targets: (N,) or (B, T) integer class ids,
    always ``logits.shape[:-1]``. NOTE: the classes are the LAST dimension, the layout a
    language model produces; ``torch.nn.functional.cross_entropy`` wants ``(B, V, T)``, so
    ours equals ``F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))`` and, for
    (B, T, V), ``F.cross_entropy(logits.transpose(1, 2), targets)``.

    Per position, with p = softmax(logits), y the target and ε = ``label_smoothing``:
    loss = (1 - ε)·(-log p_y) + ε·(1/V)·Σ_c (-log p_c), i.e. the target distribution is
    (1 - ε)·one_hot(y) + ε/V, exactly as torch defines it. Positions whose target equals
    ``ignore_index`` (padding) count for nothing: loss 0, no gradient, left out of the mean.

    reduction: ``"none"`` returns the per-position losses in the targets' shape (0 where
    ignored), ``"sum"`` their sum, ``"mean"`` the sum divided by the number of positions not
    ignored. If every position is ignored, ``"mean"`` is ``nan`` (0 / 0) and ``"sum"`` is 0,
    the same as torch.

    >>> logits = torch.zeros(2, 3, 4)                 # (B, T, V): a uniform guess
    >>> cross_entropy(logits, torch.zeros(2, 3, dtype=torch.long))   # log 4
    tensor(1.3863)
    """
    _check_floating(logits, "logits")
    if logits.ndim == 0:
        raise ValueError("logits must have a class dimension, e.g. shape (N, V) or (B, T, V)")
    if not isinstance(targets, Tensor):
        raise TypeError(
            f"targets must be a torch.Tensor of class ids, got {type(targets).__name__}"
        )
    if tuple(targets.shape) != tuple(logits.shape[:-1]):
        raise ValueError(
            f"logits have shape {tuple(logits.shape)} but targets {tuple(targets.shape)}; "
            "targets must be logits.shape[:-1] (one class id per position, classes last)"
        )
    if targets.dtype.is_floating_point or targets.dtype.is_complex or targets.dtype == torch.bool:
        raise TypeError(
            f"targets must be integer class ids (torch.long), got {targets.dtype}; convert "
            "with targets.long() (probability targets are left out of this version)"
        )
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}; use one of {', '.join(REDUCTIONS)}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    V = logits.shape[-1]
    keep = targets != ignore_index  # (...,) True where the position counts
    _check_targets_in_range(targets, keep, V, ignore_index)

    logp = log_softmax(logits, dim=-1)  # (..., V)
    safe = torch.where(keep, targets, torch.zeros_like(targets)).long()  # (...,) ignored -> 0
    loss = -logp.gather(-1, safe.unsqueeze(-1)).squeeze(-1)  # (...,) -log p_y
    if label_smoothing > 0:
        loss = (1 - label_smoothing) * loss - label_smoothing * logp.mean(dim=-1)
    loss = torch.where(keep, loss, torch.zeros_like(loss))  # ignored: 0, and no gradient
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / keep.sum()  # nan when every position is ignored


def entropy(p: Tensor | Sequence[float], dim: int = -1) -> Tensor:
    """H(p) = -Σ_i p_i log p_i in nats, with 0·log 0 = 0.

    p: (..., V), each slice along ``dim`` a probability distribution (checked: no negative
    entries, sums to 1 within ``prob_tolerance``), or a list (made float64). Returns
    (...,). Uniform over V gives log V, a one-hot distribution gives 0.

    >>> entropy([0.5, 0.5, 0.0])        # log 2
    tensor(0.6931, dtype=torch.float64)
    """
    p = _as_distribution(p, dim, "p")
    return -torch.special.xlogy(p, p).sum(dim=dim)


def kl_divergence(
    p: Tensor | Sequence[float], q: Tensor | Sequence[float], dim: int = -1
) -> Tensor:
    """KL(p ‖ q) = Σ_i p_i (log p_i - log q_i) in nats: the extra loss for predicting q when
    the truth is p. Never negative; 0 only when p = q; ``inf`` if q_i = 0 where p_i > 0.

    p, q: (..., V) probability distributions along ``dim`` (both checked, as in ``entropy``).
    Returns (...,). Cross-entropy splits as H(p, q) = H(p) + KL(p ‖ q).
    """
    p, q = _as_distribution(p, dim, "p"), _as_distribution(q, dim, "q")
    if p.shape != q.shape:
        raise ValueError(f"p has shape {tuple(p.shape)} but q {tuple(q.shape)}; they must match")
    return (torch.special.xlogy(p, p) - torch.special.xlogy(p, q)).sum(dim=dim)


def perplexity(mean_loss: float | Tensor) -> float | Tensor:
    """exp(mean cross-entropy in nats): the size of a uniform choice that is as uncertain.

    mean_loss: a float or a tensor of any shape (nats per token). Returns the same kind.
    A model that is uniform over V tokens has mean loss log V and perplexity V.

    >>> round(perplexity(math.log(50)), 6)
    50.0
    """
    if isinstance(mean_loss, Tensor):
        if bool((mean_loss < 0).any()):
            raise ValueError(_NEGATIVE_LOSS.format(mean_loss.min().item()))
        return mean_loss.exp()
    if mean_loss < 0:
        raise ValueError(_NEGATIVE_LOSS.format(mean_loss))
    return math.exp(mean_loss)


def bits_per_byte(total_nats: float | Tensor, n_bytes: int) -> float | Tensor:
    """total_nats / (n_bytes · ln 2): the loss in bits spread over the bytes of the text.

    total_nats: the SUM of the per-token losses over the text (mean loss × number of
    tokens), a float or tensor; n_bytes: how many UTF-8 bytes that text has. Unlike
    perplexity it does not depend on the tokenizer, so it compares models with different
    vocabularies. Returns the same kind as ``total_nats``.

    >>> bits_per_byte(8 * math.log(2), 4)   # 8 bits over 4 bytes
    2.0
    """
    try:
        n = operator.index(n_bytes)  # int, numpy int or integer 0-dim tensor
    except TypeError:
        n = 0
    if isinstance(n_bytes, bool) or n <= 0:
        raise ValueError(
            f"n_bytes must be a positive whole number of bytes, got {n_bytes!r}; "
            'count them with len(text.encode("utf-8"))'
        )
    return total_nats / (n * math.log(2))


# ------------------------------------------------------------------------ input checks

_NEGATIVE_LOSS = (
    "mean_loss must be >= 0 (a cross-entropy in nats), got {}; if you passed a "
    "log-likelihood, negate it"
)


def prob_tolerance(dtype: torch.dtype) -> float:
    """How far from 1 a distribution's sum may be: max(1e-4, √eps) of ``dtype``
    (1e-4 for float64, 3.5e-4 for float32, 0.03 for float16, 0.09 for bfloat16)."""
    return max(1e-4, torch.finfo(dtype).eps ** 0.5)


def _check_floating(x: Tensor, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.dtype.is_floating_point:
        raise TypeError(f"{name} must be a float tensor, got {x.dtype}; convert with .float()")


def _check_targets_in_range(targets: Tensor, keep: Tensor, V: int, ignore_index: int) -> None:
    bad = keep & ((targets < 0) | (targets >= V))  # (...,)
    if bool(bad.any()):
        where = tuple(int(i) for i in bad.nonzero()[0])
        raise ValueError(
            f"targets contain {int(targets[where])} at position {where}, but logits have "
            f"V={V} classes (valid ids 0..{V - 1}); mark padding with ignore_index "
            f"(currently {ignore_index}) instead of an id outside the vocabulary"
        )


def _as_distribution(p: Tensor | Sequence[float], dim: int, name: str) -> Tensor:
    if not isinstance(p, Tensor):
        p = torch.tensor(p, dtype=torch.float64)  # a list of probabilities
    _check_floating(p, name)
    if bool((p < 0).any()):
        raise ValueError(
            f"{name} has negative entries (min {p.min().item():.3g}); it must hold "
            "probabilities - did you pass logits? Use softmax(logits) first"
        )
    total = p.sum(dim=dim)
    tol = prob_tolerance(p.dtype)
    if bool(((total - 1).abs() > tol).any()):
        worst = total.flatten()[(total - 1).abs().flatten().argmax()].item()
        raise ValueError(
            f"{name} must sum to 1 along dim={dim} (within {tol:.2g}), but a slice sums to "
            f"{worst:.6g}; normalize it with {name} / {name}.sum(dim, keepdim=True)"
        )
    return p
