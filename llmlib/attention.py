"""Self-attention: one head as drawn in notebook 03, and m heads fused for speed (notebook 04).

Notation, shared with the notebooks:
    X        the input, shape [B, T, C] (batch, time, channels = n_embd)
    Key, Query, Value
             a head's three matrices, each [C, head_size]
    m        the number of heads (n_head); a layer concatenates their outputs

A head at position t may only look at positions <= t (the causal mask), so the
model cannot peek at the token it is asked to predict.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def _check_input(x: torch.Tensor, n_embd: int, block_size: int) -> None:
    if x.dim() != 3:
        raise ValueError(f"attention expects X of shape [B, T, C], got {tuple(x.shape)}; add a batch dimension with x[None]")
    B, T, C = x.shape
    if C != n_embd:
        raise ValueError(f"X has C={C} channels but the layer was built for n_embd={n_embd}; build it with n_embd={C}")
    if T > block_size:
        raise ValueError(
            f"sequence length T={T} exceeds block_size={block_size}; crop the input to its last {block_size} tokens "
            f"(x[:, -{block_size}:]) or build the layer with block_size >= {T}"
        )


class Head(nn.Module):
    """One causal self-attention head, written exactly as notebook 03 draws it.

    ``key``, ``query`` and ``value`` are the head's [C, head_size] matrices, used as
    ``X @ Key``. forward(X) takes [B, T, C] and returns [B, T, head_size]; with
    ``return_weights=True`` it also returns the attention weights [B, T, T].
    """

    def __init__(self, n_embd: int, head_size: int, block_size: int, dropout: float = 0.0):
        super().__init__()
        if n_embd <= 0 or head_size <= 0 or block_size <= 0:
            raise ValueError(f"n_embd, head_size and block_size must be positive, got {n_embd}, {head_size}, {block_size}")
        self.n_embd, self.head_size, self.block_size = n_embd, head_size, block_size
        # Same initial scale as nn.Linear: uniform in +-1/sqrt(C), so X @ Key keeps unit-ish variance.
        bound = 1 / math.sqrt(n_embd)
        self.key = nn.Parameter(torch.empty(n_embd, head_size).uniform_(-bound, bound))
        self.query = nn.Parameter(torch.empty(n_embd, head_size).uniform_(-bound, bound))
        self.value = nn.Parameter(torch.empty(n_embd, head_size).uniform_(-bound, bound))
        self.dropout = nn.Dropout(dropout)
        # Lower-triangular ones: position t sees positions 0..t. A buffer moves with .to(device).
        self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size, dtype=torch.bool)), persistent=False)

    def forward(self, x: torch.Tensor, return_weights: bool = False):
        _check_input(x, self.n_embd, self.block_size)
        T = x.shape[1]
        key = x @ self.key  # [B, T, head_size]
        query = x @ self.query  # [B, T, head_size]
        value = x @ self.value  # [B, T, head_size]
        # Scale by 1/sqrt(head_size) so scores keep unit variance and softmax does not saturate.
        wei = query @ key.transpose(-2, -1) / math.sqrt(self.head_size)  # [B, T, T]
        wei = wei.masked_fill(~self.tril[:T, :T], float("-inf"))
        wei = F.softmax(wei, dim=-1)
        out = self.dropout(wei) @ value  # [B, T, head_size]
        return (out, wei) if return_weights else out


class KVCache:
    """The keys and values one attention layer has already computed, so generation
    feeds only the newest token instead of the whole context.

    ``k`` and ``v`` are [B, n_head, T_cached, head_size]. The cache never holds more
    than ``block_size`` positions; the sampler in generate.py decides what to do then.
    """

    def __init__(self):
        self.k: torch.Tensor | None = None
        self.v: torch.Tensor | None = None

    def __len__(self) -> int:
        return 0 if self.k is None else self.k.shape[2]

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add the new positions' keys and values; return all keys and values so far."""
        self.k = k if self.k is None else torch.cat([self.k, k], dim=2)
        self.v = v if self.v is None else torch.cat([self.v, v], dim=2)
        return self.k, self.v

    def reset(self) -> None:
        self.k = self.v = None


class MultiHeadAttention(nn.Module):
    """m = n_head causal heads computed at once, then concatenated and projected.

    The m Key matrices side by side form one [C, m * head_size] matrix, and likewise
    for Query and Value; ``c_attn`` holds all three (GPT-2's name and layout: query,
    key, value), so one matmul computes every head. A reshape to [B, m, T, head_size]
    then runs the heads in parallel. ``c_proj`` mixes the concatenated heads back to C.

    forward(X) takes [B, T, C] and returns [B, T, C]. With ``return_weights=True``
    it also returns the weights [B, n_head, T, T]; otherwise it uses PyTorch's fused
    ``scaled_dot_product_attention``, which never materialises them.
    """

    def __init__(self, n_embd: int, n_head: int, block_size: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        if n_head <= 0 or n_embd <= 0 or block_size <= 0:
            raise ValueError(f"n_embd, n_head and block_size must be positive, got {n_embd}, {n_head}, {block_size}")
        if n_embd % n_head != 0:
            divisors = [d for d in range(1, n_embd + 1) if n_embd % d == 0 and d <= 64]
            raise ValueError(
                f"n_embd={n_embd} is not divisible by n_head={n_head}, so heads cannot split the channels evenly; "
                f"pick n_head from {divisors} or change n_embd to a multiple of {n_head}"
            )
        self.n_embd, self.n_head, self.block_size = n_embd, n_head, block_size
        self.head_size = n_embd // n_head
        self.dropout = dropout
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.attn_dropout = nn.Dropout(dropout)
        self.resid_dropout = nn.Dropout(dropout)
        self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size, dtype=torch.bool)), persistent=False)

    # The notation of notebooks 03-04: each is [C, m * head_size], head i in columns i*hs:(i+1)*hs.
    @property
    def Query(self) -> torch.Tensor:
        return self.c_attn.weight[: self.n_embd].T

    @property
    def Key(self) -> torch.Tensor:
        return self.c_attn.weight[self.n_embd : 2 * self.n_embd].T

    @property
    def Value(self) -> torch.Tensor:
        return self.c_attn.weight[2 * self.n_embd :].T

    @torch.no_grad()
    def load_heads(self, heads: list[Head]) -> "MultiHeadAttention":
        """Copy m ``Head`` modules into the fused matrices, so both compute the same thing."""
        if len(heads) != self.n_head:
            raise ValueError(f"got {len(heads)} heads for a layer with n_head={self.n_head}")
        for h in heads:
            if (h.n_embd, h.head_size) != (self.n_embd, self.head_size):
                raise ValueError(
                    f"a head has n_embd={h.n_embd}, head_size={h.head_size}; this layer needs "
                    f"n_embd={self.n_embd}, head_size={self.head_size}"
                )
        for i, m in enumerate(("query", "key", "value")):
            stacked = torch.cat([getattr(h, m) for h in heads], dim=1)  # [C, m * head_size]
            self.c_attn.weight[i * self.n_embd : (i + 1) * self.n_embd] = stacked.T
        if self.c_attn.bias is not None:
            self.c_attn.bias.zero_()
        return self

    def _split_heads(self, t: torch.Tensor) -> torch.Tensor:
        B, T, _ = t.shape
        return t.view(B, T, self.n_head, self.head_size).transpose(1, 2)  # [B, m, T, head_size]

    def forward(self, x: torch.Tensor, return_weights: bool = False, kv_cache: KVCache | None = None):
        """X [B, T, C] -> [B, T, C] (and weights [B, n_head, T, T_total] when asked).

        With a ``kv_cache``, X holds only the new positions: their keys and values are
        appended to the cache and their queries attend to every cached position.
        """
        past = 0 if kv_cache is None else len(kv_cache)
        if past > 0 and x.dim() == 3 and x.shape[1] + past > self.block_size:
            raise ValueError(
                f"{past} cached + {x.shape[1]} new positions exceed block_size={self.block_size}; "
                "reset the cache and feed the last block_size tokens"
            )
        _check_input(x, self.n_embd, self.block_size)
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q, k, v = self._split_heads(q), self._split_heads(k), self._split_heads(v)
        if kv_cache is not None:
            k, v = kv_cache.append(k, v)
        T_total = k.shape[2]
        # New query i sits at absolute position past + i and may see keys 0..past + i.
        mask = self.tril[past : past + T, :T_total]
        if return_weights:
            wei = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_size)  # [B, m, T, T_total]
            wei = F.softmax(wei.masked_fill(~mask, float("-inf")), dim=-1)
            y = self.attn_dropout(wei) @ v
        else:
            wei = None
            drop = self.dropout if self.training else 0.0
            if past == 0:
                y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, is_causal=True)
            else:
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # concatenate the heads: [B, T, m * head_size]
        y = self.resid_dropout(self.c_proj(y))
        return (y, wei) if return_weights else y
