"""llmlib.viz.tokens: token strips (figure and HTML) and the tokenizer playground."""
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from llmlib.data import CharTokenizer  # noqa: E402
from llmlib.tokenizer import Tokenizer, load_cl100k  # noqa: E402
from llmlib.viz import tokens as vt  # noqa: E402

TEXT = "To be, or not\tto be:\n\nthat is $the$ question. 🙂 東京 <|endoftext|>"


@pytest.fixture(scope="module")
def gpt4():
    return load_cl100k()


@pytest.fixture(scope="module")
def small():
    return Tokenizer.train("To be, or not to be: that is the question. " * 30, 270, special_tokens=["<|endoftext|>"])


def test_module_exports():
    assert set(vt.__all__) == {"token_pieces", "plot_token_strip", "tokens_html", "TokenizerPlayground",
                               "tokenizer_playground"}
    import llmlib.viz

    assert llmlib.viz.tokens_html is vt.tokens_html


def test_token_pieces_join_back_to_the_text(gpt4, small):
    text = "To be, or not\tto be:\n\nthat is <|endoftext|>"
    for tok in (gpt4, small):
        ids = tok.encode(text, allowed_special="all")
        assert "".join(vt.token_pieces(tok, ids)) == text
    # a token holding part of a character shows its bytes, not a replacement character
    pieces = vt.token_pieces(gpt4, gpt4.encode("🙂"))
    assert len(pieces) == 2 and "\\x" in "".join(pieces) and "\ufffd" not in "".join(pieces)


def test_token_pieces_for_a_char_tokenizer():
    tok = CharTokenizer.from_text("hello world")
    assert vt.token_pieces(tok, tok.encode("hello")) == list("hello")


def test_plot_token_strip_draws_one_box_per_token(gpt4):
    ids = gpt4.encode(TEXT, allowed_special="all")
    pieces = vt.token_pieces(gpt4, ids)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. a glyph missing from the font
        fig = vt.plot_token_strip(pieces, ids, title="cl100k")
        fig.canvas.draw()
    ax = fig.axes[0]
    assert len(ax.patches) == len(ids)
    texts = [t.get_text() for t in ax.texts]
    assert "\u2423be" in texts and any("\u21b5\u21b5" in t for t in texts)  # visible space and newlines
    assert str(ids[0]) in texts
    plt.close(fig)


def test_plot_token_strip_limits_and_errors():
    fig = vt.plot_token_strip(["a"] * 50, max_tokens=10)
    assert len(fig.axes[0].patches) == 10
    assert any("40 more" in t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)
    plt.close(vt.plot_token_strip([]))
    with pytest.raises(TypeError, match="list of token strings"):
        vt.plot_token_strip("abc")
    with pytest.raises(ValueError, match="one id per token"):
        vt.plot_token_strip(["a", "b"], [1])
    with pytest.raises(ValueError, match="too narrow"):
        vt.plot_token_strip(["a"], width=2)


def test_tokens_html_escapes_and_marks_whitespace():
    out = vt.tokens_html(["<b>", " x", "\n"], [1, 2, 3])
    assert "&lt;b&gt;" in out and "<b>" not in out
    assert "\u2423x" in out and "\u21b5" in out and "<br>" in out and 'title="id 2"' in out
    assert "more tokens" in vt.tokens_html(["a"] * 5, max_tokens=2)
    with pytest.raises(ValueError, match="one id per token"):
        vt.tokens_html(["a"], [1, 2])


def test_playground_shows_tokens_ids_and_stats(gpt4):
    pg = vt.tokenizer_playground(gpt4, "hello world")
    assert "<b>2</b> tokens" in pg.stats.value and "5.50 bytes/token" in pg.stats.value
    assert "[15339, 1917]" in pg.ids.value
    pg.text.value = "<|endoftext|>"
    assert "100257" in pg.ids.value
    pg.special.value = False
    assert "100257" not in pg.ids.value and "<b>" in pg.stats.value


@pytest.mark.parametrize("value", ["", " ", "\n\n\n", "<|endoftext|>", "<|fim_prefix|>x<|endofprompt|>",
                                   "\ud800", "🙂" * 50, "x" * 20_000, "<script>alert(1)</script>"], ids=range(9))
def test_playground_accepts_any_text(gpt4, small, value):
    for tok in (gpt4, small, CharTokenizer.from_text("abc")):
        pg = vt.tokenizer_playground(tok)
        pg.text.value = value
        assert pg.stats.value  # something is always said
        assert "<script>" not in pg.strip.value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200), st.booleans())
def test_playground_never_raises(gpt4, value, special):
    pg = vt.tokenizer_playground(gpt4)
    pg.special.value = special
    pg.text.value = value
    assert "tokens" in pg.stats.value or "cannot tokenize" in pg.stats.value


def test_playground_reports_errors_instead_of_raising():
    pg = vt.tokenizer_playground(CharTokenizer.from_text("abc"), "abc")
    pg.text.value = "xyz"  # characters this char tokenizer has never seen
    assert "cannot tokenize" in pg.stats.value or "tokens" in pg.stats.value
