"""Maintainer tools for the course notebooks: execute in place, stamp Colab cells, read, write.

No chapter teaches this file; ``llmcourse execute`` and ``llmcourse stamp-colab`` call it,
and ``llmcourse.exercises`` shares its reading, writing and kernel helpers. Notebooks are
written deterministically (same content, same bytes) and atomically, so a rerun that
changes nothing leaves git clean. Kernels are always this interpreter's own ipykernel,
whatever kernelspecs are installed. Left out on purpose: parallel execution, jupytext.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sys
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from traitlets import default

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
FOLDERS = ("chapters", "solutions", "exercises")
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
INSTALL_COMMENT = "# Colab only: install the course at the revision this notebook comes from."
INSTALL_CELL_ID = "colab-install"  # fixed, so that stamping twice gives the same bytes
_CELL_NOISE = ("execution", "collapsed", "scrolled")
_GITHUB_URL = re.compile(r"^https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?$")
_EXTRAS = re.compile(r'"llmcourse\[([^\]]*)\]\s*@')


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a notebook (as nbformat 4), or say clearly why ``path`` is not one."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook file at {path}; check the path and try again")
    try:
        return nbformat.read(path, as_version=4)
    except (ValueError, KeyError, AttributeError, TypeError, nbformat.ValidationError) as error:
        raise ValueError(
            f"{path} is not a Jupyter notebook ({error}); pass an .ipynb file"
        ) from error


def notebook_bytes(nb: nbformat.NotebookNode) -> bytes:
    """The exact bytes ``write_notebook`` stores: nbformat's JSON, UTF-8, ending in a newline."""
    return (nbformat.writes(nb).rstrip("\n") + "\n").encode("utf-8")


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write atomically: a temporary file in the same folder, then ``os.replace``."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as file:  # "x": a fresh file with the usual permissions
            file.write(notebook_bytes(nb))
        if path.exists():
            shutil.copymode(path, temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def clean_cell_metadata(nb: nbformat.NotebookNode) -> None:
    """Drop per-cell metadata that only records how a cell was last run or shown."""
    for cell in nb.cells:
        for key in _CELL_NOISE:
            cell.metadata.pop(key, None)


def repository_settings(root: Path) -> tuple[str, str]:
    """(repository URL, git ref) from ``root/pyproject.toml``, for badges and install cells."""
    pyproject = Path(root) / "pyproject.toml"
    if not pyproject.is_file():
        raise FileNotFoundError(
            f"no pyproject.toml in {root}; run from the course repository's root folder"
        )
    settings = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    url = settings.get("project", {}).get("urls", {}).get("Repository", "")
    ref = settings.get("tool", {}).get("llmcourse", {}).get("colab-ref", "")
    match = _GITHUB_URL.match(url)
    if not match or not ref:
        raise ValueError(
            f'{pyproject} needs `[project.urls] Repository = "https://github.com/OWNER/REPO"` '
            f'and `[tool.llmcourse] colab-ref = "main"` (found {url!r} and {ref!r})'
        )
    return f"https://github.com/{match[1]}/{match[2]}", ref


def colab_badge(repo_url: str, ref: str, relpath: str) -> str:
    """The markdown "Open In Colab" badge for the notebook at ``relpath`` in the repository."""
    owner_repo = repo_url.removeprefix("https://github.com/")
    target = f"https://colab.research.google.com/github/{owner_repo}/blob/{ref}/{relpath}"
    return f"[![Open In Colab]({BADGE_IMAGE})]({target})"


def colab_install_block(repo_url: str, ref: str, extras: str = "") -> str:
    """The lines that install the course on Colab only; ``extras`` like ``"hf"``."""
    package = f"llmcourse[{extras}]" if extras else "llmcourse"
    return "\n".join(
        [
            INSTALL_COMMENT,
            "import sys",
            'if "google.colab" in sys.modules:',
            f'    %pip install -q "{package} @ git+{repo_url}@{ref}"',
        ]
    )


def stamp_notebook(nb: nbformat.NotebookNode, relpath: str, repo_url: str, ref: str) -> bool:
    """Make the badge and install block canonical for ``relpath``; True if ``nb`` changed."""
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        raise ValueError(
            f"{relpath}: the first cell must be markdown with a `# Title` line; "
            "add one so the Colab badge has a place under the title"
        )
    badge_changed = _stamp_badge(nb.cells[0], colab_badge(repo_url, ref, relpath))
    return _stamp_install(nb, repo_url, ref) or badge_changed


def _stamp_badge(cell: nbformat.NotebookNode, badge: str) -> bool:
    lines = cell.source.split("\n")
    found = [i for i, line in enumerate(lines) if "colab-badge.svg" in line]
    if found:
        lines[found[0]] = badge
    else:
        titles = [i for i, line in enumerate(lines) if line.startswith("# ")]
        lines.insert(titles[0] + 1 if titles else 0, badge)
    source = "\n".join(lines)
    changed, cell.source = source != cell.source, source
    return changed


def _stamp_install(nb: nbformat.NotebookNode, repo_url: str, ref: str) -> bool:
    """Stamp the first code cell if it is the second cell or already starts with the
    block (a solution-only note may sit before it); otherwise insert a cell second."""
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    if not code or not (code[0] is nb.cells[1] or _split_install_block(code[0].source)[0]):
        cell = nbformat.v4.new_code_cell(colab_install_block(repo_url, ref))
        if nb.nbformat_minor >= 5:
            cell.id = INSTALL_CELL_ID
        else:
            del cell["id"]
        nb.cells.insert(1, cell)
        return True
    cell = code[0]
    block, rest = _split_install_block(cell.source)
    extras = _EXTRAS.search(block)
    source = colab_install_block(repo_url, ref, extras[1] if extras else "")
    source += f"\n\n{rest}" if rest else ""
    changed, cell.source = source != cell.source, source
    return changed


def _split_install_block(source: str) -> tuple[str, str]:
    """(install block, rest of the cell): the block is the comment line, ``import sys``,
    the ``if`` line and its indented body; blank lines after it belong to neither."""
    lines = source.lstrip("\n").split("\n")
    if not lines[0].startswith("# Colab only"):
        return "", source
    end = 1
    while end < len(lines) and (
        lines[end].startswith((" ", "\t"))
        or lines[end] == "import sys"
        or (lines[end].startswith("if ") and "colab" in lines[end])
    ):
        end += 1
    return "\n".join(lines[:end]), "\n".join(lines[end:]).lstrip("\n")


def stamp_colab(root: Path, check: bool = False) -> list[Path]:
    """Stamp every notebook in chapters/, solutions/ and exercises/ under ``root``.

    Only the first two cells' sources change. Returns the notebooks that changed (with
    ``check=True``: that would change; nothing is written).
    """
    root = Path(root)
    repo_url, ref = repository_settings(root)
    changed = []
    for folder in FOLDERS:
        for path in sorted((root / folder).glob("*.ipynb")):
            nb = read_notebook(path)
            if stamp_notebook(nb, path.relative_to(root).as_posix(), repo_url, ref):
                changed.append(path)
                if not check:
                    write_notebook(nb, path)
    return changed


class CellError(RuntimeError):
    """A code cell raised, ran past its timeout, or killed the kernel."""

    def __init__(self, index: int, summary: str, notebook: Path | None = None) -> None:
        where = f"{notebook}, cell {index}" if notebook else f"cell {index}"
        super().__init__(f"{where}: {summary}")
        self.index, self.summary, self.notebook = index, summary, notebook


class _ThisPythonKernelManager(AsyncKernelManager):
    """Starts ``python3`` from ipykernel's built-in spec, which runs ``sys.executable``.

    An empty list of kernel folders hides every installed kernelspec (a stale one in
    ~/.local/share/jupyter could point at another Python without torch).
    """

    @default("kernel_spec_manager")
    def _default_kernel_spec_manager(self) -> KernelSpecManager:
        return KernelSpecManager(kernel_dirs=[])


def run_cells(
    nb: nbformat.NotebookNode,
    folder: Path,
    timeout: int,
    allow_errors: bool = False,
    env: dict[str, str] | None = None,
) -> None:
    """Execute ``nb``'s code cells in order, in place, with this Python, cwd = ``folder``.

    ``timeout`` is seconds per cell; ``env`` is the kernel's whole environment (default:
    this process's). Raises ``CellError`` for a timeout, a dead kernel, or (unless
    ``allow_errors``) a cell that raised.
    """
    started: list[int] = []
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=KERNELSPEC["name"],
        kernel_manager_class=_ThisPythonKernelManager,
        allow_errors=allow_errors,
        record_timing=False,
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no start-up chatter on stderr
        resources={"metadata": {"path": str(folder)}},
        on_cell_execute=lambda cell, cell_index: started.append(cell_index),
    )
    launch: dict[str, Any] = {} if env is None else {"env": env}
    try:
        client.execute(**launch)
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
        if not started:
            raise
        raise CellError(started[-1], _summary(error, timeout)) from error


def _summary(error: Exception, timeout: int) -> str:
    if isinstance(error, CellExecutionError):
        return f"{error.ename}: {error.evalue}"
    if isinstance(error, CellTimeoutError):
        return f"did not finish within {timeout} s"
    return f"the kernel died ({error}); is the machine out of memory?"


def execute_in_place(path: Path, timeout: int = 1200) -> None:
    """Re-run a notebook top to bottom with the standard kernel and save it.

    Execution counts become 1..n and every output comes from the code as it is now. If a
    cell fails, ``CellError`` names the notebook and the cell, and the file is untouched.
    """
    path = Path(path)
    nb = read_notebook(path)
    nb.metadata.kernelspec = nbformat.from_dict(KERNELSPEC)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    try:
        run_cells(nb, path.parent, timeout)
    except CellError as error:
        raise CellError(
            error.index,
            f"{error.summary}\nThe file was left unchanged; fix that cell and rerun.",
            notebook=path,
        ) from error
    clean_cell_metadata(nb)
    write_notebook(nb, path)
