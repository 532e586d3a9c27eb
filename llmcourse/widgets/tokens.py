"""Chapter 01's tokenizer explorer: type a text, pick a tokenizer, see its tokens and ids."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Protocol

import ipywidgets as widgets

# A colour-blind-friendly pastel cycle: neighbouring tokens always differ in colour.
TOKEN_COLOURS = ("#c6dbef", "#fdd0a2", "#c7e9c0", "#dadaeb", "#fcbba1", "#f2f0a1")
VISIBLE_WHITESPACE = str.maketrans({" ": "·", "\n": "↵", "\t": "→"})


def render_tokens(pieces: Sequence[tuple[int, str]]) -> str:
    """HTML for a tokenized text: one coloured box per token, its id underneath.

    pieces: (id, text of the token) pairs, as ``Tokenizer.pieces(text)`` returns them.
    Spaces, newlines and tabs are drawn as ·, ↵ and → so that they can be seen.
    """
    boxes = []
    for i, (token_id, piece) in enumerate(pieces):
        colour = TOKEN_COLOURS[i % len(TOKEN_COLOURS)]
        shown = html.escape(piece.translate(VISIBLE_WHITESPACE))
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


# ------------------------------------------------ softmax with a temperature (chapter 02)
