"""Tests for llmcourse.train: batches, accumulation, the loop, exact resume, clear errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn

from llmcourse.checkpoint import load_checkpoint
from llmcourse.gpt import GPT, GPTConfig
from llmcourse.history import Callback, History
from llmcourse.optim import warmup_cosine
from llmcourse.rnn import RNNLM
from llmcourse.train import (
    TrainConfig,
    Trainer,
    accumulate_gradients,
    get_batch,
    lr_range_test,
    model_loss,
    train,
)

V = 11
IDS = torch.randint(V, (600,), generator=torch.Generator().manual_seed(0))
TRAIN_IDS, VAL_IDS = IDS[:500], IDS[500:]
CONFIG = TrainConfig(
    steps=8,
    batch_size=4,
    block_size=16,
    warmup_steps=2,
    eval_every=3,
    eval_batches=2,
    log_every=2,
    device="cpu",
    progress=False,
)


pytestmark = pytest.mark.usefixtures("one_thread")


def make_model(kind: str = "gpt", dropout: float = 0.1, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    if kind == "gpt":
        config = GPTConfig(V, block_size=16, n_layer=1, n_head=2, n_embd=16, dropout=dropout)
        return GPT(config)
    return RNNLM(V, embed_size=8, hidden_size=16, dropout=dropout)


def gradients(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.grad.clone() for name, p in model.named_parameters()}


# --------------------------------------------------------------------------- batches


def test_get_batch_takes_random_windows_and_their_shift_by_one():
    ids = torch.arange(100)
    x, y = get_batch(ids, block_size=8, batch_size=5, generator=torch.Generator().manual_seed(1))
    assert x.shape == y.shape == (5, 8)
    assert torch.equal(x[:, 1:], x[:, :-1] + 1)  # each row is a contiguous window
    assert torch.equal(y, x + 1)  # y is x shifted by one token
    assert int(y.max()) <= 99
    again = get_batch(ids, 8, 5, torch.Generator().manual_seed(1))
    assert torch.equal(again[0], x)  # the generator's seed fixes the batch


def test_get_batch_reaches_every_window_including_the_last():
    ids = torch.arange(10)
    x, _ = get_batch(ids, block_size=8, batch_size=200, generator=torch.Generator())
    assert set(x[:, 0].tolist()) == {0, 1}  # starts 0 and N - T - 1 = 1


# ---------------------------------------------------------------------- accumulation


@pytest.mark.parametrize("kind", ["gpt", "lstm"])
def test_k_micro_batches_give_the_gradients_of_one_batch_of_k_times_the_size(kind):
    model = make_model(kind, dropout=0.0)
    x, y = get_batch(TRAIN_IDS, 16, 8, torch.Generator().manual_seed(2))
    model_loss(model, x, y).backward()
    big = gradients(model)
    model.zero_grad()
    loss = accumulate_gradients(model, x, y, micro_batches=4)  # 4 micro-batches of 2 rows
    assert loss == pytest.approx(model_loss(model, x, y).item(), rel=1e-6)
    for name, grad in gradients(model).items():
        torch.testing.assert_close(grad, big[name], rtol=1e-5, atol=1e-7, msg=name)


def test_trainer_with_accumulation_takes_the_step_of_the_big_batch():
    small = replace(CONFIG, steps=2, batch_size=2, grad_accum_steps=4)
    big = replace(CONFIG, steps=2, batch_size=8, grad_accum_steps=1)
    histories = [train(make_model(dropout=0.0), TRAIN_IDS, VAL_IDS, c) for c in (small, big)]
    assert histories[0].train_loss == pytest.approx(histories[1].train_loss, rel=1e-6)
    assert histories[0].grad_norm == pytest.approx(histories[1].grad_norm, rel=1e-5)


def test_accumulation_needs_equal_micro_batches():
    x = torch.zeros(6, 4, dtype=torch.long)
    with pytest.raises(ValueError, match="6 rows do not split into 4 equal micro-batches"):
        accumulate_gradients(make_model(), x, x, micro_batches=4)


# -------------------------------------------------------------------------- the loop


@pytest.mark.parametrize("kind", ["gpt", "lstm"])
def test_a_tiny_model_learns_a_periodic_stream(kind):
    ids = torch.arange(400) % 5  # the next token is always the last one plus one
    config = replace(CONFIG, steps=40, eval_every=20, lr=1e-2)
    history = train(make_model(kind, dropout=0.0), ids, ids[:100], config)
    assert history.train_loss[0] > 2.0  # about ln V = 2.4 at the start
    assert history.val_loss[-1] < min(1.0, history.val_loss[0])


def test_history_records_every_step_and_evaluates_on_schedule():
    history = train(make_model(), TRAIN_IDS, VAL_IDS, CONFIG)
    assert history.steps == list(range(1, 9))
    assert history.lr == [warmup_cosine(s, 2, 8, 1e-3, 1e-4) for s in range(8)]
    assert len(history.train_loss) == len(history.grad_norm) == 8
    assert history.eval_steps == [3, 6, 8]  # every eval_every steps, and at the end
    assert len(history.val_loss) == len(history.eval_train_loss) == len(history.elapsed) == 3
    assert history.elapsed == sorted(history.elapsed)
    assert history.device == "cpu"


def test_gradient_clipping_bounds_the_update_and_records_the_norm():
    config = replace(CONFIG, steps=2, grad_clip=1e-3)
    trainer = Trainer(make_model(), TRAIN_IDS, VAL_IDS, config)
    trainer.run()
    assert all(norm > 1e-3 for norm in trainer.history.grad_norm)  # before clipping


def test_a_time_budget_stops_the_run_and_decays_the_lr():
    config = replace(CONFIG, steps=None, minutes=0.3 / 60)
    trainer = Trainer(make_model(), TRAIN_IDS, VAL_IDS, config)
    history = trainer.run()
    assert trainer.elapsed >= 0.3 and history.eval_steps[-1] == trainer.step
    after_warmup = history.lr[2:]
    assert all(b <= a for a, b in zip(after_warmup, after_warmup[1:]))


def test_callbacks_are_called_in_order():
    calls = []

    class Recorder(Callback):
        def on_start(self, trainer):
            calls.append("start")

        def on_step(self, trainer):
            calls.append(trainer.step)

        def on_eval(self, trainer):
            calls.append(f"eval {trainer.history.eval_steps[-1]}")

        def on_end(self, trainer):
            calls.append("end")

    train(make_model(), TRAIN_IDS, VAL_IDS, CONFIG, callbacks=[Recorder()])
    assert calls == ["start", 1, 2, "eval 3", 3, 4, 5, "eval 6", 6, 7, "eval 8", 8, "end"]


def test_progress_bar_ends_with_one_summary_line_and_is_silent_when_off(capsys):
    train(make_model(), TRAIN_IDS, VAL_IDS, CONFIG)
    assert capsys.readouterr() == ("", "")
    train(make_model(), TRAIN_IDS, VAL_IDS, replace(CONFIG, progress=True))
    out, err = capsys.readouterr()
    assert "8/8" in err
    assert out.count("\n") == 1 and out.startswith("val loss ") and "after 8 steps" in out


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_half_precision_paths_train(precision):
    config = replace(CONFIG, steps=2, precision=precision)
    trainer = Trainer(make_model(), TRAIN_IDS, VAL_IDS, config)
    history = trainer.run()
    assert trainer.scaler.is_enabled() == (precision == "float16")
    assert all(0 < loss < 10 for loss in history.train_loss + history.val_loss)


def test_a_nan_loss_stops_training_with_advice():
    class Diverged(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(2, 2))

        def forward(self, idx, targets):
            return None, self.w.sum() * float("nan")

    with pytest.raises(FloatingPointError, match="loss became nan at step 1 .*lower lr"):
        train(Diverged(), TRAIN_IDS, VAL_IDS, CONFIG)


def test_lr_range_test_sweeps_lr_geometrically_and_restores_the_weights():
    model = make_model(dropout=0.0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    lrs, losses = lr_range_test(model, TRAIN_IDS, 1e-4, 1e-1, num_steps=10, config=CONFIG)
    assert len(lrs) == len(losses) == 10
    assert lrs[0] == pytest.approx(1e-4) and lrs[-1] == pytest.approx(1e-1)
    ratios = [b / a for a, b in zip(lrs, lrs[1:])]
    assert ratios == pytest.approx([ratios[0]] * 9)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    lrs, losses = lr_range_test(model, TRAIN_IDS, 1e-3, 1e4, num_steps=40, config=CONFIG)
    assert len(losses) < 40  # stopped once the loss blew up


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": None}, "give a budget"),
        ({"steps": 5, "warmup_steps": 10}, "warmup_steps=10 is longer than the run"),
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"precision": "int8"}, "precision must be 'auto' or one of"),
    ],
)
def test_train_config_rejects_impossible_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_trainer_rejects_a_context_longer_than_the_model_and_too_little_data():
    config = replace(CONFIG, block_size=32)
    with pytest.raises(ValueError, match="block_size 32 exceeds the model's block_size 16"):
        Trainer(make_model(), TRAIN_IDS, VAL_IDS, config)
    with pytest.raises(ValueError, match="val_ids must be one stream of more than block_size=16"):
        Trainer(make_model(), TRAIN_IDS, VAL_IDS[:10], CONFIG)


# ---------------------------------------------------------------------------- resume


def assert_same_run(a: Trainer, b: Trainer) -> None:
    assert a.step == b.step
    assert a.history.train_loss == b.history.train_loss  # exact floats, every step
    assert a.history.grad_norm == b.history.grad_norm
    assert a.history.lr == b.history.lr
    assert (a.history.eval_steps, a.history.val_loss) == (b.history.eval_steps, b.history.val_loss)
    for (name, p), q in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(p, q), name


@pytest.mark.parametrize("kind", ["gpt", "lstm"])
def test_resuming_gives_the_same_run_bit_for_bit(kind, tmp_path):
    straight = Trainer(make_model(kind), TRAIN_IDS, VAL_IDS, CONFIG)
    straight.run()
    first = Trainer(make_model(kind), TRAIN_IDS, VAL_IDS, CONFIG)
    first.run(until=4)
    first.save(tmp_path)
    torch.manual_seed(1234)  # disturb the global RNG (dropout's): resume must restore it
    resumed = Trainer.resume(tmp_path, TRAIN_IDS, VAL_IDS, model=make_model(kind, seed=5))
    assert resumed.step == 4
    resumed.run()
    assert_same_run(straight, resumed)


CHILD = """
import sys, torch
from llmcourse.train import Trainer
folder, threads = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(threads)
train_ids, val_ids = torch.load(folder + "/ids.pt", weights_only=True)
trainer = Trainer.resume(folder + "/run", train_ids, val_ids)  # the model built from the spec
trainer.run()
trainer.save(folder + "/after")
"""


def test_resuming_in_a_new_process_gives_the_same_run_bit_for_bit(tmp_path):
    straight = Trainer(make_model(), TRAIN_IDS, VAL_IDS, CONFIG)
    straight.run()
    first = Trainer(make_model(), TRAIN_IDS, VAL_IDS, CONFIG)
    first.run(until=4)
    first.save(tmp_path / "run")
    torch.save((TRAIN_IDS, VAL_IDS), tmp_path / "ids.pt")
    command = [sys.executable, "-c", textwrap.dedent(CHILD), str(tmp_path)]
    result = subprocess.run(
        [*command, str(torch.get_num_threads())], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    after = load_checkpoint(tmp_path / "after")
    resumed = Trainer(after.model, TRAIN_IDS, VAL_IDS, CONFIG)
    resumed.step, resumed.history = after.step, History.from_dict(after.history)
    assert_same_run(straight, resumed)
    assert Path(tmp_path / "run" / "checkpoint.json").exists()  # the first half is untouched


def test_resume_can_extend_the_run_and_rejects_unknown_settings(tmp_path):
    first = Trainer(make_model(), TRAIN_IDS, VAL_IDS, CONFIG)
    first.run()
    first.save(tmp_path)
    longer = Trainer.resume(tmp_path, TRAIN_IDS, VAL_IDS, steps=10)
    longer.run()
    assert longer.history.steps == list(range(1, 11)) and longer.history.eval_steps[-1] == 10
    with pytest.raises(ValueError, match=r"unknown TrainConfig fields \['stepz'\]"):
        Trainer.resume(tmp_path, TRAIN_IDS, VAL_IDS, stepz=10)
