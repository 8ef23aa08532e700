"""Checkers for notebook 04 (m heads in parallel)."""

import math

import torch
import torch.nn.functional as F

from llmlib.attention import Head, MultiHeadAttention


def check_exercise_4_1(fn):
    """fn(n_embd, n_head, bias=True) -> the number of parameters of MultiHeadAttention."""
    for C, m in [(64, 4), (64, 1), (48, 6), (768, 12)]:
        for bias in (True, False):
            ref = sum(p.numel() for p in MultiHeadAttention(C, m, block_size=4, bias=bias).parameters())
            out = fn(C, m, bias=bias)
            if out == ref:
                continue
            if out == 3 * C * C + (3 * C if bias else 0):
                raise AssertionError("the output projection c_proj ([C, C] plus its bias) is missing")
            if bias and out == 4 * C * C:
                raise AssertionError("the biases are missing: c_attn has 3C of them and c_proj C")
            raise AssertionError(f"n_embd={C}, n_head={m}, bias={bias}: expected {ref}, got {out}")
    print("check_exercise_4_1: correct, and n_head never appears: more heads cost no extra parameters")


def _entropy(weights):
    p = weights.clamp_min(1e-30)
    return -(weights * p.log2()).sum(-1).mean(dim=(0, 2))


def check_exercise_4_2(fn):
    """fn(weights [B, m, T, T]) -> [m], each head's entropy in bits, averaged over batch and queries."""
    T = 4
    flat = torch.tril(torch.ones(T, T)) / torch.arange(1, T + 1)[:, None]  # attends evenly
    sharp = torch.eye(T)  # attends to itself only
    w = torch.stack([flat, sharp, flat]).expand(2, 3, T, T)
    out = fn(w)
    assert isinstance(out, torch.Tensor) and out.shape == (3,), f"return one number per head, shape (3,), got {getattr(out, 'shape', out)}"
    assert torch.isfinite(out).all(), "0 * log(0) gave nan: masked weights are exactly 0 and contribute 0 bits; skip or clamp them"
    flat_bits = float(torch.log2(torch.arange(1.0, T + 1)).sum() / T)
    expected = torch.tensor([flat_bits, 0.0, flat_bits])
    if torch.allclose(out, expected * math.log(2), atol=1e-4):
        raise AssertionError("that is in nats: use log2 for bits")
    assert torch.allclose(out, expected, atol=1e-4), f"expected {expected.tolist()} bits, got {out.tolist()}"
    g = torch.Generator().manual_seed(0)
    mask = torch.tril(torch.ones(6, 6, dtype=torch.bool))
    rand = torch.softmax(torch.randn(2, 4, 6, 6, generator=g).masked_fill(~mask, float("-inf")), -1)
    assert torch.allclose(fn(rand), _entropy(rand), atol=1e-4), "average the entropy of each row over batch and query positions"
    print("check_exercise_4_2: correct, low entropy = a head that focuses, high = a head that averages")


def _gqa_reference(x, Query, Key, Value, n_head, n_kv_head):
    hs = Query.shape[1] // n_head
    group = n_head // n_kv_head
    outs = []
    for h in range(n_head):
        kv = h // group  # query heads h = kv*group .. kv*group + group - 1 share key/value head kv
        cols = slice(h * hs, (h + 1) * hs)
        kv_cols = slice(kv * hs, (kv + 1) * hs)
        q, k, v = x @ Query[:, cols], x @ Key[:, kv_cols], x @ Value[:, kv_cols]
        outs.append(F.scaled_dot_product_attention(q, k, v, is_causal=True))
    return torch.cat(outs, dim=-1)


def check_exercise_4_3(fn):
    """fn(x, Query [C, m*hs], Key, Value [C, m_kv*hs], n_head, n_kv_head) -> [B, T, m*hs]: grouped-query attention."""
    g = torch.Generator().manual_seed(0)
    for B, T, C, m, m_kv in [(2, 6, 16, 4, 2), (1, 5, 12, 6, 3), (2, 4, 16, 4, 1), (2, 4, 16, 4, 4)]:
        hs = C // m
        x = torch.randn(B, T, C, generator=g)
        Query = torch.randn(C, m * hs, generator=g) / math.sqrt(C)
        Key, Value = (torch.randn(C, m_kv * hs, generator=g) / math.sqrt(C) for _ in range(2))
        out = fn(x, Query, Key, Value, m, m_kv)
        assert isinstance(out, torch.Tensor), f"return a torch.Tensor, got {type(out).__name__}"
        assert tuple(out.shape) == (B, T, m * hs), f"expected [B, T, n_head * head_size] = {(B, T, m * hs)}, got {tuple(out.shape)}"
        ref = _gqa_reference(x, Query, Key, Value, m, m_kv)
        if torch.allclose(out, ref, atol=1e-5):
            continue
        if m_kv not in (1, m):
            # Interleaved sharing (head h uses key/value head h % n_kv_head) is the common slip.
            inter = torch.cat([
                F.scaled_dot_product_attention(x @ Query[:, h * hs : (h + 1) * hs], x @ Key[:, (h % m_kv) * hs : (h % m_kv + 1) * hs],
                                               x @ Value[:, (h % m_kv) * hs : (h % m_kv + 1) * hs], is_causal=True)
                for h in range(m)], dim=-1)
            if torch.allclose(out, inter, atol=1e-5):
                raise AssertionError(
                    "query heads are paired with the wrong key/value heads: neighbouring query heads share one, "
                    "head h uses key/value head h // (n_head // n_kv_head) (use repeat_interleave, not repeat)"
                )
        raise AssertionError(f"wrong output for n_head={m}, n_kv_head={m_kv}, T={T}")
    print("check_exercise_4_3: correct, grouped-query attention: fewer keys and values to store, the same shape out")
