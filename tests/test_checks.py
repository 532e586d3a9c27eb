"""llmcourse.checks: the ✅ / ⏳ / ❌ contract, and chapter 00's checkers on right and wrong
answers."""

import json

import pytest
import torch
import torch.nn.functional as F
from checker_cases import run, todo

from llmcourse.checks import CheckFailed, ch00, checker, expect_tensor

# --- the shared contract ---------------------------------------------------------------


def test_not_attempted_prints_hourglass_and_returns_false(capsys):
    ok, out = run(ch00.square, todo, capsys=capsys)
    assert ok is False
    assert out.startswith("⏳ square: not attempted yet")


def test_a_crash_in_learner_code_is_reported_with_its_line(capsys):
    def square(x):
        y = x.undefined_method()
        return y

    ok, out = run(ch00.square, square, capsys=capsys)
    assert ok is False
    assert out.startswith("❌ square: your function raised AttributeError")
    assert "y = x.undefined_method()" in out


def test_a_crash_inside_a_decorated_function_points_at_the_learners_line(capsys):
    @torch.no_grad()
    def square(x):
        y = x.undefined_method()
        return y

    ok, out = run(ch00.square, square, capsys=capsys)
    assert not ok and "y = x.undefined_method()" in out


def test_passing_a_value_instead_of_a_function_is_explained(capsys):
    ok, out = run(ch00.square, torch.ones(2), capsys=capsys)
    assert not ok and "Pass the function itself" in out


def test_a_checker_bug_is_reported_as_a_course_bug_not_raised(capsys):
    @checker("broken")
    def broken(fn):
        return 1 / 0

    ok, out = run(broken, None, capsys=capsys)
    assert not ok and "course bug" in out


def test_results_are_appended_to_the_report_file(tmp_path, monkeypatch, capsys):
    path = tmp_path / "report.jsonl"
    monkeypatch.setenv("LLMCOURSE_CHECK_REPORT", str(path))
    ch00.square(todo)
    ch00.square(lambda x: x**2)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(r["exercise"], r["status"]) for r in rows] == [
        ("square", "not attempted"),
        ("square", "passed"),
    ]


@pytest.mark.parametrize(
    ("got", "says"),
    [
        ([1.0, 2.0], "should be a torch.Tensor, got list"),
        (torch.zeros(3), "has shape (3,), expected (2, 2)"),
        (torch.zeros(2, 2, dtype=torch.float64), "has dtype torch.float64, expected torch.float32"),
        (
            torch.tensor([[0.0, 0.0], [0.0, 0.5]]),
            "differs from the reference at [1, 1] (got 0.5, expected 0)",
        ),
    ],
)
def test_expect_tensor_names_the_first_difference(got, says):
    with pytest.raises(CheckFailed) as failure:
        expect_tensor(got, torch.zeros(2, 2))
    assert says in str(failure.value)


def test_expect_tensor_names_a_known_mistake():
    expected = torch.arange(6.0).view(2, 3)
    with pytest.raises(CheckFailed, match="Likely cause: transposed"):
        expect_tensor(expected.T, expected, mistakes={"transposed": expected.T})


def test_a_mistake_that_matches_the_reference_on_this_input_is_not_blamed():
    expected = torch.eye(2)  # its transpose is itself: "transposed" cannot be the cause
    with pytest.raises(CheckFailed) as failure:
        expect_tensor(expected.double(), expected, mistakes={"transposed": expected.T})
    assert "Likely cause" not in str(failure.value)


def test_expect_tensor_accepts_values_within_tolerance():
    expect_tensor(torch.tensor([1.0 + 1e-8]), torch.tensor([1.0]))


# --- chapter 00: each solution passes, each usual mistake is named ---------------------

SOLUTIONS = {
    ch00.batchify: lambda ids, B: ids[: len(ids) // B * B].view(B, -1),
    ch00.center_rows: lambda x: x - x.mean(dim=-1, keepdim=True),
    ch00.pick_targets: lambda p, t: p.gather(-1, t.unsqueeze(-1)).squeeze(-1),
    ch00.predict: lambda logits: logits.argmax(-1),
    ch00.one_hot: lambda ids, V: F.one_hot(ids, V).float(),
    ch00.square: lambda x: x * x,
}


@pytest.mark.parametrize("check", list(SOLUTIONS), ids=lambda c: c.__name__)
def test_correct_solution_passes(check, capsys):
    ok, out = run(check, SOLUTIONS[check], capsys=capsys)
    assert ok is True and out.startswith("✅"), out


@pytest.mark.parametrize("check", list(SOLUTIONS), ids=lambda c: c.__name__)
def test_unsolved_exercise_is_not_attempted(check, capsys):
    ok, out = run(check, todo, capsys=capsys)
    assert ok is False and out.startswith("⏳"), out


@pytest.mark.parametrize(
    ("check", "wrong", "says"),
    [
        (ch00.square, lambda x: x * 2, "multiplying by 2"),
        (ch00.batchify, lambda ids, B: ids.view(B, -1), "drop the last N % B tokens"),
        (ch00.batchify, lambda ids, B: ids[: len(ids) // B * B].view(-1, B).T, "interleaves"),
        (ch00.center_rows, lambda x: x - x.mean(dim=0, keepdim=True), "over dim 0"),
        (ch00.center_rows, lambda x: x - x.mean(), "whole tensor"),
        (ch00.center_rows, lambda x: x - x.mean(dim=-1), "lines up with the last dimension"),
        (ch00.pick_targets, lambda p, t: p[:, :, t], "pairs every position with every target"),
        (ch00.predict, lambda logits: logits.argmax(dim=1), "argmax over dim 1"),
        (ch00.predict, lambda logits: logits.max(dim=-1), "(values, indices) pair"),
        (ch00.predict, lambda logits: logits.argmax(-1, keepdim=True), "size 1"),
        (ch00.pick_targets, lambda p, t: p.gather(-1, t[..., None]), "add .squeeze(-1)"),
        (ch00.batchify, lambda ids, B: ids[: len(ids) // B * B].view(-1, B), "has B rows"),
        (ch00.one_hot, lambda ids, V: F.one_hot(ids).float(), "guesses the width"),
        (ch00.one_hot, lambda ids, V: F.one_hot(ids, V), "add .float()"),
        (ch00.one_hot, lambda ids, V: F.one_hot(ids, V).float().T, "rows and columns swapped"),
    ],
)
def test_usual_mistake_is_named(check, wrong, says, capsys):
    ok, out = run(check, wrong, capsys=capsys)
    assert ok is False and out.startswith("❌"), out
    assert says in out, out
