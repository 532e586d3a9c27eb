"""llmcourse.device: every branch of the device, precision and budget policy."""

import random

import numpy as np
import pytest
import torch

from llmcourse import device as dev


@pytest.fixture
def machine(monkeypatch):
    """Pretend to be a machine with the given accelerators (and a given torch version)."""

    def pretend(cuda=False, mps=False, bf16=True, torch_version="2.13.0"):
        monkeypatch.delenv("LLMCOURSE_DEVICE", raising=False)
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
        monkeypatch.setattr(torch, "__version__", torch_version)

    return pretend


def test_cpu_when_no_accelerator(machine):
    machine()
    assert dev.pick_device() == torch.device("cpu")


def test_cuda_is_preferred_over_mps(machine):
    machine(cuda=True, mps=True)
    assert dev.pick_device() == torch.device("cuda")


def test_mps_on_recent_torch_is_used_with_a_warning(machine):
    machine(mps=True, torch_version="2.5.1")
    with pytest.warns(UserWarning, match="LLMCOURSE_DEVICE=cpu"):
        assert dev.pick_device() == torch.device("mps")


def test_mps_on_old_torch_falls_back_to_cpu_with_a_warning(machine):
    machine(mps=True, torch_version="2.2.0")
    with pytest.warns(UserWarning, match="older than"):
        assert dev.pick_device() == torch.device("cpu")


def test_env_override_wins_over_available_gpu(machine, monkeypatch):
    machine(cuda=True)
    monkeypatch.setenv("LLMCOURSE_DEVICE", "cpu")
    assert dev.pick_device() == torch.device("cpu")


def test_env_override_with_index(machine, monkeypatch):
    machine(cuda=True)
    monkeypatch.setenv("LLMCOURSE_DEVICE", "cuda:1")
    assert dev.pick_device() == torch.device("cuda", 1)


@pytest.mark.parametrize(
    ("value", "error", "says"),
    [
        ("tpu", ValueError, "one of cpu, cuda, mps"),
        ("cuda", RuntimeError, "no CUDA"),
        ("mps", RuntimeError, "not available"),
    ],
)
def test_bad_env_override_says_what_to_do(machine, monkeypatch, value, error, says):
    machine()
    monkeypatch.setenv("LLMCOURSE_DEVICE", value)
    with pytest.raises(error, match=says):
        dev.pick_device()


def test_autocast_dtype_policy(machine):
    machine(cuda=True, bf16=True)
    assert dev.autocast_dtype("cuda") == torch.bfloat16
    machine(cuda=True, bf16=False)  # e.g. Colab's T4
    assert dev.autocast_dtype("cuda") == torch.float16
    assert dev.autocast_dtype("cpu") == torch.float32
    assert dev.autocast_dtype(torch.device("mps")) == torch.float32


def test_grad_scaler_enabled_only_for_float16(machine):
    machine(cuda=True, bf16=False)
    assert dev.grad_scaler("cuda").is_enabled()
    machine(cuda=True, bf16=True)
    assert not dev.grad_scaler("cuda").is_enabled()
    assert not dev.grad_scaler("cpu").is_enabled()


def test_budget_gives_the_gpu_figure_only_on_cuda(machine):
    machine()
    assert dev.budget(cpu=10, gpu=1000) == 10
    assert dev.budget(cpu=10, gpu=1000, device="cuda") == 1000
    assert dev.budget(cpu=10, gpu=1000, device="mps") == 10
    machine(cuda=True)
    assert dev.budget(cpu=10, gpu=1000) == 1000


def test_on_colab(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    assert not dev.on_colab()
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20261101")
    assert dev.on_colab()


def test_seed_everything_makes_all_generators_repeat():
    def draw():
        return random.random(), float(np.random.rand()), torch.rand(3).tolist()

    dev.seed_everything(123)
    first = draw()
    dev.seed_everything(123)
    assert draw() == first


def test_seed_everything_deterministic_mode(monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    try:
        dev.seed_everything(0, deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(False)


def test_describe_environment_reports_the_essentials(machine):
    machine()
    report = dev.describe_environment()
    for key in ("python", "torch", "device", "gpu", "precision", "cpu_threads", "colab"):
        assert key in report
    assert report["device"] == "cpu" and report["gpu"] == "none"
    assert "device" in str(report).splitlines()[3]


def test_describe_environment_names_the_gpu(machine, monkeypatch):
    machine(cuda=True)

    class Props:
        name, total_memory = "Tesla T4", 15 * 2**30

    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: Props)
    report = dev.describe_environment()
    assert report["gpu"] == "Tesla T4, 15.0 GiB"
    assert report["precision"] == "bfloat16"
