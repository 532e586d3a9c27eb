"""Interactive explorers (ipywidgets) used by the chapters, one module per explorer.

Only core widgets (Text, Textarea, Dropdown, FloatSlider, HTML, Output, layout boxes), so
they behave the same on ipywidgets 7 (Colab) and 8 (JupyterLab 4). The logic behind each
explorer is a plain function that ``tests/test_widgets.py`` calls without a browser.

| module | chapter | explorer |
|---|---|---|
| ``broadcast`` | 00 | ``broadcast_explorer``: PyTorch's broadcasting rule on two shapes |
| ``tokens`` | 01 | ``tokenizer_explorer``: a text cut into coloured tokens with their ids |
| ``temperature`` | 02 | ``temperature_explorer``: softmax(z / τ) and its entropy |
| ``gradients`` | 03 | ``gradient_norm_explorer``: vanishing and exploding RNN gradients |
| ``attention`` | 04 | ``attention_explorer``: one head's attention map over a sentence |
| ``sampling`` | 06 | ``sampling_explorer``: temperature, top-k, top-p, repetition penalty |
"""

from llmcourse.widgets.attention import attention_explorer, render_attention
from llmcourse.widgets.broadcast import broadcast_explorer, explain_broadcast, parse_shape
from llmcourse.widgets.gradients import gradient_norm_explorer, rnn_gradient_norms
from llmcourse.widgets.sampling import filtered_distribution, sampling_explorer, sampling_report
from llmcourse.widgets.temperature import (
    render_distribution,
    softmax_with_temperature,
    temperature_explorer,
)
from llmcourse.widgets.tokens import render_tokens, tokenizer_explorer

__all__ = [
    "attention_explorer",
    "broadcast_explorer",
    "explain_broadcast",
    "filtered_distribution",
    "gradient_norm_explorer",
    "parse_shape",
    "render_attention",
    "render_distribution",
    "render_tokens",
    "rnn_gradient_norms",
    "sampling_explorer",
    "sampling_report",
    "softmax_with_temperature",
    "temperature_explorer",
    "tokenizer_explorer",
]
