"""Solutions to notebook 05's exercises (kept apart from the learner's notebook)."""

import torch


def exercise_5_1(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, keepdim=True, unbiased=False)  # LayerNorm divides by C, not C - 1
    out = (x - mean) / torch.sqrt(var + eps) * weight
    return out if bias is None else out + bias


def exercise_5_2(x, block):
    x = x + block.attn(block.ln_1(x))
    return x + block.mlp(block.ln_2(x))


def exercise_5_3(vocab_size, block_size, n_layer, n_embd, bias=True):
    C = n_embd
    ln = 2 * C if bias else C  # weight (and bias) of one LayerNorm
    attn = 3 * C * C + C * C + (4 * C if bias else 0)  # c_attn and c_proj
    mlp = 4 * C * C + 4 * C * C + (5 * C if bias else 0)  # c_fc and c_proj
    per_layer = 2 * ln + attn + mlp
    return vocab_size * C + block_size * C + n_layer * per_layer + ln  # lm_head is tied to wte


def exercise_5_4(state_dict):
    conv1d = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
    return {k: v.t().contiguous() if k.endswith(conv1d) else v for k, v in state_dict.items()}
