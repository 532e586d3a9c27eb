"""What a training run records and how it shows itself while it runs.

Chapter 05 (``chapters/05_training.ipynb``) teaches this file together with
``llmcourse.train``. ``History`` holds the numbers of a run (JSON in and out, so it
travels inside a checkpoint) and draws them; the callbacks are the live views the trainer
calls: ``ProgressBar`` (a tqdm bar that ends as one line, then a plain summary line) and
``LivePlot`` (the loss plot redrawn in the notebook at each evaluation).
``tests/test_history.py`` checks the JSON round trip, the figure and the quiet mode.
Left out on purpose: TensorBoard or W&B logging, per-layer statistics.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from matplotlib.figure import Figure
from tqdm import tqdm

if TYPE_CHECKING:
    from llmcourse.train import Trainer


@dataclass
class History:
    """The numbers of one run. Per optimizer step (1-based ``steps``): the training loss of
    the batch, the learning rate used and the gradient norm before clipping. Per
    evaluation (``eval_steps``): the loss on fixed validation windows and on fixed training
    windows (both with dropout off, so comparable: the gap is overfitting), the training
    speed since the previous evaluation and the seconds trained so far.
    """

    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    eval_train_loss: list[float] = field(default_factory=list)
    tokens_per_s: list[float] = field(default_factory=list)
    elapsed: list[float] = field(default_factory=list)
    device: str = ""

    def add_steps(
        self,
        steps: Iterable[int],
        losses: list[float],
        lrs: Iterable[float],
        grad_norms: list[float],
    ) -> None:
        """Append per-step records (the trainer hands them over every ``log_every`` steps)."""
        self.steps += list(steps)
        self.train_loss += losses
        self.lr += list(lrs)
        self.grad_norm += grad_norms

    def add_eval(
        self, step: int, val_loss: float, train_loss: float, tokens_per_s: float, elapsed: float
    ) -> None:
        """Append one evaluation's numbers."""
        self.eval_steps.append(step)
        self.val_loss.append(val_loss)
        self.eval_train_loss.append(train_loss)
        self.tokens_per_s.append(tokens_per_s)
        self.elapsed.append(elapsed)

    def to_dict(self) -> dict[str, Any]:
        """The history as JSON-able data (NaN speeds become None)."""
        data = dataclasses.asdict(self)
        data["tokens_per_s"] = [None if math.isnan(v) else v for v in self.tokens_per_s]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Read back what ``to_dict`` wrote."""
        data = dict(data)
        data["tokens_per_s"] = [math.nan if v is None else v for v in data["tokens_per_s"]]
        return cls(**data)

    def to_json(self) -> str:
        """``to_dict`` as a JSON string."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> History:
        """Read back what ``to_json`` wrote."""
        return cls.from_dict(json.loads(text))

    def summary(self) -> str:
        """One plain line, e.g. ``val loss 1.92 after 2000 steps (2.1 min on cpu)``; seconds
        below a minute (``… (41 s on cpu)``)."""
        if not self.eval_steps:
            if not self.steps:
                return "no steps trained yet"
            return f"train loss {self.train_loss[-1]:.2f} after {_steps(self.steps[-1])}"
        seconds = self.elapsed[-1]
        took = f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.1f} min"
        return (
            f"val loss {self.val_loss[-1]:.2f} after {_steps(self.eval_steps[-1])} "
            f"({took} on {self.device or 'an unknown device'})"
        )

    def plot(self, smooth: int = 20) -> Figure:
        """Loss (left: per-step training loss, its moving average over ``smooth`` steps, and
        the evaluations) and learning rate (right) against the step."""
        fig = Figure(figsize=(9, 3.2), dpi=80)
        loss_ax, lr_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2, 1]})
        if self.steps:
            loss_ax.plot(self.steps, self.train_loss, color="C0", alpha=0.25, lw=0.8)
            window = max(1, min(smooth, len(self.steps)))
            average = _moving_average(self.train_loss, window)
            loss_ax.plot(self.steps[window - 1 :], average, color="C0", label="train (batch)")
            lr_ax.plot(self.steps, self.lr, color="C2")
        if self.eval_steps:
            loss_ax.plot(self.eval_steps, self.eval_train_loss, "o--", color="C0", ms=3)
            loss_ax.plot(self.eval_steps, self.val_loss, "o-", color="C1", ms=3, label="val")
        loss_ax.set(xlabel="step", ylabel="loss (nats/token)", title="loss")
        lr_ax.set(xlabel="step", title="learning rate")
        if self.steps or self.eval_steps:
            loss_ax.legend(fontsize=8)
        fig.tight_layout()
        return fig


def _steps(n: int) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"


def _moving_average(values: list[float], window: int) -> list[float]:
    sums = [0.0]
    for v in values:
        sums.append(sums[-1] + v)
    return [(sums[i] - sums[i - window]) / window for i in range(window, len(sums))]


class Callback:
    """Hooks the trainer calls; override the ones you need (each gets the ``Trainer``)."""

    def on_start(self, trainer: Trainer) -> None:
        """Before the first step of ``run()``."""

    def on_step(self, trainer: Trainer) -> None:
        """After every step (the history's per-step lists lag by up to ``log_every``)."""

    def on_eval(self, trainer: Trainer) -> None:
        """After each evaluation, with the history up to date."""

    def on_end(self, trainer: Trainer) -> None:
        """After the last step of ``run()``."""


class ProgressBar(Callback):
    """A tqdm bar (steps, loss, val loss) that ends as one line, then ``History.summary()``.

    The trainer adds one when ``config.progress`` is True. It refreshes at most every
    ``mininterval`` seconds, so a notebook's saved output stays short.
    """

    def __init__(self, file: TextIO | None = None, mininterval: float = 0.5) -> None:
        self.file, self.mininterval, self.bar = file, mininterval, None

    def on_start(self, trainer: Trainer) -> None:
        self.bar = tqdm(
            total=trainer.config.steps,
            initial=trainer.step,
            unit="step",
            file=self.file or sys.stderr,
            mininterval=self.mininterval,
            dynamic_ncols=True,
        )

    def on_step(self, trainer: Trainer) -> None:
        history = trainer.history
        text = f"loss {history.train_loss[-1]:.3f}" if history.train_loss else ""
        if history.val_loss:
            text += f", val {history.val_loss[-1]:.3f}"
        self.bar.set_postfix_str(text, refresh=False)
        self.bar.update(trainer.step - self.bar.n)

    def on_end(self, trainer: Trainer) -> None:
        self.bar.close()
        print(trainer.history.summary(), file=self.file or sys.stdout, flush=True)


class LivePlot(Callback):
    """Redraws ``History.plot()`` in the notebook after each evaluation (nothing elsewhere)."""

    def __init__(self) -> None:
        self.handle = None

    def on_eval(self, trainer: Trainer) -> None:
        self._draw(trainer)

    def _draw(self, trainer: Trainer) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is None:
            return
        figure = trainer.history.plot()
        if self.handle is None:
            self.handle = display(figure, display_id=True)
        else:
            self.handle.update(figure)
