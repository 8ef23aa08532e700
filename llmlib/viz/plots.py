"""Static figures for notebooks 02-08: attention heatmaps, head grids, loss curves.

Every function returns a matplotlib Figure drawn in the course's look
(llmlib.viz.style). Attention weights always use a fixed 0-1 colour scale, so
two heatmaps can be compared by eye, and masked (future) positions are grey and
hatched, never white, so "weight 0" and "not allowed to look" stay apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .style import ATTENTION_CMAP, FIGSIZE, token_color, use_style

MASKED_COLOR = "#bdbdbd"  # grey: visibly not part of the white-to-blue weight scale

# Characters that would vanish or break a tick label, shown as visible stand-ins.
_VISIBLE = {" ": "\u2423", "\n": "\u21b5", "\t": "\u21e5", "\r": "\u240d"}


def token_label(token: str, max_len: int = 12, for_matplotlib: bool = True) -> str:
    """A token as a readable label: spaces, newlines and tabs become visible marks."""
    if not isinstance(token, str):
        raise TypeError(f"token labels must be str, got {type(token).__name__}; decode ids to text first")
    shown = "".join(_VISIBLE.get(ch, ch) for ch in token)
    if for_matplotlib:
        shown = shown.replace("$", r"\$")  # a "$" pair would switch matplotlib into maths mode
    return shown if len(shown) <= max_len else shown[: max_len - 1] + "\u2026"


def _as_weights(weights, ndim: int, what: str) -> np.ndarray:
    """Weights as a float numpy array of the expected rank, detached from autograd."""
    if hasattr(weights, "detach"):
        weights = weights.detach().float().cpu().numpy()
    w = np.asarray(weights, dtype=float)
    if w.ndim != ndim or w.shape[-1] != w.shape[-2]:
        shape = "[T, T]" if ndim == 2 else "[n_head, T, T]"
        raise ValueError(f"{what} needs weights of shape {shape}, got {tuple(w.shape)}; pick one sentence (and layer) first, e.g. wei[0]")
    return w


def _check_tokens(tokens: Sequence[str], T: int) -> list[str]:
    tokens = list(tokens)
    if len(tokens) != T:
        raise ValueError(f"got {len(tokens)} token labels for a {T}x{T} attention matrix; pass one label per position")
    return [token_label(t) for t in tokens]


def causal_masked(weights: np.ndarray) -> np.ma.MaskedArray:
    """Hide the upper triangle (keys after the query), which a causal head never sees."""
    T = weights.shape[-1]
    future = np.triu(np.ones((T, T), dtype=bool), k=1)
    return np.ma.masked_array(weights, mask=np.broadcast_to(future, weights.shape))


def _draw_heatmap(ax, w: np.ndarray, labels: list[str] | None, causal: bool, show_x: bool = True, show_y: bool = True,
                  fontsize: float = 8):
    cmap = plt.get_cmap(ATTENTION_CMAP).with_extremes(bad=MASKED_COLOR)
    data = causal_masked(w) if causal else w
    im = ax.imshow(data, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    T = w.shape[-1]
    if causal and T > 1:
        # Hatch the masked triangle as well, so it reads as "not allowed" even in greyscale.
        rows, cols = np.triu_indices(T, k=1)
        for r, c in zip(rows, cols):
            ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, hatch="///", edgecolor="white", linewidth=0))
    ax.set_xticks(range(T))
    ax.set_yticks(range(T))
    if labels is not None and show_x:
        ax.set_xticklabels(labels, rotation=90, fontsize=fontsize)
    else:
        ax.set_xticklabels([])
    if labels is not None and show_y:
        ax.set_yticklabels(labels, fontsize=fontsize)
    else:
        ax.set_yticklabels([])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return im


def plot_attention(weights, tokens: Sequence[str], title: str | None = None, causal: bool = True, ax=None,
                   colorbar: bool = True):
    """Heatmap of one head's weights [T, T]: row t is what query token t attends to.

    Rows are queries (y axis), columns are keys (x axis), both labelled with the
    tokens. The colour scale is fixed to 0-1; masked future positions are grey.
    Pass ``ax`` to draw into a panel of a larger figure (``colorbar=False`` for all
    but one panel keeps them from crowding).
    """
    use_style()
    w = _as_weights(weights, 2, "plot_attention")
    labels = _check_tokens(tokens, w.shape[-1])
    if ax is None:
        side = min(9.0, max(3.5, 0.32 * len(labels) + 1.5))
        fig, ax = plt.subplots(figsize=(side + 1.0, side))
    else:
        fig = ax.figure
    im = _draw_heatmap(ax, w, labels, causal)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    if title:
        ax.set_title(title)
    if colorbar:
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="attention weight")
    return fig


def plot_head_grid(weights, tokens: Sequence[str], ncols: int | None = None, title: str | None = None, causal: bool = True):
    """Every head's attention for one sentence: weights [n_head, T, T] -> one panel per head.

    Token labels sit on the left column and the bottom row only, to leave room for the maps.
    """
    use_style()
    w = _as_weights(weights, 3, "plot_head_grid")
    n_head, T = w.shape[0], w.shape[-1]
    labels = _check_tokens(tokens, T)
    if ncols is None:
        ncols = min(n_head, 4)
    if not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    nrows = -(-n_head // ncols)
    panel = min(4.0, max(2.0, 0.14 * T + 0.8))
    fontsize = 8 if T <= 16 else 7 if T <= 28 else 6  # long sentences: smaller labels so they do not overlap
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel * ncols + 1.2, panel * nrows + 0.8), squeeze=False,
                             layout="constrained")
    im = None
    for i, ax in enumerate(axes.flat):
        if i >= n_head:
            ax.axis("off")
            continue
        r, c = divmod(i, ncols)
        last_row = i + ncols >= n_head
        im = _draw_heatmap(ax, w[i], labels, causal, show_x=last_row, show_y=(c == 0), fontsize=fontsize)
        ax.set_title(f"head {i}", color="black", fontsize=10,
                     bbox=dict(facecolor=token_color(i), edgecolor="none", pad=1.5))
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="attention weight")
    if title:
        fig.suptitle(title)
    return fig


def plot_loss_curves(histories: Mapping[str, Mapping[str, Sequence[float]]], title: str | None = None,
                     baseline: float | None = None, baseline_label: str = "uniform guess", ax=None):
    """Train (solid) and validation (dashed) loss of several models on one plot.

    ``histories`` maps a model's name to {"step": [...], "train": [...], "val": [...]};
    "train" or "val" may be missing. ``baseline`` draws a horizontal line, e.g. ln(vocab_size).
    """
    use_style()
    if not isinstance(histories, Mapping) or not histories:
        raise ValueError('histories must be a non-empty dict like {"bigram": {"step": [...], "train": [...], "val": [...]}}')
    if ax is None:
        fig, ax = plt.subplots(figsize=FIGSIZE)
    else:
        fig = ax.figure
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (name, h) in enumerate(histories.items()):
        if "step" not in h or not ({"train", "val"} & set(h)):
            raise ValueError(f'history {name!r} needs a "step" list and a "train" and/or "val" list of the same length')
        color = colors[i % len(colors)]
        for split, style in (("train", "-"), ("val", "--")):
            if split in h:
                if len(h[split]) != len(h["step"]):
                    raise ValueError(f"history {name!r}: {len(h[split])} {split} losses for {len(h['step'])} steps; record one per step")
                ax.plot(h["step"], h[split], style, color=color, label=f"{name} {split}")
    if baseline is not None:
        ax.axhline(baseline, color="grey", linestyle=":", linewidth=1, label=f"{baseline_label} ({baseline:.2f})")
    ax.set_xlabel("training step")
    ax.set_ylabel("cross-entropy loss")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


__all__ = ["MASKED_COLOR", "token_label", "causal_masked", "plot_attention", "plot_head_grid", "plot_loss_curves"]
