"""Training throughput of the CPU "baby GPT": llmlib vs Hugging Face's GPT2LMHeadModel.

Both models have the same shape (4 layers, 4 heads, n_embd 128, block 64, vocab 65,
dropout 0, HF in eager attention) and run the same work per step: forward, backward,
gradient clipping at 1.0 and an AdamW update, on batches of 12 x 64 tokens. Ours uses
llmlib.train.train_step with llmlib.train.configure_optimizer; HF uses torch's AdamW
with its defaults. Repeats alternate between the two (the machine is shared, so load
changes over time) and the best repeat of each counts.

    python bench/bench_train_throughput.py [--repeats 5] [--steps 20] [--threads 1]

Prints tokens/s for each and `ratio (ours/HF tokens per second): ...` (>= 1.0 means ours is faster).
"""

import argparse
import time

import torch

from llmlib.model import GPT, GPTConfig
from llmlib.train import TrainConfig, configure_optimizer, train_step

B, T, V, N_LAYER, N_HEAD, N_EMBD = 12, 64, 65, 4, 4, 128


def ours():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=V, block_size=T, n_layer=N_LAYER, n_head=N_HEAD, n_embd=N_EMBD, dropout=0.0))
    opt = configure_optimizer(model, TrainConfig(learning_rate=1e-3))
    return lambda x, y: train_step(model, opt, x, y, lr=1e-3, grad_clip=1.0)


def huggingface():
    from transformers import GPT2Config, GPT2LMHeadModel
    from transformers.utils import logging

    logging.set_verbosity_error()  # config chatter about unused fields

    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=V, n_positions=T, n_embd=N_EMBD, n_layer=N_LAYER, n_head=N_HEAD,
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0,
                     attn_implementation="eager")
    model = GPT2LMHeadModel(cfg).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1, betas=(0.9, 0.99))

    def step(x, y):
        # HF shifts labels itself (predicts labels[:, 1:] from logits[:, :-1]); feeding the
        # same x as labels gives the same next-token task on T - 1 positions.
        loss = model(input_ids=x, labels=x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.detach()

    return step


def time_steps(step, batches) -> float:
    t0 = time.perf_counter()
    for x, y in batches:
        step(x, y)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 keeps the shared machine's noise down)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    g = torch.Generator().manual_seed(0)
    data = torch.randint(V, (args.steps, B, T + 1), generator=g)
    batches = [(d[:, :-1].contiguous(), d[:, 1:].contiguous()) for d in data]
    steps = {"ours": ours(), "HF GPT2LMHeadModel": huggingface()}
    for step in steps.values():  # warm up: first calls allocate
        time_steps(step, batches[:3])
    best = {name: float("inf") for name in steps}
    for _ in range(args.repeats):
        for name, step in steps.items():
            best[name] = min(best[name], time_steps(step, batches))
    tokens = args.steps * B * T
    print(f"baby GPT: {N_LAYER} layers, {N_HEAD} heads, n_embd {N_EMBD}, block {T}, batch {B}, vocab {V}; "
          f"{args.threads} thread(s), best of {args.repeats} x {args.steps} steps")
    for name, t in best.items():
        print(f"{name:>20}: {tokens / t:9,.0f} tokens/s  ({1000 * t / args.steps:.1f} ms/step)")
    ratio = best["HF GPT2LMHeadModel"] / best["ours"]
    print(f"ratio (ours/HF tokens per second): {ratio:.2f}")


if __name__ == "__main__":
    main()
