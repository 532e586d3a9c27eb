"""A count-based n-gram language model over integer token ids, with add-k smoothing.

Chapter 02 (``chapters/02_language_models_and_cross_entropy.ipynb``) teaches this file: the
model predicts token t from the n-1 tokens before it by counting how often each n-gram
occurred in training. ``tests/test_ngram.py`` checks its probabilities by hand on small
sequences and shows that, trained on a ``llmcourse.synthetic.MarkovSource`` of the same
order, its held-out loss comes down to the source's exact entropy rate. Left out on purpose:
backoff and interpolation (Katz, Kneser-Ney), beginning/end-of-sequence tokens, and any
string handling (tokenize first; ids in, ids out).

With c(·) the training counts, V the vocabulary size and k >= 0:

    P(w | context) = (c(context, w) + k) / (c(context) + k·V)

and a context never seen in training gets the uniform distribution 1/V (the same as the
formula for any k > 0, and the only sensible choice when k = 0).

>>> model = NGramLM.train([0, 1, 0, 1, 0, 2], n=2, vocab_size=3, k=0.0)
>>> model.prob((0,), 1)     # 0 was followed by 1 twice and by 2 once
0.6666666666666666
"""

from __future__ import annotations

import bisect
import math
import numbers
from collections import Counter, defaultdict
from collections.abc import Sequence

import torch
from torch import Tensor

Ids = Tensor | Sequence[int]  # a 1-D LongTensor or a list of ints


class NGramLM:
    """An n-gram model: ``counts[context][w]`` is how often token w followed ``context``.

    Attributes: ``n`` (the model looks at n-1 previous tokens; n = 1 is a unigram model
    whose only context is ``()``), ``vocab_size`` (V), ``k`` (add-k smoothing), ``counts``
    (dict: context tuple of n-1 ids -> Counter of next ids; only contexts seen in training
    are stored, so memory grows with the corpus, not with V**(n-1)).
    """

    def __init__(self, n: int, vocab_size: int, k: float, counts: dict) -> None:
        _check_settings(n, vocab_size, k)
        self.n, self.vocab_size, self.k = n, vocab_size, float(k)
        self.counts: dict[tuple[int, ...], Counter[int]] = counts
        self._totals = {context: sum(c.values()) for context, c in counts.items()}

    @classmethod
    def train(cls, ids: Ids, n: int, vocab_size: int, k: float = 1.0) -> NGramLM:
        """Count every n-gram of ``ids`` (N,) with N >= n, all ids in 0..vocab_size-1.

        >>> NGramLM.train([3, 1, 4, 1, 5], n=2, vocab_size=6).counts[(1,)]
        Counter({4: 1, 5: 1})
        """
        _check_settings(n, vocab_size, k)
        tokens = _as_id_list(ids, vocab_size, "ids")
        if len(tokens) < n:
            raise ValueError(
                f"the corpus has {len(tokens)} tokens, but an n={n} model needs at least {n} "
                "to see one n-gram; train on more text or use a smaller n"
            )
        counts: defaultdict[tuple[int, ...], Counter[int]] = defaultdict(Counter)
        for t in range(n - 1, len(tokens)):  # every position with a full context
            counts[tuple(tokens[t - n + 1 : t])][tokens[t]] += 1
        return cls(n, vocab_size, k, dict(counts))

    def __repr__(self) -> str:
        return (
            f"NGramLM(n={self.n}, vocab_size={self.vocab_size}, k={self.k:g}; contexts seen "
            f"{self.n_contexts_seen:,} of {self.n_contexts_possible:,})"
        )

    # ----------------------------------------------------------------- probabilities

    def prob(self, context: Ids, next_id: int) -> float:
        """P(next_id | context): context holds exactly n-1 ids (oldest first)."""
        context = self._context(context)
        if not 0 <= next_id < self.vocab_size:
            raise ValueError(f"next_id must be in 0..{self.vocab_size - 1}, got {next_id}")
        return self._prob(context, next_id)

    def _prob(self, context: tuple[int, ...], next_id: int) -> float:
        total = self._totals.get(context, 0)
        if total == 0:
            return 1 / self.vocab_size  # never seen: nothing to go on
        count = self.counts[context].get(next_id, 0)
        return (count + self.k) / (total + self.k * self.vocab_size)

    def next_token_probs(self, context: Ids) -> Tensor:
        """P(· | context) as a (V,) float64 tensor that sums to 1, seen context or not."""
        context = self._context(context)
        total = self._totals.get(context, 0)
        if total == 0:
            return torch.full((self.vocab_size,), 1 / self.vocab_size, dtype=torch.float64)
        row = torch.full((self.vocab_size,), self.k, dtype=torch.float64)  # (V,)
        seen = self.counts[context]
        row[list(seen)] += torch.tensor(list(seen.values()), dtype=torch.float64)
        return row / (total + self.k * self.vocab_size)

    def log_likelihood(self, ids: Ids) -> float:
        """Σ_t log P(ids[t] | the n-1 ids before it), in nats, over t = n-1 .. N-1.

        ids: (N,). The first n-1 tokens have no full context: they are only used as
        context, never scored. ``-inf`` if k = 0 and an n-gram of ``ids`` has count 0.
        """
        tokens = _as_id_list(ids, self.vocab_size, "ids")
        total = 0.0
        for t in range(self.n - 1, len(tokens)):
            p = self._prob(tuple(tokens[t - self.n + 1 : t]), tokens[t])
            if p == 0.0:
                return -math.inf
            total += math.log(p)
        return total

    def mean_nll(self, ids: Ids) -> float:
        """Mean negative log-likelihood in nats per scored token: the model's cross-entropy.

        ids: (N,), N >= n; scores the N - n + 1 tokens that have a full context (see
        ``log_likelihood``), so models of different n score nearly, not exactly, the same
        tokens. ``perplexity(model.mean_nll(ids))`` turns it into a perplexity.
        """
        scored = len(ids) - self.n + 1
        if scored < 1:
            raise ValueError(
                f"ids has {len(ids)} tokens; an n={self.n} model needs at least {self.n} to "
                "score one"
            )
        return -self.log_likelihood(ids) / scored

    # ----------------------------------------------------------------------- sampling

    def sample(self, n_tokens: int, seed: int | None = None, context: Ids | None = None) -> Tensor:
        """Generate ``n_tokens`` ids (n_tokens,) int64, each drawn from ``next_token_probs``.

        context: at least n-1 ids to continue (only the last n-1 matter); it is not part of
        the output. None starts from a context drawn from the training contexts, each as
        often as it was seen. seed: an int makes the result reproducible on its own; None
        uses torch's global RNG.
        """
        if isinstance(n_tokens, bool) or not isinstance(n_tokens, int) or n_tokens < 0:
            raise ValueError(f"n_tokens must be an integer >= 0, got {n_tokens!r}")
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        if context is None:
            contexts = list(self._totals)
            weights = torch.tensor([self._totals[c] for c in contexts], dtype=torch.float64)
            recent = list(contexts[int(torch.multinomial(weights, 1, generator=g))])
        else:
            recent = _as_id_list(context, self.vocab_size, "context")
            if len(recent) < self.n - 1:
                raise ValueError(self._context_error(len(recent), "at least"))
        out: list[int] = []
        cdfs: dict[tuple[int, ...], list[float]] = {}  # context -> cumulative probabilities
        for u in torch.rand(n_tokens, generator=g, dtype=torch.float64).tolist():
            window = tuple(recent[len(recent) - self.n + 1 :]) if self.n > 1 else ()
            if window not in cdfs:
                cdfs[window] = self.next_token_probs(window).cumsum(0).tolist()
                cdfs[window][-1] = 1.0  # guard against rounding: u < 1 always lands
            out.append(bisect.bisect_right(cdfs[window], u))  # first w with cdf[w] > u
            recent.append(out[-1])
        return torch.tensor(out, dtype=torch.long)

    # ----------------------------------------------------------------------- sparsity

    @property
    def n_contexts_seen(self) -> int:
        """How many distinct contexts (n-1 ids) occurred in training."""
        return len(self.counts)

    @property
    def n_contexts_possible(self) -> int:
        """V**(n-1): how many contexts there could be. It explodes with n; the corpus doesn't."""
        return self.vocab_size ** (self.n - 1)

    def unseen_fraction(self, ids: Ids, of: str = "ngrams") -> float:
        """Fraction of the n-grams of ``ids`` (N,) never seen in training.

        Counted per position (t = n-1 .. N-1), so a frequent n-gram weighs more.
        of: ``"ngrams"`` (the whole n-gram is new: add-k gives it only smoothing mass) or
        ``"contexts"`` (even its first n-1 ids are new: the model falls back to uniform).
        """
        if of not in ("ngrams", "contexts"):
            raise ValueError(f"of must be 'ngrams' or 'contexts', got {of!r}")
        tokens = _as_id_list(ids, self.vocab_size, "ids")
        positions = range(self.n - 1, len(tokens))
        if not positions:
            raise ValueError(f"ids has {len(tokens)} tokens; it needs at least n={self.n}")
        unseen = 0
        for t in positions:
            seen = self.counts.get(tuple(tokens[t - self.n + 1 : t]))
            unseen += seen is None or (of == "ngrams" and tokens[t] not in seen)
        return unseen / len(positions)

    # --------------------------------------------------------------------- checks

    def _context(self, context: Ids) -> tuple[int, ...]:
        ids = _as_id_list(context, self.vocab_size, "context")
        if len(ids) != self.n - 1:
            raise ValueError(self._context_error(len(ids), "exactly"))
        return tuple(ids)

    def _context_error(self, got: int, how: str) -> str:
        return (
            f"context has {got} tokens, but an n={self.n} model needs {how} n-1 = "
            f"{self.n - 1} (the tokens just before the one to predict)"
        )


def _check_settings(n: int, vocab_size: int, k: float) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1 (1 = unigram, 2 = bigram, ...), got {n!r}")
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 1:
        raise ValueError(f"vocab_size must be a positive integer, got {vocab_size!r}")
    if not (isinstance(k, (int, float)) and 0 <= k < math.inf):
        raise ValueError(
            f"k must be a number >= 0, got {k!r}; k = 1 is Laplace smoothing, k = 0 plain counts"
        )


def _as_id_list(ids: Ids, vocab_size: int, name: str) -> list[int]:
    """ids (N,) -> a list of ints, checked to be integer ids in 0..vocab_size-1."""
    if isinstance(ids, Tensor):
        if ids.ndim != 1 or ids.dtype.is_floating_point or ids.dtype == torch.bool:
            raise ValueError(
                f"{name} must be a 1-D tensor of integer ids, got {ids.dtype} of shape "
                f"{tuple(ids.shape)}"
            )
        tokens = ids.tolist()
        in_range = len(tokens) == 0 or (0 <= int(ids.min()) and int(ids.max()) < vocab_size)
    else:
        tokens = list(ids)
        if not all(isinstance(i, numbers.Integral) and not isinstance(i, bool) for i in tokens):
            raise ValueError(f"{name} must hold integer ids, got {tokens[:5]}")
        tokens = [int(i) for i in tokens]
        in_range = all(0 <= i < vocab_size for i in tokens)
    if not in_range:
        bad = next(t for t, i in enumerate(tokens) if not 0 <= i < vocab_size)
        raise ValueError(
            f"{name} has {tokens[bad]} at position {bad}, but vocab_size is {vocab_size} "
            f"(valid ids 0..{vocab_size - 1}); use the tokenizer's vocab_size"
        )
    return tokens
