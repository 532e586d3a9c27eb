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


# ------------------------------------------------ softmax with a temperature (chapter 02)


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
    from llmcourse.functional import entropy, softmax  # imported here: this part is chapter 02's

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
    import math

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
    names = [html.escape(label.translate(_VISIBLE_WHITESPACE)) for label in labels]
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


def rnn_gradient_norms(
    rho: float, input_scale: float = 0.0, hidden_size: int = 32, steps: int = 50, seed: int = 0
) -> torch.Tensor:
    """‖∂h_T/∂h_{T−d}‖ for d = 0..steps, in a tanh RNN whose W_hh has spectral radius rho.

    W_hh = rho · Q with Q a random orthogonal (hidden_size, hidden_size) matrix, so every
    eigenvalue has modulus rho and every singular value is rho. Each step adds a random
    normal input times ``input_scale``: 0 keeps tanh in its linear regime (the norms are
    then exactly rho^d); larger inputs saturate tanh, whose slope 1 − h² < 1 shrinks them.
    Returns (steps + 1,) float64, from ``llmcourse.rnn.hidden_jacobian_norms``.

    >>> [round(n, 3) for n in rnn_gradient_norms(0.5, steps=3).tolist()]
    [1.0, 0.5, 0.25, 0.125]
    """
    from llmcourse.rnn import hidden_jacobian_norms  # imported here: this part is chapter 03's

    if not (rho >= 0 and input_scale >= 0):
        raise ValueError(
            f"rho and input_scale must be 0 or more, got rho={rho}, input_scale={input_scale}"
        )
    g = torch.Generator().manual_seed(seed)
    gaussian = torch.randn(hidden_size, hidden_size, generator=g, dtype=torch.float64)
    q = torch.linalg.qr(gaussian)[0]  # orthogonal: all singular values 1
    inputs = input_scale * torch.randn(steps, hidden_size, generator=g, dtype=torch.float64)
    return hidden_jacobian_norms(rho * q, inputs)


def _gradient_report(norms: torch.Tensor, rho: float, input_scale: float) -> str:
    """One line of HTML: how much of a gradient survives the way back, and a verdict."""
    steps, last = len(norms) - 1, float(norms[-1])
    if last < 1e-2:
        verdict = "it <b>vanishes</b>"
    elif last > 1e2:
        verdict = "it <b>explodes</b>"
    else:
        verdict = "it <b>survives</b>"
    faint = (norms < 1e-2).nonzero()
    where = f"; below 1% after {int(faint[0])} steps" if len(faint) else ""
    return (
        f"<div class='gradient-report'>ρ = {rho:.2f}, input scale {input_scale:.1f}: a gradient "
        f"arriving at h<sub>T</sub> is scaled by at most <b>{last:.1e}</b> after {steps} "
        f"steps back; {verdict}{where}.</div>"
    )


def gradient_norm_explorer(
    rho: float = 0.9, input_scale: float = 0.0, steps: int = 50
) -> widgets.VBox:
    """Drag the spectral radius of W_hh (and the input size) and watch ‖∂h_T/∂h_{T−d}‖.

    The plot is on a log scale: a straight line falling is a vanishing gradient, rising an
    exploding one. The grey line is ρ = 1 in the linear regime, where nothing changes.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    rho_box = widgets.FloatSlider(
        value=rho, min=0.5, max=1.5, step=0.05, description="ρ of W_hh", readout_format=".2f"
    )
    scale_box = widgets.FloatSlider(
        value=input_scale, min=0.0, max=2.0, step=0.1, description="input scale"
    )
    result, plot = widgets.HTML(), widgets.Output()

    def update(_change: object = None) -> None:
        norms = rnn_gradient_norms(rho_box.value, scale_box.value, steps=steps)
        result.value = _gradient_report(norms, rho_box.value, scale_box.value)
        fig, ax = plt.subplots(figsize=(5.5, 3.2), dpi=80)
        ax.axhline(1.0, color="grey", lw=1, ls="--")
        ax.semilogy(norms.clamp_min(1e-300).numpy(), lw=2)
        ax.set(xlabel="distance d = T − t (steps back)", ylabel="‖∂h_T / ∂h_t‖")
        ax.set_ylim(1e-12, 1e6)
        fig.tight_layout()
        with plot:
            plot.clear_output(wait=True)
            display(fig)
        plt.close(fig)

    rho_box.observe(update, names="value")
    scale_box.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox([rho_box, scale_box]), result, plot])
