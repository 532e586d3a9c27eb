"""Shared test settings."""

import pytest
import torch
from hypothesis import settings

# Tests never assert wall-clock time: hypothesis' per-example deadline is one such assert.
settings.register_profile("course", deadline=None, max_examples=100)
settings.load_profile("course")


@pytest.fixture
def one_thread():
    """Run a test on one torch thread: tiny models train fastest so, and a busy machine
    slows two threads down most. Exact-resume tests need the same count on both sides."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
