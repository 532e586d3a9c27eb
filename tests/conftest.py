"""Shared test settings."""

from hypothesis import settings

# Tests never assert wall-clock time: hypothesis' per-example deadline is one such assert.
settings.register_profile("course", deadline=None, max_examples=100)
settings.load_profile("course")
