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
