"""Checkers for chapter 00's warm-up: the tensor skills chapter 01 onwards relies on.

Each checker takes the learner's function, runs it on several inputs (including the edge
cases that expose the usual mistakes) and compares with a reference written here.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from llmcourse.checks.base import CheckFailed, call, checker, expect_tensor


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@checker("square")
def square(fn: Callable[[torch.Tensor], torch.Tensor]) -> str:
    """Demo exercise: ``fn(x)`` squares every element of ``x``."""
    cases = [torch.tensor([0.0, 1.0, 2.0, -3.0]), torch.randn(2, 3, generator=_generator(0))]
    for x in cases:
        expect_tensor(
            call(fn, x.clone()),
            x**2,
            what=f"square of a tensor of shape {tuple(x.shape)}",
            mistakes={"multiplying by 2 instead of squaring (x * 2 is not x ** 2)": x * 2},
        )
    return f"matches x ** 2 on {len(cases)} tensors, including negative numbers."


@checker("batchify")
def batchify(fn: Callable[[torch.Tensor, int], torch.Tensor]) -> str:
    """``fn(ids, B)``: a 1-D stream of N token ids → (B, N // B), row b = the b-th chunk."""
    cases = [
        (torch.arange(12), 3),
        (torch.arange(10), 3),
        (torch.arange(7), 7),
        (torch.arange(5), 1),
    ]
    for ids, B in cases:
        T = len(ids) // B
        expected = ids[: B * T].view(B, T)
        mistakes = {
            "filling the columns first: .view(T, B).T interleaves the stream; "
            "row b must hold one contiguous chunk": ids[: B * T].view(T, B).T,
            "the shape is (N // B, B); the batch has B rows, each N // B tokens long": ids[
                : B * T
            ].view(T, B),
        }
        cause = None
        if len(ids) % B:
            cause = (
                f"N = {len(ids)} is not divisible by B = {B}; "
                "drop the last N % B tokens before reshaping."
            )
        got = call(fn, ids.clone(), B, likely_cause=cause)
        expect_tensor(got, expected, what=f"batchify(arange({len(ids)}), B={B})", mistakes=mistakes)
    return (
        f"matches on {len(cases)} streams, including B = 1 and N not divisible by B.\n"
        "(The leftover N % B tokens are dropped.)"
    )


NO_KEEPDIM = (
    "x.mean(dim=-1) without keepdim=True has shape (B,), which lines up with the last "
    "dimension (C), not with the rows; keepdim=True gives shape (B, 1)"
)


@checker("center_rows")
def center_rows(fn: Callable[[torch.Tensor], torch.Tensor]) -> str:
    """``fn(x)``: subtract each row's mean, x of shape (B, C)."""
    g = _generator(1)
    cases = [
        torch.randn(4, 3, generator=g),
        torch.randn(3, 3, generator=g),
        torch.randn(1, 5, generator=g),
    ]
    for x in cases:
        mistakes = {
            "the mean was taken over dim 0 (the columns); each row's mean runs along dim -1": x
            - x.mean(dim=0, keepdim=True),
            "subtracting the mean of the whole tensor instead of each row's": x - x.mean(),
        }
        if x.shape[0] == x.shape[1]:
            mistakes[NO_KEEPDIM] = x - x.mean(dim=-1)
        got = call(fn, x.clone(), likely_cause=NO_KEEPDIM + ".")
        if isinstance(got, torch.Tensor) and got.shape != x.shape:
            raise CheckFailed(
                f"for x of shape {tuple(x.shape)} the result has shape {tuple(got.shape)}; "
                "centering keeps the shape. Did a mean without keepdim=True broadcast "
                "the wrong way?"
            )
        expect_tensor(
            got,
            x - x.mean(dim=-1, keepdim=True),
            what=f"center_rows on shape {tuple(x.shape)}",
            mistakes=mistakes,
        )
    return (
        f"matches on {len(cases)} matrices, including a square one.\n"
        "(On a square matrix a missing keepdim gives the right shape but wrong values.)"
    )


@checker("pick_targets")
def pick_targets(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> str:
    """``fn(probs, targets)``: probs (B, T, V), targets (B, T) → (B, T).

    Entry [b, t] is probs[b, t, targets[b, t]].
    """
    g = _generator(2)
    cases = [(2, 3, 5), (1, 4, 4), (3, 1, 6)]
    for B, T, V in cases:
        probs = torch.softmax(torch.randn(B, T, V, generator=g), dim=-1)
        targets = torch.randint(0, V, (B, T), generator=g)
        expected = probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        got = call(fn, probs.clone(), targets.clone())
        if isinstance(got, torch.Tensor) and got.dim() == 4:
            raise CheckFailed(
                f"the result has shape {tuple(got.shape)}, expected {(B, T)}. "
                "probs[:, :, targets] pairs every position with every target; pick one target "
                "per position with probs.gather(-1, targets.unsqueeze(-1)) or index with "
                "arange tensors for b and t."
            )
        mistakes = {
            "gather keeps a last dimension of size 1; add .squeeze(-1)": expected[..., None]
        }
        expect_tensor(
            got, expected, what=f"pick_targets with (B, T, V) = {(B, T, V)}", mistakes=mistakes
        )
    return f"matches on {len(cases)} batches, including B = 1 and T = 1."


@checker("predict")
def predict(fn: Callable[[torch.Tensor], torch.Tensor]) -> str:
    """``fn(logits)``: logits (B, T, V) → (B, T) int64, the most likely id at each position."""
    g = _generator(3)
    cases = [(2, 3, 5), (4, 2, 3), (1, 1, 7)]
    for B, T, V in cases:
        logits = torch.randn(B, T, V, generator=g)
        mistakes = {
            "argmax over dim 1 (time) instead of the last dim (vocabulary)": logits.argmax(dim=1),
            "keepdim=True leaves a last dimension of size 1": logits.argmax(dim=-1, keepdim=True),
        }
        got = call(fn, logits.clone())
        if hasattr(got, "indices") and not isinstance(got, torch.Tensor):
            raise CheckFailed(
                "the result is a (values, indices) pair: torch.max with a dim returns both. "
                "Return its .indices, or use argmax."
            )
        expect_tensor(
            got,
            logits.argmax(dim=-1),
            what=f"predict on logits of shape {(B, T, V)}",
            mistakes=mistakes,
        )
    return f"matches argmax over the vocabulary on {len(cases)} batches."


SWAPPED = "rows and columns swapped: one row per token id, one column per vocabulary entry"
NO_V = "F.one_hot(ids) without V guesses the width from the largest id; pass V"


@checker("one_hot")
def one_hot(fn: Callable[[torch.Tensor, int], torch.Tensor]) -> str:
    """``fn(ids, V)``: ids (N,) int64 → (N, V) float32 with a single 1.0 per row."""
    cases = [(torch.tensor([0, 2, 1]), 3), (torch.tensor([4, 4]), 6), (torch.tensor([0]), 1)]
    for ids, V in cases:
        expected = F.one_hot(ids, V).float()
        got = call(fn, ids.clone(), V)
        if (
            isinstance(got, torch.Tensor)
            and got.shape == expected.shape
            and not got.is_floating_point()
        ):
            raise CheckFailed(
                f"one_hot({ids.tolist()}, V={V}) has dtype {got.dtype}, expected torch.float32. "
                "F.one_hot returns integers; add .float() so the result can multiply a "
                "weight matrix."
            )
        expect_tensor(
            got,
            expected,
            what=f"one_hot({ids.tolist()}, V={V})",
            mistakes={SWAPPED: expected.T, NO_V: F.one_hot(ids).float()},
        )
    return f"matches on {len(cases)} inputs, including repeated ids and V = 1."
