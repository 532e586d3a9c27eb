"""llmcourse.synthetic: MarkovSource's exact entropy rate, stationary distribution and
log-probabilities agree with what long samples show, and it is reproducible from a seed;
the labelled reviews are reproducible, balanced, labelled by their words in order
(negation flips), and fool a bag-of-words classifier exactly where they should."""

import itertools
import math
import random
from collections import Counter

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import feature_extraction, linear_model

from llmcourse.functional import entropy
from llmcourse.synthetic import (
    LABEL_NAMES,
    MAX_TABLE_ENTRIES,
    NEGATIONS,
    VOCABULARY,
    MarkovSource,
    Review,
    reviews,
    sentiment_of,
)

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


# ------------------------------------------------------------------- labelled reviews


def test_reviews_are_the_same_for_the_same_seed_and_leave_the_global_rng_alone():
    state = random.getstate()
    first = reviews(300, seed=4, noise=0.1, neutral=True)
    assert random.getstate() == state
    assert reviews(300, seed=4, noise=0.1, neutral=True) == first
    assert reviews(300, seed=5, noise=0.1, neutral=True) != first
    assert reviews(3, seed=0) == [  # the same on every machine and Python version
        Review("i did not admire the music and the plot was not so long", 0, 0, True),
        Review("i disliked the acting", 0, 0, False),
        Review("the music was lovely", 1, 1, False),
    ]


@pytest.mark.parametrize("neutral", [False, True])
@pytest.mark.parametrize("n", [0, 1, 7, 100, 1001])
def test_true_labels_are_balanced_to_within_one(n, neutral):
    K = 3 if neutral else 2
    counts = Counter(r.true_label for r in reviews(n, seed=n, neutral=neutral))
    assert sum(counts.values()) == n and set(counts) <= set(range(K))
    assert all(counts[c] in (n // K, n // K + 1) for c in range(K))
    assert LABEL_NAMES[:K] == ("negative", "positive", "neutral")[:K]


@pytest.mark.parametrize("neutral", [False, True])
def test_every_label_is_what_the_words_in_order_say(neutral):
    for review in reviews(2000, seed=1, neutral=neutral):
        assert review.label == review.true_label == sentiment_of(review.text)
        words = review.text.split()
        assert review.negated == any(  # a negation in a clause that carries the sentiment
            set(clause.split()) & set(NEGATIONS) and sentiment_of(clause) != 2
            for clause in review.text.split(" and ")
        )
        assert len(words) >= 3 and review.text == " ".join(words)


def test_negation_flips_the_label():
    assert sentiment_of("the plot was good") == 1 and sentiment_of("the plot was not good") == 0
    assert sentiment_of("the plot was bad") == 0 and sentiment_of("the plot was not bad") == 1
    assert sentiment_of("i did not find the acting very dull") == 1
    assert sentiment_of("i never liked the music") == 0
    assert sentiment_of("the film was not long") == 2  # nothing to flip
    assert sentiment_of("the film was long and i loved the cast") == 1
    single_clause = [r for r in reviews(1000, seed=2) if " and " not in r.text and r.negated]
    assert len(single_clause) > 50
    for review in single_clause:  # take the negation out and the label flips
        plain = " ".join(w for w in review.text.split() if w not in NEGATIONS)
        assert sentiment_of(plain) == 1 - review.label
    with pytest.raises(ValueError, match="mixed sentiment"):
        sentiment_of("the plot was good and the acting was bad")


def test_reviews_use_exactly_the_documented_vocabulary():
    for neutral in (False, True):
        words = {w for r in reviews(3000, seed=3, neutral=neutral) for w in r.text.split()}
        assert words == VOCABULARY  # every word occurs, and no other
    assert {"not", "never", "good", "bad", "film"} <= VOCABULARY


def test_negation_rate_zero_and_one():
    assert not any(set(r.text.split()) & set(NEGATIONS) for r in reviews(500, negation=0.0))
    assert all(r.negated for r in reviews(500, negation=1.0))


@pytest.mark.parametrize("noise", [0.0, 0.05, 0.3])
def test_label_noise_flips_that_share_of_labels_to_another_class(noise):
    n = 4000
    data = reviews(n, seed=6, noise=noise, neutral=True)
    flipped = sum(r.label != r.true_label for r in data)
    assert abs(flipped - noise * n) <= 5 * math.sqrt(n * noise * (1 - noise)) + 1e-9
    assert all(r.label in (0, 1, 2) for r in data)
    assert [r.true_label for r in data] == [r.true_label for r in reviews(n, seed=6, neutral=True)]


def test_a_bag_of_words_classifier_is_fooled_by_negation_and_a_bigram_one_less_so():
    train, test = reviews(2000, seed=0), reviews(1000, seed=1)

    def accuracy_by_group(ngram_range):
        vectorizer = feature_extraction.text.CountVectorizer(
            ngram_range=ngram_range, token_pattern=r"\S+"
        )
        features = vectorizer.fit_transform([r.text for r in train])
        classifier = linear_model.LogisticRegression(max_iter=1000)
        classifier.fit(features, [r.label for r in train])
        predicted = classifier.predict(vectorizer.transform([r.text for r in test]))
        right = {True: [], False: []}
        for p, review in zip(predicted, test):
            right[review.negated].append(p == review.label)
        return {negated: sum(v) / len(v) for negated, v in right.items()}

    unigram, bigram = accuracy_by_group((1, 1)), accuracy_by_group((1, 2))
    assert unigram[False] > 0.95 and unigram[True] < 0.5  # it follows the adjective
    assert bigram[True] > unigram[True] + 0.25  # "not good" is a bigram; word order helps


def test_review_arguments_are_checked():
    with pytest.raises(ValueError, match="n must be a whole number of reviews >= 0, got -1"):
        reviews(-1)
    with pytest.raises(ValueError, match=r"noise must be a probability in \[0, 1\], got 1.5"):
        reviews(10, noise=1.5)
    with pytest.raises(ValueError, match="negation must be a probability"):
        reviews(10, negation=-0.1)
