"""End to end: chapter 00 runs in a real JupyterLab and its broadcasting explorer answers typing.

A copy of the chapter is served by a throw-away JupyterLab (`tests/browser_lab.py`) and
driven by headless Debian Chromium through Playwright: open it, clear old outputs, Run All
from the menu, check that no cell failed, then type shapes into the `broadcast_explorer`
widget and watch its verdict change. What the explorer computes is tested without a browser
elsewhere; this test proves the pieces meet: kernel, widget comms and front end.

Skipped when Chromium or the `playwright` package is missing (see `ENABLE_HINT`).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from browser_lab import (
    ENABLE_HINT,
    LabServer,
    find_chromium,
    headless_chromium,
    running_lab,
)

REPO = Path(__file__).resolve().parents[1]
CHAPTER = REPO / "chapters" / "00_setup.ipynb"
RUN_ALL_TIMEOUT_MS = 120_000
WIDGET_TIMEOUT_MS = 10_000

pytestmark = pytest.mark.browser


# --- reading the notebook file -------------------------------------------------------------


def code_cells_to_run(notebook: Path) -> int:
    """How many code cells have source; JupyterLab leaves empty ones unnumbered."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return sum(
        1 for cell in cells if cell["cell_type"] == "code" and "".join(cell["source"]).strip()
    )


def first_heading(notebook: Path) -> str:
    """The text of the first Markdown heading (`# …` to `###### …`) in the notebook."""
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if re.match(r"#{1,6} ", line):
                    return line.lstrip("#").strip()
    raise AssertionError(
        f"{notebook.name} has no Markdown heading; a chapter starts with '# title'"
    )


def plain_words(text: str) -> str:
    """Heading text without Markdown marks or JupyterLab's '¶' anchor, for comparing."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [label](url) → label
    return " ".join(re.findall(r"\w+", text.replace("¶", "")))


# --- fixtures: server and browser, always cleaned up ------------------------------------------


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabServer]:
    """JupyterLab serving a temporary copy of the chapter (autosave never touches the repo)."""
    if find_chromium() is None:
        pytest.skip(f"Chromium not found at /usr/bin/chromium or on PATH; {ENABLE_HINT}")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip(f"the Python playwright package is not installed; {ENABLE_HINT}")
    if not CHAPTER.exists():
        pytest.skip(
            f"{CHAPTER.relative_to(REPO)} does not exist yet; nothing to open in the browser"
        )
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(CHAPTER, root / CHAPTER.name)
    with running_lab(root, tmp_path / "jupyter") as server:
        yield server


@pytest.fixture
def page(lab: LabServer, tmp_path: Path):
    """A headless Chromium page with its HOME in a temporary folder."""
    with headless_chromium(tmp_path / "chromium-home") as page:
        yield page


@contextmanager
def screenshot_on_failure(page, lab: LabServer, path: Path) -> Iterator[None]:
    """Turn any failure inside into an AssertionError naming a screenshot and the server log."""
    try:
        yield
    except Exception as error:
        from playwright.sync_api import Error as PlaywrightError

        try:
            page.screenshot(path=str(path), full_page=True)
            where = f"screenshot: {path}"
        except PlaywrightError as screenshot_error:  # the page may be gone
            where = f"no screenshot ({screenshot_error})"
        raise AssertionError(
            f"{error}\n{where}\nlast lines of the JupyterLab log:\n{lab.log_tail(15)}"
        ) from error


# --- what a learner does in JupyterLab --------------------------------------------------------


def run_menu_command(page, menu: str, command: str) -> None:
    """Open a main-menu entry (e.g. 'Run') and click the item bound to a command id."""
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
    page.locator(f'.lm-Menu .lm-Menu-item[data-command="{command}"]').click()


def clear_all_outputs(page) -> None:
    """Edit → Clear Outputs of All Cells, so old outputs and counts can't pass for new ones."""
    run_menu_command(page, "Edit", "editmenu:clear-all")
    page.wait_for_function(
        """() => ![...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
                  .some(p => /^\\[\\d+\\]:$/.test(p.textContent.trim()))""",
        timeout=WIDGET_TIMEOUT_MS,
    )


# Finished: nothing queued or running, and either every code cell numbered, a traceback shown
# (JupyterLab stops a Run All there), or a dialog (e.g. the kernel died) in the way.
RUN_FINISHED_JS = """
(expected) => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
    .map(p => p.textContent.trim());
  if (document.querySelector('.jp-Dialog')) return true;
  if (prompts.some(t => t === '[*]:')) return false;
  const failed = [...document.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
    .some(o => o.textContent.includes('Traceback'));
  return failed || prompts.filter(t => /^\\[\\d+\\]:$/.test(t)).length >= expected;
}
"""


def run_all_and_wait(page, expected_numbered: int) -> None:
    """Run → Run All Cells, then wait until the run is over (see RUN_FINISHED_JS)."""
    run_menu_command(page, "Run", "runmenu:run-all")
    page.wait_for_function(
        RUN_FINISHED_JS, arg=expected_numbered, timeout=RUN_ALL_TIMEOUT_MS, polling=200
    )
    dialog = page.locator(".jp-Dialog")
    assert dialog.count() == 0, f"a dialog interrupted Run All: {dialog.first.inner_text()!r}"


def error_outputs(page) -> list[str]:
    """Texts of outputs that report a failure: tracebacks and widgets that could not render."""
    stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    errors = [
        text
        for text in stderr.all_inner_texts()
        if "Traceback" in text or re.search(r"^\w+Error\b", text, re.MULTILINE)
    ]
    widget_errors = page.locator(".jp-OutputArea-output", has_text="Error displaying widget")
    return errors + widget_errors.all_inner_texts()


def type_shape(page, description: str, shape: str) -> None:
    """Select all in the Text widget labelled ``description`` and type ``shape`` key by key."""
    box = page.locator(f'.widget-text:has(label:text-is("{description}")) input')
    box.click()
    box.press("ControlOrMeta+a")
    box.press_sequentially(shape)


# --- the specification ------------------------------------------------------------------------


def test_chapter_00_runs_in_jupyterlab_and_its_broadcast_explorer_answers_typing(
    lab, page, tmp_path
):
    """Open, Run All without a kernel dialog, no failed cell, and the explorer follows typing."""
    from playwright.sync_api import expect

    name = CHAPTER.name
    with screenshot_on_failure(page, lab, tmp_path / "failure.png"):
        page.goto(lab.notebook_url(name))

        heading = (
            page.locator(".jp-Notebook .jp-RenderedMarkdown")
            .locator("h1, h2, h3, h4, h5, h6")
            .first
        )
        expect(heading).to_be_visible(timeout=30_000)
        assert plain_words(heading.inner_text()) == plain_words(first_heading(CHAPTER))

        lab.wait_for_idle_kernel(name)  # Run All before the kernel exists asks which kernel to use
        clear_all_outputs(page)
        run_all_and_wait(page, code_cells_to_run(CHAPTER))
        errors = error_outputs(page)
        assert not errors, (
            f"{len(errors)} cell(s) failed in JupyterLab; the first:\n{errors[0][-1500:]}"
        )

        result = page.locator(".broadcast-result")
        expect(result).to_have_count(1, timeout=WIDGET_TIMEOUT_MS)
        expect(result).to_contain_text("result shape (2, 3, 4)", timeout=WIDGET_TIMEOUT_MS)

        type_shape(page, "a.shape", "3, 1")
        type_shape(page, "b.shape", "4")
        expect(result).to_contain_text("result shape (3, 4)", timeout=WIDGET_TIMEOUT_MS)

        type_shape(page, "a.shape", "2, 3")
        expect(result).to_contain_text("do not broadcast", timeout=WIDGET_TIMEOUT_MS)
