"""Exercise checkers, one submodule per chapter (``checks.ch00``, ``checks.ch01``, …).

``checks.base`` holds what they share; see its docstring for the ✅ / ⏳ / ❌ contract.
"""

from llmcourse.checks.base import (
    CheckFailed,
    NotAttempted,
    call,
    checker,
    expect_equal,
    expect_tensor,
    report,
)

__all__ = [
    "CheckFailed",
    "NotAttempted",
    "call",
    "checker",
    "expect_equal",
    "expect_tensor",
    "report",
]
