"""llmcourse.show_source and llmcourse.plots."""

import matplotlib

matplotlib.use("Agg")

import pytest

import llmcourse.device
from llmcourse import show_source
from llmcourse.device import budget
from llmcourse.plots import COURSE_STAGES, course_map


def test_show_source_gives_plain_text_and_highlighted_html():
    source = show_source(budget)
    assert source.title == "llmcourse.device.budget"
    assert repr(source).startswith("# llmcourse.device.budget\ndef budget(")
    html = source._repr_html_()
    assert "<span" in html and "budget" in html


def test_show_source_of_a_module_and_a_class():
    assert show_source(llmcourse.device).title == "llmcourse.device"
    assert "class EnvironmentReport" in show_source(llmcourse.device.EnvironmentReport).code


def test_show_source_explains_what_it_cannot_show():
    with pytest.raises(TypeError, match="functions, classes and modules"):
        show_source(len)


def test_course_map_draws_one_labelled_box_per_stage():
    fig = course_map()
    texts = [t.get_text() for t in fig.axes[0].texts]
    for stage, chapter in COURSE_STAGES:
        assert stage in texts and f"ch {chapter}" in texts
    assert fig.dpi <= 100
