"""How fast does llmlib train a BPE tokenizer, next to HF tokenizers (Rust) and rustbpe (Rust)?

All three learn a 4096-token byte-level vocabulary from the same corpus (data/shakespeare.txt):

    ours     llmlib.tokenizer.Tokenizer.train(text, 4096, pattern=GPT4_PATTERN), pure Python
    HF       tokenizers' BpeTrainer on a BPE model
    rustbpe  rustbpe.Tokenizer().train_from_iterator([text], 4096, pattern=GPT4_PATTERN)

The comparison is fair in work done: each side gets the whole text as one string, splits it
with the same GPT-4 regex, counts the chunks, and learns merges until the vocabulary holds
4096 tokens (256 bytes + 3840 merges, no special tokens). HF is set up the byte-level way:
a Split pre-tokenizer with the GPT-4 regex ("isolated": every match is a chunk), then
ByteLevel(use_regex=False) to turn each chunk's bytes into characters, with all 256 byte
characters as the initial alphabet. HF may use its worker threads; ours and rustbpe's
merge loop run on one. Times include splitting and counting. The three run interleaved in
one process and each keeps its best of N repeats, so a busy machine slows them alike.

Ours and rustbpe break ties between equally frequent pairs the same way (smallest pair of
ids), so their merges must agree exactly; the script checks that pair by pair. HF breaks
ties with the same rule, but on ids of its ByteLevel characters, which are not in byte
order, so its merges can differ on ties: we only report how many tokens it shares.

    python bench/bench_bpe_train.py [--repeats 5] [--vocab-size 4096]
"""

import argparse
import time

import rustbpe
from tokenizers import Regex, models, pre_tokenizers, trainers
from tokenizers import Tokenizer as HFTokenizer

from llmlib.data import load_corpus
from llmlib.tokenizer import GPT4_PATTERN, Tokenizer


def train_ours(text, vocab_size):
    return Tokenizer.train(text, vocab_size, pattern=GPT4_PATTERN)


def train_hf(text, vocab_size):
    tok = HFTokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(GPT4_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=[], show_progress=False)
    tok.train_from_iterator([text], trainer=trainer)
    return tok


def train_rustbpe(text, vocab_size):
    tok = rustbpe.Tokenizer()
    tok.train_from_iterator([text], vocab_size, pattern=GPT4_PATTERN)
    return tok


def hf_token_bytes(tok) -> set[bytes]:
    """HF's ByteLevel vocabulary back to raw bytes (undo its byte -> character table)."""
    byte_of = {}
    n = 0
    for b in range(256):  # the GPT-2 byte -> printable character table
        printable = 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255
        byte_of[chr(b) if printable else chr(256 + n)] = b
        n += not printable
    return {bytes(byte_of[c] for c in s) for s in tok.get_vocab()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--vocab-size", type=int, default=4096)
    args = ap.parse_args()
    text = load_corpus()
    print(f"corpus: {len(text.encode()):,} bytes; vocab_size {args.vocab_size}; best of {args.repeats}")

    runs = {"ours": train_ours, "HF tokenizers": train_hf, "rustbpe": train_rustbpe}
    best = dict.fromkeys(runs, float("inf"))
    result = {}
    for _ in range(args.repeats):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            result[name] = fn(text, args.vocab_size)
            best[name] = min(best[name], time.perf_counter() - t0)
    for name, t in best.items():
        print(f"{name:>14}: {t:.3f} s")

    ours = result["ours"]
    # rustbpe exposes its vocabulary as tiktoken ranks; recover its merge pairs from them
    theirs = Tokenizer.from_tiktoken(dict(result["rustbpe"].get_mergeable_ranks()), GPT4_PATTERN)
    same = list(ours.merges.items()) == list(theirs.merges.items())
    shared = len(hf_token_bytes(result["HF tokenizers"]) & set(ours.vocab.values()))
    print(f"merges identical to rustbpe's (pair by pair, in order): {same}")
    print(f"tokens shared with HF tokenizers: {shared} of {args.vocab_size}")
    print(f"ratio (ours/HF tokenizers time): {best['ours'] / best['HF tokenizers']:.2f}")
    print(f"ratio (ours/rustbpe time): {best['ours'] / best['rustbpe']:.2f}")


if __name__ == "__main__":
    main()
