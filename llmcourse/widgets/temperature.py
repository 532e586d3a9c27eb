"""Chapter 02's temperature explorer: softmax(z / τ) as bars, with its entropy."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import ipywidgets as widgets
import torch

from llmcourse.functional import entropy, softmax


def softmax_with_temperature(
    logits: Sequence[float] | torch.Tensor, temperature: float
) -> tuple[torch.Tensor, float]:
    """softmax(logits / temperature) and its entropy in nats, for the explorer below.

    logits: (V,) numbers. Returns (probabilities (V,) float64, entropy). A temperature below
    1 sharpens the distribution towards the largest logit (entropy → 0 as it goes to 0);
    above 1 flattens it towards uniform (entropy → log V).

    >>> probs, h = softmax_with_temperature([2.0, 1.0, 0.0], temperature=1.0)
    >>> [round(p, 3) for p in probs.tolist()], round(h, 3)
    ([0.665, 0.245, 0.09], 0.832)
    """

    if isinstance(temperature, bool) or not (
        isinstance(temperature, int | float) and 0 < temperature < float("inf")
    ):
        raise ValueError(
            f"temperature must be a positive number, got {temperature!r}; "
            "use e.g. 0.5 (sharper) to 2 (flatter)"
        )
    z = torch.as_tensor(logits, dtype=torch.float64).detach().cpu()
    if z.ndim != 1 or len(z) < 1:
        raise ValueError(f"logits must be one row of numbers (V,), got shape {tuple(z.shape)}")
    probs = softmax(z / temperature)  # (V,)
    return probs, float(entropy(probs))


def render_distribution(labels: Sequence[str], probs: torch.Tensor, entropy: float) -> str:
    """HTML: one horizontal bar per label (length ∝ probability), then the entropy.

    labels: V names; probs: (V,) a distribution; entropy in nats. The last line also gives
    the entropy in bits, its maximum log V, and exp(entropy), the number of equally likely
    choices that would be as uncertain (the perplexity).
    """

    if len(labels) != len(probs):
        raise ValueError(f"{len(labels)} labels for {len(probs)} probabilities; give one each")
    rows = []
    for label, p in zip(labels, probs.tolist(), strict=True):
        rows.append(
            "<tr class='prob-row'>"
            f"<td style='font-family:monospace;padding-right:6px'>{html.escape(str(label))}</td>"
            "<td style='width:260px'><div style='background:#6baed6;height:12px;"
            f"width:{100 * p:.1f}%'></div></td>"
            f"<td style='font-family:monospace;padding-left:6px'>{p:.3f}</td></tr>"
        )
    V = len(labels)
    summary = (
        f"<div class='entropy'>entropy <b>{entropy:.3f} nats</b> = {entropy / math.log(2):.3f} "
        f"bits (most possible: log {V} = {math.log(V):.3f} nats) · perplexity "
        f"{math.exp(entropy):.2f} of {V} choices</div>"
    )
    return f"<table>{''.join(rows)}</table>{summary}"


def temperature_explorer(
    logits: Sequence[float] | torch.Tensor,
    labels: Sequence[str] | None = None,
    temperature: float = 1.0,
) -> widgets.VBox:
    """Drag the temperature and watch softmax(logits / temperature) and its entropy change.

    logits: (V,) numbers; labels: V names for the bars (default: the indices 0..V-1).
    """
    probs, _ = softmax_with_temperature(logits, temperature)  # checks the arguments
    labels = [str(i) for i in range(len(probs))] if labels is None else list(labels)
    if len(labels) != len(probs):
        raise ValueError(f"{len(labels)} labels for {len(probs)} logits; give one label each")
    slider = widgets.FloatSlider(
        value=temperature,
        min=0.05,
        max=5.0,
        step=0.05,
        description="temperature",
        readout_format=".2f",
        style={"description_width": "initial"},
    )
    result = widgets.HTML()

    def update(_change: object = None) -> None:
        result.value = render_distribution(labels, *softmax_with_temperature(logits, slider.value))

    slider.observe(update, names="value")
    update()
    return widgets.VBox([slider, result])


# ------------------------------------------------ attention maps of a GPT (chapter 04)
