"""llmlib.viz.lab: numbers, static figures and widgets of the attention lab (notebook 08)."""
import math
import re

import matplotlib
import numpy as np
import pytest
import torch

from llmlib.data import CharTokenizer
from llmlib.model import GPT, GPTConfig
from llmlib.viz import lab

matplotlib.use("Agg")
TEXT = "To be, or not to be: that is the question."


@pytest.fixture(scope="module")
def tok():
    return CharTokenizer.from_text(TEXT + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\n?!'")


def _model(tok, bias=True, seed=0, block_size=32, n_layer=2, n_head=4):
    torch.manual_seed(seed)
    return GPT(GPTConfig(tok.vocab_size, block_size, n_layer, n_head, 16, bias=bias)).eval()


@pytest.fixture(scope="module")
def model(tok):
    return _model(tok)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    matplotlib.pyplot.close("all")


# ---------------------------------------------------------------- numbers


def test_attention_for_text_shapes_rows_and_cache(model, tok):
    run = lab.attention_for_text(model, tok, TEXT)
    T = min(len(TEXT), model.config.block_size)
    assert run.attention.shape == (2, 4, T, T)
    assert np.allclose(run.attention.sum(-1), 1, atol=1e-5) and np.all(np.triu(run.attention, 1) == 0)
    assert run.tokens == list(TEXT[:T]) and "first 32 of 42" in run.note
    assert lab.attention_for_text(model, tok, TEXT) is run  # cached per text


def test_the_cache_notices_changed_weights(tok):
    m = _model(tok, seed=3)
    before = lab.attention_for_text(m, tok, "to be")
    with torch.no_grad():
        m.transformer.h[0].attn.c_attn.weight.mul_(3.0)  # as an optimizer step would, in place
    after = lab.attention_for_text(m, tok, "to be")
    assert after is not before and not np.allclose(after.attention, before.attention)


def test_attention_for_text_accepts_any_text(model, tok):
    unknown = lab.attention_for_text(model, tok, "to be €ü")
    assert unknown.tokens == list("to be ") and "dropped 2" in unknown.note
    empty = lab.attention_for_text(model, tok, "")
    assert empty.attention.shape == (2, 4, 0, 0) and empty.tokens == [] and "type some text" in empty.note
    assert lab.attention_for_text(model, tok, "€€€").tokens == []
    short = lab.attention_for_text(model, tok, TEXT, max_tokens=5)
    assert len(short.tokens) == 5


def test_attention_for_text_rejects_bad_arguments(model, tok):
    with pytest.raises(ValueError, match="max_tokens"):
        lab.attention_for_text(model, tok, TEXT, max_tokens=0)
    with pytest.raises(TypeError, match="load_model"):
        lab.attention_for_text(object(), tok, TEXT)
    with pytest.raises(TypeError, match="str"):
        lab.encode_text(tok, 42)


@pytest.mark.parametrize("bias", [True, False])
def test_attention_steps_match_the_model(tok, bias):
    m = _model(tok, bias=bias, seed=1)
    ids = tok.encode(TEXT[:20])
    for layer, head, t in [(0, 0, 0), (0, 3, 7), (1, 2, 19), (1, 1, 10)]:
        s = lab.attention_steps(m, ids, layer, head, t)
        assert np.allclose(s["weights"], s["model_weights"], atol=1e-6)
        assert np.allclose(s["out"], s["model_out"], atol=1e-5)
        assert np.isneginf(s["masked"][t + 1:]).all() and np.all(s["weights"][t + 1:] == 0)
        assert np.allclose(s["scaled"], s["scores"] / math.sqrt(4))
        full = lab.attention_for_text(m, tok, TEXT[:20]).attention
        assert np.allclose(s["weights"], full[layer, head, t], atol=1e-6)
    assert not m.training


def test_attention_steps_name_the_bad_argument(model, tok):
    ids = tok.encode("to be")
    for kwargs, name in [(dict(layer=2, head=0, token=0), "layer"), (dict(layer=0, head=4, token=0), "head"),
                         (dict(layer=0, head=0, token=5), "token"), (dict(layer=-1, head=0, token=0), "layer")]:
        with pytest.raises(ValueError, match=rf"{name}=.*pick an integer"):
            lab.attention_steps(model, ids, **kwargs)
    with pytest.raises(ValueError, match="block_size"):
        lab.attention_steps(model, tok.encode(TEXT), 0, 0, 0)


def _shift(T, k):
    """[T, T] with all weight k positions back (or on position 0 when t < k)."""
    w = np.zeros((T, T))
    for t in range(T):
        w[t, max(t - k, 0)] = 1.0
    return w


def test_head_scores_on_known_patterns():
    T = 8
    uniform = np.tril(np.ones((T, T))) / np.arange(1, T + 1)[:, None]
    att = np.stack([np.stack([_shift(T, 1), uniform, _shift(T, 0)])])  # [L=1, H=3, T, T]
    ent = lab.head_entropy(att)
    assert ent.shape == (1, 3)
    assert np.allclose(ent[0], [0.0, np.log2(np.arange(2, T + 1)).mean(), 0.0])  # bits
    prev = lab.previous_token_scores(att)
    assert np.allclose(prev[0], [1.0, np.mean(1 / np.arange(2, T + 1)), 0.0])
    # the model's list of [B, H, T, T] tensors gives the same numbers
    as_list = [torch.tensor(att[0][None])]
    assert np.allclose(lab.previous_token_scores(as_list), prev)


def test_induction_scores_on_a_perfect_induction_head():
    n = 5
    w = np.zeros((2 * n, 2 * n))
    w[np.arange(n), 0] = 1.0
    w[np.arange(n, 2 * n), np.arange(1, n + 1)] = 1.0
    assert np.allclose(lab.induction_scores(w[None, None], n), 1.0)
    assert np.allclose(lab.induction_scores(_shift(2 * n, 1)[None, None], n), 0.0)
    with pytest.raises(ValueError, match="2 \\* seq_len"):
        lab.induction_scores(w[None, None], n + 1)


def test_repeated_random_tokens():
    r = lab.repeated_random_tokens(50, 7, batch=3, seed=4)
    assert r.shape == (3, 14) and torch.equal(r[:, :7], r[:, 7:]) and int(r.max()) < 50
    assert torch.equal(r, lab.repeated_random_tokens(50, 7, batch=3, seed=4))
    with pytest.raises(ValueError, match="seq_len"):
        lab.repeated_random_tokens(50, 0)


def test_find_heads_is_sorted_and_deterministic():
    s = np.array([[0.1, 0.9, 0.5], [0.9, 0.2, 0.6]])
    assert lab.find_heads(s, 0.5) == [(0, 1), (1, 0), (1, 2)]
    assert lab.find_heads(s, 0.3, below=True) == [(0, 0), (1, 1)]
    assert lab.find_heads(s, 0.95) == []
    with pytest.raises(ValueError, match="n_layer, n_head"):
        lab.find_heads(np.zeros(3), 0.5)


def test_scores_reject_bad_shapes():
    with pytest.raises(ValueError, match="return_attention"):
        lab.head_entropy(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="at least 2 tokens"):
        lab.previous_token_scores(np.ones((1, 1, 1, 1)))


# ---------------------------------------------------------------- figures


@pytest.mark.parametrize("mode", ["heatmap", "lines", "grid"])
@pytest.mark.parametrize("head", [-1, 0, 3])
def test_plot_view_draws_and_saves(model, tok, tmp_path, mode, head):
    run = lab.attention_for_text(model, tok, "to be or not")
    path = tmp_path / "sub" / f"{mode}.png"
    fig = lab.plot_view(run, mode, layer=1, head=head, query=4, path=path)
    assert fig.axes and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_static_figures_check_their_input(model, tok, tmp_path):
    run = lab.attention_for_text(model, tok, "to be")
    with pytest.raises(ValueError, match="mode must be one of"):
        lab.plot_view(run, "pie")
    with pytest.raises(ValueError, match="layer=5"):
        lab.plot_view(run, "heatmap", layer=5)
    with pytest.raises(ValueError, match="no tokens"):
        lab.plot_view(lab.attention_for_text(model, tok, ""), "heatmap")
    with pytest.raises(ValueError, match="query=9"):
        lab.plot_lines(run.tokens, run.attention[0], 9)
    with pytest.raises(ValueError, match="n_layer, n_head, T, T"):
        lab.plot_layer_grid(run.tokens, run.attention[0])
    with pytest.raises(ValueError, match="at least one snapshot"):
        lab.plot_snapshots(run.tokens, {})
    with pytest.raises(ValueError, match="at least one score"):
        lab.plot_head_scores({})


def test_steps_scores_and_snapshots_figures(model, tok, tmp_path):
    run = lab.attention_for_text(model, tok, "to be or not")
    steps = lab.attention_steps(model, run.ids, 1, 2, 3)
    lab.plot_attention_steps(steps, run.tokens, path=tmp_path / "steps.png")
    s = lab.previous_token_scores(run.attention)
    lab.plot_head_scores({"previous token": s}, {"previous token": [(0, 1)]}, path=tmp_path / "scores.png")
    lab.plot_snapshots(run.tokens, {"a": run.attention[0, 0], "b": run.attention[1, 1]}, path=tmp_path / "snaps.png")
    assert all((tmp_path / f).stat().st_size > 0 for f in ("steps.png", "scores.png", "snaps.png"))


# ---------------------------------------------------------------- widgets


def _page_shows(widget):
    """What lab.js does when a page renders the view: say "ready"."""
    view = getattr(widget, "view", widget)
    view._on_page_message(view, {"type": "ready"}, [])
    return widget


def test_attention_view_waits_for_a_page_then_sends_weights_exactly_enough(model, tok):
    run = lab.attention_for_text(model, tok, "to be or not")
    view = lab.AttentionView()
    view.show(run.tokens, run.attention)
    assert view.weights == b"" and view.tokens == []  # no page yet: nothing stored in the widget state
    _page_shows(view)
    got = np.frombuffer(view.weights, dtype="<u2").reshape(view.shape) / 65535
    assert view.shape == list(run.attention.shape) and np.abs(got - run.attention).max() <= 1 / 65535
    with pytest.raises(ValueError, match="T tokens"):
        view.show(run.tokens[:-1], run.attention)


def test_the_esm_module_ships_with_the_package_and_fetches_nothing():
    js = (lab._HERE / "lab.js").read_text()
    assert "export default" in js
    urls = set(re.findall(r"https?://[^\s\"'`]+", js + (lab._HERE / "lab.css").read_text()))
    assert urls <= {"http://www.w3.org/2000/svg"}, f"no network at run time, found {urls}"
    assert "import " not in js.replace("// ", "")  # no imports: nothing to fetch


def test_every_lab_control_value_is_accepted(model, tok, tmp_path):
    w = _page_shows(lab.attention_lab(model, tok, "to be", export_dir=tmp_path))
    c = w.controls
    for layer in range(c["layer"].min, c["layer"].max + 1):
        for head in [v for _, v in c["head"].options]:
            for mode in [v for _, v in c["mode"].options]:
                c["layer"].value, c["head"].value, c["mode"].value = layer, head, mode
                assert (w.view.layer, w.view.head, w.view.mode) == (layer, head, mode)
    for text in ["", "€€", "x", TEXT * 3, "to\nbe\tor"]:
        c["text"].value = text
        T = len(w.view.tokens)
        assert w.view.shape[-1] == T and len(w.view.weights) == 2 * np.prod(w.view.shape)
    # a thumbnail click in the page sets the view's layer and head; the controls follow
    w.view.layer, w.view.head = 0, 2
    assert (c["layer"].value, c["head"].value) == (0, 2)


def test_lab_save_png(model, tok, tmp_path):
    w = lab.attention_lab(model, tok, "to be", mode="lines", head=1, export_dir=tmp_path)
    path = w.save_png()
    assert path == tmp_path / "attention_lines_L0_H1.png" and path.stat().st_size > 0
    assert "saved" in w.status.value
    w.controls["save"].click()  # the button does the same
    w.controls["text"].value = ""
    assert w.save_png() is None and "nothing to save" in w.status.value


def test_lab_scrubs_through_snapshots(tok, tmp_path):
    snaps = {"step 0": _model(tok, seed=0), "step 10": _model(tok, seed=1), "step 20": _model(tok, seed=2)}
    w = _page_shows(lab.attention_lab(snaps, tok, "to be", export_dir=tmp_path))
    seen = set()
    for label in w.controls["snapshot"].options:
        w.controls["snapshot"].value = label
        assert w.view.title == label
        seen.add(w.view.weights)
    assert len(seen) == 3
    assert w.save_png().name == "attention_step20_heatmap_L0_Hall.png"


def test_lab_rejects_bad_construction(model, tok):
    with pytest.raises(ValueError, match="mode must be one of"):
        lab.attention_lab(model, tok, mode="pie")
    with pytest.raises(ValueError, match="layer=7"):
        lab.attention_lab(model, tok, layer=7)
    with pytest.raises(ValueError, match="different shapes"):
        lab.attention_lab({"a": model, "b": _model(tok, n_layer=3)}, tok)
    with pytest.raises(ValueError, match="models is empty"):
        lab.attention_lab({}, tok)


def test_every_step_through_control_value_is_accepted(model, tok, tmp_path):
    w = lab.step_through(model, tok, "to be or", export_dir=tmp_path)
    c = w.controls
    assert c["token"].max == 7 and c["token"].value == 7
    for layer in range(2):
        for head in range(4):
            for token in range(8):
                c["layer"].value, c["head"].value, c["token"].value = layer, head, token
                s = w.steps
                assert (s["layer"], s["head"], s["token"]) == (layer, head, token)
                assert w.view.steps["token"] == token and len(w.view.steps["rows"]) == 5
    for i in range(len(lab.STEP_NAMES)):
        c["step"].value = i
        assert w.view.step == i
    c["text"].value = "x"
    assert c["token"].max == 0 and w.view.steps["token"] == 0
    c["text"].value = ""
    assert w.steps is None and w.view.steps == {} and w.save_png() is None
    c["text"].value = "to be"
    assert w.save_png().name == "steps_L1_H3_t4.png"  # a new text starts at its last token
