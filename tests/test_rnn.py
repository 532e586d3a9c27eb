"""llmcourse.rnn equals torch's recurrent cells and layers (outputs, states and gradients),
exchanges weights with them exactly, and RNNLM's two paths, loss, sampling and carried state
behave as chapter 03 says. Backpropagation through time is checked by hand on a scalar RNN."""

import doctest
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.func import functional_call

import llmcourse.rnn
from llmcourse.rnn import (
    MODES,
    RNN,
    RNNLM,
    GRUCell,
    LSTMCell,
    RNNCell,
    bptt_scalar_rnn_grad,
    detach_state,
    from_torch,
)

TOL = {"rtol": 1e-5, "atol": 1e-5}


def make_cells(mode, input_size, hidden_size, bias):
    """(ours, torch's) cell of one mode; ours gets torch's weights through the state dict."""
    if mode.startswith("rnn"):
        act = mode[4:]
        ours = RNNCell(input_size, hidden_size, bias, nonlinearity=act)
        theirs = nn.RNNCell(input_size, hidden_size, bias, nonlinearity=act)
    else:
        pairs = {"lstm": (LSTMCell, nn.LSTMCell), "gru": (GRUCell, nn.GRUCell)}
        ours_cls, theirs_cls = pairs[mode]
        ours = ours_cls(input_size, hidden_size, bias)
        theirs = theirs_cls(input_size, hidden_size, bias)
    ours.load_state_dict(theirs.state_dict())  # same parameter names and shapes as torch
    return ours, theirs


def make_torch_rnn(mode, *args, **kwargs):
    if mode.startswith("rnn"):
        return nn.RNN(*args, nonlinearity=mode[4:], **kwargs)
    return {"lstm": nn.LSTM, "gru": nn.GRU}[mode](*args, **kwargs)


def random_state(mode, shape, g):
    h = torch.randn(shape, generator=g)
    return (h, torch.randn(shape, generator=g)) if mode == "lstm" else h


def assert_states_close(ours, theirs):
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == 2
        for a, b in zip(ours, theirs):
            torch.testing.assert_close(a, b, **TOL)
    else:
        torch.testing.assert_close(ours, theirs, **TOL)


modes = st.sampled_from(MODES)
sizes = st.integers(1, 6)


# --------------------------------------------------------------------------------- cells


@settings(max_examples=40)
@given(
    mode=modes,
    input_size=sizes,
    hidden_size=sizes,
    batch=st.integers(1, 4),
    bias=st.booleans(),
    with_state=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_cells_match_torch_cells_on_random_shapes(
    mode, input_size, hidden_size, batch, bias, with_state, seed
):
    torch.manual_seed(seed)
    ours, theirs = make_cells(mode, input_size, hidden_size, bias)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, input_size, generator=g)
    state = random_state(mode, (batch, hidden_size), g) if with_state else None
    assert_states_close(ours(x, state), theirs(x, state))


@pytest.mark.parametrize("mode", MODES)
def test_cells_pass_gradcheck_in_float64(mode):
    torch.manual_seed(0)
    cell = make_cells(mode, 3, 4, bias=True)[0].double()
    names = [name for name, _ in cell.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in cell.parameters()]
    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    c = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)

    def step(x, h, c, *params):  # gradients w.r.t. the input, the state and every weight
        state = (h, c) if mode == "lstm" else h
        return functional_call(cell, dict(zip(names, params)), (x, state))

    assert torch.autograd.gradcheck(step, (x, h, c, *params))


def test_gru_reset_gate_multiplies_h_after_its_matrix_product():
    """torch's GRU: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), not W_hn (r ⊙ h)."""
    torch.manual_seed(0)
    cell = GRUCell(2, 3)
    x, h = torch.randn(4, 2), torch.randn(4, 3)
    W_ir, W_iz, W_in = cell.weight_ih.chunk(3)
    W_hr, W_hz, W_hn = cell.weight_hh.chunk(3)
    b_ir, b_iz, b_in = cell.bias_ih.chunk(3)
    b_hr, b_hz, b_hn = cell.bias_hh.chunk(3)
    r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    z = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    n = torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
    torch.testing.assert_close(cell(x, h), (1 - z) * n + z * h)


# ------------------------------------------------------------------ stacked layers


@settings(max_examples=60)
@given(
    mode=modes,
    input_size=sizes,
    hidden_size=sizes,
    num_layers=st.integers(1, 3),
    batch=st.integers(1, 3),
    steps=st.integers(1, 5),
    batch_first=st.booleans(),
    bias=st.booleans(),
    with_state=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_from_torch_matches_torch_layers_on_random_configs(
    mode, input_size, hidden_size, num_layers, batch, steps, batch_first, bias, with_state, seed
):
    torch.manual_seed(seed)
    theirs = make_torch_rnn(
        mode, input_size, hidden_size, num_layers, bias=bias, batch_first=batch_first
    )
    ours = from_torch(theirs)
    settings_ = (ours.mode, ours.num_layers, ours.batch_first, ours.bias)
    assert settings_ == (mode, num_layers, batch_first, bias)
    g = torch.Generator().manual_seed(seed)
    x_shape = (batch, steps, input_size) if batch_first else (steps, batch, input_size)
    x = torch.randn(x_shape, generator=g)
    state = random_state(mode, (num_layers, batch, hidden_size), g) if with_state else None
    out_ours, state_ours = ours(x, state)
    out_theirs, state_theirs = theirs(x, state)
    torch.testing.assert_close(out_ours, out_theirs, **TOL)
    assert_states_close(state_ours, state_theirs)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("with_state", [False, True])
def test_unbatched_input_works_like_torch(mode, with_state):
    torch.manual_seed(0)
    theirs = make_torch_rnn(mode, 3, 4, 2, batch_first=True)
    x = torch.randn(5, 3)  # (T, input_size): one sequence, no batch dimension
    state = random_state(mode, (2, 4), torch.Generator().manual_seed(1)) if with_state else None
    out_ours, state_ours = from_torch(theirs)(x, state)
    out_theirs, state_theirs = theirs(x, state)
    assert out_ours.shape == (5, 4)
    torch.testing.assert_close(out_ours, out_theirs, **TOL)
    assert_states_close(state_ours, state_theirs)


@pytest.mark.parametrize("mode", MODES)
def test_gradients_match_torch_for_inputs_state_and_weights(mode):
    torch.manual_seed(0)
    theirs = make_torch_rnn(mode, 3, 5, 2, batch_first=True)
    ours = from_torch(theirs)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, 3, generator=g)
    h0 = torch.randn(2, 2, 5, generator=g)
    w_out = torch.randn(2, 4, 5, generator=g)  # random weights so that no gradient is symmetric
    grads = []
    for module in (ours, theirs):
        x_ = x.clone().requires_grad_()
        h0_ = h0.clone().requires_grad_()
        out, state = module(x_, (h0_, torch.zeros_like(h0_)) if mode == "lstm" else h0_)
        h_n = state[0] if mode == "lstm" else state
        ((out * w_out).sum() + h_n.pow(2).sum()).backward()
        grads.append((x_.grad, h0_.grad))
    torch.testing.assert_close(grads[0], grads[1], **TOL)
    for k, cell in enumerate(ours.cells):
        for name, p in cell.named_parameters():
            torch.testing.assert_close(p.grad, getattr(theirs, f"{name}_l{k}").grad, **TOL)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bias", [True, False])
def test_to_torch_of_from_torch_round_trips_exactly(mode, bias):
    torch.manual_seed(0)
    original = make_torch_rnn(mode, 3, 4, 2, bias=bias, batch_first=True)
    back = from_torch(original).to_torch()
    assert type(back) is type(original)
    assert (back.mode, back.num_layers, back.bias, back.batch_first) == (
        original.mode,
        2,
        bias,
        True,
    )
    params, params_back = dict(original.named_parameters()), dict(back.named_parameters())
    assert params.keys() == params_back.keys()
    for name, p in params.items():
        assert torch.equal(p, params_back[name]), name


def test_from_torch_keeps_the_dtype():
    theirs = nn.GRU(2, 3).double()
    ours = from_torch(theirs)
    x = torch.randn(4, 1, 2, dtype=torch.float64)
    assert ours.cells[0].weight_ih.dtype == torch.float64
    torch.testing.assert_close(ours(x)[0], theirs(x)[0])


# ------------------------------------------------------------------------- RNNLM

V = 11


def random_ids(shape, seed=0):
    return torch.randint(0, V, shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("cell", MODES)
def test_rnnlm_fast_and_from_scratch_paths_give_equal_logits(cell):
    torch.manual_seed(0)
    model = RNNLM(V, embed_size=6, hidden_size=8, num_layers=2, cell=cell, fast=True)
    assert isinstance(model.rnn, nn.RNNBase) and model.fast
    idx = random_ids((3, 7))
    fast_logits, fast_loss, fast_state = model(idx, targets=idx)
    model.use_fast(False)
    assert isinstance(model.rnn, RNN) and not model.fast
    slow_logits, slow_loss, slow_state = model(idx, targets=idx)
    torch.testing.assert_close(slow_logits, fast_logits, **TOL)
    torch.testing.assert_close(slow_loss, fast_loss, **TOL)
    assert_states_close(slow_state, fast_state)
    model.use_fast(True)  # and back, still the same weights
    torch.testing.assert_close(model(idx)[0], fast_logits, **TOL)


def test_rnnlm_built_fast_or_not_starts_from_the_same_weights_for_one_seed():
    idx = random_ids((2, 5))
    torch.manual_seed(3)
    fast = RNNLM(V, embed_size=4, hidden_size=6, fast=True)
    torch.manual_seed(3)
    slow = RNNLM(V, embed_size=4, hidden_size=6, fast=False)
    torch.testing.assert_close(slow(idx)[0], fast(idx)[0], **TOL)


def test_rnnlm_shapes_and_loss_is_mean_cross_entropy_over_all_positions():
    torch.manual_seed(0)
    model = RNNLM(V, embed_size=5, hidden_size=7, num_layers=2, cell="lstm")
    idx, targets = random_ids((4, 6), seed=1), random_ids((4, 6), seed=2)
    logits, loss, (h, c) = model(idx, targets)
    assert logits.shape == (4, 6, V)
    assert h.shape == c.shape == (2, 4, 7)
    log_probs = logits.log_softmax(dim=-1)  # (B, T, V)
    by_hand = -log_probs.gather(-1, targets[..., None]).mean()
    torch.testing.assert_close(loss, by_hand)
    torch.testing.assert_close(loss, F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1)))
    assert model(idx)[1] is None


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_carrying_the_state_over_two_halves_equals_the_whole_sequence(cell, fast):
    """The basis of truncated BPTT: batch k + 1 starts from batch k's final state."""
    torch.manual_seed(0)
    model = RNNLM(V, embed_size=5, hidden_size=6, num_layers=2, cell=cell, fast=fast)
    idx = random_ids((2, 10))
    whole, _, whole_state = model(idx)
    first, _, state = model(idx[:, :5])
    second, _, final_state = model(idx[:, 5:], state=detach_state(state))
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole, **TOL)
    assert_states_close(final_state, whole_state)


def test_detach_state_cuts_the_graph_and_keeps_the_values():
    h = torch.randn(1, 2, 3, requires_grad=True) * 2
    assert detach_state(None) is None
    assert detach_state(h).grad_fn is None and torch.equal(detach_state(h), h)
    pair = detach_state((h, h + 1))
    assert isinstance(pair, tuple) and all(s.grad_fn is None for s in pair)
    assert torch.equal(pair[1], h + 1)


def test_generate_is_deterministic_with_a_seed_and_keeps_the_prompt():
    torch.manual_seed(0)
    model = RNNLM(V, embed_size=5, hidden_size=6).eval()
    prompt = random_ids((3, 4))
    a = model.generate(prompt, 8, generator=torch.Generator().manual_seed(7))
    b = model.generate(prompt, 8, generator=torch.Generator().manual_seed(7))
    assert a.shape == (3, 12) and a.dtype == torch.long
    assert torch.equal(a, b)
    assert torch.equal(a[:, :4], prompt)
    assert 0 <= int(a.min()) and int(a.max()) < V
    assert torch.equal(model.generate(prompt, 0), prompt)


@pytest.mark.parametrize("temperature", [0.5, 1.0])
def test_generate_with_carried_state_equals_rereading_the_whole_prefix(temperature):
    torch.manual_seed(0)
    model = RNNLM(V, embed_size=5, hidden_size=6, cell="gru").eval()
    prompt = random_ids((2, 3))
    got = model.generate(prompt, 6, temperature, generator=torch.Generator().manual_seed(1))
    idx, g = prompt, torch.Generator().manual_seed(1)
    with torch.no_grad():
        for _ in range(6):  # the slow way: run the whole sequence again for every new id
            probs = F.softmax(model(idx)[0][:, -1] / temperature, dim=-1)
            idx = torch.cat([idx, torch.multinomial(probs, 1, generator=g)], dim=1)
    assert torch.equal(got, idx)


# ------------------------------------------------------- backpropagation through time


def test_bptt_by_hand_equals_autograd_for_a_scalar_rnn():
    """h_t = tanh(w_x x_t + w_h h_{t-1} + b), L = ½ (h_T − y)²: dL/dw_h is a sum over time.

    The use of w_h at step k reaches L through h_k, h_{k+1}, ..., h_T, so its term is
        dL/dh_T · Π_{j=k+1..T} ∂h_j/∂h_{j-1} · ∂h_k/∂w_h(direct)
      = (h_T − y) · Π_{j=k+1..T} (1 − h_j²) w_h · (1 − h_k²) h_{k-1}.
    """
    xs, y, w_x, w_h, b = [0.5, -1.0, 2.0, 0.3], 0.25, 0.7, 0.9, -0.1
    hs = [0.0]  # h_0
    for x in xs:
        hs.append(math.tanh(w_x * x + w_h * hs[-1] + b))
    T = len(xs)
    terms = []
    for k in range(1, T + 1):
        chain = hs[T] - y
        for j in range(k + 1, T + 1):
            chain *= (1 - hs[j] ** 2) * w_h
        terms.append(chain * (1 - hs[k] ** 2) * hs[k - 1])

    # autograd, with a separate copy of w_h per step so that each term is visible on its own
    w_h_copies = torch.full((T,), w_h, dtype=torch.float64, requires_grad=True)
    h = torch.tensor(0.0, dtype=torch.float64)
    for t, x in enumerate(xs):
        h = torch.tanh(w_x * x + w_h_copies[t] * h + b)
    (0.5 * (h - y) ** 2).backward()

    assert terms == pytest.approx(w_h_copies.grad.tolist(), abs=1e-12)
    grad, its_terms = bptt_scalar_rnn_grad(xs, y, w_x, w_h, b)
    assert its_terms == pytest.approx(terms, abs=1e-12)
    assert grad == pytest.approx(sum(terms), abs=1e-12)
    assert grad == pytest.approx(w_h_copies.grad.sum().item(), abs=1e-12)


def test_bptt_terms_of_early_steps_vanish_when_w_h_is_small():
    _, terms = bptt_scalar_rnn_grad([1.0] * 12, y=0.0, w_x=1.0, w_h=0.5, b=0.0, h0=0.5)
    assert abs(terms[0]) < 1e-3 * abs(terms[-1])


def test_docstring_examples_run():
    result = doctest.testmod(llmcourse.rnn, extraglobs=vars(llmcourse.rnn), verbose=False)
    assert result.attempted > 0 and result.failed == 0


# -------------------------------------------------------------------------- errors


def test_rnn_says_which_input_size_it_expects():
    rnn = RNN("gru", 10, 4)
    with pytest.raises(
        ValueError,
        match=r"x has shape \(4, 7, 12\) but this RNN expects input_size 10 in the last dim",
    ):
        rnn(torch.randn(4, 7, 12))


@pytest.mark.parametrize(
    "x, match",
    [
        (torch.randn(2, 3, 4, 10), r"expects \(T, B, input_size\), or \(T, input_size\)"),
        (torch.randn(10), r"x has shape \(10,\)"),
        (torch.ones(3, 2, 10, dtype=torch.long), "floating-point"),
        (torch.randn(0, 2, 10), "T >= 1"),
    ],
)
def test_rnn_rejects_a_wrong_input_clearly(x, match):
    with pytest.raises(ValueError, match=match):
        RNN("lstm", 10, 4)(x)


@pytest.mark.parametrize(
    "mode, state, match",
    [
        (
            "gru",
            torch.zeros(1, 3, 4),
            r"state h is a tensor of shape \(1, 3, 4\) but this RNN expects "
            r"\(num_layers, B, hidden_size\) = \(2, 3, 4\)",
        ),
        ("lstm", torch.zeros(2, 3, 4), r"an LSTM state is a pair \(h, c\)"),
        (
            "lstm",
            (torch.zeros(2, 3, 4), torch.zeros(2, 1, 4)),
            r"state c is a tensor of shape \(2, 1, 4\)",
        ),
        ("rnn_tanh", (torch.zeros(2, 3, 4),), r"this state is one tensor h .* got a tuple"),
    ],
)
def test_rnn_rejects_a_state_of_the_wrong_shape(mode, state, match):
    with pytest.raises(ValueError, match=match):
        RNN(mode, 5, 4, num_layers=2)(torch.randn(6, 3, 5), state)


def test_unbatched_input_needs_an_unbatched_state():
    with pytest.raises(ValueError, match=r"expects \(num_layers, hidden_size\) = \(1, 4\)"):
        RNN("gru", 5, 4)(torch.randn(6, 5), torch.zeros(1, 1, 4))


@pytest.mark.parametrize("cls", [RNNCell, LSTMCell, GRUCell])
def test_cells_reject_wrong_shapes_clearly(cls):
    cell = cls(3, 4)
    with pytest.raises(ValueError, match=r"x has shape \(3,\) but .* expects \(B, input_size=3\)"):
        cell(torch.randn(3))
    bad = (torch.zeros(2, 5), torch.zeros(2, 5)) if cls is LSTMCell else torch.zeros(2, 5)
    with pytest.raises(
        ValueError, match=r"state h is a tensor of shape \(2, 5\) .* \(B, hidden_size\)"
    ):
        cell(torch.randn(2, 3), bad)


def test_unknown_modes_cells_and_sizes_are_named():
    with pytest.raises(ValueError, match="unknown mode 'transformer'; use one of rnn_tanh"):
        RNN("transformer", 3, 4)
    with pytest.raises(ValueError, match="unknown cell 'lstmm'"):
        RNNLM(V, cell="lstmm")
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        RNNCell(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="num_layers must be a positive integer"):
        RNN("lstm", 3, 4, num_layers=0)
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        RNN("lstm", 3, 0)


@pytest.mark.parametrize(
    "module, match",
    [
        (nn.LSTM(3, 4, bidirectional=True), "bidirectional=True"),
        (nn.LSTM(3, 4, proj_size=2), "proj_size=2"),
        (nn.GRU(3, 4, num_layers=2, dropout=0.5), "dropout=0.5"),
    ],
)
def test_from_torch_refuses_what_the_course_leaves_out(module, match):
    with pytest.raises(ValueError, match=f"from_torch cannot convert a module with {match}"):
        from_torch(module)


def test_from_torch_refuses_other_modules():
    with pytest.raises(TypeError, match="takes an nn.RNN, nn.LSTM or nn.GRU"):
        from_torch(nn.Linear(3, 4))


@pytest.mark.parametrize("fast", [True, False])
def test_rnnlm_rejects_bad_ids_and_states_clearly(fast):
    model = RNNLM(V, embed_size=4, hidden_size=5, num_layers=2, fast=fast)
    with pytest.raises(ValueError, match=r"idx holds id 11 but vocab_size is 11; .* 0\.\.10"):
        model(torch.tensor([[1, 11, 2]]))
    with pytest.raises(ValueError, match="idx holds id -1"):
        model(torch.tensor([[-1, 2]]))
    with pytest.raises(ValueError, match=r"idx must be a \(B, T\) LongTensor"):
        model(torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match=r"idx must be a \(B, T\) LongTensor"):
        model(torch.rand(2, 3))
    with pytest.raises(ValueError, match=r"targets has shape \(1, 2\) but idx has shape \(1, 3\)"):
        model(torch.tensor([[1, 2, 3]]), torch.tensor([[1, 2]]))
    with pytest.raises(ValueError, match="targets holds id 12"):
        model(torch.tensor([[1, 2]]), torch.tensor([[1, 12]]))
    wrong = (torch.zeros(1, 1, 5), torch.zeros(1, 1, 5))  # one layer's state, model has two
    with pytest.raises(
        ValueError, match=r"state h is a tensor of shape \(1, 1, 5\) but this RNNLM"
    ):
        model(torch.tensor([[1, 2]]), state=wrong)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        model.generate(torch.tensor([[1]]), 3, temperature=0.0)


# ------------------------------------------------------ vanishing and exploding gradients


@pytest.mark.parametrize("scale", [0.0, 1.0])
def test_hidden_jacobian_norms_equal_the_norms_of_autograd_jacobians(scale):
    """∂h_T/∂h_{T−d} from the product of per-step factors equals autograd's Jacobian."""
    from llmcourse.rnn import hidden_jacobian_norms

    g = torch.Generator().manual_seed(0)
    W = torch.randn(5, 5, generator=g, dtype=torch.float64) * 0.6
    inputs = scale * torch.randn(6, 5, generator=g, dtype=torch.float64)
    h0 = torch.randn(5, generator=g, dtype=torch.float64) * 0.3
    hs = [h0]
    for u in inputs:
        hs.append(torch.tanh(W @ hs[-1] + u))
    T = len(inputs)

    def run_from(d):  # h_T as a function of h_{T−d}
        def f(h):
            for u in inputs[T - d :]:
                h = torch.tanh(W @ h + u)
            return h

        return f

    expected = [
        torch.linalg.matrix_norm(torch.autograd.functional.jacobian(run_from(d), hs[T - d]), 2)
        for d in range(T + 1)
    ]
    got = hidden_jacobian_norms(W, inputs, h0)
    assert got.shape == (T + 1,) and got.dtype == torch.float64
    torch.testing.assert_close(got, torch.stack(expected))


def test_hidden_jacobian_norms_are_rho_to_the_d_in_the_linear_regime():
    from llmcourse.rnn import hidden_jacobian_norms

    g = torch.Generator().manual_seed(1)
    q = torch.linalg.qr(torch.randn(8, 8, generator=g, dtype=torch.float64))[0]  # orthogonal
    for rho in (0.8, 1.0, 1.2):
        norms = hidden_jacobian_norms(rho * q, torch.zeros(20, 8))
        torch.testing.assert_close(norms, rho ** torch.arange(21, dtype=torch.float64))
    with pytest.raises(ValueError, match="square"):
        hidden_jacobian_norms(torch.zeros(2, 3), torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"needs \(T, N=3\)"):
        hidden_jacobian_norms(torch.zeros(3, 3), torch.zeros(4, 2))


def test_rnnlm_targets_may_hold_ignore_index_for_padding():
    torch.manual_seed(0)
    model = RNNLM(vocab_size=7, embed_size=4, hidden_size=5)
    idx = torch.randint(0, 7, (2, 6))
    targets = idx.clone()
    targets[1, 3:] = -100  # padded positions
    _, loss, _ = model(idx, targets)
    logits, _, _ = model(idx)
    expected = F.cross_entropy(logits.reshape(-1, 7), targets.reshape(-1))
    assert torch.allclose(loss, expected)
