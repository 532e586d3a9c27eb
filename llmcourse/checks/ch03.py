"""Checkers for chapter 03: a vanilla RNN step, BPTT by hand, clipping by the global norm,
the LSTM step and the GRU step.

Each checker runs the learner's function on a few random inputs (sizes that differ, so a
transposed weight fails loudly; biases that are not zero, so a missing bias shows) and
compares with torch's own cells or a reference written here. The usual mistakes (gate
order, a missing ``b_hh``, the GRU's interpolation the wrong way round, clipping each tensor
on its own, a missing sum over time steps) are recomputed and named when the answer matches
one of them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from llmcourse.checks.base import CheckFailed, call, checker, expect_equal, expect_tensor
from llmcourse.rnn import bptt_scalar_rnn_grad

#: (B, input_size, hidden_size) of the cases each cell checker tries.
SIZES = [(3, 4, 5), (1, 2, 3), (2, 5, 2)]

SHAPE_HINT = (
    "weight_ih is (gates·hidden_size, input_size) and weight_hh is (gates·hidden_size, "
    "hidden_size), as in torch; with x of shape (B, input_size), compute x @ weight_ih.T "
    "(and h @ weight_hh.T)"
)


def _cell_case(cell: nn.Module, B: int, seed: int, lstm: bool = False) -> tuple:
    """Random x, h (and c) for ``cell``, plus its parameters; torch's init but biases of 0.5 ±."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    x = torch.randn(B, cell.input_size, generator=g)
    h = torch.randn(B, cell.hidden_size, generator=g)
    c = torch.randn(B, cell.hidden_size, generator=g) if lstm else None
    weights = tuple(p.detach().clone() for p in (cell.weight_ih, cell.weight_hh))
    biases = tuple(p.detach().clone() for p in (cell.bias_ih, cell.bias_hh))
    return x, h, c, weights, biases


def _copies(*tensors: Tensor | None) -> list[Tensor | None]:
    return [None if t is None else t.clone() for t in tensors]


# ---------------------------------------------------------------------- 03.1 RNN step


@checker("rnn_step")
def rnn_step(fn: Callable[..., Tensor]) -> str:
    """``fn(x, h, weight_ih, weight_hh, bias_ih, bias_hh)``: one step of a tanh RNN."""
    for seed, (B, n_in, n_h) in enumerate(SIZES):
        torch.manual_seed(seed)
        cell = nn.RNNCell(n_in, n_h)
        x, h, _, (W_ih, W_hh), (b_ih, b_hh) = _cell_case(cell, B, seed)
        expected = cell(x, h).detach()
        a_x, a_h = x @ W_ih.T, h @ W_hh.T
        got = call(fn, *_copies(x, h, W_ih, W_hh, b_ih, b_hh), likely_cause=SHAPE_HINT)
        expect_tensor(
            got,
            expected,
            what=f"rnn_step for B={B}, input_size={n_in}, hidden_size={n_h}",
            mistakes={
                "the bias b_hh is missing; torch adds two biases, b_ih and b_hh": torch.tanh(
                    a_x + b_ih + a_h
                ),
                "the bias b_ih is missing; torch adds two biases, b_ih and b_hh": torch.tanh(
                    a_x + a_h + b_hh
                ),
                "the biases are missing; add b_ih and b_hh": torch.tanh(a_x + a_h),
                "tanh is missing; h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)": (
                    a_x + b_ih + a_h + b_hh
                ),
                "sigmoid instead of tanh": torch.sigmoid(a_x + b_ih + a_h + b_hh),
                "the previous state h is not used; h W_hhᵀ is what makes the network "
                "recurrent": torch.tanh(a_x + b_ih + b_hh),
            },
            atol=1e-5,
        )
    return f"equals nn.RNNCell on {len(SIZES)} random cases, including a batch of 1."


# ------------------------------------------------------------- 03.2 BPTT by hand

BPTT_CASES = [
    ([0.5, -1.0, 2.0, 0.3], 0.25, 0.7, 0.9, -0.1),
    ([1.0, 0.2, -0.4, 0.8, -1.5, 0.6], -0.5, 1.1, 1.4, 0.2),
    ([0.3, -0.7, 0.9], 1.0, -0.8, 0.5, 0.3),
    ([2.0], 0.1, 0.6, 0.9, 0.0),
]


def _scalar_rnn(xs: Sequence[float], w_x: float, w_h: float, b: float) -> list[float]:
    import math

    hs = [0.0]
    for x in xs:
        hs.append(math.tanh(w_x * x + w_h * hs[-1] + b))
    return hs


@checker("bptt_grad")
def bptt_grad(fn: Callable[..., float]) -> str:
    """``fn(xs, y, w_x, w_h, b)``: dL/dw_h for h_t = tanh(w_x x_t + w_h h_{t−1} + b), h_0 = 0,
    L = ½ (h_T − y)²."""
    for xs, y, w_x, w_h, b in BPTT_CASES:
        expected, terms = bptt_scalar_rnn_grad(xs, y, w_x, w_h, b)
        hs, T = _scalar_rnn(xs, w_x, w_h, b), len(xs)
        err = hs[-1] - y
        got = call(fn, list(xs), y, w_x, w_h, b)
        if isinstance(got, Tensor) and got.numel() == 1:
            got = got.item()
        no_chain = sum(err * (1 - hs[k] ** 2) * hs[k - 1] for k in range(1, T + 1))
        expect_equal(
            got,
            expected,
            what=f"bptt_grad({xs}, y={y}, w_x={w_x}, w_h={w_h}, b={b})",
            mistakes={
                "only the last step's term: w_h is used at every step, so dL/dw_h is the SUM "
                "of one term per step k = 1..T": terms[-1],
                "the error δ was not carried back: before step k's term, δ must pick up a "
                "factor (1 − h_j²)·w_h for every later step j": no_chain,
                "the sign is flipped; dL/dh_T = h_T − y": -expected,
                "the direct term of step k uses h_k; it is (1 − h_k²)·h_{k−1}, the state that "
                "w_h multiplies at step k": _bptt_variant(hs, err, w_h, use_h_k=True),
                "the tanh slope (1 − h²) is missing": _bptt_variant(hs, err, w_h, slope=False),
            },
            rtol=1e-6,
        )
    return f"dL/dw_h matches on {len(BPTT_CASES)} sequences, including T = 1."


def _bptt_variant(
    hs: list[float], err: float, w_h: float, use_h_k: bool = False, slope: bool = True
) -> float:
    """dL/dw_h by BPTT with one deliberate mistake, to recognise it in a learner's answer."""
    T, delta, total = len(hs) - 1, err, 0.0
    for k in range(T, 0, -1):
        delta_a = delta * ((1 - hs[k] ** 2) if slope else 1.0)
        total += delta_a * (hs[k] if use_h_k else hs[k - 1])
        delta = delta_a * w_h
    return total


# ------------------------------------------------------ 03.3 clipping by the global norm


def _clip_cases() -> list[tuple[list[Tensor], float]]:
    g = torch.Generator().manual_seed(0)
    return [
        ([torch.tensor([3.0, 4.0]), torch.tensor([0.6, 0.8])], 1.0),  # one tensor dominates
        ([torch.randn(3, 4, generator=g) * 5, torch.randn(6, generator=g) * 5], 2.0),
        ([torch.randn(2, 3, generator=g) * 0.1, torch.randn(4, generator=g) * 0.1], 5.0),  # small
        ([torch.tensor([[0.0, 12.0]]), torch.tensor([5.0])], 13.0),  # exactly at max_norm
        ([torch.randn(5, generator=g) * 10], 1.0),  # a single tensor
    ]


def _flat(tensors: Sequence[Tensor]) -> Tensor:
    return torch.cat([t.detach().reshape(-1).double() for t in tensors])


@checker("clip_by_global_norm")
def clip_by_global_norm(fn: Callable[[list[Tensor], float], list[Tensor]]) -> str:
    """``fn(grads, max_norm)``: the gradients scaled by min(1, max_norm / global norm)."""
    for grads, max_norm in _clip_cases():
        norms = [g.norm() for g in grads]
        total = torch.stack(norms).pow(2).sum().sqrt()
        params = [nn.Parameter(torch.zeros_like(g)) for g in grads]
        for p, g in zip(params, grads, strict=True):
            p.grad = g.clone()
        nn.utils.clip_grad_norm_(params, max_norm)  # the reference: torch's own
        expected = [p.grad for p in params]

        def scaled(coef: Tensor | float, tensors: Sequence[Tensor] = grads) -> list[Tensor]:
            return [t * coef for t in tensors]

        shown = [round(float(n), 3) for n in norms]
        what = f"clip_by_global_norm with tensor norms {shown} and max_norm={max_norm}"
        got = call(fn, [g.clone() for g in grads], max_norm)
        if not isinstance(got, list | tuple) or not all(isinstance(t, Tensor) for t in got):
            raise CheckFailed(
                f"{what} returned a {type(got).__name__}; return a list of tensors, one per "
                "gradient, in the same order."
            )
        if len(got) != len(grads):
            raise CheckFailed(f"{what} returned {len(got)} tensors for {len(grads)} gradients.")
        for i, (t, g) in enumerate(zip(got, grads, strict=True)):
            if t.shape != g.shape:
                raise CheckFailed(
                    f"{what}: tensor {i} has shape {tuple(t.shape)}, expected {tuple(g.shape)}; "
                    "clipping only scales, it keeps every shape."
                )
        expect_tensor(
            _flat(got),
            _flat(expected),
            what=f"{what} (all tensors flattened and joined)",
            mistakes={
                "each tensor was clipped on its own; the norm is GLOBAL, √(Σ_p ‖g_p‖²) over all "
                "tensors, and one factor scales them all, which keeps the gradient's direction": (
                    _flat([g * min(1.0, max_norm / float(n)) for g, n in zip(grads, norms)])
                ),
                "the gradients were scaled although their norm is already at most max_norm; "
                "scale by min(1, max_norm / norm), which never makes a gradient bigger": (
                    _flat(scaled(max_norm / total))
                ),
                "the squared norm was used; the global norm is the square ROOT of Σ_p ‖g_p‖²": (
                    _flat(scaled(min(1.0, max_norm / float(total**2))))
                ),
                "the per-tensor norms were added; the global norm is √(Σ_p ‖g_p‖²), the norm "
                "of all entries as one long vector": (
                    _flat(scaled(min(1.0, max_norm / float(sum(norms)))))
                ),
            },
            atol=1e-6,
            rtol=1e-5,
            check_dtype=False,
        )
    return (
        "equals torch.nn.utils.clip_grad_norm_ on 5 cases: above, below and exactly at "
        "max_norm, and with one tensor much larger than the others."
    )


# ------------------------------------------------------------------ 03.4 LSTM step

LSTM_ORDER = "ifgo"


def _lstm_from_gates(
    gates: Tensor, c: Tensor, order: str = LSTM_ORDER, squash_g: Callable = torch.tanh
) -> tuple[Tensor, Tensor]:
    """(h', c') when the four chunks of ``gates`` are read in ``order`` (torch's is i, f, g, o)."""
    chunk = dict(zip(order, gates.chunk(4, dim=1), strict=True))
    i, f, o = (torch.sigmoid(chunk[k]) for k in "ifo")
    c_next = f * c + i * squash_g(chunk["g"])
    return o * torch.tanh(c_next), c_next


@checker("lstm_step")
def lstm_step(fn: Callable[..., tuple[Tensor, Tensor]]) -> str:
    """``fn(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)`` -> (h', c'), torch's LSTM."""
    for seed, (B, n_in, n_h) in enumerate(SIZES):
        torch.manual_seed(seed)
        cell = nn.LSTMCell(n_in, n_h)
        x, h, c, (W_ih, W_hh), (b_ih, b_hh) = _cell_case(cell, B, seed, lstm=True)
        h_exp, c_exp = (t.detach() for t in cell(x, (h, c)))
        got = call(fn, *_copies(x, h, c, W_ih, W_hh, b_ih, b_hh), likely_cause=SHAPE_HINT)
        if not (isinstance(got, tuple | list) and len(got) == 2):
            raise CheckFailed(
                f"lstm_step returned a {type(got).__name__}; return the pair (h_next, c_next)."
            )
        h_got, c_got = got
        gates = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh  # (B, 4·hidden_size)
        mistakes_h: dict[str, Tensor] = {}
        mistakes_c: dict[str, Tensor] = {}
        for order in map("".join, itertools.permutations(LSTM_ORDER)):
            if order != LSTM_ORDER:
                wrong_h, wrong_c = _lstm_from_gates(gates, c, order)
                cause = (
                    f"the four gate blocks were read in the order {', '.join(order)}; torch "
                    "stacks them as i, f, g, o (input, forget, candidate, output)"
                )
                mistakes_h[cause], mistakes_c[cause] = wrong_h, wrong_c
        no_b_hh = _lstm_from_gates(x @ W_ih.T + b_ih + h @ W_hh.T, c)
        sig_g = _lstm_from_gates(gates, c, squash_g=torch.sigmoid)
        for cause, (wrong_h, wrong_c) in {
            "the bias b_hh is missing; torch adds both b_ih and b_hh to the gates": no_b_hh,
            "the candidate g used sigmoid; g = tanh(...), only i, f and o are sigmoid gates": sig_g,
        }.items():
            mistakes_h[cause], mistakes_c[cause] = wrong_h, wrong_c
        swapped = "h_next and c_next are swapped; return (h_next, c_next), in that order"
        mistakes_h[swapped], mistakes_c[swapped] = c_exp, h_exp
        o = torch.sigmoid(gates.chunk(4, dim=1)[3])
        mistakes_h["h' = o ⊙ c'; the cell state goes through tanh first: h' = o ⊙ tanh(c')"] = (
            o * c_exp
        )
        mistakes_h["h' used the old cell state; it is o ⊙ tanh(c') with the NEW c'"] = (
            o * torch.tanh(c)
        )
        what = f"for B={B}, input_size={n_in}, hidden_size={n_h}"
        expect_tensor(c_got, c_exp, what=f"c_next {what}", mistakes=mistakes_c, atol=1e-5)
        expect_tensor(h_got, h_exp, what=f"h_next {what}", mistakes=mistakes_h, atol=1e-5)
    return f"(h', c') equal nn.LSTMCell on {len(SIZES)} random cases, including a batch of 1."


# ------------------------------------------------------------------- 03.5 GRU step

GRU_ORDER = "rzn"


def _gru(
    x: Tensor,
    h: Tensor,
    W_ih: Tensor,
    W_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
    order: str = GRU_ORDER,
    swap_mix: bool = False,
    paper_reset: bool = False,
) -> Tensor:
    """torch's GRU step, or one of the usual mistakes when asked."""
    gx = dict(zip(order, (x @ W_ih.T + b_ih).chunk(3, dim=1), strict=True))
    gh = dict(zip(order, (h @ W_hh.T + b_hh).chunk(3, dim=1), strict=True))
    r = torch.sigmoid(gx["r"] + gh["r"])
    z = torch.sigmoid(gx["z"] + gh["z"])
    if paper_reset:  # reset h before the matrix product: the 2014 paper's form
        W_hn = dict(zip(order, W_hh.chunk(3), strict=True))["n"]
        b_hn = dict(zip(order, b_hh.chunk(3), strict=True))["n"]
        n = torch.tanh(gx["n"] + (r * h) @ W_hn.T + b_hn)
    else:
        n = torch.tanh(gx["n"] + r * gh["n"])
    return (1 - z) * h + z * n if swap_mix else (1 - z) * n + z * h


@checker("gru_step")
def gru_step(fn: Callable[..., Tensor]) -> str:
    """``fn(x, h, weight_ih, weight_hh, bias_ih, bias_hh)`` -> h', torch's GRU."""
    for seed, (B, n_in, n_h) in enumerate(SIZES):
        torch.manual_seed(seed)
        cell = nn.GRUCell(n_in, n_h)
        x, h, _, (W_ih, W_hh), (b_ih, b_hh) = _cell_case(cell, B, seed)
        expected = cell(x, h).detach()
        args = (x, h, W_ih, W_hh, b_ih, b_hh)
        got = call(fn, *_copies(*args), likely_cause=SHAPE_HINT)
        mistakes = {
            "the interpolation is the wrong way round: torch's GRU computes "
            "h' = (1 − z) ⊙ n + z ⊙ h, so z is the share of the OLD state that is kept": _gru(
                *args, swap_mix=True
            ),
            "r multiplied h before its matrix product, (r ⊙ h) W_hnᵀ (the original paper's "
            "form); torch applies r after it: n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn))": (
                _gru(*args, paper_reset=True)
            ),
            "the bias b_hh is missing; torch adds b_ih and b_hh (and b_hn sits inside r ⊙ (…))": (
                _gru(x, h, W_ih, W_hh, b_ih, torch.zeros_like(b_hh))
            ),
        }
        for order in map("".join, itertools.permutations(GRU_ORDER)):
            if order != GRU_ORDER:
                cause = (
                    f"the three gate blocks were read in the order {', '.join(order)}; torch "
                    "stacks them as r, z, n (reset, update, candidate)"
                )
                mistakes[cause] = _gru(*args, order=order)
        expect_tensor(
            got,
            expected,
            what=f"gru_step for B={B}, input_size={n_in}, hidden_size={n_h}",
            mistakes=mistakes,
            atol=1e-5,
        )
    return f"equals nn.GRUCell on {len(SIZES)} random cases, including a batch of 1."
