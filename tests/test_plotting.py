"""plot_attention: labels, shapes, heads, Chinese tokens and visible whitespace.

Drawn with the Agg backend (no screen); every figure is closed after each test.
"""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from zoo import plotting
from zoo.errors import ZooError
from zoo.plotting import cjk_font, plot_attention, visible_token

H, T, S = 3, 2, 4  # heads, queries, keys


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def weights():
    """(H, T, S) softmax weights: every row sums to one."""
    scores = np.random.default_rng(0).normal(size=(H, T, S))
    return np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)


def _texts(labels):
    return [label.get_text() for label in labels]


def _colour_bars(fig):
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def test_one_head_keys_across_queries_down(weights):
    ax = plot_attention(weights[0], ["a", "b", "c", "d"], ["x", "y"], title="t")
    assert isinstance(ax, matplotlib.axes.Axes)
    assert _texts(ax.get_xticklabels()) == ["a", "b", "c", "d"]  # S keys
    assert _texts(ax.get_yticklabels()) == ["x", "y"]  # T queries
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == (
        "key (S)",
        "query (T)",
        "t",
    )
    (image,) = ax.get_images()
    np.testing.assert_allclose(image.get_array(), weights[0], rtol=1e-6)
    assert image.get_clim() == (0.0, 1.0)
    assert len(_colour_bars(ax.figure)) == 1


def test_default_labels_positions_strings_and_self_attention():
    square = np.full((3, 3), 1 / 3)
    ax = plot_attention(square)
    assert (
        _texts(ax.get_xticklabels()) == _texts(ax.get_yticklabels()) == ["0", "1", "2"]
    )
    ax = plot_attention(square, "猫坐下")  # a string is its characters
    assert _texts(ax.get_yticklabels()) == ["猫", "坐", "下"]  # T == S: queries = keys
    ax = plot_attention(np.full((2, 3), 0.5), [7, 8, 9])  # T != S: query positions
    assert _texts(ax.get_xticklabels()) == ["7", "8", "9"]
    assert _texts(ax.get_yticklabels()) == ["0", "1"]


@pytest.mark.parametrize(
    ("x_tokens", "y_tokens", "match"),
    [
        (["a", "b", "c"], None, "x_tokens has 3 tokens but the weights have 4 keys"),
        ("abcd", ["x"], "y_tokens has 1 tokens but the weights have 2 queries"),
        ("abcde", ["x", "y"], "x_tokens has 5"),
    ],
)
def test_token_count_mismatch_raises(weights, x_tokens, y_tokens, match):
    with pytest.raises(ZooError, match=match):
        plot_attention(weights[0], x_tokens, y_tokens)
    with pytest.raises(ZooError, match=match):
        plot_attention(weights, x_tokens, y_tokens)


def test_bad_shapes_heads_and_axes_raise(weights):
    with pytest.raises(ZooError, match=r"\(T, S\) or \(H, T, S\)"):
        plot_attention(np.ones(4))
    with pytest.raises(ZooError, match=r"weights\[0\]"):
        plot_attention(weights[None])  # (B, H, T, S)
    with pytest.raises(ZooError, match="needs \\(H, T, S\\)"):
        plot_attention(weights[0], head=0)
    with pytest.raises(ZooError, match="out of range for 3 heads"):
        plot_attention(weights, head=3)
    _, two_axes = plt.subplots(1, 2)
    with pytest.raises(ZooError, match="3 heads but ax has 2 Axes"):
        plot_attention(weights, ax=two_axes)
    with pytest.raises(ZooError, match="one Axes"):
        plot_attention(weights[0], ax=list(two_axes))


def test_multi_head_row_of_panels_with_one_shared_colour_bar(weights):
    axes = plot_attention(weights, "abcd", ["x", "y"], title="all heads")
    assert isinstance(axes, np.ndarray) and axes.shape == (H,)
    fig = axes[0].figure
    assert all(ax.figure is fig for ax in axes)
    assert [ax.get_title() for ax in axes] == ["head 0", "head 1", "head 2"]
    assert fig.get_suptitle() == "all heads"
    assert len(_colour_bars(fig)) == 1
    for h, ax in enumerate(axes):
        np.testing.assert_allclose(ax.get_images()[0].get_array(), weights[h])
        assert ax.get_images()[0].get_clim() == (0.0, 1.0)  # one scale for all
        assert _texts(ax.get_xticklabels()) == ["a", "b", "c", "d"]
    assert _texts(axes[0].get_yticklabels()) == ["x", "y"]
    assert _texts(axes[1].get_yticklabels()) == ["", ""]  # shared with panel 0
    rows = {round(ax.get_position().y0, 3) for ax in axes}
    assert len(rows) == 1  # one row


def _grid_shape(axes):
    rows = {round(ax.get_position().y0, 3) for ax in axes}
    columns = {round(ax.get_position().x0, 3) for ax in axes}
    return len(rows), len(columns)


def test_many_heads_wrap_into_balanced_rows():
    axes = plot_attention(np.full((5, 2, 2), 0.5))
    assert axes.shape == (5,)
    assert _grid_shape(axes) == (2, 3)  # 3 + 2, not 4 + 1
    assert len(axes[0].figure.axes) == 5 + 1  # the empty grid cell is removed
    assert _grid_shape(plot_attention(np.full((4, 2, 2), 0.5))) == (1, 4)
    long = np.full((4, 30, 30), 1 / 30)  # a long sentence: 2 x 2, not 16 inches wide
    axes = plot_attention(long)
    assert _grid_shape(axes) == (2, 2)
    assert axes[0].figure.get_figwidth() <= 16 + 1


def test_head_draws_one_panel_and_given_axes_are_used(weights):
    ax = plot_attention(weights, "abcd", head=-1)
    assert isinstance(ax, matplotlib.axes.Axes)
    assert ax.get_title() == "head 2"
    np.testing.assert_allclose(ax.get_images()[0].get_array(), weights[2])

    fig, grid = plt.subplots(1, H)
    axes = plot_attention(weights, ax=grid)
    assert list(axes) == list(grid)
    fig, mine = plt.subplots()
    assert plot_attention(weights, head=0, ax=mine, title="mine") is mine
    assert mine.get_title() == "mine"


def test_colour_scale_stretches_for_weights_above_one_and_annotates(weights):
    too_big = weights[0] * 3.0  # rows sum to 3, as with document 004's formula
    ax = plot_attention(too_big, annotate=True)
    assert ax.get_images()[0].get_clim() == pytest.approx((0.0, too_big.max()))
    written = _texts(ax.texts)
    assert len(written) == T * S
    assert written[0] == f"{too_big[0, 0]:.2f}"


@pytest.mark.parametrize(
    ("token", "shown"),
    [
        (" be", "␣be"),
        ("\n", "⏎"),
        ("\t", "⇥"),
        (",\n\n", ",⏎⏎"),
        ("\u3000", "␣"),  # the full-width Chinese space
        ("\u00a0", "␣"),
        ("\r", "\\r"),
        ("\u200b", "\\u200b"),  # zero-width space
        ("", "∅"),
        ("<pad>", "<pad>"),
        ("语言", "语言"),
        (42, "42"),
    ],
)
def test_visible_token(token, shown):
    assert visible_token(token) == shown


def test_whitespace_tokens_are_visible_on_the_axes():
    tokens = ["To", " be", ",", "\n"]
    ax = plot_attention(np.full((4, 4), 0.25), tokens)
    assert _texts(ax.get_xticklabels()) == ["To", "␣be", ",", "⏎"]
    assert _texts(ax.get_yticklabels()) == ["To", "␣be", ",", "⏎"]


def test_chinese_tokens_draw_without_a_warning_per_character():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a "Glyph ... missing" warning would fail
        tokens = ["我", "爱", "语言", "模型"]
        ax = plot_attention(np.full((4, 4), 0.25), tokens, title="自注意力")
        ax.figure.canvas.draw()
    assert _texts(ax.get_xticklabels()) == ["我", "爱", "语言", "模型"]


def test_without_last_resort_font_missing_glyph_warnings_are_silenced(monkeypatch):
    monkeypatch.setattr(plotting, "_LAST_RESORT_FONT", "No Such Font")
    monkeypatch.setattr(plotting, "CJK_FONTS", ("No Such Font",))
    cjk_font.cache_clear()
    try:
        with warnings.catch_warnings():  # restores the filters afterwards
            warnings.simplefilter("error")
            ax = plot_attention(np.full((2, 2), 0.5), ["你", "好"])
            ax.figure.canvas.draw()
            with pytest.warns(UserWarning, match="other warnings still show"):
                warnings.warn("other warnings still show", UserWarning, stacklevel=1)
    finally:
        cjk_font.cache_clear()


def test_first_available_cjk_font_is_added_behind_the_users_fonts(monkeypatch):
    # DejaVu Serif ships with matplotlib: it stands in for a CJK font here.
    monkeypatch.setattr(plotting, "CJK_FONTS", ("No Such Font", "DejaVu Serif"))
    cjk_font.cache_clear()
    try:
        assert cjk_font() == "DejaVu Serif"
        ax = plot_attention(np.full((2, 2), 0.5), ["你", "好"])
        family = ax.get_xticklabels()[0].get_fontfamily()
        users = list(matplotlib.rcParams["font.family"])
        assert family[: len(users)] == users
        assert "DejaVu Serif" in family[len(users) :]
        monkeypatch.setattr(plotting, "CJK_FONTS", ("No Such Font",))
        cjk_font.cache_clear()
        assert cjk_font() is None  # falls back to the default fonts
    finally:
        cjk_font.cache_clear()


def test_logit_change_shows_causality_and_plots_it():
    import zoo
    from zoo import listings
    from zoo.plotting import logit_change, plot_logit_change

    ids = np.arange(5, 17, dtype="int32")  # (T=12,), vocabulary 30
    changed = ids.copy()
    changed[7] = 29
    causal = zoo.build_gru(30, embedding_dim=8, units=8, compile=False)
    with pytest.warns(Warning, match="future"):
        cheat = listings.get("003-s5").build_as_written(
            vocab_size=30, embedding_dim=8, rnn_units=8
        )
    gru, listing = logit_change(causal, ids, changed), logit_change(cheat, ids, changed)
    assert gru.shape == listing.shape == (12,)
    assert gru[:7].max() == 0.0 and gru[7] > 0  # nothing before k moves
    assert listing[:7].max() > 0  # the bidirectional layer reads position k
    ax = plot_logit_change({"gru": gru, "listing": listing}, 7)
    assert len(ax.lines) == 3  # two curves and the marker at k
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), gru)
    with pytest.raises(ZooError, match="two"):
        logit_change(causal, ids, changed[:5])
    with pytest.raises(ZooError, match="empty"):
        plot_logit_change({}, 7)


def test_plot_confusion_counts_and_shades_by_row():
    from zoo.plotting import plot_confusion

    ax = plot_confusion([[8, 2], [0, 5]], ["comedy", "tragedy"], title="genre")
    assert [t.get_text() for t in ax.texts] == ["8", "2", "0", "5"]
    shares = ax.images[0].get_array()
    np.testing.assert_allclose(shares, [[0.8, 0.2], [0.0, 1.0]])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["comedy", "tragedy"]
    assert ax.get_title() == "genre"
    with pytest.raises(ZooError, match="2 labels is 2 x 2, got shape"):
        plot_confusion([[1, 2, 3]], ["a", "b"])
