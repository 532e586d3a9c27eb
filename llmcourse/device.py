"""Where the course runs: device choice, seeds, precision policy and work budgets.

Chapter 00 teaches this file. One policy for the whole course:

- device: CUDA if present, else Apple MPS (only on a torch recent enough to train on it
  reliably, with a warning), else CPU. ``LLMCOURSE_DEVICE=cpu`` (or ``cuda``, ``cuda:1``,
  ``mps``) overrides the choice.
- precision: bfloat16 autocast on GPUs that support it, float16 with a ``GradScaler`` on
  GPUs that don't (Colab's T4), float32 on CPU and MPS.
- budget: notebooks size their work with ``budget(cpu=…, gpu=…)``, so the same notebook
  runs in minutes on a laptop and grows on a CUDA GPU.
"""

from __future__ import annotations

import os
import platform
import random
import sys
import warnings
from typing import TypeVar

import numpy as np
import torch

#: Oldest torch whose MPS backend we trust for training (older ones gave wrong or stuck
#: losses on common models).
MIN_TORCH_FOR_MPS = (2, 4)

_ALLOWED_DEVICES = ("cpu", "cuda", "mps")

T = TypeVar("T")


def _torch_version() -> tuple[int, int]:
    major, minor = torch.__version__.split("+")[0].split(".")[:2]
    return int(major), int(minor)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def _device_from_env(value: str) -> torch.device:
    kind = value.split(":")[0]
    if kind not in _ALLOWED_DEVICES:
        raise ValueError(
            f"LLMCOURSE_DEVICE={value!r} is not a device the course knows; "
            f"use one of {', '.join(_ALLOWED_DEVICES)} (optionally with an index, e.g. cuda:1)"
        )
    if kind == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"LLMCOURSE_DEVICE={value!r} asks for CUDA, but this torch sees no CUDA GPU "
            f"(torch {torch.__version__}); unset LLMCOURSE_DEVICE or set it to cpu"
        )
    if kind == "mps" and not _mps_available():
        raise RuntimeError(
            f"LLMCOURSE_DEVICE={value!r} asks for Apple MPS, which is not available here; "
            "unset LLMCOURSE_DEVICE or set it to cpu"
        )
    return torch.device(value)


def pick_device() -> torch.device:
    """The device the course trains on: cuda > mps > cpu; ``LLMCOURSE_DEVICE`` overrides.

    >>> pick_device().type in ("cpu", "cuda", "mps")
    True
    """
    override = os.environ.get("LLMCOURSE_DEVICE", "").strip().lower()
    if override:
        return _device_from_env(override)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        if _torch_version() < MIN_TORCH_FOR_MPS:
            warnings.warn(
                f"Apple MPS is available but torch {torch.__version__} is older than "
                f"{'.'.join(map(str, MIN_TORCH_FOR_MPS))}, whose MPS backend is known to give "
                "wrong losses; using the CPU. Upgrade torch to use the Apple GPU.",
                stacklevel=2,
            )
            return torch.device("cpu")
        warnings.warn(
            "Using the Apple GPU (MPS). If a loss looks wrong or stops moving, rerun with "
            "LLMCOURSE_DEVICE=cpu and compare.",
            stacklevel=2,
        )
        return torch.device("mps")
    return torch.device("cpu")


def on_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (all devices).

    With ``deterministic=True`` torch also refuses nondeterministic kernels, so a rerun on
    the same machine, thread count and device gives bit-identical numbers (slower on GPU).
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds CPU, CUDA and MPS generators
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False


def autocast_dtype(device: torch.device | str) -> torch.dtype:
    """The dtype to autocast to on ``device``: bf16 on GPUs with it, fp16 on older GPUs, else fp32.

    float16 needs a gradient scaler (see ``grad_scaler``); float32 means "no autocast".
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def grad_scaler(device: torch.device | str) -> torch.amp.GradScaler:
    """A ``GradScaler`` that is enabled exactly when ``autocast_dtype(device)`` is float16."""
    device = torch.device(device)
    enabled = autocast_dtype(device) == torch.float16
    return torch.amp.GradScaler(device.type if enabled else "cpu", enabled=enabled)


def budget(cpu: T, gpu: T, device: torch.device | str | None = None) -> T:
    """Size a piece of work for the device: ``gpu`` on a CUDA device, ``cpu`` elsewhere.

    >>> budget(cpu=200, gpu=5000, device="cpu")
    200
    """
    device = torch.device(device) if device is not None else pick_device()
    return gpu if device.type == "cuda" else cpu


class EnvironmentReport(dict):
    """A dict of environment facts that prints as an aligned two-column table."""

    def __str__(self) -> str:
        width = max(map(len, self), default=0)
        return "\n".join(f"{key:<{width}}  {value}" for key, value in self.items())

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython display
        printer.text(str(self))


def describe_environment(device: torch.device | str | None = None) -> EnvironmentReport:
    """Python, torch, device, GPU name and memory, CPU threads, and whether this is Colab."""
    device = torch.device(device) if device is not None else pick_device()
    report = EnvironmentReport(
        python=platform.python_version(),
        platform=f"{platform.system()} {platform.machine()}",
        torch=torch.__version__,
        device=str(device),
        gpu="none",
        precision=str(autocast_dtype(device)).replace("torch.", ""),
        cpu_threads=str(torch.get_num_threads()),
        colab="yes" if on_colab() else "no",
    )
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        report["gpu"] = f"{props.name}, {props.total_memory / 2**30:.1f} GiB"
    elif device.type == "mps":
        report["gpu"] = "Apple GPU (MPS)"
    return report
