"""Specifications of llmcourse.notebooks: reading/writing, Colab stamping, execution in place.

Notebooks are tiny ones built here with nbformat; only the two execution tests start a kernel.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from fake_repo import REPO, write_pyproject
from jupyter_client.kernelspec import KernelSpecManager
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from llmcourse.notebooks import (
    KERNELSPEC,
    CellError,
    colab_badge,
    colab_install_block,
    execute_in_place,
    read_notebook,
    repository_settings,
    stamp_colab,
    write_notebook,
)

BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"


def make_repo(root: Path) -> Path:
    write_pyproject(root, "v1")
    for folder in ("chapters", "solutions", "exercises"):
        (root / folder).mkdir()
    return root


def save(nb: nbformat.NotebookNode, path: Path) -> Path:
    write_notebook(nb, path)
    return path


def test_write_notebook_is_deterministic_atomic_and_ends_with_newline(tmp_path):
    nb = new_notebook(cells=[new_markdown_cell("# Title ✅"), new_code_cell("x = 1")])
    first = save(nb, tmp_path / "a.ipynb").read_bytes()
    second = save(read_notebook(tmp_path / "a.ipynb"), tmp_path / "a.ipynb").read_bytes()
    assert first == second
    assert first.endswith(b"}\n") and "✅".encode() in first
    assert [p.name for p in tmp_path.iterdir()] == ["a.ipynb"]  # no temporary file left


def test_read_notebook_says_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match="no notebook file"):
        read_notebook(tmp_path / "missing.ipynb")
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(ValueError, match="is not a Jupyter notebook"):
        read_notebook(tmp_path / "notes.txt")


def test_repository_settings_reads_url_and_ref(tmp_path):
    assert repository_settings(make_repo(tmp_path)) == (REPO, "v1")


def test_repository_settings_explains_missing_or_bad_settings(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no pyproject\.toml"):
        repository_settings(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[project.urls]\nRepository = "https://example.org/x"\n'
    )
    with pytest.raises(ValueError, match="colab-ref"):
        repository_settings(tmp_path)


def test_badge_and_install_block_have_the_documented_form():
    assert colab_badge(REPO, "v1", "chapters/01_text.ipynb") == (
        f"[![Open In Colab]({BADGE_IMAGE})](https://colab.research.google.com/github/"
        "owner/course/blob/v1/chapters/01_text.ipynb)"
    )
    assert colab_install_block(REPO, "v1", extras="hf") == (
        "# Colab only: install the course at the revision this notebook comes from.\n"
        "import sys\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install -q "llmcourse[hf] @ git+{REPO}@v1"'
    )


def test_stamp_colab_inserts_badge_under_title_and_prepends_install_block(tmp_path):
    root = make_repo(tmp_path)
    setup = new_code_cell(
        "import torch", execution_count=1, outputs=[new_output("stream", text="hi\n")]
    )
    nb = new_notebook(cells=[new_markdown_cell("# Text\nWhat you will learn."), setup])
    path = save(nb, root / "chapters" / "01_text.ipynb")

    assert stamp_colab(root) == [path]
    first, second = read_notebook(path).cells
    assert first.source == (
        f"# Text\n{colab_badge(REPO, 'v1', 'chapters/01_text.ipynb')}\nWhat you will learn."
    )
    assert second.source == colab_install_block(REPO, "v1") + "\n\nimport torch"
    assert second.outputs == setup.outputs and second.execution_count == 1


def test_stamp_colab_replaces_stale_badge_and_block_but_keeps_extras(tmp_path):
    root = make_repo(tmp_path)
    old_badge = f"[![Open In Colab]({BADGE_IMAGE})](https://colab.research.google.com/x.ipynb)"
    old_block = colab_install_block("https://github.com/old/repo", "dev", extras="hf")
    nb = new_notebook(
        cells=[
            new_markdown_cell(f"# Gen\n{old_badge}\nProse."),
            new_code_cell(f"{old_block}\n\n\nfrom llmcourse import gpt"),
        ]
    )
    path = save(nb, root / "solutions" / "06_gen.ipynb")

    stamp_colab(root)
    first, second = read_notebook(path).cells
    assert first.source == f"# Gen\n{colab_badge(REPO, 'v1', 'solutions/06_gen.ipynb')}\nProse."
    assert second.source == colab_install_block(REPO, "v1", "hf") + "\n\nfrom llmcourse import gpt"


def test_stamp_colab_adds_an_install_cell_when_the_second_cell_is_not_code(tmp_path):
    root = make_repo(tmp_path)
    nb = new_notebook(cells=[new_markdown_cell("# Tour"), new_markdown_cell("More prose.")])
    path = save(nb, root / "exercises" / "00_tour.ipynb")

    stamp_colab(root)
    cells = read_notebook(path).cells
    assert [c.cell_type for c in cells] == ["markdown", "code", "markdown"]
    assert cells[1].source == colab_install_block(REPO, "v1")


def test_stamp_colab_finds_the_install_cell_behind_a_solution_note(tmp_path):
    root = make_repo(tmp_path)
    install = colab_install_block("https://github.com/old/repo", "dev") + "\n\nimport torch"
    nb = new_notebook(
        cells=[
            new_markdown_cell("# S"),
            new_markdown_cell("<!-- solution -->"),
            new_code_cell(install),
        ]
    )
    path = save(nb, root / "solutions" / "04_s.ipynb")

    stamp_colab(root)
    cells = read_notebook(path).cells
    assert [c.cell_type for c in cells] == ["markdown", "markdown", "code"]
    assert cells[2].source == colab_install_block(REPO, "v1") + "\n\nimport torch"


def test_stamp_colab_is_idempotent_and_check_writes_nothing(tmp_path):
    root = make_repo(tmp_path)
    nb = new_notebook(cells=[new_markdown_cell("# A"), new_markdown_cell("b")])
    path = save(nb, root / "chapters" / "02_a.ipynb")
    before = path.read_bytes()

    assert stamp_colab(root, check=True) == [path]
    assert path.read_bytes() == before
    assert stamp_colab(root) == [path]
    stamped = path.read_bytes()
    assert stamp_colab(root) == [] and stamp_colab(root, check=True) == []
    assert path.read_bytes() == stamped


def test_stamp_colab_needs_a_markdown_title_cell_first(tmp_path):
    root = make_repo(tmp_path)
    save(new_notebook(cells=[new_code_cell("x = 1")]), root / "chapters" / "03_x.ipynb")
    with pytest.raises(ValueError, match="first cell must be markdown"):
        stamp_colab(root)


def test_execute_in_place_numbers_cells_and_uses_this_python(tmp_path, monkeypatch):
    # A stale user kernelspec named python3 that points at a Python that does not exist.
    stale = tmp_path / "jupyter" / "kernels" / "python3"
    stale.mkdir(parents=True)
    (stale / "kernel.json").write_text(
        '{"argv": ["/nonexistent/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],'
        ' "display_name": "stale", "language": "python"}'
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    assert KernelSpecManager().get_kernel_spec("python3").argv[0] == "/nonexistent/python"

    (tmp_path / "data.txt").write_text("from the notebook's folder", encoding="utf-8")
    stale_output = [new_output("stream", text="old\n")]
    cells = [
        new_markdown_cell("# Run"),
        new_code_cell("import sys\nprint(sys.executable)", execution_count=7, outputs=stale_output),
        new_code_cell(""),
        new_code_cell(
            "print(open('data.txt', encoding='utf-8').read())", metadata={"scrolled": True}
        ),
    ]
    cells[3].metadata["execution"] = {"iopub.status.busy": "2024-01-01T00:00:00Z"}
    path = save(new_notebook(cells=cells), tmp_path / "01_run.ipynb")

    execute_in_place(path, timeout=60)
    nb = read_notebook(path)
    assert dict(nb.metadata.kernelspec) == KERNELSPEC
    assert [c.get("execution_count") for c in nb.cells] == [None, 1, None, 2]
    assert nb.cells[1].outputs[0].text.strip() == sys.executable
    assert nb.cells[3].outputs[0].text.strip() == "from the notebook's folder"
    assert nb.cells[3].metadata == {}


def test_execute_in_place_names_the_failing_cell_and_leaves_the_file_alone(tmp_path):
    cells = [new_code_cell("x = 1"), new_code_cell("y = undefined_name"), new_code_cell("z = 3")]
    path = save(new_notebook(cells=cells), tmp_path / "02_bad.ipynb")
    before = path.read_bytes()

    with pytest.raises(CellError, match="cell 1: NameError") as raised:
        execute_in_place(path, timeout=60)
    assert str(path) in str(raised.value) and raised.value.index == 1
    assert path.read_bytes() == before
