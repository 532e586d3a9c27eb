"""`llmcourse doctor` and `llmcourse --help`."""

import subprocess
import sys

import pytest

from llmcourse import doctor
from llmcourse.cli import main


def test_help_lists_every_command():
    result = subprocess.run(
        [sys.executable, "-m", "llmcourse.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for command in ("doctor", "check", "build-exercises", "execute", "stamp-colab"):
        assert command in result.stdout


def test_doctor_passes_on_a_working_machine(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LLMCOURSE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LLMCOURSE_DEVICE", raising=False)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "torch" in out and "❌" not in out
    assert out.rstrip().endswith("The course can run here.")


def test_doctor_reports_a_bad_device_override_with_its_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LLMCOURSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LLMCOURSE_DEVICE", "tpu")
    monkeypatch.setattr(doctor, "PROBES", {"device": doctor.probe_device})
    monkeypatch.setattr("llmcourse.device.describe_environment", lambda: "environment")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "❌ device" in out and "fix: fix or unset LLMCOURSE_DEVICE" in out


def test_doctor_reports_an_unwritable_data_folder(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("LLMCOURSE_DATA_DIR", str(blocker / "data"))
    ok, found, fix = doctor.probe_data_dir()
    assert not ok and "LLMCOURSE_DATA_DIR" in fix


def test_doctor_spots_a_kernel_that_runs_another_python(monkeypatch):
    class Spec:
        argv = ["/opt/other/python", "-m", "ipykernel_launcher"]
        resource_dir = "/somewhere/kernels/python3"

    monkeypatch.setattr(
        "jupyter_client.kernelspec.KernelSpecManager.get_kernel_spec", lambda self, name: Spec
    )
    ok, found, fix = doctor.probe_kernel()
    assert not ok and "/opt/other/python" in found and "jupyter kernelspec remove python3" in fix


def test_this_environment_has_a_kernel_running_this_python():
    ok, found, _ = doctor.probe_kernel()
    assert ok, found


@pytest.mark.parametrize("probe", list(doctor.PROBES.values()), ids=list(doctor.PROBES))
def test_every_probe_returns_ok_found_fix(probe, tmp_path, monkeypatch):
    monkeypatch.setenv("LLMCOURSE_DATA_DIR", str(tmp_path))
    ok, found, fix = probe()
    assert isinstance(ok, bool) and found and isinstance(fix, str)
