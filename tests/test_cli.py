"""``python -m llmlib``: help, each subcommand on a tiny run, and one-line errors (via subprocess)."""

import os
import subprocess
import sys

import pytest

from llmlib.cli import main
from llmlib.data import repo_root

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "4",
        "--warmup-iters", "1", "--eval-interval", "2", "--eval-iters", "1", "--log-interval", "1", "--threads", "1"]


def run(*args, cwd=None):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "llmlib", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or repo_root(), env=env, timeout=120)


def assert_one_line_error(result, *words):
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    path.write_text("To be, or not to be, that is the question.\n" * 20, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, corpus):
    out = tmp_path_factory.mktemp("run")
    r = run("train", "--corpus", corpus, "--out-dir", out, "--max-iters", "3", "--snapshot-steps", "0,3",
            "--export", out / "small.pt", *TINY)
    assert r.returncode == 0, r.stderr
    return out, r


def test_help():
    r = run("--help")
    assert r.returncode == 0 and "usage:" in r.stdout and "examples:" in r.stdout


@pytest.mark.parametrize("sub", ["train", "sample", "tokenize"])
def test_subcommand_help(sub, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([sub, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "usage: python -m llmlib " + sub in out and "examples:" in out


def test_train_writes_checkpoint_snapshots_and_export(trained):
    out, r = trained
    assert "step 0: train loss" in r.stdout and "done: step 3" in r.stdout
    for name in ("ckpt.pt", "small.pt", "snapshots/step0.pt", "snapshots/step3.pt"):
        assert (out / name).is_file(), name


def test_train_resume_continues(trained, corpus):
    out, _ = trained
    r = run("train", "--corpus", corpus, "--out-dir", out, "--max-iters", "4", "--resume", *TINY)
    assert r.returncode == 0, r.stderr
    assert "step 4/4" in r.stdout and "step 1/" not in r.stdout


def test_train_refuses_to_overwrite(trained, corpus, capsys):
    out, _ = trained
    assert main(["train", "--corpus", str(corpus), "--out-dir", str(out), *TINY]) == 2
    assert "exists already" in capsys.readouterr().err


def test_sample(trained):
    out, _ = trained
    r = run("sample", out / "small.pt", "--prompt", "To be", "--max-new-tokens", "20", "--seed", "1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("To be") and len(r.stdout.rstrip("\n")) >= 20
    again = run("sample", out / "small.pt", "--prompt", "To be", "--max-new-tokens", "20", "--seed", "1")
    assert again.stdout == r.stdout  # seeded


def test_tokenize_char_and_checkpoint(trained):
    out, _ = trained
    r = run("tokenize", "to be", "--tokenizer", out / "small.pt")
    assert r.returncode == 0, r.stderr
    assert "5 characters -> 5 tokens" in r.stdout and "t | o |   | b | e" in r.stdout


def test_tokenize_file_char(tmp_path, capsys):
    f = tmp_path / "t.txt"
    f.write_text("abc", encoding="utf-8")
    assert main(["tokenize", "--file", str(f), "--tokenizer", "char"]) == 0
    assert "3 characters -> 3 tokens" in capsys.readouterr().out


def test_tokenize_cl100k(capsys):
    assert main(["tokenize", "Hello world", "--tokenizer", "cl100k"]) == 0
    assert "ids: [9906, 1917]" in capsys.readouterr().out  # GPT-4's ids for these two words


@pytest.mark.parametrize(
    "args, words",
    [
        (["sample", "missing.pt"], ["checkpoint not found: missing.pt", "python -m llmlib train"]),
        (["train", "--corpus", "missing.txt"], ["file not found: missing.txt"]),
        (["train", "--n-layer", "zero"], ["--n-layer", "positive integer"]),
        (["train", "--max-iters", "-5"], ["--max-iters"]),
        (["train", "--snapshot-steps", "1,x"], ["comma-separated"]),
        (["train", "--tokenizer", "nope.json", "--out-dir", "runs/_never"], ["tokenizer must be"]),
        (["tokenize", "hi", "--tokenizer", "nope.json"], ["tokenizer not found: nope.json"]),
        (["tokenize", "--file", "missing.txt"], ["file not found"]),
        (["frobnicate"], ["invalid choice"]),
    ],
)
def test_errors_are_one_line(args, words, capsys):
    # in-process for speed; the subprocess tests below check the same through `python -m llmlib`
    assert main(args) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    for w in words:
        assert w in lines[0], lines[0]


def test_missing_checkpoint_via_subprocess():
    assert_one_line_error(run("sample", "missing.pt"), "checkpoint not found: missing.pt", "python -m llmlib train")


def test_bad_value_is_one_line(trained):
    out, _ = trained
    assert_one_line_error(run("sample", out / "small.pt", "--temperature", "-1"), "temperature")


def test_corrupt_checkpoint_is_one_line(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    assert_one_line_error(run("sample", bad), "corrupt or truncated", "delete it")


def test_doctor_is_delegated(monkeypatch):
    import types

    seen = []
    fake = types.ModuleType("llmlib.doctor")
    fake.main = lambda argv: seen.append(argv) or 0
    monkeypatch.setitem(sys.modules, "llmlib.doctor", fake)
    assert main(["doctor", "--quick"]) == 0
    assert seen == [["--quick"]]
