"""Find and load the corpus, split it, sample (X1, X2) batches, and a character-level tokenizer.

The corpus is data/shakespeare.txt, rebuilt by `python data/build_corpus.py`. Its manifest
(data/shakespeare.manifest.json) records the sha256, so a damaged copy fails loudly here
instead of quietly training a worse model.

This module imports nothing else from llmlib.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

__all__ = ["repo_root", "data_dir", "load_corpus", "train_val_split", "get_batch", "CharTokenizer"]

CORPUS = "shakespeare.txt"
REBUILD = "python data/build_corpus.py"
_BESIDE_PACKAGE = Path(__file__).resolve().parent.parent / "data"


def data_dir() -> Path:
    """The folder that holds the corpus, checkpoints and other course data.

    Looked up in this order:
      1. the environment variable LLMLIB_DATA, if set;
      2. the folder `data/` beside the llmlib package (a checkout or `pip install -e .`);
      3. the first folder upward from the current working directory holding `data/shakespeare.txt`.
    """
    env = os.environ.get("LLMLIB_DATA")
    if env:
        path = Path(env).expanduser().resolve()
        if not path.is_dir():
            raise FileNotFoundError(
                f"LLMLIB_DATA is set to {env!r}, which is not a folder; point it at the course's data/ folder "
                "or unset it."
            )
        return path
    if (_BESIDE_PACKAGE / CORPUS).is_file():
        return _BESIDE_PACKAGE
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "data" / CORPUS).is_file():
            return folder / "data"
    raise FileNotFoundError(
        f"cannot find the course's data/ folder (one holding {CORPUS}). Fix it in one of these ways: "
        "clone the course repository and run from inside it, install llmlib from the checkout with "
        "`pip install -e .`, or set the environment variable LLMLIB_DATA to the data/ folder."
    )


def repo_root() -> Path:
    """The course repository's root: the folder that holds data/ (and, in a checkout, llmlib/, notebooks/)."""
    return data_dir().parent


# (path, size, mtime_ns) of files already checked against their manifest: hashing 1 MB on
# every call would be wasted work, and any edit to the file changes size or mtime.
_verified: set[tuple[str, int, int]] = set()


def _manifest_path(path: Path) -> Path:
    return path.with_name(path.stem + ".manifest.json")


def _verify(path: Path, data: bytes) -> None:
    manifest_path = _manifest_path(path)
    if not manifest_path.is_file():
        return
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key in _verified:
        return
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    problem = None
    if len(data) != manifest["size_bytes"]:
        problem = f"it has {len(data):,} bytes, the manifest says {manifest['size_bytes']:,}"
    elif hashlib.sha256(data).hexdigest() != manifest["sha256"]:
        problem = "its sha256 differs from the manifest's"
    if problem:
        raise ValueError(
            f"{path} is corrupt or modified ({problem}); rebuild it with `{manifest.get('rebuild', REBUILD)}` "
            "from the repository root, or restore it with git."
        )
    _verified.add(key)


def load_corpus(name: str = CORPUS, verify: bool = True) -> str:
    """Read a text file from data_dir() as UTF-8.

    With verify=True, and when a manifest `<stem>.manifest.json` sits beside the file, the size
    and sha256 must match it (checked once per file version; later calls are cheap).
    """
    path = data_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; rebuild the corpus with `{REBUILD}`.")
    data = path.read_bytes()
    if verify:
        _verify(path, data)
    return data.decode("utf-8")


def train_val_split(data, val_fraction: float = 0.1):
    """Split a sequence into (train, val): the first part trains, the last `val_fraction` validates.

    No shuffling, so the split is the same every run, and validation text is text the model
    never saw (a later stretch of the plays). Works on str, list, tuple or a 1-D tensor.
    """
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)) or not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be a number strictly between 0 and 1 (e.g. 0.1), got {val_fraction!r}")
    if isinstance(data, torch.Tensor):
        if data.dim() != 1:
            raise ValueError(f"data must be a 1-D tensor, got shape {list(data.shape)}; flatten it first")
    elif not isinstance(data, (str, list, tuple)):
        raise TypeError(f"data must be a str, list, tuple or 1-D tensor, got {type(data).__name__}")
    n_train = int(len(data) * (1 - val_fraction))
    if n_train == 0 or n_train == len(data):
        raise ValueError(
            f"data has {len(data)} items, too few to split with val_fraction={val_fraction}; "
            "use more data or a different val_fraction so both parts are non-empty"
        )
    return data[:n_train], data[n_train:]


def _positive_int(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def get_batch(data, batch_size: int, block_size: int, generator: torch.Generator | None = None, device=None):
    """Sample a batch of (X1, X2) pairs from a long 1-D sequence of token ids.

    data: LongTensor [N] (or a list of ints). Returns X1, X2, each LongTensor [batch_size, block_size],
    where X2 is X1 shifted by one: X2[i, j] is the token after X1[i, j], so one block gives
    block_size next-token examples at once. The offsets are exactly
    `torch.randint(len(data) - block_size, (batch_size,), generator=generator)`, so a seeded
    generator (or torch.manual_seed) reproduces the batch.
    """
    _positive_int(batch_size, "batch_size")
    _positive_int(block_size, "block_size")
    if isinstance(data, (list, tuple)):
        data = torch.tensor(data, dtype=torch.long)
    if not isinstance(data, torch.Tensor):
        raise TypeError(f"data must be a 1-D LongTensor of token ids (or a list of ints), got {type(data).__name__}")
    if data.dim() != 1:
        raise ValueError(f"data must be 1-D (one long stream of ids), got shape {list(data.shape)}; flatten it first")
    if data.dtype.is_floating_point or data.dtype.is_complex or data.dtype == torch.bool:
        raise TypeError(f"data must hold integer token ids, got dtype {data.dtype}; encode the text first")
    if len(data) < block_size + 1:
        raise ValueError(
            f"data has {len(data)} tokens but a block needs block_size + 1 = {block_size + 1}; "
            "use a smaller block_size or more data"
        )
    offsets = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    # One gather of [B, T+1] windows instead of a Python loop over rows.
    windows = data[offsets.to(data.device)[:, None] + torch.arange(block_size + 1, device=data.device)].long()
    x1, x2 = windows[:, :-1].contiguous(), windows[:, 1:].contiguous()
    if device is not None:
        x1, x2 = x1.to(device), x2.to(device)
    return x1, x2


def check_token_ids(idx, vocab_size: int, name: str = "idx") -> None:
    """Token ids for a model must be a torch.long tensor [B, T] with values in [0, vocab_size).

    Models call this first, so a mismatch between tokenizer and model names the fix
    instead of failing deep inside an embedding lookup.
    """
    if not isinstance(idx, torch.Tensor):
        raise TypeError(f"{name} must be a torch.LongTensor of token ids, got {type(idx).__name__}; use torch.tensor(ids)[None]")
    if idx.dtype != torch.long:
        raise TypeError(f"{name} must hold token ids as torch.long, got {idx.dtype}; convert with {name}.long()")
    if idx.dim() != 2:
        raise ValueError(f"{name} must be [B, T] token ids, got shape {tuple(idx.shape)}; add a batch dimension with {name}[None]")
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= vocab_size):
        raise ValueError(
            f"{name} must lie in 0..vocab_size-1 with vocab_size={vocab_size}, got min {int(idx.min())}, "
            f"max {int(idx.max())}; the tokenizer and the model disagree on vocab_size: build the model with the "
            "tokenizer's vocab_size"
        )


class CharTokenizer:
    """Character-level tokenizer: one id per distinct character, ids in sorted character order.

    The simplest tokenizer there is (vocab ~65 for Shakespeare): long sequences, tiny vocabulary.
    """

    def __init__(self, chars):
        chars = list(chars)
        if not chars:
            raise ValueError("a CharTokenizer needs at least one character; build it with CharTokenizer.from_text(text)")
        bad = [c for c in chars if not isinstance(c, str) or len(c) != 1]
        if bad:
            raise ValueError(f"every vocabulary entry must be a single character, got {bad[:5]!r}")
        if len(set(chars)) != len(chars):
            raise ValueError("the characters must be distinct; build it with CharTokenizer.from_text(text)")
        self._chars = chars
        self._stoi = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> "CharTokenizer":
        """The vocabulary is the sorted set of characters in text."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if not text:
            raise ValueError("text is empty; pass the corpus (e.g. load_corpus()) to build the vocabulary")
        return cls(sorted(set(text)))

    @property
    def chars(self) -> list[str]:
        """The vocabulary: chars[i] is the character with id i."""
        return list(self._chars)

    @property
    def vocab_size(self) -> int:
        return len(self._chars)

    def encode(self, text: str) -> list[int]:
        """str -> list of ids. Characters outside the vocabulary raise ValueError naming them."""
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, got {type(text).__name__}")
        try:
            return [self._stoi[c] for c in text]
        except KeyError as err:
            c = err.args[0]
            raise ValueError(
                f"character {c!r} (at position {text.index(c)}) is not in this tokenizer's vocabulary of "
                f"{self.vocab_size} characters; remove it from the text or build the tokenizer from text "
                "that contains it (CharTokenizer.from_text)"
            ) from None

    def decode(self, ids) -> str:
        """ids (list of ints or 1-D tensor) -> str."""
        if isinstance(ids, torch.Tensor):
            if ids.dim() != 1:
                raise ValueError(f"decode expects a 1-D sequence of ids, got shape {list(ids.shape)}; decode one row at a time")
            ids = ids.tolist()
        bad = [i for i in ids if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < self.vocab_size]
        if bad:
            raise ValueError(f"ids must be integers in [0, {self.vocab_size}), got {bad[:5]!r}")
        return "".join(self._chars[i] for i in ids)

    def to_dict(self) -> dict:
        """A JSON-ready description, small enough to embed in a checkpoint."""
        return {"type": "CharTokenizer", "chars": list(self._chars)}

    @classmethod
    def from_dict(cls, d: dict) -> "CharTokenizer":
        if not isinstance(d, dict) or d.get("type") != "CharTokenizer" or "chars" not in d:
            raise ValueError("not a CharTokenizer description: expected a dict from CharTokenizer.to_dict()")
        return cls(d["chars"])

    def save(self, path) -> None:
        """Write the vocabulary as readable JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path) -> "CharTokenizer":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def __eq__(self, other) -> bool:
        return isinstance(other, CharTokenizer) and self._chars == other._chars

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"
