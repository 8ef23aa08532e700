"""llmlib's MultiHeadAttention against torch.nn.MultiheadAttention, causal, same shapes.

Both layers get the same weights (so their outputs are checked equal first), a
causal mask, and the same input; we time forward only (no grad) and forward plus
backward, interleaved in one process, best of N, and print ours / torch.

    python bench/bench_mha_vs_torch.py [--threads 2] [--repeats 9]
"""

import argparse

import torch
import torch.nn as nn

from _timing import best_of  # bench/ is on sys.path when a script runs
from llmlib.attention import MultiHeadAttention


def make_pair(C, n_head, T):
    ours = MultiHeadAttention(C, n_head, block_size=T)
    ref = nn.MultiheadAttention(C, n_head, batch_first=True)
    with torch.no_grad():  # same layout: in_proj is [q; k; v] stacked, out_proj is c_proj
        ref.in_proj_weight.copy_(ours.c_attn.weight)
        ref.in_proj_bias.copy_(ours.c_attn.bias)
        ref.out_proj.weight.copy_(ours.c_proj.weight)
        ref.out_proj.bias.copy_(ours.c_proj.bias)
    return ours, ref


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=9)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    # (B, T, C, n_head): notebook 04's layer, the char model of notebook 06, a GPT-2 small layer.
    shapes = [(16, 32, 64, 4), (16, 128, 192, 6), (8, 256, 384, 6), (4, 512, 768, 12)]
    print(f"threads={torch.get_num_threads()} best of {args.repeats}, times in ms")
    print(f"{'B':>3} {'T':>4} {'C':>4} {'m':>3} | {'fwd ours':>9} {'torch':>7} {'ratio':>6} | {'f+b ours':>9} {'torch':>7} {'ratio':>6}")
    all_ratios = {"forward": [], "forward+backward": []}
    for B, T, C, m in shapes:
        ours, ref = make_pair(C, m, T)
        x = torch.randn(B, T, C)
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)  # True = may not attend
        run_ref = lambda: ref(x, x, x, attn_mask=mask, is_causal=True, need_weights=False)[0]
        assert torch.allclose(ours(x), run_ref(), atol=1e-5), "the two layers disagree"

        # Both stay in train mode (dropout is 0): torch's eval-mode fast path was slower here.
        def fwd_ours():
            with torch.no_grad():
                ours(x)

        def fwd_ref():
            with torch.no_grad():
                run_ref()

        xg = x.clone().requires_grad_(True)

        def fb_ours():
            ours(xg).sum().backward()

        def fb_ref():
            ref(xg, xg, xg, attn_mask=mask, is_causal=True, need_weights=False)[0].sum().backward()

        row = []
        for name, a, b in (("forward", fwd_ours, fwd_ref), ("forward+backward", fb_ours, fb_ref)):
            ta, tb = best_of([a, b], args.repeats)
            all_ratios[name].append(ta / tb)
            row.append(f"{ta * 1e3:>9.2f} {tb * 1e3:>7.2f} {ta / tb:>6.2f}")
        print(f"{B:>3} {T:>4} {C:>4} {m:>3} | " + " | ".join(row))
    for name, r in all_ratios.items():
        print(f"ratio (ours/torch.nn.MultiheadAttention time), {name}: " + ", ".join(f"{v:.2f}" for v in r))


if __name__ == "__main__":
    main()
