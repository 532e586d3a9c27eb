"""Decoding: turn next-token logits into tokens, and a KV cache so that each step is cheap.

Chapter 06 (``chapters/06_evaluation_and_generation.ipynb``) teaches this file;
``llmcourse.gpt.GPT.generate`` is the decoding loop that uses it. Every function on logits
takes the vocabulary V as the last dimension and returns logits of the same shape, with
removed tokens set to ``-inf``, so filters compose (temperature → top-k → top-p → softmax).

``tests/test_generate.py`` proves the filters equal a slow reference (Python loops and
sorting) and Hugging Face's ``TopKLogitsWarper``, ``TopPLogitsWarper`` and
``RepetitionPenaltyLogitsProcessor``; that cached generation gives the logits of the
uncached model to 1e-5 and the same tokens; and that ``beam_search`` equals Hugging Face's
``generate(num_beams=…)`` and, on a tiny vocabulary, a search over every sequence.

Left out on purpose: end-of-sequence handling (the course's models have no such token, so
every beam has the same length), batched beam search, a preallocated or paged cache,
speculative decoding.

>>> logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]])
>>> top_k_filter(logits, 2)
tensor([[2., 1., -inf, -inf]])
>>> top_p_filter(logits, 0.7)        # p = 0.64, 0.24, 0.09, 0.03: 0.64 < 0.7 ≤ 0.64 + 0.24
tensor([[2., 1., -inf, -inf]])
"""

from __future__ import annotations

import math
import numbers
import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:  # gpt.py imports this module, so only the type checker imports it back
    from llmcourse.gpt import GPT


@dataclass
class KVCache:
    """One attention layer's memory: the keys and values of every token it has seen.

    k, v: (B, H, S, D), or None before the first token. ``MultiHeadAttention`` calls
    ``append`` with the T new tokens' keys and values and attends over what it returns.
    The cache stores keys computed at absolute positions 0..S-1, so it can only grow: it
    cannot slide past the model's ``block_size`` (see ``GPT.generate``).
    """

    k: Tensor | None = None
    v: Tensor | None = None

    @property
    def length(self) -> int:
        """S, the number of tokens held."""
        return 0 if self.k is None else self.k.size(-2)

    def append(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Add k, v (B, H, T, D); return every key and value so far, (B, H, S + T, D)."""
        if self.k is not None:
            k, v = torch.cat([self.k, k], dim=-2), torch.cat([self.v, v], dim=-2)
        self.k, self.v = k, v
        return k, v


# ---------------------------------------------------------------- logits → logits


def apply_temperature(logits: Tensor, temperature: float) -> Tensor:
    """logits / temperature, (..., V) → (..., V): < 1 sharpens the softmax, > 1 flattens it.

    Temperature 0 is the limit "all mass on the argmax": callers decode greedily instead
    of dividing by zero (``sample_next`` does).
    """
    _check_temperature(temperature)
    if temperature == 0:
        raise ValueError(
            "temperature 0 means greedy decoding: take logits.argmax(-1) (sample_next does) "
            "instead of dividing by 0"
        )
    return logits / temperature


def top_k_filter(logits: Tensor, k: int) -> Tensor:
    """Keep the k largest logits of each row, set the others to -inf. (..., V) → (..., V).

    Ties: every logit equal to the k-th largest is kept (``logits < kth → -inf``), so a
    row may keep more than k tokens, and which tokens survive never depends on their ids.
    k ≥ V keeps everything; ``-inf`` already present stays ``-inf``.
    """
    k = _check_top_k(k)
    kth = torch.topk(logits, min(k, logits.size(-1)), dim=-1).values[..., -1:]  # (..., 1)
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: Tensor, p: float) -> Tensor:
    """Nucleus filter: keep the most likely tokens until their probability reaches p.

    (..., V) → (..., V). Sorted from most to least likely, a token is kept when the mass
    of the tokens before it is still < p: so the token that crosses p is kept, and the top
    token always is (p → 0 gives greedy). Ties: every token as likely as the last one kept
    is kept too, so the result does not depend on token ids. p = 1 keeps every token.
    Works on logits that already hold ``-inf`` (e.g. after ``top_k_filter``).
    """
    _check_top_p(p)
    if p == 1:
        return logits.clone()
    sorted_logits = logits.sort(dim=-1, descending=True).values  # (..., V)
    probs = sorted_logits.float().softmax(dim=-1)  # (..., V), largest first
    mass_before = probs.cumsum(dim=-1) - probs  # (..., V): mass of the tokens ranked above
    n_keep = (mass_before < p).sum(dim=-1, keepdim=True).clamp(min=1)  # (..., 1)
    threshold = sorted_logits.gather(-1, n_keep - 1)  # (..., 1): the last kept logit
    return logits.masked_fill(logits < threshold, float("-inf"))  # compared unsorted: no un-sort


def repetition_penalty(logits: Tensor, idx: Tensor, penalty: float) -> Tensor:
    """Make the tokens already in idx less likely (CTRL, Keskar et al. 2019).

    logits: (B, V); idx: (B, T) the tokens so far. For every token that occurs in its
    row of idx, a positive logit is divided by ``penalty`` and a negative one multiplied
    by it, once however often it occurs; penalty > 1 discourages repeats, 1 changes
    nothing. Equal to Hugging Face's ``RepetitionPenaltyLogitsProcessor``.
    """
    if not (isinstance(penalty, numbers.Real) and math.isfinite(penalty) and penalty > 0):
        raise ValueError(f"penalty must be a number > 0 (1 = no penalty), got {penalty!r}")
    seen = torch.zeros_like(logits, dtype=torch.bool).scatter_(-1, idx, True)  # (B, V)
    penalised = torch.where(logits < 0, logits * penalty, logits / penalty)
    return torch.where(seen, penalised, logits)


# ---------------------------------------------------------------- logits → tokens


def sample_next(
    logits: Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """One token per row from logits (B, V): returns ids (B, 1).

    temperature → top-k → top-p → softmax → one draw with ``generator`` (seed it for
    repeatable samples). ``temperature=0`` is greedy: the argmax (the first one on ties),
    which top-k and top-p would both keep anyway.
    """
    check_sampling(temperature, top_k, top_p)
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)  # (B, 1)
    probs = torch.softmax(filter_logits(logits, temperature, top_k, top_p), dim=-1)  # (B, V)
    return torch.multinomial(probs, 1, generator=generator)  # (B, 1)


def filter_logits(
    logits: Tensor, temperature: float, top_k: int | None = None, top_p: float | None = None
) -> Tensor:
    """The logits ``sample_next`` draws from: (..., V) → (..., V), temperature (> 0) first,
    then top-k, then top-p, each if given. Their softmax is the sampling distribution."""
    logits = apply_temperature(logits, temperature)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    return logits


@torch.no_grad()
def beam_search(
    model: GPT,
    idx: Tensor,
    max_new_tokens: int,
    beam_width: int,
    length_penalty: float = 1.0,
) -> tuple[Tensor, float]:
    """The most likely continuation that keeping ``beam_width`` candidates can find.

    idx: (1, T), one prompt. Each step extends every kept sequence by every token, scores
    each candidate by its total log-probability, and keeps the ``beam_width`` best.
    Returns the best sequence (1, T + max_new_tokens) and its score, the total
    log-probability / max_new_tokens ** length_penalty (Hugging Face's
    ``sequences_scores``). With no end-of-sequence token every candidate has the same
    length, so ``length_penalty`` rescales the score but never changes the winner.
    ``beam_width=1`` is greedy decoding; a width ≥ V ** (max_new_tokens - 1) is exact.
    Each step runs the model on the last ``block_size`` tokens of every beam (no cache).
    """
    check_prompt(model, idx, max_new_tokens)
    if idx.size(0) != 1:
        raise ValueError(
            f"beam_search takes one prompt, idx of shape (1, T), got batch size {idx.size(0)}; "
            "search each prompt on its own: beam_search(model, idx[i:i + 1], ...)"
        )
    if isinstance(beam_width, bool) or not isinstance(beam_width, int) or beam_width < 1:
        raise ValueError(f"beam_width must be a positive integer (1 = greedy), got {beam_width!r}")
    was_training = model.training
    model.eval()
    try:
        beams, scores = idx, torch.zeros(1, device=idx.device)  # (W, T), (W,); W = 1 at first
        for _ in range(max_new_tokens):
            logits = model(beams[:, -model.config.block_size :])[0][:, -1]  # (W, V)
            totals = scores[:, None] + logits.float().log_softmax(dim=-1)  # (W, V)
            scores, flat = totals.flatten().topk(min(beam_width, totals.numel()))  # best first
            parent, token = flat // totals.size(1), flat % totals.size(1)  # (W,), (W,)
            beams = torch.cat([beams[parent], token[:, None]], dim=1)  # (W, T + 1)
    finally:
        model.train(was_training)
    score = scores[0].item() / max_new_tokens**length_penalty if max_new_tokens else 0.0
    return beams[:1], score


# ---------------------------------------------------------------- argument checks


def check_prompt(model: GPT, idx: Tensor, max_new_tokens: int) -> None:
    """Raise a ValueError that says what to do if idx is not a non-empty (B, T) LongTensor
    on the model's device, or max_new_tokens is not an integer ≥ 0."""
    if not isinstance(idx, Tensor) or idx.dim() != 2 or idx.dtype != torch.long:
        shape = tuple(idx.shape) if isinstance(idx, Tensor) else type(idx).__name__
        raise ValueError(
            f"idx must be a 2-D LongTensor of token ids (B, T), got {shape}; a single prompt "
            "needs a batch dimension: torch.tensor([ids])"
        )
    if idx.numel() == 0:
        raise ValueError(f"idx is empty, shape {tuple(idx.shape)}; give at least one token")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int):
        raise ValueError(f"max_new_tokens must be an integer, got {max_new_tokens!r}")
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be ≥ 0, got {max_new_tokens}")
    device = next(model.parameters()).device
    if idx.device != device:
        raise ValueError(f"idx is on {idx.device} but the model on {device}: idx.to({device!r})")


def check_generator(generator: torch.Generator | None, device: torch.device) -> None:
    """Raise a ValueError if a random generator lives on another device than the logits."""
    if generator is not None and generator.device.type != device.type:
        raise ValueError(
            f"the generator is on {generator.device} but the model on {device}; make it there: "
            f"torch.Generator(device={str(device)!r}).manual_seed(seed)"
        )


def check_sampling(temperature: float, top_k: int | None, top_p: float | None) -> None:
    """Raise a ValueError that names the bad setting: temperature ≥ 0, top_k ≥ 1, 0 < top_p ≤ 1."""
    _check_temperature(temperature)
    if top_k is not None:
        _check_top_k(top_k)
    if top_p is not None:
        _check_top_p(top_p)


def _check_temperature(temperature: float) -> None:
    ok = isinstance(temperature, numbers.Real) and not isinstance(temperature, bool)
    if not ok or not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a number ≥ 0 (0 = greedy), got {temperature!r}")


def _check_top_k(k: int) -> int:
    try:
        value = None if isinstance(k, bool) else operator.index(k)
    except TypeError:
        value = None
    if value is None or value < 1:
        raise ValueError(f"top_k must be a positive integer (1 = greedy) or None, got {k!r}")
    return value


def _check_top_p(p: float) -> None:
    ok = isinstance(p, numbers.Real) and not isinstance(p, bool)
    if not ok or not 0 < p <= 1:  # also refuses nan
        raise ValueError(f"top_p must lie in (0, 1] (1 = no filter, → 0 = greedy), got {p!r}")
