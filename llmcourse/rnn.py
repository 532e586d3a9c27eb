"""Recurrent networks (vanilla RNN, LSTM, GRU) from the equations, and a language model on them.

Chapter 03 (``chapters/03_rnn.ipynb``) teaches this file. Each cell computes one time step
from the equations in its docstring; ``RNN`` stacks cells and loops over time; ``RNNLM`` is
embedding → recurrent layers → linear head. The fast twins are ``nn.RNNCell``,
``nn.LSTMCell``, ``nn.GRUCell`` and ``nn.RNN``, ``nn.LSTM``, ``nn.GRU``: parameters have
torch's names and layouts, so ``from_torch`` and ``RNN.to_torch`` exchange weights exactly,
and ``tests/test_rnn.py`` proves both paths give the same outputs, states and gradients.
``bptt_scalar_rnn_grad`` is backpropagation through time done by hand for one scalar unit.

Shapes: B batch, T time; sizes are spelled out (``input_size``, ``hidden_size``) because the
course keeps H for attention heads. The stacked ``RNN`` is time-major, (T, B, input_size),
unless ``batch_first=True``, exactly like torch. Left out on purpose: bidirectional layers,
LSTM projections (``proj_size``), dropout between stacked layers (``RNNLM`` applies dropout
to the embeddings and to the top layer's output instead), and packed variable-length
sequences.

>>> rnn = RNN("lstm", input_size=10, hidden_size=20, num_layers=2)
>>> output, (h_n, c_n) = rnn(torch.randn(5, 3, 10))       # (T, B, input_size)
>>> tuple(output.shape), tuple(h_n.shape), tuple(c_n.shape)
((5, 3, 20), (2, 3, 20), (2, 3, 20))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: The recurrent layer kinds, named like ``nn.RNNBase.mode`` (lower case).
MODES = ("rnn_tanh", "rnn_relu", "lstm", "gru")

State = Tensor | tuple[Tensor, Tensor]  # h, or (h, c) for an LSTM
_LAYERS = "(num_layers, B, hidden_size)"


class _Cell(nn.Module):
    """Shared by the cells: torch's parameters for ``n_gates`` gates stacked row-wise.

    weight_ih: (n_gates·hidden_size, input_size), weight_hh: (n_gates·hidden_size,
    hidden_size), bias_ih and bias_hh: (n_gates·hidden_size,). Two bias vectors are one too
    many for the math (only their sum matters, except in the GRU's n gate), but torch keeps
    both, and so do we, so that weights exchange exactly.
    """

    n_gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__()
        for name, size in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(size, int) or size < 1:
                raise ValueError(f"{name} must be a positive integer, got {size!r}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        rows = self.n_gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(rows)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(rows)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's initialisation: every parameter ~ U(−1/√hidden_size, 1/√hidden_size)."""
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}"

    def _start(self, x: Tensor, state: State | None) -> State:
        """Check x (B, input_size) and the state; return the state (zeros if None)."""
        name, lstm = type(self).__name__, self.n_gates == 4
        if not isinstance(x, Tensor) or x.dim() != 2 or x.size(1) != self.input_size:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(
                f"x has shape {shape} but {name} expects (B, input_size={self.input_size}); "
                "for a single example use x[None]"
            )
        shape = (x.size(0), self.hidden_size)
        if state is None:
            h = x.new_zeros(shape)
            return (h, h) if lstm else h
        _check_state(state, lstm, shape, "(B, hidden_size)", name)
        return state

    def _gates(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """x W_ihᵀ + b_ih and h W_hhᵀ + b_hh, each (B, n_gates·hidden_size)."""
        return F.linear(x, self.weight_ih, self.bias_ih), F.linear(h, self.weight_hh, self.bias_hh)


class RNNCell(_Cell):
    """One step of a vanilla (Elman) RNN, like ``nn.RNNCell``.

        h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)       (relu instead of tanh if asked)

    forward(x (B, input_size), h (B, hidden_size) or None = zeros) -> h' (B, hidden_size).
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh"
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias)
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, nonlinearity={self.nonlinearity!r}"

    def forward(self, x: Tensor, state: Tensor | None = None) -> Tensor:
        gx, gh = self._gates(x, self._start(x, state))
        return torch.tanh(gx + gh) if self.nonlinearity == "tanh" else torch.relu(gx + gh)


class LSTMCell(_Cell):
    """One step of an LSTM, like ``nn.LSTMCell``. Gates stacked in torch's order i, f, g, o.

        i = σ(x W_iiᵀ + b_ii + h W_hiᵀ + b_hi)     input gate: how much new content to write
        f = σ(x W_ifᵀ + b_if + h W_hfᵀ + b_hf)     forget gate: how much old memory to keep
        g = tanh(x W_igᵀ + b_ig + h W_hgᵀ + b_hg)  candidate content
        o = σ(x W_ioᵀ + b_io + h W_hoᵀ + b_ho)     output gate: how much memory to show
        c' = f ⊙ c + i ⊙ g
        h' = o ⊙ tanh(c')

    weight_ih is [W_ii; W_if; W_ig; W_io] (4·hidden_size, input_size), and likewise
    weight_hh, bias_ih = [b_ii; b_if; b_ig; b_io] and bias_hh = [b_hi; b_hf; b_hg; b_ho].
    forward(x (B, input_size), (h, c) each (B, hidden_size), or None = zeros) -> (h', c').
    """

    n_gates = 4

    def forward(
        self, x: Tensor, state: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        h, c = self._start(x, state)
        gx, gh = self._gates(x, h)
        i, f, g, o = (gx + gh).chunk(4, dim=1)  # each (B, hidden_size)
        c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_next = torch.sigmoid(o) * torch.tanh(c_next)
        return h_next, c_next


class GRUCell(_Cell):
    """One step of a GRU, exactly torch's formulation (``nn.GRUCell``): gates r, z, n.

        r = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr)           reset gate
        z = σ(x W_izᵀ + b_iz + h W_hzᵀ + b_hz)           update gate
        n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn))   candidate
        h' = (1 − z) ⊙ n + z ⊙ h

    Note where r acts: on h's contribution *after* its matrix product and bias b_hn (the
    cuDNN form). The original paper resets h first, tanh(W_in x + W_hn (r ⊙ h) + b); that
    gives different numbers. Here b_in and b_hn are not interchangeable, which is why both
    bias vectors are kept. Layout as in ``LSTMCell``, in the order r, z, n.
    forward(x (B, input_size), h (B, hidden_size) or None = zeros) -> h' (B, hidden_size).
    """

    n_gates = 3

    def forward(self, x: Tensor, state: Tensor | None = None) -> Tensor:
        h = self._start(x, state)
        gx, gh = self._gates(x, h)
        x_r, x_z, x_n = gx.chunk(3, dim=1)  # each (B, hidden_size)
        h_r, h_z, h_n = gh.chunk(3, dim=1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        return (1 - z) * n + z * h


class RNN(nn.Module):
    """Stacked recurrent layers looped over time; same shapes and numbers as ``nn.RNN``,
    ``nn.LSTM`` and ``nn.GRU``.

    mode: one of ``MODES`` ("rnn" is short for "rnn_tanh"). Layer 0 reads x; layer k > 0
    reads layer k − 1's hidden states. Parameters: ``cells[k].weight_ih`` is torch's
    ``weight_ih_l{k}``, and so on.

    forward(x, state=None) -> (output, state):
      x: (T, B, input_size), or (B, T, input_size) if batch_first, or (T, input_size) for
      one unbatched sequence; state: h (num_layers, B, hidden_size) — (h, c) for an LSTM —
      (num_layers, hidden_size) when unbatched; None = zeros.
      output: the top layer's h at every step, (T, B, hidden_size) (or batch_first);
      state: every layer's last step, same shapes as the state argument.
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
    ) -> None:
        super().__init__()
        self.mode = _check_mode(mode)
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"num_layers must be a positive integer, got {num_layers!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bias, batch_first
        sizes = [input_size] + [hidden_size] * (num_layers - 1)  # what each layer reads
        if self.mode.startswith("rnn"):
            act = self.mode[4:]
            cells = [RNNCell(size, hidden_size, bias, nonlinearity=act) for size in sizes]
        else:
            cls = LSTMCell if self.mode == "lstm" else GRUCell
            cells = [cls(size, hidden_size, bias) for size in sizes]
        self.cells = nn.ModuleList(cells)

    def extra_repr(self) -> str:
        return (
            f"{self.mode!r}, {self.input_size}, {self.hidden_size}, num_layers="
            f"{self.num_layers}, bias={self.bias}, batch_first={self.batch_first}"
        )

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        lstm = self.mode == "lstm"
        if self._check_input(x):  # one unbatched sequence: run a batch of one, as torch does
            if state is not None:  # torch's rule: an unbatched x takes an unbatched state
                shape = (self.num_layers, self.hidden_size)
                _check_state(state, lstm, shape, "(num_layers, hidden_size)", "this RNN")
                state = _map_state(lambda s: s.unsqueeze(1), state)
            batch_dim = 0 if self.batch_first else 1
            output, state = self(x.unsqueeze(batch_dim), state)
            return output.squeeze(batch_dim), _map_state(lambda s: s.squeeze(1), state)
        if self.batch_first:
            x = x.transpose(0, 1)  # (T, B, input_size)
        T, B, _ = x.shape
        if state is None:
            h0 = x.new_zeros(self.num_layers, B, self.hidden_size)
            state = (h0, h0) if lstm else h0
        _check_state(state, lstm, (self.num_layers, B, self.hidden_size), _LAYERS, "this RNN")
        finals = []
        for k, cell in enumerate(self.cells):
            s = (state[0][k], state[1][k]) if lstm else state[k]  # layer k's (B, hidden_size)
            outputs = []
            for t in range(T):
                s = cell(x[t], s)
                outputs.append(s[0] if lstm else s)  # h: (B, hidden_size)
            x = torch.stack(outputs)  # (T, B, hidden_size): the next layer's input
            finals.append(s)
        if lstm:
            state = (torch.stack([h for h, _ in finals]), torch.stack([c for _, c in finals]))
        else:
            state = torch.stack(finals)  # (num_layers, B, hidden_size)
        return (x.transpose(0, 1) if self.batch_first else x), state

    def _check_input(self, x: Tensor) -> bool:
        """Raise a clear error for a wrong x; return True if x is one unbatched sequence."""
        layout = "(B, T, input_size)" if self.batch_first else "(T, B, input_size)"
        if not isinstance(x, Tensor) or x.dim() not in (2, 3):
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(
                f"x has shape {shape} but this RNN expects {layout}, or (T, input_size) for "
                "one unbatched sequence"
            )
        if x.size(-1) != self.input_size:
            raise ValueError(
                f"x has shape {tuple(x.shape)} but this RNN expects input_size "
                f"{self.input_size} in the last dimension"
            )
        if not x.is_floating_point():
            raise ValueError(f"x must be a floating-point tensor, got {x.dtype}")
        if x.numel() == 0:
            raise ValueError(f"x has shape {tuple(x.shape)}: it needs T >= 1 steps and B >= 1")
        return x.dim() == 2

    def to_torch(self) -> nn.RNN | nn.LSTM | nn.GRU:
        """The built-in module with the same settings and (copied) weights."""
        args = (self.input_size, self.hidden_size, self.num_layers)
        kwargs = {"bias": self.bias, "batch_first": self.batch_first}
        if self.mode.startswith("rnn"):
            module = nn.RNN(*args, nonlinearity=self.mode[4:], **kwargs)
        else:
            module = (nn.LSTM if self.mode == "lstm" else nn.GRU)(*args, **kwargs)
        ref = self.cells[0].weight_ih
        module.to(device=ref.device, dtype=ref.dtype)
        _copy_weights(self, module, to_torch=True)
        return module


def from_torch(module: nn.RNN | nn.LSTM | nn.GRU) -> RNN:
    """The from-scratch ``RNN`` with the settings and (copied) weights of a torch module.

    Refuses, with a ValueError, the features this file leaves out: bidirectional,
    proj_size > 0 and dropout > 0.
    """
    if not isinstance(module, nn.RNN | nn.LSTM | nn.GRU):
        raise TypeError(f"from_torch takes an nn.RNN, nn.LSTM or nn.GRU, got {type(module)}")
    unsupported = ["bidirectional=True"] if module.bidirectional else []
    if module.proj_size:
        unsupported.append(f"proj_size={module.proj_size}")
    if module.dropout:
        unsupported.append(f"dropout={module.dropout}")
    if unsupported:
        raise ValueError(
            f"from_torch cannot convert a module with {', '.join(unsupported)}: the "
            "from-scratch RNN leaves these out on purpose; build the torch module without them"
        )
    sizes = (module.input_size, module.hidden_size, module.num_layers)
    rnn = RNN(module.mode.lower(), *sizes, bias=module.bias, batch_first=module.batch_first)
    rnn.to(device=module.weight_ih_l0.device, dtype=module.weight_ih_l0.dtype)
    _copy_weights(rnn, module, to_torch=False)
    return rnn


def _copy_weights(rnn: RNN, module: nn.RNNBase, to_torch: bool) -> None:
    with torch.no_grad():
        for k, cell in enumerate(rnn.cells):
            for name, ours in cell.named_parameters():
                theirs = getattr(module, f"{name}_l{k}")  # torch's name: weight_ih_l0, ...
                source, target = (ours, theirs) if to_torch else (theirs, ours)
                target.copy_(source)


def detach_state(state: State | None) -> State | None:
    """Cut the graph behind a recurrent state (h, or LSTM (h, c)) but keep its values.

    Truncated BPTT: carry the state from one batch into the next, detached, so that the
    backward pass stops at the batch boundary instead of running back to the start.
    """
    return None if state is None else _map_state(Tensor.detach, state)


class RNNLM(nn.Module):
    """A recurrent language model: embedding → recurrent layers → linear head to logits.

    cell: a mode of ``RNN`` ("lstm", "gru", "rnn_tanh" = "rnn", "rnn_relu"). ``fast=True``
    runs the layers with the built-in module (``nn.LSTM`` ..., batch_first), ``fast=False``
    with the from-scratch ``RNN``; both start from the same initial weights for the same
    seed, and ``use_fast`` switches an existing model without changing its weights. Dropout
    (probability ``dropout``) is applied to the embeddings and to the top layer's output.
    """

    def __init__(
        self,
        vocab_size: int,
        embed_size: int = 64,
        hidden_size: int = 128,
        num_layers: int = 1,
        cell: str = "lstm",
        fast: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.vocab_size, self.cell = vocab_size, _check_mode(cell, "cell")
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.drop = nn.Dropout(dropout)
        self.rnn: nn.Module = RNN(self.cell, embed_size, hidden_size, num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)
        self.use_fast(fast)

    @property
    def fast(self) -> bool:
        """True if the recurrent layers are torch's built-in module."""
        return not isinstance(self.rnn, RNN)

    def use_fast(self, fast: bool = True) -> RNNLM:
        """Swap the recurrent layers to the built-in (True) or from-scratch (False) module,
        keeping the weights. Swap before creating an optimizer: the parameters are new
        objects. (State dicts differ between the two: ``rnn.weight_ih_l0`` vs
        ``rnn.cells.0.weight_ih``.)"""
        if fast != self.fast:
            self.rnn = self.rnn.to_torch() if fast else from_torch(self.rnn)
            self.rnn.train(self.training)
        return self

    def forward(
        self, idx: Tensor, targets: Tensor | None = None, state: State | None = None
    ) -> tuple[Tensor, Tensor | None, State]:
        """idx, targets: (B, T) token ids; state: from a previous call (detach it first) or
        None. Returns logits (B, T, V), the mean cross-entropy over all B·T positions (None
        without targets), and the final recurrent state."""
        self._check_ids(idx, "idx")
        if state is not None:  # checked here for both paths: nn.LSTM's own error is terse
            shape = (self.rnn.num_layers, idx.size(0), self.rnn.hidden_size)
            _check_state(state, self.cell == "lstm", shape, _LAYERS, "this RNNLM")
        x = self.drop(self.embed(idx))  # (B, T, embed_size)
        out, state = self.rnn(x, state)  # (B, T, hidden_size)
        logits = self.head(self.drop(out))  # (B, T, V)
        loss = None
        if targets is not None:
            self._check_ids(targets, "targets")
            if targets.shape != idx.shape:
                raise ValueError(
                    f"targets has shape {tuple(targets.shape)} but idx has shape "
                    f"{tuple(idx.shape)}; there is one target (the next id) per position"
                )
            loss = F.cross_entropy(logits.reshape(-1, self.vocab_size), targets.reshape(-1))
        return logits, loss, state

    @torch.no_grad()
    def generate(
        self,
        idx: Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Extend idx (B, T) by sampling ``max_new_tokens`` ids -> (B, T + max_new_tokens).

        The prompt is read once; then each step feeds only the newest id and the carried
        state (no re-reading of the prefix). Call ``model.eval()`` first if it has dropout.
        """
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        context, state = idx, None
        for _ in range(max_new_tokens):
            logits, _, state = self(context, state=state)  # (B, t, V)
            probs = F.softmax(logits[:, -1] / temperature, dim=-1)  # (B, V)
            context = torch.multinomial(probs, 1, generator=generator)  # (B, 1)
            idx = torch.cat([idx, context], dim=1)
        return idx

    def _check_ids(self, ids: Tensor, name: str) -> None:
        ok = isinstance(ids, Tensor) and ids.dim() == 2 and ids.size(1) > 0
        if not ok or ids.is_floating_point() or ids.dtype == torch.bool:
            got = f"{tuple(ids.shape)} {ids.dtype}" if isinstance(ids, Tensor) else type(ids)
            raise ValueError(f"{name} must be a (B, T) LongTensor of ids with T >= 1, got {got}")
        if ids.device.type != "cpu":
            return  # min/max would make the GPU wait every step; nn.Embedding asserts there
        if name == "targets":
            ids = ids[ids != -100]  # F.cross_entropy's ignore_index: padding, not a token
            if ids.numel() == 0:
                return
        lo, hi = int(ids.min()), int(ids.max())
        if lo < 0 or hi >= self.vocab_size:
            raise ValueError(
                f"{name} holds id {lo if lo < 0 else hi} but vocab_size is {self.vocab_size}; "
                f"ids must be in 0..{self.vocab_size - 1}"
            )


def bptt_scalar_rnn_grad(
    xs: Sequence[float], y: float, w_x: float, w_h: float, b: float, h0: float = 0.0
) -> tuple[float, list[float]]:
    """dL/dw_h for a one-unit RNN, by backpropagation through time with plain floats.

        h_t = tanh(w_x x_t + w_h h_{t−1} + b),  t = 1..T;   L = ½ (h_T − y)²

    w_h is used at every step, so dL/dw_h = Σ_k (its use at step k); going backward, δ_t =
    dL/dh_t starts at h_T − y and picks up a factor ∂h_t/∂h_{t−1} = (1 − h_t²) w_h per step:

        term_k = δ_k (1 − h_k²) h_{k−1},    δ_{k−1} = δ_k (1 − h_k²) w_h

    Returns (dL/dw_h, [term_1, ..., term_T]); the terms of early steps shrink
    geometrically when |(1 − h²) w_h| < 1 — the vanishing gradient.
    """
    hs = [h0]
    for x in xs:  # forward: h_1 .. h_T
        hs.append(math.tanh(w_x * x + w_h * hs[-1] + b))
    terms = [0.0] * len(xs)
    delta = hs[-1] - y  # dL/dh_T
    for k in range(len(xs), 0, -1):  # backward: k = T .. 1
        delta_a = delta * (1 - hs[k] ** 2)  # dL/d(pre-activation at step k)
        terms[k - 1] = delta_a * hs[k - 1]
        delta = delta_a * w_h  # dL/dh_{k−1}
    return sum(terms), terms


def _check_mode(mode: str, what: str = "mode") -> str:
    mode = "rnn_tanh" if mode == "rnn" else mode
    if mode not in MODES:
        raise ValueError(f"unknown {what} {mode!r}; use one of {', '.join(MODES)} (or 'rnn')")
    return mode


def _check_state(state: object, lstm: bool, shape: tuple[int, ...], layout: str, who: str) -> None:
    """Raise a clear ValueError unless state is h (or (h, c) if lstm) of the given shape."""
    if lstm and not (isinstance(state, tuple | list) and len(state) == 2):
        raise ValueError(f"an LSTM state is a pair (h, c), each {layout}; got {_describe(state)}")
    if not lstm and not isinstance(state, Tensor):
        raise ValueError(
            f"this state is one tensor h {layout} = {shape} (only an LSTM's is a pair "
            f"(h, c)); got {_describe(state)}"
        )
    for name, s in zip("hc", state if lstm else [state]):
        if not isinstance(s, Tensor) or tuple(s.shape) != shape:
            raise ValueError(f"state {name} is {_describe(s)} but {who} expects {layout} = {shape}")


def _map_state(fn: Callable[[Tensor], Tensor], state: State) -> State:
    """fn applied to h, or to both h and c of an LSTM state."""
    return tuple(fn(s) for s in state) if isinstance(state, tuple | list) else fn(state)


def _describe(obj: object) -> str:
    return (
        f"a tensor of shape {tuple(obj.shape)}"
        if isinstance(obj, Tensor)
        else f"a {type(obj).__name__}"
    )


@torch.no_grad()
def hidden_jacobian_norms(weight_hh: Tensor, inputs: Tensor, h0: Tensor | None = None) -> Tensor:
    """‖∂h_T/∂h_{T−d}‖ for d = 0..T: how much a gradient at the last state can grow or shrink
    on its way back d steps through the tanh RNN h_t = tanh(W_hh h_{t−1} + u_t).

    weight_hh: (N, N), the recurrent matrix W_hh; inputs: (T, N), what each step adds,
    u_t = W_ih x_t + b (zeros keep the RNN in tanh's linear regime around h = 0); h0: (N,),
    zeros if None. By the chain rule the Jacobian is a product of one factor per step,

        ∂h_T/∂h_{T−d} = J_T J_{T−1} ⋯ J_{T−d+1},    J_k = ∂h_k/∂h_{k−1} = diag(1 − h_k²) W_hh,

    and its spectral norm (largest singular value) is the most any gradient can be scaled.
    Returns (T + 1,) float64; entry 0 is 1. Chapter 03 plots it for W_hh of spectral radius
    below, at and above 1.

    >>> q = torch.linalg.qr(torch.randn(4, 4, dtype=torch.float64))[0]   # orthogonal
    >>> norms = hidden_jacobian_norms(0.5 * q, torch.zeros(3, 4))        # ρ^d when u = 0
    >>> [round(n, 6) for n in norms.tolist()]
    [1.0, 0.5, 0.25, 0.125]
    """
    if weight_hh.dim() != 2 or weight_hh.size(0) != weight_hh.size(1):
        raise ValueError(f"weight_hh must be a square (N, N) matrix, got {tuple(weight_hh.shape)}")
    N = weight_hh.size(0)
    if inputs.dim() != 2 or inputs.size(1) != N:
        raise ValueError(f"inputs has shape {tuple(inputs.shape)} but W_hh needs (T, N={N})")
    W = weight_hh.detach().double()
    h = torch.zeros(N, dtype=torch.float64) if h0 is None else h0.detach().double()
    gains = []  # 1 − h_k² for k = 1..T: tanh's slope at each step
    for u in inputs.detach().double():
        h = torch.tanh(W @ h + u)
        gains.append(1 - h**2)
    J, norms = torch.eye(N, dtype=torch.float64), [1.0]
    for gain in reversed(gains):  # k = T .. 1: ∂h_T/∂h_{k−1} = ∂h_T/∂h_k · J_k
        J = J @ (gain[:, None] * W)
        norms.append(float(torch.linalg.matrix_norm(J, ord=2)))
    return torch.tensor(norms, dtype=torch.float64)
