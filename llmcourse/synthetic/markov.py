"""``MarkovSource``: text from a random Markov chain whose entropy rate is known exactly.

Chapter 02 (``chapters/02_language_models_and_cross_entropy.ipynb``) teaches this file: a
random order-k Markov chain over ``vocab_size`` symbols whose entropy rate, the best loss
any model can reach on its text, is computed exactly. A language model trained on its
samples can then be judged against the truth instead of against another model.
``tests/test_synthetic.py`` checks the exact numbers against Monte Carlo estimates from long
samples. Left out on purpose: hidden-state (HMM) sources, variable-order contexts, and
sources whose symbols are real words.

>>> source = MarkovSource(vocab_size=4, order=1, seed=0)
>>> len(source.text(20, seed=0))
20
"""

from __future__ import annotations

import bisect
import math
import string
from collections.abc import Sequence

import torch
from torch import Tensor

#: Symbols used by ``MarkovSource.decode`` and ``text``: a-z, A-Z, 0-9 (62 at most).
ALPHABET = string.ascii_lowercase + string.ascii_uppercase + string.digits
#: Largest transition table a ``MarkovSource`` builds: V**(order+1) probabilities, 80 MB.
MAX_TABLE_ENTRIES = 10**7
#: Up to this many contexts the stationary distribution is an exact linear solve.
DENSE_LIMIT = 1024


class MarkovSource:
    """An order-``order`` Markov chain over the symbols 0..V-1 with random transitions.

    For each of the V**order contexts (the previous ``order`` symbols) the distribution of
    the next symbol is drawn from a symmetric Dirichlet(``concentration``) with a
    ``torch.Generator`` seeded by ``seed``: the same arguments give the same source on
    every machine, whatever the global RNG. Small concentrations (0.1) give peaked, very
    predictable rows; 1.0 draws every distribution equally often; large values (100) give
    nearly uniform rows, entropy rate close to log V. The default 0.5 sits in between.

    Attributes: ``vocab_size`` (V), ``order`` (k), ``n_contexts`` (V**k), ``probs``
    (V**k, V) float64: row c is P(next | context c), where the symbols of context c, oldest
    first, are the base-V digits of c (order 0: a single row).
    """

    def __init__(
        self, vocab_size: int, order: int = 1, concentration: float = 0.5, seed: int = 0
    ) -> None:
        _check_int(vocab_size, "vocab_size", 2, "a source needs at least two symbols")
        _check_int(order, "order", 0, "order 0 means symbols are drawn independently")
        if not (isinstance(concentration, (int, float)) and 0 < concentration < math.inf):
            raise ValueError(
                f"concentration must be a positive number, got {concentration!r}; "
                "use e.g. 0.1 (predictable) to 10 (nearly uniform)"
            )
        entries = vocab_size ** (order + 1)
        if entries > MAX_TABLE_ENTRIES:
            raise ValueError(
                f"vocab_size={vocab_size} and order={order} need {vocab_size}**{order} = "
                f"{vocab_size**order:,} contexts × {vocab_size} symbols = {entries:,} "
                f"probabilities, more than the limit of {MAX_TABLE_ENTRIES:,}; lower the "
                "order or the vocab_size"
            )
        g = torch.Generator().manual_seed(seed)
        probs = _dirichlet_rows((vocab_size**order, vocab_size), float(concentration), g)
        self.concentration, self.seed = float(concentration), seed
        self._setup(probs, order)

    @classmethod
    def from_table(cls, probs: Tensor, order: int = 1) -> MarkovSource:
        """A source with a hand-made table ``probs`` of shape (V**order, V), rows summing to 1.

        >>> cycle = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
        >>> MarkovSource.from_table(cycle).text(7, seed=0) in ("abcabca", "bcabcab", "cabcabc")
        True
        """
        _check_int(order, "order", 0, "order 0 means symbols are drawn independently")
        probs = torch.as_tensor(probs, dtype=torch.float64)
        V = probs.shape[-1] if probs.ndim == 2 else 0
        if probs.ndim != 2 or V < 2 or probs.shape[0] != V**order:
            raise ValueError(
                f"probs must have shape (V**order, V) with V >= 2, got {tuple(probs.shape)} "
                f"for order={order}"
            )
        error = (probs.sum(1) - 1).abs()  # (C,)
        if (probs < 0).any() or (error > 1e-6).any():
            row = int(((probs < 0).any(1) | (error > 1e-6)).nonzero()[0])
            raise ValueError(
                f"every row of probs must be non-negative and sum to 1, but row {row} is "
                f"{probs[row].tolist()}; normalize with probs / probs.sum(1, keepdim=True)"
            )
        source = cls.__new__(cls)
        source.concentration = source.seed = None
        source._setup(probs / probs.sum(1, keepdim=True), order)
        return source

    def _setup(self, probs: Tensor, order: int) -> None:
        self.vocab_size, self.order = probs.shape[1], order
        self.n_contexts = probs.shape[0]
        self.probs = probs  # (C, V) float64
        self._stationary = _stationary(probs, order)  # (C,) float64

    def __repr__(self) -> str:
        how = f"concentration={self.concentration:g}, seed={self.seed}"
        if self.concentration is None:
            how = "hand-made table"
        return f"MarkovSource(vocab_size={self.vocab_size}, order={self.order}, {how})"

    # ---------------------------------------------------------------- exact quantities

    def stationary_distribution(self) -> Tensor:
        """π over contexts, (V**order,) float64: π P = π for the chain of contexts.

        Up to ``DENSE_LIMIT`` contexts it is an exact linear solve of π (P - I) = 0,
        Σ π = 1 (works for periodic chains too); above that, power iteration on the lazy
        chain (P + I) / 2 until it moves less than 1e-13. A chain whose contexts cannot all
        reach each other has no unique π: the exact solve refuses it when the source is
        built (above ``DENSE_LIMIT`` only if the iteration does not settle).
        """
        return self._stationary.clone()

    def entropy_rate(self) -> float:
        """h = Σ_c π(c) · H(next | c) in nats per symbol, exact (float64).

        No model of this source's text can have a lower long-run mean loss than h.
        """
        row_entropy = -torch.special.xlogy(self.probs, self.probs).sum(1)  # (C,)
        return float(self._stationary @ row_entropy)

    def estimate_std(self, n: int) -> float:
        """Standard deviation of the Monte Carlo estimate -log p(x) / n from n symbols.

        From the central limit theorem for Markov chains: -log p(x) - n·h is, up to terms
        that stay bounded as n grows (the first ``order`` symbols, the chain's start and end),
        a sum of n uncorrelated steps whose variance we compute exactly (a Poisson equation
        on the chain). Needs at most ``DENSE_LIMIT`` contexts.
        """
        _check_int(n, "n", 1, "the estimate needs at least one symbol")
        if self.n_contexts > DENSE_LIMIT:
            raise ValueError(f"estimate_std needs at most {DENSE_LIMIT} contexts")
        P, pi = self.probs, self._stationary  # (C, V), (C,)
        nll = torch.where(P > 0, -P.log(), torch.zeros_like(P))  # (C, V), -log p
        row_entropy = (P * nll).sum(1)  # (C,)
        g = row_entropy - pi @ row_entropy  # (C,), mean 0 under π
        M = _context_matrix(P)  # (C, C)
        C = self.n_contexts
        u = torch.linalg.solve(torch.eye(C, dtype=P.dtype) - M + pi[None, :], g)  # (I-M)u = g
        step = nll - row_entropy[:, None] + u[_next_context(C, self.vocab_size)] - (M @ u)[:, None]
        return math.sqrt(float(pi @ (P * step**2).sum(1)) / n)

    def log_prob(self, seq: Tensor | Sequence[int]) -> float:
        """Exact total log-probability (nats) of ``seq`` (N,) under the source.

        The first ``order`` symbols are scored by the stationary distribution (how
        ``sample`` starts), every later one by P(x_t | previous ``order`` symbols).
        """
        seq = self._as_ids(seq)  # (N,)
        V, k, N = self.vocab_size, self.order, len(seq)
        logp = torch.where(self.probs > 0, self.probs.log(), -math.inf)  # (C, V)
        head = min(k, N)
        total = 0.0
        if head:  # marginal of the first `head` symbols of a stationary context
            pi = self._stationary.reshape((V,) * k)  # (V, ..., V), one axis per symbol
            if head < k:  # (torch sums over everything when given dim=())
                pi = pi.sum(dim=tuple(range(head, k)))
            total += math.log(pi[tuple(seq[:head].tolist())].item())
        if N > k:
            contexts = torch.zeros(N - k, dtype=torch.long)  # (N-k,) order 0: row 0
            if k:
                powers = V ** torch.arange(k - 1, -1, -1)  # (k,) base-V digit weights
                contexts = (seq.unfold(0, k, 1)[: N - k] * powers).sum(1)
            total += float(logp[contexts, seq[k:]].sum())
        return total

    # ---------------------------------------------------------------------- sampling

    def sample(self, n: int, seed: int | None = None) -> Tensor:
        """n symbols (n,) int64 from the chain, started from the stationary distribution.

        ``seed``: an int makes the sample reproducible on its own; None draws from torch's
        global RNG (so ``seed_everything`` controls it). A plain Python loop with a binary
        search per symbol: about 0.25 s per 10^6 symbols on a 2-core CPU.
        """
        _check_int(n, "n", 0, "ask for 0 or more symbols")
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        V, k = self.vocab_size, self.order
        if n == 0:
            return torch.zeros(0, dtype=torch.long)
        if k == 0:
            return torch.multinomial(self.probs[0], n, replacement=True, generator=g)
        context = int(torch.multinomial(self._stationary, 1, generator=g))
        out = [context // V ** (k - 1 - j) % V for j in range(k)][:n]  # its digits, oldest first
        cdf = self.probs.cumsum(1)  # (C, V)
        cdf[:, -1] = 1.0  # guard against rounding: a uniform u < 1 always lands in a row
        rows: dict[int, list[float]] = {}  # CDF rows as lists, made when first visited
        keep = V ** (k - 1)  # dropping the oldest symbol: context % keep
        for u in torch.rand(n - len(out), generator=g, dtype=torch.float64).tolist():
            row = rows.get(context)
            if row is None:
                row = rows[context] = cdf[context].tolist()
            symbol = bisect.bisect_right(row, u)  # first s with cdf[s] > u
            out.append(symbol)
            context = context % keep * V + symbol
        return torch.tensor(out, dtype=torch.long)

    def decode(self, ids: Tensor | Sequence[int]) -> str:
        """Symbols as letters: 0 -> "a", 1 -> "b", ... (``ALPHABET``, V <= 62)."""
        if self.vocab_size > len(ALPHABET):
            raise ValueError(
                f"decode shows at most {len(ALPHABET)} symbols as letters, this source has "
                f"{self.vocab_size}; work with the ids from sample() instead"
            )
        return "".join(ALPHABET[i] for i in self._as_ids(ids).tolist())

    def text(self, n: int, seed: int | None = None) -> str:
        """``decode(sample(n, seed))``: n symbols as a string of letters, for display."""
        return self.decode(self.sample(n, seed))

    def _as_ids(self, seq: Tensor | Sequence[int]) -> Tensor:
        empty = not isinstance(seq, Tensor) and len(seq) == 0  # [] would become float32
        seq = torch.zeros(0, dtype=torch.long) if empty else torch.as_tensor(seq)
        if seq.ndim != 1 or seq.dtype.is_floating_point or seq.dtype == torch.bool:
            raise ValueError(
                f"expected a 1-D sequence of integer symbols, got {seq.dtype} "
                f"of shape {tuple(seq.shape)}"
            )
        if len(seq) and (seq.min() < 0 or seq.max() >= self.vocab_size):
            raise ValueError(
                f"symbols must be in 0..{self.vocab_size - 1}, got values "
                f"{int(seq.min())}..{int(seq.max())}"
            )
        return seq.long()


# ------------------------------------------------------------------------- helpers


def _check_int(value: object, name: str, minimum: int, hint: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}; {hint}")


def _dirichlet_rows(shape: tuple[int, int], alpha: float, g: torch.Generator) -> Tensor:
    """Rows ~ Dirichlet(alpha, ..., alpha), float64: independent Gamma(alpha) draws, normalized.

    Gamma(α) = Gamma(α + 1) · U^(1/α). In log space this never underflows, so even α = 1e-3
    gives proper rows (nearly one-hot) instead of 0 / 0.
    """
    log_gamma = _log_gamma_at_least_one(alpha + 1, shape, g)
    log_gamma += torch.rand(shape, generator=g, dtype=torch.float64).log() / alpha
    return torch.softmax(log_gamma, dim=-1)


def _log_gamma_at_least_one(a: float, shape: tuple[int, int], g: torch.Generator) -> Tensor:
    """log of Gamma(a) draws for a >= 1 (Marsaglia and Tsang's squeeze-free rejection)."""
    d = a - 1 / 3
    c = 1 / math.sqrt(9 * d)
    out = torch.empty(math.prod(shape), dtype=torch.float64)
    todo = torch.arange(out.numel())
    while todo.numel():  # each round accepts > 95% of the rest
        x = torch.randn(todo.numel(), generator=g, dtype=torch.float64)
        u = torch.rand(todo.numel(), generator=g, dtype=torch.float64)
        v = (1 + c * x) ** 3
        ok = (v > 0) & (u.log() < 0.5 * x**2 + d - d * v + d * v.clamp(min=1e-300).log())
        out[todo[ok]] = math.log(d) + v[ok].log()
        todo = todo[~ok]
    return out.reshape(shape)


def _next_context(C: int, V: int) -> Tensor:
    """(C, V) int64: the context after context c emits symbol s (drop oldest, append s)."""
    if C < V:  # order 0: the only context is 0
        return torch.zeros(C, V, dtype=torch.long)
    return (torch.arange(C) % (C // V) * V)[:, None] + torch.arange(V)  # C // V = V**(order-1)


def _context_matrix(probs: Tensor) -> Tensor:
    """(C, C) dense transition matrix of the chain of contexts."""
    C, V = probs.shape
    return torch.zeros(C, C, dtype=probs.dtype).scatter_add_(1, _next_context(C, V), probs)


def _step(pi: Tensor, probs: Tensor) -> Tensor:
    """π P for the chain of contexts without building P: (C,) -> (C,), order >= 1."""
    C, V = probs.shape  # context c = (oldest symbol a, rest r) moves to (r, s)
    return (pi[:, None] * probs).reshape(V, C // V, V).sum(0).reshape(C)


def _stationary(probs: Tensor, order: int) -> Tensor:
    C = probs.shape[0]
    if order == 0:
        return torch.ones(1, dtype=probs.dtype)
    if C <= DENSE_LIMIT:
        A = _context_matrix(probs).T - torch.eye(C, dtype=probs.dtype)
        A[-1] = 1.0  # replace one (redundant) balance equation by Σ π = 1
        try:
            pi = torch.linalg.solve(A, torch.eye(C, dtype=probs.dtype)[-1])
        except torch.linalg.LinAlgError:  # singular: more than one stationary π
            pi = torch.full((C,), math.nan, dtype=probs.dtype)
    else:
        pi = torch.full((C,), 1 / C, dtype=probs.dtype)
        for _ in range(20_000):
            new = 0.5 * (pi + _step(pi, probs))  # lazy chain: same π, never periodic
            pi, done = new, (new - pi).abs().sum() < 1e-13
            if done:
                break
    if (
        not (torch.isfinite(pi).all() and pi.min() > -1e-9)
        or (_step(pi, probs) - pi).abs().sum() > 1e-9
    ):
        raise ValueError(
            "this chain has no unique stationary distribution (some contexts cannot reach "
            "others, or it mixes too slowly to compute); use a larger concentration or a "
            "table whose contexts all lead to each other"
        )
    pi = pi.clamp(min=0)
    return pi / pi.sum()
