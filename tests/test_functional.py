"""llmcourse.functional equals torch's softmax and cross-entropy, and obeys the identities
that chapter 02 derives (the gradient of cross-entropy, H(p, q) = H(p) + KL(p ‖ q), ...)."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from llmcourse.functional import (
    bits_per_byte,
    cross_entropy,
    entropy,
    kl_divergence,
    log_softmax,
    logsumexp,
    perplexity,
    softmax,
)

INF = float("inf")
DTYPES = [torch.float32, torch.float64]


def random_logits(shape, scale, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=torch.float64) * scale).to(dtype)


def tolerance(scale, dtype):
    """Both sides round x - max(x) in ``dtype``: errors grow with the logits' scale."""
    eps = torch.finfo(dtype).eps
    return {"rtol": 20 * eps, "atol": 20 * eps * max(1.0, scale)}


shapes = st.lists(st.integers(1, 7), min_size=1, max_size=3).map(tuple)
scales = st.sampled_from([1e-3, 1.0, 30.0, 1e4])
dtypes = st.sampled_from(DTYPES)
seeds = st.integers(0, 2**31 - 1)


# ------------------------------------------------------------------ softmax and friends


@settings(max_examples=60)
@given(shape=shapes, scale=scales, dtype=dtypes, seed=seeds, mask_rate=st.sampled_from([0, 0.4]))
def test_softmax_log_softmax_logsumexp_match_torch_on_random_shapes(
    shape, scale, dtype, seed, mask_rate
):
    x = random_logits(shape, scale, dtype, seed)
    g = torch.Generator().manual_seed(seed + 1)
    x[torch.rand(shape, generator=g) < mask_rate] = -INF  # masked positions; some rows all -inf
    dim = seed % len(shape) - len(shape)  # any dimension, not only the last
    tol = tolerance(scale, dtype)
    torch.testing.assert_close(softmax(x, dim), torch.softmax(x, dim), equal_nan=True, **tol)
    torch.testing.assert_close(
        log_softmax(x, dim), torch.log_softmax(x, dim), equal_nan=True, **tol
    )
    torch.testing.assert_close(logsumexp(x, dim), torch.logsumexp(x, dim), equal_nan=True, **tol)


def test_fully_masked_row_gives_nan_softmax_and_minus_inf_logsumexp_like_torch():
    x = torch.tensor([[-INF, -INF, -INF], [0.0, -INF, 1.0]])
    assert softmax(x)[0].isnan().all() and torch.softmax(x, -1)[0].isnan().all()
    assert log_softmax(x)[0].isnan().all()
    assert logsumexp(x)[0] == -INF == torch.logsumexp(x, -1)[0]
    assert softmax(x)[1, 1] == 0 and log_softmax(x)[1, 1] == -INF  # masked entry
    torch.testing.assert_close(softmax(x)[1], torch.softmax(x, -1)[1])


@pytest.mark.parametrize("x", [[1e4, 0.0], [-1e4, -1e4], [800.0, 799.0]])
def test_naive_softmax_fails_on_large_logits_where_the_stable_one_does_not(x):
    x = torch.tensor(x)
    naive = x.exp() / x.exp().sum()
    assert not torch.isfinite(naive).all()
    ours = softmax(x)
    assert torch.isfinite(ours).all()
    torch.testing.assert_close(ours, torch.softmax(x, -1))
    assert torch.isfinite(log_softmax(x)).all() and torch.isfinite(logsumexp(x))


@pytest.mark.parametrize("fn", [softmax, log_softmax, logsumexp])
def test_softmax_family_passes_gradcheck_in_float64(fn):
    x = random_logits((3, 5), 2.0, torch.float64, seed=0).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: fn(t, -1), (x,))
    assert torch.autograd.gradcheck(lambda t: fn(t, 0), (x,))


# ------------------------------------------------------------------------ cross-entropy


@settings(max_examples=150)
@given(
    shape=st.lists(st.integers(1, 6), min_size=2, max_size=3).map(tuple),  # (N, V) / (B, T, V)
    scale=scales,
    dtype=dtypes,
    seed=seeds,
    ignore_index=st.sampled_from([-100, -1, 0]),  # 0: a real class id used as padding
    ignore_rate=st.sampled_from([0.0, 0.3, 1.0]),  # 1.0: every position ignored
    label_smoothing=st.sampled_from([0.0, 0.1, 1.0]) | st.floats(0.0, 1.0),
    reduction=st.sampled_from(["none", "mean", "sum"]),
)
def test_cross_entropy_matches_torch_on_random_shapes(
    shape, scale, dtype, seed, ignore_index, ignore_rate, label_smoothing, reduction
):
    logits = random_logits(shape, scale, dtype, seed)
    V = shape[-1]
    g = torch.Generator().manual_seed(seed + 1)
    targets = torch.randint(0, V, shape[:-1], generator=g)
    targets[torch.rand(shape[:-1], generator=g) < ignore_rate] = ignore_index
    kwargs = dict(ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction)
    ours = cross_entropy(logits, targets, **kwargs)
    theirs = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), **kwargs)
    if reduction == "none":
        theirs = theirs.reshape(shape[:-1])  # ours keeps the targets' shape
    tol = tolerance(scale, dtype)
    torch.testing.assert_close(ours, theirs, equal_nan=True, **tol)
    if len(shape) == 3:  # torch's own layout for sequences: (B, V, T)
        theirs = F.cross_entropy(logits.transpose(1, 2), targets, **kwargs)
        torch.testing.assert_close(ours, theirs, equal_nan=True, **tol)


def test_cross_entropy_all_ignored_is_nan_for_mean_and_zero_for_sum_like_torch():
    logits, targets = torch.randn(2, 3, 5), torch.full((2, 3), -100)
    assert cross_entropy(logits, targets).isnan()
    assert F.cross_entropy(logits.reshape(-1, 5), targets.reshape(-1)).isnan()
    assert cross_entropy(logits, targets, reduction="sum") == 0
    assert (cross_entropy(logits, targets, reduction="none") == 0).all()


def test_cross_entropy_with_masked_logits_matches_torch():
    logits = torch.tensor([[0.0, -INF, 1.0], [2.0, 0.5, -INF]])
    targets = torch.tensor([2, 0])
    torch.testing.assert_close(cross_entropy(logits, targets), F.cross_entropy(logits, targets))
    # smoothing puts mass on the masked class, whose log-probability is -inf: torch says inf
    assert cross_entropy(logits, targets, label_smoothing=0.1) == INF
    assert F.cross_entropy(logits, targets, label_smoothing=0.1) == INF


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_passes_gradcheck_with_ignore_index_and_label_smoothing(
    label_smoothing, reduction
):
    logits = random_logits((2, 4, 5), 2.0, torch.float64, seed=1).requires_grad_()
    targets = torch.tensor([[0, 4, -100, 2], [-100, 1, 3, 3]])
    assert torch.autograd.gradcheck(
        lambda x: cross_entropy(x, targets, label_smoothing=label_smoothing, reduction=reduction),
        (logits,),
    )


@pytest.mark.parametrize("seed", range(3))
def test_gradient_of_mean_cross_entropy_is_softmax_minus_one_hot_over_n(seed):
    logits = random_logits((3, 6, 7), 3.0, torch.float64, seed).requires_grad_()
    g = torch.Generator().manual_seed(seed)
    targets = torch.randint(0, 7, (3, 6), generator=g)
    targets[0, :4] = -100  # ignored positions get no gradient and don't count in N
    cross_entropy(logits, targets).backward()

    kept = targets != -100  # (B, T)
    one_hot = F.one_hot(targets.clamp(min=0), 7).double()  # (B, T, V)
    expected = (torch.softmax(logits.detach(), -1) - one_hot) / kept.sum()
    expected[~kept] = 0
    torch.testing.assert_close(logits.grad, expected)


def test_cross_entropy_of_a_uniform_guess_is_log_v_and_its_perplexity_is_v():
    V = 37
    loss = cross_entropy(torch.zeros(4, 9, V), torch.randint(0, V, (4, 9)))
    torch.testing.assert_close(loss, torch.tensor(math.log(V)))
    assert perplexity(loss).item() == pytest.approx(V, rel=1e-5)
    assert perplexity(math.log(V)) == pytest.approx(V)


# ------------------------------------------------------- entropy, KL, perplexity, bits


def random_distributions(n, V, seed, zeros=True):
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(n, V, generator=g, dtype=torch.float64) ** 3
    if zeros:
        p[torch.rand(n, V, generator=g) < 0.3] = 0  # 0·log 0 terms
        p[:, 0] += 0.1  # no row is all zeros
    return p / p.sum(-1, keepdim=True)


@settings(max_examples=40)
@given(n=st.integers(1, 6), V=st.integers(1, 12), seed=seeds)
def test_cross_entropy_of_distributions_is_entropy_plus_kl(n, V, seed):
    p = random_distributions(n, V, seed)
    q = random_distributions(n, V, seed + 1, zeros=False)  # q > 0 keeps H(p, q) finite
    h_pq = F.cross_entropy(q.log(), p, reduction="none")  # torch's soft-target cross-entropy
    torch.testing.assert_close(h_pq, entropy(p) + kl_divergence(p, q))
    torch.testing.assert_close(kl_divergence(p, q), F.kl_div(q.log(), p, reduction="none").sum(-1))
    assert (kl_divergence(p, q) >= 0).all()
    assert (kl_divergence(p, p) == 0).all()
    assert (entropy(p) >= 0).all() and (entropy(p) <= math.log(V) + 1e-12).all()


def test_entropy_known_values():
    assert entropy(torch.full((8,), 1 / 8)).item() == pytest.approx(math.log(8))
    assert entropy([0.25] * 4).item() == pytest.approx(math.log(4))  # a plain list works too
    assert entropy(torch.tensor([0.0, 1.0, 0.0])).item() == 0  # 0·log 0 = 0, not nan
    two_coins = torch.tensor([[0.5, 0.5], [1.0, 0.0]])
    torch.testing.assert_close(entropy(two_coins), torch.tensor([math.log(2), 0.0]))
    torch.testing.assert_close(entropy(two_coins.T, dim=0), entropy(two_coins))


def test_kl_is_infinite_when_q_misses_what_p_can_do():
    assert kl_divergence(torch.tensor([0.5, 0.5]), torch.tensor([1.0, 0.0])) == INF
    assert kl_divergence(torch.tensor([1.0, 0.0]), torch.tensor([0.5, 0.5])) == pytest.approx(
        math.log(2)
    )


def test_bits_per_byte_known_cases():
    assert bits_per_byte(8 * math.log(2), 4) == pytest.approx(2.0)
    # a model uniform over the 256 byte values, scoring 1000 bytes: exactly 8 bits per byte
    assert bits_per_byte(1000 * math.log(256), 1000) == pytest.approx(8.0)
    out = bits_per_byte(torch.tensor(100 * math.log(2), dtype=torch.float64), 50)
    assert isinstance(out, torch.Tensor) and out.item() == pytest.approx(2.0)


# --------------------------------------------------------------------------- clear errors


def test_cross_entropy_rejects_mismatched_shapes_with_the_rule():
    with pytest.raises(ValueError, match=r"logits have shape \(4, 7, 10\) but targets \(4, 8\); "):
        cross_entropy(torch.zeros(4, 7, 10), torch.zeros(4, 8, dtype=torch.long))
    with pytest.raises(ValueError, match=r"targets must be logits.shape\[:-1\]"):
        cross_entropy(torch.zeros(4, 10, 7), torch.zeros(4, 7, dtype=torch.long))  # torch layout


def test_cross_entropy_names_an_out_of_range_target_and_points_at_ignore_index():
    targets = torch.tensor([[1, 2], [12, 3]])
    with pytest.raises(ValueError, match=r"targets contain 12 at position \(1, 0\).*V=10.*"):
        cross_entropy(torch.zeros(2, 2, 10), targets)
    with pytest.raises(ValueError, match="ignore_index"):
        cross_entropy(torch.zeros(2, 10), torch.tensor([-1, 3]))  # -1 is not the ignore_index
    cross_entropy(torch.zeros(2, 10), torch.tensor([-1, 3]), ignore_index=-1)  # now fine


def test_cross_entropy_rejects_bad_arguments():
    logits = torch.zeros(3, 5)
    with pytest.raises(TypeError, match=r"targets must be integer class ids.*targets.long\(\)"):
        cross_entropy(logits, torch.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(TypeError, match="targets must be a torch.Tensor of class ids"):
        cross_entropy(logits, [0, 1, 2])
    with pytest.raises(TypeError, match="logits must be a float tensor"):
        cross_entropy(torch.zeros(3, 5, dtype=torch.long), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="unknown reduction 'avg'; use one of none, mean, sum"):
        cross_entropy(logits, torch.tensor([0, 1, 2]), reduction="avg")
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\]"):
            cross_entropy(logits, torch.tensor([0, 1, 2]), label_smoothing=bad)


def test_information_measures_reject_what_is_not_a_distribution():
    with pytest.raises(ValueError, match=r"p must sum to 1 along dim=-1.*p / p.sum"):
        entropy(torch.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="negative entries.*softmax"):
        entropy(torch.tensor([-1.0, 2.0]))
    with pytest.raises(ValueError, match="q must sum to 1"):
        kl_divergence(torch.tensor([0.5, 0.5]), torch.tensor([0.5, 0.6]))
    with pytest.raises(ValueError, match="p has shape"):
        kl_divergence(torch.tensor([0.5, 0.5]), torch.tensor([0.2, 0.3, 0.5]))
    with pytest.raises(TypeError, match="must be a float tensor"):
        entropy(torch.tensor([0, 1]))


def test_perplexity_and_bits_per_byte_reject_impossible_inputs():
    with pytest.raises(ValueError, match="mean_loss must be >= 0.*negate it"):
        perplexity(-1.2)
    with pytest.raises(ValueError, match="mean_loss must be >= 0"):
        perplexity(torch.tensor([0.5, -0.1]))
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="n_bytes must be a positive whole number"):
            bits_per_byte(10.0, bad)
