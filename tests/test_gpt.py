"""llmcourse.gpt: the GPT-2 model, its two attention paths, counts, loss and generation."""

import dataclasses
import doctest
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import llmcourse.gpt
from llmcourse.functional import cross_entropy
from llmcourse.gpt import GPT, GPTConfig, flops_per_token


def tiny(**changes) -> GPTConfig:
    sizes = dict(vocab_size=23, block_size=8, n_layer=2, n_head=2, n_embd=16)
    return GPTConfig(**(sizes | changes))


@st.composite
def configs(draw):
    n_head = draw(st.integers(1, 4))
    return GPTConfig(
        vocab_size=draw(st.integers(1, 60)),
        block_size=draw(st.integers(1, 12)),
        n_layer=draw(st.integers(1, 3)),
        n_head=n_head,
        n_embd=n_head * draw(st.integers(1, 6)),
        bias=draw(st.booleans()),
    )


def _twin(model: GPT, attention: str) -> GPT:
    """The same weights with the other attention path."""
    other = GPT(dataclasses.replace(model.config, attention=attention))
    other.load_state_dict(model.state_dict())
    return other


@settings(max_examples=15)
@given(config=configs(), B=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_scratch_and_sdpa_attention_give_the_same_logits_and_gradients(config, B, seed):
    torch.manual_seed(seed)
    fast = GPT(config)
    scratch = _twin(fast, "scratch")
    idx = torch.randint(0, config.vocab_size, (B, config.block_size))
    targets = torch.randint(0, config.vocab_size, (B, config.block_size))
    (logits_a, loss_a), (logits_b, loss_b) = fast(idx, targets), scratch(idx, targets)
    torch.testing.assert_close(logits_a, logits_b, atol=1e-5, rtol=1e-5)
    loss_a.backward()
    loss_b.backward()
    for (name, a), b in zip(fast.named_parameters(), scratch.parameters()):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-5, rtol=1e-4, msg=name)


@pytest.mark.parametrize("attention", ["scratch", "sdpa"])
def test_the_output_at_t_does_not_depend_on_later_tokens(attention):
    torch.manual_seed(0)
    model = GPT(tiny(attention=attention))
    idx = torch.randint(0, 23, (2, 8))
    logits, _ = model(idx)
    for t in range(7):
        changed = idx.clone()
        changed[:, t + 1 :] = (changed[:, t + 1 :] + 1) % 23
        later, _ = model(changed)
        torch.testing.assert_close(later[:, : t + 1], logits[:, : t + 1])
        assert not torch.allclose(later[:, t + 1 :], logits[:, t + 1 :])


@settings(max_examples=30)
@given(config=configs())
def test_parameter_count_formula_equals_counting(config):
    model = GPT(config)
    assert model.num_params() == config.n_params()
    assert model.num_params(non_embedding=True) == config.n_params(non_embedding=True)
    assert model.lm_head.weight is model.wte.weight  # tied, so counted once


def test_gpt2_small_has_its_famous_parameter_count():
    config = GPTConfig(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768)
    assert config.n_params() == 124_439_808


def test_flops_per_token_is_six_n_plus_the_head_and_attention_terms():
    c = GPTConfig(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768)
    C, L, T, V = c.n_embd, c.n_layer, c.block_size, c.vocab_size
    assert flops_per_token(c) == 6 * 12 * L * C * C + 12 * L * T * C + 6 * C * V
    assert flops_per_token(c) == 3 * flops_per_token(c, training=False)
    assert flops_per_token(c, T=1) < flops_per_token(c)
    approx = 6 * c.n_params(non_embedding=True) + 12 * L * T * C + 6 * C * V
    assert flops_per_token(c) == pytest.approx(approx, rel=0.01)


def test_loss_is_cross_entropy_over_positions_with_ignore_index():
    torch.manual_seed(0)
    model = GPT(tiny())
    idx, targets = torch.randint(0, 23, (3, 8)), torch.randint(0, 23, (3, 8))
    targets[0, :4] = -100  # e.g. padding
    logits, loss = model(idx, targets)
    by_hand = F.cross_entropy(logits.reshape(-1, 23), targets.reshape(-1), ignore_index=-100)
    torch.testing.assert_close(loss, by_hand)
    torch.testing.assert_close(loss, cross_entropy(logits, targets))


def test_loss_at_initialisation_is_about_log_V():
    # At init the logits are ≈ N(0, σ²) with σ ≈ 0.02·√C (unit-variance ln_f output times
    # N(0, 0.02²) embedding rows), so E[loss] ≈ ln V + σ²/2 = ln V + 0.013 for C = 64. Over
    # 16·32 positions the mean's noise is ~0.01; 0.05 leaves room and still catches an
    # init ten times too large (σ²/2 ≈ 1.3).
    torch.manual_seed(0)
    V = 500
    model = GPT(GPTConfig(vocab_size=V, block_size=32, n_layer=2, n_head=4, n_embd=64))
    _, loss = model(torch.randint(0, V, (16, 32)), torch.randint(0, V, (16, 32)))
    assert loss.item() == pytest.approx(math.log(V), abs=0.05)


def test_residual_projections_start_smaller_by_one_over_sqrt_two_n_layer():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=100, block_size=8, n_layer=8, n_head=4, n_embd=128))
    block = model.h[0]
    assert block.mlp.c_fc.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert block.mlp.c_proj.weight.std().item() == pytest.approx(0.02 / 4, rel=0.05)
    assert block.attn.c_proj.weight.std().item() == pytest.approx(0.02 / 4, rel=0.05)
    assert torch.equal(block.attn.c_attn.bias, torch.zeros(3 * 128))


def test_overfitting_one_tiny_batch_drives_the_loss_down():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=32, block_size=16, n_layer=2, n_head=2, n_embd=32))
    x, y = torch.randint(0, 32, (4, 16)), torch.randint(0, 32, (4, 16))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    first = None
    for _ in range(40):
        _, loss = model(x, y)
        first = loss.item() if first is None else first
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert first == pytest.approx(math.log(32), abs=0.1)
    assert loss.item() < 0.2  # random targets memorised: ln 32 ≈ 3.47 → ~0.02


def test_generate_is_repeatable_with_a_seeded_generator_and_stays_in_range():
    torch.manual_seed(0)
    model = GPT(tiny())
    prompt = torch.randint(0, 23, (3, 5))
    runs = [
        model.generate(prompt, 12, top_k=5, generator=torch.Generator().manual_seed(1))
        for _ in range(2)
    ]
    assert torch.equal(runs[0], runs[1])
    assert runs[0].shape == (3, 17) and runs[0].dtype == torch.long
    assert torch.equal(runs[0][:, :5], prompt)
    assert 0 <= runs[0].min() and runs[0].max() < 23
    other = model.generate(prompt, 12, top_k=5, generator=torch.Generator().manual_seed(2))
    assert not torch.equal(other, runs[0])


@pytest.mark.parametrize("use_cache", [True, False])
def test_generate_crops_a_prompt_longer_than_block_size(use_cache):
    torch.manual_seed(0)
    model = GPT(tiny())
    prompt = torch.randint(0, 23, (1, 20))  # block_size is 8
    out = model.generate(prompt, 3, temperature=0, use_cache=use_cache)
    assert out.shape == (1, 23)
    expected = model(prompt[:, -8:])[0][:, -1].argmax(-1)  # greedy from the last 8 tokens
    assert out[0, 20] == expected[0]


def test_greedy_and_top_1_agree_and_the_training_mode_is_restored():
    torch.manual_seed(0)
    model = GPT(tiny(dropout=0.5)).train()
    prompt = torch.randint(0, 23, (2, 3))
    greedy = model.generate(prompt, 6, temperature=0)
    assert torch.equal(greedy, model.generate(prompt, 6, top_k=1))
    assert model.training


def test_attention_maps_are_causal_softmax_rows_per_layer_and_head():
    torch.manual_seed(0)
    model = GPT(tiny(n_layer=3)).eval()
    maps = model.attention_maps(torch.randint(0, 23, (2, 6)))
    assert maps.shape == (3, 2, 2, 6, 6)  # (n_layer, B, H, T, T)
    torch.testing.assert_close(maps.sum(-1), torch.ones(3, 2, 2, 6))
    assert torch.equal(maps.triu(diagonal=1), torch.zeros_like(maps))


def test_a_sequence_longer_than_block_size_is_refused_with_what_to_do():
    model = GPT(tiny(block_size=256))
    with pytest.raises(ValueError, match="sequence length 300 exceeds block_size 256; crop"):
        model(torch.zeros(1, 300, dtype=torch.long))


@pytest.mark.parametrize("bad_id", [23, 99, -1])
def test_an_id_outside_the_vocabulary_names_it_and_V(bad_id):
    idx = torch.zeros(1, 4, dtype=torch.long)
    idx[0, 2] = bad_id
    with pytest.raises(ValueError, match=rf"token id {bad_id} is out of range.*V=23.*0\.\.22"):
        GPT(tiny())(idx)


@pytest.mark.parametrize(
    "idx",
    [torch.zeros(4, dtype=torch.long), torch.zeros(1, 4), [[1, 2]], torch.zeros(1, 1, 4).long()],
)
def test_idx_must_be_a_two_d_long_tensor(idx):
    with pytest.raises(ValueError, match="2-D LongTensor"):
        GPT(tiny())(idx)


def test_targets_must_match_idx():
    idx = torch.zeros(2, 4, dtype=torch.long)
    with pytest.raises(ValueError, match=r"targets must have the shape of idx \(2, 4\)"):
        GPT(tiny())(idx, torch.zeros(2, 3, dtype=torch.long))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(n_embd=10, n_head=4), "n_embd=10 must be divisible by n_head=4"),
        (dict(n_layer=0), "n_layer must be a positive integer"),
        (dict(vocab_size=-5), "vocab_size must be a positive integer"),
        (dict(attention="flash"), "attention must be one of"),
        (dict(dropout=1.0), "dropout must lie in"),
    ],
)
def test_config_errors_say_what_is_wrong(changes, message):
    with pytest.raises(ValueError, match=message):
        tiny(**changes)


def test_module_docstring_examples_run():
    result = doctest.testmod(llmcourse.gpt, extraglobs={"torch": torch}, verbose=False)
    assert result.failed == 0 and result.attempted > 0
