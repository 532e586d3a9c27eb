"""Exercise notebooks: build them from the solutions, then run one and score it.

``solutions/NN_*.ipynb`` is the single source. Code between ``# BEGIN SOLUTION`` and
``# END SOLUTION`` becomes ``raise NotImplementedError``, so the unsolved notebook still
runs to the end and each checker reports ⏳. ``llmcourse build-exercises`` and ``llmcourse
check`` call this file; the checkers' side of the contract is ``llmcourse.checks.base``.
Left out on purpose: hidden tests, partial credit, grading several notebooks at once.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

from llmcourse.checks.base import FAILED, ICONS, NOT_ATTEMPTED, PASSED, REPORT_ENV
from llmcourse.notebooks import (
    CellError,
    clean_cell_metadata,
    notebook_bytes,
    read_notebook,
    repository_settings,
    run_cells,
    stamp_notebook,
    write_notebook,
)

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
SOLUTION_NOTE = "<!-- solution -->"
NBVAL_MARKER = "# NBVAL_"
CHECK_CALL = re.compile(r"^\s*check\.(\w+)\(", flags=re.M)  # `check` is `checks.chNN`
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
MESSAGE_WIDTH = 70


def build_exercise(
    solution_nb: nbformat.NotebookNode, exercise_relpath: str, repo_url: str, ref: str
) -> nbformat.NotebookNode:
    """The exercise version of a solution notebook (``solution_nb`` is not modified).

    Solution regions become ``# TODO`` + ``raise NotImplementedError``, solution-only
    markdown cells and ``# NBVAL_…`` marker lines go, outputs and widget state are cleared,
    and the Colab badge and install cell point at ``exercise_relpath``.
    """
    name = PurePosixPath(exercise_relpath).name
    nb = copy.deepcopy(solution_nb)
    for index, cell in enumerate(nb.cells):  # indices as in the solution, for error messages
        if cell.cell_type == "code":
            source = _strip_solutions(cell.source, f"solution notebook {name}, cell {index}")
            cell.source = _drop_nbval_markers(source)
            cell.outputs, cell.execution_count = [], None
    nb.cells = [c for c in nb.cells if not _is_solution_note(c)]
    nb.metadata.pop("widgets", None)
    clean_cell_metadata(nb)
    stamp_notebook(nb, exercise_relpath, repo_url, ref)
    return nb


def _is_solution_note(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "markdown" and cell.source.lstrip().startswith(SOLUTION_NOTE)


def _drop_nbval_markers(source: str) -> str:
    """Remove ``# NBVAL_…`` lines: an exercise has no outputs to compare, and learners
    need not wonder what the marker means."""
    return "\n".join(
        line for line in source.split("\n") if not line.strip().startswith(NBVAL_MARKER)
    )


def _strip_solutions(source: str, where: str) -> str:
    """Replace each BEGIN…END region by a TODO at the BEGIN marker's indentation."""
    kept: list[str] = []
    inside = False
    for line in source.split("\n"):
        marker = line.strip()
        if marker == BEGIN:
            indent = line[: len(line) - len(line.lstrip())]
            if inside:
                raise ValueError(
                    f"{where}: `{BEGIN}` inside another solution region; "
                    f"close the first one with `{END}`"
                )
            if not indent:
                raise ValueError(
                    f"{where}: `{BEGIN}` at top level; put solution code inside "
                    "a function so the unsolved notebook still runs"
                )
            kept += [f"{indent}# TODO: your code here", f"{indent}raise NotImplementedError"]
            inside = True
        elif marker == END:
            if not inside:
                raise ValueError(f"{where}: `{END}` without a `{BEGIN}` before it")
            inside = False
        elif not inside:
            kept.append(line)
    if inside:
        raise ValueError(f"{where}: `{BEGIN}` is never closed; add `{END}` after the solution")
    return "\n".join(kept)


def build_exercises(solutions_dir: Path, exercises_dir: Path, check: bool = False) -> list[Path]:
    """Write ``exercises_dir/NN_*.ipynb`` from ``solutions_dir/NN_*.ipynb``.

    Returns the exercise files whose bytes changed, including exercises with no solution
    any more, which are deleted. With ``check=True`` nothing is written or deleted: the
    result lists the stale files. The repository root is the solutions folder's parent.
    """
    root = Path(solutions_dir).resolve().parent
    repo_url, ref = repository_settings(root)
    exercises_dir = Path(exercises_dir)
    if not exercises_dir.resolve().is_relative_to(root):
        raise ValueError(
            f"{exercises_dir} is outside the repository {root}; keep exercises/ next to solutions/"
        )
    solutions = sorted(Path(solutions_dir).glob(NOTEBOOK_GLOB))
    stale = []
    for solution in solutions:
        target = exercises_dir / solution.name
        relpath = (exercises_dir.resolve() / solution.name).relative_to(root).as_posix()
        exercise = build_exercise(read_notebook(solution), relpath, repo_url, ref)
        if not target.is_file() or target.read_bytes() != notebook_bytes(exercise):
            stale.append(target)
            if not check:
                exercises_dir.mkdir(parents=True, exist_ok=True)
                write_notebook(exercise, target)
    names = {solution.name for solution in solutions}
    for orphan in sorted(exercises_dir.glob(NOTEBOOK_GLOB)):
        if orphan.name not in names:
            stale.append(orphan)
            if not check:
                orphan.unlink()
    return stale


@dataclass(frozen=True)
class Row:
    """One checker result: ``status`` is "passed", "not attempted" or "failed"."""

    exercise: str
    status: str
    message: str


@dataclass
class Score:
    """What a notebook run reported: checker rows in order, and cells that raised."""

    rows: list[Row] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def all_passed(self) -> bool:
        """True if at least one check ran, every check passed and no cell raised."""
        return bool(self.rows) and not self.errors and all(r.status == PASSED for r in self.rows)


def score_notebook(path: Path, timeout: int = 600) -> Score:
    """Run a copy of the notebook at ``path`` (the file is never written) and score it.

    Every cell runs, even after one raises. The checkers append their results to a
    temporary file named by ``LLMCOURSE_CHECK_REPORT`` in the kernel's environment.
    """
    path = Path(path)
    nb = read_notebook(path)
    handle, report = tempfile.mkstemp(prefix="llmcourse-check-", suffix=".jsonl")
    os.close(handle)
    stopped: list[str] = []
    try:
        try:
            run_cells(
                nb, path.parent, timeout, allow_errors=True, env={**os.environ, REPORT_ENV: report}
            )
        except CellError as error:  # a timeout or a dead kernel ends the run early
            stopped.append(str(error))
        rows = _read_report(Path(report))
    finally:
        os.unlink(report)
    return Score(rows=rows + _silent_checks(nb, rows), errors=_cell_errors(nb) + stopped)


def _read_report(report: Path) -> list[Row]:
    lines = report.read_text(encoding="utf-8").splitlines()
    results = [json.loads(line) for line in lines if line.strip()]
    return [Row(r["exercise"], r["status"], r["message"]) for r in results]


def _silent_checks(nb: nbformat.NotebookNode, rows: list[Row]) -> list[Row]:
    """A failed row for each ``check.NAME(…)`` call in the notebook that reported nothing
    (its cell stopped at an error first), so the table lists every exercise."""
    reported = {row.exercise for row in rows}
    called = [
        name
        for cell in nb.cells
        if cell.cell_type == "code"
        for name in CHECK_CALL.findall(cell.source)
    ]
    silent = [name for name in dict.fromkeys(called) if name not in reported]
    message = "its check did not run: the cell stopped at an error first (see below)"
    return [Row(name, FAILED, message) for name in silent]


def _cell_errors(nb: nbformat.NotebookNode) -> list[str]:
    """'cell 7 (`first line`): NameError: …' per error output; cells are counted from 0."""
    return [
        f"cell {index} (`{_first_line(cell.source)[:40]}`): {output.ename}: {output.evalue}"
        for index, cell in enumerate(nb.cells)
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]


def format_score_table(score: Score) -> str:
    """A plain-text table of the rows, then any cell errors, then a one-line summary."""
    exercise_width = max([len("exercise")] + [len(r.exercise) for r in score.rows])
    status_width = max(len(status) for status in (PASSED, NOT_ATTEMPTED, FAILED))
    lines = [f"{'exercise'.ljust(exercise_width)}  {'status'.ljust(status_width + 3)}  message"]
    for row in score.rows:
        icon = ICONS.get(row.status, "?")
        lines.append(
            f"{row.exercise.ljust(exercise_width)}  {icon} "
            f"{row.status.ljust(status_width)}  {_first_line(row.message)}"
        )
    if not score.rows:
        lines.append("(no checks reported: does the notebook call its check functions?)")
    if score.errors:
        lines += ["", "cells that raised an error:"] + [f"  {error}" for error in score.errors]
    counts = {
        status: sum(r.status == status for r in score.rows)
        for status in (PASSED, NOT_ATTEMPTED, FAILED)
    }
    summary = (
        f"{counts[PASSED]} of {len(score.rows)} passed · "
        f"{counts[NOT_ATTEMPTED]} not attempted · {counts[FAILED]} failed"
    )
    lines += ["", summary]
    return "\n".join(lines)


def _first_line(message: str) -> str:
    line = (message.strip().splitlines() or [""])[0]
    return line if len(line) <= MESSAGE_WIDTH else line[: MESSAGE_WIDTH - 1] + "…"
