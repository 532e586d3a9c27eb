"""Specification of llmcourse.datasets: shifted windows, loaders and padding."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.nn.utils.rnn import pad_sequence

from llmcourse.datasets import LMDataset, lm_loader, pad_sequences


@given(st.integers(2, 60), st.integers(1, 20), st.data())
def test_every_window_is_the_next_tokens_of_its_input(n, block_size, data):
    ids = torch.randint(0, 50, (n,))
    if block_size >= n:
        with pytest.raises(ValueError, match="needs at least"):
            LMDataset(ids, block_size)
        return
    dataset = LMDataset(ids, block_size)
    assert len(dataset) == n - block_size
    i = data.draw(st.integers(-len(dataset), len(dataset) - 1))
    x, y = dataset[i]
    start = i % len(dataset)
    assert x.shape == y.shape == (block_size,)
    assert x.dtype == y.dtype == torch.long
    assert torch.equal(x, ids[start : start + block_size])
    assert torch.equal(y, ids[start + 1 : start + block_size + 1])


def test_windows_accept_a_python_list_and_cover_the_last_token():
    dataset = LMDataset([5, 6, 7, 8], block_size=2)
    assert [(x.tolist(), y.tolist()) for x, y in dataset] == [([5, 6], [6, 7]), ([6, 7], [7, 8])]


@pytest.mark.parametrize(
    ("ids", "block_size", "message"),
    [
        ([1, 2, 3], 3, "block_size 3 needs at least 4 tokens, but the corpus has 3"),
        ([], 1, "the corpus has 0"),
        ([1, 2, 3], 0, "block_size must be a positive integer"),
        (torch.zeros(2, 3, dtype=torch.long), 1, "one flat sequence"),
        (torch.zeros(5), 1, "must be integers"),
    ],
)
def test_bad_datasets_get_clear_errors(ids, block_size, message):
    with pytest.raises(ValueError, match=message):
        LMDataset(ids, block_size)


def test_out_of_range_window_is_a_clear_index_error():
    with pytest.raises(IndexError, match="window 2 is out of range for a dataset of 2"):
        LMDataset([1, 2, 3], 1)[2]


def test_loader_gives_full_batches_of_shape_B_T_in_a_seeded_order():
    ids = torch.arange(100)
    first = [x for x, _ in lm_loader(ids, block_size=8, batch_size=4, seed=1)]
    again = [x for x, _ in lm_loader(ids, block_size=8, batch_size=4, seed=1)]
    assert all(x.shape == (4, 8) for x in first)
    assert len(first) == (100 - 8) // 4
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    x, y = next(iter(lm_loader(ids, block_size=8, batch_size=4, shuffle=False)))
    assert torch.equal(y, x + 1)


def test_loader_refuses_a_batch_larger_than_the_data():
    with pytest.raises(ValueError, match="batch_size 10 is larger than the 2 windows"):
        lm_loader(torch.arange(5), block_size=3, batch_size=10)


@given(st.lists(st.lists(st.integers(0, 9), min_size=1, max_size=7), min_size=1, max_size=5))
def test_pad_sequences_matches_torch_pad_sequence(rows):
    ids, mask = pad_sequences(rows, pad_id=-1)
    expected = pad_sequence([torch.tensor(r) for r in rows], batch_first=True, padding_value=-1)
    assert torch.equal(ids, expected)
    assert mask.sum(dim=1).tolist() == [len(r) for r in rows]
    assert torch.equal(ids[mask], torch.tensor([t for r in rows for t in r]))


def test_pad_sequences_needs_at_least_one_sequence():
    with pytest.raises(ValueError, match="at least one sequence"):
        pad_sequences([], pad_id=0)
