"""Chapter 03's checkers: right answers pass, each usual mistake is named, TODOs are ⏳."""

import math

import pytest
import torch
from checker_cases import assert_mistake_named, assert_right_and_todo, run

from llmcourse.checks import ch03

# --- right answers ---------------------------------------------------------------------------


def rnn_step(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    return torch.tanh(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)


def bptt_grad(xs, y, w_x, w_h, b):
    hs = [0.0]
    for x in xs:
        hs.append(math.tanh(w_x * x + w_h * hs[-1] + b))
    delta, grad = hs[-1] - y, 0.0
    for k in range(len(xs), 0, -1):
        delta *= 1 - hs[k] ** 2
        grad += delta * hs[k - 1]
        delta *= w_h
    return grad


def clip_by_global_norm(grads, max_norm):
    total = math.sqrt(sum(float(g.pow(2).sum()) for g in grads))
    scale = min(1.0, max_norm / total) if total > 0 else 1.0
    return [g * scale for g in grads]


def lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh, order="ifgo", g_act=torch.tanh):
    chunks = (x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh).chunk(4, dim=1)
    gate = dict(zip(order, chunks))
    i, f, o = torch.sigmoid(gate["i"]), torch.sigmoid(gate["f"]), torch.sigmoid(gate["o"])
    c_next = f * c + i * g_act(gate["g"])
    return o * torch.tanh(c_next), c_next


def gru_step(x, h, weight_ih, weight_hh, bias_ih, bias_hh, swap=False, paper=False):
    x_r, x_z, x_n = (x @ weight_ih.T + bias_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ weight_hh.T + bias_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    if paper:
        W_hn, b_hn = weight_hh.chunk(3)[2], bias_hh.chunk(3)[2]
        n = torch.tanh(x_n + (r * h) @ W_hn.T + b_hn)
    else:
        n = torch.tanh(x_n + r * h_n)
    return (1 - z) * h + z * n if swap else (1 - z) * n + z * h


RIGHT = {
    ch03.rnn_step: rnn_step,
    ch03.bptt_grad: bptt_grad,
    ch03.clip_by_global_norm: clip_by_global_norm,
    ch03.lstm_step: lstm_step,
    ch03.gru_step: gru_step,
}


@pytest.mark.parametrize("check", RIGHT, ids=lambda c: c.__name__)
def test_right_answers_pass_and_todos_are_not_attempted(check, capsys):
    assert_right_and_todo(check, RIGHT[check], capsys)


def test_other_right_answers_pass_too(capsys):
    """In-place clipping, a tensor for the gradient, F.linear instead of @."""

    def clip_in_place(grads, max_norm):
        total = torch.cat([g.flatten() for g in grads]).norm()
        if total > max_norm:
            for g in grads:
                g.mul_(max_norm / total)
        return grads

    def bptt_tensor(*args):
        return torch.tensor(bptt_grad(*args))

    def rnn_linear(x, h, W_ih, W_hh, b_ih, b_hh):
        F = torch.nn.functional
        return torch.tanh(F.linear(x, W_ih, b_ih) + F.linear(h, W_hh, b_hh))

    for check, fn in [
        (ch03.clip_by_global_norm, clip_in_place),
        (ch03.bptt_grad, bptt_tensor),
        (ch03.rnn_step, rnn_linear),
    ]:
        ok, out = run(check, fn, capsys=capsys)
        assert ok, out


# --- the usual mistakes, each named ----------------------------------------------------------


def bptt_last_term_only(xs, y, w_x, w_h, b):
    hs = [0.0]
    for x in xs:
        hs.append(math.tanh(w_x * x + w_h * hs[-1] + b))
    return (hs[-1] - y) * (1 - hs[-1] ** 2) * hs[-2]


def bptt_no_chain(xs, y, w_x, w_h, b):
    hs = [0.0]
    for x in xs:
        hs.append(math.tanh(w_x * x + w_h * hs[-1] + b))
    return sum((hs[-1] - y) * (1 - hs[k] ** 2) * hs[k - 1] for k in range(1, len(hs)))


def clip_per_tensor(grads, max_norm):
    return [g * min(1.0, max_norm / float(g.norm())) for g in grads]


def clip_always(grads, max_norm):
    total = math.sqrt(sum(float(g.pow(2).sum()) for g in grads))
    return [g * (max_norm / total) for g in grads]


def clip_squared(grads, max_norm):
    total = sum(float(g.pow(2).sum()) for g in grads)
    return [g * min(1.0, max_norm / total) for g in grads]


def rnn_no_b_hh(x, h, W_ih, W_hh, b_ih, b_hh):
    return torch.tanh(x @ W_ih.T + b_ih + h @ W_hh.T)


MISTAKES = [
    (ch03.rnn_step, rnn_no_b_hh, "the bias b_hh is missing"),
    (ch03.rnn_step, lambda x, h, Wi, Wh, bi, bh: x @ Wi.T + bi + h @ Wh.T + bh, "tanh is missing"),
    (ch03.rnn_step, lambda x, h, Wi, Wh, bi, bh: torch.tanh(x @ Wi + h @ Wh), "x @ weight_ih.T"),
    (ch03.rnn_step, lambda x, h, Wi, Wh, bi, bh: torch.tanh(x @ Wi.T + bi + bh), "previous state"),
    (ch03.bptt_grad, bptt_last_term_only, "SUM of one term per step"),
    (ch03.bptt_grad, bptt_no_chain, "δ was not carried back"),
    (ch03.bptt_grad, lambda *a: -bptt_grad(*a), "sign is flipped"),
    (ch03.clip_by_global_norm, clip_per_tensor, "each tensor was clipped on its own"),
    (ch03.clip_by_global_norm, clip_always, "although their norm is already at most max_norm"),
    (ch03.clip_by_global_norm, clip_squared, "squared norm"),
    (ch03.clip_by_global_norm, lambda g, m: torch.cat([t.flatten() for t in g]), "list of tensors"),
    (ch03.lstm_step, lambda *a: lstm_step(*a, order="ifog"), "order i, f, o, g"),
    (ch03.lstm_step, lambda *a: lstm_step(*a, order="igfo"), "order i, g, f, o"),
    (ch03.lstm_step, lambda *a: lstm_step(*a, g_act=torch.sigmoid), "candidate g used sigmoid"),
    (
        ch03.lstm_step,
        lambda x, h, c, Wi, Wh, bi, bh: lstm_step(x, h, c, Wi, Wh, bi, 0 * bh),
        "the bias b_hh is missing",
    ),
    (ch03.lstm_step, lambda *a: lstm_step(*a)[::-1], "swapped"),
    (ch03.lstm_step, lambda *a: lstm_step(*a)[0], "return the pair"),
    (ch03.gru_step, lambda *a: gru_step(*a, swap=True), "interpolation is the wrong way round"),
    (ch03.gru_step, lambda *a: gru_step(*a, paper=True), "original paper's form"),
    (
        ch03.gru_step,
        lambda x, h, Wi, Wh, bi, bh: gru_step(x, h, Wi, Wh, bi, 0 * bh),
        "the bias b_hh is missing",
    ),
    (
        ch03.gru_step,
        lambda x, h, Wi, Wh, bi, bh: gru_step(
            x, h, *(torch.cat([w.chunk(3)[i] for i in (1, 0, 2)]) for w in (Wi, Wh, bi, bh))
        ),
        "order z, r, n",
    ),
]


@pytest.mark.parametrize(("check", "wrong", "cause"), MISTAKES)
def test_usual_mistakes_fail_with_their_cause(check, wrong, cause, capsys):
    assert_mistake_named(check, wrong, cause, capsys)
