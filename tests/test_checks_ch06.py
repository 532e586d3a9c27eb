"""Chapter 06's checkers: right answers pass, each usual mistake is named, TODOs are ⏳."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch
from checker_cases import assert_mistake_named, assert_right_and_todo, run

from llmcourse.checks import ch06
from llmcourse.evaluate import clipped_precision as package_clipped_precision
from llmcourse.evaluate import corpus_bleu
from llmcourse.generate import top_k_filter as package_top_k
from llmcourse.generate import top_p_filter as package_top_p

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is fastest

# --- right answers ---------------------------------------------------------------------


def top_k_filter(logits, k):
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]  # (..., 1)
    return logits.masked_fill(logits < kth, float("-inf"))


def top_k_scatter(logits, k):
    values, indices = logits.topk(k, dim=-1)
    return torch.full_like(logits, float("-inf")).scatter(-1, indices, values)


def top_p_filter(logits, p):
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    probs = sorted_logits.softmax(dim=-1)
    remove = probs.cumsum(dim=-1) - probs >= p
    return logits.masked_fill(remove.scatter(-1, order, remove), float("-inf"))


def top_p_hf_style(logits, p):
    """Hugging Face's way: remove where the cumulative sum passes p, shifted right by one."""
    sorted_logits, order = torch.sort(logits, descending=True)
    cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
    remove = cumulative > p
    remove[..., 1:] = remove[..., :-1].clone()
    remove[..., 0] = False
    return logits.masked_fill(remove.scatter(-1, order, remove), float("-inf"))


def lm_scores(token_losses, n_bytes):
    mean = token_losses.mean().item()
    return math.exp(mean), token_losses.sum().item() / (n_bytes * math.log(2))


@torch.no_grad()
def greedy_decode(model, idx, max_new_tokens):
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -model.config.block_size :])  # (B, T, V)
        next_id = logits[:, -1, :].argmax(dim=-1, keepdim=True)  # (B, 1)
        idx = torch.cat([idx, next_id], dim=1)
    return idx


def ngrams(words, n):
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def clipped_precision(hypothesis, references, n):
    hyp = ngrams(hypothesis, n)
    most = Counter()
    for reference in references:
        for gram, count in ngrams(reference, n).items():
            most[gram] = max(most[gram], count)
    return sum(min(c, most[g]) for g, c in hyp.items()), sum(hyp.values())


def bleu(hypothesis, references):
    log_p = 0.0
    for n in range(1, 5):
        matched, total = clipped_precision(hypothesis, references, n)
        log_p += math.log(matched / total) / 4
    c = len(hypothesis)
    r = min((len(ref) for ref in references), key=lambda length: (abs(c - length), length))
    bp = 1.0 if c >= r else math.exp(1 - r / c)
    return 100 * bp * math.exp(log_p)


RIGHT = {
    ch06.top_k_filter: top_k_filter,
    ch06.top_p_filter: top_p_filter,
    ch06.lm_scores: lm_scores,
    ch06.greedy_decode: greedy_decode,
    ch06.clipped_precision: clipped_precision,
    ch06.bleu: bleu,
}


@pytest.mark.parametrize("check", RIGHT, ids=lambda c: c.__name__)
def test_right_answers_pass_and_todos_are_not_attempted(check, capsys):
    assert_right_and_todo(check, RIGHT[check], capsys)


@pytest.mark.parametrize(
    ("check", "other_right_answer"),
    [
        (ch06.top_k_filter, top_k_scatter),
        (ch06.top_k_filter, package_top_k),
        (ch06.top_p_filter, top_p_hf_style),
        (ch06.top_p_filter, package_top_p),
        (ch06.lm_scores, lambda losses, n: (losses.mean().exp(), losses.sum() / n / math.log(2))),
        (
            ch06.lm_scores,
            lambda losses, n: [
                math.exp(losses.mean()),
                float(losses.sum()) / n * math.log2(math.e),
            ],
        ),
        (ch06.greedy_decode, lambda m, idx, n: m.generate(idx, n, temperature=0)),
        (ch06.clipped_precision, package_clipped_precision),
        (ch06.clipped_precision, lambda h, r, n: list(clipped_precision(h, r, n))),
        (ch06.bleu, lambda h, r: corpus_bleu([h], [r], smooth="none").score),
    ],
)
def test_other_right_answers_pass_too(check, other_right_answer, capsys):
    ok, out = run(check, other_right_answer, capsys=capsys)
    assert ok is True, out


def test_bleu_names_an_unsolved_clipped_precision_as_the_todo(capsys):
    def clipped_precision(hypothesis, references, n):
        raise NotImplementedError

    def bleu_on_todo(hypothesis, references):
        return clipped_precision(hypothesis, references, 1)[0]

    ok, out = run(ch06.bleu, bleu_on_todo, capsys=capsys)
    assert ok is False and out.startswith("⏳") and "`clipped_precision` still raises" in out, out


# --- the checkers' inputs are fair ------------------------------------------------------


def test_top_p_cases_keep_clear_of_the_threshold():
    """No running sum of probabilities lies near p, so float rounding decides nothing."""
    for _, logits, p in ch06._top_p_cases():
        cumulative = logits.softmax(dim=-1).sort(dim=-1, descending=True).values.cumsum(dim=-1)
        assert (cumulative - p).abs().min() > 5e-3


def test_top_k_cases_have_no_ties():
    for _, logits, _ in ch06._top_k_cases():
        row = logits.reshape(-1, logits.size(-1))
        assert all(len(set(r.tolist())) == len(r) for r in row)


def test_greedy_choices_are_clear_cut():
    """The top two logits of the checker's model differ enough at every step that a
    different but right computation (cache, another kernel) cannot flip an argmax."""
    model = ch06._decoding_model()
    for _, idx, n in ch06._greedy_cases():
        tokens = model.generate(idx, n, temperature=0, use_cache=False)
        for t in range(idx.size(1), tokens.size(1)):
            logits = model(tokens[:, max(0, t - 8) : t])[0][:, -1]
            top2 = logits.topk(2, dim=-1).values
            assert (top2[:, 0] - top2[:, 1]).min() > 1e-3


def test_bleu_cases_match_every_order_and_reference_pieces_agree():
    """The exercise has no smoothing, so each case matches at least one n-gram of every
    order; the checker's own from-the-pieces BLEU equals the package's."""
    for _, hypothesis, references in ch06._bleu_cases():
        assert all(package_clipped_precision(hypothesis, references, n)[0] for n in range(1, 5))
        expected = corpus_bleu([hypothesis], [references], smooth="none").score
        assert ch06._bleu(hypothesis, references, "right") == pytest.approx(expected, rel=1e-12)


def test_each_named_mistake_differs_from_the_right_answer_somewhere():
    """A mistake that gives the right numbers on every case could never be named."""
    bleu_cases = ch06._bleu_cases()
    for mistake in ch06._BLEU_CAUSES:
        assert any(
            ch06._bleu(h, r, mistake) != pytest.approx(ch06._bleu(h, r, "right"))
            for _, h, r in bleu_cases
        ), mistake
    for mistake in ch06._CLIPPED_CAUSES:
        assert any(
            ch06._clipped(h, r, n, mistake) != package_clipped_precision(h, r, n)
            for h, r, n in ch06._clipped_cases()
        ), mistake


# --- the usual mistakes, each named ------------------------------------------------------


def top_k_variant(variant):
    def filter_(logits, k):
        if variant == "k+1":
            return top_k_filter(logits, k + 1) if k < logits.size(-1) else top_k_filter(logits, k)
        if variant == "k-1":
            return top_k_filter(logits, max(k - 1, 1))
        if variant == "dim 0":
            kth = torch.topk(logits, k, dim=0).values[-1:]
            return logits.masked_fill(logits < kth, float("-inf"))
        if variant == "probs":
            return torch.softmax(top_k_filter(logits, k), dim=-1)
        if variant == "zeros":
            kth = torch.topk(logits, k, dim=-1).values[..., -1:]
            return torch.where(logits < kth, torch.zeros_like(logits), logits)
        if variant == "in place":
            kth = torch.topk(logits, k, dim=-1).values[..., -1:]
            logits[logits < kth] = float("-inf")
            return logits
        if variant == "-1e9":
            kth = torch.topk(logits, k, dim=-1).values[..., -1:]
            return logits.masked_fill(logits < kth, -1e9)
        raise AssertionError(variant)

    return filter_


def top_p_variant(mistake):
    return lambda logits, p: ch06._top_p_wrong(logits, p, mistake)


def top_p_excluding(logits, p):
    """Keeps tokens while the running sum (this one included) stays below p."""
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    remove = cumulative > p
    remove[..., 0] = False
    return logits.masked_fill(remove.scatter(-1, order, remove), float("-inf"))


def top_p_excluding_all(logits, p):
    """The same without keeping at least one token: a tiny p removes everything."""
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    remove = sorted_logits.softmax(dim=-1).cumsum(dim=-1) > p
    return logits.masked_fill(remove.scatter(-1, order, remove), float("-inf"))


def top_p_in_place(logits, p):
    remove = package_top_p(logits, p) == float("-inf")
    return logits.masked_fill_(remove, float("-inf"))


def lm_variant(variant):
    def scores(losses, n_bytes):
        total, mean = losses.sum().item(), losses.mean().item()
        ppl, bpb = math.exp(mean), total / (n_bytes * math.log(2))
        if variant == "2**":
            ppl = 2**mean
        elif variant == "10**":
            ppl = 10**mean
        elif variant == "ppl per byte":
            ppl = math.exp(total / n_bytes)
        elif variant == "ppl sum":
            ppl = math.exp(total)
        elif variant == "no ln2":
            bpb = total / n_bytes
        elif variant == "ln10":
            bpb = total / (n_bytes * math.log(10))
        elif variant == "times ln2":
            bpb = total * math.log(2) / n_bytes
        elif variant == "per token":
            bpb = mean / math.log(2)
        elif variant == "mean per byte":
            bpb = mean / (n_bytes * math.log(2))
        elif variant == "swapped":
            return bpb, ppl
        elif variant == "one number":
            return ppl
        return ppl, bpb

    return scores


def greedy_variant(mistake):
    return lambda model, idx, n: ch06._greedy(model, idx, n, mistake)


@torch.no_grad()
def greedy_uncropped(model, idx, max_new_tokens):
    for _ in range(max_new_tokens):
        next_id = model(idx)[0][:, -1].argmax(dim=-1, keepdim=True)
        idx = torch.cat([idx, next_id], dim=1)
    return idx


@torch.no_grad()
def greedy_sampling(model, idx, max_new_tokens):
    for _ in range(max_new_tokens):
        logits = model(idx[:, -model.config.block_size :])[0][:, -1]
        idx = torch.cat([idx, torch.multinomial(logits.softmax(dim=-1), 1)], dim=1)
    return idx


@torch.no_grad()
def greedy_one_row(model, idx, max_new_tokens):
    """argmax() without dim: fine for one prompt, breaks on a batch."""
    for _ in range(max_new_tokens):
        logits = model(idx[:, -model.config.block_size :])[0][:, -1]
        idx = torch.cat([idx, logits.argmax().view(1, 1)], dim=1)
    return idx


def clipped_variant(mistake):
    return lambda h, r, n: ch06._clipped(h, r, n, mistake)


def bleu_variant(mistake):
    return lambda h, r: ch06._bleu(h, r, mistake)


MISTAKES = [
    (ch06.top_k_filter, top_k_variant("k+1"), "k + 1 tokens were kept"),
    (ch06.top_k_filter, top_k_variant("k-1"), "only k − 1 tokens were kept"),
    (ch06.top_k_filter, top_k_variant("dim 0"), "along the batch dimension"),
    (ch06.top_k_filter, top_k_variant("probs"), "probabilities were returned"),
    (ch06.top_k_filter, top_k_variant("zeros"), "removed tokens were set to 0"),
    (ch06.top_k_filter, top_k_variant("in place"), "changed its input logits in place"),
    (ch06.top_k_filter, top_k_variant("-1e9"), "a big negative number"),
    (ch06.top_p_filter, top_p_excluding, "the token that crosses p was left out"),
    (ch06.top_p_filter, top_p_variant("excluding"), "the token that crosses p was left out"),
    (ch06.top_p_filter, top_p_excluding_all, "lost every token"),
    (ch06.top_p_filter, top_p_variant("sorted"), "came back in sorted order"),
    (ch06.top_p_filter, top_p_variant("sorted mask on unsorted"), "applied to the unsorted"),
    (ch06.top_p_filter, top_p_variant("logits cumsum"), "running sum was taken over logits"),
    (ch06.top_p_filter, top_p_variant("logits cumsum, including"), "taken over logits"),
    (ch06.top_p_filter, top_p_variant("flattened batch"), "whole batch was treated as one"),
    (ch06.top_p_filter, top_p_variant("batch dim"), "whole batch was treated as one"),
    (ch06.top_p_filter, top_p_variant("whole-batch count"), "summed over the whole batch"),
    (ch06.top_p_filter, top_p_in_place, "changed its input logits in place"),
    (ch06.lm_scores, lm_variant("2**"), "2 ** mean loss"),
    (ch06.lm_scores, lm_variant("10**"), "10 ** mean loss"),
    (ch06.lm_scores, lm_variant("ppl per byte"), "averaged per byte"),
    (ch06.lm_scores, lm_variant("ppl sum"), "summed, not averaged"),
    (ch06.lm_scores, lm_variant("no ln2"), "ln 2 is missing"),
    (ch06.lm_scores, lm_variant("ln10"), "divided by ln 10"),
    (ch06.lm_scores, lm_variant("times ln2"), "multiplied by ln 2"),
    (ch06.lm_scores, lm_variant("per token"), "that is bits per token"),
    (ch06.lm_scores, lm_variant("mean per byte"), "the mean loss was spread over the bytes"),
    (ch06.lm_scores, lm_variant("swapped"), "swapped"),
    (ch06.lm_scores, lm_variant("one number"), "return a pair"),
    (ch06.greedy_decode, greedy_variant("position 0"), "read at position 0"),
    (ch06.greedy_decode, greedy_uncropped, "the context was not cropped"),
    (ch06.greedy_decode, greedy_variant("first block"), "the first block_size tokens"),
    (ch06.greedy_decode, greedy_sampling, "the loop samples"),
    (ch06.greedy_decode, greedy_variant("new only"), "only the new tokens were returned"),
    (ch06.greedy_decode, greedy_one_row, "the batch dimension got lost"),
    (ch06.greedy_decode, greedy_variant("row 0 for all"), "every row got the token"),
    (ch06.clipped_precision, clipped_variant("no clipping"), "no clipping"),
    (ch06.clipped_precision, clipped_variant("sum"), "(max, not sum)"),
    (ch06.clipped_precision, clipped_variant("first reference"), "only the first reference"),
    (ch06.clipped_precision, clipped_variant("types"), "distinct n-grams (types)"),
    (ch06.clipped_precision, clipped_variant("off by one"), "L − n + 1 n-grams"),
    (ch06.bleu, bleu_variant("no penalty"), "the brevity penalty is missing"),
    (ch06.bleu, bleu_variant("arithmetic"), "arithmetic mean"),
    (ch06.bleu, bleu_variant("longest"), "used the longest reference"),
    (ch06.bleu, bleu_variant("shortest"), "used the shortest reference"),
    (ch06.bleu, bleu_variant("tie longer"), "on a tie in length"),
    (ch06.bleu, bleu_variant("no if"), "got a bonus (BP > 1)"),
    (ch06.bleu, bleu_variant("both ways"), "longer than its reference was penalised"),
    (ch06.bleu, bleu_variant("0-1"), "0–1 scale"),
]


@pytest.mark.parametrize(("check", "wrong", "cause"), MISTAKES)
def test_usual_mistakes_fail_with_their_cause(check, wrong, cause, capsys):
    assert_mistake_named(check, wrong, cause, capsys)
