"""llmcourse.synthetic.MarkovSource: its exact entropy rate, stationary distribution and
log-probabilities agree with what long samples show, and it is reproducible from a seed."""

import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from llmcourse.functional import entropy
from llmcourse.synthetic import MAX_TABLE_ENTRIES, MarkovSource

CYCLE = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])  # a -> b -> c -> a

small_sources = st.tuples(
    st.integers(2, 6),  # vocab_size
    st.integers(0, 3),  # order
    st.sampled_from([0.05, 0.5, 1.0, 20.0]),  # concentration
    st.integers(0, 10_000),  # seed
)


@pytest.mark.parametrize(
    "vocab_size, order, concentration, seed",
    [(2, 0, 0.5, 0), (8, 1, 0.5, 1), (8, 2, 0.5, 2), (4, 3, 0.2, 3), (27, 1, 2.0, 4)],
)
def test_entropy_rate_matches_the_monte_carlo_estimate_from_a_long_sample(
    vocab_size, order, concentration, seed
):
    source = MarkovSource(vocab_size, order, concentration, seed=seed)
    n = 400_000
    estimate = -source.log_prob(source.sample(n, seed=seed)) / n
    # -log p(x) / n = h + (noise with standard deviation estimate_std(n)) + (terms that stay
    # bounded as n grows: the first `order` symbols and the chain's start and end, a few
    # nats; 100 nats is generous). Five standard deviations: a false alarm 1 time in 10^6.
    tolerance = 5 * source.estimate_std(n) + 100 / n
    assert tolerance < 0.01
    assert estimate == pytest.approx(source.entropy_rate(), abs=tolerance)


def test_estimate_std_matches_the_spread_of_many_short_estimates():
    source = MarkovSource(4, order=2, concentration=0.3, seed=5)
    n, runs = 500, 300
    estimates = torch.tensor([-source.log_prob(source.sample(n, seed=i)) / n for i in range(runs)])
    # the sample standard deviation of 300 runs is within ~4% (1/sqrt(2·300)) of the truth
    assert estimates.std().item() == pytest.approx(source.estimate_std(n), rel=0.2)


@settings(max_examples=30)
@given(small_sources)
def test_transition_rows_are_distributions(params):
    vocab_size, order, concentration, seed = params
    source = MarkovSource(vocab_size, order, concentration, seed=seed)
    assert source.probs.shape == (vocab_size**order, vocab_size) == (source.n_contexts, vocab_size)
    assert source.probs.dtype == torch.float64
    assert (source.probs >= 0).all()
    torch.testing.assert_close(source.probs.sum(1), torch.ones(source.n_contexts).double())


@settings(max_examples=30)
@given(small_sources)
def test_stationary_distribution_is_stationary_for_the_chain_of_contexts(params):
    vocab_size, order, concentration, seed = params
    source = MarkovSource(vocab_size, order, concentration, seed=seed)
    pi = source.stationary_distribution()
    # one step of the chain written out by hand: context c emits s and becomes c' =
    # (c without its oldest symbol) followed by s
    moved = torch.zeros_like(pi)
    for c, s in itertools.product(range(source.n_contexts), range(vocab_size)):
        after = (c % vocab_size ** (order - 1) * vocab_size + s) if order else 0
        moved[after] += pi[c] * source.probs[c, s]
    torch.testing.assert_close(moved, pi, atol=1e-10, rtol=0)
    assert (pi >= 0).all() and pi.sum().item() == pytest.approx(1.0)


def test_order_zero_entropy_rate_is_the_entropy_of_its_one_distribution():
    source = MarkovSource(10, order=0, concentration=0.7, seed=3)
    assert source.entropy_rate() == pytest.approx(entropy(source.probs[0]).item(), abs=1e-12)


def test_uniform_rows_give_entropy_rate_log_v():
    uniform = MarkovSource.from_table(torch.full((25, 5), 0.2), order=2)
    assert uniform.entropy_rate() == pytest.approx(math.log(5))


def test_deterministic_chain_has_entropy_rate_zero():
    cycle = MarkovSource.from_table(CYCLE)  # periodic, yet has a unique stationary π
    assert cycle.entropy_rate() == 0
    torch.testing.assert_close(cycle.stationary_distribution(), torch.full((3,), 1 / 3).double())
    text = cycle.text(30, seed=0)
    assert text in {("abc" * 11)[i : i + 30] for i in range(3)}
    assert cycle.log_prob(cycle.sample(30, seed=0)) == pytest.approx(math.log(1 / 3))
    assert cycle.log_prob([0, 2]) == -math.inf  # in the cycle, c never follows a
    # a tiny concentration makes rows nearly one-hot: almost nothing left to guess
    assert MarkovSource(4, order=0, concentration=1e-3, seed=0).entropy_rate() < 1e-3


def test_log_prob_is_a_distribution_over_sequences_of_each_length():
    source = MarkovSource(3, order=2, concentration=0.5, seed=7)
    for length in range(5):  # shorter than, equal to and longer than the order
        total = sum(
            math.exp(source.log_prob(list(seq)))
            for seq in itertools.product(range(3), repeat=length)
        )
        assert total == pytest.approx(1.0, abs=1e-12)


def test_log_prob_adds_the_transition_probabilities():
    source = MarkovSource(4, order=1, seed=2)
    seq = [3, 0, 0, 2, 1]
    expected = math.log(source.stationary_distribution()[3])
    for prev, nxt in zip(seq, seq[1:]):
        expected += math.log(source.probs[prev, nxt])
    assert source.log_prob(torch.tensor(seq)) == pytest.approx(expected, abs=1e-12)


def test_same_seed_gives_the_same_source_and_samples_whatever_the_global_rng():
    torch.manual_seed(123)
    a = MarkovSource(6, order=2, seed=11)
    torch.manual_seed(456)
    b = MarkovSource(6, order=2, seed=11)
    assert torch.equal(a.probs, b.probs)
    assert torch.equal(a.sample(1000, seed=1), b.sample(1000, seed=1))
    assert not torch.equal(a.sample(1000, seed=1), a.sample(1000, seed=2))
    assert not torch.equal(a.probs, MarkovSource(6, order=2, seed=12).probs)
    torch.manual_seed(0)  # seed=None draws from the global RNG, so seeding it reproduces
    first = a.sample(100)
    torch.manual_seed(0)
    assert torch.equal(first, a.sample(100))


@pytest.mark.parametrize("order", [0, 1, 3])
@pytest.mark.parametrize("n", [0, 1, 2, 1000])
def test_sample_has_the_asked_length_and_symbols_in_range(order, n):
    source = MarkovSource(5, order=order, seed=0)
    ids = source.sample(n, seed=3)
    assert ids.shape == (n,) and ids.dtype == torch.long
    assert ((ids >= 0) & (ids < 5)).all()
    assert len(source.text(n, seed=3)) == n and set(source.text(n, seed=3)) <= set("abcde")


def test_sample_never_emits_a_zero_probability_symbol():
    table = torch.tensor([[0.0, 0.5, 0.5], [0.0, 0.0, 1.0], [0.5, 0.0, 0.5]])
    source = MarkovSource.from_table(table)
    ids = source.sample(5000, seed=0)
    assert math.isfinite(source.log_prob(ids))


def test_repr_names_the_recipe():
    assert repr(MarkovSource(8, 2)) == (
        "MarkovSource(vocab_size=8, order=2, concentration=0.5, seed=0)"
    )


# --------------------------------------------------------------------------- clear errors


def test_bad_arguments_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="vocab_size must be an integer >= 2, got 1"):
        MarkovSource(1)
    with pytest.raises(ValueError, match="order must be an integer >= 0, got -1"):
        MarkovSource(4, order=-1)
    for bad in (0, -0.5, math.inf, math.nan):
        with pytest.raises(ValueError, match="concentration must be a positive number"):
            MarkovSource(4, concentration=bad)
    source = MarkovSource(4)
    with pytest.raises(ValueError, match="n must be an integer >= 0, got -5"):
        source.sample(-5)
    with pytest.raises(ValueError, match=r"symbols must be in 0..3, got values 0..7"):
        source.log_prob([0, 7])
    with pytest.raises(ValueError, match="at most 62 symbols"):
        MarkovSource(100, order=1).decode([0, 1])


def test_a_table_too_large_is_refused_before_it_is_built():
    with pytest.raises(ValueError, match=r"100\*\*3 = 1,000,000 contexts × 100 symbols"):
        MarkovSource(100, order=3)
    assert 100**3 * 100 > MAX_TABLE_ENTRIES


def test_a_chain_without_a_unique_stationary_distribution_is_refused():
    two_traps = torch.eye(2)  # a stays a, b stays b: where it starts decides everything
    with pytest.raises(ValueError, match="no unique stationary distribution"):
        MarkovSource.from_table(two_traps)
    with pytest.raises(ValueError, match=r"shape \(V\*\*order, V\)"):
        MarkovSource.from_table(torch.full((3, 3), 1 / 3), order=2)
    with pytest.raises(ValueError, match="sum to 1"):
        MarkovSource.from_table(torch.ones(2, 2))
