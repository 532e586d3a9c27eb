"""Figures the chapters draw (matplotlib, small and deterministic).

Every function returns the ``Figure`` it made, so a notebook cell ending with the call
shows it once, and tests can inspect it without a display.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

#: The stages of the course, in order, with the chapter that teaches each one.
COURSE_STAGES: list[tuple[str, str]] = [
    ("text", "01"),
    ("tokens", "01"),
    ("model", "03–04"),
    ("loss", "02"),
    ("training", "05"),
    ("evaluation", "06"),
    ("generation", "06"),
    ("applications", "07+"),
]


def course_map(stages: list[tuple[str, str]] = COURSE_STAGES) -> Figure:
    """The course as a pipeline: one box per stage, labelled with its chapter."""
    fig, ax = plt.subplots(figsize=(10, 2.0), dpi=80)
    width, gap = 1.3, 0.3
    for i, (stage, chapter) in enumerate(stages):
        x = i * (width + gap)
        box = FancyBboxPatch(
            (x, 0),
            width,
            0.8,
            boxstyle="round,pad=0.03,rounding_size=0.1",
            facecolor=plt.cm.viridis(0.15 + 0.7 * i / len(stages)),
            edgecolor="none",
        )
        ax.add_patch(box)
        ax.text(
            x + width / 2,
            0.48,
            stage,
            ha="center",
            va="center",
            color="white",
            fontsize=9,
            weight="bold",
        )
        ax.text(
            x + width / 2, 0.2, f"ch {chapter}", ha="center", va="center", color="white", fontsize=8
        )
        if i + 1 < len(stages):
            ax.annotate(
                "",
                xy=(x + width + gap - 0.04, 0.4),
                xytext=(x + width + 0.04, 0.4),
                arrowprops={"arrowstyle": "->", "color": "0.3"},
            )
    ax.set_xlim(-0.1, len(stages) * (width + gap) - gap + 0.1)
    ax.set_ylim(-0.15, 0.95)
    ax.set_axis_off()
    ax.set_title("From raw text to a working language model", fontsize=11)
    fig.tight_layout()
    return fig
