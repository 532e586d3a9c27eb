"""Chapter 05's checkers: right answers pass, each usual mistake is named, TODOs are ⏳."""

from __future__ import annotations

import math

import pytest
import torch
from checker_cases import assert_mistake_named, assert_right_and_todo, run
from torch import nn

from llmcourse.checks import ch05
from llmcourse.optim import param_groups

# --- right answers ---------------------------------------------------------------------


def adamw_update(param, grad, m, v, step, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    beta1, beta2 = betas
    param = param * (1 - lr * weight_decay)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat, v_hat = m / (1 - beta1**step), v / (1 - beta2**step)
    return param - lr * m_hat / (v_hat.sqrt() + eps), m, v


def adamw_update_in_place(param, grad, m, v, step, lr, betas=(0.9, 0.999), eps=1e-8,
                          weight_decay=0.01):  # fmt: skip
    """The torch way: change the tensors in place, and return them."""
    beta1, beta2 = betas
    param.mul_(1 - lr * weight_decay)
    m.mul_(beta1).add_(grad, alpha=1 - beta1)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    denom = (v / (1 - beta2**step)).sqrt().add_(eps)
    param.addcdiv_(m / (1 - beta1**step), denom, value=-lr)
    return param, m, v


def decay_groups(model, weight_decay):
    embeddings = {id(mod.weight) for mod in model.modules() if isinstance(mod, nn.Embedding)}
    decay, rest = [], []
    for p in model.parameters():
        (decay if p.dim() >= 2 and id(p) not in embeddings else rest).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def warmup_cosine(step, warmup_steps, max_steps, lr, min_lr):
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    if step >= max_steps:
        return min_lr
    r = (step - warmup_steps) / (max_steps - warmup_steps)
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * r))


def train_step(model, optimizer, x, y, micro_batches):
    optimizer.zero_grad()
    total = 0.0
    for xs, ys in zip(x.chunk(micro_batches), y.chunk(micro_batches)):
        loss = model(xs, ys)[1] / micro_batches
        loss.backward()
        total += loss.item()
    optimizer.step()
    return total


def early_stopping(history, patience):
    losses = history.val_loss
    best = losses.index(min(losses))
    return history.eval_steps[best], len(losses) - 1 - best >= patience


RIGHT = {
    ch05.adamw_update: adamw_update,
    ch05.decay_groups: decay_groups,
    ch05.warmup_cosine: warmup_cosine,
    ch05.train_step: train_step,
    ch05.early_stopping: early_stopping,
}


@pytest.mark.parametrize("check", RIGHT, ids=lambda c: c.__name__)
def test_right_answers_pass_and_todos_are_not_attempted(check, capsys):
    assert_right_and_todo(check, RIGHT[check], capsys)


@pytest.mark.parametrize(
    ("check", "other_right_answer"),
    [
        (ch05.adamw_update, adamw_update_in_place),
        (ch05.decay_groups, param_groups),  # the package's own, with its extra "names"
        (ch05.decay_groups, lambda m, wd: decay_groups(m, wd)[::-1]),  # groups in either order
        (ch05.warmup_cosine, lambda *a: torch.tensor(warmup_cosine(*a), dtype=torch.float64)),
        (ch05.early_stopping, lambda h, p: list(early_stopping(h, p))),
    ],
)
def test_other_right_answers_pass_too(check, other_right_answer, capsys):
    ok, out = run(check, other_right_answer, capsys=capsys)
    assert ok is True, out


# --- the usual mistakes, each named ------------------------------------------------------


def adamw_mistake(mistake):
    def update(param, grad, m, v, step, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        return ch05._adamw(param, grad, m, v, step, lr, betas, eps, weight_decay, mistake)

    return update


def groups_from(decide):
    """decay_groups that puts parameter p (named name, in module mod) where decide says."""

    def groups(model, weight_decay):
        decay, rest = [], []
        for name, p in model.named_parameters():
            (decay if decide(name, p, model) else rest).append(p)
        return [
            {"params": decay, "weight_decay": weight_decay},
            {"params": rest, "weight_decay": 0},
        ]

    return groups


def by_module(model, weight_decay):
    """Decide per module: the tied weight is an Embedding in wte and a Linear in lm_head."""
    decay, rest = [], []
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            is_matrix = name == "weight" and not isinstance(module, nn.Embedding | nn.LayerNorm)
            (decay if is_matrix and p.dim() >= 2 else rest).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def tied_twice(model, weight_decay):
    """Walks every name of every parameter, so the tied wte/lm_head weight comes twice."""
    embeddings = {id(mod.weight) for mod in model.modules() if isinstance(mod, nn.Embedding)}
    decay, rest = [], []
    for _, p in model.named_parameters(remove_duplicate=False):
        (decay if p.dim() >= 2 and id(p) not in embeddings else rest).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def missing_one(model, weight_decay):
    groups = decay_groups(model, weight_decay)
    groups[1]["params"] = groups[1]["params"][1:]
    return groups


def schedule(variant):
    def lr_at(step, warmup_steps, max_steps, lr, min_lr):
        if variant == "step/warmup" and step < warmup_steps:
            return lr * step / warmup_steps
        if variant == "<=" and step <= warmup_steps and warmup_steps > 0:
            return lr * (step + 1) / warmup_steps
        if step < warmup_steps:
            return lr * (step + 1) / warmup_steps
        r = (step - warmup_steps) / (max_steps - warmup_steps)
        if variant == "to zero":
            return 0.5 * lr * (1 + math.cos(math.pi * min(r, 1.0)))
        if variant == "to zero, then min_lr" and step < max_steps:
            return 0.5 * lr * (1 + math.cos(math.pi * r))
        if variant == "r over max_steps":
            r = (step - warmup_steps) / max_steps
        if variant == "no clamp":
            return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * r))
        if step >= max_steps:
            return min_lr
        return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * r))

    return lr_at


def step_variant(variant):
    def step(model, optimizer, x, y, micro_batches):
        if variant != "no zero_grad":
            optimizer.zero_grad()
        losses = []
        for xs, ys in zip(x.chunk(micro_batches), y.chunk(micro_batches)):
            if variant == "zero inside":
                optimizer.zero_grad()
            loss = model(xs, ys)[1]
            losses.append(loss.item())
            (loss if variant == "undivided" else loss / micro_batches).backward()
            if variant == "step inside":
                optimizer.step()
        if variant != "step inside":
            optimizer.step()
        if variant == "sum":
            return sum(losses)
        if variant == "last":
            return losses[-1]
        return sum(losses) / len(losses)

    return step


def stop_variant(variant):
    def stop(history, patience):
        losses = history.eval_train_loss if variant == "train" else history.val_loss
        best = losses.index(min(losses))
        if variant == "last":
            best = len(losses) - 1 - losses[::-1].index(min(losses))
        since = len(losses) - 1 - best
        if variant == "rises":  # count only the latest run of rises
            since = 0
            while since + 1 < len(losses) and losses[-1 - since] > losses[-2 - since]:
                since += 1
        step = best if variant == "index" else history.eval_steps[best]
        if variant == "+1":
            return step, since + 1 >= patience
        return step, (since > patience if variant == ">" else since >= patience)

    return stop


MISTAKES = [
    (ch05.adamw_update, adamw_mistake("no bias correction"), "bias correction is missing"),
    (ch05.adamw_update, adamw_mistake("l2"), "added to the gradient"),
    (ch05.adamw_update, adamw_mistake("decay after"), "after the Adam update"),
    (ch05.adamw_update, adamw_mistake("eps inside"), "inside the square root"),
    (ch05.adamw_update, adamw_mistake("decay without lr"), "missing the learning rate"),
    (ch05.adamw_update, adamw_mistake("corrected moments"), "bias-corrected m̂ and v̂"),
    (ch05.adamw_update, lambda *a, **k: adamw_update(*a, **k)[0], "return the three"),
    (ch05.decay_groups, groups_from(lambda n, p, m: True), "biases and LayerNorm"),
    (ch05.decay_groups, groups_from(lambda n, p, m: p.dim() >= 2), "embedding table"),
    (ch05.decay_groups, groups_from(lambda n, p, m: False), "is not decayed"),
    (ch05.decay_groups, by_module, "in both groups"),
    (ch05.decay_groups, tied_twice, "appears twice"),
    (ch05.decay_groups, missing_one, "in no group"),
    (ch05.decay_groups, lambda m, wd: decay_groups(m, wd)[:1], "expected two groups"),
    (ch05.warmup_cosine, schedule("step/warmup"), "lr·s/warmup_steps starts at 0"),
    (ch05.warmup_cosine, schedule("<="), "while step < warmup_steps"),
    (ch05.warmup_cosine, schedule("to zero"), "decays to 0 instead of min_lr"),
    (ch05.warmup_cosine, schedule("to zero, then min_lr"), "jumps to min_lr after"),
    (ch05.warmup_cosine, schedule("r over max_steps"), "does not reach min_lr"),
    (ch05.warmup_cosine, schedule("no clamp"), "rises again"),
    (ch05.train_step, step_variant("undivided"), "not divided by micro_batches"),
    (ch05.train_step, step_variant("zero inside"), "zeroed inside the loop"),
    (ch05.train_step, step_variant("step inside"), "ran after every micro-batch"),
    (ch05.train_step, step_variant("no zero_grad"), "call optimizer.zero_grad() before"),
    (ch05.train_step, step_variant("sum"), "sum of the micro-batches' losses"),
    (ch05.train_step, step_variant("last"), "only the last micro-batch's loss"),
    (ch05.early_stopping, stop_variant("train"), "the training loss was used"),
    (ch05.early_stopping, stop_variant("index"), "position in the list"),
    (ch05.early_stopping, stop_variant(">"), "(>=, not >)"),
    (ch05.early_stopping, stop_variant("last"), "on a tie"),
    (ch05.early_stopping, stop_variant("+1"), "the best evaluation itself does not count"),
    (ch05.early_stopping, stop_variant("rises"), "only consecutive rises"),
    (ch05.early_stopping, lambda h, p: early_stopping(h, p)[0], "return a pair"),
]


@pytest.mark.parametrize(("check", "wrong", "cause"), MISTAKES)
def test_usual_mistakes_fail_with_their_cause(check, wrong, cause, capsys):
    assert_mistake_named(check, wrong, cause, capsys)
