import math
import re

import pytest
import torch
import torch.nn.functional as F

from llmlib.attention import Head, KVCache, MultiHeadAttention


def _head_by_hand(x, Key, Query, Value):
    """One head with explicit loops over batch, query and key positions."""
    B, T, _ = x.shape
    hs = Key.shape[1]
    out = torch.zeros(B, T, hs)
    wei = torch.zeros(B, T, T)
    for b in range(B):
        k, q, v = x[b] @ Key, x[b] @ Query, x[b] @ Value
        for t in range(T):
            scores = torch.stack([q[t] @ k[s] / math.sqrt(hs) for s in range(t + 1)])
            w = torch.exp(scores - scores.max())
            w = w / w.sum()
            wei[b, t, : t + 1] = w
            out[b, t] = sum(w[s] * v[s] for s in range(t + 1))
    return out, wei


def test_head_matches_a_computation_by_hand():
    torch.manual_seed(0)
    B, T, C, hs = 2, 5, 8, 4
    head = Head(C, hs, block_size=8)
    x = torch.randn(B, T, C)
    out, wei = head(x, return_weights=True)
    ref_out, ref_wei = _head_by_hand(x, head.key, head.query, head.value)
    assert head.key.shape == head.query.shape == head.value.shape == (C, hs)
    assert out.shape == (B, T, hs) and wei.shape == (B, T, T)
    assert torch.allclose(out, ref_out, atol=1e-5)
    assert torch.allclose(wei, ref_wei, atol=1e-6)
    assert torch.equal(head(x), out)


def test_head_weights_are_causal_rows_that_sum_to_one():
    torch.manual_seed(0)
    head = Head(16, 8, block_size=10)
    _, wei = head(torch.randn(3, 10, 16), return_weights=True)
    assert torch.allclose(wei.sum(-1), torch.ones(3, 10))
    assert torch.all(wei.triu(diagonal=1) == 0)


def test_head_matches_torch_scaled_dot_product_attention():
    torch.manual_seed(0)
    head = Head(12, 6, block_size=16)
    x = torch.randn(2, 16, 12)
    ref = F.scaled_dot_product_attention(x @ head.query, x @ head.key, x @ head.value, is_causal=True)
    assert torch.allclose(head(x), ref, atol=1e-5)


@pytest.mark.parametrize("n_head, bias", [(1, True), (4, True), (4, False), (6, True)])
def test_multi_head_attention_equals_the_loop_of_heads_it_replaces(n_head, bias):
    torch.manual_seed(0)
    C, T = 24, 7
    hs = C // n_head
    heads = [Head(C, hs, block_size=T) for _ in range(n_head)]
    mha = MultiHeadAttention(C, n_head, block_size=T, bias=bias).load_heads(heads)
    x = torch.randn(3, T, C)
    # The loop: every head on its own, outputs concatenated, then the output projection.
    concat = torch.cat([h(x) for h in heads], dim=-1)  # [B, T, m * head_size]
    loop = mha.c_proj(concat)
    fast = mha(x)
    slow, wei = mha(x, return_weights=True)
    assert fast.shape == (3, T, C) and wei.shape == (3, n_head, T, T)
    assert torch.allclose(fast, loop, atol=1e-5)
    assert torch.allclose(slow, loop, atol=1e-5)
    for i, h in enumerate(heads):
        assert torch.allclose(wei[:, i], h(x, return_weights=True)[1], atol=1e-6)


def test_query_key_value_hold_the_heads_side_by_side():
    torch.manual_seed(0)
    C, m = 16, 4
    hs = C // m
    heads = [Head(C, hs, block_size=4) for _ in range(m)]
    mha = MultiHeadAttention(C, m, block_size=4).load_heads(heads)
    for name in ("Query", "Key", "Value"):
        M = getattr(mha, name)
        assert M.shape == (C, m * hs)
        for i, h in enumerate(heads):
            assert torch.equal(M[:, i * hs : (i + 1) * hs], getattr(h, name.lower()))


@pytest.mark.parametrize("make", [lambda: Head(8, 4, block_size=6), lambda: MultiHeadAttention(8, 2, block_size=6)])
def test_changing_a_future_token_never_changes_an_earlier_output(make):
    torch.manual_seed(0)
    layer = make().eval()
    x = torch.randn(2, 6, 8)
    base = layer(x)
    for t in range(6):
        x2 = x.clone()
        x2[:, t] = torch.randn(2, 8) * 5
        out = layer(x2)
        assert torch.allclose(out[:, :t], base[:, :t], atol=1e-6), f"position < {t} changed"
        if t < 5:
            assert not torch.allclose(out[:, t:], base[:, t:])


@pytest.mark.parametrize("chunks", [[1] * 8, [3, 1, 4], [8], [5, 2, 1]])
def test_kv_cache_path_equals_the_full_computation(chunks):
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4, block_size=8).eval()
    x = torch.randn(2, 8, 16)
    full, full_wei = mha(x, return_weights=True)
    for return_weights in (False, True):
        cache, outs, start = KVCache(), [], 0
        for n in chunks:
            res = mha(x[:, start : start + n], return_weights=return_weights, kv_cache=cache)
            if return_weights:
                res, wei = res
                assert wei.shape == (2, 4, n, start + n)
                assert torch.allclose(wei, full_wei[:, :, start : start + n, : start + n], atol=1e-6)
            outs.append(res)
            start += n
        assert len(cache) == 8
        assert torch.allclose(torch.cat(outs, dim=1), full, atol=1e-5)
    cache.reset()
    assert len(cache) == 0 and cache.k is None


def test_dropout_only_acts_in_training():
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4, block_size=8, dropout=0.5)
    head = Head(16, 4, block_size=8, dropout=0.5)
    x = torch.randn(2, 8, 16)
    mha.eval(), head.eval()
    assert torch.equal(mha(x), mha(x)) and torch.equal(head(x), head(x))
    mha.train(), head.train()
    assert not torch.allclose(mha(x), mha(x))


def _raises(error, words, fn):
    with pytest.raises(error, match=re.escape(words)):
        fn()


def test_error_messages_say_what_to_change():
    head = Head(8, 4, block_size=4)
    mha = MultiHeadAttention(8, 2, block_size=4)
    for layer in (head, mha):
        _raises(ValueError, "crop the input to its last 4 tokens", lambda: layer(torch.randn(1, 5, 8)))
        _raises(ValueError, "build it with n_embd=6", lambda: layer(torch.randn(1, 3, 6)))
        _raises(ValueError, "x[None]", lambda: layer(torch.randn(3, 8)))
    _raises(ValueError, "pick n_head from [1, 2, 3, 4, 6, 8, 12, 24]", lambda: MultiHeadAttention(24, 5, block_size=4))
    _raises(ValueError, "must be positive", lambda: MultiHeadAttention(8, 0, block_size=4))
    _raises(ValueError, "must be positive", lambda: Head(8, 0, block_size=4))
    _raises(ValueError, "got 1 heads for a layer with n_head=2", lambda: mha.load_heads([Head(8, 4, 4)]))
    _raises(ValueError, "this layer needs n_embd=8, head_size=4", lambda: mha.load_heads([Head(8, 2, 4)] * 2))
    cache = KVCache()
    mha(torch.randn(1, 3, 8), kv_cache=cache)
    _raises(ValueError, "reset the cache", lambda: mha(torch.randn(1, 2, 8), kv_cache=cache))
