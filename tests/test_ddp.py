"""DistributedDataParallel through llmlib.train: 2 CPU processes (gloo) must match 1 process.

Each rank takes half of the same global batch and DDP averages the gradients, so the
update equals the one-process update on the whole batch (up to float rounding).
"""

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from llmlib.model import GPT, GPTConfig
from llmlib.train import TrainConfig, load_checkpoint, train

MCFG = dict(vocab_size=17, block_size=8, n_layer=2, n_head=2, n_embd=16, dropout=0.0)


def _data():
    g = torch.Generator().manual_seed(0)
    return torch.randint(17, (400,), generator=g), torch.randint(17, (100,), generator=g)


def _cfg(out_dir=None):
    return TrainConfig(batch_size=8, max_iters=4, warmup_iters=1, learning_rate=1e-2, min_lr=1e-3,
                       eval_interval=2, eval_iters=2, seed=3, device="cpu", out_dir=out_dir)


def _run(out_dir=None):
    torch.manual_seed(0)
    model = GPT(GPTConfig(**MCFG))
    history = train(model, *_data(), _cfg(out_dir))
    return history, model.state_dict()


def _worker(rank, world, port, out_dir):
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    try:
        history, state = _run(out_dir)
        if rank == 0:
            torch.save({"history": history, "state": state}, os.path.join(out_dir, "result.pt"))
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="torch built without gloo")
def test_two_processes_match_one(tmp_path):
    torch.set_num_threads(1)
    single_hist, single_state = _run()

    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    result = torch.load(tmp_path / "result.pt", weights_only=True)
    ddp_hist, ddp_state = result["history"], result["state"]

    assert ddp_hist["step"] == single_hist["step"] and ddp_hist["eval_step"] == single_hist["eval_step"]
    for key in ("loss", "train", "val"):
        assert torch.allclose(torch.tensor(ddp_hist[key]), torch.tensor(single_hist[key]), atol=1e-5), key
    for k, v in single_state.items():
        assert torch.allclose(ddp_state[k], v, atol=1e-5), k
    # only rank 0 wrote the checkpoint, and it holds the plain (unwrapped) model
    ckpt = load_checkpoint(tmp_path / "ckpt.pt")
    assert ckpt["step"] == 4 and not any(k.startswith("module.") for k in ckpt["model"])


def test_batch_must_split_over_ranks(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setattr(dist, "is_initialized", lambda: True)  # pretend torchrun set up the group
    with pytest.raises(ValueError, match="batch_size=8 does not split over 3 processes"):
        _run()
