"""llmcourse.interop, GPT-2 bridge: the course's GPT and HF's GPT2LMHeadModel agree.

``hf_byte_level_bpe`` is tested in ``tests/test_tokenizers.py`` (and its one error here).
"""

import doctest
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from llmcourse.gpt import GPT, GPTConfig
from llmcourse.interop import (
    from_hf_gpt2,
    from_pretrained_gpt2,
    hf_byte_level_bpe,
    to_hf_gpt2,
)

transformers = pytest.importorskip("transformers")


def hf_gpt2(**changes):
    """A tiny random GPT2LMHeadModel (eval mode), HF's own initialisation."""
    sizes = dict(vocab_size=37, n_positions=12, n_embd=16, n_layer=2, n_head=4)
    torch.manual_seed(0)
    return transformers.GPT2LMHeadModel(transformers.GPT2Config(**(sizes | changes))).eval()


@settings(max_examples=6)
@given(
    n_head=st.integers(1, 4),
    D=st.integers(1, 8),
    n_layer=st.integers(1, 3),
    vocab_size=st.integers(2, 80),
    block_size=st.integers(1, 10),
    attention=st.sampled_from(["scratch", "sdpa"]),
    seed=st.integers(0, 2**16),
)
def test_gpt_and_its_hugging_face_twin_give_the_same_logits(
    n_head, D, n_layer, vocab_size, block_size, attention, seed
):
    torch.manual_seed(seed)
    config = GPTConfig(vocab_size, block_size, n_layer, n_head, n_head * D, attention=attention)
    model = GPT(config).eval()
    hf = to_hf_gpt2(model)
    assert not hf.training and hf.dtype == torch.float32
    idx = torch.randint(0, vocab_size, (2, block_size))
    with torch.no_grad():
        torch.testing.assert_close(hf(idx).logits, model(idx)[0], atol=1e-5, rtol=1e-5)


def test_to_hf_gpt2_keeps_the_head_tied_and_copies_the_config():
    model = GPT(GPTConfig(vocab_size=40, block_size=6, n_layer=2, n_head=2, n_embd=8, dropout=0.1))
    hf = to_hf_gpt2(model)
    assert hf.lm_head.weight.data_ptr() == hf.transformer.wte.weight.data_ptr()
    c = hf.config
    assert (c.vocab_size, c.n_positions, c.n_layer, c.n_head, c.n_embd) == (40, 6, 2, 2, 8)
    assert (c.activation_function, c.layer_norm_epsilon) == ("gelu_new", 1e-5)
    assert c.resid_pdrop == c.embd_pdrop == c.attn_pdrop == 0.1


def test_round_trip_through_hugging_face_keeps_the_state_dict_identical():
    torch.manual_seed(1)
    model = GPT(GPTConfig(vocab_size=30, block_size=9, n_layer=3, n_head=2, n_embd=12))
    back = from_hf_gpt2(to_hf_gpt2(model))
    assert back.config == model.config
    ours, theirs = model.state_dict(), back.state_dict()
    assert list(ours) == list(theirs)
    for name in ours:
        assert torch.equal(ours[name], theirs[name]), name
    assert back.lm_head.weight is back.wte.weight


def test_a_model_without_biases_maps_to_zero_biases_with_the_same_logits():
    torch.manual_seed(2)
    model = GPT(GPTConfig(vocab_size=30, block_size=5, n_layer=2, n_head=2, n_embd=8, bias=False))
    hf = to_hf_gpt2(model)
    assert torch.equal(hf.transformer.h[0].attn.c_attn.bias, torch.zeros(24))
    idx = torch.randint(0, 30, (3, 5))
    with torch.no_grad():
        torch.testing.assert_close(hf(idx).logits, model(idx)[0], atol=1e-5, rtol=1e-5)


def test_a_random_hugging_face_gpt2_converts_with_the_same_logits():
    hf = hf_gpt2()
    model = from_hf_gpt2(hf, attention="scratch")
    assert not model.training  # like from_pretrained; HF's dropouts are 0.1
    assert model.config == GPTConfig(37, 12, 2, 4, 16, dropout=0.1, attention="scratch")
    idx = torch.randint(0, 37, (2, 12))
    with torch.no_grad():
        torch.testing.assert_close(model(idx)[0], hf(idx).logits, atol=1e-5, rtol=1e-5)


def test_from_pretrained_gpt2_loads_a_saved_folder(tmp_path):
    # The hub path needs the internet; a save_pretrained folder runs the same code offline.
    hf = hf_gpt2()
    hf.save_pretrained(tmp_path)
    model = from_pretrained_gpt2(str(tmp_path), local_files_only=True)
    idx = torch.randint(0, 37, (1, 12))
    with torch.no_grad():
        torch.testing.assert_close(model(idx)[0], hf(idx).logits, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (dict(scale_attn_by_inverse_layer_idx=True), "scale_attn_by_inverse_layer_idx=True"),
        (dict(reorder_and_upcast_attn=True), "reorder_and_upcast_attn=True"),
        (dict(add_cross_attention=True), "add_cross_attention=True"),
        (dict(activation_function="relu"), "activation_function='relu'"),
        (dict(n_inner=20), "n_inner=20"),
        (dict(layer_norm_epsilon=1e-6), "layer_norm_epsilon=1e-06"),
    ],
)
def test_unsupported_gpt2_configs_are_refused_with_the_reason(changes, reason):
    with pytest.raises(ValueError, match=rf"cannot convert this GPT-2.*{reason}"):
        from_hf_gpt2(hf_gpt2(**changes))


def test_an_untied_head_is_refused():
    hf = hf_gpt2(tie_word_embeddings=False)
    with pytest.raises(ValueError, match="tie_word_embeddings=False"):
        from_hf_gpt2(hf)


def test_a_model_without_a_head_is_refused():
    with pytest.raises(TypeError, match="GPT2LMHeadModel"):
        from_hf_gpt2(transformers.GPT2Model(transformers.GPT2Config(n_layer=1, n_embd=8, n_head=2)))


def test_missing_transformers_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)  # makes `import transformers` fail
    model = GPT(GPTConfig(vocab_size=5, block_size=2, n_layer=1, n_head=1, n_embd=4))
    with pytest.raises(ImportError, match=r"llmcourse\[hf\]"):
        to_hf_gpt2(model)


def test_to_hf_gpt2_docstring_example_runs():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    for test in finder.find(to_hf_gpt2, "to_hf_gpt2", globs={"to_hf_gpt2": to_hf_gpt2}):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0


def test_hf_byte_level_bpe_refuses_an_empty_text():
    with pytest.raises(ValueError, match="cannot train on an empty text"):
        hf_byte_level_bpe("", vocab_size=300)
