"""Tests for llmcourse.history: the run's record (JSON, figure, summary) and the live views."""

from __future__ import annotations

import io
import json
import math
from types import SimpleNamespace

from matplotlib.figure import Figure

from llmcourse.history import History, LivePlot, ProgressBar


def sample_history() -> History:
    history = History(device="cpu")
    history.add_steps(range(1, 5), [3.0, 2.5, 2.25, 2.0], [1e-4, 2e-4, 2e-4, 1e-4], [1.5] * 4)
    history.add_eval(2, 2.6, 2.4, math.nan, 0.5)  # no speed measured: NaN
    history.add_eval(4, 2.1, 1.9, 1234.5, 150.0)
    return history


def test_history_round_trips_through_json_text():
    history = sample_history()
    text = history.to_json()
    assert "NaN" not in text  # strict JSON: NaN is written as null
    json.loads(text)
    back = History.from_json(text)
    assert back.steps == history.steps and back.val_loss == history.val_loss
    assert math.isnan(back.tokens_per_s[0]) and back.tokens_per_s[1] == 1234.5
    assert back.to_dict() == history.to_dict()


def test_summary_is_one_plain_line():
    assert sample_history().summary() == "val loss 2.10 after 4 steps (2.5 min on cpu)"
    assert History().summary() == "no steps trained yet"
    quick = History(device="cpu")
    quick.add_eval(10, 2.5, 2.4, 1000.0, 41.4)
    assert quick.summary() == "val loss 2.50 after 10 steps (41 s on cpu)"
    only_steps = History()
    only_steps.add_steps([1], [2.0], [1e-3], [1.0])
    assert only_steps.summary() == "train loss 2.00 after 1 step"


def test_plot_draws_loss_and_learning_rate():
    fig = sample_history().plot(smooth=2)
    assert isinstance(fig, Figure)
    loss_ax, lr_ax = fig.axes
    assert loss_ax.get_title() == "loss" and lr_ax.get_title() == "learning rate"
    assert len(loss_ax.lines) == 4  # raw, moving average, eval train, val
    assert list(lr_ax.lines[0].get_ydata()) == [1e-4, 2e-4, 2e-4, 1e-4]
    assert len(History().plot().axes) == 2  # an empty history still draws


def test_progress_bar_writes_to_its_file_and_ends_with_the_summary():
    stream = io.StringIO()
    trainer = SimpleNamespace(config=SimpleNamespace(steps=4), step=0, history=History())
    bar = ProgressBar(file=stream, mininterval=0)
    bar.on_start(trainer)
    trainer.history = sample_history()
    for step in range(1, 5):
        trainer.step = step
        bar.on_step(trainer)
    bar.on_end(trainer)
    text = stream.getvalue()
    assert "4/4" in text and "loss 2.000, val 2.100" in text
    assert text.endswith("val loss 2.10 after 4 steps (2.5 min on cpu)\n")


def test_live_plot_does_nothing_outside_a_notebook(capsys):
    LivePlot().on_eval(SimpleNamespace(history=sample_history()))
    assert capsys.readouterr() == ("", "")
