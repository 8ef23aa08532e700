"""``python -m llmlib``: a thin command line over train.py, generate.py and tokenizer.py.

Each subcommand parses its arguments and calls the library; the logic lives there.
A bad argument or a missing file prints one line, ``error: ...``, and exits with code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EPILOG = """examples:
  python -m llmlib train --tokenizer char --max-iters 2000 --out-dir runs/char
  python -m llmlib train --tokenizer bpe --vocab-size 1024 --out-dir runs/bpe
  python -m llmlib train --out-dir runs/char --max-iters 4000 --resume
  torchrun --standalone --nproc_per_node 2 -m llmlib train --device cuda --out-dir runs/ddp
  python -m llmlib sample data/checkpoints/shakespeare_char.pt --prompt "ROMEO:" --max-new-tokens 200
  python -m llmlib tokenize "To be, or not to be" --tokenizer cl100k
  python -m llmlib doctor
"""


class UsageError(Exception):
    """A mistake the user can fix; printed as one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse prints the whole usage; one line is enough, --help has the rest
        raise UsageError(f"{message} (see python -m llmlib {self._sub_name()}--help)")

    def _sub_name(self):
        parts = self.prog.split()
        return (parts[-1] + " ") if len(parts) > 1 and parts[-1] != "llmlib" else ""


def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}")
    return v


def _nonneg_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {s!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {s!r}")
    return v


def _step_list(s: str) -> list[int]:
    try:
        return [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated steps like 100,500,2000, got {s!r}") from None


def _existing_file(s: str) -> Path:
    if not Path(s).is_file():
        raise UsageError(f"file not found: {s}")
    return Path(s)


# ---------------------------------------------------------------- train


def _add_train(sub):
    p = sub.add_parser(
        "train", help="train a GPT on a text file and write checkpoints",
        description="Train a GPT on a text file (default: the course's Shakespeare corpus). "
        "Writes OUT_DIR/ckpt.pt (resumable) every --checkpoint-interval steps and at the end.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--corpus", help="UTF-8 text file to train on (default: data/shakespeare.txt)")
    p.add_argument("--tokenizer", default="char", help="char, bpe, or a saved tokenizer file (default: char)")
    p.add_argument("--vocab-size", type=_positive_int, default=1024, help="BPE vocabulary size (default: 1024)")
    m = p.add_argument_group("model")
    m.add_argument("--n-layer", type=_positive_int, default=4)
    m.add_argument("--n-head", type=_positive_int, default=4)
    m.add_argument("--n-embd", type=_positive_int, default=128)
    m.add_argument("--block-size", type=_positive_int, default=64)
    m.add_argument("--dropout", type=float, default=0.0)
    t = p.add_argument_group("training")
    t.add_argument("--max-iters", type=_positive_int, help="steps to train (default: 2000; with --resume: the saved run's)")
    t.add_argument("--batch-size", type=_positive_int, default=12)
    t.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (default: 1e-3)")
    t.add_argument("--min-lr", type=float, default=1e-4, help="learning rate at the end of the cosine decay")
    t.add_argument("--warmup-iters", type=_nonneg_int, default=100)
    t.add_argument("--weight-decay", type=float, default=0.1)
    t.add_argument("--grad-clip", type=float, default=1.0)
    t.add_argument("--eval-interval", type=_nonneg_int, default=250)
    t.add_argument("--eval-iters", type=_positive_int, default=20)
    t.add_argument("--log-interval", type=_nonneg_int, default=50)
    t.add_argument("--seed", type=int, default=1337)
    t.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps (default: auto)")
    t.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16"])
    o = p.add_argument_group("output")
    o.add_argument("--out-dir", default="runs/default", help="folder for ckpt.pt (default: runs/default)")
    o.add_argument("--checkpoint-interval", type=_nonneg_int, default=250)
    o.add_argument("--resume", action="store_true",
                   help="continue OUT_DIR/ckpt.pt with its saved model and settings; only --max-iters may change")
    o.add_argument("--snapshot-steps", type=_step_list, default=[], help="steps at which to save model-only snapshots, e.g. 100,500,2000")
    o.add_argument("--snapshot-pattern", help="snapshot file name with {step} (default: OUT_DIR/snapshots/step{step}.pt)")
    o.add_argument("--export", help="at the end also write a small float16 model-only copy here")
    o.add_argument("--threads", type=_positive_int, help="CPU threads for torch (default: torch's choice)")
    o.add_argument("--progress", action="store_true", help="show a progress bar")
    p.set_defaults(func=_train)


def _train(args):
    import torch

    from llmlib.train import TrainConfig, train_on_corpus

    if args.corpus is not None:
        _existing_file(args.corpus)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.snapshot_pattern is not None and "{step}" not in args.snapshot_pattern:
        raise UsageError(f"--snapshot-pattern must contain {{step}}, got {args.snapshot_pattern!r}")
    cfg = TrainConfig(
        batch_size=args.batch_size, max_iters=args.max_iters or 2000, learning_rate=args.lr, min_lr=args.min_lr,
        warmup_iters=args.warmup_iters, weight_decay=args.weight_decay, grad_clip=args.grad_clip,
        eval_interval=args.eval_interval, eval_iters=args.eval_iters, log_interval=args.log_interval,
        seed=args.seed, device=args.device, dtype=args.dtype, out_dir=args.out_dir,
        checkpoint_interval=args.checkpoint_interval, snapshot_steps=args.snapshot_steps,
        snapshot_pattern=args.snapshot_pattern, progress=args.progress,
    )
    model_config = dict(n_layer=args.n_layer, n_head=args.n_head, n_embd=args.n_embd,
                        block_size=args.block_size, dropout=args.dropout)
    history = train_on_corpus(model_config, cfg, corpus=args.corpus, tokenizer=args.tokenizer,
                              vocab_size=args.vocab_size, resume=args.resume, export=args.export,
                              resume_max_iters=args.max_iters)
    if history["val"] and os.environ.get("RANK", "0") == "0":  # under torchrun, one line, not one per process
        print(f"done: step {history['eval_step'][-1]}, train loss {history['train'][-1]:.4f}, "
              f"val loss {history['val'][-1]:.4f}; checkpoint {Path(args.out_dir) / 'ckpt.pt'}")


# ---------------------------------------------------------------- sample


def _add_sample(sub):
    p = sub.add_parser(
        "sample", help="generate text from a checkpoint",
        description="Continue a prompt with a trained checkpoint.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", help="a .pt file written by python -m llmlib train (e.g. data/checkpoints/shakespeare_char.pt)")
    p.add_argument("--prompt", default="\n", help="text to continue (default: a newline)")
    p.add_argument("--max-new-tokens", type=_nonneg_int, default=200)
    p.add_argument("--temperature", type=float, default=0.8, help="0 is greedy (default: 0.8)")
    p.add_argument("--top-k", type=_positive_int, help="keep only the k most likely tokens")
    p.add_argument("--top-p", type=float, help="keep the most likely tokens whose probabilities add up to p")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=_sample)


def _sample(args):
    import torch

    from llmlib.generate import generate
    from llmlib.train import load_model, pick_device

    if not Path(args.checkpoint).is_file():
        raise UsageError(
            f"checkpoint not found: {args.checkpoint} (train one with python -m llmlib train --out-dir runs/char, "
            "or use data/checkpoints/shakespeare_char.pt)"
        )
    device = pick_device(args.device)
    model, tok = load_model(args.checkpoint, device=device)
    if tok is None:
        raise UsageError(f"{args.checkpoint} holds no tokenizer, so its ids cannot be turned into text")
    idx = torch.tensor([tok.encode(args.prompt)], dtype=torch.long, device=device)
    g = torch.Generator(device=device).manual_seed(args.seed)
    out = generate(model, idx, args.max_new_tokens, temperature=args.temperature, top_k=args.top_k,
                   top_p=args.top_p, generator=g)
    print(tok.decode(out[0].tolist()))


# ---------------------------------------------------------------- tokenize


def _add_tokenize(sub):
    p = sub.add_parser(
        "tokenize", help="show the token ids and pieces of a text",
        description="Split a text into tokens and print each id with its piece.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("text", nargs="?", help="the text to tokenize")
    src.add_argument("--file", help="tokenize this UTF-8 file instead")
    p.add_argument("--tokenizer", default="cl100k",
                   help="char (the corpus's characters), cl100k (GPT-4's), a saved tokenizer file, or a checkpoint .pt (default: cl100k)")
    p.set_defaults(func=_tokenize)


def _load_tokenizer(spec: str):
    if spec == "char":
        from llmlib.data import CharTokenizer, load_corpus

        return CharTokenizer.from_text(load_corpus())
    if spec == "cl100k":
        from llmlib.tokenizer import load_cl100k

        return load_cl100k()
    path = Path(spec)
    if not path.is_file():
        raise UsageError(f"tokenizer not found: {spec} (use char, cl100k, a file saved with Tokenizer.save, or a checkpoint)")
    if path.suffix == ".pt":
        from llmlib.train import load_model

        return load_model(path)[1]
    from llmlib.tokenizer import Tokenizer

    return Tokenizer.load(path)


def _tokenize(args):
    text = _existing_file(args.file).read_text(encoding="utf-8") if args.file else args.text
    tok = _load_tokenizer(args.tokenizer)
    ids = tok.encode(text)
    print(f"{len(text)} characters -> {len(ids)} tokens")
    print("ids:", ids)
    pieces = [tok.decode_bytes([i]) if hasattr(tok, "decode_bytes") else tok.decode([i]).encode() for i in ids]
    print("tokens:", " | ".join(repr(p.decode("utf-8", errors="replace"))[1:-1] for p in pieces))


# ---------------------------------------------------------------- doctor


def _add_doctor(sub):
    # listed for --help only: main() hands everything after "doctor" to llmlib.doctor, which parses it
    sub.add_parser("doctor", help="check that this machine can run the course (see python -m llmlib doctor --help)",
                   add_help=False)


def _doctor(argv):
    try:
        from llmlib.doctor import main as doctor_main  # imported late: only this subcommand needs it
    except ModuleNotFoundError as e:
        if e.name != "llmlib.doctor":
            raise
        raise UsageError("llmlib.doctor is missing from this installation; reinstall llmlib (pip install -e .)") from None

    return doctor_main(argv)


# ---------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m llmlib",
        description="Train, sample and inspect the course's small GPTs.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="{train,sample,tokenize,doctor}", parser_class=_Parser)
    _add_train(sub)
    _add_sample(sub)
    _add_tokenize(sub)
    _add_doctor(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        if argv[:1] == ["doctor"]:
            return _doctor(argv[1:]) or 0
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return args.func(args) or 0
    except (UsageError, ValueError, TypeError, FileNotFoundError) as e:
        print(f"error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted (resume with --resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
