"""How much the KV cache speeds up generation (notebook 07's claim).

A 6-layer, 384-wide GPT (6 heads, block_size 256, ~10.7M parameters) generates from a
short prompt until the context is 256 tokens long, once with the cache and once
without (the reference), with the same generator seed. The two must give identical
tokens. Runs alternate and the best of --repeats is kept, so a busy machine hurts
both sides alike.

    python bench/bench_kv_cache.py [--repeats 3] [--threads 1]
"""

import argparse
import time

import torch

from llmlib.generate import generate
from llmlib.model import GPT, GPTConfig


def timed(model, prompt, new_tokens, kv_cache, seed):
    g = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    out = generate(model, prompt, new_tokens, kv_cache=kv_cache, generator=g)
    return time.perf_counter() - start, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 keeps a shared machine usable)")
    parser.add_argument("--min-speedup", type=float, default=5.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    config = GPTConfig(vocab_size=65, block_size=256, n_layer=6, n_head=6, n_embd=384)
    torch.manual_seed(0)
    model = GPT(config).eval()
    prompt = torch.randint(0, config.vocab_size, (1, 8), generator=torch.Generator().manual_seed(1))
    new_tokens = config.block_size - prompt.shape[1]
    print(f"model: {model.num_params() / 1e6:.1f}M parameters, {config.n_layer} layers, n_embd={config.n_embd}, "
          f"n_head={config.n_head}; prompt {prompt.shape[1]} tokens -> {config.block_size} tokens; "
          f"{args.threads} thread(s)")

    timed(model, prompt, 8, True, 0), timed(model, prompt, 8, False, 0)  # warm-up
    best = {True: float("inf"), False: float("inf")}
    for r in range(args.repeats):
        outs, seconds = {}, {}
        for kv_cache in (True, False):
            seconds[kv_cache], outs[kv_cache] = timed(model, prompt, new_tokens, kv_cache, seed=r)
            best[kv_cache] = min(best[kv_cache], seconds[kv_cache])
        assert torch.equal(outs[True], outs[False]), f"repeat {r}: the cache changed the sampled tokens"
        print(f"repeat {r}: cache {seconds[True]:.2f} s, no cache {seconds[False]:.2f} s; samples identical")

    speedup = best[False] / best[True]
    print(f"with cache:    {best[True]:.3f} s  ({new_tokens / best[True]:.0f} tokens/s)")
    print(f"without cache: {best[False]:.3f} s  ({new_tokens / best[False]:.0f} tokens/s)")
    print(f"ratio (ours/reference time): {1 / speedup:.3f}")
    print(f"speed-up of the KV cache: {speedup:.1f}x")
    assert speedup >= args.min_speedup, f"the KV cache is only {speedup:.1f}x faster; expected >= {args.min_speedup}x"


if __name__ == "__main__":
    main()
