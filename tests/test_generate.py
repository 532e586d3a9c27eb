"""llmcourse.generate: filters equal a slow reference and Hugging Face; the KV cache changes
nothing but the speed; beam search equals Hugging Face's and an exhaustive search."""

import dataclasses
import doctest
import itertools
import math
from types import SimpleNamespace

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import llmcourse.generate
from llmcourse.generate import (
    KVCache,
    apply_temperature,
    beam_search,
    repetition_penalty,
    sample_next,
    top_k_filter,
    top_p_filter,
)
from llmcourse.gpt import GPT, GPTConfig

INF = float("inf")


def tiny(**changes) -> GPTConfig:
    sizes = dict(vocab_size=23, block_size=8, n_layer=2, n_head=2, n_embd=16)
    return GPTConfig(**(sizes | changes))


def sharp(model: GPT, std: float = 0.3) -> GPT:
    """Larger random weights: peaked next-token distributions, so no near-ties in a search."""
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, std)
    return model.eval()


# ---------------------------------------------------------------- slow references


def reference_top_k(row: list[float], k: int) -> list[float]:
    """Keep every value ≥ the k-th largest (so ties at the k-th are all kept)."""
    ranked = sorted(row, reverse=True)
    kth = ranked[min(k, len(row)) - 1]
    return [x if x >= kth else -INF for x in row]


def probabilities(row: list[float]) -> list[float]:
    """softmax in float64; -inf has probability 0."""
    top = max(row)
    weights = [math.exp(x - top) if x > -INF else 0.0 for x in row]
    return [w / sum(weights) for w in weights]


def reference_top_p(row: list[float], p: float) -> list[float]:
    """Walk the tokens from most to least likely; keep one while the mass before it is < p,
    and every token tied with the last one kept."""
    if p == 1:
        return list(row)
    probs = probabilities(row)
    order = sorted(range(len(row)), key=lambda i: -row[i])
    kept, mass = [], 0.0
    for i in order:
        if mass >= p and row[i] < row[kept[-1]]:
            break
        kept.append(i)
        mass += probs[i]
    return [x if i in kept else -INF for i, x in enumerate(row)]


def masses_before(row: list[float]) -> list[float]:
    """For each rank in sorted order, the float64 probability mass of the tokens above it."""
    probs = sorted(probabilities(row), reverse=True)
    return [sum(probs[:r]) for r in range(len(probs))]


def rows(x: torch.Tensor) -> list[list[float]]:
    return x.reshape(-1, x.size(-1)).tolist()


@st.composite
def logits_batches(draw):
    """(..., V) float32 logits with 0–2 leading dims; integer values make ties; some -inf
    (never a whole row)."""
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    V = draw(st.integers(1, 12))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    if draw(st.booleans()):
        x = torch.randint(-3, 4, (*lead, V), generator=g).float()  # many ties
    else:
        x = torch.randn(*lead, V, generator=g) * draw(st.sampled_from([0.1, 1.0, 5.0]))
    if V > 1 and draw(st.booleans()):
        hole = torch.rand(*lead, V, generator=g) < 0.3
        hole[..., 0] = False  # every row keeps one finite logit
        x = x.masked_fill(hole, -INF)
    return x


# ---------------------------------------------------------------- top-k, top-p


@given(x=logits_batches(), k=st.integers(1, 14))
def test_top_k_filter_matches_the_slow_reference_with_ties_and_minus_infinity(x, k):
    out = top_k_filter(x, k)
    assert out.shape == x.shape
    assert rows(out) == [reference_top_k(row, k) for row in rows(x)]


P_VALUES = st.one_of(
    st.floats(1e-6, 1.0, exclude_max=True), st.sampled_from([1e-9, 1e-3, 0.5, 0.9999, 1.0])
)


@given(x=logits_batches(), p=P_VALUES)
def test_top_p_filter_matches_the_slow_reference_and_keeps_the_smallest_nucleus(x, p):
    # float32 sums differ from float64 ones by ~1e-7: skip the draws whose boundary is closer
    assume(p == 1 or all(abs(m - p) > 1e-5 for row in rows(x) for m in masses_before(row)))
    out = top_p_filter(x, p)
    assert out.shape == x.shape
    assert rows(out) == [reference_top_p(row, p) for row in rows(x)]
    for row, kept in zip(rows(x), rows(out)):
        probs = probabilities(row)
        mass = sum(q for q, y in zip(probs, kept) if y > -INF)
        assert mass >= p - 1e-9 or p == 1  # the nucleus reaches p …
        last = min(y for y in kept if y > -INF)  # … and is the smallest that does:
        without_last = sum(q for q, y in zip(probs, kept) if y > last)
        assert without_last < p or last == -INF  # dropping the least likely (tied) ones falls short


def test_top_p_keeps_the_token_that_crosses_p_and_unsorts():
    # probabilities 0.1, 0.6, 0.3 (out of order on purpose): p = 0.65 needs 0.6 + 0.3
    x = torch.tensor([0.1, 0.6, 0.3]).log()
    assert top_p_filter(x, 0.65).isfinite().tolist() == [False, True, True]
    assert top_p_filter(x, 0.6).isfinite().tolist() == [False, True, False]  # 0.6 reaches 0.6
    assert top_p_filter(x, 1e-9).isfinite().tolist() == [False, True, False]  # p → 0: greedy


def test_top_p_and_top_k_keep_every_tie_at_the_boundary():
    x = torch.tensor([[1.0, 3.0, 3.0, 2.0, 3.0]])
    assert top_k_filter(x, 2).isfinite().tolist() == [[False, True, True, False, True]]
    assert top_p_filter(x, 0.1).isfinite().tolist() == [[False, True, True, False, True]]


def test_p_one_and_k_at_least_V_change_nothing_and_minus_infinity_stays():
    x = torch.tensor([[2.0, -INF, 0.5, -30.0]])
    assert torch.equal(top_p_filter(x, 1.0), x)
    assert torch.equal(top_k_filter(x, 4), x)
    assert torch.equal(top_k_filter(x, 100), x)
    assert top_k_filter(x, 1).isfinite().tolist() == [[True, False, False, False]]


@given(x=logits_batches(), k=st.integers(1, 14), p=P_VALUES)
def test_filters_compose_top_k_then_top_p(x, k, p):
    after_k = top_k_filter(x, k)
    assume(p == 1 or all(abs(m - p) > 1e-5 for row in rows(after_k) for m in masses_before(row)))
    expected = [reference_top_p(reference_top_k(row, k), p) for row in rows(x)]
    assert rows(top_p_filter(after_k, p)) == expected


def hf_warper(name: str, *args):
    transformers = pytest.importorskip("transformers")
    return getattr(transformers.generation.logits_process, name)(*args)


@pytest.mark.parametrize("k", [1, 3, 17, 50, 80])
def test_top_k_filter_equals_hugging_face_top_k_warper(k):
    x = torch.randn(4, 50, generator=torch.Generator().manual_seed(k))  # no ties
    assert torch.equal(top_k_filter(x, k), hf_warper("TopKLogitsWarper", k)(None, x.clone()))


@pytest.mark.parametrize("p", [0.01, 0.3, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("scale", [0.5, 3.0])
def test_top_p_filter_equals_hugging_face_top_p_warper(p, scale):
    # HF sorts ascending and drops a token when the mass at or below it is ≤ 1 - p: in exact
    # arithmetic the same set as "the mass above it is ≥ p". (Differences, none of which
    # shows here: HF's `min_tokens_to_keep`, ours is 1; at p = 1 HF also sets the tokens whose
    # probability underflows to 0 to -inf, ours returns the logits unchanged.)
    x = torch.randn(6, 50, generator=torch.Generator().manual_seed(int(p * 100))) * scale
    expected = hf_warper("TopPLogitsWarper", p)(None, x.clone())
    assert torch.equal(top_p_filter(x, p), expected)


@pytest.mark.parametrize("penalty", [0.5, 1.0, 1.3, 2.0])
def test_repetition_penalty_equals_hugging_face_processor(penalty):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 20, generator=g) * 2  # positive and negative
    idx = torch.randint(0, 20, (3, 12), generator=g)  # with repeats
    processor = hf_warper("RepetitionPenaltyLogitsProcessor", penalty)
    expected = processor(idx, logits.clone())
    assert torch.equal(repetition_penalty(logits, idx, penalty), expected)
    untouched = torch.ones_like(logits, dtype=torch.bool).scatter_(1, idx, False)
    assert torch.equal(repetition_penalty(logits, idx, penalty)[untouched], logits[untouched])


def test_apply_temperature_divides_and_zero_points_to_greedy():
    x = torch.tensor([1.0, -2.0])
    assert torch.equal(apply_temperature(x, 0.5), torch.tensor([2.0, -4.0]))
    with pytest.raises(ValueError, match="temperature 0 means greedy"):
        apply_temperature(x, 0)
    with pytest.raises(ValueError, match="temperature must be a number ≥ 0"):
        apply_temperature(x, -1.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: top_k_filter(x, 0), "top_k must be a positive integer.*got 0"),
        (lambda x: top_k_filter(x, 2.5), "top_k must be a positive integer.*got 2.5"),
        (lambda x: top_p_filter(x, 0.0), r"top_p must lie in \(0, 1\].*got 0.0"),
        (lambda x: top_p_filter(x, 1.5), r"top_p must lie in \(0, 1\].*got 1.5"),
        (lambda x: top_p_filter(x, float("nan")), r"top_p must lie in \(0, 1\]"),
        (lambda x: repetition_penalty(x, torch.zeros(1, 1).long(), 0), "penalty must be"),
        (lambda x: sample_next(x, temperature=float("nan")), "temperature must be"),
        (lambda x: sample_next(x, top_p=-0.1), "top_p must lie in"),
    ],
)
def test_bad_filter_settings_are_refused_with_the_allowed_range(call, message):
    with pytest.raises(ValueError, match=message):
        call(torch.randn(1, 5))


# ---------------------------------------------------------------- sampling


def test_sampling_with_a_seeded_generator_is_repeatable():
    x = torch.randn(4, 30, generator=torch.Generator().manual_seed(0))
    draw = lambda seed: sample_next(  # noqa: E731
        x, 0.9, top_k=10, top_p=0.9, generator=torch.Generator().manual_seed(seed)
    )
    assert draw(1).shape == (4, 1) and draw(1).dtype == torch.long
    assert torch.equal(draw(1), draw(1))
    assert not all(torch.equal(draw(1), draw(s)) for s in range(2, 6))


def test_temperature_zero_and_its_limit_are_greedy():
    x = torch.randn(8, 30, generator=torch.Generator().manual_seed(0))
    greedy = x.argmax(-1, keepdim=True)
    assert torch.equal(sample_next(x, temperature=0, top_k=5, top_p=0.5), greedy)
    gap = (x.topk(2).values[:, 0] - x.topk(2).values[:, 1]).min().item()
    cold = gap / 100  # the runner-up's probability ≤ V·e^(-100) ≈ 0
    g = torch.Generator().manual_seed(0)
    assert torch.equal(sample_next(x, temperature=cold, generator=g), greedy)
    assert torch.equal(sample_next(x, top_k=1, generator=g), greedy)


@pytest.mark.parametrize(
    ("temperature", "top_k", "top_p"),
    [(1.0, None, None), (0.7, 5, None), (1.3, None, 0.8), (1.0, 4, 0.6)],
)
def test_sample_frequencies_match_the_filtered_softmax(temperature, top_k, top_p):
    logits = torch.tensor([2.0, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0, -3.0])
    expected = apply_temperature(logits, temperature)
    expected = top_k_filter(expected, top_k) if top_k else expected
    expected = (top_p_filter(expected, top_p) if top_p else expected).softmax(-1)
    N = 40_000
    g = torch.Generator().manual_seed(0)
    ids = sample_next(logits.expand(N, -1), temperature, top_k, top_p, generator=g)
    counts = torch.bincount(ids[:, 0], minlength=8).double()
    assert counts[expected == 0].sum() == 0  # filtered tokens are never drawn
    # each count is Binomial(N, q): within 5 standard deviations (fails with prob. ~6e-7)
    sd = (N * expected * (1 - expected)).double().sqrt()
    assert ((counts - N * expected).abs() <= 5 * sd).all(), (counts / N, expected)


# ---------------------------------------------------------------- the KV cache


@st.composite
def cached_runs(draw):
    """A config, a batch of ids of length L ≤ block_size, and L cut into chunks."""
    n_head = draw(st.integers(1, 3))
    config = GPTConfig(
        vocab_size=draw(st.integers(2, 40)),
        block_size=draw(st.integers(1, 12)),
        n_layer=draw(st.integers(1, 3)),
        n_head=n_head,
        n_embd=n_head * draw(st.integers(1, 6)),
        bias=draw(st.booleans()),
        attention=draw(st.sampled_from(["scratch", "sdpa"])),
    )
    L = draw(st.integers(1, config.block_size))
    chunks, left = [], L
    while left:
        chunks.append(draw(st.integers(1, left)))
        left -= chunks[-1]
    return config, draw(st.integers(1, 3)), chunks, draw(st.integers(0, 2**16))


@settings(max_examples=40)
@given(cached_runs())
def test_feeding_tokens_through_the_cache_gives_the_logits_of_the_whole_sequence(run):
    # chunks of any length: the prefill (into an empty cache), single steps, and several
    # new tokens at once, whose causal mask must be aligned with the end of the keys
    config, B, chunks, seed = run
    torch.manual_seed(seed)
    model = GPT(config).eval()
    idx = torch.randint(0, config.vocab_size, (B, sum(chunks)))
    with torch.no_grad():
        full, _ = model(idx)  # (B, L, V)
        cache, start = [KVCache() for _ in model.h], 0
        for T in chunks:
            logits, _ = model(idx[:, start : start + T], cache=cache)
            torch.testing.assert_close(logits, full[:, start : start + T], atol=1e-5, rtol=1e-5)
            start += T
            assert all(c.length == start for c in cache)
            assert cache[0].k.shape == (B, config.n_head, start, config.n_embd // config.n_head)


@pytest.mark.parametrize("attention", ["scratch", "sdpa"])
@pytest.mark.parametrize("prompt_length", [1, 5, 8, 13])
def test_cached_and_uncached_generation_give_the_same_tokens_past_block_size(
    attention, prompt_length
):
    torch.manual_seed(0)
    model = sharp(GPT(tiny(attention=attention)), std=0.15)
    prompt = torch.randint(0, 23, (3, prompt_length))
    cached = model.generate(prompt, 30, temperature=0)  # 30 new tokens, block_size 8
    assert torch.equal(cached, model.generate(prompt, 30, temperature=0, use_cache=False))
    assert len(set(cached[:, -20:].flatten().tolist())) > 1  # not one token repeated
    sampled = [
        model.generate(prompt, 30, 0.8, 10, 0.9, use_cache, torch.Generator().manual_seed(0))
        for use_cache in (True, False)
    ]
    assert torch.equal(*sampled)


def test_greedy_generation_is_argmax_of_the_uncached_model_at_every_step():
    torch.manual_seed(0)
    model = sharp(GPT(tiny()), std=0.15)
    out = model.generate(torch.randint(0, 23, (2, 3)), 12, temperature=0)
    for t in range(3, out.size(1)):
        context = out[:, max(0, t - 8) : t]  # the last block_size tokens before t
        assert torch.equal(model(context)[0][:, -1].argmax(-1), out[:, t])


@pytest.mark.parametrize("use_cache", [True, False])
def test_generate_with_a_repetition_penalty_equals_the_penalised_loop(use_cache):
    torch.manual_seed(0)
    model = sharp(GPT(tiny()))
    idx = torch.tensor([[1, 2, 2, 5]])
    expected = idx
    for _ in range(12):  # past block_size: the window crops, the penalty sees every token
        logits = model(expected[:, -model.config.block_size :])[0][:, -1]
        logits = repetition_penalty(logits, expected, 1.7)
        expected = torch.cat([expected, sample_next(logits, temperature=0)], dim=1)
    got = model.generate(idx, 12, temperature=0, use_cache=use_cache, repetition_penalty=1.7)
    assert torch.equal(got, expected)
    strict = model.generate(idx, 6, temperature=0, use_cache=use_cache, repetition_penalty=1e9)
    assert len(set(strict[0].tolist())) == 3 + 6  # every new token differs from all before it


def test_a_cache_cannot_grow_past_block_size_and_must_match_the_blocks():
    model = GPT(tiny()).eval()
    cache = [KVCache() for _ in model.h]
    model(torch.zeros(1, 6, dtype=torch.long), cache=cache)
    with pytest.raises(ValueError, match="sequence length 9 exceeds block_size 8"):
        model(torch.zeros(1, 3, dtype=torch.long), cache=cache)
    with pytest.raises(ValueError, match=r"one KVCache per block \(2\), got 1"):
        model(torch.zeros(1, 3, dtype=torch.long), cache=[KVCache()])


# ---------------------------------------------------------------- GPT.generate


def test_generate_returns_prompt_plus_new_tokens_and_restores_training_mode():
    torch.manual_seed(0)
    model = GPT(tiny(dropout=0.3)).train()
    prompt = torch.randint(0, 23, (2, 4))
    for kwargs in [{}, dict(top_p=0.9), dict(temperature=0), dict(use_cache=False)]:
        out = model.generate(prompt, 7, generator=torch.Generator().manual_seed(0), **kwargs)
        assert out.shape == (2, 11) and out.dtype == torch.long
        assert torch.equal(out[:, :4], prompt) and model.training
    assert torch.equal(model.generate(prompt, 0), prompt)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m, p: m.generate(p, 3, temperature=-1), "temperature must be a number ≥ 0"),
        (lambda m, p: m.generate(p, 3, top_k=0), "top_k must be a positive integer"),
        (lambda m, p: m.generate(p, 3, top_p=0), r"top_p must lie in \(0, 1\]"),
        (lambda m, p: m.generate(p, -1), "max_new_tokens must be ≥ 0, got -1"),
        (lambda m, p: m.generate(p, 2.0), "max_new_tokens must be an integer"),
        (lambda m, p: m.generate(p[0], 3), r"2-D LongTensor.*torch.tensor\(\[ids\]\)"),
        (lambda m, p: m.generate(p.float(), 3), "2-D LongTensor"),
        (lambda m, p: m.generate(p[:, :0], 3), "idx is empty"),
        (lambda m, p: m.generate(p.to("meta"), 3), "idx is on meta but the model on cpu"),
        (
            lambda m, p: m.generate(p, 3, generator=SimpleNamespace(device=torch.device("cuda"))),
            r"generator is on cuda but the model on cpu.*torch.Generator\(device='cpu'\)",
        ),
    ],
)
def test_generate_refuses_bad_arguments_before_running(call, message):
    with pytest.raises(ValueError, match=message):
        call(GPT(tiny()), torch.zeros(2, 3, dtype=torch.long))


# ---------------------------------------------------------------- beam search


def all_continuations(model: GPT, idx: torch.Tensor, n: int) -> tuple[torch.Tensor, float]:
    """The continuation of n tokens with the largest total log-probability, by trying all."""
    V, best = model.config.vocab_size, (None, -INF)
    with torch.no_grad():
        for tokens in itertools.product(range(V), repeat=n):
            seq = torch.cat([idx, torch.tensor([tokens])], dim=1)
            log_probs = model(seq)[0][0, idx.size(1) - 1 : -1].log_softmax(-1)  # (n, V)
            total = log_probs.gather(1, torch.tensor(tokens)[:, None]).sum().item()
            best = max(best, (seq, total), key=lambda pair: pair[1])
    return best


@pytest.mark.parametrize("seed", range(4))
def test_beam_search_wide_enough_finds_the_most_likely_sequence(seed):
    torch.manual_seed(seed)
    model = sharp(GPT(tiny(vocab_size=5, block_size=6)))
    idx = torch.randint(0, 5, (1, 2))
    expected, total = all_continuations(model, idx, 3)
    found, score = beam_search(model, idx, 3, beam_width=25, length_penalty=0.0)  # 5^(3-1)
    assert torch.equal(found, expected)
    assert score == pytest.approx(total, abs=1e-5)


def test_beam_search_of_width_one_is_greedy_and_restores_training_mode():
    torch.manual_seed(0)
    model = sharp(GPT(tiny(dropout=0.2)))
    idx = torch.randint(0, 23, (1, 3))
    greedy = model.generate(idx, 10, temperature=0)  # also past block_size 8
    model.train()
    found, _ = beam_search(model, idx, 10, beam_width=1)
    assert torch.equal(found, greedy) and model.training


@pytest.mark.parametrize(("seed", "beam_width"), [(0, 2), (1, 3), (2, 4), (3, 7), (4, 30)])
@pytest.mark.parametrize("length_penalty", [1.0, 0.0, 2.0])
def test_beam_search_equals_hugging_face_generate_with_num_beams(seed, beam_width, length_penalty):
    pytest.importorskip("transformers")
    from llmcourse.interop import to_hf_gpt2

    torch.manual_seed(seed)
    model = sharp(GPT(tiny(vocab_size=11, block_size=12)), std=0.2)
    hf = to_hf_gpt2(model)
    idx = torch.randint(0, 11, (1, 3))
    found, score = beam_search(model, idx, 6, beam_width, length_penalty)
    out = hf.generate(
        idx,
        attention_mask=torch.ones_like(idx),
        max_new_tokens=6,
        num_beams=beam_width,
        do_sample=False,
        early_stopping=True,
        length_penalty=length_penalty,
        eos_token_id=None,
        pad_token_id=0,
        output_scores=True,
        return_dict_in_generate=True,
    )
    assert torch.equal(found, out.sequences)
    assert score == pytest.approx(out.sequences_scores.item(), abs=1e-5)


def test_the_length_penalty_rescales_the_score_but_never_changes_the_winner():
    torch.manual_seed(0)
    model = sharp(GPT(tiny()))
    idx = torch.randint(0, 23, (1, 2))
    (a, total), (b, scaled) = (beam_search(model, idx, 5, 3, lp) for lp in (0.0, 1.5))
    assert torch.equal(a, b)
    assert scaled == pytest.approx(total / 5**1.5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(idx=torch.zeros(2, 3, dtype=torch.long)), "beam_search takes one prompt"),
        (dict(beam_width=0), "beam_width must be a positive integer"),
        (dict(beam_width=2.0), "beam_width must be a positive integer"),
        (dict(max_new_tokens=-2), "max_new_tokens must be ≥ 0"),
    ],
)
def test_beam_search_refuses_bad_arguments(kwargs, message):
    args = dict(idx=torch.zeros(1, 3, dtype=torch.long), max_new_tokens=2, beam_width=2) | kwargs
    with pytest.raises(ValueError, match=message):
        beam_search(GPT(tiny()), **args)


def test_beam_search_of_zero_tokens_returns_the_prompt():
    idx = torch.zeros(1, 3, dtype=torch.long)
    found, score = beam_search(GPT(tiny()), idx, 0, 4)
    assert torch.equal(found, idx) and score == 0.0


def test_module_docstring_examples_run():
    result = doctest.testmod(llmcourse.generate, extraglobs={"torch": torch}, verbose=False)
    assert result.failed == 0 and result.attempted > 0


def test_kv_cache_appends_along_the_time_axis():
    cache = KVCache()
    assert cache.length == 0
    k, v = torch.randn(2, 3, 4, 5), torch.randn(2, 3, 4, 5)
    cache.append(k[:, :, :1], v[:, :, :1])
    all_k, all_v = cache.append(k[:, :, 1:], v[:, :, 1:])
    assert cache.length == 4 and torch.equal(all_k, k) and torch.equal(all_v, v)
    assert dataclasses.is_dataclass(cache)
