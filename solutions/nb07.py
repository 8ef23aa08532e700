"""Solutions to notebook 07's exercises (kept apart from the learner's notebook)."""

import torch

from llmlib.attention import KVCache


def exercise_7_1(logits, temperature):
    if temperature == 0:
        return torch.nn.functional.one_hot(logits.argmax(-1), logits.shape[-1]).to(logits.dtype)
    return torch.softmax(logits / temperature, dim=-1)


def exercise_7_2(logits, min_p):
    probs = torch.softmax(logits, dim=-1)
    floor = min_p * probs.max(dim=-1, keepdim=True).values  # a threshold relative to the favourite
    return logits.masked_fill(probs < floor, float("-inf"))


def exercise_7_3(logits, p):
    probs = torch.softmax(logits, dim=-1)
    sorted_probs, order = torch.sort(probs, dim=-1, descending=True)
    before = sorted_probs.cumsum(-1) - sorted_probs  # mass of the tokens ranked above each one
    cut_sorted = before >= p  # enough mass already: this token is not needed
    cut = torch.zeros_like(cut_sorted).scatter(-1, order, cut_sorted)
    return logits.masked_fill(cut, float("-inf"))


def exercise_7_4(model, idx, max_new_tokens):
    caches = [KVCache() for _ in range(model.config.n_layer)]
    logits = model(idx, kv_caches=caches)[0][:, -1]
    for _ in range(max_new_tokens):
        next_id = logits.argmax(-1, keepdim=True)
        idx = torch.cat([idx, next_id], dim=1)
        logits = model(next_id, kv_caches=caches)[0][:, -1]
    return idx
