"""Coloured token strips and the tokenizer playground (notebook 01).

A token strip shows a text cut into tokens: each token is a coloured box holding its
text, with whitespace made visible (␣ space, ↵ newline, ⇥ tab), so you can see where
the cuts fall. `plot_token_strip` draws it with matplotlib (a static figure that GitHub
and nbval keep), `tokens_html` writes it as HTML, and `tokenizer_playground` builds a
text box that re-tokenizes as you type.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from functools import lru_cache

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font
from matplotlib.patches import FancyBboxPatch

from .plots import token_label
from .style import token_color, use_style

MONO = "DejaVu Sans Mono"  # ships with matplotlib and draws the whitespace marks


def token_pieces(tokenizer, ids: Sequence[int]) -> list[str]:
    """The text of each token in `ids`.

    A byte-level token can hold part of a character (an emoji is 4 bytes); its bytes
    show as \\xNN escapes instead of a replacement character, so nothing is hidden.
    """
    vocab = getattr(tokenizer, "vocab", None)
    if isinstance(vocab, dict) and vocab and isinstance(next(iter(vocab.values())), bytes):
        return [vocab[int(i)].decode("utf-8", errors="backslashreplace") for i in ids]
    return [tokenizer.decode([int(i)]) for i in ids]


@lru_cache(maxsize=1)
def _mono_chars() -> frozenset:
    return frozenset(FT2Font(font_manager.findfont(MONO)).get_charmap())


def _drawable(label: str) -> str:
    """Characters the figure font lacks (emoji, CJK) as U+XXXX, instead of empty boxes."""
    chars = _mono_chars()
    return "".join(c if ord(c) in chars else f"U+{ord(c):04X}" for c in label)


def _strip_labels(pieces: Sequence[str], for_matplotlib: bool) -> list[str]:
    if isinstance(pieces, str):
        raise TypeError("pieces must be a list of token strings, not one string; "
                        "get them with token_pieces(tokenizer, tokenizer.encode(text))")
    labels = [token_label(str(p), max_len=40, for_matplotlib=for_matplotlib) for p in pieces]
    return [_drawable(lab) for lab in labels] if for_matplotlib else labels


def plot_token_strip(pieces: Sequence[str], ids: Sequence[int] | None = None, width: int = 64,
                     max_tokens: int = 400, title: str | None = None):
    """Draw tokens as coloured boxes, wrapped into rows of about `width` characters.

    pieces: the text of each token (see token_pieces); ids: optional, printed under each box.
    A token that ends a line (holds a newline) also ends its row. Returns the Figure.
    """
    use_style()
    labels = _strip_labels(pieces, for_matplotlib=True)
    if ids is not None and len(ids) != len(labels):
        raise ValueError(f"got {len(ids)} ids for {len(labels)} tokens; pass one id per token")
    if width < 8:
        raise ValueError(f"width={width} is too narrow; use at least 8 characters")
    shown = labels[:max_tokens]
    # lay out in character units: x along a row, one row per line
    boxes, x, row = [], 0.0, 0
    for k, lab in enumerate(shown):
        w = max(len(lab), 1) + 0.6
        if x > 0 and x + w > width:
            x, row = 0.0, row + 1
        boxes.append((x, row, w, lab, k))
        x += w + 0.25
        if "\n" in pieces[k]:
            x, row = 0.0, row + 1
    n_rows = (boxes[-1][1] + 1) if boxes else 1
    row_h = 2.0 if ids is not None else 1.4
    fig, ax = plt.subplots(figsize=(min(0.095 * width + 0.3, 12), 0.35 * n_rows * row_h + (0.4 if title else 0.15)))
    for x, r, w, lab, k in boxes:
        y = -r * row_h
        ax.add_patch(FancyBboxPatch((x, y - 0.5), w, 1.0, boxstyle="round,pad=0,rounding_size=0.2",
                                    facecolor=token_color(k), edgecolor="white", linewidth=0.8))
        ax.text(x + w / 2, y, lab, ha="center", va="center", family=MONO, fontsize=9)
        if ids is not None:
            ax.text(x + w / 2, y - 0.85, str(ids[k]), ha="center", va="center", family=MONO, fontsize=6, color="#555")
    if len(labels) > max_tokens:
        ax.text(0, -n_rows * row_h + 0.2, f"... and {len(labels) - max_tokens} more tokens", fontsize=8, color="#555")
    ax.set_xlim(-0.3, width + 0.3)
    bottom = -(n_rows - 1) * row_h - (1.3 if ids is not None else 0.6) - (0.6 if len(labels) > max_tokens else 0)
    ax.set_ylim(bottom, 0.6)
    ax.axis("off")
    if title:
        ax.set_title(title, loc="left")
    fig.tight_layout(pad=0.2)
    return fig


def tokens_html(pieces: Sequence[str], ids: Sequence[int] | None = None, max_tokens: int = 2000) -> str:
    """The same strip as HTML (for notebooks and widgets); hover a token to see its id."""
    labels = _strip_labels(pieces, for_matplotlib=False)
    if ids is not None and len(ids) != len(labels):
        raise ValueError(f"got {len(ids)} ids for {len(labels)} tokens; pass one id per token")
    spans = []
    for k, lab in enumerate(labels[:max_tokens]):
        tip = f' title="id {int(ids[k])}"' if ids is not None else ""
        sub = (f'<sub style="font-size:8px;color:#555;margin-left:1px">{int(ids[k])}</sub>' if ids is not None else "")
        spans.append(f'<span{tip} style="background:{token_color(k)};padding:1px 2px;margin:1px;border-radius:3px;'
                     f'display:inline-block;white-space:pre">{html.escape(lab)}{sub}</span>')
        if "\n" in pieces[k]:
            spans.append("<br>")
    if len(labels) > max_tokens:
        spans.append(f'<span style="color:#555"> ... and {len(labels) - max_tokens} more tokens</span>')
    return '<div style="font-family:monospace;font-size:13px;line-height:1.9">' + "".join(spans) + "</div>"


def _encode(tokenizer, text: str, special: bool) -> list[int]:
    try:
        return list(tokenizer.encode(text, allowed_special="all" if special else "none"))
    except TypeError:  # a tokenizer without special tokens, e.g. llmlib.data.CharTokenizer
        return list(tokenizer.encode(text))


class TokenizerPlayground(widgets.VBox):
    """Type text, see its tokens: coloured pieces, their ids, the count and bytes per token.

    Attributes: `text` (the Textarea), `special` (Checkbox: special-token text becomes its
    control id), `strip` (HTML of the tokens), `ids` (HTML of the ids), `stats` (a line).
    Any text is accepted: an error shows in `stats` instead of raising. Only the first
    `max_chars` characters are tokenized, so that every keystroke answers quickly.
    """

    def __init__(self, tokenizer, text: str = "To be, or not to be: that is the question.", max_tokens: int = 500,
                 max_chars: int = 5000):
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.max_chars = max_chars
        self.text = widgets.Textarea(value=text, placeholder="type any text", continuous_update=True,
                                     layout=widgets.Layout(width="100%", height="90px"))
        self.special = widgets.Checkbox(value=True, description="special tokens such as <|endoftext|> as control ids",
                                        indent=False)
        self.stats = widgets.HTML()
        self.strip = widgets.HTML()
        self.ids = widgets.HTML()
        self.text.observe(self._refresh, names="value")
        self.special.observe(self._refresh, names="value")
        super().__init__([self.text, self.special, self.stats, self.strip, self.ids])
        self._refresh()

    def _refresh(self, *_):
        text = self.text.value or ""
        cut = f" (the first {self.max_chars} of {len(text)} characters)" if len(text) > self.max_chars else ""
        text = text[: self.max_chars]
        try:
            ids = _encode(self.tokenizer, text, self.special.value)
            pieces = token_pieces(self.tokenizer, ids[: self.max_tokens])
        except Exception as e:  # a playground must never break: say what went wrong instead
            self.stats.value = f"<b>cannot tokenize this text:</b> {html.escape(str(e))}"
            self.strip.value = self.ids.value = ""
            return
        n_bytes = len(text.encode("utf-8", errors="replace"))
        per = f"{n_bytes / len(ids):.2f} bytes/token" if ids else "no tokens yet: type some text"
        self.stats.value = f"<b>{len(ids)}</b> tokens, {n_bytes} bytes, {per}{cut}"
        self.strip.value = tokens_html(pieces, ids[: self.max_tokens], max_tokens=self.max_tokens)
        more = f" ... ({len(ids) - self.max_tokens} more)" if len(ids) > self.max_tokens else ""
        self.ids.value = f'<code style="font-size:11px">{ids[: self.max_tokens]}{more}</code>'


def tokenizer_playground(tokenizer, text: str = "To be, or not to be: that is the question.",
                         max_tokens: int = 500, max_chars: int = 5000) -> TokenizerPlayground:
    """Build the tokenizer playground widget (see TokenizerPlayground)."""
    return TokenizerPlayground(tokenizer, text, max_tokens, max_chars)


__all__ = ["token_pieces", "plot_token_strip", "tokens_html", "TokenizerPlayground", "tokenizer_playground"]
