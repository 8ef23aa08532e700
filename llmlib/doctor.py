"""``python -m llmlib doctor``: is this computer ready for the course?

Checks Python and the packages, the device, the corpus and the checkpoints, and that
Jupyter can show widgets. Prints one line per item, either

    OK  <item>: <what was found>
    FIX <item>: <what to do>

so that in a room of 30 laptops anyone can spot the FIX lines and act on them, and exits
with 1 when any item needs a fix (0 otherwise).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata as metadata
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

MIN_PYTHON = (3, 11)
# Import name -> distribution name, for the packages a learner needs to run the notebooks.
PACKAGES = {"torch": "torch", "numpy": "numpy", "matplotlib": "matplotlib", "ipywidgets": "ipywidgets",
            "jupyterlab": "jupyterlab", "anywidget": "anywidget"}
# Used only when llmlib's own metadata is missing (running from a checkout without `pip install -e .`).
FALLBACK_MINIMUM = {"torch": "2.2", "numpy": "1.26", "matplotlib": "3.8", "ipywidgets": "8.1",
                    "jupyterlab": "4.0", "anywidget": "0.9"}
CHECKPOINTS = ("shakespeare_char.pt", "shakespeare_bpe.pt")
INSTALL = "pip install -e . (from the course folder), or conda env create -f environment.yml"


@dataclass
class Check:
    ok: bool
    item: str
    message: str

    def line(self) -> str:
        return f"{'OK ' if self.ok else 'FIX'} {self.item}: {self.message}"


def _version_tuple(v: str) -> tuple[int, ...]:
    """'2.13.0+cpu' -> (2, 13, 0): the leading numbers, enough to compare with a minimum."""
    return tuple(int(x) for x in re.findall(r"\d+", v.split("+")[0])[:3])


def minimum_versions() -> dict[str, str]:
    """{distribution: minimum version} from llmlib's declared dependencies (pyproject.toml)."""
    try:
        requires = metadata.requires("llmlib") or []
    except metadata.PackageNotFoundError:
        return dict(FALLBACK_MINIMUM)
    found = {}
    for req in requires:
        if "extra ==" in req:
            continue
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*>=\s*([\d.]+)", req)
        if m:
            found[m.group(1).lower()] = m.group(2)
    return {**FALLBACK_MINIMUM, **{k: v for k, v in found.items() if k in FALLBACK_MINIMUM}}


def check_python() -> Check:
    v = sys.version_info
    have = f"{v.major}.{v.minor}.{v.micro}"
    if (v.major, v.minor) < MIN_PYTHON:
        return Check(False, "python", f"found {have}; install Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer "
                                      "(conda env create -f environment.yml does it for you)")
    return Check(True, "python", f"{have} ({sys.executable})")


def check_package(module: str, dist: str, minimum: str | None) -> Check:
    try:
        version = metadata.version(dist)
    except metadata.PackageNotFoundError:
        return Check(False, module, f"not installed; run: {INSTALL}")
    if minimum and _version_tuple(version) < _version_tuple(minimum):
        return Check(False, module, f"version {version} is older than the course needs; run: pip install -U '{dist}>={minimum}'")
    try:
        importlib.import_module(module)
    except Exception as e:  # noqa: BLE001 - a broken install can raise anything on import
        return Check(False, module, f"version {version} is installed but does not import ({type(e).__name__}: {e}); "
                                    f"reinstall it: pip install --force-reinstall '{dist}>={minimum or version}'")
    return Check(True, module, version)


def check_device() -> Check:
    """Which device torch will use. A CPU is fine: the course is built for 2 CPU cores."""
    try:
        import torch

        if torch.cuda.is_available():
            return Check(True, "device", f"CUDA GPU: {torch.cuda.get_device_name(0)}")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return Check(True, "device", "Apple GPU (MPS)")
        x = torch.ones(8, 8)
        assert float((x @ x).sum()) == 512.0
        return Check(True, "device", f"CPU, {torch.get_num_threads()} threads (enough: every notebook is sized for 2 cores)")
    except Exception as e:  # noqa: BLE001
        return Check(False, "device", f"torch cannot compute ({type(e).__name__}: {e}); reinstall torch: {INSTALL}")


def check_corpus() -> Check:
    from llmlib.data import CORPUS, data_dir, load_corpus

    try:
        folder = data_dir()
    except FileNotFoundError as e:
        return Check(False, "data folder", str(e))
    path = folder / CORPUS
    manifest = folder / (Path(CORPUS).stem + ".manifest.json")
    if not path.is_file():
        return Check(False, "corpus", f"{path} is missing; restore it with `git checkout -- data/{CORPUS}` "
                                      "or rebuild it with `python data/build_corpus.py`")
    if not manifest.is_file():
        return Check(False, "corpus", f"{manifest} is missing, so the text cannot be verified; "
                                      f"restore it with `git checkout -- data/{manifest.name}`")
    try:
        text = load_corpus(verify=True)
    except (ValueError, UnicodeDecodeError) as e:
        return Check(False, "corpus", str(e).splitlines()[0])
    sha = json.loads(manifest.read_text(encoding="utf-8"))["sha256"]
    return Check(True, "corpus", f"{path.name}, {len(text):,} characters, sha256 {sha[:12]}... matches its manifest")


def _retrain_hint(path: Path) -> str:
    cmd = path.with_name(path.stem + ".cmd.txt")
    if cmd.is_file():
        return f"restore it with `git checkout -- data/checkpoints/{path.name}`, or retrain it with: {cmd.read_text().strip()}"
    return f"restore it with `git checkout -- data/checkpoints/{path.name}` (or pull the course again)"


def check_checkpoints() -> list[Check]:
    from llmlib.data import data_dir
    from llmlib.train import load_checkpoint

    try:
        folder = data_dir() / "checkpoints"
    except FileNotFoundError as e:
        return [Check(False, "checkpoints", str(e))]
    checks = []
    for name in CHECKPOINTS:
        path = folder / name
        if not path.is_file():
            checks.append(Check(False, f"checkpoint {name}", f"{path} is missing; {_retrain_hint(path)}"))
            continue
        try:
            ckpt = load_checkpoint(path)
        except Exception as e:  # noqa: BLE001 - load_checkpoint names the problem in its message
            checks.append(Check(False, f"checkpoint {name}", f"{str(e).splitlines()[0]}; {_retrain_hint(path)}"))
            continue
        cfg = ckpt["model_config"]
        checks.append(Check(True, f"checkpoint {name}", f"step {ckpt['step']}, n_layer={cfg['n_layer']}, "
                                                         f"n_head={cfg['n_head']}, n_embd={cfg['n_embd']}"))
    snaps = sorted((folder / "snapshots").glob("char_step*.pt"))
    if snaps:
        steps = sorted(int(p.stem.removeprefix("char_step")) for p in snaps if p.stem.removeprefix("char_step").isdigit())
        checks.append(Check(True, "training snapshots", f"{len(snaps)} (steps {', '.join(map(str, steps))})"))
    else:
        checks.append(Check(False, "training snapshots", f"none in {folder / 'snapshots'}; notebook 08 needs them: "
                                                         "restore data/checkpoints/snapshots/ with git, or retrain "
                                                         "the character model with the command in shakespeare_char.cmd.txt"))
    return checks


def check_widgets() -> list[Check]:
    """The widget packages, and JupyterLab's copies of their front-end extensions."""
    checks = []
    for dist, why in (("jupyterlab_widgets", "shows widgets in JupyterLab"),
                      ("widgetsnbextension", "shows widgets in the classic Notebook")):
        try:
            checks.append(Check(True, dist, f"{metadata.version(dist)} ({why})"))
        except metadata.PackageNotFoundError:
            checks.append(Check(False, dist, f"not installed, so widgets show as text; run: pip install -U 'ipywidgets>=8.1'"))
    try:
        from jupyter_core.paths import jupyter_path

        roots = [Path(p) for p in jupyter_path("labextensions")]
        wanted = {"@jupyter-widgets/jupyterlab-manager": "ipywidgets", "anywidget": "anywidget"}
        missing = [name for name in wanted if not any((r / name / "package.json").is_file() for r in roots)]
        if missing:
            fix = " ".join(sorted({wanted[m] for m in missing}))
            checks.append(Check(False, "jupyterlab extensions", f"JupyterLab cannot find {', '.join(missing)}; "
                                                                f"run: pip install --force-reinstall {fix}, then restart JupyterLab"))
        else:
            checks.append(Check(True, "jupyterlab extensions", "widget manager and anywidget are enabled"))
    except ImportError:
        checks.append(Check(False, "jupyterlab extensions", f"jupyter_core is missing; run: {INSTALL}"))
    return checks


def run_checks() -> list[Check]:
    mins = minimum_versions()
    checks = [check_python()]
    checks += [check_package(mod, dist, mins.get(dist)) for mod, dist in PACKAGES.items()]
    checks.append(check_device())
    checks.append(check_corpus())
    checks += check_checkpoints()
    checks += check_widgets()
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m llmlib doctor",
        description="Check that this computer can run the course: Python, packages, device, data, checkpoints, widgets. "
                    "Prints OK or FIX (with what to do) per item; exits with 1 if anything needs a fix.",
    )
    parser.parse_args(sys.argv[1:] if argv is None else argv)
    import llmlib

    print(f"llmlib {llmlib.__version__} from {Path(llmlib.__file__).parent}")
    checks = run_checks()
    for c in checks:
        print(c.line())
    fixes = sum(not c.ok for c in checks)
    print(f"all {len(checks)} checks passed: ready for the course" if not fixes
          else f"{fixes} of {len(checks)} checks need a fix (the FIX lines above say how)")
    return 1 if fixes else 0


if __name__ == "__main__":
    sys.exit(main())
