"""Chapter 06's sampling explorer: what temperature, top-k, top-p and a repetition penalty
do to a model's next-token distribution, and to a sample drawn with a fixed seed."""

from __future__ import annotations

import html

import ipywidgets as widgets
import torch
from torch import Tensor

from llmcourse.generate import check_sampling, filter_logits, repetition_penalty
from llmcourse.widgets.attention import _token_label
from llmcourse.widgets.tokens import VISIBLE_WHITESPACE


def filtered_distribution(
    logits: Tensor,
    idx: Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    penalty: float = 1.0,
) -> Tensor:
    """The distribution ``sample_next`` draws from, after a repetition penalty: (V,) float64.

    logits: (V,) the model's next-token logits; idx: (T,) the tokens so far (the penalty
    makes those less likely). Order: penalty → temperature → top-k → top-p → softmax, as in
    Hugging Face. ``temperature=0`` is greedy: all the mass on the argmax after the penalty.

    >>> filtered_distribution(torch.tensor([2.0, 1.0, 0.0]), torch.tensor([0]), top_k=2)
    tensor([0.7311, 0.2689, 0.0000], dtype=torch.float64)
    """
    check_sampling(temperature, top_k, top_p)
    logits = repetition_penalty(logits[None], idx[None], penalty)[0]  # (V,)
    if temperature == 0:
        return torch.nn.functional.one_hot(logits.argmax(), logits.numel()).double()
    return torch.softmax(filter_logits(logits, temperature, top_k, top_p).double(), dim=-1)


def _label(tokenizer: object, token_id: int) -> str:
    return html.escape(_token_label(tokenizer, token_id).translate(VISIBLE_WHITESPACE))


def sampling_report(
    model: torch.nn.Module,
    tokenizer: object,
    prompt: str,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    penalty: float = 1.0,
    n_tokens: int = 60,
    seed: int = 0,
    n_bars: int = 12,
) -> str:
    """The explorer's HTML: the ``n_bars`` likeliest next tokens after ``prompt`` as bars
    (blue: after the settings; grey outline: the model's own softmax), how many tokens
    survive the filters, and ``n_tokens`` sampled with ``seed``."""
    try:
        check_sampling(temperature, top_k, top_p)
        ids = tokenizer.encode(prompt)
    except ValueError as error:
        return f"<b>⚠ {html.escape(str(error))}</b>"
    if not ids:
        return "<b>⚠ type a prompt: the model needs at least one token to continue</b>"
    device = next(model.parameters()).device
    idx = torch.tensor([ids[-model.config.block_size :]], device=device)  # (1, T)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits = model(idx)[0][0, -1].float().cpu()  # (V,)
    finally:
        model.train(was_training)
    probs = filtered_distribution(logits, idx[0].cpu(), temperature, top_k, top_p, penalty)
    plain = torch.softmax(logits.double(), dim=-1)  # (V,): temperature 1, no filter
    rows = []
    for i in plain.argsort(descending=True, stable=True)[:n_bars].tolist():
        p, q = probs[i].item(), plain[i].item()
        rows.append(
            "<tr class='next-token'>"
            f"<td style='font-family:monospace;padding-right:6px'>{_label(tokenizer, i)}</td>"
            "<td style='width:260px'><div style='position:relative;height:12px'>"
            f"<div style='position:absolute;height:12px;width:{100 * p:.1f}%;"
            "background:#6baed6'></div>"
            f"<div style='position:absolute;height:10px;width:{100 * q:.1f}%;"
            "border:1px solid #888'></div></div></td>"
            f"<td style='font-family:monospace;padding-left:6px'>{p:.3f}"
            f"<span style='color:#888'> ({q:.3f})</span></td></tr>"
        )
    kept = int((probs > 0).sum())
    summary = (
        f"<div class='kept'>kept <b>{kept} of {len(probs)}</b> tokens, which held "
        f"{plain[probs > 0].sum().item():.1%} of the model's probability · bars: the "
        f"{n_bars} tokens the model finds likeliest; blue after the settings, grey outline "
        "and (…) the model's softmax</div>"
    )
    generator = torch.Generator(device).manual_seed(seed)
    out = model.generate(
        idx, n_tokens, temperature, top_k, top_p, generator=generator, repetition_penalty=penalty
    )
    text = html.escape(tokenizer.decode(out[0, idx.size(1) :].tolist()))
    sample = (
        f"<div class='sample' style='font-family:monospace;white-space:pre-wrap;"
        f"border-top:1px solid #ccc;margin-top:4px'><b>{html.escape(prompt)}</b>{text}</div>"
    )
    return f"<table>{''.join(rows)}</table>{summary}{sample}"


def sampling_explorer(
    model: torch.nn.Module,
    tokenizer: object,
    prompt: str = "The ",
    n_tokens: int = 60,
    seed: int = 0,
) -> widgets.VBox:
    """Sliders for temperature, top-k, top-p and a repetition penalty on a ``GPT``; shows
    the next-token distribution after ``prompt`` and a sample of ``n_tokens`` (fixed seed).

    tokenizer: the model's, with ``encode`` and ``decode``. Temperature 0 is greedy; top-k 0
    and top-p 1 switch those filters off; penalty 1 changes nothing.
    """
    style = {"description_width": "initial"}
    temperature = widgets.FloatSlider(
        value=1.0, min=0.0, max=2.0, step=0.05, description="temperature", style=style
    )
    top_k = widgets.IntSlider(
        value=0,
        min=0,
        max=min(model.config.vocab_size, 100),
        description="top-k (0 off)",
        style=style,
    )
    top_p = widgets.FloatSlider(
        value=1.0, min=0.05, max=1.0, step=0.05, description="top-p", style=style
    )
    penalty = widgets.FloatSlider(
        value=1.0, min=1.0, max=3.0, step=0.1, description="repetition penalty", style=style
    )
    box = widgets.Text(value=prompt, description="prompt", layout=widgets.Layout(width="95%"))
    result = widgets.HTML()

    def update(_change: object = None) -> None:
        result.value = sampling_report(
            model,
            tokenizer,
            box.value,
            temperature.value,
            top_k.value or None,
            None if top_p.value >= 1 else top_p.value,
            penalty.value,
            n_tokens,
            seed,
        )

    for control in (temperature, top_k, top_p, penalty, box):
        control.observe(update, names="value")
    update()
    sliders = widgets.VBox([widgets.HBox([temperature, top_k]), widgets.HBox([top_p, penalty])])
    return widgets.VBox([sliders, box, result])
