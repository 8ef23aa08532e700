"""Widgets for notebooks 03 and 04: see what one head, and then m heads, attend to.

Each widget is a thin ipywidgets shell around a pure ``render_*`` function that
turns (tokens, scores or weights, the control values) into an HTML string. The
HTML uses only inline styles, so nothing is fetched at run time (no CDN, no
JavaScript of our own), a callback costs a few milliseconds, and tests can call
``render_*`` without a frontend. Builders return the widget box with two extra
attributes, ``controls`` (name -> control) and ``view`` (the HTML output), so a
test can drive every control the way a learner would.

Widgets render neither on GitHub nor in nbval: the notebooks put a static
figure from llmlib.viz.plots beside each one.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_hex

from .plots import MASKED_COLOR, token_label
from .style import ATTENTION_CMAP, token_color

_CELL = 18  # px: one heatmap cell

# Scores are multiplied by this before the softmax: 0 = flat average, 1 = the head as
# trained, large = nearly all weight on the best-matching key.
SCALE_MIN, SCALE_MAX, SCALE_STEP = 0.0, 8.0, 0.25


def _colors(w: np.ndarray) -> np.ndarray:
    """Hex colours of weights in [0, 1] on the course's attention colour map."""
    rgba = colormaps[ATTENTION_CMAP](np.clip(w, 0.0, 1.0))
    return np.array([to_hex(c) for c in rgba.reshape(-1, 4)]).reshape(w.shape)


def _text_color(w: float) -> str:
    return "white" if w > 0.55 else "black"


def causal_softmax(scores, scale: float = 1.0) -> np.ndarray:
    """Weights [T, T] from raw scores [T, T]: scale, hide future keys, softmax each row."""
    s = np.asarray(scores, dtype=float) * float(scale)
    T = s.shape[-1]
    s = np.where(np.tril(np.ones((T, T), dtype=bool)), s, -np.inf)
    s = s - s.max(axis=-1, keepdims=True)  # the diagonal is always visible, so the max is finite
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def _check(tokens: Sequence[str], w: np.ndarray, query: int, what: str) -> int:
    T = w.shape[-1]
    if w.shape[-2] != T or len(tokens) != T or T == 0:
        raise ValueError(f"{what}: got {len(tokens)} tokens for a matrix of shape {tuple(w.shape)}; pass one token per position")
    if not 0 <= int(query) < T:
        raise ValueError(f"{what}: query={query} is outside the sentence; pick a position in 0..{T - 1}")
    return int(query)


def token_strip_html(tokens: Sequence[str], row: np.ndarray, query: int) -> str:
    """The sentence, each token shaded by how much the query token attends to it.

    Tokens after the query are grey: the causal mask hides them.
    """
    colors = _colors(row)
    parts = []
    for s, tok in enumerate(tokens):
        label = html.escape(token_label(tok, for_matplotlib=False), quote=False)
        if s > query:
            style = f"background:{MASKED_COLOR};color:#555"
            weight = "&nbsp;"
        else:
            style = f"background:{colors[s]};color:{_text_color(row[s])}"
            weight = f"{row[s]:.2f}"
        border = "2px solid #d62728" if s == query else "1px solid #ddd"
        parts.append(
            f'<span style="display:inline-block;text-align:center;margin:1px;min-width:24px">'
            f'<span style="display:block;padding:2px 3px;border:{border};{style}">{label}</span>'
            f'<span style="display:block;font-size:9px;color:#555">{weight}</span></span>'
        )
    return '<div style="font-family:monospace;font-size:13px;line-height:1.1">' + "".join(parts) + "</div>"


def attention_table_html(weights, tokens: Sequence[str], query: int | None = None) -> str:
    """A [T, T] causal attention matrix as an HTML heatmap, tokens on both axes.

    Rows are queries, columns keys; the fixed 0-1 colour scale matches plot_attention,
    masked (future) cells are grey, and the ``query`` row is outlined.
    """
    w = np.asarray(weights, dtype=float)
    _check(tokens, w, 0 if query is None else query, "attention_table_html")
    T = w.shape[-1]
    colors = _colors(w)
    labels = [html.escape(token_label(t, max_len=8, for_matplotlib=False), quote=False) for t in tokens]
    cell = f"width:{_CELL}px;height:{_CELL}px;padding:0;"
    head = "".join(
        f'<th style="{cell}height:auto;writing-mode:vertical-rl;font-weight:normal;vertical-align:bottom">{lab}</th>'
        for lab in labels
    )
    rows = [f'<tr><th style="font-size:9px;color:#555;text-align:right">query \\ key</th>{head}</tr>']
    for t in range(T):
        mark = "outline:2px solid #d62728;" if t == query else ""
        tds = []
        for s in range(T):
            if s > t:
                tds.append(f'<td style="{cell}background:{MASKED_COLOR}" title="masked"></td>')
            else:
                tds.append(f'<td style="{cell}background:{colors[t, s]}" title="{w[t, s]:.3f}"></td>')
        rows.append(
            f'<tr style="{mark}"><th style="text-align:right;font-weight:normal;padding-right:4px">{labels[t]}</th>{"".join(tds)}</tr>'
        )
    return '<table style="border-collapse:collapse;font-family:monospace;font-size:11px">' + "".join(rows) + "</table>"


def _entropy_bits(row: np.ndarray) -> float:
    p = row[row > 0]
    return float(-(p * np.log2(p)).sum())


def render_single_head(tokens: Sequence[str], scores, query: int, scale: float = 1.0) -> str:
    """HTML for notebook 03's widget: one head's attention with its scores times ``scale``.

    tokens: T strings; scores: the head's scaled scores query @ key^T / sqrt(head_size), [T, T];
    query: the position whose attention is shown in the strip; scale >= 0.
    """
    s = np.asarray(scores, dtype=float)
    query = _check(tokens, s, query, "render_single_head")
    if not np.isfinite(scale) or scale < 0:
        raise ValueError(f"scale must be a finite number >= 0, got {scale}")
    w = causal_softmax(s, scale)
    row = w[query]
    top = int(row.argmax())
    summary = (
        f"query {query} {html.escape(repr(tokens[query]), quote=False)} with scores x {scale:g}: "
        f"largest weight {row[top]:.2f} on {html.escape(repr(tokens[top]), quote=False)} (position {top}); "
        f"spread {_entropy_bits(row[: query + 1]):.2f} of {np.log2(query + 1):.2f} bits"
    )
    return (
        f'<div><div style="font-family:monospace;margin-bottom:4px">{summary}</div>'
        f"{token_strip_html(tokens, row, query)}<br>{attention_table_html(w, tokens, query)}</div>"
    )


def render_multi_head(tokens: Sequence[str], weights, head: int, query: int) -> str:
    """HTML for notebook 04's widget: head ``head``'s heatmap, and every head's row for ``query``.

    weights: [n_head, T, T] attention weights of one sentence.
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 3:
        raise ValueError(f"render_multi_head needs weights [n_head, T, T], got shape {tuple(w.shape)}; pick one sentence, e.g. wei[0]")
    query = _check(tokens, w, query, "render_multi_head")
    n_head = w.shape[0]
    if not 0 <= int(head) < n_head:
        raise ValueError(f"head={head} does not exist; pick a head in 0..{n_head - 1}")
    head = int(head)
    strips = []
    for h in range(n_head):
        style = "font-weight:bold;" if h == head else "color:#555;"
        strips.append(
            f'<div style="display:flex;align-items:center"><span style="{style}width:60px;background:{token_color(h)};'
            f'padding:1px 4px;margin-right:4px;font-family:monospace">head {h}</span>'
            f"{token_strip_html(tokens, w[h, query], query)}</div>"
        )
    return (
        f'<div><div style="font-family:monospace;margin-bottom:4px">what query {query} '
        f"{html.escape(repr(tokens[query]), quote=False)} attends to, in every head:</div>{''.join(strips)}"
        f'<div style="font-family:monospace;margin:8px 0 4px">head {head}, all queries:</div>'
        f"{attention_table_html(w[head], tokens, query)}</div>"
    )


def _query_options(tokens: Sequence[str]) -> list[tuple[str, int]]:
    return [(f"{i}: {token_label(t, for_matplotlib=False)}", i) for i, t in enumerate(tokens)]


def _sentence_picker(sentences: Sequence[str], fn: Callable, what: str):
    """A sentence dropdown and a cached fn(sentence); checks every sentence up front."""
    if isinstance(sentences, str) or not sentences:
        raise ValueError(f"{what} needs a non-empty list of sentences, e.g. ['To be, or not to be']")
    cache = {}

    def get(sentence):
        if sentence not in cache:
            tokens, mats = fn(sentence)
            mats = np.asarray(mats.detach().cpu() if hasattr(mats, "detach") else mats, dtype=float)
            if len(tokens) == 0 or mats.shape[-1] != len(tokens) or mats.shape[-2] != len(tokens):
                raise ValueError(f"{what}: the function returned {len(tokens)} tokens and a matrix of shape "
                                 f"{tuple(mats.shape)} for {sentence!r}; return one token per position")
            cache[sentence] = (list(tokens), mats)
        return cache[sentence]

    for s in sentences:
        get(s)
    picker = widgets.Dropdown(options=list(sentences), value=sentences[0], description="sentence",
                              layout=widgets.Layout(width="420px"))
    return picker, get


def _follow_sentence(picker, query, get, redraw: Callable[[], None]) -> Callable:
    """Keep the query dropdown on the picked sentence's tokens and redraw on every change.

    Returns the observer to attach to the widget's other controls.
    """
    busy = [False]

    def update(*_):
        if not busy[0]:
            redraw()

    def new_sentence(*_):
        toks, _ = get(picker.value)
        busy[0] = True  # replacing the options fires value events; draw once at the end
        try:
            query.options = _query_options(toks)
            query.value = len(toks) - 1
        finally:
            busy[0] = False
        redraw()

    picker.observe(new_sentence, names="value")
    query.observe(update, names="value")
    return update


def single_head_widget(sentences: Sequence[str], scores_fn: Callable[[str], tuple]) -> widgets.VBox:
    """Notebook 03: pick a sentence and a query token, and scale the scores.

    scores_fn(sentence) -> (tokens: list of T str, scores: [T, T]), the head's
    query @ key^T / sqrt(head_size) before masking. Scale 0 gives the flat average
    of the bag of words; large scales give sharp, almost one-hot attention.
    """
    picker, get = _sentence_picker(sentences, scores_fn, "single_head_widget")
    tokens, _ = get(picker.value)
    query = widgets.Dropdown(options=_query_options(tokens), value=len(tokens) - 1, description="query token")
    scale = widgets.FloatSlider(value=1.0, min=SCALE_MIN, max=SCALE_MAX, step=SCALE_STEP, description="score scale",
                                continuous_update=True, readout_format=".2f")
    view = widgets.HTML()

    def redraw():
        toks, scores = get(picker.value)
        view.value = render_single_head(toks, scores, query.value, scale.value)

    update = _follow_sentence(picker, query, get, redraw)
    scale.observe(update, names="value")
    redraw()
    box = widgets.VBox([widgets.HBox([picker, query]), scale, view])
    box.controls = {"sentence": picker, "query": query, "scale": scale}
    box.view = view
    return box


def multi_head_widget(sentences: Sequence[str], weights_fn: Callable[[str], tuple]) -> widgets.VBox:
    """Notebook 04: pick a sentence, a head and a query token.

    weights_fn(sentence) -> (tokens: list of T str, weights: [n_head, T, T]).
    """
    picker, get = _sentence_picker(sentences, weights_fn, "multi_head_widget")
    tokens, w = get(picker.value)
    if w.ndim != 3:
        raise ValueError(f"multi_head_widget: weights_fn must return weights [n_head, T, T], got shape {tuple(w.shape)}")
    n_head = w.shape[0]
    head = widgets.ToggleButtons(options=[(f"head {h}", h) for h in range(n_head)], value=0, description="head",
                                 style={"button_width": "60px"})
    query = widgets.Dropdown(options=_query_options(tokens), value=len(tokens) - 1, description="query token")
    view = widgets.HTML()

    def redraw():
        toks, wei = get(picker.value)
        view.value = render_multi_head(toks, wei, min(head.value, wei.shape[0] - 1), query.value)

    update = _follow_sentence(picker, query, get, redraw)
    head.observe(update, names="value")
    redraw()
    box = widgets.VBox([widgets.HBox([picker, query]), head, view])
    box.controls = {"sentence": picker, "head": head, "query": query}
    box.view = view
    return box


__all__ = [
    "SCALE_MIN", "SCALE_MAX", "SCALE_STEP", "causal_softmax", "token_strip_html", "attention_table_html",
    "render_single_head", "render_multi_head", "single_head_widget", "multi_head_widget",
]
