"""llmcourse.widgets: the broadcasting rule equals torch's, and the explorer reacts to input."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from llmcourse.widgets import (
    broadcast_explorer,
    explain_broadcast,
    parse_shape,
    render_tokens,
    tokenizer_explorer,
)

shapes = st.lists(st.integers(0, 4), max_size=4).map(tuple)


@given(shapes, shapes)
def test_explain_broadcast_matches_torch(a, b):
    try:
        expected = tuple(torch.broadcast_shapes(a, b))
    except RuntimeError:
        expected = None
    shape, lines = explain_broadcast(a, b)
    assert shape == expected
    if expected is not None:
        assert len(lines) == len(expected)  # one explanation per result dimension
    else:
        assert lines[-1].endswith("cannot broadcast")


@pytest.mark.parametrize(
    ("text", "shape"),
    [("2, 3, 4", (2, 3, 4)), ("(5,)", (5,)), ("[1,2]", (1, 2)), ("", ()), ("()", ())],
)
def test_parse_shape_accepts_common_spellings(text, shape):
    assert parse_shape(text) == shape


@pytest.mark.parametrize(("text", "says"), [("a, 2", "is not a shape"), ("2, -1", "negative size")])
def test_parse_shape_rejects_nonsense_with_a_reason(text, says):
    with pytest.raises(ValueError, match=says):
        parse_shape(text)


def test_explorer_updates_when_a_shape_is_typed():
    explorer = broadcast_explorer()
    (a_box, b_box), result = explorer.children[0].children, explorer.children[1]
    assert "(2, 3, 4)" in result.value
    a_box.value, b_box.value = "3, 1", "4"
    assert "result shape <b>(3, 4)</b>" in result.value
    a_box.value = "2, 3"
    assert "do not broadcast" in result.value
    a_box.value = "x"
    assert "is not a shape" in result.value


class _Letters:
    """A stand-in tokenizer: one token per character, id = code point."""

    def pieces(self, text):
        if "?" in text:
            raise ValueError("no question marks, please")
        return [(ord(ch), ch) for ch in text]


def test_render_tokens_shows_each_piece_with_its_id_and_visible_whitespace():
    html = render_tokens([(104, "hi"), (32, " "), (10, "\n"), (60, "<")])
    assert "<b>4 tokens</b>" in html
    assert html.count("class='token'") == 4
    assert "hi<br><small>104</small>" in html
    assert "·<br><small>32</small>" in html and "↵<br><small>10</small>" in html
    assert "&lt;<br>" in html  # escaped, never raw markup


def test_tokenizer_explorer_recounts_when_text_or_tokenizer_changes():
    explorer = tokenizer_explorer({"letters": _Letters(), "pairs": _Pairs()}, "abc")
    choice, box, result = explorer.children
    assert "<b>3 tokens</b> · 1.00 bytes per token" in result.value
    box.value = "abcd"
    assert "<b>4 tokens</b>" in result.value
    choice.value = "pairs"
    assert "<b>2 tokens</b> · 2.00 bytes per token" in result.value
    choice.value = "letters"
    box.value = "why?"
    assert "no question marks" in result.value


class _Pairs:
    def pieces(self, text):
        return [(i, text[i : i + 2]) for i in range(0, len(text), 2)]


def test_tokenizer_explorer_needs_a_tokenizer():
    with pytest.raises(ValueError, match="at least one tokenizer"):
        tokenizer_explorer({}, "text")


# --- chapter 02: softmax with a temperature ------------------------------------------------


def test_softmax_with_temperature_matches_torch_and_moves_entropy_between_0_and_log_v():
    import math

    from llmcourse.widgets import softmax_with_temperature

    logits = [3.0, 1.0, 0.5, -2.0]
    for temperature in (0.05, 0.5, 1.0, 2.0, 50.0):
        probs, h = softmax_with_temperature(logits, temperature)
        expected = torch.softmax(torch.tensor(logits, dtype=torch.float64) / temperature, -1)
        assert torch.allclose(probs, expected)
        assert h == pytest.approx(float(-(expected * expected.log()).sum()), abs=1e-9)
    assert softmax_with_temperature(logits, 0.05)[1] < 1e-6  # nearly one-hot
    assert softmax_with_temperature(logits, 1e4)[1] == pytest.approx(math.log(4), abs=1e-6)
    probs, h = softmax_with_temperature([1e4, 0.0], 1.0)  # huge logits stay finite
    assert probs.tolist() == [1.0, 0.0] and h == 0.0


@pytest.mark.parametrize("temperature", [0, -1.0, float("inf"), True])
def test_softmax_with_temperature_rejects_a_temperature_that_is_not_positive(temperature):
    from llmcourse.widgets import softmax_with_temperature

    with pytest.raises(ValueError, match="temperature must be a positive number"):
        softmax_with_temperature([1.0, 2.0], temperature)


def test_render_distribution_draws_one_bar_per_label_and_the_entropy():
    import math

    from llmcourse.widgets import render_distribution

    out = render_distribution(["a", "<b>"], torch.tensor([0.25, 0.75]), math.log(2))
    assert out.count("class='prob-row'") == 2
    assert "width:25.0%" in out and "width:75.0%" in out
    assert "&lt;b&gt;" in out  # labels are escaped
    assert "0.693 nats</b> = 1.000 bits" in out and "log 2 = 0.693" in out
    with pytest.raises(ValueError, match="give one each"):
        render_distribution(["a"], torch.tensor([0.5, 0.5]), 0.7)


def test_temperature_explorer_redraws_when_the_slider_moves():
    from llmcourse.widgets import temperature_explorer

    explorer = temperature_explorer([2.0, 1.0, 0.0], labels=["x", "y", "z"])
    slider, result = explorer.children
    assert "entropy <b>0.832 nats</b>" in result.value
    slider.value = 0.05
    assert "entropy <b>0.000 nats</b>" in result.value
    slider.value = 5.0
    assert "perplexity 2.96 of 3 choices" in result.value  # close to uniform over 3
    with pytest.raises(ValueError, match="one label each"):
        temperature_explorer([1.0, 2.0], labels=["only one"])


# --- chapter 04: attention maps of a GPT ----------------------------------------------------


def _tiny_gpt_and_tokenizer(block_size=8):
    from llmcourse.gpt import GPT, GPTConfig
    from llmcourse.tokenizers import CharTokenizer

    tokenizer = CharTokenizer.train("the cat sat on the mat\n", special_tokens=("<unk>",))
    torch.manual_seed(0)
    config = GPTConfig(tokenizer.vocab_size, block_size, n_layer=2, n_head=3, n_embd=12)
    return GPT(config), tokenizer


def test_render_attention_draws_one_cell_per_weight_and_greys_the_future():
    from llmcourse.widgets import render_attention

    weights = torch.tensor([[1.0, 0.0, 0.0], [0.25, 0.75, 0.0], [0.2, 0.3, 0.5]])
    out = render_attention(["a", " b", "<c>"], weights)
    assert out.count("class='attn'") == 9
    assert out.count("#eeeeee") == 3  # the three future cells
    assert "·b → a: 0.250" in out and "&lt;c&gt;" in out  # visible spaces, escaped labels
    assert "rgb(0,80,255)" in out  # weight 1 is the darkest blue
    with pytest.raises(ValueError, match=r"3 labels need a \(3, 3\) weight matrix"):
        render_attention(["a", "b", "c"], torch.ones(2, 2))


def test_attention_report_shows_the_chosen_heads_causal_rows_summing_to_one():
    import re

    from llmcourse.widgets.attention import _attention_report

    model, tokenizer = _tiny_gpt_and_tokenizer()
    model.train()
    out = _attention_report(model, tokenizer, "the cat", layer=1, head=2)
    assert model.training  # the mode is restored after the eval-mode pass
    assert "layer 1, head 2" in out and "<b>7 tokens</b>" in out
    weights = [float(w) for w in re.findall(r": (\d\.\d{3})'", out)]
    assert len(weights) == 49
    rows = torch.tensor(weights, dtype=torch.float64).view(7, 7)
    expected = model.eval().attention_maps(torch.tensor([tokenizer.encode("the cat")]))[1, 0, 2]
    torch.testing.assert_close(rows, expected.double(), atol=6e-4, rtol=0)
    assert torch.equal(rows.triu(1), torch.zeros(7, 7))


def test_attention_report_crops_long_text_and_explains_empty_or_unknown_input():
    from llmcourse.widgets.attention import _attention_report

    model, tokenizer = _tiny_gpt_and_tokenizer(block_size=4)
    out = _attention_report(model, tokenizer, "the cat sat", 0, 0)
    assert "<b>4 tokens</b>" in out and "cropped to the last 4 tokens" in out
    assert out.count("class='attn'") == 16
    assert "no tokens" in _attention_report(model, tokenizer, "", 0, 0)
    strict = type(tokenizer).train("abc")  # no <unk>: an unseen character is an error
    assert "⚠" in _attention_report(model, strict, "abz", 0, 0)


def test_attention_explorer_redraws_when_layer_head_or_sentence_change():
    from llmcourse.widgets import attention_explorer

    model, tokenizer = _tiny_gpt_and_tokenizer()
    explorer = attention_explorer(model, tokenizer, "the cat")
    (layer_box, head_box), box, result = explorer.children[0].children, *explorer.children[1:]
    assert "layer 0, head 0" in result.value
    first = result.value
    head_box.value = 2
    assert "layer 0, head 2" in result.value and result.value != first
    layer_box.value = 1
    assert "layer 1, head 2" in result.value
    box.value = "sat"
    assert "<b>3 tokens</b>" in result.value
    with pytest.raises(ValueError, match=r"head in 0\.\.2"):
        attention_explorer(model, tokenizer, "the", head=3)


# --- chapter 03: vanishing and exploding gradients ------------------------------------------


def test_rnn_gradient_norms_are_rho_to_the_d_without_inputs_and_shrink_with_them():
    from llmcourse.widgets import rnn_gradient_norms

    for rho in (0.8, 1.0, 1.2):
        norms = rnn_gradient_norms(rho, steps=30)
        torch.testing.assert_close(norms, rho ** torch.arange(31, dtype=torch.float64))
    saturated = rnn_gradient_norms(1.2, input_scale=1.0, steps=30)
    assert saturated[-1] < 1e-2 < rnn_gradient_norms(1.2, steps=30)[-1]  # tanh's slope < 1
    with pytest.raises(ValueError, match="0 or more"):
        rnn_gradient_norms(-1.0)


def test_gradient_norm_explorer_gives_a_verdict_that_follows_the_sliders():
    from llmcourse.widgets import gradient_norm_explorer

    explorer = gradient_norm_explorer(rho=0.8)
    (rho_box, scale_box), result = explorer.children[0].children, explorer.children[1]
    assert "ρ = 0.80" in result.value and "<b>vanishes</b>" in result.value
    rho_box.value = 1.0
    assert "<b>1.0e+00</b>" in result.value and "<b>survives</b>" in result.value
    rho_box.value = 1.2
    assert "<b>explodes</b>" in result.value
    scale_box.value = 1.0
    assert "input scale 1.0" in result.value and "<b>vanishes</b>" in result.value


# --- chapter 06: the sampling explorer ------------------------------------------------------


def test_filtered_distribution_is_what_sample_next_draws_from():
    from llmcourse.generate import repetition_penalty, top_k_filter, top_p_filter
    from llmcourse.widgets import filtered_distribution

    torch.manual_seed(0)
    logits, idx = torch.randn(20), torch.tensor([3, 3, 7])
    plain = filtered_distribution(logits, idx)
    torch.testing.assert_close(plain, logits.double().softmax(-1))
    penalised = repetition_penalty(logits[None], idx[None], 1.5)[0]
    expected = top_p_filter(top_k_filter(penalised / 0.7, 5), 0.8).double().softmax(-1)
    got = filtered_distribution(logits, idx, temperature=0.7, top_k=5, top_p=0.8, penalty=1.5)
    torch.testing.assert_close(got, expected)
    assert 1 <= int((got > 0).sum()) <= 5 and got.sum().item() == pytest.approx(1.0)
    assert got[3] < plain[3] and got[7] < plain[7] or logits[[3, 7]].max() < 0
    greedy = filtered_distribution(logits, idx, temperature=0)
    assert greedy.max() == 1.0 and greedy.argmax() == logits.argmax()
    torch.testing.assert_close(filtered_distribution(logits, idx, top_p=1e-6), greedy)
    with pytest.raises(ValueError, match="top_p must lie in"):
        filtered_distribution(logits, idx, top_p=1.5)


def test_sampling_report_shows_filtered_bars_kept_tokens_and_a_seeded_sample():
    import re

    from llmcourse.widgets import sampling_report

    model, tokenizer = _tiny_gpt_and_tokenizer()
    V = tokenizer.vocab_size
    model.train()
    out = sampling_report(model, tokenizer, "the cat", top_k=3, n_tokens=10, n_bars=5)
    assert model.training  # the mode is restored
    assert out.count("class='next-token'") == 5 and f"kept <b>3 of {V}</b>" in out
    shown = [float(p) for p in re.findall(r">(\d\.\d{3})<span", out)]
    assert sum(p > 0 for p in shown) <= 3
    assert out == sampling_report(model, tokenizer, "the cat", top_k=3, n_tokens=10, n_bars=5)
    assert f"kept <b>1 of {V}</b>" in sampling_report(model, tokenizer, "the", temperature=0)
    assert f"kept <b>{V} of {V}</b>" in sampling_report(model, tokenizer, "the")
    long = sampling_report(model, tokenizer, "the cat sat on the mat", n_tokens=5)
    assert "<b>the cat sat on the mat</b>" in long  # cropped to block_size for the model only
    assert "⚠" in sampling_report(model, tokenizer, "")
    assert "temperature must be" in sampling_report(model, tokenizer, "the", temperature=-1)


def test_sampling_explorer_redraws_when_a_slider_or_the_prompt_changes():
    from llmcourse.widgets import sampling_explorer

    model, tokenizer = _tiny_gpt_and_tokenizer()
    V = tokenizer.vocab_size
    explorer = sampling_explorer(model, tokenizer, prompt="the", n_tokens=8)
    (row1, row2), box, result = explorer.children[0].children, *explorer.children[1:]
    (temperature, top_k), (top_p, penalty) = row1.children, row2.children
    assert f"kept <b>{V} of {V}</b>" in result.value
    top_k.value = 2
    assert f"kept <b>2 of {V}</b>" in result.value
    top_k.value, temperature.value = 0, 0.0
    assert f"kept <b>1 of {V}</b>" in result.value
    temperature.value, top_p.value = 1.0, 0.05
    assert f"kept <b>1 of {V}</b>" in result.value
    top_p.value = 1.0
    before = result.value
    penalty.value = 2.0  # "t", "h" and "e" become less likely
    assert result.value != before
    box.value = "mat"
    assert "<b>mat</b>" in result.value
