"""Chapter 02's checkers: right answers pass, each usual mistake is named, TODOs are ⏳."""

import math

import pytest
import torch
import torch.nn.functional as F
from checker_cases import assert_mistake_named, assert_right_and_todo, run

from llmcourse import functional
from llmcourse.checks import ch02

# --- right answers, written as a learner would ---------------------------------------------


def bigram_probs(ids, vocab_size, k):
    counts = torch.zeros(vocab_size, vocab_size)
    for a, b in zip(ids.tolist(), ids[1:].tolist()):
        counts[a, b] += 1
    total = counts.sum(1, keepdim=True)
    probs = (counts + k) / (total + k * vocab_size)
    return torch.where(total > 0, probs, torch.full_like(probs, 1 / vocab_size))


def log_softmax(x):
    m = x.amax(dim=-1, keepdim=True)
    return (x - m) - (x - m).exp().sum(dim=-1, keepdim=True).log()


def cross_entropy(logits, targets, ignore_index):
    keep = targets != ignore_index
    safe = torch.where(keep, targets, 0)
    nll = -log_softmax(logits).gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    return (nll * keep).sum() / keep.sum()


def cross_entropy_grad(logits, targets):
    N, V = logits.shape
    return (torch.softmax(logits, dim=-1) - F.one_hot(targets, V)) / N


def entropy(p):
    return -torch.where(p > 0, p * p.log(), torch.zeros_like(p)).sum(dim=-1)


def perplexity_and_bpb(mean_loss, n_tokens, n_bytes):
    return math.exp(mean_loss), mean_loss * n_tokens / (n_bytes * math.log(2))


RIGHT = {
    ch02.bigram_probs: bigram_probs,
    ch02.log_softmax: log_softmax,
    ch02.cross_entropy: cross_entropy,
    ch02.cross_entropy_grad: cross_entropy_grad,
    ch02.entropy: entropy,
    ch02.perplexity_and_bpb: perplexity_and_bpb,
}


@pytest.mark.parametrize("check", RIGHT, ids=lambda c: c.__name__)
def test_right_answers_pass_and_todos_are_not_attempted(check, capsys):
    assert_right_and_todo(check, RIGHT[check], capsys)


OTHER_RIGHT_ANSWERS = [
    (ch02.log_softmax, lambda x: torch.log_softmax(x, dim=-1)),
    (ch02.log_softmax, lambda x: x - torch.logsumexp(x, dim=-1, keepdim=True)),
    (ch02.log_softmax, functional.log_softmax),
    (ch02.cross_entropy, lambda lg, t, i: F.cross_entropy(lg.transpose(1, 2), t, ignore_index=i)),
    (ch02.cross_entropy, lambda lg, t, i: functional.cross_entropy(lg, t, ignore_index=i)),
    (ch02.entropy, lambda p: -torch.special.xlogy(p, p).sum(-1)),
    (ch02.entropy, lambda p: functional.entropy(p)),
    (
        ch02.perplexity_and_bpb,
        lambda m, n, b: (functional.perplexity(m), functional.bits_per_byte(m * n, b)),
    ),
    (ch02.perplexity_and_bpb, lambda m, n, b: (torch.tensor(m).exp(), m * n / b / math.log(2))),
]


@pytest.mark.parametrize(("check", "fn"), OTHER_RIGHT_ANSWERS)
def test_other_correct_spellings_pass_too(check, fn, capsys):
    ok, out = run(check, fn, capsys=capsys)
    assert ok is True, out


def autograd_gradient(logits, targets):
    leaf = logits.detach().clone().requires_grad_()
    F.cross_entropy(leaf, targets).backward()
    return leaf.grad


def test_the_gradient_checker_agrees_with_autograd_and_the_course_function(capsys):
    ok, out = run(ch02.cross_entropy_grad, autograd_gradient, capsys=capsys)
    assert ok, out


# --- the usual mistakes, each named --------------------------------------------------------


def bigram_no_kv(ids, vocab_size, k):
    counts = bigram_probs(ids, vocab_size, 0.0) * 0
    for a, b in zip(ids.tolist(), ids[1:].tolist()):
        counts[a, b] += 1
    total = counts.sum(1, keepdim=True)
    probs = (counts + k) / total.clamp(min=1)
    return torch.where(total > 0, probs, torch.full_like(probs, 1 / vocab_size))


def bigram_nan_rows(ids, vocab_size, k):
    counts = torch.zeros(vocab_size, vocab_size)
    for a, b in zip(ids.tolist(), ids[1:].tolist()):
        counts[a, b] += 1
    return (counts + k) / (counts.sum(1, keepdim=True) + k * vocab_size)


def bigram_columns(ids, vocab_size, k):
    counts = torch.zeros(vocab_size, vocab_size)
    for a, b in zip(ids.tolist(), ids[1:].tolist()):
        counts[a, b] += 1
    return (counts + k) / (counts.sum(0, keepdim=True) + k * vocab_size)


def bigram_counts_plus_k(ids, vocab_size, k):
    counts = torch.zeros(vocab_size, vocab_size)
    for a, b in zip(ids.tolist(), ids[1:].tolist()):
        counts[a, b] += 1
    return counts + k


def bigram_swapped(ids, vocab_size, k):
    return bigram_probs(ids.flip(0), vocab_size, k)


def naive_log_softmax(x):
    return x - x.exp().sum(-1, keepdim=True).log()


def naive_log_of_softmax(x):
    return (x.exp() / x.exp().sum(-1, keepdim=True)).log()


def global_max_log_softmax(x):
    m = x.max()
    return (x - m) - (x - m).exp().sum(-1, keepdim=True).log()


def no_keepdim_log_softmax(x):
    m = x.amax(dim=-1)
    return x - m - (x - m).exp().sum(-1).log()


def ce_over_padding(logits, targets, ignore_index):
    return F.cross_entropy(logits.transpose(1, 2), targets.clamp(min=0))


def ce_divided_by_all(logits, targets, ignore_index):
    losses = F.cross_entropy(
        logits.transpose(1, 2), targets, ignore_index=ignore_index, reduction="none"
    )
    return losses.sum() / targets.numel()


def ce_sum(logits, targets, ignore_index):
    return F.cross_entropy(
        logits.transpose(1, 2), targets, ignore_index=ignore_index, reduction="sum"
    )


def ce_no_mask(logits, targets, ignore_index):
    logp = log_softmax(logits)
    return -logp.gather(-1, targets.unsqueeze(-1)).mean()


def ce_log_of_softmax(logits, targets, ignore_index):
    keep = targets != ignore_index
    safe = torch.where(keep, targets, 0)
    logp = torch.softmax(logits, -1).log()
    nll = -logp.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    return (nll * keep).sum() / keep.sum()


def naive_softmax(x):
    return x.exp() / x.exp().sum(-1, keepdim=True)


MISTAKES = [
    (ch02.bigram_probs, bigram_nan_rows, "never followed by anything"),
    (ch02.bigram_probs, bigram_no_kv, "add k·V to the row's total"),
    (ch02.bigram_probs, bigram_columns, "normalized down its columns"),
    (ch02.bigram_probs, bigram_swapped, "rows and columns are swapped"),
    (ch02.bigram_probs, bigram_counts_plus_k, "not probabilities"),
    (ch02.log_softmax, naive_log_softmax, "Subtract each row's maximum before exp"),
    (ch02.log_softmax, naive_log_of_softmax, "exp(1000) does not fit in a float"),
    (ch02.log_softmax, global_max_log_softmax, "the maximum of the whole tensor"),
    (ch02.log_softmax, lambda x: torch.softmax(x, -1), "this is softmax, not its log"),
    (ch02.log_softmax, lambda x: torch.log_softmax(x, 0), "the LAST dimension"),
    (ch02.log_softmax, lambda x: x - x.amax(-1, keepdim=True), "only the maximum"),
    (ch02.log_softmax, no_keepdim_log_softmax, "keepdim=True"),
    (ch02.cross_entropy, ce_over_padding, "the padded positions were averaged in"),
    (ch02.cross_entropy, ce_divided_by_all, "divided by all"),
    (ch02.cross_entropy, ce_sum, "this is the sum of the losses"),
    (ch02.cross_entropy, lambda lg, t, i: -cross_entropy(lg, t, i), "the sign is flipped"),
    (ch02.cross_entropy, ce_no_mask, "mask those positions out"),
    (ch02.cross_entropy, ce_log_of_softmax, "log(softmax(x)) underflows"),
    (ch02.cross_entropy, lambda lg, t, i: cross_entropy(naive_log_softmax(lg), t, i), "overflows"),
    (ch02.cross_entropy, lambda lg, t, i: cross_entropy(lg, t, i).item(), "0-dim tensor"),
    (
        ch02.cross_entropy_grad,
        lambda lg, t: cross_entropy_grad(lg, t) * len(t),
        "not divided by N",
    ),
    (ch02.cross_entropy_grad, lambda lg, t: -cross_entropy_grad(lg, t), "the sign is flipped"),
    (
        ch02.cross_entropy_grad,
        lambda lg, t: (lg - F.one_hot(t, lg.shape[1])) / len(t),
        "take softmax(logits)",
    ),
    (
        ch02.cross_entropy_grad,
        lambda lg, t: cross_entropy_grad(lg, t) * len(t) / lg.shape[1],
        "divided by V",
    ),
    (
        ch02.cross_entropy_grad,
        lambda lg, t: (naive_softmax(lg) - F.one_hot(t, lg.shape[1])) / len(t),
        "softmax(x) = softmax(x - m)",
    ),
    (ch02.entropy, lambda p: -(p * p.log()).sum(-1), "0 · log 0"),
    (ch02.entropy, lambda p: -torch.special.xlogy(p, p).sum(-1) / math.log(2), "log base 2"),
    (ch02.entropy, lambda p: torch.special.xlogy(p, p).sum(-1), "the sign is missing"),
    (ch02.entropy, lambda p: -torch.special.xlogy(p, p).sum(0), "Sum over the last dimension"),
    (ch02.perplexity_and_bpb, lambda m, n, b: (2**m, 0.0), "2 ** loss"),
    (
        ch02.perplexity_and_bpb,
        lambda m, n, b: (math.exp(m * n), 0.0),
        "the MEAN loss per token",
    ),
    (ch02.perplexity_and_bpb, lambda m, n, b: (math.exp(m), m / math.log(2)), "bits per TOKEN"),
    (ch02.perplexity_and_bpb, lambda m, n, b: (math.exp(m), m * n / b), "nats per byte"),
    (
        ch02.perplexity_and_bpb,
        lambda m, n, b: (math.exp(m), m * n / b * math.log(2)),
        "multiplied by ln 2",
    ),
    (
        ch02.perplexity_and_bpb,
        lambda m, n, b: (math.exp(m), m * b / n / math.log(2)),
        "upside down",
    ),
    (ch02.perplexity_and_bpb, lambda m, n, b: math.exp(m), "return two numbers"),
]


@pytest.mark.parametrize(("check", "wrong", "cause"), MISTAKES)
def test_usual_mistakes_fail_with_their_cause(check, wrong, cause, capsys):
    assert_mistake_named(check, wrong, cause, capsys)


def test_checkers_never_raise_on_wrong_types(capsys):
    for check in RIGHT:
        ok, out = run(check, lambda *args: "nonsense", capsys=capsys)
        assert ok is False and out.startswith("❌"), out
        assert "course bug" not in out, out
