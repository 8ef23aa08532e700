"""The attention lab of notebook 08: look inside a trained GPT.

Three layers, each usable on its own (notebooks 03-07 may use any of them):

    numbers   attention_for_text (cached per text), attention_steps (one head, step by
              step, from the model's own weights), head scores: head_entropy,
              previous_token_scores, induction_scores, and find_heads
    figures   static matplotlib versions of every view: plot_view, plot_lines,
              plot_layer_grid, plot_attention_steps, plot_head_scores, plot_snapshots;
              each takes ``path=`` to save a PNG
    widgets   AttentionView, an anywidget drawn by lab.js in the browser (no CDN, no
              network), and the builders attention_lab and step_through around it

Attention weights travel to the browser as uint16 (w * 65535): 2 bytes a weight, exact
to 1e-5, small enough to keep a whole model's attention in the page so that switching
layer or head, hovering a token and clicking a thumbnail never wait for the kernel.
They are sent only once a page shows the view, so an executed notebook stays small.
"""

from __future__ import annotations

import colorsys
import contextlib
import math
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import anywidget
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
import traitlets
from matplotlib.colors import to_hex, to_rgb

from .plots import MASKED_COLOR, causal_masked, plot_attention, token_label
from .style import ATTENTION_CMAP, PALETTE, token_color, use_style

_HERE = Path(__file__).parent
STEP_NAMES = ["scores q\u00b7k (QK^T row)", "scaled by 1/sqrt(head_size)", "masked: future keys = -inf",
              "softmax: the attention weights", "weighted sum of values: the head's output"]
MODES = ("heatmap", "lines", "grid")


# ---------------------------------------------------------------- numbers


def _check_model(model) -> None:
    if not (hasattr(model, "config") and hasattr(model, "transformer")):
        raise TypeError(f"expected an llmlib GPT, got {type(model).__name__}; load one with llmlib.train.load_model(path)")


def encode_text(tokenizer, text: str) -> tuple[list[int], int]:
    """text -> (ids, number of characters dropped).

    A learner may type anything; characters the tokenizer cannot encode (a character
    model has never seen them) are dropped rather than raising, so a text box never breaks.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    try:
        return list(tokenizer.encode(text)), 0
    except ValueError:
        pass
    kept = []
    for ch in text:
        try:
            tokenizer.encode(ch)
            kept.append(ch)
        except ValueError:
            continue
    try:
        return list(tokenizer.encode("".join(kept))), len(text) - len(kept)
    except ValueError:
        return [], len(text)


def token_labels(tokenizer, ids: Sequence[int]) -> list[str]:
    """One printable label per id (a BPE piece of a multi-byte character shows as \ufffd)."""
    return [tokenizer.decode([int(i)]) for i in ids]


@contextlib.contextmanager
def _one_thread():
    """Run torch on one thread inside, restoring the setting after.

    One text through a small model takes milliseconds; on a busy 2-core laptop, splitting
    such small matrix products over threads that wait for each other can make a widget
    callback 50 times slower.
    """
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


@_one_thread()
@torch.no_grad()
def model_attentions(model, idx: torch.Tensor) -> np.ndarray:
    """idx [B, T] -> every layer's attention weights as one array [n_layer, B, n_head, T, T].

    Runs in eval mode (no dropout) and puts the model back in the mode it was in.
    """
    _check_model(model)
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        _, _, attentions = model(idx.to(device), return_attention=True)
    finally:
        model.train(was_training)
    return torch.stack(attentions).float().cpu().numpy()


@dataclass
class AttentionRun:
    """One text through one model: labels [T], ids [T], attention [n_layer, n_head, T, T]."""

    tokens: list[str]
    ids: list[int]
    attention: np.ndarray
    note: str = ""


# model -> {(text, max_tokens): AttentionRun}; weak keys so a deleted model frees its cache.
_RUNS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_RUNS_PER_MODEL = 64


def attention_for_text(model, tokenizer, text: str, max_tokens: int = 64) -> AttentionRun:
    """The model's attention on ``text`` (at most ``max_tokens`` tokens, and block_size), cached.

    A widget calls this on every change, so a repeated text costs a dict lookup. The key
    includes the parameters' version counters, which every in-place update (an optimizer
    step, load_state_dict) bumps, so training the model further never shows stale weights.
    An empty text gives T = 0 and an explanatory ``note`` instead of an error.
    """
    _check_model(model)
    if not isinstance(max_tokens, int) or max_tokens < 1:
        raise ValueError(f"max_tokens must be a positive integer, got {max_tokens!r}")
    cache = _RUNS.setdefault(model, {})
    key = (text, max_tokens, sum(p._version for p in model.parameters()))
    if key in cache:
        return cache[key]
    ids, dropped = encode_text(tokenizer, text)
    notes = [f"dropped {dropped} character(s) this tokenizer does not know"] if dropped else []
    limit = min(max_tokens, model.config.block_size)
    if len(ids) > limit:
        notes.append(f"showing the first {limit} of {len(ids)} tokens")
        ids = ids[:limit]
    cfg = model.config
    if ids:
        att = model_attentions(model, torch.tensor([ids], dtype=torch.long))[:, 0]  # [L, H, T, T]
    else:
        notes.append("no tokens: type some text")
        att = np.zeros((cfg.n_layer, cfg.n_head, 0, 0), dtype=np.float32)
    run = AttentionRun(token_labels(tokenizer, ids), ids, att, "; ".join(notes))
    if len(cache) >= _RUNS_PER_MODEL:
        cache.pop(next(iter(cache)))
    cache[key] = run
    return run


@_one_thread()
@torch.no_grad()
def attention_steps(model, ids: Sequence[int], layer: int, head: int, token: int) -> dict:
    """One head's attention for one query token, computed step by step from the model's weights.

    The input of block ``layer`` goes through its ln_1, then the head's columns of
    Query, Key and Value (the layer's c_attn, [C, head_size] each) give q, k, v.
    Returns numpy arrays: ``scores`` [T] = q_token . k_j, ``scaled``, ``masked``
    (-inf after ``token``), ``weights`` (softmax), ``out`` [head_size] = weights @ v,
    and what the model itself computes: ``model_weights`` [T] and ``model_out``
    [head_size] (the head's slice of the layer's output before c_proj), so a caller
    can assert that the steps add up to the model.
    """
    _check_model(model)
    cfg = model.config
    idx = torch.as_tensor(list(ids), dtype=torch.long)[None]
    T = idx.shape[1]
    for name, value, hi in (("layer", layer, cfg.n_layer), ("head", head, cfg.n_head), ("token", token, T)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < hi:
            raise ValueError(f"{name}={value!r} is out of range; pick an integer in 0..{hi - 1}")
    if T > cfg.block_size:
        raise ValueError(f"{T} tokens exceed block_size={cfg.block_size}; pass at most {cfg.block_size} ids")
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        idx = idx.to(device)
        tr = model.transformer
        x = tr.wte(idx) + tr.wpe(torch.arange(T, device=device))  # [1, T, C]
        for block in tr.h[:layer]:
            x = block(x)
        block = tr.h[layer]
        x_ln = block.ln_1(x)[0]  # [T, C]
        attn = block.attn
        C, hs = cfg.n_embd, attn.head_size
        cols = slice(head * hs, (head + 1) * hs)
        bias = attn.c_attn.bias
        q = x_ln @ attn.Query[:, cols]  # [T, head_size]
        k = x_ln @ attn.Key[:, cols]
        v = x_ln @ attn.Value[:, cols]
        if bias is not None:  # c_attn's bias, split the same way as its weight: query, key, value
            q, k, v = q + bias[:C][cols], k + bias[C : 2 * C][cols], v + bias[2 * C :][cols]
        scores = k @ q[token]  # [T]: q_token . k_j for every key j
        scaled = scores / math.sqrt(hs)
        masked = scaled.masked_fill(torch.arange(T, device=device) > token, float("-inf"))
        weights = torch.softmax(masked, dim=-1)
        out = weights @ v  # [head_size]

        # What the model computes: its weights, and its heads' outputs as they enter c_proj.
        seen = {}
        hook = attn.c_proj.register_forward_hook(lambda mod, inp, res: seen.setdefault("y", inp[0]))
        try:
            _, wei = attn(block.ln_1(x), return_weights=True)
        finally:
            hook.remove()
    finally:
        model.train(was_training)
    as_np = lambda t: t.detach().float().cpu().numpy()  # noqa: E731
    return {
        "layer": layer, "head": head, "token": token,
        "q": as_np(q[token]), "k": as_np(k), "v": as_np(v),
        "scores": as_np(scores), "scaled": as_np(scaled), "masked": as_np(masked),
        "weights": as_np(weights), "out": as_np(out),
        "model_weights": as_np(wei[0, head, token]), "model_out": as_np(seen["y"][0, token, cols]),
    }


def _stacked(attentions) -> np.ndarray:
    """Any of: list of [B, H, T, T] tensors (a model's output), [L, H, T, T] or [L, B, H, T, T]
    -> numpy [L, B, H, T, T]."""
    if isinstance(attentions, (list, tuple)):
        attentions = [a.detach().float().cpu().numpy() if hasattr(a, "detach") else np.asarray(a) for a in attentions]
        a = np.stack(attentions)
    else:
        a = attentions.detach().float().cpu().numpy() if hasattr(attentions, "detach") else np.asarray(attentions)
    if a.ndim == 4:
        a = a[:, None]
    if a.ndim != 5 or a.shape[-1] != a.shape[-2]:
        raise ValueError(
            f"expected attention weights [n_layer, n_head, T, T] or [n_layer, B, n_head, T, T] (or the model's list), "
            f"got shape {a.shape}; get them with model(idx, return_attention=True)[2]"
        )
    if a.shape[-1] < 2:
        raise ValueError("need at least 2 tokens to score heads; use a longer text")
    return a.astype(np.float64)


def head_entropy(attentions) -> np.ndarray:
    """Mean entropy, in bits, of each head's attention rows -> [n_layer, n_head].

    Low: the head looks at few tokens (0 bits: one token). High, up to log2(t + 1) for row t:
    it spreads its weight evenly. Row 0 is skipped: it can only look at itself, so it is always 0.
    """
    a = _stacked(attentions)[..., 1:, :]
    plogp = np.where(a > 0, a * np.log2(np.where(a > 0, a, 1.0)), 0.0)
    return -plogp.sum(-1).mean(axis=(1, 3))


def previous_token_scores(attentions) -> np.ndarray:
    """Mean weight each head puts on the token just before the query (t-1) -> [n_layer, n_head]."""
    a = _stacked(attentions)
    T = a.shape[-1]
    t = np.arange(1, T)
    return a[..., t, t - 1].mean(axis=(1, 3))


def repeated_random_tokens(vocab_size: int, seq_len: int, batch: int = 4, seed: int = 0) -> torch.Tensor:
    """[batch, 2 * seq_len] ids: a random sequence followed by itself, for induction scores."""
    for name, v in (("vocab_size", vocab_size), ("seq_len", seq_len), ("batch", batch)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    g = torch.Generator().manual_seed(seed)
    first = torch.randint(vocab_size, (batch, seq_len), generator=g)
    return torch.cat([first, first], dim=1)


def induction_scores(attentions, seq_len: int) -> np.ndarray:
    """How much each head behaves as an induction head -> [n_layer, n_head].

    On a sequence whose second half repeats its first half (length seq_len), the token
    at position t >= seq_len appeared before at t - seq_len; an induction head looks at
    what came *after* that occurrence, position t - seq_len + 1, to predict what comes next.
    The score is the mean weight on that position over the second half.
    """
    a = _stacked(attentions)
    T = a.shape[-1]
    if not isinstance(seq_len, int) or seq_len < 1 or 2 * seq_len > T:
        raise ValueError(f"seq_len={seq_len!r} does not fit: the attention covers T={T} tokens, which must be >= 2 * seq_len")
    t = np.arange(seq_len, 2 * seq_len)
    return a[..., t, t - seq_len + 1].mean(axis=(1, 3))


def find_heads(scores, threshold: float, below: bool = False) -> list[tuple[int, int]]:
    """(layer, head) of every head whose score is above ``threshold`` (or below, for entropy),
    strongest first; ties in (layer, head) order, so the list is deterministic."""
    s = np.asarray(scores, dtype=float)
    if s.ndim != 2:
        raise ValueError(f"scores must be [n_layer, n_head], got shape {s.shape}")
    hits = [(float(s[l, h]), l, h) for l in range(s.shape[0]) for h in range(s.shape[1])
            if (s[l, h] < threshold if below else s[l, h] > threshold)]
    hits.sort(key=lambda x: (x[0] if below else -x[0], x[1], x[2]))
    return [(l, h) for _, l, h in hits]


# ---------------------------------------------------------------- figures


def _finish(fig, path):
    """Save ``fig`` as a PNG when ``path`` is given (creating its folder); return it."""
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig


def _pick(attention: np.ndarray, layer: int, head: int) -> np.ndarray:
    """[L, H, T, T] -> one head's [T, T], or the mean over heads when head < 0."""
    L, H = attention.shape[:2]
    if not 0 <= layer < L or not -1 <= head < H:
        raise ValueError(f"layer={layer}, head={head} out of range; layers 0..{L - 1}, heads 0..{H - 1} (or -1 for the mean)")
    return attention[layer].mean(0) if head < 0 else attention[layer, head]


def head_color(h: int) -> str:
    """Head h's colour for lines: the hue of token_color(h), darkened so a faint line still shows."""
    r, g, b = to_rgb(token_color(h))
    hue, light, sat = colorsys.rgb_to_hls(r, g, b)
    return to_hex(colorsys.hls_to_rgb(hue, 0.42, max(sat, 0.6)))


def _head_name(layer: int, head: int) -> str:
    return f"layer {layer}, " + (f"head {head}" if head >= 0 else "mean of all heads")


def plot_lines(tokens: Sequence[str], weights, query: int, heads: Sequence[int] | None = None,
               title: str | None = None, path=None):
    """The line view as a static figure: what ``query`` attends to, one colour per head.

    weights: one layer's [n_head, T, T]. Tokens stand in two columns; a line from the
    query (left) to each key (right) has the head's colour and the weight as opacity.
    """
    use_style()
    w = np.asarray(weights, dtype=float)
    if w.ndim != 3 or w.shape[-1] != w.shape[-2] or len(tokens) != w.shape[-1]:
        raise ValueError(f"plot_lines needs one layer's weights [n_head, T, T] and T tokens, got {w.shape} and {len(tokens)} tokens")
    T = w.shape[-1]
    if not 0 <= query < T:
        raise ValueError(f"query={query} is outside the text; pick a position in 0..{T - 1}")
    heads = list(range(w.shape[0])) if heads is None else list(heads)
    fig, ax = plt.subplots(figsize=(4.6, max(2.0, 0.17 * T + 0.8)))
    for h in heads:
        for j in range(query + 1):
            if w[h, query, j] >= 0.01:
                ax.plot([0.08, 0.92], [query, j], color=head_color(h), alpha=float(w[h, query, j]), linewidth=2.5)
    for i, tok in enumerate(tokens):
        ax.text(0.06, i, token_label(tok), ha="right", va="center", family="monospace",
                color="#d62728" if i == query else "black", fontweight="bold" if i == query else "normal")
        ax.text(0.94, i, token_label(tok), ha="left", va="center", family="monospace", color="#aaa" if i > query else "black")
    for h in heads:
        ax.plot([], [], color=head_color(h), linewidth=3, label=f"head {h}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.12, 1), fontsize=8, frameon=False)
    ax.set_xlim(-0.25, 1.25)
    ax.set_ylim(T - 0.5, -2.0)
    ax.axis("off")
    ax.text(0.06, -1.4, "query", ha="right", color="#555", fontsize=9)
    ax.text(0.94, -1.4, "key", ha="left", color="#555", fontsize=9)
    if title:
        ax.set_title(title)
    return _finish(fig, path)


def _small_multiples(panels: np.ndarray, tokens: Sequence[str], titles: Sequence[str], ncols: int,
                     title: str | None = None, title_colors: Sequence[str] | None = None):
    """Thumbnails of many [T, T] maps on the 0-1 scale, masked triangle grey.

    plots.plot_head_grid hatches every masked cell, which is right for a few large maps and
    slow for a grid of 16 or more; thumbnails use the plain grey of the mask instead.
    """
    use_style()
    n, T = panels.shape[0], panels.shape[-1]
    nrows = -(-n // ncols)
    side = 1.5 if T > 24 else 1.8
    fig, axes = plt.subplots(nrows, ncols, figsize=(side * ncols + 1.2, side * nrows + 0.8), squeeze=False)
    cmap = plt.get_cmap(ATTENTION_CMAP).with_extremes(bad=MASKED_COLOR)
    labels = [token_label(x, max_len=4) for x in tokens]
    im = None
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        im = ax.imshow(causal_masked(panels[i]), cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if T <= 24 and i % ncols == 0:
            ax.set_yticks(range(T), labels, fontsize=5, family="monospace")
        if T <= 24 and i + ncols >= n:
            ax.set_xticks(range(T), labels, fontsize=5, family="monospace", rotation=90)
        ax.tick_params(length=0)
        bbox = dict(facecolor=title_colors[i], edgecolor="none", pad=1.5) if title_colors else None
        ax.set_title(titles[i], fontsize=8, bbox=bbox)
    fig.colorbar(im, ax=axes.ravel().tolist(), fraction=0.02, pad=0.02, label="attention weight")
    if title:
        fig.suptitle(title)
    return fig


def plot_layer_grid(tokens: Sequence[str], attention, title: str | None = None, path=None):
    """Every layer and head of one text: attention [n_layer, n_head, T, T] -> thumbnails, a row per layer."""
    a = np.asarray(attention, dtype=float)
    if a.ndim != 4 or a.shape[-1] != len(tokens):
        raise ValueError(f"plot_layer_grid needs attention [n_layer, n_head, T, T] and T tokens, got shape {a.shape} "
                         f"and {len(tokens)} tokens; use AttentionRun.attention and AttentionRun.tokens")
    L, H = a.shape[:2]
    titles = [f"L{i // H} H{i % H}" for i in range(L * H)]
    fig = _small_multiples(a.reshape(L * H, *a.shape[2:]), tokens, titles, ncols=H, title=title,
                           title_colors=[token_color(i % H) for i in range(L * H)])
    return _finish(fig, path)


def plot_view(run: AttentionRun, mode: str = "heatmap", layer: int = 0, head: int = -1, query: int | None = None, path=None):
    """The static twin of a lab view: 'heatmap' (one head, or the mean), 'lines' or 'grid'."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    T = len(run.tokens)
    if T == 0:
        raise ValueError("nothing to draw: the text has no tokens; type some text first")
    query = T - 1 if query is None or not 0 <= query < T else query
    if mode == "heatmap":
        fig = plot_attention(_pick(run.attention, layer, head), run.tokens, title=_head_name(layer, head))
        return _finish(fig, path)
    if mode == "lines":
        _pick(run.attention, layer, head)  # range check
        heads = None if head < 0 else [head]
        return plot_lines(run.tokens, run.attention[layer], query, heads, title=f"layer {layer}: what token {query} attends to", path=path)
    return plot_layer_grid(run.tokens, run.attention, title="every layer and head", path=path)


def plot_attention_steps(steps: dict, tokens: Sequence[str], path=None):
    """The five steps of attention_steps as five panels: scores, scaled, masked, softmax, output."""
    use_style()
    T = len(steps["scores"])
    if len(tokens) != T:
        raise ValueError(f"got {len(tokens)} tokens for {T} positions; pass the labels of the same ids")
    t = steps["token"]
    labels = [token_label(x) for x in tokens]
    fig, axes = plt.subplots(5, 1, figsize=(max(5.0, 0.22 * T + 1.5), 8.5))
    xs = np.arange(T)
    for ax, key, name in zip(axes[:4], ("scores", "scaled", "masked", "weights"), STEP_NAMES):
        vals = np.asarray(steps[key], dtype=float)
        finite = np.isfinite(vals)
        if key == "weights":
            ax.bar(xs, vals, color=plt.get_cmap(ATTENTION_CMAP)(vals), edgecolor="#2171b5")
            ax.set_ylim(0, 1)
        else:
            ax.bar(xs[finite], vals[finite], color=np.where(vals[finite] >= 0, "#4292c6", "#ef8a62"))
            ax.axhline(0, color="#999", linewidth=0.8)
        for j in xs[~finite]:
            ax.axvspan(j - 0.45, j + 0.45, color=MASKED_COLOR, alpha=0.6)
            ax.text(j, 0, "\u2212\u221e", ha="center", va="bottom", fontsize=7)
        ax.set_title(name, fontsize=9, loc="left")
        ax.set_xticks(xs)
        ax.set_xticklabels(labels, fontsize=7, family="monospace")
        ax.get_xticklabels()[t].set_color("#d62728")
    out = np.asarray(steps["out"], dtype=float)
    axes[4].bar(np.arange(len(out)), out, color=np.where(out >= 0, "#4292c6", "#ef8a62"))
    axes[4].axhline(0, color="#999", linewidth=0.8)
    axes[4].set_title(STEP_NAMES[4] + f" ({len(out)} numbers)", fontsize=9, loc="left")
    axes[4].set_xlabel("dimension of the head's output")
    fig.suptitle(f"{_head_name(steps['layer'], steps['head'])}, query token {t} {tokens[t]!r}", fontsize=10)
    fig.tight_layout()
    return _finish(fig, path)


def plot_head_scores(scores: Mapping[str, np.ndarray], found: Mapping[str, Sequence[tuple[int, int]]] | None = None,
                     path=None):
    """One panel per score ({name: [n_layer, n_head]}), values written in, found heads outlined red."""
    use_style()
    if not scores:
        raise ValueError("pass at least one score, e.g. {'previous token': previous_token_scores(att)}")
    found = found or {}
    fig, axes = plt.subplots(1, len(scores), figsize=(3.4 * len(scores), 2.8), squeeze=False)
    for ax, (name, s) in zip(axes[0], scores.items()):
        s = np.asarray(s, dtype=float)
        im = ax.imshow(s, cmap="viridis", aspect="auto")
        for l in range(s.shape[0]):
            for h in range(s.shape[1]):
                ax.text(h, l, f"{s[l, h]:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if s[l, h] < s.min() + 0.6 * (s.max() - s.min() + 1e-12) else "black")
        for l, h in found.get(name, []):
            ax.add_patch(plt.Rectangle((h - 0.5, l - 0.5), 1, 1, fill=False, edgecolor="#d62728", linewidth=2.5))
        ax.set_xticks(range(s.shape[1]))
        ax.set_yticks(range(s.shape[0]))
        ax.set_xlabel("head")
        ax.set_ylabel("layer")
        ax.set_title(name)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return _finish(fig, path)


def plot_snapshots(tokens: Sequence[str], weights: Mapping[str, np.ndarray], title: str | None = None, path=None):
    """One head over training: {label: [T, T]} -> a row of maps on the same 0-1 scale."""
    if not weights:
        raise ValueError("pass at least one snapshot, e.g. {'step 0': w0, 'step 2000': w1}")
    stack = np.stack([np.asarray(w, dtype=float) for w in weights.values()])
    if stack.ndim != 3 or stack.shape[-1] != len(tokens):
        raise ValueError(f"each snapshot needs one head's weights [T, T] for the {len(tokens)} tokens, got {stack.shape[1:]}")
    fig = _small_multiples(stack, tokens, list(weights), ncols=len(weights), title=title)
    return _finish(fig, path)


# ---------------------------------------------------------------- widgets


class AttentionView(anywidget.AnyWidget):
    """The lab's drawing surface: a heatmap, a line view or the grid of all heads (``mode``).

    ``kind='steps'`` draws attention_steps instead. Everything is drawn by lab.js in the
    page; ``selected`` (the hovered or clicked query token) and a clicked thumbnail's
    ``layer`` and ``head`` flow back to Python.

    The weights wait in Python until a page shows the view (lab.js says "ready"): a notebook
    executed without a browser (nbconvert, nbval) then stores no weights in its widget state.
    """

    _esm = _HERE / "lab.js"
    _css = _HERE / "lab.css"
    kind = traitlets.Unicode("attention").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    shape = traitlets.List(traitlets.Int()).tag(sync=True)
    weights = traitlets.Bytes(b"").tag(sync=True)
    layer = traitlets.Int(0).tag(sync=True)
    head = traitlets.Int(-1).tag(sync=True)  # -1: all heads (mean in the heatmap, every colour in the lines)
    mode = traitlets.Unicode("heatmap").tag(sync=True)
    selected = traitlets.Int(-1).tag(sync=True)  # -1: the last token
    colors = traitlets.List(traitlets.Unicode(), default_value=[head_color(h) for h in range(len(PALETTE))]).tag(sync=True)
    steps = traitlets.Dict().tag(sync=True)
    step = traitlets.Int(4).tag(sync=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._pending: tuple | None = None  # (tokens, shape, weights) not sent yet
        self._shown = False
        self.on_msg(self._on_page_message)

    def _on_page_message(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("type") == "ready" and not self._shown:
            self._shown = True
            self._send_pending()

    def _send_pending(self) -> None:
        if self._pending is not None:
            tokens, shape, data = self._pending
            self._pending = None
            with self.hold_sync():
                self.tokens, self.shape, self.weights = tokens, shape, data

    def show(self, tokens: Sequence[str], attention: np.ndarray) -> None:
        """Send tokens [T] and attention [n_layer, n_head, T, T] to the page in one message
        (or keep them until a page shows this view)."""
        a = np.asarray(attention, dtype=np.float64)
        if a.ndim != 4 or a.shape[-1] != a.shape[-2] or a.shape[-1] != len(tokens):
            raise ValueError(f"show needs T tokens and attention [n_layer, n_head, T, T], got {len(tokens)} tokens and {a.shape}")
        quantised = np.round(np.clip(a, 0.0, 1.0) * 65535).astype("<u2")
        self._pending = (list(tokens), [int(n) for n in a.shape], quantised.tobytes())
        if self._shown:
            self._send_pending()


def _steps_payload(steps: dict, tokens: Sequence[str]) -> dict:
    """attention_steps' arrays as JSON for lab.js (None stands for -inf)."""
    rows = []
    for key in ("scores", "scaled", "masked", "weights", "out"):
        rows.append([None if not np.isfinite(v) else round(float(v), 5) for v in steps[key]])
    return {"names": STEP_NAMES, "rows": rows, "tokens": list(tokens), "token": int(steps["token"])}


def _default_export_dir() -> Path:
    from llmlib.data import repo_root

    return repo_root() / "artifacts" / "lab"


def _models(models) -> dict:
    """A GPT, or {label: GPT} for training snapshots -> {label: GPT}, all of one shape."""
    if isinstance(models, Mapping):
        if not models:
            raise ValueError("models is empty; pass a GPT or {label: GPT}, e.g. {'step 0': m0, 'step 5000': m1}")
        out = dict(models)
    else:
        out = {"model": models}
    shapes = set()
    for m in out.values():
        _check_model(m)
        shapes.add((m.config.n_layer, m.config.n_head))
    if len(shapes) != 1:
        raise ValueError(f"the snapshots have different shapes (n_layer, n_head): {sorted(shapes)}; pass snapshots of one model")
    return out


class AttentionLab(widgets.VBox):
    """Pick a text, a layer, a head and a view; hover a token; save the view as a PNG.

    ``models`` is a GPT, or {label: GPT} (training snapshots), which adds a slider that
    scrubs through them. Attributes: ``controls`` (name -> control), ``view`` (the
    AttentionView), ``status`` (a line of text), and ``save_png(path=None)``.
    """

    def __init__(self, models, tokenizer, text: str = "To be, or not to be: that is the question.",
                 layer: int = 0, head: int = -1, mode: str = "heatmap", max_tokens: int = 64, export_dir=None):
        self.models = _models(models)
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.export_dir = Path(export_dir) if export_dir is not None else None
        cfg = next(iter(self.models.values())).config
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        _pick(np.zeros((cfg.n_layer, cfg.n_head, 1, 1)), layer, head)  # range check with a clear message
        c = {
            "text": widgets.Text(value=text, description="text", continuous_update=False, layout=widgets.Layout(width="520px")),
            "layer": widgets.IntSlider(value=layer, min=0, max=cfg.n_layer - 1, description="layer"),
            "head": widgets.Dropdown(options=[("all heads", -1)] + [(f"head {h}", h) for h in range(cfg.n_head)],
                                     value=head, description="head", layout=widgets.Layout(width="200px")),
            "mode": widgets.ToggleButtons(options=[("heatmap", "heatmap"), ("lines", "lines"), ("all heads", "grid")],
                                          value=mode, description="view", style={"button_width": "80px"}),
            "save": widgets.Button(description="Save PNG", icon="download", tooltip="save this view as a PNG"),
        }
        labels = list(self.models)
        if len(labels) > 1:
            c["snapshot"] = widgets.SelectionSlider(options=labels, value=labels[-1], description="training",
                                                    continuous_update=True, layout=widgets.Layout(width="520px"))
        self.controls = c
        self.view = AttentionView(layer=layer, head=head, mode=mode)
        self.status = widgets.HTML()
        # Layer, head and view change only the drawing: the page redraws from the weights it holds.
        # (Linked in Python: a Dropdown syncs its index, not its value, so jslink cannot pair them.)
        self._links = [traitlets.link((c[k], "value"), (self.view, k)) for k in ("layer", "head", "mode")]
        c["text"].observe(self._refresh, names="value")
        if "snapshot" in c:
            c["snapshot"].observe(self._refresh, names="value")
        c["save"].on_click(lambda _: self.save_png())
        rows = [c["text"], widgets.HBox([c["layer"], c["head"]]), c["mode"]]
        if "snapshot" in c:
            rows.append(c["snapshot"])
        rows += [self.view, widgets.HBox([c["save"], self.status])]
        super().__init__(rows)
        self._refresh()

    @property
    def model(self):
        label = self.controls["snapshot"].value if "snapshot" in self.controls else "model"
        return self.models[label]

    def run(self) -> AttentionRun:
        return attention_for_text(self.model, self.tokenizer, self.controls["text"].value, self.max_tokens)

    def _refresh(self, *_):
        run = self.run()
        if "snapshot" in self.controls:
            self.view.title = self.controls["snapshot"].value
        self.view.show(run.tokens, run.attention)
        self.status.value = f"<i>{run.note}</i>" if run.note else ""

    def save_png(self, path=None) -> Path | None:
        """Save the current view (as plot_view draws it) to ``path``, by default artifacts/lab/."""
        run, v = self.run(), self.view
        if not run.tokens:
            self.status.value = "<i>nothing to save: type some text first</i>"
            return None
        if path is None:
            snap = self.controls["snapshot"].value.replace(" ", "") + "_" if "snapshot" in self.controls else ""
            name = f"attention_{snap}{v.mode}_L{v.layer}_H{'all' if v.head < 0 else v.head}.png"
            path = (self.export_dir or _default_export_dir()) / name
        fig = plot_view(run, v.mode, v.layer, v.head, v.selected if v.selected >= 0 else None, path=path)
        plt.close(fig)
        self.status.value = f"saved <code>{path}</code>"
        return Path(path)


class StepThrough(widgets.VBox):
    """Step through one head for one query token: QK^T, scale, mask, softmax, weighted sum.

    The numbers come from attention_steps, i.e. from the model's own weights.
    Attributes: ``controls``, ``view``, ``steps`` (the last attention_steps result), ``save_png``.
    """

    def __init__(self, model, tokenizer, text: str = "To be, or not to be", layer: int = 0, head: int = 0,
                 token: int | None = None, max_tokens: int = 32, export_dir=None):
        _check_model(model)
        self.model, self.tokenizer, self.max_tokens = model, tokenizer, max_tokens
        self.export_dir = Path(export_dir) if export_dir is not None else None
        cfg = model.config
        c = {
            "text": widgets.Text(value=text, description="text", continuous_update=False, layout=widgets.Layout(width="520px")),
            "layer": widgets.IntSlider(value=layer, min=0, max=cfg.n_layer - 1, description="layer"),
            "head": widgets.IntSlider(value=head, min=0, max=cfg.n_head - 1, description="head"),
            "token": widgets.IntSlider(value=0, min=0, max=0, description="query token"),
            "step": widgets.SelectionSlider(options=[(f"{i + 1}. {n.split(':')[0]}", i) for i, n in enumerate(STEP_NAMES)],
                                            value=len(STEP_NAMES) - 1, description="step", layout=widgets.Layout(width="520px")),
            "save": widgets.Button(description="Save PNG", icon="download"),
        }
        self.controls = c
        self.view = AttentionView(kind="steps")
        self.status = widgets.HTML()
        self._steps_cache: dict = {}
        self._link = traitlets.link((c["step"], "value"), (self.view, "step"))
        c["text"].observe(self._new_text, names="value")
        for k in ("layer", "head", "token"):
            c[k].observe(self._refresh, names="value")
        c["save"].on_click(lambda _: self.save_png())
        super().__init__([c["text"], widgets.HBox([c["layer"], c["head"]]), c["token"], c["step"], self.view,
                          widgets.HBox([c["save"], self.status])])
        self._new_text(token=token)

    def _run(self) -> AttentionRun:
        return attention_for_text(self.model, self.tokenizer, self.controls["text"].value, self.max_tokens)

    def _new_text(self, *_, token: int | None = None):
        T = len(self._run().tokens)
        tok = self.controls["token"]
        with self.hold_trait_notifications():
            tok.max = max(T - 1, 0)
            tok.value = min(tok.max, tok.max if token is None else max(0, token))
        self._refresh()

    @property
    def steps(self) -> dict | None:
        run, c = self._run(), self.controls
        if not run.ids:
            return None
        key = (id(run), c["layer"].value, c["head"].value, min(c["token"].value, len(run.ids) - 1))
        if key not in self._steps_cache:
            if len(self._steps_cache) > 256:
                self._steps_cache.clear()
            self._steps_cache[key] = attention_steps(self.model, run.ids, *key[1:])
        return self._steps_cache[key]

    def _refresh(self, *_):
        run, steps = self._run(), self.steps
        if steps is None:
            self.view.steps = {}
            self.status.value = "<i>no tokens: type some text</i>"
            return
        t = steps["token"]
        self.view.title = f"{_head_name(steps['layer'], steps['head'])}, query token {t} {run.tokens[t]!r}"
        self.view.steps = _steps_payload(steps, run.tokens)
        self.status.value = f"<i>{run.note}</i>" if run.note else ""

    def save_png(self, path=None) -> Path | None:
        steps = self.steps
        if steps is None:
            return None
        if path is None:
            path = (self.export_dir or _default_export_dir()) / (
                f"steps_L{steps['layer']}_H{steps['head']}_t{steps['token']}.png")
        fig = plot_attention_steps(steps, self._run().tokens, path=path)
        plt.close(fig)
        self.status.value = f"saved <code>{path}</code>"
        return Path(path)


def attention_lab(models, tokenizer, text: str = "To be, or not to be: that is the question.", **kwargs) -> AttentionLab:
    """Build the lab widget (see AttentionLab)."""
    return AttentionLab(models, tokenizer, text, **kwargs)


def step_through(model, tokenizer, text: str = "To be, or not to be", **kwargs) -> StepThrough:
    """Build the step-through widget (see StepThrough)."""
    return StepThrough(model, tokenizer, text, **kwargs)


__all__ = [
    "STEP_NAMES", "AttentionRun", "encode_text", "token_labels", "model_attentions", "attention_for_text",
    "attention_steps", "head_entropy", "previous_token_scores", "repeated_random_tokens", "induction_scores",
    "find_heads", "head_color", "plot_lines", "plot_layer_grid", "plot_view", "plot_attention_steps", "plot_head_scores",
    "plot_snapshots", "AttentionView", "AttentionLab", "StepThrough", "attention_lab", "step_through",
]
