"""Checkers for chapter 04: causal attention, splitting and merging heads, sinusoidal
positions, LayerNorm and the GPT parameter count.

Each checker runs the learner's code on inputs chosen to expose the usual mistakes (the
mask applied after the softmax, scaling by D instead of √D, a ``view`` that mixes heads and
time, the unbiased variance, a forgotten bias or position table in the count) and compares
with torch or with ``llmcourse``'s tested modules. ``tests/test_checks_ch04.py`` shows that
each named mistake is recognised.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from llmcourse.attention import sinusoidal_positions as _sinusoidal
from llmcourse.checks.base import CheckFailed, call, checker, expect_equal, expect_tensor
from llmcourse.gpt import GPTConfig

# ----------------------------------------------------------------- 04.1 causal attention


def _attention_mistakes(q: Tensor, k: Tensor, v: Tensor) -> dict[str, Tensor]:
    """What the usual wrong versions of causal attention return on (q, k, v)."""
    T, S, D = q.size(-2), k.size(-2), q.size(-1)
    keep = torch.ones(T, S, dtype=torch.bool).tril()  # (T, S)
    scores = q @ k.transpose(-2, -1)  # (..., T, S), unscaled

    def masked_softmax(s: Tensor, fill: float = float("-inf")) -> Tensor:
        return torch.softmax(s.masked_fill(~keep, fill), dim=-1)

    after = torch.softmax(scores / math.sqrt(D), dim=-1).masked_fill(~keep, 0.0)
    return {
        "the mask was applied after the softmax. Zeroing the future weights afterwards "
        "leaves each row summing to less than 1, because the future was part of the "
        "normalisation. Fill the future scores with -inf BEFORE the softmax": after @ v,
        "the scores were divided by D instead of √D; divide by math.sqrt(D), so that q·k "
        "has variance 1 whatever the head width": masked_softmax(scores / D) @ v,
        "the scores were not scaled; divide q kᵀ by √D before the softmax": masked_softmax(scores)
        @ v,
        "there is no causal mask: every row also attends to the future. Keep key s for "
        "query t only when s ≤ t (torch.ones(T, T).tril())": torch.softmax(
            scores / math.sqrt(D), dim=-1
        )
        @ v,
        "the mask points the wrong way: row t attends to positions t, t+1, … (its future) "
        "instead of 0..t. Keep the lower triangle, tril(), not triu()": torch.softmax(
            (scores / math.sqrt(D)).masked_fill(~keep.T, float("-inf")), dim=-1
        )
        @ v,
        "the future scores were set to 0, not -inf; exp(0) = 1 still gives them weight. "
        "Use masked_fill(~mask, float('-inf'))": masked_softmax(scores / math.sqrt(D), 0.0) @ v,
        "the softmax ran over the queries (dim=-2); each query's weights over the keys "
        "must sum to 1: softmax(..., dim=-1)": torch.softmax(
            (scores / math.sqrt(D)).masked_fill(~keep, float("-inf")), dim=-2
        ).nan_to_num()
        @ v,
    }


@checker("causal_attention")
def causal_attention(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> str:
    """``fn(q, k, v)``: softmax(q kᵀ / √D + causal mask) v on (..., T, D) tensors."""
    g = torch.Generator().manual_seed(4)
    shapes = [
        ("q, k, v of shape (4, 8), no batch", (4, 8), 8),
        ("a batch (2, 3, 5, 4) = (B, H, T, D)", (2, 3, 5, 4), 4),
        ("wide heads, D = 64", (1, 6, 64), 64),
        ("v wider than q and k, Dv = 3", (2, 5, 2), 3),
        ("T = 1", (3, 1, 8), 8),
    ]
    for label, shape, Dv in shapes:
        q = torch.randn(*shape, generator=g)
        k = torch.randn(*shape, generator=g)
        v = torch.randn(*shape[:-1], Dv, generator=g)
        expected = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        got = call(fn, q.clone(), k.clone(), v.clone())
        expect_tensor(
            got,
            expected,
            what=f"causal_attention on {label}",
            mistakes=_attention_mistakes(q, k, v),
            atol=1e-5,
            rtol=1e-4,
        )
    return (
        f"equals F.scaled_dot_product_attention(is_causal=True) on {len(shapes)} inputs, "
        "including a batch of heads and T = 1."
    )


# ----------------------------------------------------------------- 04.2 split/merge heads


def _split(x: Tensor, H: int) -> Tensor:
    B, T, C = x.shape
    return x.view(B, T, H, C // H).transpose(1, 2)


def _merge(x: Tensor) -> Tensor:
    B, H, T, D = x.shape
    return x.transpose(1, 2).reshape(B, T, H * D)


MIX_HEADS_AND_TIME = (
    "heads and time are mixed. x.view(B, H, T, D) has the right shape, but it cuts the "
    "memory in the wrong order: head 0 gets the first tokens' channels instead of channels "
    "0..D-1 of every token. View as (B, T, H, D) first, then swap: .transpose(1, 2)"
)
VIEW_AFTER_TRANSPOSE = (
    "after .transpose the tensor is no longer contiguous in memory, and .view refuses it. "
    "Use .reshape(...), or .contiguous().view(...)"
)


def _call_view_aware(fn: Any, *args: Any) -> Any:
    try:
        return call(fn, *args)
    except CheckFailed as failure:
        if "view size is not compatible" in str(failure):
            raise CheckFailed(f"{failure}\nLikely cause: {VIEW_AFTER_TRANSPOSE}.") from None
        raise


@checker("split_merge_heads")
def split_merge_heads(
    split_heads: Callable[[Tensor, int], Tensor], merge_heads: Callable[[Tensor], Tensor]
) -> str:
    """``split_heads(x, n_head)``: (B, T, C) → (B, H, T, D); ``merge_heads``: the inverse."""
    cases = [(2, 3, 8, 2), (1, 4, 12, 3), (3, 5, 6, 6), (2, 1, 4, 2), (2, 3, 8, 1)]
    for B, T, C, H in cases:
        D = C // H
        x = torch.arange(B * T * C, dtype=torch.float32).view(B, T, C)
        got = _call_view_aware(split_heads, x.clone(), H)
        expect_tensor(
            got,
            _split(x, H),
            what=f"split_heads(x of shape {(B, T, C)}, n_head={H})",
            mistakes={
                MIX_HEADS_AND_TIME: x.view(B, H, T, D),
                "the result is still (B, T, H, D): after .view(B, T, H, D), swap time and "
                "heads with .transpose(1, 2)": x.view(B, T, H, D),
                "head h should own the contiguous channels h·D..(h+1)·D - 1. Viewing as "
                "(B, T, D, H) gives head h every H-th channel instead": x.view(B, T, D, H).permute(
                    0, 3, 1, 2
                ),
            },
        )
    for B, T, C, H in cases:
        D = C // H
        heads = torch.arange(B * T * C, dtype=torch.float32).view(B, H, T, D)
        got = _call_view_aware(merge_heads, heads.clone())
        expect_tensor(
            got,
            _merge(heads),
            what=f"merge_heads(x of shape {(B, H, T, D)})",
            mistakes={
                "heads and time are mixed: reshaping (B, H, T, D) straight to (B, T, C) "
                "reads the memory in head order. First bring time next to the batch, "
                ".transpose(1, 2) → (B, T, H, D), then reshape to (B, T, H·D)": heads.reshape(
                    B, T, C
                ),
                "the channels of the heads are interleaved: put each head's D channels "
                "side by side, (B, T, H, D) → (B, T, H·D), not (B, T, D, H)": heads.permute(
                    0, 2, 3, 1
                ).reshape(B, T, C),
            },
        )
    x = torch.randn(2, 5, 12, generator=torch.Generator().manual_seed(0))
    back = _call_view_aware(merge_heads, _call_view_aware(split_heads, x, 4))
    expect_tensor(back, x, what="merge_heads(split_heads(x, 4))")
    return (
        f"split and merge match on {len(cases)} shapes (incl. T = 1 and D = 1), and merge "
        "undoes split."
    )


# ----------------------------------------------------------------- 04.3 sinusoidal positions


def _sinusoidal_mistakes(T: int, C: int) -> dict[str, Tensor]:
    t = torch.arange(T, dtype=torch.float64)[:, None]  # (T, 1)
    i = torch.arange(C // 2, dtype=torch.float64)  # pair index, (C/2,)
    j = torch.arange(C, dtype=torch.float64)  # dimension index, (C,)

    def interleave(even: Tensor, odd: Tensor) -> Tensor:
        pe = torch.zeros(T, C, dtype=torch.float64)
        pe[:, 0::2], pe[:, 1::2] = even, odd
        return pe

    angles = t / 10000 ** (2 * i / C)  # (T, C/2)
    every_dim = t / 10000 ** (j / C)  # (T, C): the exponent of dim 2i+1 is (2i+1)/C
    return {
        "sin and cos are swapped: even dimensions 2i take the sine, odd ones 2i+1 the "
        "cosine": interleave(angles.cos(), angles.sin()),
        "the sines and cosines are concatenated (first C/2 columns sin, then C/2 cos); "
        "interleave them: PE[:, 0::2] = sin, PE[:, 1::2] = cos": torch.cat(
            [angles.sin(), angles.cos()], dim=1
        ),
        "each dimension j used its own exponent j/C; both dimensions of a pair (2i and "
        "2i+1) share the frequency 1/10000^(2i/C)": interleave(
            every_dim[:, 0::2].sin(), every_dim[:, 1::2].cos()
        ),
        "the exponent is i/C; it is 2i/C, where i counts pairs of dimensions": interleave(
            (t / 10000 ** (i / C)).sin(), (t / 10000 ** (i / C)).cos()
        ),
        "positions start at 1; the first position is t = 0 (a row of 0, 1, 0, 1, …)": interleave(
            ((t + 1) / 10000 ** (2 * i / C)).sin(), ((t + 1) / 10000 ** (2 * i / C)).cos()
        ),
    }


@checker("sinusoidal_positions")
def sinusoidal_positions(fn: Callable[[int, int], Tensor]) -> str:
    """``fn(T, C)``: the (T, C) table PE[t, 2i] = sin(t / 10000^(2i/C)), PE[t, 2i+1] = cos."""
    cases = [(8, 16), (50, 6), (1, 4), (12, 2), (30, 64)]
    for T, C in cases:
        got = call(fn, T, C)
        if isinstance(got, Tensor) and got.dtype.is_floating_point:
            got = got.float()  # float64 is fine too
        expect_tensor(
            got,
            _sinusoidal(T, C),
            what=f"sinusoidal_positions(T={T}, C={C})",
            mistakes={cause: wrong.float() for cause, wrong in _sinusoidal_mistakes(T, C).items()},
            atol=1e-5,
            rtol=1e-4,
        )
    return f"matches the paper's formula on {len(cases)} sizes, including T = 1 and C = 2."


# ----------------------------------------------------------------- 04.4 LayerNorm


def _layer_norm_mistakes(x: Tensor, w: Tensor, b: Tensor, eps: float) -> dict[str, Tensor]:
    mean = x.mean(-1, keepdim=True)
    var = x.var(-1, unbiased=False, keepdim=True)
    x_hat = (x - mean) / torch.sqrt(var + eps)
    mistakes = {
        "the variance is the unbiased one (divided by C - 1): x.var() and x.std() do that "
        "by default. LayerNorm divides by C: use x.var(dim=-1, unbiased=False, keepdim=True)"
        " or ((x - mean) ** 2).mean(-1, keepdim=True)": (x - mean)
        / torch.sqrt(x.var(-1, unbiased=True, keepdim=True) + eps)
        * w
        + b,
        "eps was added to the standard deviation; it goes inside the square root: "
        "(x - mean) / sqrt(var + eps)": (x - mean) / (var.sqrt() + eps) * w + b,
        "weight and bias were not applied: multiply by weight, then add bias": x_hat,
        "weight and bias are swapped: y = x̂ · weight + bias": x_hat * b + w,
    }
    if x.dim() > 1:
        m0 = x.mean(0, keepdim=True)
        v0 = x.var(0, unbiased=False, keepdim=True)
        mistakes[
            "the statistics were taken over the wrong dimension (dim 0, that is across the "
            "batch: that is BatchNorm). LayerNorm normalises each vector over its last "
            "dimension C: mean(dim=-1, keepdim=True)"
        ] = (x - m0) / torch.sqrt(v0 + eps) * w + b
    mistakes[
        "the mean and variance were taken over the whole tensor; take them over the last "
        "dimension only, one mean and variance per vector: mean(dim=-1, keepdim=True)"
    ] = (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + eps) * w + b
    return mistakes


@checker("layer_norm")
def layer_norm(fn: Callable[..., Tensor]) -> str:
    """``fn(x, weight, bias, eps)``: LayerNorm over the last dim, equal to ``F.layer_norm``."""
    g = torch.Generator().manual_seed(4)
    cases = [
        ("x of shape (2, 3, 8)", torch.randn(2, 3, 8, generator=g) * 3 + 1, 1e-5),
        ("x of shape (4, 4), C = 4", torch.randn(4, 4, generator=g), 1e-5),
        ("rows with a tiny variance", torch.randn(3, 6, generator=g) * 1e-2 + 5, 1e-5),
        ("eps = 0.1", torch.randn(2, 5, generator=g), 0.1),
        ("a single vector (C,) = (7,)", torch.randn(7, generator=g) * 2, 1e-5),
    ]
    for label, x, eps in cases:
        C = x.size(-1)
        weight = torch.randn(C, generator=g) + 1
        bias = torch.randn(C, generator=g)
        expected = F.layer_norm(x, (C,), weight, bias, eps)
        got = call(fn, x.clone(), weight.clone(), bias.clone(), eps)
        expect_tensor(
            got,
            expected,
            what=f"layer_norm on {label}",
            mistakes=_layer_norm_mistakes(x, weight, bias, eps),
            atol=1e-5,
            rtol=1e-4,
        )
    return f"equals F.layer_norm on {len(cases)} inputs, including tiny variances and eps = 0.1."


# ----------------------------------------------------------------- 04.5 parameter count


def _count_mistakes(c: GPTConfig) -> dict[str, int]:
    V, P, L, C = c.vocab_size, c.block_size, c.n_layer, c.n_embd
    right = c.n_params()
    return {
        "the output head was counted as its own V·C matrix. GPT-2 ties lm_head to the "
        "token embedding wte: one table, counted once": right + V * C,
        "the position embeddings wpe (block_size · C) are missing": right - P * C,
        "the Linear biases are missing: c_attn 3C, attn c_proj C, c_fc 4C, mlp c_proj C, "
        "that is 9C per block": right - 9 * C * L,
        "every bias is missing: 9C per block in the Linears plus 2C in the two LayerNorms, "
        "and C in ln_f": right - 11 * C * L - C,
        "the LayerNorms are missing: each has a weight and a bias of C numbers; two per "
        "block (4C) and ln_f (2C)": right - 4 * C * L - 2 * C,
        "the final LayerNorm ln_f (2C) is missing": right - 2 * C,
        "the LayerNorms were counted with a weight only; each also has a bias (C)": right
        - 2 * C * L
        - C,
        "the MLP's hidden layer is 4C wide, not C: c_fc is C→4C (4C² + 4C) and c_proj "
        "4C→C (4C² + C)": right - L * (6 * C * C + 3 * C),
        "the embeddings are missing (wte V·C and wpe block_size·C); those are parameters too": right
        - V * C
        - P * C,
    }


@checker("gpt_n_params")
def gpt_n_params(fn: Callable[[GPTConfig], int]) -> str:
    """``fn(config)``: the number of parameters of ``GPT(config)`` (with biases, tied head)."""
    configs = [
        GPTConfig(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768),
        GPTConfig(vocab_size=512, block_size=64, n_layer=4, n_head=4, n_embd=128),
        GPTConfig(vocab_size=10, block_size=7, n_layer=1, n_head=1, n_embd=3),
        GPTConfig(vocab_size=100, block_size=16, n_layer=3, n_head=2, n_embd=8),
        GPTConfig(vocab_size=65, block_size=256, n_layer=6, n_head=6, n_embd=384),
    ]
    for config in configs:
        got = call(fn, config)
        if isinstance(got, Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, float) and got.is_integer():
            got = int(got)
        expect_equal(
            got,
            config.n_params(),
            what=(
                f"gpt_n_params for V={config.vocab_size}, block_size={config.block_size}, "
                f"n_layer={config.n_layer}, n_embd={config.n_embd}"
            ),
            mistakes=_count_mistakes(config),
        )
    return (
        f"the formula matches counting on {len(configs)} configs, GPT-2 small's 124,439,808 "
        "included."
    )
