"""`python -m llmlib doctor`: OK on this setup, and a clear FIX line for each simulated problem."""
import shutil

import pytest

from llmlib import cli, doctor
from llmlib.data import data_dir


def _lines(capsys):
    return capsys.readouterr().out.splitlines()


def test_every_check_is_ok_on_this_setup(capsys):
    rc = doctor.main([])
    lines = _lines(capsys)
    fixes = [line for line in lines if line.startswith("FIX")]
    assert rc == 0 and not fixes, "\n".join(fixes)
    assert lines[-1].startswith("all ") and "ready for the course" in lines[-1]


def test_every_item_line_is_ok_or_fix(capsys):
    doctor.main([])
    items = _lines(capsys)[1:-1]  # between the llmlib line and the summary
    assert items and all(line.startswith(("OK  ", "FIX ")) and ": " in line for line in items)
    names = {line[4:].split(":")[0] for line in items}
    assert {"python", "torch", "numpy", "matplotlib", "ipywidgets", "jupyterlab", "anywidget", "device", "corpus",
            "jupyterlab_widgets", "widgetsnbextension", "jupyterlab extensions"} <= names


def test_a_missing_corpus_and_checkpoints_give_fix_lines(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LLMLIB_DATA", str(tmp_path))  # an empty data folder
    rc = doctor.main([])
    out = "\n".join(_lines(capsys))
    assert rc == 1
    assert "FIX corpus: " in out and "shakespeare.txt is missing" in out and "git checkout" in out
    assert "FIX checkpoint shakespeare_char.pt: " in out
    assert "FIX training snapshots: " in out
    assert "need a fix" in out


def test_a_modified_corpus_gives_a_fix_line(tmp_path, monkeypatch):
    real = data_dir()
    shutil.copy(real / "shakespeare.manifest.json", tmp_path)
    (tmp_path / "shakespeare.txt").write_text((real / "shakespeare.txt").read_text() + "an extra line\n")
    monkeypatch.setenv("LLMLIB_DATA", str(tmp_path))
    check = doctor.check_corpus()
    assert not check.ok and "corrupt or modified" in check.message
    assert check.line().startswith("FIX corpus: ")


def test_a_corrupt_checkpoint_gives_a_fix_line(tmp_path, monkeypatch):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "shakespeare_char.pt").write_bytes(b"not a checkpoint")
    monkeypatch.setenv("LLMLIB_DATA", str(tmp_path))
    char = next(c for c in doctor.check_checkpoints() if c.item == "checkpoint shakespeare_char.pt")
    assert not char.ok and "corrupt" in char.message and "git checkout" in char.message


def test_package_versions_missing_and_too_old():
    missing = doctor.check_package("llmlib_no_such_module", "llmlib-no-such-dist", "1.0")
    assert not missing.ok and "not installed" in missing.message and "pip install" in missing.message
    old = doctor.check_package("numpy", "numpy", "999.0")
    assert not old.ok and "pip install -U 'numpy>=999.0'" in old.message
    assert doctor.check_package("numpy", "numpy", "1.0").ok


def test_minimum_versions_come_from_the_package_metadata():
    mins = doctor.minimum_versions()
    assert set(doctor.PACKAGES.values()) <= set(mins)
    assert doctor._version_tuple("2.13.0+cpu") == (2, 13, 0)


def test_the_command_line_delegates_to_the_doctor(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["doctor", "--help"])
    assert e.value.code == 0
    assert "python -m llmlib doctor" in capsys.readouterr().out
