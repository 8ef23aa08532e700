"""Tests for llmlib/train.py: schedule, optimizer groups, checkpoints, resume-after-kill."""

import math

import pytest
import torch

import llmlib.train as tr
from llmlib.data import CharTokenizer
from llmlib.model import GPT, GPTConfig
from llmlib.train import (
    CheckpointError,
    TrainConfig,
    configure_optimizer,
    export_checkpoint,
    get_lr,
    load_checkpoint,
    load_model,
    pick_device,
    save_checkpoint,
    train,
)

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\nAll:\nSpeak, speak.\n" * 8


@pytest.fixture(scope="module")
def tiny():
    torch.set_num_threads(1)
    tok = CharTokenizer.from_text(TEXT)
    ids = torch.tensor(tok.encode(TEXT))
    n = int(0.9 * len(ids))
    mcfg = GPTConfig(vocab_size=tok.vocab_size, block_size=16, n_layer=2, n_head=2, n_embd=16, dropout=0.1)
    return tok, ids[:n], ids[n:], mcfg


def _cfg(tmp_path=None, **kw):
    base = dict(batch_size=4, max_iters=8, learning_rate=3e-3, min_lr=3e-4, warmup_iters=2,
                eval_interval=4, eval_iters=2, seed=0, device="cpu")
    base.update(kw)
    if tmp_path is not None:
        base["out_dir"] = str(tmp_path)
    return TrainConfig(**base)


def _model(mcfg, seed=0):
    torch.manual_seed(seed)
    return GPT(mcfg)


# ---------------------------------------------------------------- schedule and config


def test_lr_schedule_warmup_cosine_floor():
    cfg = TrainConfig(max_iters=1000, learning_rate=1e-3, min_lr=1e-4, warmup_iters=100)
    lrs = [get_lr(s, cfg) for s in range(1200)]
    assert all(a < b for a, b in zip(lrs[:100], lrs[1:100]))  # warmup rises
    assert lrs[0] == pytest.approx(1e-3 / 101)
    assert lrs[100] == pytest.approx(1e-3)  # peak right after warmup
    assert lrs[550] == pytest.approx((1e-3 + 1e-4) / 2)  # halfway through the cosine
    assert all(a >= b for a, b in zip(lrs[100:1000], lrs[101:1000]))  # decay never rises
    assert lrs[1000] == lrs[1199] == 1e-4  # floor after lr_decay_iters
    assert get_lr(5, TrainConfig(max_iters=10, warmup_iters=0, learning_rate=1.0, min_lr=0.0)) == pytest.approx(
        0.5 * (1 + math.cos(math.pi * 0.5))
    )


@pytest.mark.parametrize(
    "kw, words",
    [
        (dict(batch_size=0), "batch_size"),
        (dict(max_iters=10, warmup_iters=100), "warmup_iters"),
        (dict(min_lr=1.0, learning_rate=0.1), "min_lr"),
        (dict(dtype="float16"), "dtype"),
        (dict(snapshot_steps=[-1]), "snapshot_steps"),
    ],
)
def test_train_config_rejects_bad_values(kw, words):
    with pytest.raises(ValueError, match=words):
        TrainConfig(**kw)


def test_train_config_round_trips_through_dict():
    cfg = TrainConfig(max_iters=700, snapshot_steps=[5, 1, 5])
    assert cfg.snapshot_steps == [1, 5]
    assert TrainConfig.from_dict(cfg.to_dict() | {"unknown_key": 1}) == cfg


def test_optimizer_decays_only_matrices(tiny):
    *_, mcfg = tiny
    model = _model(mcfg)
    opt = configure_optimizer(model, TrainConfig())
    decayed, plain = opt.param_groups
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    assert all(p.dim() == 2 for p in decayed["params"]) and all(p.dim() == 1 for p in plain["params"])
    assert sum(p.numel() for g in opt.param_groups for p in g["params"]) == model.num_params()


def test_pick_device():
    assert pick_device("cpu") == "cpu"
    assert pick_device("auto") in ("cuda", "mps", "cpu")


# ---------------------------------------------------------------- the loop


def test_train_lowers_loss_and_calls_back(tiny):
    tok, tr_ids, va_ids, mcfg = tiny
    seen = []
    hist = train(_model(mcfg), tr_ids, va_ids, _cfg(max_iters=30, eval_interval=10),
                 on_eval=lambda s, l: seen.append((s, l["val"])))
    assert [s for s, _ in seen] == [0, 10, 20, 30] == hist["eval_step"]
    assert hist["step"] == list(range(30)) and len(hist["loss"]) == len(hist["lr"]) == 30
    assert hist["val"][-1] < hist["val"][0] - 0.3


def test_train_is_deterministic(tiny):
    _, tr_ids, va_ids, mcfg = tiny
    a = train(_model(mcfg), tr_ids, va_ids, _cfg())
    b = train(_model(mcfg), tr_ids, va_ids, _cfg())
    assert a == b


def test_train_rejects_bad_data(tiny):
    _, tr_ids, va_ids, mcfg = tiny
    with pytest.raises(ValueError, match="1-D tensor of token ids"):
        train(_model(mcfg), tr_ids[:5], va_ids, _cfg())
    with pytest.raises(ValueError, match="1-D tensor"):
        train(_model(mcfg), tr_ids.view(1, -1), va_ids, _cfg())


class _Killed(Exception):
    pass


def test_resume_after_kill_is_bit_identical(tiny, tmp_path):
    """Train 8 steps straight; separately train, die during step 5, resume from the step-4 checkpoint."""
    tok, tr_ids, va_ids, mcfg = tiny
    straight_model = _model(mcfg)
    straight = train(straight_model, tr_ids, va_ids, _cfg(), tokenizer=tok)

    cfg = _cfg(tmp_path, checkpoint_interval=4)

    def die(step, loss):
        if step == 5:
            raise _Killed

    with pytest.raises(_Killed):
        train(_model(mcfg), tr_ids, va_ids, cfg, tokenizer=tok, on_step=die)
    assert load_checkpoint(tmp_path / "ckpt.pt")["step"] == 4

    # A fresh model with other weights and a disturbed global RNG, as in a new process.
    torch.manual_seed(12345)
    resumed_model = _model(mcfg, seed=99)
    resumed = train(resumed_model, tr_ids, va_ids, cfg, resume_from=tmp_path / "ckpt.pt")
    assert resumed == straight  # losses, learning rates and evaluations, bit for bit
    for (k, a), b in zip(straight_model.state_dict().items(), resumed_model.state_dict().values()):
        assert torch.equal(a, b), k


def test_resume_refuses_model_only_and_mismatched(tiny, tmp_path):
    tok, tr_ids, va_ids, mcfg = tiny
    model = _model(mcfg)
    save_checkpoint(tmp_path / "model_only.pt", model, tokenizer=tok)
    with pytest.raises(ValueError, match="model-only"):
        train(model, tr_ids, va_ids, _cfg(), resume_from=tmp_path / "model_only.pt")
    train(model, tr_ids, va_ids, _cfg(tmp_path, max_iters=2))
    other = GPT(GPTConfig(vocab_size=mcfg.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16))
    with pytest.raises(ValueError, match="was trained with"):
        train(other, tr_ids, va_ids, _cfg(), resume_from=tmp_path / "ckpt.pt")


def test_snapshots_are_model_only_float16(tiny, tmp_path):
    tok, tr_ids, va_ids, mcfg = tiny
    train(_model(mcfg), tr_ids, va_ids, _cfg(tmp_path, max_iters=4, snapshot_steps=[0, 2],
                                             snapshot_pattern=str(tmp_path / "s" / "c_step{step}.pt")), tokenizer=tok)
    for step in (0, 2):
        ckpt = load_checkpoint(tmp_path / "s" / f"c_step{step}.pt")
        assert ckpt["step"] == step and ckpt["optimizer"] is None
        assert ckpt["model"]["transformer.wte.weight"].dtype == torch.float16


# ---------------------------------------------------------------- checkpoints


def test_checkpoint_loads_with_weights_only_and_round_trips(tiny, tmp_path):
    tok, tr_ids, va_ids, mcfg = tiny
    model = _model(mcfg)
    train(model, tr_ids, va_ids, _cfg(tmp_path, max_iters=3), tokenizer=tok)
    raw = torch.load(tmp_path / "ckpt.pt", weights_only=True)  # plain tensors and containers only
    assert raw["step"] == 3 and raw["optimizer"] is not None
    loaded, tok2 = load_model(tmp_path / "ckpt.pt")
    assert tok2 == tok and not loaded.training
    assert loaded.lm_head.weight is loaded.transformer.wte.weight  # the tie survives
    for (k, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), k


def test_export_is_small_float16_and_loads(tiny, tmp_path):
    tok, tr_ids, va_ids, mcfg = tiny
    model = _model(mcfg)
    train(model, tr_ids, va_ids, _cfg(tmp_path, max_iters=2), tokenizer=tok)
    export_checkpoint(tmp_path / "ckpt.pt", tmp_path / "small.pt")
    assert (tmp_path / "small.pt").stat().st_size < 0.4 * (tmp_path / "ckpt.pt").stat().st_size
    loaded, tok2 = load_model(tmp_path / "small.pt")
    assert tok2 == tok and loaded.transformer.wte.weight.dtype == torch.float32
    x = torch.tensor([tok.encode("Speak, speak.")])
    model.eval()
    assert torch.allclose(model(x)[0], loaded(x)[0], atol=1e-2)


def test_crash_mid_write_keeps_the_old_checkpoint(tiny, tmp_path, monkeypatch):
    tok, _, _, mcfg = tiny
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, _model(mcfg), step=1, tokenizer=tok)
    before = path.read_bytes()

    def crash(obj, f):
        f.write(b"PK\x03\x04 half a file")
        raise KeyboardInterrupt  # the process dies mid-write

    monkeypatch.setattr(tr.torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, _model(mcfg, seed=1), step=2, tokenizer=tok)
    assert path.read_bytes() == before
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]  # no temporary file left behind


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_checkpoint_gives_a_clear_error(tiny, tmp_path, damage):
    tok, _, _, mcfg = tiny
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, _model(mcfg), tokenizer=tok)
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"not a checkpoint" * 10, "empty": b""}[damage])
    with pytest.raises(CheckpointError, match="corrupt or truncated") as err:
        load_checkpoint(path)
    msg = str(err.value)
    assert str(path) in msg and "delete it" in msg and "earlier checkpoint" in msg


def test_foreign_and_missing_files(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not an llmlib checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match="checkpoint not found.*python -m llmlib train"):
        load_checkpoint(tmp_path / "nope.pt")


def test_pickled_objects_are_refused(tmp_path):
    torch.save({"format": tr.CHECKPOINT_FORMAT, "config": TrainConfig()}, tmp_path / "pickled.pt")
    with pytest.raises(CheckpointError, match="weights_only"):
        load_checkpoint(tmp_path / "pickled.pt")
