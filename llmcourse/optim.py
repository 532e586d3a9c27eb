"""The optimiser of chapter 05: AdamW from the equations, its parameter groups, the schedule.

Chapter 05 (``chapters/05_training.ipynb``) teaches this file. ``adamw_step`` is one AdamW
update written from the equations; training uses the fast twin, ``torch.optim.AdamW``
(fused or foreach kernels, see ``make_optimizer``), and ``tests/test_optim.py`` proves the
two give the same numbers over several steps. ``warmup_cosine`` is the learning-rate
schedule ``llmcourse.train`` follows; its values at the key steps are tested too.

Weight decay, the choice this course makes: decay pulls every weight towards 0, which is a
prior for the matrices that mix features (Linear weights, recurrent weights), so those get
it. Biases and LayerNorm gains/shifts are single numbers per feature that set a scale or
an offset, and an embedding row is updated only when its token occurs: decaying those
shrinks rare tokens and the normalisation towards 0 for no gain, so they get none.

Left out on purpose: SGD with momentum (the chapter shows it with ``torch.optim.SGD``),
AMSGrad, ``maximize``, other schedules (step, one-cycle, inverse square root).

>>> warmup_cosine(0, warmup_steps=10, max_steps=100, lr=1e-3, min_lr=1e-4)
0.0001
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def adamw_step(
    param: Tensor,
    grad: Tensor,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    step: int,
    lr: float,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
) -> None:
    """One AdamW update of ``param``, in place (the same as ``torch.optim.AdamW``).

    param, grad, exp_avg (m), exp_avg_sq (v): tensors of one shape; m and v start at 0.
    ``step`` is t = 1 for the first update. With g = grad and (β₁, β₂) = betas:

        θ ← θ − lr · λ · θ                       decoupled weight decay (the "W")
        m ← β₁ m + (1 − β₁) g                    running mean of gradients
        v ← β₂ v + (1 − β₂) g²                   running mean of squared gradients
        m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)    undo the bias towards the zero start
        θ ← θ − lr · m̂ / (√v̂ + ε)

    Each parameter moves by about lr whatever the size of its gradient: m̂ / √v̂ is the
    gradient's sign and consistency, not its scale. Adam with L2 regularisation would add
    λθ to g instead, and the division by √v̂ would then weaken the decay of weights with
    large gradients; AdamW keeps decay and gradient apart.

    >>> p, g = torch.ones(2), torch.tensor([0.5, -2.0])
    >>> m, v = torch.zeros(2), torch.zeros(2)
    >>> adamw_step(p, g, m, v, step=1, lr=0.1, weight_decay=0.0)
    >>> p                                       # first step: θ − lr · sign(g)
    tensor([0.9000, 1.1000])
    """
    if step < 1:
        raise ValueError(f"step counts updates from 1 (t in β^t), got {step}")
    beta1, beta2 = betas
    with torch.no_grad():
        param.mul_(1 - lr * weight_decay)
        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        m_hat = exp_avg / (1 - beta1**step)
        v_hat = exp_avg_sq / (1 - beta2**step)
        param.sub_(lr * m_hat / (v_hat.sqrt() + eps))


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Split the model's parameters into a decayed group and an undecayed one.

    Decay: every parameter with 2 or more dimensions (Linear and recurrent weight
    matrices) except embedding tables. No decay: biases, LayerNorm weights (1-D), and the
    weights of ``nn.Embedding`` modules (GPT's ``wte``/``wpe``, which the head shares).
    A tied parameter appears once. Each group also lists its parameter ``names``.

    >>> groups = param_groups(nn.Linear(3, 2), weight_decay=0.1)
    >>> [(g["names"], g["weight_decay"]) for g in groups]
    [(['weight'], 0.1), (['bias'], 0.0)]
    """
    embeddings = {
        id(module.weight) for module in model.modules() if isinstance(module, nn.Embedding)
    }
    decay: dict[str, nn.Parameter] = {}
    no_decay: dict[str, nn.Parameter] = {}
    for name, param in model.named_parameters():  # each shared parameter once
        if not param.requires_grad:
            continue
        wanted = param.dim() >= 2 and id(param) not in embeddings
        (decay if wanted else no_decay)[name] = param
    return [
        {"params": list(decay.values()), "names": list(decay), "weight_decay": weight_decay},
        {"params": list(no_decay.values()), "names": list(no_decay), "weight_decay": 0.0},
    ]


def make_optimizer(
    model: nn.Module,
    lr: float,
    weight_decay: float = 0.1,
    betas: tuple[float, float] = (0.9, 0.99),
    eps: float = 1e-8,
) -> torch.optim.AdamW:
    """``torch.optim.AdamW`` over ``param_groups(model, weight_decay)``, with the fast kernel.

    ``fused=True`` (one kernel for all parameters) where this torch has it for the model's
    device: CUDA, and the CPU from torch 2.4; otherwise ``foreach=True`` (a few batched
    kernels instead of a Python loop over the parameters). Both compute the same update.
    """
    device = next(model.parameters()).device
    fast = {"fused": True} if _has_fused_adamw(device) else {"foreach": True}
    return torch.optim.AdamW(
        param_groups(model, weight_decay), lr=lr, betas=tuple(betas), eps=eps, **fast
    )


def _has_fused_adamw(device: torch.device) -> bool:
    major, minor = (int(x) for x in torch.__version__.split("+")[0].split(".")[:2])
    return device.type == "cuda" or (device.type == "cpu" and (major, minor) >= (2, 4))


def warmup_cosine(
    step: int, warmup_steps: int, max_steps: float, lr: float, min_lr: float
) -> float:
    """The learning rate at ``step`` (0-based): linear warmup, then cosine decay to min_lr.

    Warmup, step < warmup_steps:   lr · (step + 1) / warmup_steps, reaching lr at its end
    (Adam's first steps, with v̂ estimated from a handful of gradients, are the wildest).
    Decay, warmup_steps ≤ step ≤ max_steps, with r = (step − warmup_steps) / (max_steps −
    warmup_steps) going from 0 to 1:   min_lr + ½ (lr − min_lr) (1 + cos(π r)).
    After max_steps it stays at min_lr. ``max_steps`` may be a float (a time budget's
    estimate of the total, see ``llmcourse.train``) or ``math.inf`` (no decay yet).

    >>> [round(warmup_cosine(s, 2, 10, 1.0, 0.0), 3) for s in (0, 1, 2, 6, 10, 11)]
    [0.5, 1.0, 1.0, 0.5, 0.0, 0.0]
    """
    if warmup_steps < 0 or max_steps < warmup_steps:
        raise ValueError(
            f"need 0 ≤ warmup_steps ≤ max_steps, got warmup_steps={warmup_steps} and "
            f"max_steps={max_steps}; shorten the warmup or train for more steps"
        )
    if min_lr > lr:
        raise ValueError(f"min_lr={min_lr} is larger than lr={lr}; the schedule decays lr")
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    if step >= max_steps:
        return min_lr
    ratio = (step - warmup_steps) / (max_steps - warmup_steps)  # 0 → 1 over the decay
    return min_lr + 0.5 * (lr - min_lr) * (1.0 + math.cos(math.pi * ratio))
