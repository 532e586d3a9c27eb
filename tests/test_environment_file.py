"""environment.yml (the conda route) and pyproject.toml agree on every runtime dependency,
JupyterLab included."""

import re
import sys
from pathlib import Path

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name → PyPI name
REQUIREMENT = re.compile(
    r"^\s*([A-Za-z0-9_.\-]+)\s*(?:\[[^\]]*\])?\s*([<>=!~]=?[^;]*)?\s*(?:;(.*))?$"
)


def parse(requirement: str) -> tuple[str, str, str]:
    """'torch>=2.2' → ('torch', '>=2.2', ''), conda's 'python=3.11' → ('python', '=3.11', '')."""
    name, spec, marker = REQUIREMENT.match(requirement).groups()
    return name.lower().replace("_", "-"), (spec or "").replace(" ", ""), (marker or "").strip()


def pyproject_runtime() -> dict[str, str]:
    """The dependencies plus the `lab` extra (JupyterLab), as a learner's machine has them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["lab"]
    parsed = [parse(r) for r in requirements]
    return {name: spec for name, spec, marker in parsed if "python_version" not in marker}


def conda_dependencies() -> tuple[dict[str, str], list[str]]:
    data = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    conda, pip = {}, []
    for entry in data["dependencies"]:
        if isinstance(entry, dict):
            pip.extend(entry["pip"])
            continue
        name, spec, _ = parse(entry)
        conda[CONDA_NAMES.get(name, name)] = spec
    return conda, pip


def test_every_runtime_dependency_has_the_same_range_in_both_files():
    conda, _ = conda_dependencies()
    conda.pop("python"), conda.pop("pip")
    assert conda == pyproject_runtime()


def test_conda_route_uses_python_3_11_and_installs_the_course_with_test_extras():
    conda, pip = conda_dependencies()
    assert conda["python"] == "=3.11"
    assert pip == ["-e .[test]"]
