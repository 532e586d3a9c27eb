"""Chapter 01's checkers: right answers pass, each usual mistake is named, TODOs are ⏳."""

import re
from collections import Counter

import pytest
import torch
from checker_cases import assert_mistake_named, assert_right_and_todo, run

from llmcourse.checks import CheckFailed, ch01, expect_equal
from llmcourse.tokenizers.bpe import merge_pair

# --- expect_equal, the plain-value comparison these checkers use ---------------------------


@pytest.mark.parametrize(
    ("got", "expected", "says"),
    [
        ([1, 2], [1, 2, 3], "has 2 items, expected 3"),
        ([1, 5, 3], [1, 2, 3], "differs at position 1 (got 5, expected 2)"),
        ({"a": 1}, {"a": 1, "b": 2}, "is missing the key 'b'"),
        ({"a": 1, "c": 3}, {"a": 1}, "unexpected key 'c'"),
        ({"a": 2}, {"a": 1}, "has 2 at key 'a', expected 1"),
        ("0.5", 0.5, "should be a float, got str"),
        (0.25, 0.5, "is 0.25, expected 0.5"),
    ],
)
def test_expect_equal_says_where_plain_values_differ(got, expected, says):
    with pytest.raises(CheckFailed, match=re.escape(says)):
        expect_equal(got, expected)


def test_expect_equal_accepts_tuples_for_lists_and_close_floats():
    expect_equal((1, 2), [1, 2])
    expect_equal(0.1 + 0.2, 0.3)


# --- the six checkers on right answers ----------------------------------------------------


def char_vocab(text):
    return sorted(set(text))


def encode_chars(text, vocab, unk_id):
    index = {ch: i for i, ch in enumerate(vocab)}
    return [index.get(ch, unk_id) for ch in text]


def count_pairs(ids):
    return dict(Counter(zip(ids, ids[1:])))


class WindowDataset:
    def __init__(self, ids, block_size):
        self.ids, self.block_size = ids, block_size

    def __len__(self):
        return len(self.ids) - self.block_size

    def __getitem__(self, i):
        return self.ids[i : i + self.block_size], self.ids[i + 1 : i + self.block_size + 1]


def oov_rate(train_words, heldout_words):
    vocab = set(train_words)
    return sum(w not in vocab for w in heldout_words) / len(heldout_words)


RIGHT = {
    ch01.char_vocab: char_vocab,
    ch01.encode_chars: encode_chars,
    ch01.count_pairs: count_pairs,
    ch01.merge_pair: merge_pair,
    ch01.window_dataset: WindowDataset,
    ch01.oov_rate: oov_rate,
}


@pytest.mark.parametrize("check", RIGHT, ids=lambda c: c.__name__)
def test_right_answers_pass_and_todos_are_not_attempted(check, capsys):
    assert_right_and_todo(check, RIGHT[check], capsys)


def test_count_pairs_may_return_a_counter(capsys):
    ok, _ = run(ch01.count_pairs, lambda ids: Counter(zip(ids, ids[1:])), capsys=capsys)
    assert ok


# --- the usual mistakes, each named --------------------------------------------------------


def merge_overlapping(ids, pair, new_id):
    out = []
    for i, t in enumerate(ids):
        if i + 1 < len(ids) and (t, ids[i + 1]) == pair:
            out.append(new_id)
        elif not (i > 0 and (ids[i - 1], t) == pair):
            out.append(t)
    return out


def merge_skipping_last(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids):
        if i + 2 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def merge_in_place(ids, pair, new_id):
    result = merge_pair(ids, pair, new_id)
    ids[:] = result
    return result


class NotShifted(WindowDataset):
    def __getitem__(self, i):
        x = self.ids[i : i + self.block_size]
        return x, x


class OneShort(WindowDataset):
    def __getitem__(self, i):
        return self.ids[i : i + self.block_size], self.ids[i + 1 : i + self.block_size]


class OneTooMany(WindowDataset):
    def __len__(self):
        return len(self.ids) - self.block_size + 1


MISTAKES = [
    (ch01.char_vocab, lambda t: list(dict.fromkeys(t)), "not sorted"),
    (ch01.char_vocab, lambda t: list(t), "more than once"),
    (ch01.char_vocab, lambda t: set(t), "return a list"),
    (ch01.encode_chars, lambda t, v, u: [v.index(c) for c in t], "not in the vocabulary"),
    (
        ch01.encode_chars,
        lambda t, v, u: [v.index(c) for c in t if c in v],
        "unseen characters were skipped",
    ),
    (
        ch01.encode_chars,
        lambda t, v, u: [encode_chars(c, v, u - 1)[0] + 1 for c in t],
        "ids start at 1",
    ),
    (ch01.count_pairs, lambda ids: dict(Counter(zip(ids[::2], ids[1::2]))), "without overlap"),
    (ch01.count_pairs, lambda ids: dict(Counter(zip(ids, ids[2:]))), "skip a token"),
    (ch01.count_pairs, lambda ids: dict(Counter(zip(ids[:-1], ids[1:-1]))), "last pair"),
    (ch01.merge_pair, merge_overlapping, "overlapping occurrences"),
    (ch01.merge_pair, merge_skipping_last, "at the very end"),
    (ch01.merge_pair, merge_in_place, "changed the list it was given"),
    (ch01.window_dataset, NotShifted, "y equals x"),
    (ch01.window_dataset, OneShort, "one token short"),
    (ch01.window_dataset, OneTooMany, "one window too many"),
    (ch01.oov_rate, lambda a, b: len(set(b) - set(a)) / len(set(b)), "types"),
    (ch01.oov_rate, lambda a, b: 100 * oov_rate(a, b), "percentage"),
    (ch01.oov_rate, lambda a, b: 1 - oov_rate(a, b), "in-vocabulary rate"),
]


@pytest.mark.parametrize(("check", "wrong", "cause"), MISTAKES)
def test_usual_mistakes_fail_with_their_cause(check, wrong, cause, capsys):
    assert_mistake_named(check, wrong, cause, capsys)


def test_oov_rate_accepts_a_one_element_tensor(capsys):
    ok, _ = run(ch01.oov_rate, lambda a, b: torch.tensor(oov_rate(a, b)), capsys=capsys)
    assert ok
