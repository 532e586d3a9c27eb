"""Checkpoints: save a training run to a folder and load it back, exactly, or fail clearly.

Chapter 05 (``chapters/05_training.ipynb``) teaches this file. A checkpoint folder holds:

- ``model-<step>-<tag>.safetensors``: the weights, written by ``safetensors`` (tensors only,
  no pickle, so loading runs no code). A tied weight (GPT's head is its token embedding)
  is stored once, under its first name, and the file's metadata lists its other names;
- ``state-<step>-<tag>.pt``: what resuming needs besides the weights: the optimizer's
  moments, the gradient scaler, and the random states of torch (CPU, CUDA, MPS) and of the
  batch sampler, read back with ``torch.load(weights_only=True)`` (plain tensors and
  containers only);
- ``tokenizer.json`` (if one was given), loadable with ``Tokenizer.load``;
- ``checkpoint.json``: the manifest. It names the two files above with their sha256, and
  holds the step, the model's architecture (``model_spec``), the training config, the
  history and free-form ``extra`` facts, all as JSON.

Every file is written to a temporary name and renamed (``os.replace``), and the manifest
is renamed last: until that one atomic rename the previous manifest and the files it names
are untouched, so a crash mid-save never destroys the previous checkpoint. Loading checks
the sha256s and the architecture first and raises ``FileNotFoundError``/``ValueError``
naming the path and what to do; it never writes. ``tests/test_checkpoint.py`` proves
these, and ``tests/test_train.py`` that a resumed run matches an uninterrupted one bit for bit.

Left out on purpose: keeping several checkpoints per folder (best/last), sharded weights,
loading into a model of another shape.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch
from torch import nn

from llmcourse.gpt import GPT, GPTConfig
from llmcourse.rnn import RNNLM
from llmcourse.tokenizers import Tokenizer

MANIFEST = "checkpoint.json"
FORMAT = "llmcourse-checkpoint"
VERSION = 1


def model_spec(model: nn.Module) -> dict[str, Any]:
    """The architecture of ``model`` as JSON-able data: {"class": ..., "config": {...}}.

    ``build_model(model_spec(m))`` makes a fresh model of the same shape; for a model
    class the course does not know, "config" is None and loading needs the model given.
    """
    if isinstance(model, GPT):
        return {"class": "GPT", "config": dataclasses.asdict(model.config)}
    if isinstance(model, RNNLM):
        config = {
            "vocab_size": model.vocab_size,
            "embed_size": model.embed.embedding_dim,
            "hidden_size": model.rnn.hidden_size,
            "num_layers": model.rnn.num_layers,
            "cell": model.cell,
            "fast": model.fast,
            "dropout": model.drop.p,
        }
        return {"class": "RNNLM", "config": config}
    return {"class": type(model).__qualname__, "config": None}


def build_model(spec: dict[str, Any]) -> nn.Module:
    """A new model (fresh weights) of the architecture ``spec`` describes."""
    if spec.get("class") == "GPT":
        return GPT(GPTConfig(**spec["config"]))
    if spec.get("class") == "RNNLM":
        return RNNLM(**spec["config"])
    raise ValueError(
        f"cannot build a {spec.get('class')!r} from a checkpoint (the course builds GPT and "
        "RNNLM); create the model yourself and pass it to load_checkpoint(directory, model)"
    )


@dataclass
class Checkpoint:
    """What ``load_checkpoint`` read: the model (weights loaded) and the facts about the run."""

    path: Path
    model: nn.Module
    step: int
    spec: dict[str, Any]
    train_config: dict[str, Any] | None = None
    history: dict[str, Any] | None = None
    tokenizer: Tokenizer | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def save_checkpoint(
    directory: str | os.PathLike[str],
    model: nn.Module,
    *,
    step: int = 0,
    optimizer: torch.optim.Optimizer | None = None,
    scaler: torch.amp.GradScaler | None = None,
    batch_generator: torch.Generator | None = None,
    train_config: dict[str, Any] | None = None,
    history: dict[str, Any] | None = None,
    tokenizer: Tokenizer | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint into ``directory`` (created if needed); returns the manifest's path.

    Replaces a checkpoint already there, atomically (see the module docstring). The random
    states saved are torch's global ones now and ``batch_generator``'s.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    old = _read_json(directory / MANIFEST) if (directory / MANIFEST).exists() else None
    tag = f"{step:07d}-{secrets.token_hex(4)}"
    weights, state = f"model-{tag}.safetensors", f"state-{tag}.pt"
    tensors, aliases = _weights(model)
    metadata = {"aliases": json.dumps(aliases)}
    _atomic_write(
        directory / weights, lambda tmp: safetensors.torch.save_file(tensors, tmp, metadata)
    )
    resume_state = {
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        "rng": _rng_states(),
        "batch_generator": batch_generator.get_state() if batch_generator is not None else None,
    }
    _atomic_write(directory / state, lambda tmp: torch.save(resume_state, tmp))
    files = {"weights": weights, "state": state}
    if tokenizer is not None:
        tokenizer.save(directory / "tokenizer.json")  # atomic too
        files["tokenizer"] = "tokenizer.json"
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "step": step,
        "model": model_spec(model),
        "files": files,
        "sha256": {name: _sha256(directory / name) for name in files.values()},
        "train_config": train_config,
        "history": history,
        "extra": extra or {},
    }
    text = json.dumps(manifest, indent=1)
    _atomic_write(directory / MANIFEST, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    for name in (old or {}).get("files", {}).values():  # the previous weights and state
        if name not in files.values():
            (directory / name).unlink(missing_ok=True)
    return directory / MANIFEST


def load_checkpoint(
    directory: str | os.PathLike[str],
    model: nn.Module | None = None,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    scaler: torch.amp.GradScaler | None = None,
    batch_generator: torch.Generator | None = None,
    restore_rng: bool = False,
    device: torch.device | str | None = None,
) -> Checkpoint:
    """Read the checkpoint in ``directory`` into ``model`` (built from the spec if None).

    Loads the optimizer, scaler and batch generator states into those given, and with
    ``restore_rng`` sets torch's global random states back to the saved ones. A new model
    goes to ``device`` (default CPU). Raises ``FileNotFoundError`` if a file is missing and
    ``ValueError`` if one is damaged or the architecture differs from ``model``'s.
    """
    directory = Path(directory)
    manifest = _read_manifest(directory)
    spec = manifest["model"]
    if model is None:
        model = build_model(spec).to(device or "cpu")
    elif model_spec(model) != spec:
        raise ValueError(_mismatch(directory, spec, model_spec(model)))
    paths = {key: directory / name for key, name in manifest["files"].items()}
    for path in paths.values():
        _verify(path, manifest["sha256"][path.name], directory)
    try:
        model.load_state_dict(_read_weights(paths["weights"]))
        state = torch.load(paths["state"], map_location="cpu", weights_only=True)
        if optimizer is not None:
            optimizer.load_state_dict(state["optimizer"])
        if scaler is not None and state["scaler"] is not None:
            scaler.load_state_dict(state["scaler"])
        if batch_generator is not None:
            batch_generator.set_state(state["batch_generator"])
    except (RuntimeError, ValueError, KeyError, TypeError, safetensors.SafetensorError) as err:
        raise ValueError(
            f"the checkpoint in {directory} does not fit the objects given: {err}; load it "
            "with the model and optimizer settings it was trained with"
        ) from None
    if restore_rng:
        _set_rng_states(state["rng"])
    tokenizer = Tokenizer.load(paths["tokenizer"]) if "tokenizer" in paths else None
    return Checkpoint(
        directory,
        model,
        manifest["step"],
        spec,
        manifest["train_config"],
        manifest["history"],
        tokenizer,
        manifest["extra"],
    )


def checkpoint_info(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of the checkpoint in ``directory`` (step, model spec, train config,
    history, extra), checked but without loading any tensor."""
    return _read_manifest(Path(directory))


def _weights(model: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The state dict as separate CPU tensors, each tied tensor once; and {alias: name}.

    Tensors may share memory without being the same (``nn.LSTM`` on a GPU packs all its
    weights into one buffer); safetensors refuses shared memory, so each is copied.
    """
    tensors: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    first: dict[tuple, str] = {}
    for name, tensor in model.state_dict().items():
        key = (tensor.device, tensor.data_ptr(), tensor.dtype, tensor.shape, tensor.stride())
        if key in first:  # the very same tensor under a second name: tied
            aliases[name] = first[key]
            continue
        first[key] = name
        tensors[name] = tensor.detach().to("cpu", copy=True).contiguous()
    return tensors, aliases


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    """The state dict saved by ``_weights``, tied names filled in again (CPU tensors)."""
    with safetensors.safe_open(str(path), framework="pt") as f:
        aliases = json.loads((f.metadata() or {}).get("aliases", "{}"))
        state = {name: f.get_tensor(name) for name in f.keys()}
    state.update({alias: state[name] for alias, name in aliases.items()})
    return state


def _read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.is_file():
        what = "does not exist" if not directory.exists() else f"has no {MANIFEST}"
        raise FileNotFoundError(
            f"no checkpoint in {directory}: the folder {what}; check the path, or train one "
            f"first (e.g. `llmcourse train --out {directory}`)"
        )
    manifest = _read_json(path)
    keys = ("step", "model", "files", "sha256", "train_config", "history", "extra")
    if manifest.get("format") != FORMAT or any(key not in manifest for key in keys):
        raise ValueError(f"{path} is not an llmcourse checkpoint manifest (wrong format)")
    if manifest.get("version") != VERSION:
        raise ValueError(
            f"{path} has checkpoint format version {manifest.get('version')!r}, but this "
            f"llmcourse reads version {VERSION}; update llmcourse or retrain"
        )
    return manifest


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(
            f"{path} is damaged (not valid JSON: {err}); it may be truncated. Delete the "
            "folder and train again, or restore it from a copy"
        ) from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not an llmcourse checkpoint manifest (not a JSON object)")
    return data


def _verify(path: Path, expected: str, directory: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing, but {directory / MANIFEST} needs it; the checkpoint is "
            "incomplete - restore the file or train again"
        )
    if _sha256(path) != expected:
        raise ValueError(
            f"{path} is damaged: its sha256 differs from the one in {directory / MANIFEST} "
            "(truncated or overwritten?); restore the file or train again"
        )


def _mismatch(directory: Path, saved: dict[str, Any], given: dict[str, Any]) -> str:
    if saved["class"] != given["class"]:
        diff = f"it holds a {saved['class']}, not a {given['class']}"
    else:
        saved_cfg, given_cfg = saved["config"] or {}, given["config"] or {}
        keys = sorted(set(saved_cfg) | set(given_cfg))
        diff = ", ".join(
            f"{k}={saved_cfg.get(k)!r} (model has {given_cfg.get(k)!r})"
            for k in keys
            if saved_cfg.get(k) != given_cfg.get(k)
        )
        diff = f"its {saved['class']} has {diff}"
    return (
        f"the checkpoint in {directory} is of another architecture: {diff}; build the model "
        "with the checkpoint's config, or pass model=None to build it from the checkpoint"
    )


def _atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp)`` on a temporary file next to ``path``, then rename it to ``path``."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        write(str(tmp))
        with open(tmp, "r+b") as f:  # on disk before the rename makes it visible
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # as an ordinary new file (safetensors makes 0600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _rng_states() -> dict[str, Any]:
    states: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    if hasattr(torch, "mps") and torch.backends.mps.is_available():
        states["mps"] = torch.mps.get_rng_state()
    return states


def _set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    if "mps" in states and torch.backends.mps.is_available():
        torch.mps.set_rng_state(states["mps"])
