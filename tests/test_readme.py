"""The README is the contract with learners and CI: its commands and links stay true."""

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
TEST_COMMAND = 'pip install -e ".[test]" && python -m pytest'
OPEN_COMMAND = 'pip install -e ".[lab,hf]" && jupyter lab chapters/00_setup.ipynb'


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    section = section.split("### ", 1)[0]  # the conda and Colab routes come after
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return [block.strip() for block in blocks[1:]]  # the first block clones and makes the venv


def test_quick_start_has_exactly_the_two_commands():
    assert quick_start_commands() == [OPEN_COMMAND, TEST_COMMAND]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    last_command = [line for line in ci.splitlines() if line.strip() and not line.startswith("#")][
        -1
    ]
    assert last_command == TEST_COMMAND


def test_readme_links_point_at_the_repository_in_pyproject():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    repo = pyproject["project"]["urls"]["Repository"].removeprefix("https://github.com/")
    for owner_repo in re.findall(r"github(?:\.com)?/([\w.-]+/[\w.-]+)", README):
        assert owner_repo == repo, f"README names {owner_repo}, pyproject says {repo}"
    ref = pyproject["tool"]["llmcourse"]["colab-ref"]
    for colab_ref in re.findall(
        r"colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/([\w.-]+)/", README
    ):
        assert colab_ref == ref, f"a README badge opens {colab_ref}, pyproject's colab-ref is {ref}"


def test_every_chapter_in_the_repository_is_in_the_readme_table():
    for notebook in sorted((ROOT / "chapters").glob("*.ipynb")):
        assert f"](chapters/{notebook.name})" in README, (
            f"{notebook.name} missing from the chapter table"
        )
