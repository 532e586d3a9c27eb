"""Start a throw-away JupyterLab server and a headless Chromium for `tests/test_browser.py`.

Everything the two programs write goes to temporary folders: the notebook is a copy, and
HOME, the Jupyter config/data/runtime folders, the lab settings and workspaces are fresh.
The lab settings switch on `autoStartDefaultKernel` (so "Run All" never asks which kernel
to use), render every cell (`windowingMode: none`, so off-screen cells are in the page),
and silence the news/update toasts. The kernel is the `python3` spec of the interpreter
running the tests: the server runs from `sys.executable` and JUPYTER_PATH/JUPYTER_DATA_DIR
are isolated, so no stale user kernelspec can pick another Python.

Left out on purpose: browsers other than Debian's Chromium (no `playwright install` here).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ENABLE_HINT = (
    "to run it, install Debian's Chromium and the Python playwright package: "
    "`sudo apt-get install -y chromium` (Debian/Ubuntu) and `pip install playwright` "
    "(do not run `playwright install`; the test uses /usr/bin/chromium)"
)

# User settings, one file per plugin: <settings dir>/<package>/<plugin>.jupyterlab-settings.
LAB_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/notebook-extension/tracker": {
        "autoStartDefaultKernel": True,
        "windowingMode": "none",
    },
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
}


def find_chromium() -> str | None:
    """Path of the Chromium binary, or None when it is not installed."""
    if Path(CHROMIUM).is_file():
        return CHROMIUM
    return shutil.which("chromium")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout: float, what: str, interval: float = 0.1):
    """Call ``condition()`` until it returns something truthy; return it, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass
class LabServer:
    """A running JupyterLab: its base URL, token, process and log file."""

    url: str
    token: str
    process: subprocess.Popen
    log: Path

    def notebook_url(self, name: str) -> str:
        """The address that opens notebook ``name`` (relative to the server root) in the lab."""
        return f"{self.url}/lab/tree/{name}?token={self.token}"

    def api(self, path: str) -> Any:
        """GET ``/api/<path>`` with the token and decode the JSON answer."""
        request = urllib.request.Request(
            f"{self.url}/api/{path}", headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the server printed, for failure messages."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_until_answering(self, timeout: float = 30) -> None:
        """Block until ``/api/status`` answers; fail at once if the server process died."""

        def answers() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with code {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                return "started" in self.api("status")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                return False

        wait_until(answers, timeout, f"JupyterLab at {self.url}")

    def kernel_state(self, notebook: str) -> str | None:
        """Execution state of the kernel attached to ``notebook`` ('idle', 'busy', …), or None."""
        for session in self.api("sessions"):
            if session.get("path") == notebook and session.get("kernel"):
                return session["kernel"].get("execution_state")
        return None

    def wait_for_idle_kernel(self, notebook: str, timeout: float = 30) -> None:
        """Block until the notebook's kernel exists and reports 'idle'."""
        wait_until(
            lambda: self.kernel_state(notebook) == "idle",
            timeout,
            f"an idle kernel for {notebook} (server log:\n{self.log_tail()})",
            interval=0.2,
        )


def write_lab_settings(settings_dir: Path) -> None:
    """Write ``LAB_SETTINGS`` as JupyterLab user settings files under ``settings_dir``."""
    for plugin, values in LAB_SETTINGS.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2), encoding="utf-8")


def isolated_environment(scratch: Path) -> dict[str, str]:
    """os.environ with HOME and every Jupyter/IPython folder moved into ``scratch``."""
    env = dict(os.environ)
    # No extra data folders: they could hold a kernelspec pointing at another Python.
    env.pop("JUPYTER_PATH", None)
    env.pop("JUPYTER_CONFIG_PATH", None)
    folders = {
        "HOME": "home",
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "JUPYTERLAB_SETTINGS_DIR": "settings",
        "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
        "IPYTHONDIR": "ipython",
    }
    for variable, name in folders.items():
        folder = scratch / name
        folder.mkdir(parents=True, exist_ok=True)
        env[variable] = str(folder)
    return env


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """Terminate ``process`` (JupyterLab shuts its kernels down), kill it if it hangs."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


@contextmanager
def running_lab(root: Path, scratch: Path) -> Iterator[LabServer]:
    """Run JupyterLab on 127.0.0.1 serving ``root``, with all its state in ``scratch``."""
    env = isolated_environment(scratch)
    write_lab_settings(Path(env["JUPYTERLAB_SETTINGS_DIR"]))
    port, token = free_port(), os.urandom(16).hex()
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",  # fail loudly rather than move to a port we don't poll
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={env['JUPYTERLAB_SETTINGS_DIR']}",
        f"--LabApp.workspaces_dir={env['JUPYTERLAB_WORKSPACES_DIR']}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = scratch / "jupyterlab.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    server = LabServer(f"http://127.0.0.1:{port}", token, process, log)
    try:
        server.wait_until_answering()
        yield server
    finally:
        stop_process(process)


@contextmanager
def headless_chromium(home: Path) -> Iterator[Any]:
    """A Playwright page in headless Debian Chromium whose HOME is ``home``."""
    from playwright.sync_api import sync_playwright

    home.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=find_chromium(),
            headless=True,
            args=CHROMIUM_ARGS,
            env={
                **os.environ,
                "HOME": str(home),  # Chromium writes ~/.config and ~/.cache regardless
                "XDG_CONFIG_HOME": str(home / ".config"),
                "XDG_CACHE_HOME": str(home / ".cache"),
            },
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            yield page
        finally:
            browser.close()
