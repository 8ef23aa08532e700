"""The one look every figure in the course shares."""

import matplotlib as mpl

# A qualitative palette for tokens and heads: distinct hues, readable with black text.
PALETTE = [
    "#a6cee3", "#fdbf6f", "#b2df8a", "#fb9a99", "#cab2d6",
    "#ffff99", "#8dd3c7", "#fccde5", "#d9d9d9", "#bebada",
]
ATTENTION_CMAP = "Blues"  # attention weights are in [0, 1]: a single-hue scale, 0 = white
FIGSIZE = (6.0, 4.0)

STYLE = {
    "figure.figsize": FIGSIZE,
    "figure.dpi": 100,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "font.size": 10,
    "axes.titlesize": 11,
}


def use_style() -> None:
    """Apply the course's matplotlib settings (idempotent)."""
    mpl.rcParams.update(STYLE)


def token_color(i: int) -> str:
    """Colour of the i-th token (or head) in a strip or a legend."""
    return PALETTE[i % len(PALETTE)]


__all__ = ["PALETTE", "ATTENTION_CMAP", "FIGSIZE", "use_style", "token_color"]
