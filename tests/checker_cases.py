"""What every checker test shares: run a checker on an answer, and the two standard cases.

Each ``tests/test_checks_chNN.py`` lists right answers and named mistakes for its chapter's
checkers and feeds them to ``assert_right_and_todo`` and ``assert_mistake_named``.
"""

from collections.abc import Callable


def todo(*args: object, **kwargs: object) -> object:
    """An exercise not attempted yet: the body the exercise notebooks ship with."""
    raise NotImplementedError


def run(check: Callable[..., bool], *fns: object, capsys) -> tuple[bool, str]:
    """Run a checker on the learner's function(s); return (its boolean, what it printed)."""
    result = check(*fns)
    return result, capsys.readouterr().out


def assert_right_and_todo(check: Callable[..., bool], right: object, capsys) -> None:
    """A right answer gives ✅ and True; a TODO gives ⏳ and False."""
    ok, out = run(check, right, capsys=capsys)
    assert ok is True and out.startswith("✅"), out
    ok, out = run(check, todo, capsys=capsys)
    assert ok is False and out.startswith("⏳"), out


def assert_mistake_named(check: Callable[..., bool], wrong: object, cause: str, capsys) -> None:
    """A known mistake gives ❌, False, and a message that names ``cause``."""
    ok, out = run(check, wrong, capsys=capsys)
    assert ok is False and out.startswith("❌"), out
    assert cause in out, out
    assert "checker itself crashed" not in out, out
