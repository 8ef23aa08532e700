"""Solutions to notebook 02's exercises (kept apart from the learner's notebook)."""

import math

import torch


def exercise_2_1(data, offsets, block_size):
    X1 = torch.stack([data[i : i + block_size] for i in offsets])
    X2 = torch.stack([data[i + 1 : i + 1 + block_size] for i in offsets])
    return X1, X2


def exercise_2_2(loss, n_tokens, n_chars):
    return loss * n_tokens / n_chars / math.log(2)


def exercise_2_3(ids, vocab_size, smoothing=1.0):
    counts = torch.zeros(vocab_size, vocab_size)
    for a, b in zip(ids[:-1].tolist(), ids[1:].tolist()):
        counts[a, b] += 1
    counts += smoothing
    return counts / counts.sum(dim=1, keepdim=True)


def exercise_2_4(logits, targets):
    shifted = logits - logits.max(dim=1, keepdim=True).values  # exp never overflows now
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    return -log_probs[torch.arange(len(targets)), targets].mean()
