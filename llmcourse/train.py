"""The training loop of the course: batches → loss → backward → clip → AdamW → schedule.

Chapter 05 (``chapters/05_training.ipynb``) teaches this file; chapters 06 and later train
with it. One step, in full (``Trainer._train_step``):

    x, y = k·B random windows of the token stream       (k·B, T), k = grad_accum_steps
    for each of the k micro-batches (B, T):             (accumulate_gradients)
        loss = model(x, y)[1]                           under autocast (see below)
        (loss / k).backward()                           gradients add up to the big batch's
    clip the global gradient norm to grad_clip; optimizer.step(); zero the gradients
    the next step's learning rate comes from warmup_cosine

Precision follows ``llmcourse.device``: bf16 autocast on GPUs that have it, fp16 autocast
plus a ``GradScaler`` on GPUs that don't (the scaler multiplies the loss so that small fp16
gradients do not flush to zero, and skips a step whose gradients overflowed), and float32
on the CPU and MPS, where half-precision matrix products are slow or missing, so autocast
would cost time and accuracy for nothing. The step never asks the device for a number
(no ``.item()``): the losses stay on the device and are read every ``log_every`` steps.

Works with any model whose ``forward(idx, targets)`` returns ``loss`` second, like
``GPT`` (logits, loss) and ``RNNLM`` (logits, loss, state; each batch starts from a zero
state, since the windows are random). What a run records (``History``) and the live views
(``ProgressBar``, ``LivePlot``) are in ``llmcourse.history``; checkpoints in
``llmcourse.checkpoint``; AdamW and the schedule in ``llmcourse.optim``; the exact
held-out loss of a whole split in ``llmcourse.evaluate``.
``tests/test_train.py`` proves that gradient
accumulation equals one big batch and that an interrupted, resumed run (even in a new
process) gives bit-identical losses and weights. Left out on purpose: distributed data
parallelism, padding-aware batches (one long token stream has no padding), early stopping.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from llmcourse.checkpoint import build_model, checkpoint_info, load_checkpoint, save_checkpoint
from llmcourse.device import autocast_dtype, pick_device
from llmcourse.evaluate import eval_mode
from llmcourse.history import Callback, History, ProgressBar
from llmcourse.optim import make_optimizer, param_groups, warmup_cosine
from llmcourse.tokenizers import Tokenizer

_PRECISIONS = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass
class TrainConfig:
    """Every knob of a run. Give ``steps``, ``minutes`` or both (stop at whichever is first).

    With ``minutes`` the cosine decays over the time budget (its end estimated from the
    pace so far), so runs with equal budgets end together; only ``steps`` runs repeat
    exactly. ``warmup_steps``, ``eval_every`` and ``log_every`` count optimizer steps; one
    step sees grad_accum_steps · batch_size windows of ``block_size`` tokens. ``betas`` use
    β₂ = 0.99 (small models, small batches); GPT-2-sized runs use 0.95. ``device`` None
    means ``pick_device()``; ``precision`` "auto" means ``autocast_dtype(device)``.
    ``seed`` seeds the batch sampler; dropout and the weights' initialisation draw from
    torch's global generator, which ``seed_everything`` seeds.
    """

    steps: int | None = 1000
    minutes: float | None = None
    batch_size: int = 32
    block_size: int = 64
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_steps: int = 100
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.99)
    grad_clip: float | None = 1.0
    grad_accum_steps: int = 1
    eval_every: int = 100
    eval_batches: int = 20
    log_every: int = 10
    seed: int = 0
    device: str | None = None
    precision: str = "auto"
    compile: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        self.betas = tuple(self.betas)  # JSON gives a list
        if self.steps is None and self.minutes is None:
            raise ValueError("give a budget: steps=N, minutes=M, or both")
        if self.steps is not None and self.steps < self.warmup_steps:
            raise ValueError(
                f"warmup_steps={self.warmup_steps} is longer than the run (steps="
                f"{self.steps}); use fewer warmup steps (e.g. 10% of the run)"
            )
        for name in ("batch_size", "block_size", "grad_accum_steps", "eval_every", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.precision not in ("auto", *_PRECISIONS):
            raise ValueError(f"precision must be 'auto' or one of {list(_PRECISIONS)}")

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON-able data (``TrainConfig(**d)`` reads it back)."""
        return dataclasses.asdict(self)


def get_batch(
    ids: Tensor, block_size: int, batch_size: int, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """B random windows of the token stream ids (N,): x = ids[s : s+T], y = ids[s+1 : s+T+1].

    The B start positions come from ``generator`` (a CPU generator, so a seed gives the same
    batches on every device) and one gather fetches all windows: no Python work per token.
    Returns x, y: (B, T) on ids' device.
    """
    starts = torch.randint(len(ids) - block_size, (batch_size,), generator=generator)  # (B,)
    index = starts[:, None] + torch.arange(block_size + 1)  # (B, T + 1)
    if ids.is_cuda:  # a copy from pinned memory does not wait for the GPU to finish its work
        index = index.pin_memory().to(ids.device, non_blocking=True)
    windows = ids[index.to(ids.device)]  # (B, T + 1)
    return windows[:, :-1], windows[:, 1:]


def model_loss(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """The mean cross-entropy of ``model`` on (x, y): the second thing forward returns."""
    return model(x, y)[1]


def accumulate_gradients(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    micro_batches: int,
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    scaler: torch.amp.GradScaler | None = None,
) -> Tensor:
    """Add to the gradients those of the mean loss over x, y (B, T), in ``micro_batches``
    pieces of B / micro_batches rows; returns that mean loss, detached (a 0-d tensor).

    Each piece's loss is divided by the number of pieces before ``backward``, so the sum of
    their gradients equals the gradient of one batch of all B rows (every row has T
    targets, so the mean of the pieces' means is the mean over all). Only one piece's
    activations are in memory at a time: that is what accumulation buys.
    """
    if x.size(0) % micro_batches:
        raise ValueError(f"{x.size(0)} rows do not split into {micro_batches} equal micro-batches")
    total = torch.zeros((), device=x.device)
    for xs, ys in zip(x.chunk(micro_batches), y.chunk(micro_batches)):
        with autocast():
            loss = model_loss(model, xs, ys) / micro_batches
        (scaler.scale(loss) if scaler is not None else loss).backward()
        total += loss.detach().float()
    return total


class Trainer:
    """Trains ``model`` on the token streams train_ids / val_ids (1-D LongTensors).

    ``run()`` trains to ``config.steps`` (or ``until``), evaluating every ``eval_every``
    steps; ``save(dir)`` writes a checkpoint and ``Trainer.resume(dir, ...)`` continues it.
    Attributes a callback may read: ``step`` (optimizer steps done), ``history``,
    ``elapsed`` (seconds trained, all sessions), ``config``, ``model``, ``optimizer``.
    """

    def __init__(
        self,
        model: nn.Module,
        train_ids: Tensor | Sequence[int],
        val_ids: Tensor | Sequence[int],
        config: TrainConfig | None = None,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        self.config = config = config if config is not None else TrainConfig()
        self.device = torch.device(config.device) if config.device else pick_device()
        self.model = model.to(self.device)
        self.train_ids = self._ids(train_ids, "train_ids")
        self.val_ids = self._ids(val_ids, "val_ids")
        model_block = getattr(getattr(model, "config", None), "block_size", None)
        if model_block is not None and config.block_size > model_block:
            raise ValueError(
                f"block_size {config.block_size} exceeds the model's block_size {model_block}; "
                "train with a smaller block_size or build a model with a longer context"
            )
        self.optimizer = make_optimizer(model, config.lr, config.weight_decay, config.betas)
        self.dtype = _PRECISIONS.get(config.precision) or autocast_dtype(self.device)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.dtype == torch.float16)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.step, self.elapsed = 0, 0.0
        self.history = History(device=str(self.device))
        self.callbacks = [*callbacks, *([ProgressBar()] if config.progress else [])]
        self._forward = _compiled(model) if config.compile else model
        self._params = [p for group in self.optimizer.param_groups for p in group["params"]]
        self._pending: list[tuple[float, Tensor, Tensor]] = []  # (lr, loss, grad norm)

    def _ids(self, ids: Tensor | Sequence[int], name: str) -> Tensor:
        ids = torch.as_tensor(ids, dtype=torch.long).to(self.device)
        if ids.dim() != 1 or len(ids) <= self.config.block_size:
            raise ValueError(
                f"{name} must be one stream of more than block_size={self.config.block_size} "
                f"token ids, got shape {tuple(ids.shape)}; use more text or a smaller block_size"
            )
        return ids

    @property
    def tokens_per_step(self) -> int:
        """Tokens one optimizer step learns from: grad_accum_steps · B · T."""
        c = self.config
        return c.grad_accum_steps * c.batch_size * c.block_size

    def lr_at(self, step: int) -> float:
        """The learning rate of step ``step`` (0-based), from ``warmup_cosine``."""
        c = self.config
        max_steps = math.inf if c.steps is None else c.steps
        if c.minutes is not None and self.elapsed > 0:  # the pace so far sets the end
            max_steps = min(max_steps, max(step, step * c.minutes * 60 / self.elapsed))
        return warmup_cosine(step, c.warmup_steps, max(max_steps, c.warmup_steps), c.lr, c.min_lr)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def _train_step(self, lr: float) -> None:
        c = self.config
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        k = c.grad_accum_steps
        x, y = get_batch(self.train_ids, c.block_size, k * c.batch_size, self.generator)
        loss = accumulate_gradients(self._forward, x, y, k, self._autocast, self.scaler)
        self.scaler.unscale_(self.optimizer)  # so that clipping sees the true gradients
        max_norm = c.grad_clip if c.grad_clip is not None else math.inf
        norm = torch.nn.utils.clip_grad_norm_(self._params, max_norm)
        self.scaler.step(self.optimizer)  # skips the step if fp16 gradients overflowed
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self._pending.append((lr, loss, norm.detach()))

    def _flush(self) -> None:
        """Read the pending losses from the device (one sync) into the history."""
        if not self._pending:
            return
        lrs, losses, norms = zip(*self._pending)
        losses, norms = torch.stack([torch.stack(losses), torch.stack(norms).float()]).tolist()
        first = self.step - len(losses) + 1
        self.history.add_steps(range(first, self.step + 1), losses, lrs, norms)
        self._pending.clear()
        bad = next((i for i, v in enumerate(losses) if not math.isfinite(v)), None)
        if bad is not None:
            raise FloatingPointError(
                f"the loss became {losses[bad]} at step {first + bad} (lr {lrs[bad]:.2e}); "
                "lower lr, keep grad_clip on, or train in bfloat16/float32 instead of float16"
            )

    @torch.no_grad()
    def evaluate(self, ids: Tensor | None = None) -> float:
        """Mean loss over ``eval_batches`` batches of ids (default: val_ids), dropout off.

        A quick estimate for the learning curve, of a fixed cost whatever the split's size.
        The windows come from a generator seeded afresh each time (``seed + 1``), so every
        evaluation sees the same windows and training's random numbers are not touched.
        For the exact loss of a whole split, every token once, use
        ``llmcourse.evaluate.evaluate_lm``.
        """
        c = self.config
        ids = self.val_ids if ids is None else self._ids(ids, "ids")
        generator = torch.Generator().manual_seed(c.seed + 1)
        total = torch.zeros((), device=self.device)
        with eval_mode(self.model):
            for _ in range(c.eval_batches):
                x, y = get_batch(ids, c.block_size, c.batch_size, generator)
                with self._autocast():
                    total += model_loss(self._forward, x, y).float()
        return (total / c.eval_batches).item()

    def _eval(self, train_seconds: float, tokens: int) -> None:
        self._flush()
        val, train = self.evaluate(), self.evaluate(self.train_ids)
        speed = tokens / train_seconds if train_seconds > 0 else math.nan
        self.history.add_eval(self.step, val, train, speed, self.elapsed)
        for callback in self.callbacks:
            callback.on_eval(self)

    def run(self, until: int | None = None) -> History:
        """Train until step ``until`` (default: the end of the budget); returns the history.

        Evaluates at every multiple of ``eval_every`` and at the end of the budget (not at
        ``until``, so that a run split in two records the same history as one).
        """
        c = self.config
        end = c.steps if c.steps is not None else math.inf
        last = end if until is None else min(until, end)
        for callback in self.callbacks:
            callback.on_start(self)
        self.model.train()
        clock, seconds, tokens = time.perf_counter(), 0.0, 0  # training since the last eval
        while self.step < last and not self._time_up():
            self._train_step(self.lr_at(self.step))
            self.step, tokens = self.step + 1, tokens + self.tokens_per_step
            at_eval = self.step % c.eval_every == 0 or self.step >= end
            if at_eval or self.step % c.log_every == 0:
                self._flush()  # waits for the device, so the time below is the steps' cost
            now = time.perf_counter()
            self.elapsed, seconds, clock = self.elapsed + now - clock, seconds + now - clock, now
            if at_eval or self._time_up():
                self._eval(seconds, tokens)
                now = time.perf_counter()
                self.elapsed, seconds, tokens, clock = self.elapsed + now - clock, 0.0, 0, now
            for callback in self.callbacks:
                callback.on_step(self)
        self._flush()
        for callback in self.callbacks:
            callback.on_end(self)
        return self.history

    def _time_up(self) -> bool:
        return self.config.minutes is not None and self.elapsed >= self.config.minutes * 60

    def save(
        self,
        directory: str | os.PathLike[str],
        tokenizer: Tokenizer | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Path:
        """Write a checkpoint of the run (model, optimizer, scaler, RNG, history, config),
        with the ``tokenizer`` and JSON-able ``extra`` facts if given; see ``save_checkpoint``."""
        self._flush()
        return save_checkpoint(
            directory,
            self.model,
            step=self.step,
            optimizer=self.optimizer,
            scaler=self.scaler,
            batch_generator=self.generator,
            train_config=self.config.to_dict(),
            history=self.history.to_dict(),
            tokenizer=tokenizer,
            extra={**(extra or {}), "elapsed_s": self.elapsed},
        )

    @classmethod
    def resume(
        cls,
        directory: str | os.PathLike[str],
        train_ids: Tensor | Sequence[int],
        val_ids: Tensor | Sequence[int],
        model: nn.Module | None = None,
        callbacks: Sequence[Callback] = (),
        **overrides: Any,
    ) -> Trainer:
        """A Trainer that continues the run saved in ``directory`` where it stopped.

        ``model`` None builds one from the checkpoint. ``overrides`` change config fields,
        e.g. ``steps=4000`` to train longer (the cosine then stretches to the new end),
        ``device="cpu"`` or ``progress=False``. Exact continuation needs the same data,
        config, device and thread count.
        """
        info = checkpoint_info(directory)
        unknown = set(overrides) - {f.name for f in dataclasses.fields(TrainConfig)}
        if unknown:
            raise ValueError(f"unknown TrainConfig fields {sorted(unknown)}")
        config = TrainConfig(**{**info["train_config"], **overrides})
        model = build_model(info["model"]) if model is None else model
        trainer = cls(model, train_ids, val_ids, config, callbacks)
        load_checkpoint(
            directory,
            trainer.model,
            optimizer=trainer.optimizer,
            scaler=trainer.scaler,
            batch_generator=trainer.generator,
            restore_rng=True,
        )
        trainer.step, trainer.elapsed = info["step"], info["extra"].get("elapsed_s", 0.0)
        trainer.history = History.from_dict(info["history"])
        return trainer


def _compiled(model: nn.Module) -> nn.Module:
    if sys.platform == "win32":
        warnings.warn("torch.compile does not support Windows; training uncompiled", stacklevel=3)
        return model
    return torch.compile(model)


def train(
    model: nn.Module,
    train_ids: Tensor | Sequence[int],
    val_ids: Tensor | Sequence[int],
    config: TrainConfig | None = None,
    callbacks: Sequence[Callback] = (),
) -> History:
    """Train ``model`` with ``config`` and return its ``History``: ``Trainer(...).run()``."""
    return Trainer(model, train_ids, val_ids, config, callbacks).run()


def lr_range_test(
    model: nn.Module,
    train_ids: Tensor | Sequence[int],
    start_lr: float = 1e-6,
    end_lr: float = 1.0,
    num_steps: int = 100,
    config: TrainConfig | None = None,
) -> tuple[list[float], list[float]]:
    """The learning-rate range test: train with lr growing geometrically, record the loss.

    Step i uses lr = start_lr · (end_lr / start_lr)^(i / (num_steps − 1)); the test stops
    early once the loss exceeds 4× its best or stops being finite. A good lr lies a little
    below the one where the loss falls fastest. The model's weights are restored after;
    batches, weight decay and clipping come from ``config``. Reads the loss every step
    (a sync per step: fine for a diagnostic). Returns (lrs, losses), raw (unsmoothed).
    """
    c = dataclasses.replace(config or TrainConfig(), steps=num_steps, warmup_steps=0)
    device = next(model.parameters()).device
    ids = torch.as_tensor(train_ids, dtype=torch.long).to(device)
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.AdamW(param_groups(model, c.weight_decay), betas=c.betas)
    generator = torch.Generator().manual_seed(c.seed)
    lrs, losses = [], []
    model.train()
    for i in range(num_steps):
        lr = start_lr * (end_lr / start_lr) ** (i / max(num_steps - 1, 1))
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss = model_loss(model, *get_batch(ids, c.block_size, c.batch_size, generator))
        loss.backward()
        if c.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), c.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        lrs.append(lr)
        losses.append(loss.item())
        if not math.isfinite(losses[-1]) or losses[-1] > 4 * min(losses):
            break
    model.load_state_dict(saved)
    return lrs, losses
