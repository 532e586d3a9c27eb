"""What every exercise checker shares: calling the learner's code, comparing, reporting.

A checker is a function decorated with ``@checker("name")`` that receives the learner's
function, calls it through ``call`` and compares results with ``expect_tensor``. It prints
one of

    ✅ name: what was verified
    ⏳ name: not attempted yet — …
    ❌ name: what differs, and the likely cause

and returns True only for ✅. It never raises on a wrong answer, so an unsolved exercise
notebook runs to the end. When ``LLMCOURSE_CHECK_REPORT`` names a file, each result is also
appended to it as a JSON line; ``llmcourse check`` reads that file to build its score table.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import torch

PASSED, NOT_ATTEMPTED, FAILED = "passed", "not attempted", "failed"
ICONS = {PASSED: "✅", NOT_ATTEMPTED: "⏳", FAILED: "❌"}
REPORT_ENV = "LLMCOURSE_CHECK_REPORT"


class CheckFailed(Exception):
    """Raised inside a checker to report ❌ with this message."""


class NotAttempted(Exception):
    """Raised inside a checker when the learner's code still raises NotImplementedError."""


def report(name: str, status: str, message: str) -> bool:
    """Print one result line (continuation lines indented) and record it; True if passed."""
    lines = message.strip().splitlines() or [""]
    print(f"{ICONS[status]} {name}: {lines[0]}")
    for line in lines[1:]:
        print(f"   {line}")
    path = os.environ.get(REPORT_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as file:
            file.write(json.dumps({"exercise": name, "status": status, "message": message}) + "\n")
    return status == PASSED


def checker(name: str) -> Callable[[Callable[..., str]], Callable[..., bool]]:
    """Turn ``body(fn, ...) -> success message`` into a checker that reports and returns a bool."""

    def decorate(body: Callable[..., str]) -> Callable[..., bool]:
        @functools.wraps(body)
        def run(*args: Any, **kwargs: Any) -> bool:
            try:
                message = body(*args, **kwargs)
            except NotAttempted as todo:
                return report(
                    name,
                    NOT_ATTEMPTED,
                    f"not attempted yet: `{todo}` still raises NotImplementedError.\n"
                    "Replace that line with your code, then run this check again.",
                )
            except CheckFailed as failure:
                return report(name, FAILED, str(failure))
            except Exception as bug:  # a bug in the checker, not in the learner's answer
                return report(
                    name,
                    FAILED,
                    f"the checker itself crashed ({type(bug).__name__}: {bug}).\n"
                    "This is a course bug, not your mistake: please report it.",
                )
            return report(name, PASSED, message)

        return run

    return decorate


def call(fn: Any, *args: Any, likely_cause: str | None = None, **kwargs: Any) -> Any:
    """Call the learner's ``fn``; turn its exceptions into ⏳ or a readable ❌.

    ``likely_cause`` is added to the ❌ message when ``fn`` raises on these arguments.
    """
    if not callable(fn):
        raise CheckFailed(
            f"expected a function, got {type(fn).__name__}. Pass the function itself, "
            "without calling it: check(my_function), not check(my_function())."
        )
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise NotAttempted(getattr(fn, "__name__", "your function")) from None
    except Exception as error:
        cause = f"\nLikely cause: {likely_cause}" if likely_cause else ""
        raise CheckFailed(
            f"your function raised {type(error).__name__}: {error}\n{_where(error, fn)}{cause}"
        ) from None


def _where(error: Exception, fn: Callable) -> str:
    """'at line N of fn: <code>' for the deepest frame of the learner's own code."""
    code = getattr(inspect.unwrap(fn), "__code__", None)  # through @torch.no_grad() and co.
    frames = traceback.extract_tb(error.__traceback__)
    mine = [f for f in frames if code is not None and f.filename == code.co_filename]
    if not mine:
        return f"(raised while calling {getattr(fn, '__name__', 'your function')})"
    frame = mine[-1]
    if frame.line:
        return f"at `{frame.line}` in {frame.name}"
    return f"at line {frame.lineno} of {frame.name}"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return repr(value)


def _first_difference(got: torch.Tensor, expected: torch.Tensor, atol: float, rtol: float) -> str:
    if got.dtype.is_floating_point or expected.dtype.is_floating_point:
        bad = ~torch.isclose(got.double(), expected.double(), atol=atol, rtol=rtol, equal_nan=True)
    else:
        bad = got != expected
    index = tuple(int(i) for i in bad.nonzero()[0])
    return (
        f"differs from the reference at {list(index)} "
        f"(got {_fmt(got[index].item())}, expected {_fmt(expected[index].item())}); "
        f"{int(bad.sum())} of {bad.numel()} elements differ"
    )


def expect_tensor(
    got: Any,
    expected: torch.Tensor,
    what: str = "the result",
    mistakes: Mapping[str, torch.Tensor] | None = None,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    check_dtype: bool = True,
) -> None:
    """Raise ``CheckFailed`` describing the first way ``got`` differs from ``expected``.

    ``mistakes`` maps a likely cause ("argmax over the wrong dimension") to the tensor that
    mistake produces; when ``got`` equals one of them, the message names that cause.
    """
    if not isinstance(got, torch.Tensor):
        raise CheckFailed(f"{what} should be a torch.Tensor, got {type(got).__name__}.")
    cause = _likely_cause(got, expected, mistakes or {})
    hint = f"\nLikely cause: {cause}." if cause else ""
    if got.shape != expected.shape:
        raise CheckFailed(
            f"{what} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}.{hint}"
        )
    if check_dtype and got.dtype != expected.dtype:
        raise CheckFailed(f"{what} has dtype {got.dtype}, expected {expected.dtype}.{hint}")
    got_cpu, expected_cpu = got.detach().cpu(), expected.detach().cpu()
    if not _same_values(got_cpu, expected_cpu, atol, rtol):
        raise CheckFailed(f"{what} {_first_difference(got_cpu, expected_cpu, atol, rtol)}.{hint}")


def expect_equal(
    got: Any,
    expected: Any,
    what: str = "the result",
    mistakes: Mapping[str, Any] | None = None,
    rtol: float = 1e-9,
) -> None:
    """Like ``expect_tensor`` for plain Python values: lists, tuples, dicts, numbers, strings.

    Numbers compare within ``rtol`` (relative); a list and a tuple with equal items are equal.
    """
    if _plain_equal(got, expected, rtol):
        return
    cause = next(
        (c for c, wrong in (mistakes or {}).items() if _plain_equal(got, wrong, rtol)),
        None,
    )
    hint = f"\nLikely cause: {cause}." if cause else ""
    raise CheckFailed(f"{what} {_plain_difference(got, expected)}.{hint}")


def _plain_equal(a: Any, b: Any, rtol: float = 1e-9) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return abs(a - b) <= rtol * max(1.0, abs(b))
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_plain_equal(x, y, rtol) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_plain_equal(a[k], b[k], rtol) for k in b)
    return type(a) is type(b) and a == b


def _plain_difference(got: Any, expected: Any) -> str:
    if isinstance(expected, list | tuple) and isinstance(got, list | tuple):
        if len(got) != len(expected):
            return f"has {len(got)} items, expected {len(expected)}: got {_short(got)}"
        i = next(
            i for i, (x, y) in enumerate(zip(got, expected, strict=True)) if not _plain_equal(x, y)
        )
        return f"differs at position {i} (got {_fmt(got[i])}, expected {_fmt(expected[i])})"
    if isinstance(expected, dict) and isinstance(got, dict):
        missing, extra = expected.keys() - got.keys(), got.keys() - expected.keys()
        if missing:
            return f"is missing the key {_fmt(min(missing))} (and {len(missing) - 1} more)"
        if extra:
            return f"has an unexpected key {_fmt(min(extra))}"
        key = next(k for k in expected if not _plain_equal(got[k], expected[k]))
        return f"has {_fmt(got[key])} at key {_fmt(key)}, expected {_fmt(expected[key])}"
    if type(got) is not type(expected) and not (
        isinstance(got, int | float) and isinstance(expected, int | float)
    ):
        return f"should be a {type(expected).__name__}, got {type(got).__name__} ({_short(got)})"
    return f"is {_fmt(got)}, expected {_fmt(expected)}"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _same_values(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-6, rtol: float = 1e-5) -> bool:
    """Same shape and values (within tolerance for floats), whatever the dtypes."""
    if a.shape != b.shape:
        return False
    a, b = a.detach().cpu(), b.detach().cpu()
    if a.dtype.is_floating_point or b.dtype.is_floating_point:
        return torch.allclose(a.double(), b.double(), atol=atol, rtol=rtol, equal_nan=True)
    return torch.equal(a, b.to(a.dtype))


def _likely_cause(
    got: torch.Tensor, expected: torch.Tensor, mistakes: Mapping[str, torch.Tensor]
) -> str | None:
    """The first mistake whose output ``got`` reproduces. A mistake that gives the right
    values on this input (e.g. a transpose of a square matrix) says nothing, so it is skipped."""
    for cause, wrong in mistakes.items():
        if _same_values(got, wrong) and not _same_values(wrong, expected):
            return cause
    return None
