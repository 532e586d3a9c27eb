"""llmcourse.ngram.NGramLM: add-k probabilities checked by hand, always normalized, and a
model of the right order learns a MarkovSource down to its exact entropy rate."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from llmcourse.ngram import NGramLM
from llmcourse.synthetic import MarkovSource

#   bigrams: 0->1, 1->0, 0->2, 2->0, 0->1, 1->1
HAND_MADE = [0, 1, 0, 2, 0, 1, 1]


def random_corpus(length, vocab_size, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab_size, (length,), generator=g)


@settings(max_examples=40)
@given(
    n=st.integers(1, 4),
    vocab_size=st.integers(1, 6),
    k=st.sampled_from([0.0, 0.01, 0.5, 1.0, 3.0]),
    seed=st.integers(0, 2**31 - 1),
    data=st.data(),
)
def test_next_token_probs_sum_to_one_for_seen_and_unseen_contexts(n, vocab_size, k, seed, data):
    corpus = random_corpus(data.draw(st.integers(n, 60)), vocab_size, seed)
    model = NGramLM.train(corpus, n=n, vocab_size=vocab_size, k=k)
    seen = data.draw(st.sampled_from(sorted(model.counts)))
    anything = tuple(
        data.draw(st.lists(st.integers(0, vocab_size - 1), min_size=n - 1, max_size=n - 1))
    )  # seen or not
    for context in (seen, anything):
        probs = model.next_token_probs(context)
        assert probs.shape == (vocab_size,) and (probs >= 0).all()
        assert probs.sum().item() == pytest.approx(1.0, abs=1e-12)
        expected = [model.prob(context, w) for w in range(vocab_size)]
        torch.testing.assert_close(probs, torch.tensor(expected, dtype=torch.float64))


def test_bigram_mle_is_the_normalized_counts():
    model = NGramLM.train(HAND_MADE, n=2, vocab_size=3, k=0.0)
    assert model.counts == {(0,): {1: 2, 2: 1}, (1,): {0: 1, 1: 1}, (2,): {0: 1}}
    expected = {(0,): [0, 2 / 3, 1 / 3], (1,): [1 / 2, 1 / 2, 0], (2,): [1, 0, 0]}
    for context, row in expected.items():
        torch.testing.assert_close(
            model.next_token_probs(context), torch.tensor(row, dtype=torch.float64)
        )
    # k -> 0 approaches the same numbers on seen contexts
    nearly = NGramLM.train(HAND_MADE, n=2, vocab_size=3, k=1e-9)
    torch.testing.assert_close(
        nearly.next_token_probs((0,)),
        torch.tensor(expected[(0,)], dtype=torch.float64),
        atol=1e-8,
        rtol=0,
    )


def test_add_k_follows_the_formula_by_hand():
    model = NGramLM.train(HAND_MADE, n=2, vocab_size=4, k=0.5)  # token 3 never occurs
    # context (0,) was seen 3 times: (count + 0.5) / (3 + 0.5 * 4)
    assert model.prob((0,), 1) == pytest.approx((2 + 0.5) / 5)
    assert model.prob((0,), 2) == pytest.approx((1 + 0.5) / 5)
    assert model.prob((0,), 3) == pytest.approx(0.5 / 5)
    # context (3,) was never seen: uniform over V = 4
    torch.testing.assert_close(model.next_token_probs((3,)), torch.full((4,), 0.25).double())
    trigram = NGramLM.train(HAND_MADE, n=3, vocab_size=4, k=1.0)
    assert trigram.prob((0, 1), 0) == pytest.approx((1 + 1) / (2 + 4))  # 0 1 -> 0, 0 1 -> 1
    assert trigram.prob([2, 0], 1) == pytest.approx((1 + 1) / (1 + 4))


def test_unigram_model_has_one_empty_context():
    model = NGramLM.train([0, 0, 1, 2], n=1, vocab_size=3, k=0.0)
    torch.testing.assert_close(model.next_token_probs(()), torch.tensor([0.5, 0.25, 0.25]).double())
    assert model.n_contexts_seen == model.n_contexts_possible == 1


def test_log_likelihood_scores_positions_with_a_full_context():
    model = NGramLM.train(HAND_MADE, n=2, vocab_size=3, k=0.0)
    # 0 1 0 2 0 1 1: the first token is only a context; six bigrams are scored
    expected = math.log(2 / 3 * 1 / 2 * 1 / 3 * 1 * 2 / 3 * 1 / 2)
    assert model.log_likelihood(HAND_MADE) == pytest.approx(expected)
    assert model.mean_nll(torch.tensor(HAND_MADE)) == pytest.approx(-expected / 6)
    assert model.log_likelihood([1, 2]) == -math.inf  # k = 0: an unseen bigram
    assert model.log_likelihood([1]) == 0.0  # nothing to score


def test_trigram_model_learns_a_second_order_source_down_to_its_entropy_rate():
    V, order = 8, 2
    source = MarkovSource(V, order=order, seed=0)
    train, held_out = source.sample(200_000, seed=1), source.sample(50_000, seed=2)
    model = NGramLM.train(train, n=order + 1, vocab_size=V, k=1.0)
    model_nll = model.mean_nll(held_out)

    # The source's own loss on the same held-out positions (those after the first `order`).
    true_nll = -(source.log_prob(held_out) - source.log_prob(held_out[:order])) / (
        len(held_out) - order
    )
    # The model pays KL(true ‖ estimated) extra per token; for counts from N tokens that is
    # about (contexts × (V - 1) free parameters) / (2 N). Allow three times it, and a little
    # below zero for noise in the held-out sample.
    expected_excess = V**order * (V - 1) / (2 * len(train))
    assert -0.2 * expected_excess < model_nll - true_nll < 3 * expected_excess
    # and the source's loss on held-out text is its entropy rate, within 5 standard deviations
    assert model_nll == pytest.approx(
        source.entropy_rate(), abs=5 * source.estimate_std(len(held_out)) + 3 * expected_excess
    )


def test_longer_n_sees_a_growing_share_of_held_out_ngrams_for_the_first_time():
    source = MarkovSource(8, order=2, seed=0)
    train, held_out = source.sample(50_000, seed=1), source.sample(5_000, seed=2)
    models = [NGramLM.train(train, n=n, vocab_size=8) for n in range(1, 7)]
    unseen = [m.unseen_fraction(held_out) for m in models]
    assert unseen == sorted(unseen) and unseen[0] == 0 and unseen[-1] > 0.2
    assert all(m.unseen_fraction(train) == 0 for m in models)  # training n-grams are all seen
    assert [m.n_contexts_possible for m in models] == [8**i for i in range(6)]
    assert models[-1].n_contexts_seen < models[-1].n_contexts_possible
    unseen_contexts = [m.unseen_fraction(held_out, of="contexts") for m in models]
    assert all(c <= g for c, g in zip(unseen_contexts, unseen))


def test_unseen_fraction_on_a_hand_made_case():
    model = NGramLM.train(HAND_MADE, n=2, vocab_size=4)
    # bigrams of 0 1 2 3: (0,1) seen, (1,2) new, (2,3) new with a seen context
    assert model.unseen_fraction([0, 1, 2, 3]) == pytest.approx(2 / 3)
    # (3, ...) contexts never occurred: 1 of 3 positions
    assert model.unseen_fraction([0, 3, 0, 1], of="contexts") == pytest.approx(1 / 3)


def test_sampling_is_deterministic_with_a_seed_and_stays_in_range():
    model = NGramLM.train(random_corpus(2000, 7, seed=0), n=3, vocab_size=7)
    a = model.sample(500, seed=3)
    assert torch.equal(a, model.sample(500, seed=3))
    assert not torch.equal(a, model.sample(500, seed=4))
    assert a.shape == (500,) and a.dtype == torch.long
    assert ((a >= 0) & (a < 7)).all()
    assert model.sample(0, seed=1).shape == (0,)


def test_sampling_continues_the_given_context():
    model = NGramLM.train([0, 1, 2] * 20, n=2, vocab_size=3, k=0.0)  # deterministic cycle
    assert model.sample(6, seed=0, context=[2]).tolist() == [0, 1, 2, 0, 1, 2]
    assert model.sample(4, seed=0, context=[2, 2, 0]).tolist() == [1, 2, 0, 1]  # last n-1
    unigram = NGramLM.train([1, 1, 1], n=1, vocab_size=3, k=0.0)
    assert unigram.sample(3, seed=0).tolist() == [1, 1, 1]


def test_repr_shows_the_sparsity():
    assert repr(NGramLM.train(HAND_MADE, n=2, vocab_size=4)) == (
        "NGramLM(n=2, vocab_size=4, k=1; contexts seen 3 of 4)"
    )


# --------------------------------------------------------------------------- clear errors


def test_bad_settings_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        NGramLM.train(HAND_MADE, n=0, vocab_size=3)
    with pytest.raises(ValueError, match="k must be a number >= 0, got -1"):
        NGramLM.train(HAND_MADE, n=2, vocab_size=3, k=-1)
    with pytest.raises(ValueError, match="vocab_size must be a positive integer"):
        NGramLM.train(HAND_MADE, n=2, vocab_size=0)


def test_ids_out_of_range_are_named():
    with pytest.raises(ValueError, match=r"ids has 5 at position 2, but vocab_size is 3"):
        NGramLM.train([0, 1, 5, 2], n=2, vocab_size=3)
    with pytest.raises(ValueError, match=r"ids has -1 at position 0"):
        NGramLM.train(torch.tensor([-1, 0, 1]), n=2, vocab_size=3)
    model = NGramLM.train(HAND_MADE, n=2, vocab_size=3)
    with pytest.raises(ValueError, match="ids has 9 at position 1"):
        model.mean_nll([0, 9, 1])
    with pytest.raises(ValueError, match="integer ids"):
        NGramLM.train(torch.tensor([0.0, 1.0, 2.0]), n=2, vocab_size=3)
    with pytest.raises(ValueError, match=r"next_id must be in 0..2, got 3"):
        model.prob((0,), 3)


def test_a_corpus_shorter_than_n_is_refused():
    with pytest.raises(ValueError, match="the corpus has 2 tokens, but an n=3 model needs"):
        NGramLM.train([0, 1], n=3, vocab_size=3)
    model = NGramLM.train(HAND_MADE, n=3, vocab_size=3)
    with pytest.raises(ValueError, match="needs at least 3 to score one"):
        model.mean_nll([0, 1])


def test_a_context_of_the_wrong_length_is_refused():
    model = NGramLM.train(HAND_MADE, n=3, vocab_size=3)
    with pytest.raises(ValueError, match=r"context has 1 tokens, but an n=3 model needs exactly"):
        model.next_token_probs((0,))
    with pytest.raises(ValueError, match="context has 3 tokens"):
        model.prob((0, 1, 2), 0)
    with pytest.raises(ValueError, match="needs at least n-1 = 2"):
        model.sample(5, seed=0, context=[1])
