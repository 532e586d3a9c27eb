"""Held-out evaluation of a language model: the exact mean loss over a whole token stream.

Chapter 06 teaches this file. ``evaluate_lm`` cuts the stream into windows of
``block_size`` and scores every token once; ``sliding_window_nll`` lets the windows overlap
so that each token is predicted with more context (Hugging Face's "perplexity of
fixed-length models"), and with ``stride == window`` it is the same computation. The loss
is the course's own ``llmcourse.functional.cross_entropy`` (proven equal to torch's), summed
in float64; perplexity and bits per byte come from ``llmcourse.functional`` too.
``tests/test_evaluate.py`` checks both against a token-by-token reference for GPT and
``RNNLM``.

The convention: window k reads the inputs x = ids[b : b + T] and is scored on the targets
y = ids[b + 1 : b + T + 1], the inputs shifted by one, as in training. So a stream of N ids
has N - 1 scored tokens: all but the first, which nothing predicts. (Hugging Face's loop
feeds ``window`` ids and scores at most ``window - 1`` of them, so with stride = window it
loses the first token of every window; here nothing is lost.)

Works with any ``nn.Module`` whose ``model(idx)`` returns logits (B, T, V), alone or first in
a tuple: ``GPT`` (logits, loss), ``RNNLM`` (logits, loss, state), or an object with a
``.logits`` field (Hugging Face). An RNN starts every window from a zero state, so GPT and
LSTM are compared at the same context length. ``llmcourse.train.Trainer.evaluate`` is a
different thing on purpose: a quick fixed-size estimate from random windows, for the
learning curve during training.

Left out on purpose: mixed precision (evaluation runs in the model's dtype), padding-aware
batches of separate documents, and carrying an RNN's state across windows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from llmcourse.functional import bits_per_byte, cross_entropy, perplexity


@dataclass(frozen=True)
class LMScore:
    """The result of an evaluation: ``nll``, the mean negative log-likelihood in nats per
    scored token, over ``n_tokens`` scored tokens.

    >>> import math
    >>> score = LMScore(nll=math.log(4), n_tokens=100)
    >>> round(score.perplexity, 6), score.bits_per_byte(n_bytes=100)
    (4.0, 2.0)
    """

    nll: float
    n_tokens: int

    @property
    def total_nats(self) -> float:
        """The summed loss of all scored tokens: nll · n_tokens."""
        return self.nll * self.n_tokens

    @property
    def perplexity(self) -> float:
        """exp(nll): the size of a uniform choice that is as uncertain."""
        return perplexity(self.nll)

    def bits_per_byte(self, n_bytes: int) -> float:
        """total_nats / (n_bytes · ln 2), tokenizer-independent.

        n_bytes: the UTF-8 bytes of the scored text, the decoded ids[1:] (on a long text,
        ``len(text.encode("utf-8"))`` is as good: one token more or less).
        """
        return bits_per_byte(self.total_nats, n_bytes)


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Run a block with ``model.eval()`` (dropout off) and restore the previous mode after,
    even if the block raises. Gradients are the caller's business (``torch.no_grad``)."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def evaluate_lm(
    model: nn.Module,
    ids: Tensor | Sequence[int],
    block_size: int | None = None,
    batch_size: int = 16,
    device: torch.device | str | None = None,
) -> LMScore:
    """The exact mean loss of ``model`` on the token stream ``ids`` (N,): every id but the
    first scored exactly once, with the windows side by side (no overlap).

    block_size: the window length T, at most the model's (its ``config.block_size``, the
    default; required for models without one, like ``RNNLM``). Window k reads
    ids[kT : kT + T] and predicts ids[kT + 1 : kT + T + 1]; the last window is shorter when
    T does not divide N - 1, and it is scored too (nothing is dropped). A token early in a
    window sees little context, so this loss is a little above what the model does with
    full context: see ``sliding_window_nll``.

    Runs under ``torch.no_grad`` with dropout off (the model's mode is restored after),
    ``batch_size`` windows at a time, on ``device`` (default: where the model's parameters
    are; a given device moves the model there). Memory: the logits, batch_size · T · V floats.

    >>> from llmcourse.gpt import GPT, GPTConfig
    >>> model = GPT(GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=1, n_embd=8))
    >>> evaluate_lm(model, torch.tensor([0, 1, 2, 3, 4, 0, 1])).n_tokens  # all but the first
    6
    """
    window = _window_size(model, block_size, "block_size")
    return sliding_window_nll(model, ids, window, window, batch_size, device)


@torch.no_grad()
def sliding_window_nll(
    model: nn.Module,
    ids: Tensor | Sequence[int],
    window: int | None = None,
    stride: int | None = None,
    batch_size: int = 16,
    device: torch.device | str | None = None,
) -> LMScore:
    """Mean loss with overlapping windows: each token scored once, with more context.

    ids: (N,). Window k reads ``window`` ids from b = k · stride (window defaults to the
    model's block_size, stride to window). The first window scores all its targets
    ids[1 : window + 1]; each later one scores only its last ``stride`` targets, the new
    ones, and uses the rest as context (their targets are set to -100, ignored). The last
    window is cut at the end of the stream. So every id but the first is scored exactly
    once, each after the first window with at least window - stride + 1 ids of context.

    stride = window is ``evaluate_lm`` (no overlap, least context, least work); stride = 1
    gives every token after the first window a full window of context, at about window
    times the work. A smaller stride usually lowers the loss (more context); by how much
    shows how much the model uses long context.
    """
    ids = _as_stream(ids)
    window = _window_size(model, window, "window")
    stride = window if stride is None else stride
    _check_stride(stride, window)
    device = _device_of(model) if device is None else torch.device(device)
    model.to(device)
    total, scored = 0.0, 0
    with eval_mode(model):
        for x, y in _batches(ids, window, stride, batch_size):
            logits = _logits(model, x.to(device))  # (B, T, V)
            total += float(cross_entropy(logits.float(), y.to(device), reduction="sum"))
            scored += int((y != -100).sum())
    return LMScore(nll=total / scored, n_tokens=scored)


# ---------------------------------------------------------------------------- windows


def window_plan(n_ids: int, window: int, stride: int) -> list[tuple[int, int, int]]:
    """The windows over a stream of ``n_ids`` ids, as (start b, length T, scored s) triples:
    inputs ids[b : b + T], targets ids[b + 1 : b + T + 1], the last s of them scored.

    >>> window_plan(10, window=4, stride=2)   # targets 1-4, then 5-6, 7-8, 9
    [(0, 4, 4), (2, 4, 2), (4, 4, 2), (6, 3, 1)]
    """
    end = min(window, n_ids - 1)  # the last target index scored so far
    plan = [(0, end, end)]
    start = 0
    while end < n_ids - 1:
        start += stride
        new_end = min(start + window, n_ids - 1)
        plan.append((start, new_end - start, new_end - end))
        end = new_end
    return plan


def _batches(
    ids: Tensor, window: int, stride: int, batch_size: int
) -> Iterator[tuple[Tensor, Tensor]]:
    """(x, y) batches of windows of equal length: x (B, T) inputs, y (B, T) targets, -100
    where a target is context only."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    plan = window_plan(len(ids), window, stride)
    for length in dict.fromkeys(T for _, T, _ in plan):  # full windows, then a shorter last one
        rows = [(b, s) for b, T, s in plan if T == length]
        for i in range(0, len(rows), batch_size):  # built batch by batch: stride 1 is big
            starts, scored = torch.tensor(rows[i : i + batch_size]).T  # (B,) each
            spans = ids[starts[:, None] + torch.arange(length + 1)]  # (B, T + 1)
            x, y = spans[:, :-1], spans[:, 1:].clone()  # (B, T) each
            y[torch.arange(length) < length - scored[:, None]] = -100  # context, not scored
            yield x, y


# ---------------------------------------------------------------------------- checks


def _logits(model: nn.Module, x: Tensor) -> Tensor:
    """model(x)'s logits (B, T, V), from a tensor, a tuple's first item or ``.logits``."""
    try:
        out = model(x)
    except torch.OutOfMemoryError:
        raise
    except (TypeError, RuntimeError) as err:
        why = f"model(idx) failed: {err}"
        raise TypeError(_NOT_AN_LM.format(type(model).__name__, why)) from err
    logits = out[0] if isinstance(out, tuple) else getattr(out, "logits", out)
    if not (isinstance(logits, Tensor) and logits.ndim == 3 and logits.shape[:2] == x.shape):
        got = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise TypeError(
            _NOT_AN_LM.format(type(model).__name__, f"for idx {tuple(x.shape)} it gave {got}")
        )
    return logits


_NOT_AN_LM = (
    "{} is not a language model evaluate can run: model(idx) with idx (B, T) token ids must "
    "return logits (B, T, V), alone or first in a tuple, like GPT and RNNLM ({})"
)


def _as_stream(ids: Tensor | Sequence[int]) -> Tensor:
    ids = torch.as_tensor(ids)
    if ids.ndim != 1 or ids.dtype.is_floating_point or ids.dtype == torch.bool:
        raise ValueError(
            f"ids must be one stream of integer token ids, shape (N,), got {ids.dtype} of "
            f"shape {tuple(ids.shape)}; flatten a batch with ids.reshape(-1)"
        )
    if len(ids) < 2:
        raise ValueError(
            f"ids has {len(ids)} token(s); evaluation needs at least 2 (one to read, one to "
            "predict)"
        )
    return ids.long().cpu()


def _window_size(model: nn.Module, window: int | None, name: str) -> int:
    if not isinstance(model, nn.Module):
        raise TypeError(_NOT_AN_LM.format(type(model).__name__, "it is not an nn.Module"))
    limit = getattr(getattr(model, "config", None), "block_size", None)
    if window is None:
        if limit is None:
            raise ValueError(
                f"{type(model).__name__} has no config.block_size; pass {name}= (how many "
                "tokens the model reads at once)"
            )
        return limit
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"{name} must be a positive integer, got {window!r}")
    if limit is not None and window > limit:
        raise ValueError(
            f"{name} {window} exceeds the model's block_size {limit}; use {name} <= {limit}"
        )
    return window


def _check_stride(stride: int, window: int) -> None:
    if isinstance(stride, bool) or not isinstance(stride, int) or not 1 <= stride <= window:
        raise ValueError(
            f"stride must be an integer from 1 to window={window}, got {stride!r}; stride > "
            "window would skip tokens, and stride = window means no overlap"
        )


def _device_of(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")
