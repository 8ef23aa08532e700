"""Solutions to notebook 04's exercises (kept apart from the learner's notebook)."""

import math

import torch
import torch.nn.functional as F


def exercise_4_1(n_embd, n_head, bias=True):
    C = n_embd
    c_attn = 3 * C * C + (3 * C if bias else 0)
    c_proj = C * C + (C if bias else 0)
    return c_attn + c_proj  # n_head only decides how the columns are split


def exercise_4_2(weights):
    logs = torch.where(weights > 0, weights.log2(), torch.zeros_like(weights))  # 0 * log 0 counts as 0
    return -(weights * logs).sum(-1).mean(dim=(0, 2))


def exercise_4_3(x, Query, Key, Value, n_head, n_kv_head):
    B, T, _ = x.shape
    hs = Query.shape[1] // n_head
    q = (x @ Query).view(B, T, n_head, hs).transpose(1, 2)  # [B, m, T, hs]
    k = (x @ Key).view(B, T, n_kv_head, hs).transpose(1, 2)  # [B, m_kv, T, hs]
    v = (x @ Value).view(B, T, n_kv_head, hs).transpose(1, 2)
    group = n_head // n_kv_head
    k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)  # each kv head serves `group` query heads
    scores = q @ k.transpose(-2, -1) / math.sqrt(hs)
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    wei = F.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return (wei @ v).transpose(1, 2).reshape(B, T, n_head * hs)
