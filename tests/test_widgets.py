"""llmcourse.widgets: the broadcasting rule equals torch's, and the explorer reacts to input."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from llmcourse.widgets import broadcast_explorer, explain_broadcast, parse_shape

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
