"""A GPT-2 language model in one file: embeddings, pre-norm Transformer blocks, tied head.

Chapter 04 (``chapters/04_attention_and_transformers.ipynb``) teaches this file; it is the
model chapters 05 and 06 train and sample. It is GPT-2's architecture exactly, so
``llmcourse.interop.to_hf_gpt2`` / ``from_hf_gpt2`` move weights to and from Hugging Face's
``GPT2LMHeadModel``, and ``tests/test_interop.py`` proves the logits agree.
``tests/test_gpt.py`` checks the two attention paths (``"scratch"``, the course's
``llmcourse.attention``, and ``"sdpa"``, torch's fused kernel) agree, causality, the
parameter-count formula, the loss and generation.

``GPT.generate`` samples with a KV cache (``llmcourse.generate.KVCache``, one per block,
taught in chapter 06): after the prompt each step feeds only the newest token, and the
keys and values of the earlier ones are read from the cache. ``tests/test_generate.py``
proves the logits equal the uncached model's and the tokens are the same.

The model uses ``nn.LayerNorm`` (the fast twin of ``llmcourse.attention.LayerNorm``, proven
equal; both hold ``weight`` and ``bias``). Initialisation follows GPT-2: every Linear and
Embedding weight ~ N(0, 0.02²), biases 0, and the two projections that write into the
residual stream (``attn.c_proj``, ``mlp.c_proj``) ~ N(0, (0.02/√(2·n_layer))²), so the
stream's variance does not grow with depth.

Left out on purpose: decoding strategies beyond sampling with temperature, top-k and top-p
(beam search and repetition penalties are in ``llmcourse.generate``), weight decay groups
and the optimiser (chapter 05), flash-attention options.

>>> model = GPT(GPTConfig(vocab_size=50, block_size=8, n_layer=2, n_head=2, n_embd=16))
>>> logits, loss = model(torch.zeros(3, 8, dtype=torch.long))
>>> logits.shape, loss
(torch.Size([3, 8, 50]), None)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from llmcourse.attention import ATTENTION_KINDS, MultiHeadAttention
from llmcourse.generate import KVCache, check_generator, check_prompt, check_sampling, sample_next
from llmcourse.generate import repetition_penalty as penalize_repeats


@dataclass
class GPTConfig:
    """The sizes of a GPT: V = vocab_size, block_size = longest context, C = n_embd, H = n_head.

    ``dropout`` is used after the embeddings, on attention weights and on each residual
    branch (training only). ``bias=False`` drops every Linear and LayerNorm bias.
    ``attention`` picks ``"sdpa"`` (torch's fused kernel, for training) or ``"scratch"``.
    """

    vocab_size: int
    block_size: int
    n_layer: int
    n_head: int
    n_embd: int
    dropout: float = 0.0
    bias: bool = True
    attention: str = "sdpa"

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(
                f"n_embd={self.n_embd} must be divisible by n_head={self.n_head} (each head "
                f"gets D = n_embd / n_head dims); try n_head={_divisor_near(self)}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")
        if self.attention not in ATTENTION_KINDS:
            raise ValueError(f"attention must be one of {ATTENTION_KINDS}, got {self.attention!r}")

    def n_params(self, non_embedding: bool = False) -> int:
        """Parameters by formula: V·C + block_size·C + n_layer·(12C² + 13C) + 2C (with biases).

        Per block: c_attn 3C², attn c_proj C², c_fc 4C², mlp c_proj 4C² and two LayerNorm
        weights 2C; biases add 3C + C + 4C + C + 2C = 11C. The head is tied to ``wte``, so it
        adds nothing. ``non_embedding`` leaves out wte and wpe (Kaplan et al.'s N).
        """
        C, L = self.n_embd, self.n_layer
        per_block = 12 * C * C + 2 * C + (11 * C if self.bias else 0)
        total = L * per_block + (2 * C if self.bias else C)  # + ln_f
        if not non_embedding:
            total += self.vocab_size * C + self.block_size * C
        return total


def _divisor_near(config: GPTConfig) -> int:
    return min(
        (h for h in range(1, config.n_embd + 1) if config.n_embd % h == 0),
        key=lambda h: abs(h - config.n_head),
    )


def flops_per_token(config: GPTConfig, T: int | None = None, training: bool = True) -> int:
    """Matrix-multiply FLOPs per token (one multiply-add = 2 FLOPs) at context length T.

    Forward, per layer: qkv 6C², scores q·k 2TC, weights·v 2TC, attn c_proj 2C², MLP 16C²,
    so 24C² + 4TC; plus the head 2CV. T defaults to block_size and counts every key (as
    Kaplan et al. do; a causal kernel could skip half). Training adds the backward pass,
    about twice the forward: ×3. That is ≈ 6N + 6CV + 12·n_layer·T·C with N the
    non-embedding parameters. Not counted: softmax, LayerNorm, GELU, embeddings, optimiser.
    """
    C, L, V = config.n_embd, config.n_layer, config.vocab_size
    T = config.block_size if T is None else T
    forward = L * (24 * C * C + 4 * T * C) + 2 * C * V
    return 3 * forward if training else forward


class MLP(nn.Module):
    """The feed-forward half of a block: Linear C→4C, GELU (tanh form, as GPT-2), Linear 4C→C."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor) -> Tensor:
        """(B, T, C) → (B, T, C)."""
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))  # hidden: (B, T, 4C)


class Block(nn.Module):
    """One pre-norm Transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        C = config.n_embd
        self.ln_1 = nn.LayerNorm(C, bias=config.bias)
        self.attn = MultiHeadAttention(
            C, config.n_head, config.bias, config.dropout, config.attention
        )
        self.ln_2 = nn.LayerNorm(C, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: Tensor, cache: KVCache | None = None) -> Tensor:
        """(B, T, C) → (B, T, C); tokens talk in attn, then each thinks alone in mlp."""
        x = x + self.attn(self.ln_1(x), causal=True, cache=cache)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """GPT-2: token + position embeddings, n_layer ``Block``s, ``ln_f``, tied ``lm_head``.

    ``forward(idx, targets)`` takes idx (B, T) token ids with T ≤ block_size and returns
    logits (B, T, V) for the token after each position, and the mean cross-entropy loss
    if targets (B, T) are given (-100 = ignore) else None. ``generate`` samples.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)  # (V, C)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)  # (block_size, C)
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # tied: reading tokens in and out share a table
        self.apply(self._init_weights)
        residual_std = 0.02 / math.sqrt(2 * config.n_layer)
        for block in self.h:
            nn.init.normal_(block.attn.c_proj.weight, mean=0.0, std=residual_std)
            nn.init.normal_(block.mlp.c_proj.weight, mean=0.0, std=residual_std)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_params(self, non_embedding: bool = False) -> int:
        """Parameters by counting (the tied head once); equals ``config.n_params``."""
        n = sum(p.numel() for p in self.parameters())  # parameters() yields a tied one once
        if non_embedding:
            n -= self.wte.weight.numel() + self.wpe.weight.numel()
        return n

    def _check_idx(self, idx: Tensor, past: int = 0) -> None:
        if not isinstance(idx, Tensor) or idx.dim() != 2 or idx.dtype != torch.long:
            shape = tuple(idx.shape) if isinstance(idx, Tensor) else type(idx).__name__
            dtype = idx.dtype if isinstance(idx, Tensor) else ""
            raise ValueError(
                f"idx must be a 2-D LongTensor of token ids (B, T), got {shape} {dtype}; "
                "a single sequence needs a batch dimension: idx[None]"
            )
        T, V = idx.size(1), self.config.vocab_size
        if T == 0:
            raise ValueError("idx is empty (T = 0); give at least one token")
        if past + T > self.config.block_size:
            raise ValueError(
                f"sequence length {past + T} exceeds block_size {self.config.block_size}; crop "
                "the input or train with a larger block_size"
            )
        if idx.device.type != "cpu":
            return  # reading min/max would make the GPU wait every step; there an out-of-range
            # id trips nn.Embedding's own device-side assert instead (less clear, never silent)
        low, high = int(idx.min()), int(idx.max())
        if low < 0 or high >= V:
            bad = low if low < 0 else high
            raise ValueError(
                f"token id {bad} is out of range for vocab_size V={V} (ids must lie in "
                f"0..{V - 1}); was idx made by a tokenizer with a larger vocabulary?"
            )

    def _embed(self, idx: Tensor, start: int = 0) -> Tensor:
        positions = torch.arange(start, start + idx.size(1), device=idx.device)  # (T,)
        return self.drop(self.wte(idx) + self.wpe(positions))  # (B, T, C)

    def forward(
        self, idx: Tensor, targets: Tensor | None = None, cache: list[KVCache] | None = None
    ) -> tuple[Tensor, Tensor | None]:
        """idx: (B, T) LongTensor; targets: (B, T) or None. Returns logits (B, T, V), loss.

        ``cache``: one ``KVCache`` per block holding S earlier tokens; idx then holds the T
        tokens after them (positions S..S+T-1), and their keys and values are appended.
        """
        if cache is not None and len(cache) != len(self.h):
            raise ValueError(
                f"cache must hold one KVCache per block ({len(self.h)}), got {len(cache)}"
            )
        past = 0 if cache is None else cache[0].length
        self._check_idx(idx, past)  # before any lookup, so errors speak of tokens, not indices
        if targets is not None and (not isinstance(targets, Tensor) or targets.shape != idx.shape):
            shape = tuple(targets.shape) if isinstance(targets, Tensor) else type(targets)
            raise ValueError(
                f"targets must have the shape of idx {tuple(idx.shape)}, got {shape}; "
                "targets are idx shifted by one position"
            )
        x = self._embed(idx, past)  # (B, T, C)
        for block, layer_cache in zip(self.h, cache or [None] * len(self.h), strict=True):
            x = block(x, layer_cache)
        logits = self.lm_head(self.ln_f(x))  # (B, T, V)
        if targets is None:
            return logits, None
        V = logits.size(-1)
        loss = F.cross_entropy(logits.view(-1, V), targets.reshape(-1), ignore_index=-100)
        return logits, loss

    @torch.no_grad()
    def attention_maps(self, idx: Tensor) -> Tensor:
        """Every head's attention weights, (n_layer, B, H, T, T), for the attention explorer.

        Runs the model as ``forward`` does and asks each block's attention, through the
        course's scratch ``attention_weights``, what it would attend to. Weights are taken
        before dropout; call ``model.eval()`` first so the residual stream has none either.
        """
        self._check_idx(idx)
        x = self._embed(idx)  # (B, T, C)
        maps = []
        for block in self.h:
            maps.append(block.attn.attention_weights(block.ln_1(x)))  # (B, H, T, T)
            x = block(x)
        return torch.stack(maps)

    @torch.no_grad()
    def generate(
        self,
        idx: Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        use_cache: bool = True,
        generator: torch.Generator | None = None,
        repetition_penalty: float = 1.0,
    ) -> Tensor:
        """Extend idx (B, T) one sampled token at a time; returns (B, T + max_new_tokens).

        Each step samples from the logits at the last position with
        ``llmcourse.generate.sample_next``: temperature (0 = greedy), then top-k, then
        top-p, with ``generator`` (seed it for repeatable samples); a ``repetition_penalty``
        above 1 first makes every token already in the sequence less likely (CTRL's rule,
        ``llmcourse.generate.repetition_penalty``). With ``use_cache`` the
        first step runs the prompt and later steps only the newest token, reading the rest
        from the KV cache. Positions are learned up to ``block_size``, so the cache cannot
        slide: once the sequence is longer, each step runs the last ``block_size`` tokens
        afresh, exactly as without the cache, so the tokens are the same either way.
        The model runs in eval mode (no dropout) and is put back in its mode afterwards.
        """
        check_prompt(self, idx, max_new_tokens)
        check_sampling(temperature, top_k, top_p)
        check_generator(generator, idx.device)
        cache = [KVCache() for _ in self.h] if use_cache else None
        was_training = self.training
        self.eval()
        try:
            for _ in range(max_new_tokens):
                if cache is not None and idx.size(1) <= self.config.block_size:
                    logits = self(idx[:, cache[0].length :], cache=cache)[0]  # new tokens only
                else:  # no cache, or past block_size: run the last block_size tokens
                    logits = self(idx[:, -self.config.block_size :])[0]
                logits = logits[:, -1]  # (B, V): the next token's
                if repetition_penalty != 1:
                    logits = penalize_repeats(logits, idx, repetition_penalty)
                next_id = sample_next(logits, temperature, top_k, top_p, generator)
                idx = torch.cat([idx, next_id], dim=1)  # (B, T + 1)
        finally:
            self.train(was_training)
        return idx
