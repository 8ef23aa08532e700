"""Validation loss of the character-level "baby GPT" after 2000 steps, against nanoGPT's figure.

The reference: nanoGPT's README trains this configuration (4 layers, 4 heads, n_embd 128,
block 64, batch 12, lr 1e-3 with cosine decay to 1e-4 over 2000 steps, dropout 0) on a
CPU and reports a validation loss of 1.918 on a Shakespeare corpus of the same kind.
Here llmlib.train.train runs it on the course's corpus (data/shakespeare.txt, last 10%
held out) and evaluates on 200 validation batches.

    python bench/bench_char_val_loss.py [--iters 2000] [--threads 1]

Takes a few minutes on one CPU core. Prints the loss and `ratio (ours/reference val loss): ...`
(<= 1.0 means at least as good as the reference).
"""

import argparse
import time

import torch

from llmlib.data import CharTokenizer, load_corpus, train_val_split
from llmlib.model import GPT, GPTConfig
from llmlib.train import TrainConfig, train

REFERENCE = 1.92  # nanoGPT's baby GPT on CPU: val loss 1.918 after 2000 iterations


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    text = load_corpus()
    tok = CharTokenizer.from_text(text)
    train_ids, val_ids = train_val_split(torch.tensor(tok.encode(text)))
    torch.manual_seed(1337)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=64, n_layer=4, n_head=4, n_embd=128,
                          dropout=args.dropout))
    cfg = TrainConfig(batch_size=12, max_iters=args.iters, learning_rate=1e-3, min_lr=1e-4, warmup_iters=100,
                      lr_decay_iters=args.iters, grad_clip=1.0, weight_decay=0.1, beta1=0.9, beta2=0.99,
                      eval_interval=args.iters, eval_iters=200, seed=1337, device="cpu")
    t0 = time.perf_counter()
    history = train(model, train_ids, val_ids, cfg)
    minutes = (time.perf_counter() - t0) / 60
    val = history["val"][-1]
    print(f"char-level baby GPT, {args.iters} steps, dropout {args.dropout}, {args.threads} thread(s): "
          f"train loss {history['train'][-1]:.4f}, val loss {val:.4f} ({minutes:.1f} min)")
    print(f"reference (nanoGPT baby GPT): {REFERENCE:.2f}")
    print(f"ratio (ours/reference val loss): {val / REFERENCE:.3f}")


if __name__ == "__main__":
    main()
