"""Are m heads in parallel really faster than m heads one after another?

For m = 1..16 heads at a realistic shape (forward only), this times a Python loop
over the m heads against one batched computation of the same heads: the m Key,
Query and Value matrices side by side, one matmul, then a reshape to
[B, m, T, head_size]. It does so twice, with the same attention kernel on both
sides each time:

    as drawn  the loop runs llmlib's ``Head`` modules; the batched side writes the
              same masked softmax for all heads at once (notebook 04's derivation)
    fused     both sides use torch's scaled_dot_product_attention; the batched side
              is what ``MultiHeadAttention`` runs (one fused q, k, v matmul)

Both sides run interleaved in one process and the best of N repeats is kept, so a
busy machine slows both alike.

    python bench/bench_heads_loop_vs_batched.py [--threads 2] [--repeats 7]
"""

import argparse
import math

import torch
import torch.nn.functional as F

from _timing import best_of  # bench/ is on sys.path when a script runs
from llmlib.attention import Head


def batched_heads(x, Query, Key, Value, n_head):
    """m heads at once, as drawn: Query, Key, Value are [C, m * head_size]."""
    B, T, _ = x.shape
    hs = Query.shape[1] // n_head
    split = lambda t: t.view(B, T, n_head, hs).transpose(1, 2)  # [B, m, T, head_size]
    q, k, v = split(x @ Query), split(x @ Key), split(x @ Value)
    wei = q @ k.transpose(-2, -1) / math.sqrt(hs)  # [B, m, T, T]
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    wei = F.softmax(wei.masked_fill(~mask, float("-inf")), dim=-1)
    return (wei @ v).transpose(1, 2).reshape(B, T, n_head * hs)  # concatenated: [B, T, m * head_size]


def loop_fused(x, heads):
    """The loop with torch's fused attention kernel for each head."""
    return torch.cat(
        [F.scaled_dot_product_attention(x @ h.query, x @ h.key, x @ h.value, is_causal=True) for h in heads], dim=-1
    )


def batched_fused(x, W, n_head):
    """All heads with one [C, 3 * m * head_size] matmul and one fused attention call."""
    B, T, _ = x.shape
    width = W.shape[1] // 3
    hs = width // n_head
    q, k, v = (t.view(B, T, n_head, hs).transpose(1, 2) for t in (x @ W).split(width, dim=2))
    return F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, width)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--block", type=int, default=128, help="T")
    p.add_argument("--n-embd", type=int, default=256, help="C")
    p.add_argument("--head-size", type=int, default=32)
    p.add_argument("--max-heads", type=int, default=16)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    B, T, C, hs = args.batch, args.block, args.n_embd, args.head_size
    x = torch.randn(B, T, C)
    print(f"B={B} T={T} C={C} head_size={hs} threads={torch.get_num_threads()} best of {args.repeats}, times in ms")
    print(f"{'m':>3} | {'loop':>7} {'batched':>8} {'ratio':>6} | {'loop':>7} {'batched':>8} {'ratio':>6}")
    print(f"{'':>3} | {'as drawn (manual softmax)':^24} | {'fused (scaled_dot_product_attention)':^24}")
    ratios = {"as drawn": {}, "fused": {}}
    with torch.no_grad():
        for m in range(1, args.max_heads + 1):
            heads = [Head(C, hs, block_size=T) for _ in range(m)]
            Q, K, V = (torch.cat([getattr(h, n) for h in heads], dim=1) for n in ("query", "key", "value"))
            W = torch.cat([Q, K, V], dim=1)
            variants = {
                "as drawn": (lambda: torch.cat([h(x) for h in heads], dim=-1), lambda: batched_heads(x, Q, K, V, m)),
                "fused": (lambda: loop_fused(x, heads), lambda: batched_fused(x, W, m)),
            }
            row = []
            for name, (loop, batched) in variants.items():
                assert torch.allclose(loop(), batched(), atol=1e-5), name
                t_loop, t_batched = best_of([loop, batched], args.repeats)
                ratios[name][m] = t_loop / t_batched
                row.append(f"{t_loop * 1e3:>7.2f} {t_batched * 1e3:>8.2f} {ratios[name][m]:>6.2f}")
            print(f"{m:>3} | " + " | ".join(row))
    M = args.max_heads
    for name, r in ratios.items():
        geo = math.exp(sum(math.log(v) for v in r.values()) / len(r))
        print(f"ratio (loop/batched time), {name}: {r[M]:.2f} at m={M}; geometric mean over m=1..{M}: {geo:.2f}")


if __name__ == "__main__":
    main()
