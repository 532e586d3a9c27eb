"""llmcourse.evaluate: held-out LM loss against token-by-token references, the memorization
check against brute force, classifier metrics equal to scikit-learn's, BLEU equal to
sacrebleu's."""

from __future__ import annotations

import itertools
import math
import random
import warnings

import pytest
import sacrebleu
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from torch import nn

from llmcourse.evaluate import (
    LMScore,
    accuracy,
    brevity_penalty,
    clipped_precision,
    closest_ref_length,
    confusion_matrix,
    corpus_bleu,
    eval_mode,
    evaluate_lm,
    longest_common_ngram,
    ngram_counts,
    precision_recall_f1,
    sentence_bleu,
    sliding_window_nll,
    window_plan,
)
from llmcourse.functional import bits_per_byte, perplexity
from llmcourse.gpt import GPT, GPTConfig
from llmcourse.rnn import RNNLM
from llmcourse.train import TrainConfig, train

V = 7
pytestmark = pytest.mark.usefixtures("one_thread")


def make_model(kind: str, block_size: int = 8) -> nn.Module:
    torch.manual_seed(0)
    if kind == "gpt":  # dropout on: evaluation must switch it off
        return GPT(GPTConfig(V, block_size, n_layer=1, n_head=2, n_embd=16, dropout=0.2))
    return RNNLM(V, embed_size=8, hidden_size=16, dropout=0.2)


MODELS = {kind: make_model(kind) for kind in ("gpt", "lstm")}


def stream(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(V, (n,), generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------- held-out LM evaluation


def token_by_token_nll(model: nn.Module, ids: torch.Tensor, window: int, stride: int) -> float:
    """Reference: each target t = 1..N-1 alone, read from the start of the first window that
    has it among its targets (window k reads ids[k·stride : k·stride + window])."""
    total = 0.0
    model.eval()
    with torch.no_grad():
        for t in range(1, len(ids)):
            k = max(0, math.ceil((t - window) / stride))
            logits = model(ids[k * stride : t][None])[0][0, -1]  # (V,)
            total -= torch.log_softmax(logits.double(), -1)[ids[t]].item()
    model.train()
    return total / (len(ids) - 1)


def chunked_nll(model: nn.Module, ids: torch.Tensor, T: int) -> float:
    """Reference: non-overlapping chunks, each scored with the model's own mean loss."""
    total = 0.0
    model.eval()
    with torch.no_grad():
        for s in range(0, len(ids) - 1, T):
            x, y = ids[s : s + T], ids[s + 1 : s + T + 1]
            x = x[: len(y)]
            total += model(x[None], y[None])[1].item() * len(y)
    model.train()
    return total / (len(ids) - 1)


@pytest.mark.parametrize("kind", ["gpt", "lstm"])
@pytest.mark.parametrize("n", [2, 5, 9, 17, 40])  # one short window, whole windows, a rest
def test_evaluate_lm_is_the_chunked_loss_over_every_token_but_the_first(kind, n):
    model, ids = MODELS[kind], stream(n)
    score = evaluate_lm(model, ids, block_size=8, batch_size=3)
    assert score.n_tokens == n - 1
    assert score.nll == pytest.approx(chunked_nll(model, ids, 8), rel=1e-5)


@settings(max_examples=30)
@given(
    kind=st.sampled_from(["gpt", "lstm"]),
    n=st.integers(2, 40),
    window=st.integers(1, 8),
    stride_fraction=st.floats(0, 1),
    batch_size=st.integers(1, 5),
)
def test_sliding_window_scores_each_token_once_after_its_context(
    kind, n, window, stride_fraction, batch_size
):
    stride = 1 + round(stride_fraction * (window - 1))
    model, ids = MODELS[kind], stream(n, seed=n)
    score = sliding_window_nll(model, ids, window, stride, batch_size=batch_size)
    assert score.n_tokens == n - 1
    expected = token_by_token_nll(model, ids, window, stride)
    assert score.nll == pytest.approx(expected, rel=1e-5)


def test_stride_equal_to_window_is_exactly_the_chunked_evaluation():
    model, ids = MODELS["gpt"], stream(100)
    for T in (3, 8):
        assert sliding_window_nll(model, ids, T, stride=T) == evaluate_lm(model, ids, T)
    assert evaluate_lm(model, ids) == evaluate_lm(model, ids, block_size=8)  # its block_size


@given(n=st.integers(2, 60), window=st.integers(1, 10), stride_fraction=st.floats(0, 1))
def test_window_plan_scores_every_target_once_with_at_least_window_minus_stride_context(
    n, window, stride_fraction
):
    stride = 1 + round(stride_fraction * (window - 1))
    scored = []
    for k, (start, length, s) in enumerate(window_plan(n, window, stride)):
        assert start == k * stride and 1 <= s <= length <= window
        assert start + length <= n - 1  # the last target exists
        targets = range(start + length - s + 1, start + length + 1)
        scored.extend(targets)
        if k:  # context before a scored target t: ids[start : t]
            assert min(t - start for t in targets) >= window - stride + 1
    assert scored == list(range(1, n))


def test_more_context_lowers_the_loss_of_a_trained_model():
    torch.manual_seed(0)
    ids = torch.tensor([0, 1, 0, 2, 0, 3, 4]).repeat(60)  # after a 0, only context tells
    model = GPT(GPTConfig(5, block_size=16, n_layer=1, n_head=2, n_embd=32))
    config = TrainConfig(
        steps=150, batch_size=16, block_size=16, lr=1e-2, warmup_steps=10, eval_every=150,
        eval_batches=1, device="cpu", progress=False,
    )  # fmt: skip
    train(model, ids[:300], ids[300:], config)
    val = ids[3:200]
    no_overlap = sliding_window_nll(model, val, window=16, stride=16).nll
    for stride in (8, 4, 1):  # every scored token then has at least 9 tokens of context
        assert sliding_window_nll(model, val, window=16, stride=stride).nll < no_overlap - 0.01


def test_evaluation_switches_dropout_off_restores_the_mode_and_keeps_no_gradients():
    model, ids = MODELS["gpt"], stream(30)
    model.train()
    first = evaluate_lm(model, ids)
    assert model.training and all(p.grad is None for p in model.parameters())
    assert evaluate_lm(model, ids) == first  # dropout off: the same number twice
    model.eval()
    evaluate_lm(model, ids)
    assert not model.training
    model.train()
    with pytest.raises(RuntimeError), eval_mode(model):
        assert not model.training
        raise RuntimeError("boom")
    assert model.training  # restored even after an error


def test_batch_size_does_not_change_the_result():
    model, ids = MODELS["lstm"], stream(57)
    one = sliding_window_nll(model, ids, 8, 3, batch_size=1)
    many = sliding_window_nll(model, ids, 8, 3, batch_size=64)
    assert one.n_tokens == many.n_tokens and one.nll == pytest.approx(many.nll, rel=1e-6)


def test_score_gives_perplexity_and_bits_per_byte_from_functional():
    score = LMScore(nll=1.25, n_tokens=40)
    assert score.total_nats == 50.0
    assert score.perplexity == perplexity(1.25)
    assert score.bits_per_byte(120) == bits_per_byte(50.0, 120)
    with pytest.raises(ValueError, match="n_bytes must be a positive"):
        score.bits_per_byte(0)


class NotAnLM(nn.Module):
    def forward(self, idx):
        return idx.float().mean(-1)  # (B,): not (B, T, V) logits


def test_bad_arguments_are_refused_with_a_clear_message():
    gpt, lstm, ids = MODELS["gpt"], MODELS["lstm"], stream(20)
    with pytest.raises(ValueError, match="stride must be an integer from 1 to window=4, got 0"):
        sliding_window_nll(gpt, ids, window=4, stride=0)
    with pytest.raises(ValueError, match="got 5; stride > window would skip tokens"):
        sliding_window_nll(gpt, ids, window=4, stride=5)
    with pytest.raises(ValueError, match="window 9 exceeds the model's block_size 8"):
        sliding_window_nll(gpt, ids, window=9, stride=1)
    with pytest.raises(ValueError, match="block_size 16 exceeds the model's block_size 8"):
        evaluate_lm(gpt, ids, block_size=16)
    with pytest.raises(ValueError, match="ids has 1 token"):
        evaluate_lm(gpt, ids[:1])
    with pytest.raises(ValueError, match=r"shape \(N,\), got torch.int64 of shape \(2, 10\)"):
        evaluate_lm(gpt, ids.reshape(2, 10))
    with pytest.raises(ValueError, match="RNNLM has no config.block_size; pass block_size="):
        evaluate_lm(lstm, ids)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        evaluate_lm(gpt, ids, batch_size=0)
    with pytest.raises(TypeError, match="str is not a language model.*not an nn.Module"):
        evaluate_lm("gpt", ids, block_size=4)
    with pytest.raises(TypeError, match=r"NotAnLM is not a language model.*it gave \(4,\)"):
        evaluate_lm(NotAnLM(), ids, block_size=4)
    with pytest.raises(TypeError, match="Linear is not a language model.*model.idx. failed"):
        evaluate_lm(nn.Linear(4, 4), ids, block_size=4)


# ------------------------------------------------------------------ memorization


def brute_force_longest(generated, corpus):
    best = (0, 0, 0)
    for i, j in itertools.product(range(len(generated)), range(len(corpus))):
        k = 0
        while i + k < len(generated) and j + k < len(corpus) and generated[i + k] == corpus[j + k]:
            k += 1
        best = max(best, (k, -i, -j))  # longest, then first in generated, then in corpus
    return (best[0], -best[1], -best[2]) if best[0] else (0, 0, 0)


@given(st.text("ab", max_size=15), st.text("abc", max_size=30))
def test_longest_common_ngram_matches_brute_force_on_text(generated, corpus):
    assert tuple(longest_common_ngram(generated, corpus)) == brute_force_longest(generated, corpus)


@given(st.lists(st.integers(0, 3), max_size=15), st.lists(st.integers(0, 3), max_size=30))
def test_longest_common_ngram_matches_brute_force_on_token_ids(generated, corpus):
    expected = brute_force_longest(generated, corpus)
    assert tuple(longest_common_ngram(generated, corpus)) == expected
    assert tuple(longest_common_ngram(torch.tensor(generated), torch.tensor(corpus))) == expected


def test_longest_common_ngram_finds_a_copied_passage_in_a_megabyte_corpus():
    rng = random.Random(0)
    corpus = [rng.randrange(60_000) for _ in range(1_000_000)]  # ids beyond 16 bits too
    sample = [rng.randrange(60_000) for _ in range(1000)]
    sample[400:650] = corpus[123_456 : 123_456 + 250]  # the model "memorized" 250 tokens
    match = longest_common_ngram(sample, corpus)
    assert match == (250, 400, 123_456)
    assert match.length == 250 and match.generated_start == 400


def test_longest_common_ngram_refuses_mixed_or_invalid_inputs():
    with pytest.raises(TypeError, match="generated is str but corpus is list"):
        longest_common_ngram("abc", [1, 2, 3])
    with pytest.raises(ValueError, match="corpus must hold non-negative integer token ids"):
        longest_common_ngram([1, 2], [1, -2])
    with pytest.raises(ValueError, match="generated must be a 1-D tensor of integer token ids"):
        longest_common_ngram(torch.ones(2, 2, dtype=torch.long), [1])
    assert longest_common_ngram("", "abc") == (0, 0, 0)


# ------------------------------------------------------------ classification metrics


label_pairs = st.integers(1, 5).flatmap(
    lambda K: st.tuples(
        st.just(K),
        st.lists(st.tuples(st.integers(0, K - 1), st.integers(0, K - 1)), min_size=1, max_size=60),
    )
)


@pytest.mark.filterwarnings("ignore:A single label was found")  # scikit-learn, for K = 1
@given(label_pairs)
def test_classification_metrics_equal_scikit_learn(data):
    K, pairs = data
    y_true, y_pred = (list(column) for column in zip(*pairs))
    labels = list(range(K))
    torch.testing.assert_close(
        confusion_matrix(y_true, y_pred, n_classes=K),
        torch.from_numpy(skm.confusion_matrix(y_true, y_pred, labels=labels)).long(),
    )
    assert accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred), abs=1e-12)
    for average in ("macro", "micro", "weighted", None):
        ours = precision_recall_f1(torch.tensor(y_true), y_pred, average=average, n_classes=K)
        theirs = skm.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=average, zero_division=0
        )[:3]
        for got, expected in zip(ours, theirs):
            torch.testing.assert_close(
                torch.as_tensor(got, dtype=torch.float64),
                torch.as_tensor(expected, dtype=torch.float64),
                rtol=0,
                atol=1e-12,
            )


@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=1, max_size=40))
def test_binary_average_is_the_positive_class_as_in_scikit_learn(pairs):
    y_true, y_pred = (list(column) for column in zip(*pairs))
    ours = precision_recall_f1(y_true, y_pred, average="binary")
    theirs = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=[0, 1], average="binary", zero_division=0
    )[:3]
    assert ours == pytest.approx(theirs, abs=1e-12)


def test_a_class_never_predicted_scores_zero_without_a_warning_as_scikit_learn_defaults():
    y_true, y_pred = [0, 1, 2, 2, 1], [0, 0, 0, 2, 0]  # class 1 is never predicted
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = precision_recall_f1(y_true, y_pred, average=None)
    with pytest.warns(skm._classification.UndefinedMetricWarning):
        theirs = skm.precision_recall_fscore_support(y_true, y_pred, average=None)[:3]
    for got, expected in zip(ours, theirs):
        assert got.tolist() == pytest.approx(expected.tolist())
    assert ours.precision[1] == 0 and ours.recall[1] == 0 and ours.f1[1] == 0


def test_metrics_on_a_table_computed_by_hand():
    y_true = [0, 0, 0, 0, 1, 1, 1, 2]
    y_pred = [0, 0, 1, 2, 1, 1, 0, 2]
    assert confusion_matrix(y_true, y_pred).tolist() == [[2, 1, 1], [1, 2, 0], [0, 0, 1]]
    assert accuracy(y_true, y_pred) == 5 / 8
    prf = precision_recall_f1(y_true, y_pred, average=None)
    assert prf.precision.tolist() == pytest.approx([2 / 3, 2 / 3, 1 / 2])
    assert prf.recall.tolist() == pytest.approx([2 / 4, 2 / 3, 1 / 1])
    assert prf.f1.tolist() == pytest.approx([4 / 7, 2 / 3, 2 / 3])  # 2TP / (2TP + FP + FN)
    macro = precision_recall_f1(y_true, y_pred)
    assert macro.f1 == pytest.approx((4 / 7 + 2 / 3 + 2 / 3) / 3)
    weighted = precision_recall_f1(y_true, y_pred, average="weighted")
    assert weighted.recall == pytest.approx(5 / 8)  # weighted recall is the accuracy
    assert precision_recall_f1(y_true, y_pred, average="micro") == pytest.approx((5 / 8,) * 3)
    # a class in range that never occurs still counts in the macro average
    assert confusion_matrix([0, 1], [1, 1], n_classes=3).shape == (3, 3)


def test_classification_metrics_refuse_bad_labels():
    with pytest.raises(ValueError, match="y_true has 3 labels but y_pred 2"):
        accuracy([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        confusion_matrix([], [])
    with pytest.raises(ValueError, match=r"use predictions.argmax\(-1\)"):
        accuracy(torch.rand(4, 2), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="y_pred has a negative label -1"):
        accuracy([0, 1], [0, -1])
    with pytest.raises(ValueError, match="label 3 is out of range for n_classes=3"):
        confusion_matrix([0, 3], [0, 1], n_classes=3)
    with pytest.raises(ValueError, match="average must be one of"):
        precision_recall_f1([0, 1], [0, 1], average="samples")
    with pytest.raises(ValueError, match="average='binary' needs two classes"):
        precision_recall_f1([0, 1], [0, 1], average="binary", n_classes=3)


# ------------------------------------------------------------------------------ BLEU

# (hypothesis, references): several references; a hypothesis shorter than all of them,
# longer than all, and between two equally close (the shorter counts); 4-gram and 3-gram
# misses; no match at all; empty; a one-word hypothesis.
PAIRS = [
    ("the cat sat on the mat", ["the cat sat on a mat", "there is a cat on the mat"]),
    ("the cat", ["the cat is on the mat", "a cat is on the mat"]),
    ("a cat is sitting on the mat today in the sun", ["a cat is on the mat"]),
    ("one two three four five", ["one two three four", "one two three four five six"]),
    ("the dog barked at the cat loudly", ["the dog barked at a cat", "a dog barks at cats"]),
    ("red green blue", ["yellow purple", "orange"]),
    ("", ["an empty hypothesis scores zero"]),
    ("mat", ["the mat"]),
]
HYPS = [h for h, _ in PAIRS]
REFS = [r for _, r in PAIRS]


def sacrebleu_streams(references):
    """Our references (per hypothesis) as sacrebleu's streams (per reference), None-padded."""
    width = max(len(r) for r in references)
    return [[r[j] if j < len(r) else None for r in references] for j in range(width)]


def assert_same_bleu(ours, theirs, counts=True):
    assert ours.score == pytest.approx(theirs.score, abs=1e-9)
    assert list(ours.precisions) == pytest.approx(theirs.precisions, abs=1e-9)
    assert ours.bp == pytest.approx(theirs.bp, abs=1e-12)
    assert (ours.sys_len, ours.ref_len) == (theirs.sys_len, theirs.ref_len)
    if counts:  # sacrebleu adds k to its counts for add-k; ours stay the raw counts
        assert (list(ours.matched), list(ours.totals)) == (theirs.counts, theirs.totals)


@pytest.mark.parametrize("smooth", ["none", "exp", "floor", "add-k"])
@pytest.mark.parametrize("effective_order", [False, True])
def test_corpus_bleu_equals_sacrebleu(smooth, effective_order):
    ours = corpus_bleu(HYPS, REFS, smooth=smooth, effective_order=effective_order)
    theirs = sacrebleu.corpus_bleu(
        HYPS, sacrebleu_streams(REFS), smooth_method=smooth, tokenize="none",
        use_effective_order=effective_order,
    )  # fmt: skip
    assert_same_bleu(ours, theirs, counts=smooth != "add-k")
    assert 0 < ours.score < 100


@pytest.mark.parametrize("smooth", ["none", "exp", "floor", "add-k"])
@pytest.mark.parametrize("hypothesis, references", PAIRS)
def test_sentence_bleu_equals_sacrebleu(hypothesis, references, smooth):
    ours = sentence_bleu(hypothesis, references, smooth=smooth)
    theirs = sacrebleu.sentence_bleu(hypothesis, references, smooth_method=smooth, tokenize="none")
    assert_same_bleu(ours, theirs, counts=smooth != "add-k")


words = st.lists(st.sampled_from("a b c d e".split()), max_size=9).map(" ".join)


@settings(max_examples=60)
@given(
    st.lists(st.tuples(words, st.lists(words, min_size=1, max_size=3)), min_size=1, max_size=5),
    st.sampled_from(["none", "exp", "floor"]),
)
def test_bleu_equals_sacrebleu_on_random_sentences(pairs, smooth):
    hyps, refs = [h for h, _ in pairs], [r for _, r in pairs]
    ours = corpus_bleu(hyps, refs, smooth=smooth)
    theirs = sacrebleu.corpus_bleu(
        hyps, sacrebleu_streams(refs), smooth_method=smooth, tokenize="none"
    )
    assert_same_bleu(ours, theirs)
    single = sacrebleu.sentence_bleu(hyps[0], refs[0], smooth_method=smooth, tokenize="none")
    assert_same_bleu(sentence_bleu(hyps[0], refs[0], smooth=smooth), single)


def test_token_lists_score_like_the_same_words_as_strings():
    tokenized = [h.split() for h in HYPS], [[r.split() for r in refs] for refs in REFS]
    assert corpus_bleu(*tokenized) == corpus_bleu(HYPS, REFS)
    assert sentence_bleu("the cat", "the cat is here") == sentence_bleu(
        "the cat", ["the cat is here"]
    )


def test_clipping_brevity_and_closest_reference_by_hand():
    # Papineni et al.'s example: "the" is in the references at most twice
    hyp = "the the the the the the the"
    assert clipped_precision(hyp, ["the cat is on the mat", "there is a cat on the mat"], 1) == (
        2,
        7,
    )
    assert ngram_counts("a b a b", 2) == {("a", "b"): 2, ("b", "a"): 1}
    assert ngram_counts("a b", 3) == {}
    assert brevity_penalty(6, 5) == brevity_penalty(5, 5) == 1.0
    assert brevity_penalty(4, 5) == pytest.approx(math.exp(1 - 5 / 4))
    assert brevity_penalty(0, 5) == 0.0
    assert closest_ref_length(5, [4, 6, 9]) == 4  # a tie: the shorter
    assert closest_ref_length(7, [4, 6, 9]) == 6
    perfect = corpus_bleu(["a b c d e"], [["a b c d e"]])
    assert perfect.score == pytest.approx(100.0) and perfect.bp == 1.0
    assert str(perfect).startswith("BLEU = 100.00 100.0/100.0/100.0/100.0 (BP = 1.000")


def test_bleu_refuses_malformed_input():
    with pytest.raises(ValueError, match="got str of length 5 hypotheses"):
        corpus_bleu("a cat", [["a cat"]])
    with pytest.raises(ValueError, match="2 hypotheses and list of length 1 reference lists"):
        corpus_bleu(["a", "b"], [["a"]])
    with pytest.raises(ValueError, match="at least one reference"):
        sentence_bleu("a cat", [])
    with pytest.raises(TypeError, match="a reference must be a string or a list of string tokens"):
        sentence_bleu("a cat", [[1, 2]])
    with pytest.raises(ValueError, match="smooth must be one of"):
        sentence_bleu("a cat", ["a cat"], smooth="add-one")
    with pytest.raises(ValueError, match="n must be a positive integer"):
        ngram_counts("a b", 0)
