"""Chapter 03's gradient explorer: how ‖∂h_T/∂h_t‖ of a tanh RNN depends on ρ(W_hh)."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display

from llmcourse.rnn import hidden_jacobian_norms


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
