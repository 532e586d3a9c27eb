"""Scaled dot-product and multi-head attention, masks, positions and LayerNorm, from the equations.

Chapter 04 (``chapters/04_attention_and_transformers.ipynb``) teaches this file, and
``llmcourse.gpt`` builds a GPT-2 from its pieces. The fast twins are
``torch.nn.functional.scaled_dot_product_attention``, ``torch.nn.MultiheadAttention`` and
``torch.nn.LayerNorm``; ``tests/test_attention.py`` proves ours give the same numbers (and
gradients) on random shapes, masks and dtypes.

Masks are boolean with **True = attend**, the convention of ``F.scaled_dot_product_attention``
(``nn.MultiheadAttention``'s boolean ``attn_mask`` means the opposite: True = blocked).
A query whose keys are all masked gets output 0 here and in torch ≥ 2.5 on CPU; other torch
versions and GPU kernels may give nan there, so keep at least one key per query.

``MultiHeadAttention`` takes an optional KV cache (``llmcourse.generate.KVCache``, taught
in chapter 06): the keys and values of earlier tokens, so that generation feeds only the
new ones. Left out on purpose: additive float masks, flash/memory-efficient kernels,
grouped-query attention, and cross-attention with different key/value widths in
``MultiHeadAttention``.

>>> x = torch.randn(2, 5, 16)                      # (B, T, C)
>>> MultiHeadAttention(n_embd=16, n_head=4)(x).shape
torch.Size([2, 5, 16])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from llmcourse.functional import softmax

if TYPE_CHECKING:  # the cache is chapter 06's; attention works without importing it
    from llmcourse.generate import KVCache

ATTENTION_KINDS = ("scratch", "sdpa")


def causal_mask(T: int, S: int | None = None, device: torch.device | str | None = None) -> Tensor:
    """bool (T, S), True where query t may attend to key s, i.e. s ≤ t (S defaults to T).

    For T ≠ S the mask is aligned top-left, as in ``F.scaled_dot_product_attention``:
    query t sees keys 0..t whatever S is.

    >>> causal_mask(3).int()
    tensor([[1, 0, 0],
            [1, 1, 0],
            [1, 1, 1]], dtype=torch.int32)
    """
    S = T if S is None else S
    return torch.ones(T, S, dtype=torch.bool, device=device).tril()


def padding_mask(lengths_or_mask: Tensor | Sequence[int], S: int | None = None) -> Tensor:
    """bool (B, 1, 1, S), True at real (non-padding) keys; broadcasts over (B, H, T, S).

    Accepts either the (B, S) bool mask of ``llmcourse.datasets.pad_sequences`` (True at
    real tokens) or the B lengths of right-padded sequences; with lengths, S defaults to
    the longest one.

    >>> padding_mask([3, 1])[:, 0, 0].int()
    tensor([[1, 1, 1],
            [1, 0, 0]], dtype=torch.int32)
    """
    given = torch.as_tensor(lengths_or_mask)
    if given.dtype == torch.bool:
        if given.dim() != 2:
            raise ValueError(f"a padding mask must be (B, S) bool, got {tuple(given.shape)}")
        return given[:, None, None, :]  # (B, 1, 1, S)
    if given.dim() != 1 or given.dtype.is_floating_point:
        raise ValueError(
            f"pass lengths as B integers or a (B, S) bool mask, got {given.dtype} "
            f"{tuple(given.shape)}"
        )
    S = int(given.max()) if S is None else S
    keep = torch.arange(S, device=given.device) < given[:, None]  # (B, S)
    return keep[:, None, None, :]


def attention_weights(
    q: Tensor,
    k: Tensor,
    mask: Tensor | None = None,
    causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """softmax(q kᵀ / √D) with masked keys removed: (..., T, S), each row sums to 1.

    q: (..., T, D), k: (..., S, D); mask: bool broadcastable to (..., T, S), True = attend;
    ``causal`` also removes the future (see ``causal_mask``); both may be given together.
    A row where every key is masked has nothing to attend to: its weights are all 0
    (not nan), which is what torch 2.5+ does, so its output is 0.
    """
    if mask is not None and mask.dtype != torch.bool:
        raise TypeError(f"mask must be bool with True = attend, got {mask.dtype}")
    if q.size(-1) != k.size(-1):
        raise ValueError(f"q and k need the same width D, got {q.size(-1)} and {k.size(-1)}")
    T, S = q.size(-2), k.size(-2)
    scale = 1.0 / math.sqrt(q.size(-1)) if scale is None else scale
    scores = (q @ k.transpose(-2, -1)) * scale  # (..., T, S)
    if causal:
        causal_keep = causal_mask(T, S, device=q.device)  # (T, S)
        mask = causal_keep if mask is None else mask & causal_keep
    if mask is None:
        return softmax(scores, dim=-1)
    scores = scores.masked_fill(~mask, float("-inf"))
    empty = ~mask.any(dim=-1, keepdim=True)  # (..., T, 1): rows with no key left
    weights = softmax(scores.masked_fill(empty, 0.0), dim=-1)  # finite: no nan in backward
    return weights.masked_fill(empty, 0.0)


def scaled_dot_product_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None = None,
    causal: bool = False,
    dropout_p: float = 0.0,
    scale: float | None = None,
) -> Tensor:
    """softmax(q kᵀ / √D) v, the heart of the Transformer.

    q: (..., T, D), k: (..., S, D), v: (..., S, Dv); mask: bool broadcastable to
    (..., T, S), True = attend. Returns (..., T, Dv). Equal to
    ``F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)``, except
    that torch refuses ``mask`` and ``causal`` together while this combines them. Rows with
    every key masked give 0 (see ``attention_weights``). ``dropout_p`` drops weights
    whenever it is > 0, like torch's; pass 0 at evaluation.

    >>> q = k = v = torch.eye(2)[None]        # two orthogonal tokens
    >>> scaled_dot_product_attention(q, k, v).shape
    torch.Size([1, 2, 2])
    """
    if k.size(-2) != v.size(-2):
        raise ValueError(f"k and v need the same length S, got {k.size(-2)} and {v.size(-2)}")
    weights = attention_weights(q, k, mask=mask, causal=causal, scale=scale)  # (..., T, S)
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p)
    return weights @ v  # (..., T, Dv)


def split_heads(x: Tensor, n_head: int) -> Tensor:
    """(B, T, C) → (B, H, T, D) with H = n_head and D = C / H; head h owns dims h·D..(h+1)·D."""
    B, T, C = x.shape
    if C % n_head:
        raise ValueError(f"width C={C} is not divisible by n_head={n_head}")
    return x.view(B, T, n_head, C // n_head).transpose(1, 2)


def merge_heads(x: Tensor) -> Tensor:
    """(B, H, T, D) → (B, T, C) with C = H·D; the inverse of ``split_heads``."""
    B, H, T, D = x.shape
    return x.transpose(1, 2).reshape(B, T, H * D)


class MultiHeadAttention(nn.Module):
    """Self-attention with H heads of width D = C / H, laid out like GPT-2.

    ``c_attn`` is one Linear(C, 3C) that makes q, k and v together; ``c_proj`` is
    Linear(C, C) after the heads are merged. ``attention="scratch"`` runs this module's
    ``scaled_dot_product_attention``, ``"sdpa"`` torch's fused one: same numbers.
    ``dropout`` applies to the attention weights and to the output (training only).
    """

    def __init__(
        self,
        n_embd: int,
        n_head: int,
        bias: bool = True,
        dropout: float = 0.0,
        attention: str = "scratch",
    ) -> None:
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"n_embd={n_embd} must be divisible by n_head={n_head}")
        if attention not in ATTENTION_KINDS:
            raise ValueError(f"attention must be one of {ATTENTION_KINDS}, got {attention!r}")
        self.n_embd, self.n_head, self.dropout, self.attention = n_embd, n_head, dropout, attention
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.resid_dropout = nn.Dropout(dropout)

    def qkv(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x (B, T, C) → q, k, v, each (B, H, T, D)."""
        q, k, v = self.c_attn(x).split(self.n_embd, dim=-1)  # 3 × (B, T, C)
        return split_heads(q, self.n_head), split_heads(k, self.n_head), split_heads(v, self.n_head)

    def forward(
        self,
        x: Tensor,
        mask: Tensor | None = None,
        causal: bool = True,
        cache: KVCache | None = None,
    ) -> Tensor:
        """x: (B, T, C); mask: bool broadcastable to (B, H, T, S), True = attend, e.g.
        ``padding_mask``. ``causal`` hides the future. Returns (B, T, C).

        Without a cache S = T. A ``cache`` (chapter 06) holding the keys and values of S₀
        earlier tokens makes x the T new ones: their queries see all S = S₀ + T keys,
        causally aligned bottom-right (new token t sees keys 0..S₀ + t), not top-left
        like ``causal_mask`` and torch's ``is_causal``.
        """
        q, k, v = self.qkv(x)  # (B, H, T, D)
        if cache is not None:
            k, v = cache.append(k, v)  # (B, H, S, D): the cached keys, then the T new ones
            T, S = q.size(-2), k.size(-2)
            if causal and T > 1:  # one new token may see every key: no mask needed
                keep = torch.ones(T, S, dtype=torch.bool, device=x.device).tril(S - T)
                mask = keep if mask is None else mask & keep
            causal = False
        p = self.dropout if self.training else 0.0
        if self.attention == "sdpa":
            if mask is not None and causal:  # torch takes one or the other
                mask, causal = mask & causal_mask(x.size(1), device=x.device), False
            y = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, dropout_p=p, is_causal=causal
            )
        else:
            y = scaled_dot_product_attention(q, k, v, mask=mask, causal=causal, dropout_p=p)
        return self.resid_dropout(self.c_proj(merge_heads(y)))  # (B, T, C)

    @torch.no_grad()
    def attention_weights(
        self, x: Tensor, mask: Tensor | None = None, causal: bool = True
    ) -> Tensor:
        """The weights each head puts on each key, for plotting: (B, H, T, T), no dropout."""
        q, k, _ = self.qkv(x)  # (B, H, T, D)
        return attention_weights(q, k, mask=mask, causal=causal)


def to_torch_mha(mha: MultiHeadAttention) -> nn.MultiheadAttention:
    """An ``nn.MultiheadAttention(batch_first=True)`` holding the same weights.

    Its ``in_proj_weight`` (3C, C) is ``c_attn.weight`` (rows q, k, v in that order) and
    ``out_proj`` is ``c_proj``. Remember that its boolean ``attn_mask`` means True = blocked.
    """
    bias = mha.c_attn.bias is not None
    m = nn.MultiheadAttention(
        mha.n_embd, mha.n_head, dropout=mha.dropout, bias=bias, batch_first=True
    )
    with torch.no_grad():
        m.in_proj_weight.copy_(mha.c_attn.weight)
        m.out_proj.weight.copy_(mha.c_proj.weight)
        if bias:
            m.in_proj_bias.copy_(mha.c_attn.bias)
            m.out_proj.bias.copy_(mha.c_proj.bias)
    return m.to(mha.c_attn.weight)


def from_torch_mha(m: nn.MultiheadAttention, attention: str = "scratch") -> MultiHeadAttention:
    """The inverse of ``to_torch_mha``: our module with the weights of ``m`` (self-attention)."""
    if not m._qkv_same_embed_dim or m.bias_k is not None:
        raise ValueError("only self-attention with kdim = vdim = embed_dim and no bias_kv maps")
    bias = m.in_proj_bias is not None
    mha = MultiHeadAttention(m.embed_dim, m.num_heads, bias, m.dropout, attention)
    with torch.no_grad():
        mha.c_attn.weight.copy_(m.in_proj_weight)
        mha.c_proj.weight.copy_(m.out_proj.weight)
        if bias:
            mha.c_attn.bias.copy_(m.in_proj_bias)
            mha.c_proj.bias.copy_(m.out_proj.bias)
    return mha.to(m.in_proj_weight)


def sinusoidal_positions(T: int, C: int, base: float = 10000.0) -> Tensor:
    """The Transformer paper's position table, (T, C) float32.

    PE[t, 2i] = sin(t / base^(2i/C)) and PE[t, 2i+1] = cos(t / base^(2i/C)): each pair of
    dimensions is a clock turning at its own speed, from one radian per step (i = 0) to
    nearly still. Added to the token embeddings; no parameters to learn.
    """
    t = torch.arange(T, dtype=torch.float64)[:, None]  # (T, 1)
    even = torch.arange(0, C, 2, dtype=torch.float64)  # 2i, (⌈C/2⌉,)
    angles = t / base ** (even / C)  # (T, ⌈C/2⌉)
    pe = torch.zeros(T, C, dtype=torch.float64)
    pe[:, 0::2] = angles.sin()
    pe[:, 1::2] = angles[:, : C // 2].cos()
    return pe.float()


def apply_rope(x: Tensor, positions: Tensor | None = None, base: float = 10000.0) -> Tensor:
    """Rotary position embedding: rotate each pair of dims of x by an angle ∝ its position.

    x: (..., T, D) with D even; positions: (T,) or broadcastable to (..., T), default
    0..T-1. Pairing is **half-split** (GPT-NeoX / Hugging Face Llama): dim i rotates with
    dim i + D/2, at angle position · base^(-2i/D). A rotation keeps norms, and
    (R_m q)·(R_n k) depends on m − n only: apply it to q and k, never to v.
    """
    T, D = x.size(-2), x.size(-1)
    if D % 2:
        raise ValueError(f"RoPE rotates pairs of dimensions, so D must be even, got D={D}")
    if positions is None:
        positions = torch.arange(T, device=x.device)
    inv_freq = base ** (-torch.arange(0, D, 2, device=x.device, dtype=torch.float64) / D)  # (D/2,)
    angles = positions.to(torch.float64)[..., None] * inv_freq  # (..., T, D/2)
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    x1, x2 = x[..., : D // 2], x[..., D // 2 :]  # (..., T, D/2) each
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)  # (..., T, D)


class LayerNorm(nn.Module):
    """y = (x − mean) / √(var + eps) · weight + bias over the last dim C, like ``nn.LayerNorm``.

    x: (..., C) → (..., C). The variance is the biased one (divide by C, not C − 1), as in
    torch. ``bias=False`` drops the shift, like ``nn.LayerNorm(C, bias=False)``.
    """

    def __init__(self, C: int, eps: float = 1e-5, bias: bool = True) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(C))
        self.bias = nn.Parameter(torch.zeros(C)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(dim=-1, keepdim=True)  # (..., 1)
        var = (x - mean).pow(2).mean(dim=-1, keepdim=True)  # (..., 1), biased
        y = (x - mean) / torch.sqrt(var + self.eps) * self.weight  # (..., C)
        return y if self.bias is None else y + self.bias
