"""Audit of every notebook: what a learner, GitHub's renderer and nbval each rely on."""

import json
import re
from pathlib import Path

import pytest

from llmcourse.exercises import build_exercises
from llmcourse.notebooks import colab_badge, repository_settings, stamp_colab

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("chapters", "solutions", "exercises")
NOTEBOOKS = sorted(p for folder in FOLDERS for p in (ROOT / folder).glob("*.ipynb"))
NAME = re.compile(r"^\d\d_[a-z0-9]+(_[a-z0-9]+)*\.ipynb$")
# A drive letter stands alone (C:\\ in the notebook's JSON); "ROMEO:\\n" is a line break.
ABSOLUTE_PATH = re.compile(r"(/root/|/home/\w+|/Users/\w+|/tmp/|/work/|(?<![A-Za-z])[A-Z]:\\\\)")
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def code_cells(nb: dict) -> list[dict]:
    return [cell for cell in nb["cells"] if cell["cell_type"] == "code"]


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


def test_there_is_a_chapter_00_with_solutions_and_exercises():
    for folder in FOLDERS:
        assert (ROOT / folder / "00_setup.ipynb").exists()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_name_is_numbered_snake_case(path):
    assert NAME.match(path.name), f"{path.name}: name notebooks NN_snake_case.ipynb"


def test_solutions_and_exercises_match_chapters_by_name():
    names = {folder: {p.name for p in (ROOT / folder).glob("*.ipynb")} for folder in FOLDERS}
    assert names["solutions"] == names["exercises"]
    assert names["solutions"] <= names["chapters"], (
        "each exercise set belongs to a chapter of the same name"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_first_cell_has_title_badge_and_time(path):
    first = load(path)["cells"][0]
    text = source(first)
    assert first["cell_type"] == "markdown" and text.startswith("# "), (
        "first cell: a markdown title"
    )
    url, ref = repository_settings(ROOT)
    assert colab_badge(url, ref, path.relative_to(ROOT).as_posix()) in text, (
        "badge must open this very notebook"
    )
    assert re.search(r"\*\*Time:\*\*.*\bon CPU\b", text), "first cell: a '**Time:** … on CPU' line"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_second_cell_installs_on_colab_then_sets_device_or_seed(path):
    second = load(path)["cells"][1]
    text = source(second)
    assert second["cell_type"] == "code" and text.startswith("# Colab only")
    assert "seed_everything(0)" in text


def test_badges_and_install_cells_are_stamped_from_pyproject():
    assert stamp_colab(ROOT, check=True) == [], "run `llmcourse stamp-colab`"


def test_exercises_are_in_sync_with_solutions():
    assert build_exercises(ROOT / "solutions", ROOT / "exercises", check=True) == [], (
        "run `llmcourse build-exercises`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_standard_kernel_small_file_no_absolute_paths(path):
    raw = path.read_text(encoding="utf-8")
    assert len(raw.encode()) < 1_000_000, (
        "keep notebooks under 1 MB (smaller figures, fewer printed rows)"
    )
    assert not ABSOLUTE_PATH.search(raw), (
        f"machine-specific path: {ABSOLUTE_PATH.search(raw).group()}"
    )
    assert load(path)["metadata"]["kernelspec"] == KERNELSPEC


EXECUTED = [p for p in NOTEBOOKS if p.parent.name in ("chapters", "solutions")]


@pytest.mark.parametrize("path", EXECUTED, ids=ids(EXECUTED))
def test_chapters_and_solutions_are_executed_top_to_bottom_without_errors(path):
    cells = code_cells(load(path))
    counts = [cell["execution_count"] for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        "re-execute with `llmcourse execute` before committing"
    )
    for i, cell in enumerate(cells):
        assert all(out["output_type"] != "error" for out in cell["outputs"]), (
            f"code cell {i} has an error output"
        )


EXERCISES = [p for p in NOTEBOOKS if p.parent.name == "exercises"]


@pytest.mark.parametrize("path", EXERCISES, ids=ids(EXERCISES))
def test_exercises_are_committed_without_outputs(path):
    for cell in code_cells(load(path)):
        assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_nbval_markers_are_spelled_so_nbval_sees_them(path):
    for cell in code_cells(load(path)):
        for line in source(cell).splitlines():
            if line.lstrip().startswith("# NBVAL"):
                assert line == CHECK_MARKER, (
                    f"{line!r}: nbval ignores anything but the bare marker line"
                )
        if CHECK_MARKER in source(cell) and path.parent.name != "exercises":
            assert cell["outputs"], (
                "a checked cell needs its output committed, or nbval compares nothing"
            )
