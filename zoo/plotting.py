"""Pictures of what attention does: weight heatmaps with readable tokens.

* `plot_attention`: a heatmap of attention weights, keys across, queries down,
  one panel per head.
* `visible_token`: a token as it is drawn on an axis, whitespace made visible
  (" be" -> "␣be", "\\n" -> "⏎").
* `cjk_font`: the Chinese-capable font matplotlib will use for tokens, if any.
* `plot_history`: loss curves per epoch, drawn into an Axes or saved as a PNG.

matplotlib is imported inside the functions, and no backend is chosen here: in
Jupyter the figures appear inline as usual; in scripts and tests set
``MPLBACKEND=Agg`` to draw without a screen.

Chinese tokens need a font with Chinese characters. `plot_attention` adds the
first one it finds (Noto Sans CJK, Source Han Sans, WenQuanYi, Microsoft YaHei,
SimHei, PingFang, ...) behind your own font settings, glyph by glyph, so Latin
letters keep your font. Without one, Chinese characters are drawn as boxes,
without a warning for each missing character. To get real characters, install
a CJK font (on Debian/Ubuntu ``apt install fonts-noto-cjk``), then restart
Python so matplotlib finds it.

Shape letters: H heads, T queries, S keys.
"""

from __future__ import annotations

import functools
import math
import unicodedata
import warnings
from collections.abc import Sequence

import numpy as np

from zoo.errors import ZooError

# Fonts with Chinese characters, most common first (Linux, Windows, macOS).
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Heiti SC",
    "STHeiti",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "Arial Unicode MS",
    "Droid Sans Fallback",
)

# Bundled with recent matplotlib (3.11): a box for any character that no other
# font in the list has, drawn without a "Glyph ... missing" warning.
_LAST_RESORT_FONT = "Last Resort High-Efficiency"
_MISSING_GLYPH = r"Glyph \d+ .*missing from"  # matplotlib's warning, one per glyph

_VISIBLE = {"\n": "⏎", "\t": "⇥"}
_MAX_COLUMNS = 4  # heads per row of panels
_MAX_WIDTH = 16.0  # inches of one row of panels


def visible_token(token) -> str:
    """A token as text that shows its whitespace.

    Spaces (also the no-break and the full-width Chinese space) become "␣", a
    newline "⏎", a tab "⇥", other invisible characters their escape ("\\r",
    "\\u200b"), and the empty string "∅". Anything that is not a string (a
    token id) is shown with `str`.

    Args:
        token: a token, e.g. " be", "\\n" or 42.

    Returns:
        The label to draw.

    Example:
        >>> visible_token(" be")
        '␣be'
        >>> visible_token(",\\n")
        ',⏎'
    """
    token = str(token)
    if not token:
        return "∅"
    shown = []
    for char in token:
        if char in _VISIBLE:
            shown.append(_VISIBLE[char])
        elif unicodedata.category(char) == "Zs":  # " ", "\u00a0", "\u3000"
            shown.append("␣")
        elif not char.isprintable():
            shown.append(repr(char)[1:-1])  # "\r" -> "\\r"
        else:
            shown.append(char)
    return "".join(shown)


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The name of the first font of `CJK_FONTS` that matplotlib has, or None.

    matplotlib looks for fonts once and caches the list; a font installed
    while Python runs is found after a restart.

    Returns:
        A font family name such as "Noto Sans CJK SC", or None.

    Example:
        >>> cjk_font() in (None, *CJK_FONTS)
        True
    """
    from matplotlib import font_manager

    available = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in available), None)


def _font_family() -> list[str]:
    """The user's font family, then a CJK font, then boxes for anything else.

    With neither a CJK font nor the Last Resort font (matplotlib before 3.11),
    matplotlib warns once for every Chinese character it cannot draw; only
    then are its "Glyph ... missing" warnings silenced, for the rest of the
    Python process.
    """
    import matplotlib
    from matplotlib import font_manager

    family = list(matplotlib.rcParams["font.family"])
    cjk = cjk_font()
    if cjk is not None and cjk not in family:
        family.append(cjk)
    names = {font.name for font in font_manager.fontManager.ttflist}
    if _LAST_RESORT_FONT in names:
        family.append(_LAST_RESORT_FONT)
    elif cjk is None:
        warnings.filterwarnings("ignore", _MISSING_GLYPH, UserWarning)
    return family


def _labels(tokens, count: int, name: str, axis: str) -> list[str]:
    """Visible labels for ``count`` positions; positions 0.. when tokens is None."""
    if tokens is None:
        return [str(i) for i in range(count)]
    if isinstance(tokens, str):
        tokens = list(tokens)  # a string is a sequence of character tokens
    tokens = list(np.asarray(tokens, dtype=object).ravel())
    if len(tokens) != count:
        raise ZooError(
            f"{name} has {len(tokens)} tokens but the weights have {count} "
            f"{axis}; give one token per {axis[:-1]}"
        )
    return [visible_token(token) for token in tokens]


def _text_width(labels) -> float:
    """Rough width in inches of the longest label (a CJK character is two)."""
    widest = max(
        (
            sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in label)
            for label in labels
        ),
        default=1,
    )
    return 0.09 * widest


def _figure_layout(heads: int, rows: int, columns: int, x_labels, y_labels):
    """(nrows, ncols, figsize) for ``heads`` panels of (rows, columns) cells.

    Cells are square, at most half an inch, and small enough that a panel
    stays within 6 inches (4 inches when there are several); panels go up to
    four in a row, fewer when a row would pass 16 inches, balanced over the
    rows (4 heads: 2 x 2 rather than 3 + 1).
    """
    label_width = 0.45 + _text_width(y_labels)  # y tick labels and "query (T)"
    label_height = 1.05 + (_text_width(x_labels) if _rotate(x_labels) else 0.2)

    panel = 6.0 if heads == 1 else 4.0
    wanted = min(0.5, panel / max(rows, columns))  # cell size, in inches

    def fit(ncols):
        return (_MAX_WIDTH / ncols - label_width) / columns

    ncols = min(heads, _MAX_COLUMNS)
    while ncols > 1 and fit(ncols) < min(wanted, 0.2):
        ncols -= 1
    nrows = math.ceil(heads / ncols)
    ncols = math.ceil(heads / nrows)
    size = max(min(wanted, fit(ncols)), 0.1)
    width = ncols * (columns * size + label_width) + 1.0  # + the colour bar
    height = nrows * (rows * size + label_height)
    return nrows, ncols, (width, height)


def _rotate(labels) -> bool:
    """Turn key labels on their side when they are longer than two characters."""
    return max(map(len, labels), default=0) > 2


def _tick_fontsize(count: int) -> float:
    return 10 if count <= 20 else 8 if count <= 40 else 6


def _draw(
    ax, matrix, x_labels, y_labels, *, title, cmap, vmin, vmax, family, annotate, show_y
):
    """One heatmap panel; returns the image for the colour bar."""
    image = ax.imshow(
        matrix, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest"
    )  # "auto": the figure size, not the image, keeps the cells square
    rows, columns = matrix.shape
    rotation = 90 if _rotate(x_labels) else 0
    ax.set_xticks(
        range(columns),
        labels=x_labels,
        rotation=rotation,
        fontfamily=family,
        fontsize=_tick_fontsize(columns),
    )
    ax.set_yticks(
        range(rows),
        labels=y_labels if show_y else [""] * rows,
        fontfamily=family,
        fontsize=_tick_fontsize(rows),
    )
    ax.set_xlabel("key (S)")
    if show_y:
        ax.set_ylabel("query (T)")
    if title is not None:
        ax.set_title(title, fontfamily=family)
    if annotate:
        for (i, j), value in np.ndenumerate(matrix):
            red, green, blue, _ = image.cmap(image.norm(value))
            light = 0.299 * red + 0.587 * green + 0.114 * blue > 0.5  # luminance
            ax.text(
                j,
                i,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="black" if light else "white",
            )
    return image


def plot_attention(
    weights,
    x_tokens=None,
    y_tokens=None,
    *,
    head: int | None = None,
    ax=None,
    title: str | None = None,
    cmap: str = "viridis",
    annotate: bool = False,
):
    """Draw attention weights as a heatmap: keys across, queries down.

    Row i of the picture is query i; its colours are how much query i takes
    from each key (for softmax attention, a row sums to one). Tokens label the
    axes with whitespace made visible (`visible_token`), Chinese included
    (see `cjk_font`).

    The colour scale runs from 0 to 1, the range of softmax weights, and is
    stretched only if some weight lies outside it (document 004's formula), so
    that nothing is clipped. All heads share one scale and one colour bar;
    their panels go up to four in a row (fewer for long sentences).

    Args:
        weights: (T, S) weights of one head, or (H, T, S) for several heads,
            e.g. ``scores[0]`` of a (B, H, T, S) tensor returned by
            `zoo.layers.MultiHeadAttention` with ``return_attention_scores``.
            A NumPy array or a tensor.
        x_tokens: the S key tokens (a list, or a string of characters);
            positions 0..S-1 if None.
        y_tokens: the T query tokens; if None, ``x_tokens`` when T == S
            (self-attention), else positions 0..T-1. Pass them for
            cross-attention.
        head: with (H, T, S) weights, draw this head only.
        ax: where to draw: a matplotlib Axes for one panel, or a sequence of
            H Axes for H heads. A new figure is made if None.
        title: title of the panel (one head), or of the figure (several heads,
            whose panels are titled "head 0", "head 1", ...).
        cmap: a matplotlib colour map name.
        annotate: write each weight in its cell (for small matrices).

    Returns:
        The Axes for one panel (a (T, S) input or ``head``), else a NumPy
        array of H Axes. The colour bar belongs to the same figure
        (``ax.figure``).

    Raises:
        ZooError: weights that are not (T, S) or (H, T, S); token lists whose
            length is not S or T; a ``head`` out of range; the wrong number
            of axes.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from zoo.layers import MultiHeadAttention
        >>> x = np.random.rand(1, 3, 8).astype("float32")
        >>> _, scores = MultiHeadAttention(2)(x, x, return_attention_scores=True)
        >>> axes = plot_attention(scores[0], ["我", " love", "\\n"])  # (H, T, S)
        >>> [label.get_text() for label in axes[0].get_xticklabels()]
        ['我', '␣love', '⏎']
        >>> ax = plot_attention(scores[0], ["我", " love", "\\n"], head=1)
        >>> ax.get_title()
        'head 1'

    Reference:
        Bahdanau, Cho and Bengio (2015), figure 3; Vaswani et al. (2017),
        figures 3-5: the same pictures, for translation and for each head.
    """
    weights = np.asarray(weights, dtype="float32")
    if weights.ndim == 4:
        raise ZooError(
            f"plot_attention takes (T, S) or (H, T, S) weights, got (B, H, T, S) "
            f"= {weights.shape}: plot one example at a time, e.g. weights[0]"
        )
    if weights.ndim not in (2, 3):
        raise ZooError(
            f"plot_attention takes (T, S) or (H, T, S) weights, got shape "
            f"{weights.shape}"
        )
    if head is not None:
        if weights.ndim != 3:
            raise ZooError(
                f"head={head} needs (H, T, S) weights, got shape {weights.shape}"
            )
        heads = weights.shape[0]
        if not -heads <= head < heads:
            raise ZooError(f"head={head} is out of range for {heads} heads")
        head = head % heads
        weights = weights[head]  # (T, S)
        title = f"head {head}" if title is None else title

    *_, rows, columns = weights.shape  # T, S
    x_labels = _labels(x_tokens, columns, "x_tokens", "keys")
    if y_tokens is None and x_tokens is not None and rows == columns:
        y_tokens = x_tokens  # self-attention: the queries are the keys
    y_labels = _labels(y_tokens, rows, "y_tokens", "queries")

    finite = weights[np.isfinite(weights)]
    vmin = min(0.0, float(finite.min())) if finite.size else 0.0
    vmax = max(1.0, float(finite.max())) if finite.size else 1.0
    family = _font_family()
    style = dict(cmap=cmap, vmin=vmin, vmax=vmax, family=family, annotate=annotate)

    if weights.ndim == 2:
        if ax is None:
            import matplotlib.pyplot as plt

            _, _, figsize = _figure_layout(1, rows, columns, x_labels, y_labels)
            _, ax = plt.subplots(figsize=figsize, layout="constrained")
        elif isinstance(ax, np.ndarray | Sequence):
            raise ZooError("one panel needs one Axes for ax, not a sequence")
        image = _draw(
            ax, weights, x_labels, y_labels, title=title, show_y=True, **style
        )
        ax.figure.colorbar(image, ax=ax, label="attention weight")
        return ax

    heads = weights.shape[0]
    if ax is None:
        import matplotlib.pyplot as plt

        nrows, ncols, (width, height) = _figure_layout(
            heads, rows, columns, x_labels, y_labels
        )
        fig, grid = plt.subplots(
            nrows,
            ncols,
            figsize=(width, height + 0.4 * (title is not None)),
            layout="constrained",
            squeeze=False,
        )
        for extra in grid.ravel()[heads:]:
            extra.remove()
        axes = grid.ravel()[:heads]
    else:
        axes = np.asarray(ax, dtype=object).ravel()
        if axes.size != heads:
            raise ZooError(
                f"weights have {heads} heads but ax has {axes.size} Axes; pass "
                f"{heads} Axes, or head= to draw one head"
            )
        fig = axes[0].figure
        ncols = heads
    for h, panel in enumerate(axes):
        image = _draw(
            panel,
            weights[h],
            x_labels,
            y_labels,
            title=f"head {h}",
            show_y=h % ncols == 0,
            **style,
        )
    fig.colorbar(image, ax=list(axes), label="attention weight")
    if title is not None:
        fig.suptitle(title, fontfamily=family)
    return axes


def plot_history(history: dict, path=None, *, ax=None, keys=("loss", "val_loss")):
    """Draw per-epoch curves (training and validation loss by default).

    Args:
        history: metric name -> per-epoch values, as `zoo.training.train`
            returns (or ``keras.callbacks.History.history``).
        path: if given, save the figure there as a PNG, atomically (written
            under a temporary name, then renamed), and return the path.
        ax: draw into this Axes (e.g. in a notebook); a new figure otherwise.
        keys: which curves to draw; missing ones are skipped.

    Returns:
        The path written if `path` was given, else the Axes.

    Example:
        >>> plot_history({"loss": [2.1, 1.7], "val_loss": [2.0, 1.8]}, "loss.png")
        PosixPath('loss.png')
    """
    import os
    from pathlib import Path

    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    if ax is None:
        # A bare Figure needs no pyplot and no backend: safe in scripts, tests
        # and inside Jupyter alike.
        fig = Figure(figsize=(6, 4))
        ax = fig.subplots()
    drawn = [k for k in keys if k in history]
    if not drawn:
        raise ZooError(f"history has none of {list(keys)}; it has {sorted(history)}")
    for key in drawn:
        epochs = np.arange(1, len(history[key]) + 1)
        ax.plot(epochs, history[key], marker="o", label=key)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy (nats per token)")
    ax.legend()
    ax.grid(alpha=0.3)
    if path is None:
        return ax
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig = ax.get_figure()
    fig.tight_layout()
    fig.savefig(tmp, dpi=100)
    os.replace(tmp, path)
    return path


def plot_confusion(matrix, labels, *, ax=None, title=None):
    """A confusion matrix as a heat map: the true label down, the predicted
    across, each cell its count, shaded by the share of its row.

    Args:
        matrix: (K, K) counts, as `zoo.evaluation.confusion_matrix` gives.
        labels: the K label names (Chinese ones get a font that has them).
        ax: draw into this Axes; a new figure otherwise.
        title: the panel's title.

    Returns:
        The Axes.

    Example:
        >>> ax = plot_confusion([[5, 1], [2, 7]], ["comedy", "tragedy"])
    """
    from matplotlib.figure import Figure

    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape != (len(labels), len(labels)):
        raise ZooError(
            f"a confusion matrix of {len(labels)} labels is "
            f"{len(labels)} x {len(labels)}, got shape {matrix.shape}"
        )
    if ax is None:
        ax = Figure(figsize=(4, 4), layout="constrained").subplots()
    shares = matrix / np.maximum(1, matrix.sum(1, keepdims=True))
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    family = None if "".join(labels).isascii() else cjk_font()
    font = {"fontfamily": family} if family else {}
    ticks = range(len(labels))
    ax.set_xticks(ticks, labels, rotation=45, ha="right", **font)
    ax.set_yticks(ticks, labels, **font)
    for i in ticks:
        for j in ticks:
            colour = "white" if shares[i, j] > 0.5 else "black"
            ax.text(j, i, f"{matrix[i, j]:,}", ha="center", va="center", color=colour)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    return ax


def logit_change(model, ids, changed) -> np.ndarray:
    """How far each position's logits move when one sequence becomes another.

    Args:
        model: a token-input model emitting (B, T, V) logits.
        ids: (T,) token ids.
        changed: (T,) the same ids with some changed (e.g. one later token).

    Returns:
        (T,) the largest absolute logit change at each position. For a causal
        model it is exactly 0 before the first changed position.
    """
    ids, changed = np.asarray(ids), np.asarray(changed)
    if ids.ndim != 1 or ids.shape != changed.shape:
        raise ZooError(
            f"ids and changed must be two (T,) arrays, got {ids.shape} and "
            f"{changed.shape}"
        )
    logits = np.asarray(model(np.stack([ids, changed]), training=False))  # (2, T, V)
    return np.abs(logits[0] - logits[1]).max(axis=-1)


def plot_logit_change(changes: dict, position: int, *, ax=None):
    """Draw `logit_change` curves, one per model, with the changed position
    marked and the positions before it shaded: a causal model stays at 0 there.

    Args:
        changes: label -> (T,) array from `logit_change`.
        position: the first changed position k.
        ax: draw into this Axes (e.g. in a notebook); a new figure otherwise.

    Returns:
        The Axes.
    """
    from matplotlib.figure import Figure

    if not changes:
        raise ZooError("changes is empty: give at least one label -> curve")
    if ax is None:
        ax = Figure(figsize=(7, 2.8)).subplots()
    for label, change in changes.items():
        ax.plot(np.asarray(change), marker=".", label=label)
    ax.axvline(position, color="red", linestyle="--", label=f"changed (t={position})")
    ax.axvspan(-0.5, position - 0.5, color="orange", alpha=0.15, label="before it")
    ax.set_xlabel("position t")
    ax.set_ylabel("max |Δ logit|")
    ax.legend(loc="upper left", fontsize="small")
    return ax
