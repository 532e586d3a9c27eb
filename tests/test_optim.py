"""Tests for llmcourse.optim: AdamW from the equations, weight-decay groups, the schedule."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from llmcourse.gpt import GPT, GPTConfig
from llmcourse.optim import adamw_step, make_optimizer, param_groups, warmup_cosine
from llmcourse.rnn import RNNLM


@settings(max_examples=25)
@given(
    seed=st.integers(0, 2**16),
    lr=st.floats(1e-4, 1e-1),
    beta1=st.floats(0.0, 0.95),
    beta2=st.floats(0.9, 0.9999),
    weight_decay=st.floats(0.0, 0.5),
)
def test_adamw_step_matches_torch_adamw_over_several_steps(seed, lr, beta1, beta2, weight_decay):
    gen = torch.Generator().manual_seed(seed)
    shapes = [(3, 5), (7,), (2, 3, 4)]
    ours = [torch.randn(shape, generator=gen, dtype=torch.float64) for shape in shapes]
    theirs = [nn.Parameter(p.clone()) for p in ours]
    optimizer = torch.optim.AdamW(
        theirs, lr=lr, betas=(beta1, beta2), eps=1e-8, weight_decay=weight_decay
    )
    moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in ours]
    for step in range(1, 6):
        grads = [torch.randn(p.shape, generator=gen, dtype=torch.float64) for p in ours]
        for p, g in zip(theirs, grads):
            p.grad = g.clone()
        optimizer.step()
        for p, g, (m, v) in zip(ours, grads, moments):
            adamw_step(p, g, m, v, step, lr, (beta1, beta2), 1e-8, weight_decay)
        for p, q in zip(ours, theirs):
            torch.testing.assert_close(p, q.detach(), rtol=1e-12, atol=1e-12)


def test_adamw_first_step_moves_each_weight_by_lr_against_the_gradient_sign():
    p, g = torch.ones(3), torch.tensor([1e-3, -5.0, 2.0])
    m, v = torch.zeros(3), torch.zeros(3)
    adamw_step(p, g, m, v, step=1, lr=0.01, weight_decay=0.0)
    torch.testing.assert_close(p, torch.tensor([0.99, 1.01, 0.99]))


def test_adamw_step_counts_from_one():
    with pytest.raises(ValueError, match="counts updates from 1"):
        adamw_step(torch.ones(1), torch.ones(1), torch.zeros(1), torch.zeros(1), step=0, lr=0.1)


def _group_of(groups: list[dict]) -> dict[str, float]:
    return {name: g["weight_decay"] for g in groups for name in g["names"]}


def test_param_groups_decay_gpt_matrices_only_and_hold_each_parameter_once():
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8))
    groups = param_groups(model, weight_decay=0.1)
    grouped = [p for g in groups for p in g["params"]]
    assert len(grouped) == len({id(p) for p in grouped}) == len(list(model.parameters()))
    decay = _group_of(groups)
    assert decay["wte.weight"] == decay["wpe.weight"] == 0.0  # embeddings (wte = the head)
    assert "lm_head.weight" not in decay  # tied: listed once, as wte.weight
    assert decay["h.0.attn.c_attn.weight"] == decay["h.1.mlp.c_proj.weight"] == 0.1
    assert decay["h.0.attn.c_attn.bias"] == decay["h.0.ln_1.weight"] == decay["ln_f.bias"] == 0.0
    for name, param in model.named_parameters():
        wanted = 0.1 if param.dim() == 2 and not name.startswith(("wte", "wpe")) else 0.0
        assert decay[name] == wanted, name


def test_param_groups_of_an_lstm_decay_its_weight_matrices_and_head():
    model = RNNLM(vocab_size=9, embed_size=4, hidden_size=6, num_layers=2)
    decay = _group_of(param_groups(model, weight_decay=0.01))
    assert decay["embed.weight"] == 0.0
    assert decay["rnn.weight_ih_l0"] == decay["rnn.weight_hh_l1"] == decay["head.weight"] == 0.01
    assert decay["rnn.bias_ih_l0"] == decay["head.bias"] == 0.0
    assert len(decay) == len(list(model.parameters()))


def test_param_groups_skip_frozen_parameters():
    model = nn.Linear(3, 2)
    model.bias.requires_grad_(False)
    assert _group_of(param_groups(model, 0.1)) == {"weight": 0.1}


def test_make_optimizer_uses_a_fast_kernel_and_the_groups():
    model = nn.Sequential(nn.Embedding(5, 3), nn.Linear(3, 5))
    optimizer = make_optimizer(model, lr=1e-3, weight_decay=0.2, betas=(0.9, 0.99))
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.2, 0.0]
    assert any(optimizer.defaults.get(k) for k in ("fused", "foreach"))
    assert optimizer.defaults["betas"] == (0.9, 0.99)


LR, MIN_LR = 1e-3, 1e-4


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (0, LR / 10),  # warmup starts at lr / warmup_steps, not at 0
        (4, LR / 2),
        (9, LR),  # the last warmup step reaches the peak
        (10, LR),  # decay starts from the peak
        (55, (LR + MIN_LR) / 2),  # halfway through the decay: halfway down
        (100, MIN_LR),
        (250, MIN_LR),  # after the end: stays at min_lr
    ],
)
def test_warmup_cosine_at_key_steps(step, expected):
    value = warmup_cosine(step, warmup_steps=10, max_steps=100, lr=LR, min_lr=MIN_LR)
    assert value == pytest.approx(expected, rel=1e-12)


def test_warmup_cosine_rises_linearly_then_follows_the_cosine_down():
    lrs = [warmup_cosine(s, 10, 100, LR, MIN_LR) for s in range(101)]
    rises = [b - a for a, b in zip(lrs[:10], lrs[1:10])]
    assert all(d == pytest.approx(LR / 10) for d in rises)
    assert all(b <= a for a, b in zip(lrs[10:], lrs[11:]))
    for s in range(10, 101):
        ratio = (s - 10) / 90
        cosine = MIN_LR + 0.5 * (LR - MIN_LR) * (1 + math.cos(math.pi * ratio))
        assert lrs[s] == pytest.approx(cosine)


def test_warmup_cosine_without_warmup_or_end():
    assert warmup_cosine(0, 0, 100, LR, MIN_LR) == LR
    assert warmup_cosine(10**6, 0, math.inf, LR, MIN_LR) == LR


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"warmup_steps": 50, "max_steps": 10}, "warmup_steps ≤ max_steps"),
        ({"warmup_steps": -1, "max_steps": 10}, "warmup_steps ≤ max_steps"),
        ({"warmup_steps": 1, "max_steps": 10, "min_lr": 1.0}, "min_lr=1.0 is larger"),
    ],
)
def test_warmup_cosine_rejects_impossible_schedules(kwargs, message):
    kwargs = {"step": 0, "lr": 0.1, "min_lr": 0.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        warmup_cosine(**kwargs)
