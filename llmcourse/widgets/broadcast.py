"""Chapter 00's broadcasting explorer: two shapes, PyTorch's rule applied dimension by dimension.

``explain_broadcast`` is the logic (checked against ``torch.broadcast_shapes`` in
``tests/test_widgets.py``); ``broadcast_explorer`` puts two text boxes on it.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import torch


def parse_shape(text: str) -> tuple[int, ...]:
    """'2, 3, 4' or '(2, 3, 4)' → (2, 3, 4); '' or '()' → () (a scalar).

    >>> parse_shape("(2, 3)")
    (2, 3)
    """
    body = text.strip().strip("()[]").strip()
    if not body:
        return ()
    try:
        sizes = tuple(int(part) for part in body.split(",") if part.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not a shape; write sizes separated by commas, e.g. 2, 3, 4"
        ) from None
    if any(size < 0 for size in sizes):
        raise ValueError(f"{text!r} has a negative size; sizes are 0 or more")
    return sizes


def explain_broadcast(
    a: tuple[int, ...], b: tuple[int, ...]
) -> tuple[tuple[int, ...] | None, list[str]]:
    """Apply PyTorch's broadcasting rule to shapes ``a`` and ``b``, one dimension at a time.

    Shapes are aligned on the right; each pair of sizes must be equal or contain a 1.
    Returns (result shape, or None when they don't broadcast; one line per dimension).

    >>> explain_broadcast((3, 1), (4,))[0]
    (3, 4)
    """
    n = max(len(a), len(b))
    padded_a = (None,) * (n - len(a)) + a
    padded_b = (None,) * (n - len(b)) + b
    result: list[int] = []
    lines = []
    for dim, (x, y) in enumerate(zip(padded_a, padded_b, strict=True)):
        where = f"dim {dim - n}: "
        if x is None or y is None:
            size = y if x is None else x
            lines.append(f"{where}{size} (only one tensor has this dimension)")
        elif x == y:
            size = x
            lines.append(f"{where}{x} and {y} are equal → {size}")
        elif 1 in (x, y):
            size = y if x == 1 else x
            lines.append(f"{where}{x} and {y}: the 1 is stretched → {size}")
        else:
            lines.append(f"{where}{x} and {y} differ and neither is 1 → cannot broadcast")
            return None, lines
        result.append(size)
    return tuple(result), lines


def _broadcast_report(a_text: str, b_text: str) -> str:
    """The explorer's HTML for two typed shapes, checked against torch itself."""
    try:
        a, b = parse_shape(a_text), parse_shape(b_text)
    except ValueError as error:
        return f"<b>⚠ {html.escape(str(error))}</b>"
    shape, lines = explain_broadcast(a, b)
    try:
        torch_shape = tuple(torch.broadcast_shapes(a, b))
    except RuntimeError:
        torch_shape = None
    verdict = (
        f"result shape <b>{shape}</b>"
        if shape is not None
        else "<b>these shapes do not broadcast</b>"
    )
    agree = "agrees" if torch_shape == shape else "DISAGREES"
    rows = "<br>".join(html.escape(line) for line in lines)
    check = f"<i>torch.broadcast_shapes {agree}</i>"
    return f"<div class='broadcast-result'>{verdict}<br>{rows}<br>{check}</div>"


def broadcast_explorer(a: str = "2, 3, 4", b: str = "4") -> widgets.VBox:
    """Two shape boxes and the broadcasting rule applied to them, live as you type."""
    a_box = widgets.Text(value=a, description="a.shape")
    b_box = widgets.Text(value=b, description="b.shape")
    result = widgets.HTML(value=_broadcast_report(a, b))

    def update(_change: object = None) -> None:
        result.value = _broadcast_report(a_box.value, b_box.value)

    a_box.observe(update, names="value")
    b_box.observe(update, names="value")
    return widgets.VBox([widgets.HBox([a_box, b_box]), result])


# A colour-blind-friendly pastel cycle: neighbouring tokens always differ in colour.
