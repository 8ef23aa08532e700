"""Solutions to notebook 06's exercises (kept apart from the learner's notebook)."""

import torch


def exercise_6_1(step, cfg):
    if step < cfg.warmup_iters:
        return cfg.learning_rate * (step + 1) / (cfg.warmup_iters + 1)
    decay_iters = cfg.max_iters if cfg.lr_decay_iters is None else cfg.lr_decay_iters
    if step >= decay_iters:
        return cfg.min_lr
    frac = (step - cfg.warmup_iters) / (decay_iters - cfg.warmup_iters)  # 0 -> 1
    return cfg.learning_rate + frac * (cfg.min_lr - cfg.learning_rate)


def exercise_6_2(params, max_norm):
    grads = [p.grad for p in params if p.grad is not None]
    total = torch.sqrt(sum((g**2).sum() for g in grads))  # one norm over every gradient together
    if total > max_norm:
        for g in grads:
            g.mul_(max_norm / (total + 1e-6))  # same factor for all: the direction is kept
    return total


def exercise_6_3(p, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
    p = p * (1 - lr * weight_decay)  # decoupled weight decay: shrink first, independent of the gradient
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)  # m and v start at 0; this undoes that bias in the first steps
    v_hat = v / (1 - beta2**t)
    return p - lr * m_hat / (v_hat.sqrt() + eps), m, v
