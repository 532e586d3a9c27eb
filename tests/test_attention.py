"""llmcourse.attention: the scratch attention, masks, positions and LayerNorm equal torch's."""

import doctest
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import llmcourse.attention
from llmcourse.attention import (
    LayerNorm,
    MultiHeadAttention,
    apply_rope,
    attention_weights,
    causal_mask,
    from_torch_mha,
    merge_heads,
    padding_mask,
    scaled_dot_product_attention,
    sinusoidal_positions,
    split_heads,
    to_torch_mha,
)
from llmcourse.generate import KVCache

TOL = {torch.float32: dict(atol=1e-5, rtol=1e-5), torch.float64: dict(atol=1e-10, rtol=1e-10)}


@st.composite
def attention_inputs(draw):
    """q (..., T, D), k (..., S, D), v (..., S, Dv), a bool mask or None, causal, a seed."""
    batch = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    T, S = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    D, Dv = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    mask_kind = draw(st.sampled_from(["none", "full", "broadcast"]))
    causal = draw(st.booleans())
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    q = torch.randn(*batch, T, D, generator=g, dtype=dtype)
    k = torch.randn(*batch, S, D, generator=g, dtype=dtype)
    v = torch.randn(*batch, S, Dv, generator=g, dtype=dtype)
    mask = None
    if mask_kind == "full":
        mask = torch.rand(*batch, T, S, generator=g) < 0.7  # some rows end up all False
    elif mask_kind == "broadcast":
        mask = torch.rand(T, S, generator=g) < 0.7
    return q, k, v, mask, causal


def _torch_sdpa(q, k, v, mask, causal):
    """torch's answer; it refuses mask and is_causal together, so combine them by hand."""
    if mask is not None and causal:
        mask, causal = mask & causal_mask(q.size(-2), k.size(-2)), False
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)


@given(attention_inputs())
def test_scaled_dot_product_attention_matches_torch_on_random_shapes_and_masks(inputs):
    q, k, v, mask, causal = inputs
    ours = scaled_dot_product_attention(q, k, v, mask=mask, causal=causal)
    expected = _torch_sdpa(q, k, v, mask, causal)
    assert ours.shape == expected.shape
    torch.testing.assert_close(ours, expected, **TOL[q.dtype])


@settings(max_examples=30)
@given(attention_inputs())
def test_attention_gradients_match_torch_and_are_finite(inputs):
    q, k, v, mask, causal = inputs
    ours = [t.double().clone().requires_grad_() for t in (q, k, v)]
    theirs = [t.double().clone().requires_grad_() for t in (q, k, v)]
    upstream = torch.randn(*q.shape[:-1], v.size(-1), dtype=torch.float64)  # (..., T, Dv)
    (scaled_dot_product_attention(*ours, mask=mask, causal=causal) * upstream).sum().backward()
    (_torch_sdpa(*theirs, mask, causal) * upstream).sum().backward()
    for a, b in zip(ours, theirs):
        assert torch.isfinite(a.grad).all()
        torch.testing.assert_close(a.grad, b.grad, **TOL[torch.float64])


def test_attention_passes_gradcheck_in_float64_with_a_fully_masked_row():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 4, 3, generator=g, dtype=torch.float64) for _ in range(3))
    mask = torch.ones(2, 4, 4, dtype=torch.bool)
    mask[1, 2] = False  # query 2 of batch 1 may attend to nothing
    for inputs in [(q, k, v), (q[:, :3], k, v)]:
        inputs = [t.clone().requires_grad_() for t in inputs]
        m = mask[:, : inputs[0].size(1)]
        assert torch.autograd.gradcheck(
            lambda q, k, v, m=m: scaled_dot_product_attention(q, k, v, mask=m, causal=True),
            inputs,
        )


def test_a_fully_masked_row_gives_zero_output_and_zero_weights_like_torch():
    q, k, v = torch.randn(3, 2), torch.randn(4, 2), torch.randn(4, 5)
    mask = torch.ones(3, 4, dtype=torch.bool)
    mask[1] = False
    out = scaled_dot_product_attention(q, k, v, mask=mask)
    assert torch.equal(out[1], torch.zeros(5))
    assert torch.equal(attention_weights(q, k, mask=mask)[1], torch.zeros(4))
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))


def test_causal_mask_is_top_left_aligned_like_torch_when_T_differs_from_S():
    assert causal_mask(2, 4).tolist() == [[True, False, False, False], [True, True, False, False]]
    q, k, v = torch.randn(1, 5, 4), torch.randn(1, 3, 4), torch.randn(1, 3, 2)
    torch.testing.assert_close(
        scaled_dot_product_attention(q, k, v, causal=True),
        F.scaled_dot_product_attention(q, k, v, is_causal=True),
    )


def test_attention_weights_rows_sum_to_one_and_the_future_gets_zero():
    w = attention_weights(torch.randn(2, 6, 4), torch.randn(2, 6, 4), causal=True)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 6))
    assert torch.equal(w.triu(diagonal=1), torch.zeros(2, 6, 6))


def test_padding_mask_from_lengths_and_from_a_pad_sequences_mask():
    from llmcourse.datasets import pad_sequences

    _, keep = pad_sequences([[1, 2, 3], [4]], pad_id=0)
    expected = torch.tensor([[True, True, True], [True, False, False]])[:, None, None, :]
    assert torch.equal(padding_mask(keep), expected)
    assert torch.equal(padding_mask([3, 1]), expected)
    assert padding_mask(torch.tensor([2, 1]), S=4).shape == (2, 1, 1, 4)
    with pytest.raises(ValueError, match="lengths"):
        padding_mask(torch.tensor([1.5, 2.0]))


def test_a_float_mask_is_refused_with_the_convention_spelled_out():
    q = torch.randn(2, 3)
    with pytest.raises(TypeError, match="True = attend"):
        scaled_dot_product_attention(q, q, q, mask=torch.zeros(2, 2))


@settings(max_examples=25)
@given(
    B=st.integers(1, 3),
    T=st.integers(1, 7),
    n_head=st.integers(1, 4),
    D=st.integers(1, 5),
    bias=st.booleans(),
    causal=st.booleans(),
    attention=st.sampled_from(["scratch", "sdpa"]),
    seed=st.integers(0, 2**16),
)
def test_multi_head_attention_matches_torch_with_exchanged_weights(
    B, T, n_head, D, bias, causal, attention, seed
):
    torch.manual_seed(seed)
    C = n_head * D
    ours = MultiHeadAttention(C, n_head, bias=bias, attention=attention)
    theirs = to_torch_mha(ours)
    x = torch.randn(B, T, C)
    blocked = ~causal_mask(T) if causal else None  # nn.MultiheadAttention: True = blocked
    expected, _ = theirs(x, x, x, attn_mask=blocked, need_weights=False)
    torch.testing.assert_close(ours(x, causal=causal), expected, atol=1e-5, rtol=1e-5)
    back = from_torch_mha(theirs, attention=attention)
    for a, b in zip(ours.state_dict().values(), back.state_dict().values()):
        assert torch.equal(a, b)


def test_multi_head_attention_with_padding_matches_torch_key_padding_mask():
    torch.manual_seed(0)
    ours = MultiHeadAttention(12, 3)
    theirs = to_torch_mha(ours)
    x, lengths = torch.randn(3, 5, 12), torch.tensor([5, 2, 4])
    keep = padding_mask(lengths)  # (B, 1, 1, T)
    expected, _ = theirs(x, x, x, key_padding_mask=~keep[:, 0, 0], attn_mask=~causal_mask(5))
    for attention in ["scratch", "sdpa"]:
        ours.attention = attention
        torch.testing.assert_close(ours(x, mask=keep), expected, atol=1e-5, rtol=1e-5)


@settings(max_examples=25)
@given(
    B=st.integers(1, 3),
    chunks=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    n_head=st.integers(1, 3),
    D=st.integers(1, 4),
    attention=st.sampled_from(["scratch", "sdpa"]),
    padded=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_multi_head_attention_with_a_cache_equals_attending_over_the_whole_sequence(
    B, chunks, n_head, D, attention, padded, seed
):
    # the sequence arrives in chunks (the first fills an empty cache); each chunk's queries
    # must see every cached key and the causal part of their own
    torch.manual_seed(seed)
    mha = MultiHeadAttention(n_head * D, n_head, attention=attention)
    S = sum(chunks)
    x = torch.randn(B, S, n_head * D)
    keep = padding_mask(torch.randint(1, S + 1, (B,)), S) if padded else None  # (B, 1, 1, S)
    expected = mha(x, mask=keep)
    cache, start = KVCache(), 0
    for T in chunks:
        mask = None if keep is None else keep[..., : start + T]  # the keys seen so far
        out = mha(x[:, start : start + T], mask=mask, cache=cache)
        torch.testing.assert_close(out, expected[:, start : start + T], atol=1e-5, rtol=1e-5)
        start += T
    assert cache.k.shape == cache.v.shape == (B, n_head, S, D)


def test_new_tokens_after_a_cache_need_a_bottom_right_causal_mask_not_is_causal():
    torch.manual_seed(0)
    mha = MultiHeadAttention(8, 2)
    x = torch.randn(1, 5, 8)
    cache = KVCache()
    mha(x[:, :2], cache=cache)
    out = mha(x[:, 2:], cache=cache)  # 3 new queries, 5 keys
    torch.testing.assert_close(out, mha(x)[:, 2:])
    q, k, v = mha.qkv(x)  # (B, H, 5, D)
    top_left = F.scaled_dot_product_attention(q[:, :, 2:], k, v, is_causal=True)  # query 0 → key 0
    assert not torch.allclose(mha.c_proj(merge_heads(top_left)), out, atol=1e-3)


def test_multi_head_attention_weights_are_the_heads_softmax_rows():
    mha = MultiHeadAttention(8, 2)
    w = mha.attention_weights(torch.randn(1, 4, 8))
    assert w.shape == (1, 2, 4, 4)
    torch.testing.assert_close(w.sum(-1), torch.ones(1, 2, 4))


@given(B=st.integers(1, 3), T=st.integers(1, 5), H=st.integers(1, 4), D=st.integers(1, 4))
def test_merge_heads_undoes_split_heads_and_head_h_owns_its_slice(B, T, H, D):
    x = torch.randn(B, T, H * D)
    heads = split_heads(x, H)
    assert heads.shape == (B, H, T, D)
    assert torch.equal(heads[:, -1], x[..., (H - 1) * D :])
    assert torch.equal(merge_heads(heads), x)


def test_split_heads_names_an_indivisible_width():
    with pytest.raises(ValueError, match="not divisible by n_head=3"):
        split_heads(torch.randn(1, 2, 8), 3)


@settings(max_examples=30)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    C=st.integers(1, 9),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_layer_norm_matches_torch(shape, C, bias, seed):
    torch.manual_seed(seed)
    ours, theirs = LayerNorm(C, bias=bias), nn.LayerNorm(C, bias=bias)
    with torch.no_grad():
        theirs.weight.normal_()
        if bias:
            theirs.bias.normal_()
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(*shape, C) * 3 + 1
    torch.testing.assert_close(ours(x), theirs(x), atol=1e-5, rtol=1e-5)


def test_layer_norm_passes_gradcheck_in_float64():
    ln = LayerNorm(5).double()
    with torch.no_grad():
        ln.weight.normal_()
        ln.bias.normal_()
    x = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, w, b: LayerNorm.forward(ln, x), (x, ln.weight, ln.bias)
    )


@pytest.mark.parametrize("C", [6, 7])
def test_sinusoidal_positions_follow_the_paper_formula(C):
    pe = sinusoidal_positions(50, C)
    assert pe.shape == (50, C)
    for t in [0, 1, 7, 49]:
        for i in range(C):
            angle = t / 10000 ** ((i - i % 2) / C)
            expected = math.sin(angle) if i % 2 == 0 else math.cos(angle)
            assert pe[t, i].item() == pytest.approx(expected, abs=1e-6)


def test_rope_scores_depend_only_on_the_relative_offset_and_norms_are_kept():
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, 16, generator=g, dtype=torch.float64)
    score = lambda m, n: (  # noqa: E731
        apply_rope(q[None], torch.tensor([m])) @ apply_rope(k[None], torch.tensor([n])).T
    ).item()
    for m, n in [(3, 1), (10, 4), (0, 7)]:
        for shift in [1, 5, 100]:
            assert score(m + shift, n + shift) == pytest.approx(score(m, n), abs=1e-9)
    assert score(3, 1) != pytest.approx(score(3, 2), abs=1e-3)  # the offset does matter
    x = torch.randn(2, 3, 9, 16, dtype=torch.float64)
    torch.testing.assert_close(apply_rope(x).norm(dim=-1), x.norm(dim=-1))
    torch.testing.assert_close(apply_rope(x, torch.arange(9)), apply_rope(x))
    torch.testing.assert_close(apply_rope(x)[..., 0, :], x[..., 0, :])  # position 0: no turn


def test_rope_matches_hugging_face_llama_half_split_convention():
    pytest.importorskip("transformers")
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb

    config = LlamaConfig(hidden_size=32, num_attention_heads=4, head_dim=8)
    x = torch.randn(2, 4, 7, 8)  # (B, H, T, D)
    cos, sin = LlamaRotaryEmbedding(config)(x, torch.arange(7)[None])
    expected, _ = apply_rotary_pos_emb(x, x, cos, sin)
    torch.testing.assert_close(apply_rope(x), expected, atol=1e-5, rtol=1e-5)


def test_rope_refuses_an_odd_width():
    with pytest.raises(ValueError, match="D must be even"):
        apply_rope(torch.randn(3, 5))


def test_dot_products_grow_like_D_and_dividing_by_sqrt_D_keeps_variance_one():
    # q·k sums D products of unit-variance numbers, so Var(q·k) = D. With N = 20000 samples
    # the sample variance is within ~1.5% (√(2/N) plus a small excess kurtosis) of the
    # truth; a 6% tolerance is 4 standard errors, with a fixed seed.
    g = torch.Generator().manual_seed(0)
    N = 20000
    for D in [4, 64, 512]:
        q, k = torch.randn(N, D, generator=g), torch.randn(N, D, generator=g)
        dots = (q * k).sum(-1)  # (N,)
        assert dots.var().item() / D == pytest.approx(1.0, rel=0.06)
        assert (dots / math.sqrt(D)).var().item() == pytest.approx(1.0, rel=0.06)


def test_module_docstring_examples_run():
    result = doctest.testmod(llmcourse.attention, extraglobs={"torch": torch}, verbose=False)
    assert result.failed == 0 and result.attempted > 0
