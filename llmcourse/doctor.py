"""``llmcourse doctor``: can this machine run the course, and if not, what to do.

Each probe returns (ok, what it found, what to do when not ok). The doctor prints the
environment report, one line per probe, and exits 0 only when every probe passed.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

Probe = Callable[[], tuple[bool, str, str]]


def probe_torch() -> tuple[bool, str, str]:
    """torch imports and can do arithmetic."""
    try:
        import torch

        value = (torch.ones(2) * 2).sum().item()
    except Exception as error:  # any import or runtime failure is the finding
        return (
            False,
            f"torch failed: {error}",
            "pip install torch  (see the README's install notes)",
        )
    build = "CUDA build" if torch.version.cuda else "CPU-only build"
    ok = value == 4.0
    return ok, f"torch {torch.__version__} ({build})", "reinstall torch"


def probe_device() -> tuple[bool, str, str]:
    """The device the course will use, and the precision it will train in."""
    try:
        from llmcourse.device import autocast_dtype, pick_device

        device = pick_device()
    except (ValueError, RuntimeError) as error:
        return False, str(error), "fix or unset LLMCOURSE_DEVICE"
    precision = str(autocast_dtype(device)).replace("torch.", "")
    return True, f"training on {device} in {precision}", ""


def probe_kernel() -> tuple[bool, str, str]:
    """Jupyter's default `python3` kernel runs this very interpreter (so it sees llmcourse)."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

        spec = KernelSpecManager().get_kernel_spec("python3")
    except (ImportError, NoSuchKernel) as error:
        return False, f"no python3 Jupyter kernel ({error})", "pip install ipykernel jupyterlab"
    program = spec.argv[0]
    if (
        program in ("python", "python3", "{python}")
        or Path(program).resolve() == Path(sys.executable).resolve()
    ):
        return True, f"python3 kernel uses {sys.executable}", ""
    return (
        False,
        f"the python3 kernel runs {program}, not {sys.executable}",
        "remove the stale kernel with `jupyter kernelspec remove python3` "
        f"(it lives in {spec.resource_dir})",
    )


def probe_widgets() -> tuple[bool, str, str]:
    """ipywidgets is importable (JupyterLab also needs its front-end, jupyterlab_widgets)."""
    try:
        import ipywidgets
    except ImportError:
        return False, "ipywidgets missing", "pip install 'ipywidgets>=7.6'"
    return True, f"ipywidgets {ipywidgets.__version__}", ""


def probe_data_dir() -> tuple[bool, str, str]:
    """The data folder exists and is writable (downloads are cached there)."""
    from llmcourse.data import data_dir

    try:
        folder = data_dir()
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as error:
        where = os.environ.get("LLMCOURSE_DATA_DIR", "the user cache folder")
        return (
            False,
            f"cannot write to {where}: {error}",
            "set LLMCOURSE_DATA_DIR to a writable folder",
        )
    return True, f"data folder {folder} is writable", ""


PROBES: dict[str, Probe] = {
    "torch": probe_torch,
    "device": probe_device,
    "jupyter kernel": probe_kernel,
    "widgets": probe_widgets,
    "data folder": probe_data_dir,
}


def run_doctor() -> int:
    """Print the environment and every probe; 0 when the course can run here, else 1."""
    from llmcourse.device import describe_environment

    print(describe_environment())
    print()
    failures = 0
    for name, probe in PROBES.items():
        ok, found, fix = probe()
        print(f"{'✅' if ok else '❌'} {name}: {found}")
        if not ok:
            failures += 1
            print(f"   fix: {fix}")
    print()
    print(
        "The course can run here."
        if not failures
        else f"{failures} problem(s) to fix before the course can run."
    )
    return 0 if not failures else 1
