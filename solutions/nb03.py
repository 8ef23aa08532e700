"""Solutions to notebook 03's exercises (kept apart from the learner's notebook)."""

import math

import torch
import torch.nn.functional as F


def exercise_3_1(T, decay):
    t = torch.arange(T, dtype=torch.float)
    back = t[:, None] - t[None, :]  # how far key s lies behind query t
    W = torch.where(back >= 0, decay ** back, torch.zeros(()))
    return W / W.sum(dim=1, keepdim=True)


@torch.no_grad()
def exercise_3_2(layer, T, C):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, T, C, generator=g)
    base = layer(x)
    for t in range(T - 1):
        changed = x.clone()
        changed[:, t + 1 :] = torch.randn(1, T - t - 1, C, generator=g)  # every token after t
        if not torch.allclose(layer(changed)[:, : t + 1], base[:, : t + 1], atol=1e-6):
            return True
    return False


def exercise_3_3(query, key, window):
    T, hs = query.shape[-2], query.shape[-1]
    t = torch.arange(T)
    back = t[:, None] - t[None, :]
    allowed = (back >= 0) & (back < window)
    scores = query @ key.transpose(-2, -1) / math.sqrt(hs)
    return F.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)
