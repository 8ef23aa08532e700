"""Checkers for notebook 01 (tokenization: bytes, BPE merges, encode and decode)."""

from functools import lru_cache

from llmlib.tokenizer import Tokenizer

_TRAIN = ("To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer "
          "the slings and arrows of outrageous fortune, or to take arms against a sea of troubles. ") * 4
_TEXTS = ["", "to be", "To be, or not to be: that is the question.", "the sea, the sea!\n\tthe slings",
          "café 🙂 naïve", "xyz 123"]


@lru_cache(maxsize=1)
def _tokenizer() -> Tokenizer:
    """A small tokenizer without pre-split, so its merges may cross spaces."""
    return Tokenizer.train(_TRAIN, 300, pattern=None)


def check_exercise_1_1(fn):
    """fn(tokenizer, text) -> bytes per token (UTF-8 bytes of text / number of tokens)."""
    tok = _tokenizer()
    for text in _TEXTS[1:]:
        n_tokens, n_bytes = len(tok.encode(text)), len(text.encode("utf-8"))
        out = fn(tok, text)
        assert isinstance(out, (int, float)), f"return a number, got {type(out).__name__}"
        ref = n_bytes / n_tokens
        if abs(out - ref) < 1e-9:
            continue
        if abs(out - n_tokens / n_bytes) < 1e-9:
            raise AssertionError("that is tokens per byte: divide the number of bytes by the number of tokens")
        if abs(out - len(text) / n_tokens) < 1e-9:
            raise AssertionError(f"for {text!r} you counted characters; count UTF-8 bytes: len(text.encode('utf-8'))")
        raise AssertionError(f"for {text!r} expected {ref:.4f} bytes/token, got {out!r}")
    print("check_exercise_1_1: correct, the more bytes per token, the shorter the sequences the model sees")


def check_exercise_1_2(fn):
    """fn(ids, merges) -> str: decode ids with only the merges dict {(left, right): new_id}."""
    tok = _tokenizer()
    merges = dict(tok.merges)
    for text in _TEXTS:
        ids = tok.encode(text)
        out = fn(list(ids), merges)
        assert isinstance(out, str), f"return a str, got {type(out).__name__}"
        assert out == text, (f"decoding the ids of {text!r} gave {out!r}: "
                             "build vocab[new_id] = vocab[left] + vocab[right] in merge order")
    ids = tok.encode("🙂")[:1]  # the first byte of a 4-byte character
    try:
        out = fn(ids, merges)
    except UnicodeDecodeError:
        raise AssertionError("a token can end in the middle of a character: decode with errors='replace'") from None
    assert out == "\ufffd", f"a lone piece of a character should decode to '\\ufffd' (errors='replace'), got {out!r}"
    print("check_exercise_1_2: correct, the merges alone are enough to decode")


def check_exercise_1_3(fn):
    """fn(ranks {token_bytes: id}) -> merges {(left_id, right_id): id}, recovered by BPE on each token."""
    tok = _tokenizer()
    ranks = {b: i for i, b in tok.vocab.items()}
    out = fn(dict(ranks))
    assert isinstance(out, dict), f"return a dict {{(left_id, right_id): id}}, got {type(out).__name__}"
    expected = tok.merges
    missing = [i for i in expected.values() if i not in out.values()]
    if missing:
        raise AssertionError(f"no merge gives token {missing[0]} ({tok.vocab[missing[0]]!r}): "
                             "every token of two or more bytes comes from exactly one merge")
    for pair, i in expected.items():
        got = next(p for p, j in out.items() if j == i)
        if got != pair:
            a, b = got
            raise AssertionError(
                f"token {i} ({tok.vocab[i]!r}): you recovered {got}, i.e. {tok.vocab.get(a)!r} + {tok.vocab.get(b)!r}, "
                f"but BPE made it from {pair}, i.e. {tok.vocab[pair[0]]!r} + {tok.vocab[pair[1]]!r}. Merge only while "
                "the lowest rank among adjacent pairs is below the token's own rank, lowest first"
            )
    assert len(out) == len(expected), f"expected {len(expected)} merges (one per multi-byte token), got {len(out)}"
    print("check_exercise_1_3: correct, the ranks hold the merges: BPE on each token finds its pair")
