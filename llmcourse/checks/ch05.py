"""Checkers for chapter 05: one AdamW update, weight-decay groups, the warmup-cosine
schedule, a training step with gradient accumulation, and early stopping from a history.

Each checker runs the learner's code on inputs chosen to expose the usual mistakes (no bias
correction, L2 instead of decoupled decay, ε inside the square root, decayed biases or
embeddings, a tied weight counted twice, an off-by-one at the end of warmup, a cosine that
never reaches ``min_lr``, an undivided loss, gradients zeroed inside the loop, the training
loss used to judge overfitting) and compares with ``llmcourse.optim`` or a reference
written here. ``tests/test_checks_ch05.py`` shows that each named mistake is recognised.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from llmcourse.checks.base import CheckFailed, call, checker, expect_equal, expect_tensor
from llmcourse.gpt import GPT, GPTConfig
from llmcourse.history import History
from llmcourse.optim import param_groups
from llmcourse.optim import warmup_cosine as _warmup_cosine
from llmcourse.rnn import RNNLM

# ---------------------------------------------------------------- 05.1 one AdamW update


def _adamw(
    param: Tensor,
    grad: Tensor,
    m: Tensor,
    v: Tensor,
    step: int,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
    mistake: str | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """AdamW from the equations, or one of its usual wrong versions (``mistake``)."""
    beta1, beta2 = betas
    if mistake == "l2":
        grad = grad + weight_decay * param
    elif mistake == "decay without lr":
        param = param * (1 - weight_decay)
    elif mistake != "decay after":
        param = param * (1 - lr * weight_decay)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    if mistake == "no bias correction":
        m_hat, v_hat = m, v
    else:
        m_hat, v_hat = m / (1 - beta1**step), v / (1 - beta2**step)
    if mistake == "eps inside":
        param = param - lr * m_hat / (v_hat + eps).sqrt()
    else:
        param = param - lr * m_hat / (v_hat.sqrt() + eps)
    if mistake == "decay after":
        param = param * (1 - lr * weight_decay)
    if mistake == "corrected moments":
        return param, m_hat, v_hat
    return param, m, v


_ADAMW_CAUSES = {
    "no bias correction": "the bias correction is missing. m and v start at 0, so early on "
    "they are too small by the factors (1 − β₁ᵗ) and (1 − β₂ᵗ); divide by them: "
    "m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ)",
    "l2": "the weight decay was added to the gradient (g + λθ): that is Adam with L2 "
    "regularisation, whose decay then gets divided by √v̂. AdamW decays the weights "
    "directly, apart from the gradient: θ ← θ − lr·λ·θ",
    "decay after": "the weight decay was applied after the Adam update; decay the old "
    "weights first, θ ← θ(1 − lr·λ), then subtract lr·m̂ / (√v̂ + ε)",
    "decay without lr": "the decay step is missing the learning rate; it is θ ← θ − lr·λ·θ, "
    "not θ − λ·θ",
    "eps inside": "ε is inside the square root; it is added after it: √v̂ + ε",
    "corrected moments": "the bias-corrected m̂ and v̂ were returned as the new state; keep "
    "m and v uncorrected (the correction is recomputed at every step from t)",
}


def _adamw_cases() -> list[dict[str, Any]]:
    g = torch.Generator().manual_seed(5)

    def randn(*shape: int, scale: float = 1.0) -> Tensor:
        return scale * torch.randn(*shape, generator=g, dtype=torch.float64)

    return [
        # the first step: m = v = 0, no decay; exposes the missing bias correction
        dict(param=randn(3, 4), grad=randn(3, 4) * torch.tensor([1e-3, 1.0, 50.0, 2.0]),
             m=torch.zeros(3, 4, dtype=torch.float64), v=torch.zeros(3, 4, dtype=torch.float64),
             step=1, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0),
        # a later step with running moments and strong decay: exposes L2 and decay placement
        dict(param=randn(5), grad=randn(5), m=randn(5, scale=0.1), v=randn(5).abs() * 0.1,
             step=3, lr=0.2, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.5),
        # tiny gradients, so v̂ is far below ε: exposes ε inside the square root
        dict(param=randn(2, 3), grad=randn(2, 3, scale=1e-6), m=randn(2, 3, scale=1e-7),
             v=randn(2, 3, scale=1e-12).abs(), step=10, lr=1e-3, betas=(0.9, 0.999),
             eps=1e-8, weight_decay=0.1),
        # an ordinary step, one-dimensional, moderate decay
        dict(param=randn(7), grad=randn(7), m=randn(7, scale=0.1), v=randn(7).abs() * 0.01,
             step=50, lr=3e-3, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1),
    ]  # fmt: skip


@checker("adamw_update")
def adamw_update(fn: Callable[..., Any]) -> str:
    """``fn(param, grad, m, v, step, lr, betas, eps, weight_decay)`` → new (param, m, v)."""
    cases = _adamw_cases()
    for case in cases:
        args = {k: (v.clone() if isinstance(v, Tensor) else v) for k, v in case.items()}
        got = call(fn, **args)
        if not isinstance(got, tuple | list) or len(got) != 3:
            raise CheckFailed(
                f"adamw_update returned {type(got).__name__}; return the three new tensors "
                "as a tuple: (param, m, v)"
            )
        expected = _adamw(**case)
        wrong = {mistake: _adamw(**case, mistake=mistake) for mistake in _ADAMW_CAUSES}
        what = f"at step t = {case['step']} (lr = {case['lr']}, λ = {case['weight_decay']})"
        for i, name in enumerate(("the new param", "the new m", "the new v")):
            expect_tensor(
                got[i],
                expected[i],
                what=f"{name} {what}",
                mistakes={_ADAMW_CAUSES[k]: w[i] for k, w in wrong.items()},
                atol=1e-12,
                rtol=1e-7,
                check_dtype=False,
            )
    return (
        f"matches the equations on {len(cases)} cases: the first step, strong decay, tiny "
        "gradients (ε), and a long run's moments."
    )


# ------------------------------------------------------------- 05.2 weight-decay groups


def _models() -> list[tuple[str, nn.Module]]:
    torch.manual_seed(0)
    gpt = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8))
    lstm = RNNLM(vocab_size=9, embed_size=4, hidden_size=6, num_layers=2)
    return [("a tiny GPT (its head is tied to wte)", gpt), ("an RNNLM with 2 LSTM layers", lstm)]


def _names(model: nn.Module) -> dict[int, list[str]]:
    """Every name of each parameter, by id: a tied parameter has two."""
    names: dict[int, list[str]] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        names.setdefault(id(p), []).append(name)
    return names


@checker("decay_groups")
def decay_groups(fn: Callable[[nn.Module, float], Any]) -> str:
    """``fn(model, weight_decay)`` → [{"params": decayed, "weight_decay": wd},
    {"params": the rest, "weight_decay": 0.0}], each parameter exactly once."""
    wd = 0.1
    for label, model in _models():
        names = _names(model)
        groups = call(fn, model, wd)
        if not isinstance(groups, list | tuple) or not all(isinstance(g, dict) for g in groups):
            raise CheckFailed(
                f"for {label}, decay_groups returned {type(groups).__name__}; return a list "
                "of two dicts, each with 'params' and 'weight_decay'"
            )
        if len(groups) != 2 or any("params" not in g or "weight_decay" not in g for g in groups):
            raise CheckFailed(
                f"for {label}, expected two groups, each a dict with 'params' and "
                f"'weight_decay'; got {len(groups)} group(s) with keys "
                f"{[sorted(g) for g in groups]}"
            )
        decays = sorted(float(g["weight_decay"]) for g in groups)
        if decays != [0.0, wd]:
            raise CheckFailed(
                f"for {label} with weight_decay={wd}, the groups' weight_decay values are "
                f"{decays}; one group gets {wd}, the other 0.0"
            )
        decayed, plain = (
            list(g["params"]) for g in sorted(groups, key=lambda g: -g["weight_decay"])
        )
        _check_each_once(label, names, decayed, plain)
        _check_choice(label, model, names, decayed)
    return (
        "decays exactly the weight matrices (not biases, LayerNorm or embeddings), each "
        "parameter once, on a GPT with a tied head and on an LSTM."
    )


def _check_each_once(
    label: str, names: dict[int, list[str]], decayed: list[Any], plain: list[Any]
) -> None:
    for p in decayed + plain:
        if id(p) not in names:
            raise CheckFailed(
                f"for {label}, a group holds a {type(p).__name__} that is not a parameter of "
                "the model; put the model's parameters themselves in the groups"
            )
    for group, members in (("decayed", decayed), ("undecayed", plain)):
        ids = [id(p) for p in members]
        twice = next((i for i in ids if ids.count(i) > 1), None)
        if twice is not None:
            tied = len(names[twice]) > 1
            cause = (
                f"it is one tensor with two names ({' and '.join(names[twice])}): a tied "
                "weight. Go through model.named_parameters(), which yields a shared "
                "parameter once"
                if tied
                else "add each parameter once"
            )
            raise CheckFailed(
                f"for {label}, {names[twice][0]} appears twice in the {group} group; {cause}."
            )
    both = {id(p) for p in decayed} & {id(p) for p in plain}
    if both:
        first = names[min(both, key=lambda i: names[i][0])]
        tied = (
            f" It is a tied weight ({' and '.join(first)}): deciding by module put it in one "
            "group as an nn.Embedding and in the other as the head's nn.Linear. Decide once "
            "per parameter."
            if len(first) > 1
            else ""
        )
        raise CheckFailed(f"for {label}, {first[0]} is in both groups.{tied}")
    missing = set(names) - {id(p) for p in decayed + plain}
    if missing:
        missed = sorted(names[i][0] for i in missing)
        raise CheckFailed(
            f"for {label}, {len(missed)} parameter(s) are in no group, e.g. {missed[0]}; "
            "every parameter must be trained, so each belongs to exactly one group."
        )


def _check_choice(
    label: str, model: nn.Module, names: dict[int, list[str]], decayed: list[Any]
) -> None:
    expected = {id(p) for p in param_groups(model, 0.1)[0]["params"]}
    got = {id(p) for p in decayed}
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    extra = sorted(got - expected, key=lambda i: names[i][0])
    if extra:
        name = names[extra[0]][0]
        if extra[0] in embeddings:
            cause = (
                "an embedding table is decayed. Each row only gets a gradient when its token "
                "occurs, so decay would shrink rare tokens towards 0 between their visits; "
                "leave nn.Embedding weights undecayed"
            )
        else:
            cause = (
                "biases and LayerNorm weights (1-D parameters) are decayed. They set an "
                "offset or a scale per feature, and pulling them towards 0 helps nothing; "
                "decay only parameters with p.dim() >= 2"
            )
        raise CheckFailed(f"for {label}, {name} is in the decayed group: {cause}.")
    short = sorted(expected - got, key=lambda i: names[i][0])
    if short:
        raise CheckFailed(
            f"for {label}, {names[short[0]][0]} is not decayed, but it is a weight matrix "
            "(2-D, not an embedding); matrices that mix features get the weight decay."
        )


# ---------------------------------------------------------- 05.3 the warmup-cosine schedule


def _schedule_mistakes(
    step: int, warmup: int, max_steps: int, lr: float, min_lr: float
) -> dict[str, float]:
    """What each usual wrong schedule gives at ``step``."""
    ok = _warmup_cosine(step, warmup, max_steps, lr, min_lr)

    def cosine(ratio: float, low: float = min_lr) -> float:
        return low + 0.5 * (lr - low) * (1 + math.cos(math.pi * ratio))

    in_warmup, after = step < warmup, step >= max_steps
    decay_ratio = (step - warmup) / (max_steps - warmup)
    to_zero = 0.0 if after else cosine(decay_ratio, 0.0)
    return {
        "off by one in the warmup: at step s it is lr·(s + 1)/warmup_steps, so that step 0 "
        "already learns and the last warmup step reaches lr (lr·s/warmup_steps starts at 0)": (
            lr * step / warmup if in_warmup else ok
        ),
        "the warmup also covers step = warmup_steps, where it overshoots to "
        "lr·(warmup_steps + 1)/warmup_steps; warm up while step < warmup_steps": (
            lr * (step + 1) / warmup if step <= warmup and warmup > 0 else ok
        ),
        "the cosine decays to 0 instead of min_lr; it is min_lr + ½(lr − min_lr)(1 + cos πr)": (
            ok if in_warmup else to_zero
        ),
        "the cosine decays towards 0 instead of min_lr (and jumps to min_lr after max_steps); "
        "it is min_lr + ½(lr − min_lr)(1 + cos πr)": (ok if in_warmup or after else to_zero),
        "the cosine does not reach min_lr at max_steps: its progress r must run from 0 at the "
        "end of warmup to 1 at max_steps, r = (step − warmup_steps)/(max_steps − "
        "warmup_steps)": ok if in_warmup or after else cosine((step - warmup) / max_steps),
        "the cosine's progress does not start at the end of warmup: use r = (step − "
        "warmup_steps)/(max_steps − warmup_steps), not step / max_steps": (
            ok if in_warmup or after else cosine(step / max_steps)
        ),
        "after max_steps the rate rises again along the cosine; from max_steps on it stays "
        "at min_lr": cosine(decay_ratio) if after else ok,
    }


_SCHEDULES = [
    (10, 100, 1e-3, 1e-4, range(0, 121)),
    (0, 40, 0.5, 0.05, range(0, 51)),
    (4, 12, 1.0, 0.0, range(0, 15)),
]


@checker("warmup_cosine")
def warmup_cosine(fn: Callable[[int, int, int, float, float], float]) -> str:
    """``fn(step, warmup_steps, max_steps, lr, min_lr)``: the learning rate at ``step``."""
    for warmup, max_steps, lr, min_lr, steps in _SCHEDULES:
        setting = f"warmup_steps={warmup}, max_steps={max_steps}, lr={lr}, min_lr={min_lr}"
        got = {}
        for s in steps:
            value = call(fn, s, warmup, max_steps, lr, min_lr)
            if isinstance(value, Tensor) and value.numel() == 1:
                value = value.item()
            if not isinstance(value, float | int) or isinstance(value, bool):
                raise CheckFailed(
                    f"warmup_cosine({s}, {setting}) returned {type(value).__name__}; return "
                    "the learning rate as a float"
                )
            got[s] = float(value)
        expected = {s: _warmup_cosine(s, warmup, max_steps, lr, min_lr) for s in steps}
        wrong = {s: _schedule_mistakes(s, warmup, max_steps, lr, min_lr) for s in steps}
        bad = [s for s in steps if not _close(got[s], expected[s])]
        if not bad:
            continue
        cause = next(
            (
                c
                for c in wrong[bad[0]]
                if all(_close(got[s], wrong[s][c]) for s in steps)
                and not all(_close(wrong[s][c], expected[s]) for s in steps)
            ),
            None,
        )
        s = bad[0]
        region = (
            "in the warmup" if s < warmup else "after max_steps" if s > max_steps else
            "at max_steps" if s == max_steps else "in the cosine decay"
        )  # fmt: skip
        hint = f"\nLikely cause: {cause}." if cause else ""
        raise CheckFailed(
            f"with {setting}: at step {s} ({region}) got {got[s]:.6g}, expected "
            f"{expected[s]:.6g}.{hint}"
        )
    return (
        f"matches at every step of {len(_SCHEDULES)} schedules, including no warmup, the "
        "end of warmup, max_steps and beyond."
    )


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)


# ------------------------------------------------- 05.4 a step with gradient accumulation


def _tiny_gpt() -> GPT:
    torch.manual_seed(3)
    return GPT(GPTConfig(vocab_size=13, block_size=8, n_layer=1, n_head=2, n_embd=8))


def _flat(model: nn.Module) -> Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def _accumulate(
    model: nn.Module, x: Tensor, y: Tensor, k: int, mistake: str | None = None
) -> tuple[Tensor, float]:
    """Run one SGD step (lr 0.5) the right way, or a wrong way; (new weights, returned loss)."""
    model = copy.deepcopy(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    optimizer.zero_grad()
    losses = []
    for xs, ys in zip(x.chunk(k), y.chunk(k)):
        if mistake in ("zero inside", "zero inside, undivided", "step inside, zeroed"):
            optimizer.zero_grad()
        loss = model(xs, ys)[1]
        losses.append(loss.item())
        (loss if mistake in ("undivided", "zero inside, undivided") else loss / k).backward()
        if mistake in ("step inside", "step inside, zeroed"):
            optimizer.step()
    if mistake not in ("step inside", "step inside, zeroed"):
        optimizer.step()
    return _flat(model), sum(losses) / k


_ACCUMULATION_CAUSES = {
    "undivided": "each micro-batch's loss was not divided by micro_batches, so the summed "
    "gradient is micro_batches times the big batch's; backward() on loss / micro_batches",
    "zero inside": "the gradients were zeroed inside the loop, so only the last "
    "micro-batch's gradient was left for the step; zero them once, before the loop",
    "zero inside, undivided": "the gradients were zeroed inside the loop (only the last "
    "micro-batch's gradient survives) and the loss was not divided by micro_batches",
    "step inside": "optimizer.step() ran after every micro-batch; accumulate all the "
    "gradients first, then step once, after the loop",
    "step inside, zeroed": "optimizer.step() (and zero_grad) ran for every micro-batch: "
    "that is micro_batches small steps, not one step on the big batch; step once, after "
    "the loop",
}
_NO_ZERO_GRAD = (
    "the gradients already in .grad when train_step was called were added to this step's; "
    "call optimizer.zero_grad() before the first backward"
)


@checker("train_step")
def train_step(fn: Callable[..., Any]) -> str:
    """``fn(model, optimizer, x, y, micro_batches)``: one accumulated step; the mean loss."""
    model = _tiny_gpt()
    gen = torch.Generator().manual_seed(7)
    x = torch.randint(13, (8, 8), generator=gen)  # (B, T)
    y = torch.randint(13, (8, 8), generator=gen)
    for k in (4, 2, 1):
        expected, loss = _accumulate(model, x, y, k)
        wrong = {c: _accumulate(model, x, y, k, m) for m, c in _ACCUMULATION_CAUSES.items()}
        mistakes = {c: weights for c, (weights, _) in wrong.items()}
        mistakes[_NO_ZERO_GRAD] = _stale_step(model, x, y, k)
        with torch.no_grad():
            last_loss = model(x.chunk(k)[-1], y.chunk(k)[-1])[1].item()
        learner = _with_leftover_gradients(model)
        optimizer = torch.optim.SGD(learner.parameters(), lr=0.5)
        got_loss = call(fn, learner, optimizer, x.clone(), y.clone(), k)
        expect_tensor(
            _flat(learner),
            expected,
            what=f"the flattened weight vector after one SGD step with micro_batches={k}",
            mistakes=mistakes,
            atol=1e-6,
            rtol=1e-5,
        )
        if isinstance(got_loss, Tensor) and got_loss.numel() == 1:
            got_loss = got_loss.item()
        expect_equal(
            got_loss,
            loss,
            what=f"the returned loss (micro_batches={k})",
            mistakes={
                "the sum of the micro-batches' losses was returned; return their mean, the "
                "loss of the whole batch": loss * k,
                "only the last micro-batch's loss was returned; return the mean over all "
                "micro-batches": last_loss if k > 1 else math.nan,
            },
            rtol=1e-5,
        )
    return (
        "one step equals the big batch's step for 4, 2 and 1 micro-batches, leftover "
        "gradients are cleared, and the mean loss is returned."
    )


def _with_leftover_gradients(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose .grad hold the leftovers of a previous step (0.1 each)."""
    model = copy.deepcopy(model)
    for p in model.parameters():
        p.grad = torch.full_like(p, 0.1)
    return model


def _stale_step(model: nn.Module, x: Tensor, y: Tensor, k: int) -> Tensor:
    """The step taken without zero_grad, on top of the leftover gradients."""
    model = _with_leftover_gradients(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for xs, ys in zip(x.chunk(k), y.chunk(k)):
        (model(xs, ys)[1] / k).backward()
    optimizer.step()
    return _flat(model)


# ------------------------------------------------------- 05.5 overfitting and early stop


def _history(eval_steps: list[int], val: list[float], train: list[float]) -> History:
    history = History(device="cpu")
    history.add_steps(
        range(1, eval_steps[-1] + 1), [train[0]] * eval_steps[-1], [1e-3] * eval_steps[-1],
        [1.0] * eval_steps[-1],
    )  # fmt: skip
    for step, v, t in zip(eval_steps, val, train):
        history.add_eval(step, v, t, 1000.0, float(step))
    return history


_HISTORIES = [
    # falls, then rises for four evaluations: best at 200
    ([50, 100, 150, 200, 250, 300, 350, 400],
     [3.1, 2.6, 2.3, 2.2, 2.25, 2.3, 2.4, 2.5],
     [3.0, 2.5, 2.1, 1.9, 1.7, 1.5, 1.3, 1.1], (3, 4, 5)),
    # still improving
    ([10, 20, 30], [2.9, 2.7, 2.5], [2.8, 2.6, 2.4], (1, 2)),
    # noisy after the best: up, then down (but not below the best)
    ([20, 40, 60, 80, 100, 120, 140], [3.0, 2.8, 2.9, 2.7, 2.75, 2.72, 2.71],
     [2.9, 2.7, 2.6, 2.5, 2.4, 2.3, 2.2], (2, 4)),
    # a tie: the first minimum is the best
    ([100, 200, 300, 400], [2.5, 2.4, 2.4, 2.6], [2.4, 2.2, 2.0, 1.8], (2, 3)),
]  # fmt: skip


def _early_stopping(
    steps: list[int], losses: list[float], patience: int, mistake: str | None = None
) -> tuple[int, bool]:
    best = min(range(len(losses)), key=lambda i: (losses[i], i))
    if mistake == "last minimum":
        best = max(i for i in range(len(losses)) if losses[i] == losses[best])
    since = len(losses) - 1 - best
    if mistake == "consecutive rises":
        since = 0
        while since + 1 < len(losses) and losses[-1 - since] > losses[-2 - since]:
            since += 1
    stop = {"late": since > patience, "early": since + 1 >= patience}.get(
        mistake or "", since >= patience
    )
    return (best if mistake == "index" else steps[best]), stop


@checker("early_stopping")
def early_stopping(fn: Callable[[History, int], Any]) -> str:
    """``fn(history, patience)`` → (step of the lowest validation loss, whether to stop)."""
    n = 0
    for steps, val, train, patiences in _HISTORIES:
        for patience in patiences:
            n += 1
            history = _history(steps, val, train)
            got = call(fn, history, patience)
            what = f"early_stopping(history, patience={patience}) with val_loss {val}"
            if not isinstance(got, tuple | list) or len(got) != 2:
                raise CheckFailed(f"{what} returned {got!r}; return a pair (best_step, stop)")
            best, stop = (x.item() if isinstance(x, Tensor) else x for x in got)
            got = (int(best), bool(stop))
            expect_equal(
                got,
                _early_stopping(steps, val, patience),
                what=what,
                mistakes={
                    "the training loss was used; overfitting shows on the validation loss "
                    "(history.val_loss), while the training loss keeps falling": (
                        _early_stopping(steps, train, patience)
                    ),
                    "the position in the list was returned; return the training step, "
                    "history.eval_steps[i]": _early_stopping(steps, val, patience, "index"),
                    "off by one in the patience: stop as soon as `patience` evaluations have "
                    "passed since the best (>=, not >)": _early_stopping(
                        steps, val, patience, "late"
                    ),
                    "off by one in the patience: the best evaluation itself does not count; "
                    "count only the evaluations after it": _early_stopping(
                        steps, val, patience, "early"
                    ),
                    "on a tie the later minimum was taken; an equal loss is not an "
                    "improvement, keep the first": _early_stopping(
                        steps, val, patience, "last minimum"
                    ),
                    "only consecutive rises were counted; count every evaluation since the "
                    "best, even one that fell a little but stayed above it": _early_stopping(
                        steps, val, patience, "consecutive rises"
                    ),
                },
            )
    return f"best step and stop decision right on {n} cases, including a tie and a noisy rise."
