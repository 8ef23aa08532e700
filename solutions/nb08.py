"""Solutions to notebook 08's exercises (kept apart from the learner's notebook)."""

import math

import torch


def exercise_8_1(weights):
    T = weights.shape[-1]
    t = torch.arange(T)
    back = (t[:, None] - t[None, :]).clamp_min(0)  # [T, T]: how far key j lies before query t
    return (weights * back).sum(-1)[1:].mean()


def exercise_8_2(weights, offset):
    T = weights.shape[-1]
    t = torch.arange(offset, T)
    return weights[t, t - offset].mean()


def exercise_8_3(q, k, t):
    T, head_size = k.shape
    scores = (k @ q) / math.sqrt(head_size)  # [T]: query t against every key
    scores = scores.masked_fill(torch.arange(T) > t, float("-inf"))  # a query never sees later keys
    return torch.softmax(scores, dim=-1)


def exercise_8_4(weights, seq_len):
    t = torch.arange(seq_len, 2 * seq_len)
    return weights[t, t - seq_len].mean()
