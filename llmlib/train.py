"""The training loop, shared by notebook 06 and ``python -m llmlib train``.

One update: sample a batch (X1, X2) [B, T], compute the loss, backpropagate, clip
the gradient norm, set the learning rate from the schedule, step AdamW. Every
``eval_interval`` steps the mean loss on fixed train and validation batches is
measured. Checkpoints hold everything a killed run needs to continue exactly as if
it had never stopped: weights, optimizer state, step, the random number generators
and the tokenizer. They contain only tensors and plain Python values, so they load
with ``torch.load(weights_only=True)``, which cannot run code hidden in a file.

Under ``torchrun`` (RANK / WORLD_SIZE / LOCAL_RANK set) the same function trains on
several processes with DistributedDataParallel: every rank draws the same global
batch and keeps its own slice, so the update equals the one-process update.
"""

from __future__ import annotations

import contextlib
import math
import os
import pickle
import random
import time
import zipfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn

from llmlib.data import CharTokenizer, get_batch, load_corpus, train_val_split
from llmlib.model import GPT, GPTConfig

CHECKPOINT_FORMAT = "llmlib-checkpoint-v1"


@dataclass
class TrainConfig:
    """Everything about training that is not the model's shape.

    ``batch_size`` is the global batch: under DDP each of the world_size ranks takes
    batch_size / world_size rows of it. Steps count optimizer updates.
    """

    batch_size: int = 12
    max_iters: int = 2000
    learning_rate: float = 1e-3
    min_lr: float = 1e-4
    warmup_iters: int = 100
    lr_decay_iters: int | None = None  # None: decay until max_iters
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0  # 0 disables clipping
    eval_interval: int = 250
    eval_iters: int = 20
    log_interval: int = 0  # print a line every this many steps; 0 prints nothing
    seed: int = 1337
    device: str = "auto"  # auto picks cuda, then mps, then cpu
    dtype: str = "auto"  # auto: bfloat16 autocast on CUDA, float32 elsewhere
    out_dir: str | None = None  # where ckpt.pt goes; None writes no checkpoints
    checkpoint_interval: int = 0  # save every this many steps (and at the end); 0: only at the end
    snapshot_steps: list[int] = field(default_factory=list)  # steps at which to save small model-only files
    snapshot_pattern: str | None = None  # e.g. "snaps/char_step{step}.pt"; None: out_dir/snapshots/step{step}.pt
    progress: bool = False  # show a tqdm progress bar

    def __post_init__(self):
        for name in ("batch_size", "max_iters", "eval_iters"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"TrainConfig.{name} must be a positive integer, got {v!r}")
        for name in ("warmup_iters", "eval_interval", "log_interval", "checkpoint_interval"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"TrainConfig.{name} must be an integer >= 0, got {v!r}")
        if not self.learning_rate > 0 or not 0 <= self.min_lr <= self.learning_rate:
            raise ValueError(
                f"need learning_rate > 0 and 0 <= min_lr <= learning_rate, got {self.learning_rate} and {self.min_lr}"
            )
        decay = self.max_iters if self.lr_decay_iters is None else self.lr_decay_iters
        if decay < self.warmup_iters:
            raise ValueError(
                f"lr_decay_iters={decay} is shorter than warmup_iters={self.warmup_iters}; "
                "lower warmup_iters or raise lr_decay_iters/max_iters"
            )
        if self.grad_clip < 0 or self.weight_decay < 0:
            raise ValueError("grad_clip and weight_decay must be >= 0 (0 turns them off)")
        if self.dtype not in ("auto", "float32", "bfloat16"):
            raise ValueError(f"dtype must be 'auto', 'float32' or 'bfloat16', got {self.dtype!r}")
        self.snapshot_steps = sorted({int(s) for s in self.snapshot_steps})
        if any(s < 0 for s in self.snapshot_steps):
            raise ValueError(f"snapshot_steps must be >= 0, got {self.snapshot_steps}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


# ---------------------------------------------------------------- schedule, optimizer, device


def get_lr(step: int, cfg: TrainConfig) -> float:
    """Learning rate at ``step``: linear warmup, then cosine decay to ``min_lr``, then flat.

    Warmup keeps the first updates small while AdamW's moment estimates are still noisy.
    """
    if step < cfg.warmup_iters:
        return cfg.learning_rate * (step + 1) / (cfg.warmup_iters + 1)
    decay_iters = cfg.max_iters if cfg.lr_decay_iters is None else cfg.lr_decay_iters
    if step >= decay_iters:
        return cfg.min_lr
    ratio = (step - cfg.warmup_iters) / max(1, decay_iters - cfg.warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * ratio))  # 1 -> 0
    return cfg.min_lr + coeff * (cfg.learning_rate - cfg.min_lr)


def configure_optimizer(model: nn.Module, cfg: TrainConfig, device: str | torch.device = "cpu") -> torch.optim.AdamW:
    """AdamW with weight decay on matrices (2-D) only; biases, LayerNorm gains stay undecayed.

    Decay pulls weights toward 0; for a gain or a bias that is not a useful prior.
    """
    params = [p for p in model.parameters() if p.requires_grad]  # a tied weight appears once
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    # The fused kernel does the whole update in one pass (CPU and CUDA): same maths, less memory traffic.
    dev = torch.device(device).type
    fused = dev in ("cpu", "cuda")
    return torch.optim.AdamW(groups, lr=cfg.learning_rate, betas=(cfg.beta1, cfg.beta2), fused=fused)


def pick_device(device: str = "auto") -> str:
    """'auto' -> 'cuda' if available, else 'mps' (Apple GPU), else 'cpu'. Anything else is returned as is."""
    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def _autocast(device: str, dtype: str):
    """bf16 autocast on CUDA halves memory traffic; CPU and MPS stay in float32 unless asked."""
    dev = torch.device(device).type
    if dtype == "auto":
        dtype = "bfloat16" if dev == "cuda" and torch.cuda.is_bf16_supported() else "float32"
    if dtype == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=dev, dtype=torch.bfloat16)


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    grad_clip: float = 1.0,
    autocast=None,
) -> torch.Tensor:
    """One update on the batch (X1=x, X2=y); returns the loss before it (a detached scalar tensor).

    Clipping rescales the whole gradient when its norm exceeds ``grad_clip``, so one
    unlucky batch cannot throw the weights far away.
    """
    for group in optimizer.param_groups:
        group["lr"] = lr
    with autocast or contextlib.nullcontext():
        _, loss = model(x, y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return loss.detach()


# ---------------------------------------------------------------- evaluation


@torch.no_grad()
def estimate_loss(
    model: nn.Module,
    splits: dict[str, torch.Tensor],
    batch_size: int,
    eval_iters: int,
    seed: int = 0,
    device: str | torch.device = "cpu",
    autocast=None,
    shard: tuple[int, int] = (0, 1),
) -> dict[str, float]:
    """Mean loss over ``eval_iters`` batches of each split, in eval mode (no dropout).

    The batches come from their own generator seeded with ``seed``, so every evaluation
    sees the same batches (curves compare like with like) and training's random stream
    is left untouched. Under DDP, ``shard=(rank, world_size)`` keeps this rank's rows of
    each batch; averaging the ranks' results gives the one-process figure.
    """
    rank, world = shard
    rows = slice(rank * batch_size // world, (rank + 1) * batch_size // world)
    was_training = model.training
    model.eval()
    block_size = _raw(model).config.block_size
    out = {}
    for name, data in splits.items():
        g = torch.Generator().manual_seed(seed)
        total = 0.0
        for _ in range(eval_iters):
            x, y = get_batch(data, batch_size, block_size, generator=g)
            x, y = x[rows].to(device), y[rows].to(device)
            with autocast or contextlib.nullcontext():
                _, loss = model(x, y)
            total += loss.item()
        out[name] = total / eval_iters
    model.train(was_training)
    return out


# ---------------------------------------------------------------- tokenizers inside checkpoints


def tokenizer_to_dict(tok) -> dict | None:
    """A tokenizer as plain values (safe for weights_only loading)."""
    if tok is None:
        return None
    if isinstance(tok, CharTokenizer):
        return {"kind": "char", "data": tok.to_dict()}
    from llmlib.tokenizer import Tokenizer  # imported late: the char-level path never needs it

    if isinstance(tok, Tokenizer):  # its own file format (readable JSON), carried as a string
        return {"kind": "bpe", "json": tok.to_json()}
    raise TypeError(f"cannot store a {type(tok).__name__} in a checkpoint; use CharTokenizer or Tokenizer")


def tokenizer_from_dict(d: dict | None):
    if d is None:
        return None
    if d["kind"] == "char":
        return CharTokenizer.from_dict(d["data"])
    if d["kind"] == "bpe":
        from llmlib.tokenizer import Tokenizer

        return Tokenizer.from_json(d["json"], source="the checkpoint's tokenizer")
    raise ValueError(f"unknown tokenizer kind {d['kind']!r} in checkpoint")


# ---------------------------------------------------------------- checkpoints


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read."""


def _rng_state(generator: torch.Generator | None) -> dict:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "generator": generator.get_state() if generator is not None else None,
        "python": random.getstate(),
        # numpy's state holds an ndarray; store its numbers as a tensor so weights_only can load it
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), int(np_state[2]), int(np_state[3]), float(np_state[4])],
    }


def _set_rng_state(state: dict, generator: torch.Generator | None) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if generator is not None and state["generator"] is not None:
        generator.set_state(state["generator"])
    random.setstate(_as_tuple(state["python"]))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))


def _as_tuple(x):
    return tuple(_as_tuple(v) for v in x) if isinstance(x, (list, tuple)) else x


def _atomic_save(obj: dict, path: Path) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over ``path``.

    os.replace is atomic on one filesystem, so a crash at any moment leaves either
    the old file or the new one, never half of one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX)
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    step: int = 0,
    train_config: TrainConfig | None = None,
    tokenizer=None,
    generator: torch.Generator | None = None,
    history: dict | None = None,
    weights_dtype: torch.dtype | None = None,
) -> Path:
    """Save atomically. Without ``optimizer`` the file is model-only (enough to sample, not to resume).

    ``weights_dtype=torch.float16`` halves the file; the loader casts back to float32.
    """
    raw = _raw(model)
    state = raw.state_dict()
    state.pop("lm_head.weight", None)  # tied to transformer.wte.weight; load_state_dict restores the tie
    if weights_dtype is not None:
        state = {k: v.to(weights_dtype) if v.is_floating_point() else v for k, v in state.items()}
    ckpt = {
        "format": CHECKPOINT_FORMAT,
        "model_config": raw.config.to_dict(),
        "train_config": train_config.to_dict() if train_config is not None else None,
        "model": {k: v.detach().cpu() for k, v in state.items()},
        "weights_dtype": str(weights_dtype or torch.float32).removeprefix("torch."),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "step": int(step),
        "tokenizer": tokenizer_to_dict(tokenizer),
        "rng": _rng_state(generator) if optimizer is not None else None,
        "history": history or {},
    }
    path = Path(path)
    _atomic_save(ckpt, path)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint with ``weights_only=True``; a missing, corrupt or foreign file raises a clear error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"checkpoint not found: {path} (train one with: python -m llmlib train --out-dir {path.parent})"
        )
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, KeyError) as e:
        first = (str(e).strip().splitlines() or [""])[0][:120]
        if "Unsupported global" in str(e):
            raise CheckpointError(
                f"{path} holds pickled Python objects, which weights_only loading refuses; "
                "it is not an llmlib checkpoint (save with llmlib.train.save_checkpoint)"
            ) from e
        raise CheckpointError(
            f"checkpoint {path} is corrupt or truncated ({type(e).__name__}: {first}); "
            "delete it and train again, or resume from an earlier checkpoint"
        ) from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path} is not an llmlib checkpoint (no '{CHECKPOINT_FORMAT}' marker); "
            "load it with torch.load, or train one with python -m llmlib train"
        )
    return ckpt


def model_from_checkpoint(ckpt: dict, device: str | torch.device = "cpu") -> GPT:
    """Build the GPT a checkpoint describes and load its weights in float32."""
    model = GPT(GPTConfig(**ckpt["model_config"]))
    state = {k: v.float() if v.is_floating_point() else v for k, v in ckpt["model"].items()}
    state.setdefault("lm_head.weight", state["transformer.wte.weight"])
    model.load_state_dict(state)
    return model.to(device)


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu"):
    """-> (model in eval mode, its tokenizer): everything a notebook needs to sample or inspect."""
    ckpt = load_checkpoint(path, map_location="cpu")
    return model_from_checkpoint(ckpt, device).eval(), tokenizer_from_dict(ckpt["tokenizer"])


def export_checkpoint(src: str | os.PathLike, dst: str | os.PathLike, weights_dtype: torch.dtype = torch.float16) -> Path:
    """A small model-only copy of ``src`` (no optimizer or RNG state, weights in ``weights_dtype``).

    It samples and loads like any checkpoint but cannot resume training.
    """
    ckpt = load_checkpoint(src)
    model = model_from_checkpoint(ckpt)
    tc = TrainConfig.from_dict(ckpt["train_config"]) if ckpt["train_config"] else None
    return save_checkpoint(
        dst, model, step=ckpt["step"], train_config=tc, tokenizer=tokenizer_from_dict(ckpt["tokenizer"]),
        history=ckpt["history"], weights_dtype=weights_dtype,
    )


# ---------------------------------------------------------------- distributed


def _raw(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def ddp_setup(device: str) -> tuple[int, int, str]:
    """Join the process group torchrun describes. -> (rank, world_size, device for this rank).

    Without torchrun's environment this is one process: (0, 1, device).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, device
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if torch.device(device).type == "cuda":
        device = f"cuda:{local_rank}"
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    return rank, world, device


# ---------------------------------------------------------------- the loop


def train(
    model: GPT,
    train_data: torch.Tensor,
    val_data: torch.Tensor,
    cfg: TrainConfig | None = None,
    *,
    tokenizer=None,
    resume_from: str | os.PathLike | None = None,
    on_eval: Callable[[int, dict], None] | None = None,
    on_step: Callable[[int, float], None] | None = None,
) -> dict:
    """Train ``model`` in place on 1-D id tensors; return the history.

    history = {"step": [...], "loss": [...], "lr": [...],  one entry per update (loss before it)
               "eval_step": [...], "train": [...], "val": [...]}  one entry per evaluation

    ``on_eval(step, {"train": ..., "val": ...})`` and ``on_step(step, loss)`` run on rank 0
    (e.g. to draw a live plot). With ``resume_from`` the model, optimizer, step, history
    and random state come from that checkpoint and training continues to ``cfg.max_iters``.
    """
    cfg = cfg or TrainConfig()
    rank, world, device = ddp_setup(pick_device(cfg.device))
    master = rank == 0
    if cfg.batch_size % world:
        raise ValueError(f"batch_size={cfg.batch_size} does not split over {world} processes; use a multiple of {world}")
    block_size = model.config.block_size
    for name, d in (("train_data", train_data), ("val_data", val_data)):
        if not isinstance(d, torch.Tensor) or d.dim() != 1 or len(d) <= block_size:
            raise ValueError(
                f"{name} must be a 1-D tensor of token ids longer than block_size={block_size}; "
                "encode the text with torch.tensor(tokenizer.encode(text))"
            )

    model.to(device)
    optimizer = configure_optimizer(model, cfg, device)
    gen = torch.Generator().manual_seed(cfg.seed)  # batch sampling: same stream on every rank
    history = {"step": [], "loss": [], "lr": [], "eval_step": [], "train": [], "val": []}
    step = 0
    if resume_from is not None:
        ckpt = load_checkpoint(resume_from, map_location="cpu")
        if ckpt["optimizer"] is None:
            raise ValueError(f"{resume_from} is a model-only checkpoint and cannot resume training; use the full ckpt.pt")
        if ckpt["model_config"] != model.config.to_dict():
            raise ValueError(f"{resume_from} was trained with {ckpt['model_config']}, not {model.config.to_dict()}")
        state = ckpt["model"]
        state.setdefault("lm_head.weight", state["transformer.wte.weight"])
        model.load_state_dict(state)
        optimizer.load_state_dict(ckpt["optimizer"])
        _set_rng_state(ckpt["rng"], gen)
        step, history = ckpt["step"], ckpt["history"]
        tokenizer = tokenizer if tokenizer is not None else tokenizer_from_dict(ckpt["tokenizer"])
    else:
        torch.manual_seed(cfg.seed)
    if rank > 0:  # different dropout masks on each rank
        torch.manual_seed(cfg.seed + 1000 * rank + step)
    start = step

    autocast = _autocast(device, cfg.dtype)
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[torch.device(device)] if device.startswith("cuda") else None)
    else:
        net = model
    out_dir = Path(cfg.out_dir) if cfg.out_dir else None
    local_b = cfg.batch_size // world

    bar = None
    if cfg.progress and master:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.max_iters, initial=start, desc="train", dynamic_ncols=True)

    def log(msg):
        if master and cfg.log_interval:
            if bar is not None:
                bar.write(msg)
            else:
                print(msg, flush=True)

    def checkpoint(at_step):
        if master and out_dir is not None:
            save_checkpoint(out_dir / "ckpt.pt", model, optimizer, at_step, cfg, tokenizer, gen, history)

    t0 = time.perf_counter()
    model.train()
    while True:
        resumed_here = step == start and resume_from is not None  # this step's eval/checkpoint already happened
        if not resumed_here:
            if cfg.eval_interval and (step % cfg.eval_interval == 0 or step == cfg.max_iters):
                losses = estimate_loss(
                    model, {"train": train_data, "val": val_data}, cfg.batch_size, cfg.eval_iters, cfg.seed,
                    device, autocast, shard=(rank, world),
                )
                if world > 1:
                    t = torch.tensor([losses["train"], losses["val"]], device=device)
                    dist.all_reduce(t)
                    losses = {"train": t[0].item() / world, "val": t[1].item() / world}
                history["eval_step"].append(step)
                history["train"].append(losses["train"])
                history["val"].append(losses["val"])
                log(f"step {step}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
                if master and on_eval is not None:
                    on_eval(step, losses)
            if step in cfg.snapshot_steps and master and (out_dir is not None or cfg.snapshot_pattern):
                pattern = cfg.snapshot_pattern or str(out_dir / "snapshots" / "step{step}.pt")
                save_checkpoint(Path(pattern.format(step=step)), model, step=step,
                                train_config=cfg, tokenizer=tokenizer, weights_dtype=torch.float16)
            if step > start and (step == cfg.max_iters or (cfg.checkpoint_interval and step % cfg.checkpoint_interval == 0)):
                checkpoint(step)
        if step >= cfg.max_iters:
            break

        lr = get_lr(step, cfg)
        x, y = get_batch(train_data, cfg.batch_size, block_size, generator=gen)
        x, y = x[rank * local_b : (rank + 1) * local_b].to(device), y[rank * local_b : (rank + 1) * local_b].to(device)
        loss = train_step(net, optimizer, x, y, lr, cfg.grad_clip, autocast)

        loss_val = loss
        if world > 1:
            dist.all_reduce(loss_val)
            loss_val /= world
        loss_val = loss_val.item()
        history["step"].append(step)
        history["loss"].append(loss_val)
        history["lr"].append(lr)
        if master and on_step is not None:
            on_step(step, loss_val)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss_val:.3f}", lr=f"{lr:.1e}", refresh=False)
        step += 1
        if cfg.log_interval and step % cfg.log_interval == 0:
            dt = time.perf_counter() - t0
            tok_s = (step - start) * cfg.batch_size * block_size / dt
            log(f"step {step}/{cfg.max_iters} | loss {loss_val:.4f} | lr {lr:.2e} | {tok_s:,.0f} tok/s")
    if bar is not None:
        bar.close()
    return history


# ---------------------------------------------------------------- from a text file to a checkpoint


def make_tokenizer(kind: str, text: str, vocab_size: int = 1024):
    """'char' -> CharTokenizer of the text; 'bpe' -> byte-level BPE trained on it; a path -> Tokenizer.load(path)."""
    if kind == "char":
        return CharTokenizer.from_text(text)
    from llmlib.tokenizer import Tokenizer

    if kind == "bpe":
        return Tokenizer.train(text, vocab_size)
    path = Path(kind)
    if path.is_file():
        return Tokenizer.load(path)
    raise ValueError(f"tokenizer must be 'char', 'bpe' or a saved tokenizer file, got {kind!r} (file not found)")


def train_on_corpus(
    model_config: dict,
    cfg: TrainConfig,
    corpus: str | os.PathLike | None = None,
    tokenizer: str = "char",
    vocab_size: int = 1024,
    resume: bool = False,
    export: str | os.PathLike | None = None,
    resume_max_iters: int | None = None,
) -> dict:
    """What ``python -m llmlib train`` does: corpus -> tokenizer -> ids -> train -> checkpoint.

    ``model_config`` holds GPTConfig's fields except vocab_size, which the tokenizer sets.
    With ``resume`` the model, tokenizer and settings come from ``cfg.out_dir/ckpt.pt``;
    only ``resume_max_iters`` may change them, to train longer. ``export`` writes a small
    model-only float16 copy at the end (what data/checkpoints/ holds).
    """
    if cfg.out_dir is None:
        raise ValueError("set an output folder (TrainConfig.out_dir / --out-dir) so checkpoints have somewhere to go")
    ckpt_path = Path(cfg.out_dir) / "ckpt.pt"
    text = Path(corpus).read_text(encoding="utf-8") if corpus else load_corpus()
    if resume:
        ckpt = load_checkpoint(ckpt_path)
        tok = tokenizer_from_dict(ckpt["tokenizer"])
        mcfg = GPTConfig(**ckpt["model_config"])
        saved = TrainConfig.from_dict(ckpt["train_config"])
        if resume_max_iters is not None:
            if resume_max_iters < ckpt["step"]:
                raise ValueError(f"{ckpt_path} is at step {ckpt['step']}; to go on, max_iters must be at least that")
            saved.max_iters = resume_max_iters
        saved.out_dir = cfg.out_dir
        saved.log_interval, saved.progress = cfg.log_interval, cfg.progress
        cfg = saved
    else:
        if ckpt_path.exists():
            raise ValueError(f"{ckpt_path} exists already; add --resume to continue it, or choose another --out-dir")
        tok = make_tokenizer(tokenizer, text, vocab_size)
        mcfg = GPTConfig(vocab_size=tok.vocab_size, **model_config)
    ids = torch.tensor(tok.encode(text), dtype=torch.long)
    train_ids, val_ids = train_val_split(ids)
    torch.manual_seed(cfg.seed)
    model = GPT(mcfg)
    history = train(model, train_ids, val_ids, cfg, tokenizer=tok, resume_from=ckpt_path if resume else None)
    if dist.is_initialized():
        dist.destroy_process_group()
    if export and int(os.environ.get("RANK", "0")) == 0:
        export_checkpoint(ckpt_path, export)
        if not isinstance(tok, CharTokenizer):  # the BPE tokenizer also as a file of its own, beside the model
            tok.save(Path(export).with_suffix(".tokenizer.json"))
    return history
