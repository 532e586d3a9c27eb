"""Specifications of llmcourse.exercises: building exercises from solutions, scoring notebooks.

Notebooks are tiny ones built here with nbformat; only the two scoring tests start a kernel.
Their fake checker writes the JSON lines itself, so these tests do not depend on
llmcourse.checks.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from pathlib import Path

import nbformat
import pytest
from fake_repo import REPO, write_pyproject
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from llmcourse.cli import main
from llmcourse.exercises import (
    Row,
    Score,
    build_exercise,
    build_exercises,
    format_score_table,
    score_notebook,
)
from llmcourse.notebooks import (
    colab_badge,
    colab_install_block,
    read_notebook,
    stamp_colab,
    write_notebook,
)

SOLVED = """\
def add(a, b):
    # BEGIN SOLUTION
    total = a + b
    return total
    # END SOLUTION

class Model:
    def forward(self, x):
        if x is None:
            # BEGIN SOLUTION
            return 0
            # END SOLUTION
        # BEGIN SOLUTION
        return x * 2
        # END SOLUTION

check(add)"""
UNSOLVED = """\
def add(a, b):
    # TODO: your code here
    raise NotImplementedError

class Model:
    def forward(self, x):
        if x is None:
            # TODO: your code here
            raise NotImplementedError
        # TODO: your code here
        raise NotImplementedError

check(add)"""
FAKE_CHECKER = """\
import json, os
def report(name, status, message):
    with open(os.environ["LLMCOURSE_CHECK_REPORT"], "a", encoding="utf-8") as file:
        file.write(json.dumps({"exercise": name, "status": status, "message": message}) + "\\n")
"""


def solution_notebook() -> nbformat.NotebookNode:
    badge = colab_badge(REPO, "main", "solutions/03_rnn.ipynb")
    nb = new_notebook(
        cells=[
            new_markdown_cell(f"# Recurrent networks\n{badge}\nYou will learn…"),
            new_code_cell(
                colab_install_block(REPO, "main") + "\n\nimport torch", execution_count=1
            ),
            new_code_cell(
                SOLVED, execution_count=2, outputs=[new_output("stream", text="✅ add\n")]
            ),
            new_markdown_cell("<!-- solution -->\nWhy this works: …"),
            new_code_cell(
                "def mul(a, b):\n    # BEGIN SOLUTION\n    return a * b\n    # END SOLUTION",
                execution_count=3,
            ),
        ]
    )
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.cells[2].metadata["execution"] = {"iopub.status.idle": "2024-01-01T00:00:00Z"}
    return nb


def make_repo(root: Path) -> Path:
    write_pyproject(root, "main")
    (root / "solutions").mkdir()
    write_notebook(solution_notebook(), root / "solutions" / "03_rnn.ipynb")
    return root


def build_cli(root: Path, *flags: str) -> int:
    return main(
        [
            "build-exercises",
            *flags,
            "--solutions",
            str(root / "solutions"),
            "--exercises",
            str(root / "exercises"),
        ]
    )


def test_build_exercise_replaces_each_region_with_a_todo_at_its_indentation():
    exercise = build_exercise(solution_notebook(), "exercises/03_rnn.ipynb", REPO, "main")
    assert exercise.cells[2].source == UNSOLVED
    assert exercise.cells[3].source == (
        "def mul(a, b):\n    # TODO: your code here\n    raise NotImplementedError"
    )


def test_build_exercise_drops_notes_clears_outputs_and_repoints_the_badge():
    solution = solution_notebook()
    original = copy.deepcopy(solution)
    exercise = build_exercise(solution, "exercises/03_rnn.ipynb", REPO, "main")
    assert len(exercise.cells) == 4 and "<!-- solution -->" not in str(exercise.cells)
    code = [c for c in exercise.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert all(c.metadata == {} for c in code)
    assert "widgets" not in exercise.metadata
    assert colab_badge(REPO, "main", "exercises/03_rnn.ipynb") in exercise.cells[0].source
    assert "solutions/" not in exercise.cells[0].source
    assert solution == original  # the solution itself is left as it was


def test_build_exercise_drops_nbval_markers_that_mean_nothing_without_outputs():
    solution = solution_notebook()
    solution.cells[2].source = "# NBVAL_CHECK_OUTPUT\ncheck(add)"
    exercise = build_exercise(solution, "exercises/03_rnn.ipynb", REPO, "main")
    assert exercise.cells[2].source == "check(add)"


def test_build_exercise_refuses_a_solution_at_top_level():
    nb = new_notebook(
        cells=[
            new_markdown_cell("# T"),
            new_markdown_cell("<!-- solution -->"),
            new_code_cell("x = 1"),
            new_code_cell("# BEGIN SOLUTION\ny = 2\n# END SOLUTION"),
        ]
    )
    with pytest.raises(ValueError) as raised:
        build_exercise(nb, "exercises/04_t.ipynb", REPO, "main")
    message = str(raised.value)
    assert "04_t.ipynb" in message and "cell 3" in message  # counted in the solution
    assert "inside a function" in message


@pytest.mark.parametrize(
    "source, problem",
    [
        ("def f():\n    # BEGIN SOLUTION\n    return 1", "never closed"),
        ("def f():\n    return 1\n    # END SOLUTION", "without a `# BEGIN SOLUTION`"),
        (
            "def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    # END SOLUTION",
            "inside another",
        ),
    ],
)
def test_build_exercise_refuses_unbalanced_or_nested_markers(source, problem):
    nb = new_notebook(cells=[new_markdown_cell("# T"), new_code_cell(source)])
    with pytest.raises(ValueError, match=problem):
        build_exercise(nb, "exercises/04_t.ipynb", REPO, "main")


def test_build_exercises_writes_then_check_finds_nothing_stale(tmp_path):
    root = make_repo(tmp_path)
    target = root / "exercises" / "03_rnn.ipynb"
    assert build_exercises(root / "solutions", root / "exercises") == [target]
    assert read_notebook(target).cells[2].source == UNSOLVED
    assert build_exercises(root / "solutions", root / "exercises", check=True) == []
    assert build_exercises(root / "solutions", root / "exercises") == []
    assert stamp_colab(root, check=True) == []  # the two tools agree on badges and installs


def test_editing_a_solution_makes_check_report_its_exercise(tmp_path):
    root = make_repo(tmp_path)
    build_exercises(root / "solutions", root / "exercises")
    solution = root / "solutions" / "03_rnn.ipynb"
    nb = read_notebook(solution)
    nb.cells[0].source += "\nNow with a new paragraph."
    write_notebook(nb, solution)
    before = (root / "exercises" / "03_rnn.ipynb").read_bytes()

    stale = build_exercises(root / "solutions", root / "exercises", check=True)
    assert stale == [root / "exercises" / "03_rnn.ipynb"]
    assert (root / "exercises" / "03_rnn.ipynb").read_bytes() == before


def test_an_exercise_without_a_solution_is_stale_and_build_removes_it(tmp_path):
    root = make_repo(tmp_path)
    build_exercises(root / "solutions", root / "exercises")
    orphan = root / "exercises" / "09_gone.ipynb"
    write_notebook(new_notebook(cells=[new_markdown_cell("# Gone")]), orphan)

    assert build_exercises(root / "solutions", root / "exercises", check=True) == [orphan]
    assert orphan.exists()
    assert build_exercises(root / "solutions", root / "exercises") == [orphan]
    assert not orphan.exists()


def test_cli_build_exercises_check_exits_1_when_stale_and_0_in_sync(tmp_path, capsys):
    root = make_repo(tmp_path)
    assert build_cli(root, "--check") == 1
    assert "stale:" in capsys.readouterr().out
    assert build_cli(root) == 0
    assert build_cli(root, "--check") == 0
    assert "in sync" in capsys.readouterr().out


def test_all_passed_needs_a_row_every_row_passed_and_no_cell_error():
    passed = Row("add", "passed", "ok")
    assert Score(rows=[passed]).all_passed
    assert not Score().all_passed
    assert not Score(rows=[passed, Row("mul", "not attempted", "…")]).all_passed
    assert not Score(rows=[passed], errors=["cell 3: NameError: x"]).all_passed


def test_format_score_table_shows_rows_errors_and_a_summary():
    long = "output differs from the reference at [0, 3, 1] " * 3
    score = Score(
        rows=[
            Row("softmax", "passed", "matches torch\nsecond line"),
            Row("cross_entropy", "failed", long),
            Row("perplexity", "not attempted", "not attempted yet"),
        ],
        errors=["cell 7: NameError: name 'x' is not defined"],
    )
    lines = format_score_table(score).splitlines()
    assert lines[0].split() == ["exercise", "status", "message"]
    assert lines[1].startswith("softmax ") and "✅ passed" in lines[1]
    assert lines[1].endswith("matches torch")
    assert "❌ failed" in lines[2] and lines[2].endswith("…")
    assert len(lines[2].split("failed")[1].strip()) == 70
    assert "⏳ not attempted" in lines[3]
    assert "  cell 7: NameError: name 'x' is not defined" in lines
    assert lines[-1] == "1 of 3 passed · 1 not attempted · 1 failed"


def test_score_notebook_explains_a_missing_or_non_notebook_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        score_notebook(tmp_path / "nope.ipynb")
    (tmp_path / "x.ipynb").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not a Jupyter notebook"):
        score_notebook(tmp_path / "x.ipynb")


def test_score_notebook_reports_rows_in_order_and_runs_past_a_crashing_cell(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    cells = [
        new_markdown_cell("# Exercises"),
        new_code_cell(FAKE_CHECKER + 'report("add", "passed", "adds two numbers")'),
        new_code_cell("print(undefined_name)\ncheck.sub(sub)"),
        new_code_cell('report("mul", "not attempted", "not attempted yet")'),
        new_code_cell('report("div", "failed", "got 0.5, expected 2\\ncheck the order")'),
    ]
    path = tmp_path / "03_rnn.ipynb"
    write_notebook(new_notebook(cells=cells), path)
    before, environment = path.read_bytes(), dict(os.environ)

    score = score_notebook(path, timeout=60)
    assert score.rows == [
        Row("add", "passed", "adds two numbers"),
        Row("mul", "not attempted", "not attempted yet"),
        Row("div", "failed", "got 0.5, expected 2\ncheck the order"),
        Row(
            "sub", "failed", "its check did not run: the cell stopped at an error first (see below)"
        ),
    ]
    assert score.errors == [
        "cell 2 (`print(undefined_name)`): NameError: name 'undefined_name' is not defined"
    ]
    assert not score.all_passed
    assert path.read_bytes() == before and dict(os.environ) == environment
    assert sorted(p.name for p in tmp_path.iterdir()) == ["03_rnn.ipynb"]  # report removed


def test_cli_check_prints_the_table_and_exits_0_when_every_check_passes(tmp_path, capsys):
    (tmp_path / "answer.json").write_text(json.dumps("loaded"))  # read from the notebook's folder
    check = 'ok = json.load(open("answer.json", encoding="utf-8")) == "loaded"\n'
    check += 'report("load", "passed" if ok else "failed", "reads its data")'
    path = tmp_path / "00_tour.ipynb"
    write_notebook(new_notebook(cells=[new_code_cell(FAKE_CHECKER + check)]), path)

    assert main(["check", str(path), "--timeout", "60"]) == 0
    assert "1 of 1 passed · 0 not attempted · 0 failed" in capsys.readouterr().out
