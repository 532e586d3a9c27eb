"""Classifier metrics from their definitions: confusion matrix, accuracy, precision, recall, F1.

Chapter 06 teaches this file (on ``llmcourse.synthetic.reviews``) and chapter 07 uses it.
Everything is read off the confusion matrix M (rows = true class, columns = predicted, as
in scikit-learn): for class c, TP = M[c, c], predicted c = column sum, truly c = row sum.
``tests/test_evaluate.py`` proves the numbers equal scikit-learn's on random labels,
including classes that are never predicted or never occur.

Classes are 0..K-1, with K = ``n_classes`` or, if not given, the largest label + 1. That is
scikit-learn with ``labels=range(K)``: a class in that range that occurs in neither
y_true nor y_pred still counts (as zeros) in a macro average, where scikit-learn's default
(only the labels present) would leave it out; pass ``n_classes`` when you know K.

Zero division: precision of a class never predicted (0/0), recall of a class that never
occurs, and F1 of a class with no TP, FP and FN are 0, without a warning. That is the value
scikit-learn's default (``zero_division="warn"``) uses, which also warns; its
``zero_division=0`` gives the same numbers silently. Left out on purpose: multi-label
targets, sample weights, probability-based metrics (ROC, log loss).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor

AVERAGES = ("macro", "micro", "weighted", "binary", None)

Labels = Tensor | Sequence[int]


class PrecisionRecallF1(NamedTuple):
    """Floats for an average; float64 tensors (K,), one entry per class, for average=None."""

    precision: float | Tensor
    recall: float | Tensor
    f1: float | Tensor


def confusion_matrix(y_true: Labels, y_pred: Labels, n_classes: int | None = None) -> Tensor:
    """M[i, j] = how many examples of true class i were predicted as j. Returns (K, K) int64.

    y_true, y_pred: (N,) integer labels in 0..K-1, lists or 1-D tensors.

    >>> confusion_matrix([0, 0, 1, 2], [0, 1, 1, 1])
    tensor([[1, 1, 0],
            [0, 1, 0],
            [0, 1, 0]])
    """
    y_true, y_pred, K = _check_labels(y_true, y_pred, n_classes)
    return torch.bincount(y_true * K + y_pred, minlength=K * K).reshape(K, K)


def accuracy(y_true: Labels, y_pred: Labels) -> float:
    """The share of examples predicted right: trace(M) / N.

    >>> accuracy([0, 1, 1, 0], [0, 1, 0, 0])
    0.75
    """
    y_true, y_pred, _ = _check_labels(y_true, y_pred, None)
    return (y_true == y_pred).double().mean().item()


def precision_recall_f1(
    y_true: Labels,
    y_pred: Labels,
    average: str | None = "macro",
    n_classes: int | None = None,
) -> PrecisionRecallF1:
    """Per class c: precision = TP / predicted c, recall = TP / truly c, F1 = their harmonic
    mean 2PR / (P + R) = 2 TP / (2 TP + FP + FN). Returns ``PrecisionRecallF1``.

    average: ``None`` the per-class values (K,); ``"macro"`` their plain mean (every class
    counts the same); ``"weighted"`` their mean weighted by how often each class truly
    occurs; ``"micro"`` the metrics of the pooled counts (all TP over all predictions, which
    for single-label data is the accuracy, for all three); ``"binary"`` class 1's values,
    (labels 0 and 1; class 1 = positive), scikit-learn's default for ``f1_score``.

    >>> precision_recall_f1([0, 0, 1, 1], [0, 1, 1, 1], average=None).precision
    tensor([1.0000, 0.6667], dtype=torch.float64)
    """
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
    if average == "binary":
        if n_classes not in (None, 2):
            raise ValueError(
                f"average='binary' needs two classes (0 and 1), got n_classes={n_classes}; "
                "use 'macro', 'micro', 'weighted' or None"
            )
        n_classes = 2
    M = confusion_matrix(y_true, y_pred, n_classes).double()  # (K, K)
    tp, predicted, true = M.diagonal(), M.sum(0), M.sum(1)  # (K,) each
    if average == "micro":
        tp, predicted, true = tp.sum(), predicted.sum(), true.sum()
    scores = (_divide(tp, predicted), _divide(tp, true), _divide(2 * tp, predicted + true))
    if average is None:
        return PrecisionRecallF1(*scores)
    if average == "binary":
        return PrecisionRecallF1(*(s[1].item() for s in scores))
    weights = true / true.sum() if average == "weighted" else torch.ones_like(true) / true.numel()
    return PrecisionRecallF1(*((s * weights).sum().item() for s in scores))


def _divide(numerator: Tensor, denominator: Tensor) -> Tensor:
    """numerator / denominator, 0 where the denominator is 0 (scikit-learn's default)."""
    safe = torch.where(denominator > 0, denominator, torch.ones_like(denominator))
    return torch.where(denominator > 0, numerator / safe, torch.zeros_like(numerator))


def _check_labels(
    y_true: Labels, y_pred: Labels, n_classes: int | None
) -> tuple[Tensor, Tensor, int]:
    """Both as int64 tensors (N,), checked, and the number of classes K."""
    y_true, y_pred = _as_labels(y_true, "y_true"), _as_labels(y_pred, "y_pred")
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true has {len(y_true)} labels but y_pred {len(y_pred)}; give one prediction "
            "per example"
        )
    if len(y_true) == 0:
        raise ValueError("y_true and y_pred are empty; metrics need at least one example")
    largest = int(max(y_true.max(), y_pred.max()))
    if n_classes is None:
        return y_true, y_pred, largest + 1
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}")
    if largest >= n_classes:
        raise ValueError(
            f"label {largest} is out of range for n_classes={n_classes} (labels must be "
            f"0..{n_classes - 1}); raise n_classes or fix the labels"
        )
    return y_true, y_pred, n_classes


def _as_labels(y: Labels, name: str) -> Tensor:
    empty = not isinstance(y, Tensor) and len(y) == 0  # [] would become float32
    y = torch.zeros(0, dtype=torch.long) if empty else torch.as_tensor(y)
    if y.ndim != 1 or y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        raise ValueError(
            f"{name} must be a 1-D sequence of integer class ids, got {y.dtype} of shape "
            f"{tuple(y.shape)}; use predictions.argmax(-1) to turn scores into class ids"
        )
    if len(y) and int(y.min()) < 0:
        raise ValueError(f"{name} has a negative label {int(y.min())}; classes are 0..K-1")
    return y.long().cpu()
