"""Chapter 04's attention explorer: one layer and head of a GPT, as a heatmap over a sentence."""

from __future__ import annotations

import html
from collections.abc import Sequence

import ipywidgets as widgets
import torch

from llmcourse.widgets.tokens import VISIBLE_WHITESPACE


def _token_label(tokenizer: object, token_id: int) -> str:
    """A readable label for one token: ``id_to_piece`` if the tokenizer has it, else decode."""
    if hasattr(tokenizer, "id_to_piece"):
        return tokenizer.id_to_piece(token_id)
    return tokenizer.decode([token_id])


def render_attention(labels: Sequence[str], weights: torch.Tensor) -> str:
    """HTML heatmap of one head's attention: row t = query token t, column s = key token s.

    labels: T token labels; weights: (T, T), each row a distribution over the keys. The
    shade of a cell is its weight (white 0 → dark blue 1); hovering shows the number.
    Spaces, newlines and tabs in labels are drawn as ·, ↵ and →.
    Cells above the diagonal are the future, which a causal head cannot see: drawn grey.
    """
    w = torch.as_tensor(weights, dtype=torch.float64).detach().cpu()
    T = len(labels)
    if w.shape != (T, T):
        raise ValueError(f"{T} labels need a ({T}, {T}) weight matrix, got {tuple(w.shape)}")
    names = [html.escape(label.translate(VISIBLE_WHITESPACE)) for label in labels]
    head_style = "font-family:monospace;font-size:11px;padding:0 3px;white-space:nowrap"
    top = "".join(
        f"<th style='{head_style};writing-mode:vertical-rl;transform:rotate(180deg)'>{n}</th>"
        for n in names
    )
    rows = [f"<tr><th></th>{top}</tr>"]
    for t in range(T):
        cells = []
        for s in range(T):
            value = w[t, s].item()
            if s > t and value == 0.0:
                colour = "#eeeeee"
            else:
                shade = round(255 * (1 - value))  # 255 = white (weight 0) … 0 = full blue
                colour = f"rgb({shade},{round(255 - 175 * value)},255)"
            cells.append(
                f"<td class='attn' title='{names[t]} → {names[s]}: {value:.3f}' "
                f"style='background:{colour};width:14px;height:14px;padding:0'></td>"
            )
        rows.append(
            f"<tr><th style='{head_style};text-align:right'>{names[t]}</th>{''.join(cells)}</tr>"
        )
    return f"<table style='border-collapse:collapse'>{''.join(rows)}</table>"


def _attention_report(model: object, tokenizer: object, text: str, layer: int, head: int) -> str:
    """The explorer's HTML: encode ``text``, run ``model.attention_maps``, draw one head."""
    try:
        ids = tokenizer.encode(text)
    except ValueError as error:
        return f"<b>⚠ {html.escape(str(error))}</b>"
    if not ids:
        return "<b>⚠ type a sentence: there are no tokens to look at yet</b>"
    block_size = model.config.block_size
    note = ""
    if len(ids) > block_size:
        note = f" (cropped to the last {block_size} tokens, the model's block_size)"
        ids = ids[-block_size:]
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        maps = model.attention_maps(torch.tensor([ids], device=device))  # (L, 1, H, T, T)
    finally:
        model.train(was_training)
    weights = maps[layer, 0, head]  # (T, T)
    labels = [_token_label(tokenizer, i) for i in ids]
    caption = (
        f"<div class='attn-caption'>layer {layer}, head {head} · <b>{len(ids)} tokens</b>{note}"
        " · row = the token that looks, column = the token it looks at; each row sums to 1"
        "</div>"
    )
    return caption + render_attention(labels, weights)


def attention_explorer(
    model: object, tokenizer: object, text: str, layer: int = 0, head: int = 0
) -> widgets.VBox:
    """Type a sentence, pick a layer and a head of a ``llmcourse.gpt.GPT``, see its attention.

    tokenizer: anything with ``encode(text) -> list[int]`` (and ``id_to_piece`` or
    ``decode`` for the labels), e.g. the ``BPETokenizer`` the model was trained with.
    """
    n_layer, n_head = model.config.n_layer, model.config.n_head
    if not (0 <= layer < n_layer and 0 <= head < n_head):
        raise ValueError(
            f"layer must lie in 0..{n_layer - 1} and head in 0..{n_head - 1}, "
            f"got layer={layer}, head={head}"
        )
    box = widgets.Text(value=text, description="sentence", layout=widgets.Layout(width="95%"))
    layer_box = widgets.Dropdown(options=list(range(n_layer)), value=layer, description="layer")
    head_box = widgets.Dropdown(options=list(range(n_head)), value=head, description="head")
    result = widgets.HTML()

    def update(_change: object = None) -> None:
        result.value = _attention_report(
            model, tokenizer, box.value, layer_box.value, head_box.value
        )

    for control in (box, layer_box, head_box):
        control.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox([layer_box, head_box]), box, result])


# ------------------------------------- vanishing and exploding gradients (chapter 03)
