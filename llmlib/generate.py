"""Sampling text from a GPT, one token at a time (notebook 07).

Each step turns the logits of the last position into a probability distribution and
draws the next token from it:

    logits [B, vocab_size] -> / temperature -> top-k cut -> top-p cut -> softmax -> sample

temperature < 1 sharpens the distribution, > 1 flattens it and 0 means greedy (argmax).
top-k keeps the k most likely tokens; top-p (nucleus) keeps the most likely tokens
whose probabilities add up to at least p. A cut token gets logit -inf, so probability 0.

The KV cache: attention at a new position needs the keys and values of every earlier
position, and those never change, so each layer keeps them (``KVCache``) and a step
feeds only the newest token: O(T) work per step instead of O(T^2).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from llmlib.attention import KVCache
from llmlib.model import GPT

__all__ = ["generate", "top_k_filter", "top_p_filter", "sampling_probs", "sample_next"]


def _check_temperature(temperature) -> None:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not math.isfinite(temperature):
        raise TypeError(f"temperature must be a finite number, got {temperature!r}; use e.g. 1.0 (0 means greedy)")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}; use 0 for greedy decoding, 1.0 to sample as trained")


def _check_top_k(k) -> None:
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"top_k must be an int or None, got {k!r}; use None to keep every token")
    if k < 1:
        raise ValueError(f"top_k must be >= 1, got {k}; use None (not 0) to switch the top-k cut off")


def _check_top_p(p) -> None:
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"top_p must be a number in (0, 1] or None, got {p!r}; use None to switch the top-p cut off")
    if not 0 < p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {p}; e.g. 0.9 keeps the tokens that make up 90% of the mass")


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k largest logits of each row ([..., vocab_size]); set the rest to -inf.

    Tokens tied with the k-th largest logit are all kept, so the result does not depend
    on how a sort breaks ties (a row may keep more than k tokens). k >= vocab_size keeps all.
    """
    _check_top_k(k)
    if k >= logits.shape[-1]:
        return logits
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]  # [..., 1], the k-th largest
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus cut: keep the fewest most-likely tokens whose probabilities sum to >= p.

    Works on each row of ``logits`` [..., vocab_size]; cut tokens get -inf. At least one
    token always survives (the most likely), and p=1.0 keeps every token. Tokens tied in
    probability with the last one kept are kept too, as in ``top_k_filter``.
    """
    _check_top_p(p)
    if p >= 1.0:
        return logits  # skip the cumulative sum, whose float rounding could drop tiny tokens
    probs = F.softmax(logits, dim=-1)
    sorted_probs = torch.sort(probs, dim=-1, descending=True).values
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs  # mass of the tokens ranked above each one
    # Token number n (0-based) is needed while the tokens above it hold less than p.
    n_keep = (mass_before < p).sum(dim=-1, keepdim=True).clamp(min=1)  # [..., 1]
    threshold = sorted_probs.gather(-1, n_keep - 1)  # probability of the last token kept
    return logits.masked_fill(probs < threshold, float("-inf"))


def sampling_probs(
    logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> torch.Tensor:
    """The distribution ``generate`` samples from, given the last position's logits [..., vocab_size].

    temperature=0 gives a one-hot vector on the argmax (greedy decoding).
    """
    _check_temperature(temperature)
    if temperature == 0:
        return F.one_hot(logits.argmax(dim=-1), logits.shape[-1]).to(logits.dtype)
    logits = logits / temperature
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    return F.softmax(logits, dim=-1)


def sample_next(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One token per row: logits [B, vocab_size] -> ids [B, 1]. Greedy when temperature is 0."""
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)  # no random draw, so the generator is left untouched
    probs = sampling_probs(logits, temperature, top_k, top_p)
    return torch.multinomial(probs, num_samples=1, generator=generator)


def generate(
    model: GPT,
    idx: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    kv_cache: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Extend each row of the prompt ``idx`` [B, T] by ``max_new_tokens`` sampled tokens.

    Returns [B, T + max_new_tokens]: the prompt, then the new tokens. The model sees at
    most ``block_size`` tokens, so a longer prompt (or context, as it grows) is cropped
    to its last ``block_size`` tokens before each step; the returned ids keep everything.

    kv_cache=True feeds only the newest token to the model while the context fits in
    ``block_size``. Once it no longer fits, the window slides by one token every step,
    every position shifts and the cached keys and values (computed at the old positions)
    go stale, so the cache is rebuilt from the cropped window at each step. That makes
    both paths compute the same logits up to float rounding: with the same ``generator``
    seed they return the same tokens, and beyond block_size the cache saves nothing.

    The model runs in eval mode (no dropout) under torch.no_grad(); its training mode
    is restored afterwards.
    """
    if not isinstance(idx, torch.Tensor) or idx.dtype != torch.long or idx.dim() != 2:
        got = f"{tuple(idx.shape)} {idx.dtype}" if isinstance(idx, torch.Tensor) else type(idx).__name__
        raise TypeError(f"idx must be a torch.long tensor [B, T] of prompt ids, got {got}; e.g. torch.tensor([ids])")
    if idx.shape[1] == 0:
        raise ValueError("the prompt is empty (T=0); give at least one token, e.g. the id of a newline")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be an int >= 0, got {max_new_tokens!r}")
    _check_temperature(temperature)
    if top_k is not None:
        _check_top_k(top_k)
    if top_p is not None:
        _check_top_p(top_p)

    block_size = model.config.block_size
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            caches = [KVCache() for _ in range(model.config.n_layer)] if kv_cache else None
            logits = _logits_for_window(model, idx[:, -block_size:], caches)
            for step in range(max_new_tokens):
                next_id = sample_next(logits, temperature, top_k, top_p, generator)  # [B, 1]
                idx = torch.cat([idx, next_id], dim=1)
                if step == max_new_tokens - 1:
                    break  # the last token needs no logits after it
                if caches is not None and len(caches[0]) < block_size:
                    logits = model(next_id, kv_caches=caches)[0][:, -1, :]
                else:
                    logits = _logits_for_window(model, idx[:, -block_size:], caches)
    finally:
        model.train(was_training)
    return idx


def _logits_for_window(model: GPT, window: torch.Tensor, caches: list[KVCache] | None) -> torch.Tensor:
    """Run the whole window from position 0 (refilling the caches, if any); last position's logits."""
    if caches is not None:
        for cache in caches:
            cache.reset()
    return model(window, kv_caches=caches)[0][:, -1, :]
