"""Interactive explorers (ipywidgets) used by the chapters.

Only core widgets (Text, Textarea, Dropdown, HTML, layout boxes) so they behave the same on
ipywidgets 7 (Colab) and 8 (JupyterLab 4). The logic behind each explorer is a plain
function that tests can call without a browser.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Protocol

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
TOKEN_COLOURS = ("#c6dbef", "#fdd0a2", "#c7e9c0", "#dadaeb", "#fcbba1", "#f2f0a1")
_VISIBLE_WHITESPACE = str.maketrans({" ": "·", "\n": "↵", "\t": "→"})


def render_tokens(pieces: Sequence[tuple[int, str]]) -> str:
    """HTML for a tokenized text: one coloured box per token, its id underneath.

    pieces: (id, text of the token) pairs, as ``Tokenizer.pieces(text)`` returns them.
    Spaces, newlines and tabs are drawn as ·, ↵ and → so that they can be seen.
    """
    boxes = []
    for i, (token_id, piece) in enumerate(pieces):
        colour = TOKEN_COLOURS[i % len(TOKEN_COLOURS)]
        shown = html.escape(piece.translate(_VISIBLE_WHITESPACE))
        boxes.append(
            f"<span class='token' title='id {token_id}' style='display:inline-block;"
            f"background:{colour};margin:1px;padding:0 2px;text-align:center;"
            f"font-family:monospace'>{shown}<br><small>{token_id}</small></span>"
        )
    count = f"<div class='token-count'><b>{len(pieces)} tokens</b></div>"
    return count + "".join(boxes)


class _Tokenizes(Protocol):
    def pieces(self, text: str) -> list[tuple[int, str]]: ...


def _tokens_report(tokenizer: _Tokenizes, text: str) -> str:
    try:
        pieces = tokenizer.pieces(text)
    except ValueError as error:
        return f"<b>⚠ {html.escape(str(error))}</b>"
    n_bytes = len(text.encode("utf-8"))
    ratio = f" · {n_bytes / len(pieces):.2f} bytes per token" if pieces else ""
    return render_tokens(pieces).replace(" tokens</b>", f" tokens</b>{ratio}", 1)


def tokenizer_explorer(tokenizers: Mapping[str, _Tokenizes], text: str) -> widgets.VBox:
    """Type a text, pick a tokenizer, and see its tokens coloured with their ids."""
    if not tokenizers:
        raise ValueError("tokenizer_explorer needs at least one tokenizer, as {name: tokenizer}")
    box = widgets.Textarea(value=text, description="text", layout=widgets.Layout(width="95%"))
    choice = widgets.Dropdown(options=list(tokenizers), description="tokenizer")
    result = widgets.HTML()

    def update(_change: object = None) -> None:
        result.value = _tokens_report(tokenizers[choice.value], box.value)

    box.observe(update, names="value")
    choice.observe(update, names="value")
    update()
    return widgets.VBox([choice, box, result])
