"""Static figures (llmlib.viz.plots) and the widgets built on them (llmlib.viz.widgets)."""
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from llmlib.viz import plots, widgets  # noqa: E402
from llmlib.viz.plots import plot_attention, plot_head_grid, plot_loss_curves, token_label  # noqa: E402
from llmlib.viz.widgets import (  # noqa: E402
    causal_softmax,
    multi_head_widget,
    render_multi_head,
    render_single_head,
    single_head_widget,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _weights(n_head, T, seed=0):
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(n_head, T, T, generator=g)
    future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    return torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)


def test_every_public_name_is_exported():
    for module in (plots, widgets):
        for name in module.__all__:
            assert hasattr(module, name)


def test_token_label_makes_invisible_characters_visible():
    assert token_label(" the") == "\u2423the"
    assert token_label("\n") == "\u21b5"
    assert token_label("$x$") == r"\$x\$"
    assert token_label("abcdefghijklmnop", max_len=5) == "abcd\u2026"
    with pytest.raises(TypeError, match="decode ids to text"):
        token_label(3)


def test_attention_heatmap_labels_both_axes_fixes_the_scale_and_masks_the_future():
    T = 6
    tokens = ["T", "o", " ", "b", "e", "\n"]
    fig = plot_attention(_weights(1, T)[0], tokens, title="one head")
    ax = fig.axes[0]
    shown = [token_label(t) for t in tokens]
    assert [t.get_text() for t in ax.get_xticklabels()] == shown
    assert [t.get_text() for t in ax.get_yticklabels()] == shown
    im = ax.images[0]
    assert im.get_clim() == (0.0, 1.0)
    data = im.get_array()
    assert np.array_equal(np.ma.getmaskarray(data), np.triu(np.ones((T, T), dtype=bool), k=1))
    assert matplotlib.colors.to_hex(im.get_cmap().get_bad()) == plots.MASKED_COLOR
    assert len(fig.axes) == 2  # the map and its colour bar
    fig2, axes = plt.subplots(1, 2)
    for ax in axes:
        plot_attention(_weights(1, T)[0], tokens, ax=ax, colorbar=False)
    assert len(fig2.axes) == 2 and all(ax.images for ax in fig2.axes)
    # A non-causal map (e.g. an encoder) shows every cell.
    full = plot_attention(np.full((T, T), 1 / T), tokens, causal=False)
    assert not np.ma.getmaskarray(full.axes[0].images[0].get_array()).any()


def test_attention_heatmap_rejects_bad_input_with_a_fix():
    with pytest.raises(ValueError, match=re.escape("wei[0]")):
        plot_attention(_weights(2, 4), list("abcd"))
    with pytest.raises(ValueError, match="one label per position"):
        plot_attention(_weights(1, 4)[0], list("abc"))


@pytest.mark.parametrize("n_head, ncols", [(1, None), (4, None), (6, None), (6, 3), (5, 2)])
def test_head_grid_draws_one_panel_per_head(n_head, ncols):
    T = 5
    fig = plot_head_grid(_weights(n_head, T), list("hello"), ncols=ncols, title="grid")
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == n_head
    assert [ax.get_title() for ax in panels] == [f"head {i}" for i in range(n_head)]
    assert all(ax.images[0].get_clim() == (0.0, 1.0) for ax in panels)
    # Labels appear on the left column only.
    assert [t.get_text() for t in panels[0].get_yticklabels()] == list("hello")


def test_head_grid_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\[n_head, T, T\]"):
        plot_head_grid(_weights(1, 4)[0], list("abcd"))
    with pytest.raises(ValueError, match="ncols"):
        plot_head_grid(_weights(2, 4), list("abcd"), ncols=0)


def test_loss_curves_put_train_and_validation_of_several_models_on_one_plot():
    histories = {
        "bigram": {"step": [0, 10, 20], "train": [4.2, 3.0, 2.6], "val": [4.2, 3.1, 2.7]},
        "one head": {"step": [0, 10, 20], "train": [4.2, 2.8, 2.4], "val": [4.2, 2.9, 2.5]},
        "val only": {"step": [0, 20], "val": [4.2, 2.3]},
    }
    fig = plot_loss_curves(histories, title="loss", baseline=np.log(65))
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["bigram train", "bigram val", "one head train", "one head val", "val only val", "uniform guess (4.17)"]
    assert ax.get_lines()[0].get_color() == ax.get_lines()[1].get_color()
    assert ax.get_lines()[1].get_linestyle() == "--"


@pytest.mark.parametrize(
    "histories, words",
    [({}, "non-empty"), ({"a": {"train": [1.0]}}, '"step"'), ({"a": {"step": [0, 1], "val": [1.0]}}, "one per step")],
)
def test_loss_curves_reject_bad_histories(histories, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        plot_loss_curves(histories)


# ---- widgets ---------------------------------------------------------------------------------

SENTENCES = ["To be, or not", "ay", "$ <b>&\n"]  # short, very short, and characters HTML must escape


def _scores_fn(sentence):
    T = len(sentence)
    g = torch.Generator().manual_seed(T)
    return list(sentence), torch.randn(T, T, generator=g) * 2


def _weights_fn(sentence):
    return list(sentence), _weights(4, len(sentence), seed=len(sentence))


def test_causal_softmax_goes_from_flat_to_sharp():
    scores = np.random.default_rng(0).normal(size=(5, 5))
    flat = causal_softmax(scores, 0.0)
    assert np.allclose(flat, np.tril(np.ones((5, 5))) / np.arange(1, 6)[:, None])
    sharp = causal_softmax(scores, 1e4)
    masked = np.where(np.tril(np.ones((5, 5), dtype=bool)), scores, -np.inf)
    assert np.allclose(sharp, np.eye(5)[masked.argmax(-1)])
    same = causal_softmax(scores, 1.0)
    ref = torch.softmax(torch.tensor(masked), -1).numpy()
    assert np.allclose(same, ref)


def test_render_single_head_reports_the_query_row():
    tokens, scores = _scores_fn("To be")
    out = render_single_head(tokens, scores, query=4, scale=0.0)
    assert "query 4 'e'" in out and "largest weight 0.20" in out and "spread 2.32 of 2.32 bits" in out
    out = render_single_head(tokens, scores, query=0, scale=3.0)
    assert "largest weight 1.00 on 'T' (position 0)" in out
    assert "<script" not in out and "http" not in out  # offline: nothing to fetch


def test_render_escapes_html_in_tokens():
    out = render_single_head(["<b>", "&"], np.zeros((2, 2)), query=1)
    assert "<b>" not in out and "&lt;b&gt;" in out and "'&amp;'" in out
    assert "\\$" not in render_single_head(["$", "x"], np.zeros((2, 2)), query=1)


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: render_single_head(list("abc"), np.zeros((3, 3)), query=3), "pick a position in 0..2"),
        (lambda: render_single_head(list("abc"), np.zeros((3, 3)), query=-1), "pick a position in 0..2"),
        (lambda: render_single_head(list("ab"), np.zeros((3, 3)), query=0), "one token per position"),
        (lambda: render_single_head(list("abc"), np.zeros((3, 3)), query=0, scale=-1), "scale must be"),
        (lambda: render_multi_head(list("abc"), np.zeros((2, 3, 3)), head=2, query=0), "pick a head in 0..1"),
        (lambda: render_multi_head(list("abc"), np.zeros((3, 3)), head=0, query=0), "wei[0]"),
        (lambda: single_head_widget("one sentence", _scores_fn), "non-empty list of sentences"),
        (lambda: single_head_widget([], _scores_fn), "non-empty list of sentences"),
        (lambda: single_head_widget(["abc"], lambda s: (list(s), np.zeros((2, 2)))), "one token per position"),
        (lambda: multi_head_widget(["abc"], lambda s: (list(s), np.zeros((3, 3)))), "[n_head, T, T]"),
    ],
)
def test_widget_errors_say_what_to_change(call, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        call()


def _values(slider):
    n = round((slider.max - slider.min) / slider.step)
    return [slider.min + i * slider.step for i in range(n + 1)]


def test_single_head_widget_accepts_every_value_its_controls_allow():
    w = single_head_widget(SENTENCES, _scores_fn)
    c = w.controls
    assert set(c) == {"sentence", "query", "scale"}
    seen = set()
    for sentence in c["sentence"].options:
        c["sentence"].value = sentence
        assert c["query"].value == len(sentence) - 1  # a new sentence starts at its last token
        for _, q in c["query"].options:
            c["query"].value = q
            for scale in _values(c["scale"]):
                c["scale"].value = scale
                html = w.view.value
                assert f"query {q} " in html and f"x {c['scale'].value:g}:" in html
                seen.add(html)
    # Switching from a long sentence at its last token to a short one must not leave the query out of range.
    c["sentence"].value = SENTENCES[0]
    c["sentence"].value = SENTENCES[1]
    assert c["query"].value < len(SENTENCES[1])
    assert len(seen) > len(SENTENCES)


def test_multi_head_widget_accepts_every_value_its_controls_allow():
    w = multi_head_widget(SENTENCES, _weights_fn)
    c = w.controls
    assert set(c) == {"sentence", "head", "query"}
    for sentence in c["sentence"].options:
        c["sentence"].value = sentence
        for _, h in c["head"].options:
            c["head"].value = h
            for _, q in c["query"].options:
                c["query"].value = q
                html = w.view.value
                assert f"head {h}, all queries" in html and f"what query {q} " in html
                assert html.count("head 3") >= 1
