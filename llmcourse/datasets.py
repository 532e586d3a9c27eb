"""From a stream of token ids to (input, target) training batches.

Chapter 01 teaches this file. A language model learns to predict token ``t + 1`` from the
tokens up to ``t``, so a training example is a window ``x`` of ``block_size`` ids and the
same window shifted by one, ``y``. ``tests/test_datasets.py`` checks the windows, the
loader shapes and the padding against ``torch.nn.utils.rnn.pad_sequence``. Left out on
purpose: streaming datasets that do not fit in memory, and document boundaries (chapter 05
trains on one long stream).

>>> x, y = LMDataset([5, 6, 7, 8], block_size=2)[1]
>>> x.tolist(), y.tolist()
([6, 7], [7, 8])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.data import DataLoader, Dataset


class LMDataset(Dataset):
    """Every window of ``block_size`` tokens in ``ids``, paired with its shift by one.

    ids: a 1-D sequence of N token ids (list or LongTensor). There are N − block_size
    windows; ``dataset[i]`` is ``(ids[i : i + T], ids[i + 1 : i + T + 1])``, two LongTensors
    of shape (T,) with T = block_size.
    """

    def __init__(self, ids: Sequence[int] | torch.Tensor, block_size: int) -> None:
        self.ids = _as_id_tensor(ids)
        if not isinstance(block_size, int) or block_size < 1:
            raise ValueError(f"block_size must be a positive integer, got {block_size!r}")
        if block_size >= len(self.ids):
            raise ValueError(
                f"block_size {block_size} needs at least {block_size + 1} tokens, but the "
                f"corpus has {len(self.ids)}; use a longer text or a smaller block_size"
            )
        self.block_size = block_size

    def __len__(self) -> int:
        return len(self.ids) - self.block_size

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"window {i} is out of range for a dataset of {n} windows")
        i = i % n
        window = self.ids[i : i + self.block_size + 1]  # (T + 1,)
        return window[:-1], window[1:]

    def __repr__(self) -> str:
        return (
            f"LMDataset({len(self.ids)} tokens, block_size={self.block_size}, {len(self)} windows)"
        )


def _as_id_tensor(ids: Sequence[int] | torch.Tensor) -> torch.Tensor:
    tensor = ids if isinstance(ids, torch.Tensor) else torch.tensor(list(ids), dtype=torch.long)
    if tensor.dim() != 1:
        raise ValueError(
            f"ids must be one flat sequence of token ids, got shape {tuple(tensor.shape)}; "
            "concatenate the documents (or flatten the tensor) first"
        )
    if tensor.numel() and (tensor.dtype.is_floating_point or tensor.dtype == torch.bool):
        raise ValueError(f"ids must be integers, got dtype {tensor.dtype}")
    return tensor.long()


def lm_loader(
    ids: Sequence[int] | torch.Tensor,
    block_size: int,
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
) -> DataLoader:
    """A DataLoader of ``(x, y)`` batches, each of shape (B, T), from one token stream.

    Shuffling uses its own generator seeded with ``seed``, so the order of batches does not
    depend on what else consumed random numbers. The last, smaller batch is dropped so that
    every batch has exactly B rows.
    """
    dataset = LMDataset(ids, block_size)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if batch_size > len(dataset):
        raise ValueError(
            f"batch_size {batch_size} is larger than the {len(dataset)} windows in the "
            "data; use a smaller batch_size or block_size"
        )
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle, drop_last=True, generator=generator
    )


def pad_sequences(
    sequences: Sequence[Sequence[int] | torch.Tensor], pad_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad sequences of different lengths into one batch.

    Returns ``ids`` (B, T) LongTensor with T the longest length, filled with ``pad_id``
    after each sequence's end, and ``mask`` (B, T) bool, True at real tokens.

    >>> ids, mask = pad_sequences([[1, 2, 3], [4]], pad_id=0)
    >>> ids.tolist(), mask.sum(dim=1).tolist()
    ([[1, 2, 3], [4, 0, 0]], [3, 1])
    """
    if len(sequences) == 0:
        raise ValueError("pad_sequences needs at least one sequence")
    rows = [_as_id_tensor(seq) for seq in sequences]
    T = max(len(row) for row in rows)
    ids = torch.full((len(rows), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), T), dtype=torch.bool)
    for b, row in enumerate(rows):
        ids[b, : len(row)] = row
        mask[b, : len(row)] = True
    return ids, mask
