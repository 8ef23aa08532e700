"""Checkers for notebook 06 (training: a learning-rate schedule, gradient clipping, one AdamW step)."""

import math

import torch

from llmlib.train import TrainConfig, get_lr


def _linear_lr(step, cfg):
    if step < cfg.warmup_iters:
        return cfg.learning_rate * (step + 1) / (cfg.warmup_iters + 1)
    decay_iters = cfg.max_iters if cfg.lr_decay_iters is None else cfg.lr_decay_iters
    if step >= decay_iters:
        return cfg.min_lr
    return cfg.learning_rate + (cfg.min_lr - cfg.learning_rate) * (step - cfg.warmup_iters) / (decay_iters - cfg.warmup_iters)


def check_exercise_6_1(fn):
    """fn(step, cfg: TrainConfig) -> learning rate: the same warmup, then a straight line down to min_lr, then flat."""
    configs = [
        TrainConfig(max_iters=1000, learning_rate=1e-3, min_lr=1e-4, warmup_iters=100),
        TrainConfig(max_iters=50, learning_rate=6e-4, min_lr=0.0, warmup_iters=0),
        TrainConfig(max_iters=300, learning_rate=1.0, min_lr=0.5, warmup_iters=10, lr_decay_iters=200),
    ]
    for cfg in configs:
        decay = cfg.max_iters if cfg.lr_decay_iters is None else cfg.lr_decay_iters
        for step in sorted({0, 1, cfg.warmup_iters // 2, cfg.warmup_iters, cfg.warmup_iters + 1,
                            (cfg.warmup_iters + decay) // 2, decay - 1, decay, cfg.max_iters + 5}):
            got, want = float(fn(step, cfg)), _linear_lr(step, cfg)
            if math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-12):
                continue
            if math.isclose(got, get_lr(step, cfg), rel_tol=1e-6, abs_tol=1e-12):
                raise AssertionError(f"step {step}: this is the cosine schedule; after warmup go down in a straight line")
            where = ("during warmup (learning_rate * (step + 1) / (warmup_iters + 1))" if step < cfg.warmup_iters else
                     "after lr_decay_iters (it stays at min_lr; lr_decay_iters=None means max_iters)" if step >= decay else
                     "of the straight line from learning_rate at warmup_iters to min_lr at lr_decay_iters")
            raise AssertionError(f"step {step} of {cfg.max_iters} (warmup {cfg.warmup_iters}): expected {want:.6g}, "
                                 f"got {got:.6g}; check the part {where}")
    print("check_exercise_6_1: correct, your linear schedule warms up like get_lr and decays in a straight line")


def check_exercise_6_2(fn):
    """fn(params, max_norm) -> total gradient norm before clipping; scales the .grad in place when too large."""
    g = torch.Generator().manual_seed(0)
    for max_norm, scale in ((1.0, 5.0), (10.0, 0.1)):
        shapes = [(4, 3), (3,), (2, 2, 2)]
        params = [torch.zeros(s, requires_grad=True) for s in shapes]
        ref = [torch.zeros(s, requires_grad=True) for s in shapes]
        for p, r in zip(params, ref):
            grad = torch.randn(p.shape, generator=g) * scale
            p.grad, r.grad = grad.clone(), grad.clone()
        want = torch.nn.utils.clip_grad_norm_(ref, max_norm)
        got = fn(params, max_norm)
        assert got is not None, "return the total norm (before clipping)"
        if not math.isclose(float(got), float(want), rel_tol=1e-5):
            raise AssertionError(
                f"total norm: expected {float(want):.4f}, got {float(got):.4f}; it is the norm of all gradients "
                "together: sqrt(sum over parameters of (grad ** 2).sum())"
            )
        for p, r in zip(params, ref):
            if not torch.allclose(p.grad, r.grad, atol=1e-6):
                if float(want) <= max_norm:
                    raise AssertionError("the gradients changed although their norm was below max_norm; leave them alone")
                raise AssertionError(
                    "after clipping the gradients should be scaled by max_norm / total_norm (all by the same factor), "
                    "in place (p.grad.mul_(...))"
                )
    print("check_exercise_6_2: correct, your clipping matches torch.nn.utils.clip_grad_norm_")


def check_exercise_6_3(fn):
    """fn(p, grad, m, v, t, lr, beta1, beta2, eps, weight_decay) -> (new p, new m, new v): one AdamW step."""
    g = torch.Generator().manual_seed(0)
    lr, betas, eps, wd = 1e-2, (0.9, 0.99), 1e-8, 0.1
    p0 = torch.randn(5, 3, generator=g)
    ref = p0.clone().requires_grad_(True)
    opt = torch.optim.AdamW([ref], lr=lr, betas=betas, eps=eps, weight_decay=wd)
    p, m, v = p0.clone(), torch.zeros_like(p0), torch.zeros_like(p0)
    for t in range(1, 4):
        grad = torch.randn(5, 3, generator=g)
        ref.grad = grad.clone()
        opt.step()
        out = fn(p.clone(), grad.clone(), m.clone(), v.clone(), t, lr, betas[0], betas[1], eps, wd)
        assert isinstance(out, tuple) and len(out) == 3, "return a tuple (p, m, v)"
        p, m, v = out
        state = opt.state[ref]
        if not torch.allclose(m, state["exp_avg"], atol=1e-7):
            raise AssertionError(f"step {t}: m is wrong; m = beta1 * m + (1 - beta1) * grad")
        if not torch.allclose(v, state["exp_avg_sq"], atol=1e-9):
            raise AssertionError(f"step {t}: v is wrong; v = beta2 * v + (1 - beta2) * grad ** 2")
        if not torch.allclose(p, ref.detach(), atol=1e-6):
            raise AssertionError(
                f"step {t}: the weights differ from torch.optim.AdamW. Decay first, p = p * (1 - lr * weight_decay), "
                "then p = p - lr * m_hat / (sqrt(v_hat) + eps) with m_hat = m / (1 - beta1 ** t), v_hat = v / (1 - beta2 ** t)"
            )
    print("check_exercise_6_3: correct, your AdamW step matches torch.optim.AdamW")
