"""Chapter 04's checkers: right answers pass, each usual mistake is named, TODOs are ⏳."""

import math

import pytest
import torch
from checker_cases import run, todo

from llmcourse.attention import LayerNorm
from llmcourse.checks import ch04
from llmcourse.gpt import GPT

# --- right answers, written the way a learner would ---------------------------------------


def causal_attention(q, k, v):
    T, D = q.size(-2), q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(D)  # (..., T, T)
    future = torch.ones(T, T, dtype=torch.bool).triu(1)
    return torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1) @ v


def split_heads(x, n_head):
    B, T, C = x.shape
    return x.view(B, T, n_head, C // n_head).transpose(1, 2)


def merge_heads(x):
    B, H, T, D = x.shape
    return x.transpose(1, 2).reshape(B, T, H * D)


def sinusoidal_positions(T, C):
    t = torch.arange(T, dtype=torch.float32)[:, None]
    freq = 10000 ** (-torch.arange(0, C, 2, dtype=torch.float32) / C)
    pe = torch.zeros(T, C)
    pe[:, 0::2] = torch.sin(t * freq)
    pe[:, 1::2] = torch.cos(t * freq)
    return pe


def sinusoidal_positions_float64(T, C):
    return sinusoidal_positions(T, C).double()


def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


def gpt_n_params(config):
    V, P, L, C = config.vocab_size, config.block_size, config.n_layer, config.n_embd
    return V * C + P * C + L * (12 * C * C + 13 * C) + 2 * C


def gpt_n_params_by_counting(config):
    with torch.device("meta"):  # no memory, no time: only the shapes
        return sum(p.numel() for p in GPT(config).parameters())


RIGHT = [
    (ch04.causal_attention, (causal_attention,)),
    (ch04.split_merge_heads, (split_heads, merge_heads)),
    (ch04.sinusoidal_positions, (sinusoidal_positions,)),
    (ch04.sinusoidal_positions, (sinusoidal_positions_float64,)),
    (ch04.layer_norm, (layer_norm,)),
    (ch04.layer_norm, (lambda x, w, b, eps: LayerNorm.forward(_ln(w, b, eps), x),)),
    (ch04.gpt_n_params, (gpt_n_params,)),
    (ch04.gpt_n_params, (gpt_n_params_by_counting,)),
    (ch04.gpt_n_params, (lambda c: float(gpt_n_params(c)),)),
]


def _ln(weight, bias, eps):
    ln = LayerNorm(weight.numel(), eps=eps)
    ln.weight.data, ln.bias.data = weight, bias
    return ln


@pytest.mark.parametrize(("check", "fns"), RIGHT, ids=lambda v: getattr(v, "__name__", ""))
def test_right_answers_pass(check, fns, capsys):
    ok, out = run(check, *fns, capsys=capsys)
    assert ok is True and out.startswith("✅"), out


@pytest.mark.parametrize(
    ("check", "fns"),
    [
        (ch04.causal_attention, (todo,)),
        (ch04.split_merge_heads, (todo, todo)),
        (ch04.split_merge_heads, (split_heads, todo)),
        (ch04.sinusoidal_positions, (todo,)),
        (ch04.layer_norm, (todo,)),
        (ch04.gpt_n_params, (todo,)),
    ],
)
def test_todos_are_not_attempted(check, fns, capsys):
    ok, out = run(check, *fns, capsys=capsys)
    assert ok is False and out.startswith("⏳"), out


# --- the usual mistakes, each named --------------------------------------------------------


def attention_masked_after_softmax(q, k, v):
    T = q.size(-2)
    w = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-1)
    return w.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), 0.0) @ v


def attention_scaled_by(scale):
    def attention(q, k, v):
        T = q.size(-2)
        scores = q @ k.transpose(-2, -1) / scale(q.size(-1))
        future = torch.ones(T, T, dtype=torch.bool).triu(1)
        return torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1) @ v

    return attention


def attention_masked_with(future_of, fill=float("-inf")):
    def attention(q, k, v):
        T = q.size(-2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
        return torch.softmax(scores.masked_fill(future_of(T), fill), dim=-1) @ v

    return attention


def attention_softmax_over_queries(q, k, v):
    T = q.size(-2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    future = torch.ones(T, T, dtype=torch.bool).triu(1)
    return torch.softmax(scores.masked_fill(future, float("-inf")), dim=-2) @ v


def split_mixing_heads_and_time(x, n_head):
    B, T, C = x.shape
    return x.view(B, n_head, T, C // n_head)


def split_without_transpose(x, n_head):
    B, T, C = x.shape
    return x.view(B, T, n_head, C // n_head)


def split_strided(x, n_head):
    B, T, C = x.shape
    return x.view(B, T, C // n_head, n_head).permute(0, 3, 1, 2)


def merge_mixing_heads_and_time(x):
    B, H, T, D = x.shape
    return x.reshape(B, T, H * D)


def merge_interleaved(x):
    B, H, T, D = x.shape
    return x.permute(0, 2, 3, 1).reshape(B, T, H * D)


def merge_with_view(x):
    B, H, T, D = x.shape
    return x.transpose(1, 2).view(B, T, H * D)


def positions_from(make):
    def positions(T, C):
        t = torch.arange(T, dtype=torch.float64)[:, None]
        return make(t, torch.arange(C // 2, dtype=torch.float64), C).float()

    return positions


def interleave(even, odd):
    return torch.stack([even, odd], dim=-1).flatten(-2)  # (T, C/2, 2) → (T, C)


def layer_norm_unbiased(x, weight, bias, eps=1e-5):
    mean = x.mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(x.var(-1, keepdim=True) + eps) * weight + bias


def layer_norm_eps_outside(x, weight, bias, eps=1e-5):
    mean = x.mean(-1, keepdim=True)
    return (x - mean) / (x.std(-1, unbiased=False, keepdim=True) + eps) * weight + bias


def layer_norm_over(dim):
    def norm(x, weight, bias, eps=1e-5):
        mean = x.mean(dim, keepdim=True)
        var = x.var(dim, unbiased=False, keepdim=True)
        return (x - mean) / torch.sqrt(var + eps) * weight + bias

    return norm


def count_minus(extra):
    return lambda c: gpt_n_params(c) + extra(c.vocab_size, c.block_size, c.n_layer, c.n_embd)


MISTAKES = [
    (ch04.causal_attention, (attention_masked_after_softmax,), "after the softmax"),
    (ch04.causal_attention, (attention_scaled_by(lambda D: D),), "divided by D instead of √D"),
    (ch04.causal_attention, (attention_scaled_by(lambda D: 1),), "were not scaled"),
    (
        ch04.causal_attention,
        (attention_masked_with(lambda T: torch.zeros(T, T, dtype=torch.bool)),),
        "there is no causal mask",
    ),
    (
        ch04.causal_attention,
        (attention_masked_with(lambda T: torch.ones(T, T, dtype=torch.bool).tril(-1)),),
        "the mask points the wrong way",
    ),
    (
        ch04.causal_attention,
        (attention_masked_with(lambda T: torch.ones(T, T, dtype=torch.bool).triu(1), 0.0),),
        "set to 0, not -inf",
    ),
    (ch04.causal_attention, (attention_softmax_over_queries,), "over the queries"),
    (ch04.split_merge_heads, (split_mixing_heads_and_time, merge_heads), "heads and time"),
    (ch04.split_merge_heads, (split_without_transpose, merge_heads), "still (B, T, H, D)"),
    (ch04.split_merge_heads, (split_strided, merge_heads), "every H-th channel"),
    (ch04.split_merge_heads, (split_heads, merge_mixing_heads_and_time), "heads and time"),
    (ch04.split_merge_heads, (split_heads, merge_interleaved), "interleaved"),
    (ch04.split_merge_heads, (split_heads, merge_with_view), "no longer contiguous"),
    (
        ch04.sinusoidal_positions,
        (
            positions_from(
                lambda t, i, C: interleave(
                    (t / 1e4 ** (2 * i / C)).cos(), (t / 1e4 ** (2 * i / C)).sin()
                )
            ),
        ),
        "sin and cos are swapped",
    ),
    (
        ch04.sinusoidal_positions,
        (
            positions_from(
                lambda t, i, C: torch.cat(
                    [(t / 1e4 ** (2 * i / C)).sin(), (t / 1e4 ** (2 * i / C)).cos()], 1
                )
            ),
        ),
        "concatenated",
    ),
    (
        ch04.sinusoidal_positions,
        (
            positions_from(
                lambda t, i, C: interleave(
                    (t / 1e4 ** (2 * i / C)).sin(), (t / 1e4 ** ((2 * i + 1) / C)).cos()
                )
            ),
        ),
        "its own exponent j/C",
    ),
    (
        ch04.sinusoidal_positions,
        (
            positions_from(
                lambda t, i, C: interleave((t / 1e4 ** (i / C)).sin(), (t / 1e4 ** (i / C)).cos())
            ),
        ),
        "the exponent is i/C",
    ),
    (
        ch04.sinusoidal_positions,
        (
            positions_from(
                lambda t, i, C: interleave(
                    ((t + 1) / 1e4 ** (2 * i / C)).sin(), ((t + 1) / 1e4 ** (2 * i / C)).cos()
                )
            ),
        ),
        "positions start at 1",
    ),
    (ch04.layer_norm, (layer_norm_unbiased,), "unbiased"),
    (ch04.layer_norm, (layer_norm_eps_outside,), "inside the square root"),
    (ch04.layer_norm, (lambda x, w, b, eps=1e-5: layer_norm(x, 1.0, 0.0, eps),), "not applied"),
    (ch04.layer_norm, (lambda x, w, b, eps=1e-5: layer_norm(x, b, w, eps),), "swapped"),
    (ch04.layer_norm, (layer_norm_over(0),), "BatchNorm"),
    (ch04.layer_norm, (layer_norm_over(None),), "whole tensor"),
    (ch04.gpt_n_params, (count_minus(lambda V, P, L, C: V * C),), "tie"),
    (ch04.gpt_n_params, (count_minus(lambda V, P, L, C: -P * C),), "position embeddings"),
    (ch04.gpt_n_params, (count_minus(lambda V, P, L, C: -9 * C * L),), "Linear biases"),
    (ch04.gpt_n_params, (count_minus(lambda V, P, L, C: -11 * C * L - C),), "every bias"),
    (ch04.gpt_n_params, (count_minus(lambda V, P, L, C: -4 * C * L - 2 * C),), "LayerNorms"),
    (ch04.gpt_n_params, (count_minus(lambda V, P, L, C: -2 * C),), "ln_f"),
    (ch04.gpt_n_params, (count_minus(lambda V, P, L, C: -L * (6 * C * C + 3 * C)),), "4C wide"),
    (ch04.gpt_n_params, (count_minus(lambda V, P, L, C: -V * C - P * C),), "embeddings are"),
]


@pytest.mark.parametrize(("check", "fns", "cause"), MISTAKES)
def test_usual_mistakes_fail_with_their_cause(check, fns, cause, capsys):
    ok, out = run(check, *fns, capsys=capsys)
    assert ok is False and out.startswith("❌"), out
    assert cause in out, out


def test_a_learners_crash_is_reported_with_the_line_not_raised(capsys):
    def broken(q, k, v):
        return q @ k  # forgot the transpose: (T, D) @ (T, D) fails for T ≠ D

    ok, out = run(ch04.causal_attention, broken, capsys=capsys)
    assert ok is False and "RuntimeError" in out and "return q @ k" in out


def test_the_references_are_torchs_own_answers():
    # The attention reference is F.scaled_dot_product_attention and LayerNorm's is
    # F.layer_norm; the two that come from llmcourse are proven in test_attention/test_gpt.
    config = ch04.GPTConfig(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768)
    assert config.n_params() == gpt_n_params_by_counting(config) == 124_439_808
