"""A throw-away course repository for tests: a pyproject.toml naming a GitHub URL and ref."""

from pathlib import Path

REPO = "https://github.com/owner/course"


def write_pyproject(root: Path, ref: str) -> None:
    """The two settings `llmcourse.notebooks.repository_settings` reads, and nothing else."""
    text = (
        '[project]\nname = "llmcourse"\n'
        f'[project.urls]\nRepository = "{REPO}"\n'
        f'[tool.llmcourse]\ncolab-ref = "{ref}"\n'
    )
    (root / "pyproject.toml").write_text(text, encoding="utf-8")
