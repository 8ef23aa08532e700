"""Checkers for notebook 03 (one attention head)."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from llmlib.attention import Head


def check_exercise_3_1(fn):
    """fn(T, decay) -> [T, T]: row t weighs position s <= t in proportion to decay ** (t - s); rows sum to 1."""
    for T in (1, 4, 7):
        for decay in (1.0, 0.5, 0.9):
            W = fn(T, decay)
            assert isinstance(W, torch.Tensor), f"return a torch.Tensor, got {type(W).__name__}"
            assert tuple(W.shape) == (T, T), f"for T={T} return a [T, T] matrix, got {tuple(W.shape)}"
            W = W.float()
            t = torch.arange(T, dtype=torch.float)
            raw = torch.where(t[None, :] <= t[:, None], decay ** (t[:, None] - t[None, :]), torch.zeros(()))
            ref = raw / raw.sum(1, keepdim=True)
            if torch.allclose(W, ref, atol=1e-5):
                continue
            if T > 1 and torch.allclose(W, raw, atol=1e-5):
                raise AssertionError("rows must sum to 1: divide each row by its sum")
            if T > 1 and not torch.allclose(W.triu(1), torch.zeros(T, T)):
                raise AssertionError("row t may only use positions 0..t: the upper triangle must be 0")
            if T > 1 and decay != 1.0:
                if torch.allclose(W, torch.tril(torch.ones(T, T)) / (t[:, None] + 1), atol=1e-5):
                    raise AssertionError("this is the plain average: weigh position s by decay ** (t - s)")
                rev = torch.where(t[None, :] <= t[:, None], decay ** t[None, :], torch.zeros(()))
                if torch.allclose(W, rev / rev.sum(1, keepdim=True), atol=1e-5):
                    raise AssertionError("the newest token must weigh most: use decay ** (t - s), the distance back from t")
            raise AssertionError(f"wrong weights for T={T}, decay={decay}")
    x = torch.randn(2, 6, 3)
    assert torch.allclose(fn(6, 1.0).float() @ x, torch.stack([x[:, : t + 1].mean(1) for t in range(6)], 1), atol=1e-5)
    print("check_exercise_3_1: correct, any fixed weighting of the past is one lower-triangular matmul; decay=1 is the plain average")


class _Leaky(nn.Module):
    """A head whose mask lets position t see `extra` positions into its future."""

    def __init__(self, extra, C=8, hs=4, T=16):
        super().__init__()
        self.head = Head(C, hs, block_size=T)
        self.extra = extra

    def forward(self, x):
        h, T = self.head, x.shape[1]
        q, k, v = x @ h.query, x @ h.key, x @ h.value
        mask = torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=self.extra)
        return F.softmax((q @ k.transpose(-2, -1) / 2).masked_fill(~mask, float("-inf")), -1) @ v


class _LeaksAtTheEnd(nn.Module):
    """Causal except that the last position's input leaks into position 0."""

    def __init__(self, C=8, hs=4, T=16):
        super().__init__()
        self.head = Head(C, hs, block_size=T)

    def forward(self, x):
        out = self.head(x)
        return torch.cat([out[:, :1] + x[:, -1:, : out.shape[-1]], out[:, 1:]], dim=1)


def check_exercise_3_2(fn):
    """fn(layer, T, C) -> True if changing a future token can change an earlier output, else False."""
    torch.manual_seed(0)
    cases = [
        (Head(8, 4, block_size=16), False, "a causal Head"),
        (_Leaky(extra=1), True, "a head whose mask is off by one (it sees the next token)"),
        (_Leaky(extra=16), True, "a head with no mask at all"),
        (_LeaksAtTheEnd(), True, "a layer where only the LAST token leaks into position 0"),
    ]
    for layer, leaks, what in cases:
        for T in (5, 12):
            out = fn(layer, T, 8)
            assert isinstance(out, bool), f"return True or False, got {out!r}"
            if out != leaks:
                raise AssertionError(
                    f"for {what} with T={T} you returned {out}, expected {leaks}: for every position t, change the "
                    "tokens after t and compare the outputs at positions 0..t"
                )
    print("check_exercise_3_2: correct, your test catches every kind of leak from the future")


def _window_ref(q, k, window):
    T, hs = q.shape[-2], q.shape[-1]
    i = torch.arange(T)
    allowed = (i[None, :] <= i[:, None]) & (i[None, :] > i[:, None] - window)
    scores = q @ k.transpose(-2, -1) / math.sqrt(hs)
    return F.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)


def check_exercise_3_3(fn):
    """fn(query, key, window) -> weights [B, T, T] where query t sees keys t-window+1 .. t only."""
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, 8, 16, generator=g), torch.randn(2, 8, 16, generator=g)
    for window in (1, 3, 8, 20):
        w = fn(q, k, window)
        assert isinstance(w, torch.Tensor), f"return a torch.Tensor, got {type(w).__name__}"
        assert tuple(w.shape) == (2, 8, 8), f"weights must be [B, T, T] = (2, 8, 8), got {tuple(w.shape)}"
        ref = _window_ref(q, k, window)
        if torch.allclose(w, ref, atol=1e-5):
            continue
        if window < 8 and torch.allclose(w, _window_ref(q, k, window + 1), atol=1e-5):
            raise AssertionError(f"off by one: with window={window} a query sees exactly {window} keys, itself included")
        if window < 8 and torch.allclose(w, _window_ref(q, k, 100), atol=1e-5):
            raise AssertionError("the window is ignored: also mask keys more than window - 1 positions back")
        if torch.allclose(w, _window_ref(q * math.sqrt(16), k, window), atol=1e-5):
            raise AssertionError("scale the scores by 1/sqrt(head_size), as in the head")
        raise AssertionError(f"wrong weights for window={window}")
    assert torch.allclose(fn(q, k, 1), torch.eye(8).expand(2, 8, 8), atol=1e-6), "with window=1 every token attends only to itself"
    print("check_exercise_3_3: correct, a sliding window is one more mask: the cost grows with T * window, not T^2")
