"""What the source texts claim, measured: gradients, long memory, remedies.

The texts state, and never show:

* document 000, 3.2 LSTM: the LSTM "能够解决RNN在处理长距离依赖关系时的梯度消失问题"
  (solves the RNN's vanishing gradients over long distances);
* document 000, section 8, and document 002, Q2: dropout, L2, early stopping,
  more data and a smaller network against overfitting, and "更好的优化算法，
  如Adam和RMSprop".

This module turns each claim into a small experiment built on zoo's own
factories (`zoo.models.rnn`) and training loop (`zoo.training`):

* `input_gradient_norms`: how strongly the loss at the last step reaches back
  to the input at every earlier step (the vanishing gradient itself);
* `copy_task` and `long_memory_accuracy`: a task that needs a memory of k
  steps, and how well each family learns it in a fixed budget;
* `overfitting_study`: a character model that overfits a few thousand
  characters, then the same with each remedy, scored on held-out text;
* `optimizer_study`: Adam, RMSprop and SGD at the same budget.

Each has a plotting helper that draws into a matplotlib Axes (matplotlib is
imported inside them; see `zoo.plotting` for the conventions).

Shape letters: B batch, T time, E embedding size, V vocabulary size.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import ZooError
from zoo.text import FIRST_REAL_ID

FAMILIES = ("simple_rnn", "lstm", "gru")
REMEDIES = ("dropout", "weight_decay", "early_stopping", "more_data", "smaller")


def _factory(family: str):
    from zoo.models.rnn import build_gru, build_lstm, build_simple_rnn

    factories = {"simple_rnn": build_simple_rnn, "lstm": build_lstm, "gru": build_gru}
    if family not in factories:
        raise ZooError(f"family must be one of {FAMILIES}, got {family!r}")
    return factories[family]


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ZooError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ZooError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def set_forget_bias(model: keras.Model, bias: float) -> int:
    """Set the forget-gate bias of every LSTM layer of `model` to `bias`.

    Keras starts it at 1 (``unit_forget_bias=True``), so a fresh LSTM keeps
    sigmoid(1) = 0.73 of its cell per step, and 0.73^t of a gradient t steps
    back. A larger bias opens the gate: sigmoid(5) = 0.993.

    Args:
        model: a built model with LSTM layers (e.g. from `build_lstm`).
        bias: the new forget-gate bias.

    Returns:
        How many LSTM layers were changed.

    Raises:
        ZooError: if the model has no LSTM layer.
    """
    changed = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.LSTM):
            cell = layer.cell
            units = cell.units
            values = keras.ops.convert_to_numpy(cell.bias).copy()
            values[units : 2 * units] = bias  # Keras's gate order: i, f, c, o
            cell.bias.assign(values)
            changed += 1
    if not changed:
        raise ZooError(f"model {model.name!r} has no LSTM layer to set a forget bias")
    return changed


def build_family(
    family: str,
    vocab_size: int,
    *,
    embedding_dim: int = 16,
    units: int = 32,
    output: str = "last",
    forget_bias: float | None = None,
    seed: int = 0,
    compile: bool = False,
    **kwargs,
) -> keras.Model:
    """A zoo recurrent model by family name, seeded, with Keras's own init.

    Args:
        family: "simple_rnn", "lstm" or "gru".
        vocab_size: V.
        embedding_dim: E.
        units: hidden-state size.
        output: "last" (B, V) or "sequence" (B, T, V).
        forget_bias: LSTM only: set the forget-gate bias (`set_forget_bias`);
            None keeps Keras's 1.
        seed: `keras.utils.set_random_seed` before the weights are drawn.
        compile: passed to the factory.
        **kwargs: more factory keywords (dropout, learning_rate, ...).

    Returns:
        The model, built.
    """
    factory = _factory(family)
    if forget_bias is not None and family != "lstm":
        raise ZooError(f"forget_bias is an LSTM gate; {family} has none")
    keras.utils.set_random_seed(seed)
    model = factory(
        vocab_size,
        embedding_dim=embedding_dim,
        units=units,
        output=output,
        compile=compile,
        **kwargs,
    )
    if forget_bias is not None:
        set_forget_bias(model, forget_bias)
    return model


# --- 1. vanishing gradients -----------------------------------------------------


def input_gradient_norms(model: keras.Model, ids, targets=None) -> np.ndarray:
    """How much the loss at the last step depends on each earlier input.

    The model is split at its embedding layer: the token vectors e_t (B, T, E)
    are watched by a `tf.GradientTape`, the rest of the model runs on them,
    and the cross-entropy of the last step's logits is differentiated with
    respect to every e_t. The result at t is the mean over the batch of
    ||dL_b / de_{b,t}||: how far back an error signal reaches. A vanishing
    gradient is one that falls by orders of magnitude as t moves away from
    the last step.

    Args:
        model: a zoo recurrent language model taking token ids (a layer named
            "embedding", then the layers it feeds, as `zoo.models.rnn`
            builds), with output "last" or "sequence".
        ids: (B, T) int token ids.
        targets: (B,) the ids the last step should predict; default the first
            token of each row (what `copy_task` asks to recall). The size of
            the gradient hardly depends on this choice.

    Returns:
        (T,) float64: the gradient's norm at each step t = 0 .. T-1.

    Raises:
        ZooError: for ids that are not (B, T) ids of the model's vocabulary,
            or a model without an embedding layer.

    Example:
        >>> model = build_family("gru", 20)
        >>> norms = input_gradient_norms(model, np.full((4, 50), 7))
        >>> norms.shape
        (50,)
    """
    ids = np.asarray(ids)
    if ids.ndim != 2 or ids.shape[0] < 1 or ids.shape[1] < 1:
        raise ZooError(
            f"ids must be a (B, T) array of token ids, got shape {ids.shape}"
        )
    if not np.issubdtype(ids.dtype, np.integer):
        raise ZooError(f"ids must be integer token ids, got dtype {ids.dtype}")
    names = [layer.name for layer in model.layers]
    if "embedding" not in names:
        raise ZooError(
            f"model {model.name!r} has no layer named 'embedding' (a token-input "
            "zoo recurrent model has one); input_gradient_norms splits it there"
        )
    embedding = model.get_layer("embedding")
    vocab_size = embedding.input_dim
    if ids.min() < 0 or ids.max() >= vocab_size:
        raise ZooError(
            f"ids must lie in [0, {vocab_size}) (the model's vocabulary), got "
            f"values from {ids.min()} to {ids.max()}"
        )
    if targets is None:
        targets = ids[:, 0]
    targets = np.asarray(targets)
    if targets.shape != (ids.shape[0],):
        raise ZooError(
            f"targets must have shape ({ids.shape[0]},) (one id per row), got "
            f"{targets.shape}"
        )
    later = model.layers[names.index("embedding") + 1 :]
    vectors = embedding(ids.astype("int32"))  # (B, T, E)
    with tf.GradientTape() as tape:
        tape.watch(vectors)
        y = vectors
        for layer in later:
            y = layer(y, training=False)
        logits = y if len(y.shape) == 2 else y[:, -1]  # (B, V), the last step
        # Summed, so every row's gradient is that row's own loss's.
        loss = tf.reduce_sum(
            keras.losses.sparse_categorical_crossentropy(
                targets.astype("int32"), logits, from_logits=True
            )
        )
    grads = tape.gradient(loss, vectors)  # (B, T, E)
    norms = tf.norm(tf.cast(grads, "float64"), axis=-1)  # (B, T)
    return tf.reduce_mean(norms, axis=0).numpy()


def gradient_norms(
    family: str,
    *,
    seq_len: int = 100,
    batch_size: int = 16,
    vocab_size: int = 32,
    embedding_dim: int = 16,
    units: int = 32,
    forget_bias: float | None = None,
    seed: int = 0,
) -> np.ndarray:
    """`input_gradient_norms` of a freshly built model on random token ids.

    Args:
        family: "simple_rnn", "lstm" or "gru".
        seq_len: T.
        batch_size: B.
        vocab_size: V (ids drawn uniformly from the real ids).
        embedding_dim: E.
        units: hidden-state size.
        forget_bias: LSTM only (`set_forget_bias`).
        seed: seeds the weights and the ids.

    Returns:
        (T,) the gradient's norm at each step.
    """
    seq_len = _check_int("seq_len", seq_len, 1)
    batch_size = _check_int("batch_size", batch_size, 1)
    vocab_size = _check_int("vocab_size", vocab_size, FIRST_REAL_ID + 1)
    model = build_family(
        family,
        vocab_size,
        embedding_dim=embedding_dim,
        units=units,
        forget_bias=forget_bias,
        seed=seed,
    )
    rng = np.random.default_rng(seed)
    ids = rng.integers(FIRST_REAL_ID, vocab_size, size=(batch_size, seq_len))
    return input_gradient_norms(model, ids)


def plot_gradient_norms(norms: Mapping[str, np.ndarray], ax=None):
    """Gradient norm against steps back from the last step, log scale.

    Args:
        norms: label -> (T,) norms from `input_gradient_norms`.
        ax: draw into this Axes; a new figure otherwise.

    Returns:
        The Axes.
    """
    ax = _axes(ax)
    for label, values in norms.items():
        values = np.asarray(values, dtype=float)
        steps_back = np.arange(len(values))[::-1]  # t = T-1 is 0 steps back
        shown = np.where(values > 0, values, np.nan)  # log scale: 0 cannot be drawn
        ax.plot(steps_back, shown, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("steps back from the last step (T - 1 - t)")
    ax.set_ylabel("||dL / de_t|| (mean over the batch)")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    return ax


# --- 2. a long memory ------------------------------------------------------------


def copy_task_vocab_size(n_symbols: int = 8, n_distractors: int = 8) -> int:
    """V of `copy_task`: zoo's reserved ids, the symbols, the distractors."""
    return FIRST_REAL_ID + n_symbols + n_distractors


def copy_task(
    k: int,
    *,
    n_examples: int = 1000,
    n_symbols: int = 8,
    n_distractors: int = 8,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Data for a task that needs a memory of k steps: recall the first token.

    Each row is a symbol (one of `n_symbols`), then k random distractor
    tokens (drawn from `n_distractors` others); the target, read at the last
    step, is the first symbol, k steps back. Guessing gives 1 / n_symbols.

        x = [s, d_1, ..., d_k]  (k + 1 ids)   y = s

    Ids start after zoo's reserved ids (`zoo.text.FIRST_REAL_ID`): symbols
    first, then distractors, so no target is padding.

    Args:
        k: the distance to remember, >= 1.
        n_examples: rows.
        n_symbols: symbols to remember (>= 2).
        n_distractors: distractor tokens (>= 1).
        seed: the same seed gives the same rows.

    Returns:
        x (n_examples, k + 1) int32, y (n_examples,) int32.

    Example:
        >>> x, y = copy_task(3, n_examples=2)
        >>> x.shape, y.shape, bool((x[:, 0] == y).all())
        ((2, 4), (2,), True)
    """
    k = _check_int("k", k, 1)
    n_examples = _check_int("n_examples", n_examples, 1)
    n_symbols = _check_int("n_symbols", n_symbols, 2)
    n_distractors = _check_int("n_distractors", n_distractors, 1)
    rng = np.random.default_rng(seed)
    first = FIRST_REAL_ID
    symbols = rng.integers(first, first + n_symbols, size=n_examples)
    distractors = rng.integers(
        first + n_symbols, first + n_symbols + n_distractors, size=(n_examples, k)
    )
    x = np.concatenate([symbols[:, None], distractors], axis=1).astype("int32")
    return x, symbols.astype("int32")


def train_on_copy_task(
    family: str,
    k: int,
    *,
    steps: int = 800,
    batch_size: int = 32,
    n_symbols: int = 8,
    n_distractors: int = 8,
    embedding_dim: int = 16,
    units: int = 32,
    learning_rate: float = 1e-2,
    forget_bias: float | None = None,
    n_test: int = 1000,
    seed: int = 0,
) -> dict:
    """Train a tiny model of `family` on `copy_task` and score it.

    Every step sees a fresh batch (no example is seen twice), with zoo's
    defaults otherwise: Adam, gradients clipped at global norm 1, XLA.

    Args:
        family: "simple_rnn", "lstm" or "gru".
        k: the distance to remember.
        steps: training steps (the budget).
        batch_size: B.
        n_symbols, n_distractors: as in `copy_task`.
        embedding_dim: E.
        units: hidden-state size.
        learning_rate: Adam's step size.
        forget_bias: LSTM only (`set_forget_bias`); None keeps Keras's 1.
        n_test: fresh rows the accuracy is measured on.
        seed: seeds the weights, the training rows and (offset) the test rows.

    Returns:
        A dict: "model", "accuracy" (at the recall step, on the test rows),
        "chance" (1 / n_symbols), "seconds" (training wall time).
    """
    from zoo.training import compile_model, train

    steps = _check_int("steps", steps, 1)
    batch_size = _check_int("batch_size", batch_size, 1)
    vocab_size = copy_task_vocab_size(n_symbols, n_distractors)
    model = build_family(
        family,
        vocab_size,
        embedding_dim=embedding_dim,
        units=units,
        forget_bias=forget_bias,
        seed=seed,
    )
    compile_model(model, learning_rate=learning_rate)
    x, y = copy_task(
        k,
        n_examples=steps * batch_size,
        n_symbols=n_symbols,
        n_distractors=n_distractors,
        seed=seed,
    )
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(
        batch_size, drop_remainder=True
    )
    start = time.perf_counter()
    train(model, data, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    x_test, y_test = copy_task(
        k,
        n_examples=n_test,
        n_symbols=n_symbols,
        n_distractors=n_distractors,
        seed=seed + 1_000_003,  # rows the model never trained on
    )
    logits = model.predict(x_test, batch_size=500, verbose=0)  # (n_test, V)
    accuracy = float(np.mean(np.argmax(logits, axis=-1) == y_test))
    return {
        "model": model,
        "accuracy": accuracy,
        "chance": 1.0 / n_symbols,
        "seconds": seconds,
    }


def long_memory_accuracy(family: str, k: int, **kwargs) -> float:
    """Accuracy at the recall step of a tiny `family` model trained on
    `copy_task(k)` for a fixed budget (`train_on_copy_task`'s keywords).

    Example:
        >>> long_memory_accuracy("gru", 5, steps=200)  # chance is 1/8
        1.0
    """
    return train_on_copy_task(family, k, **kwargs)["accuracy"]


def plot_long_memory(
    accuracies: Mapping[str, Mapping[int, float]], *, chance: float, ax=None
):
    """Accuracy at the recall step against the distance k, one line per model.

    Args:
        accuracies: label -> {k: accuracy}.
        chance: the guessing rate, drawn as a dashed line.
        ax: draw into this Axes; a new figure otherwise.

    Returns:
        The Axes.
    """
    ax = _axes(ax)
    for label, by_k in accuracies.items():
        ks = sorted(by_k)
        ax.plot(ks, [by_k[k] for k in ks], marker="o", label=label)
    ax.axhline(chance, color="grey", linestyle="--", label="chance")
    ax.set_xscale("log")
    ax.set_xlabel("k: steps between the symbol and its recall")
    ax.set_ylabel("recall accuracy")
    ax.set_ylim(0, 1.05)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


# --- 3. overfitting and its remedies -------------------------------------------


def _char_data(train_chars, valid_chars, test_chars):
    """The bundled plays' first characters of each split, as char ids."""
    from zoo.data.corpora import load_corpus
    from zoo.text import CharTokenizer

    corpus = load_corpus("shakespeare")
    tokenizer = CharTokenizer.fit(corpus.train)  # the whole split's characters
    ids = {
        "train": tokenizer.encode(corpus.train[:train_chars]),
        "valid": tokenizer.encode(corpus.valid[:valid_chars]),
        "test": tokenizer.encode(corpus.test[:test_chars]),
    }
    return tokenizer.vocab_size, ids


def _train_lm(
    family,
    vocab_size,
    ids,
    *,
    seq_len,
    batch_size,
    embedding_dim,
    units,
    dropout,
    epochs,
    steps_per_epoch,
    early_stopping,
    seed,
    stride=None,
    **compile_kwargs,
):
    """One character LM trained with zoo.training.train; its scores."""
    from zoo.data.pipeline import make_dataset
    from zoo.training import compile_model, evaluate, train

    model = build_family(
        family,
        vocab_size,
        embedding_dim=embedding_dim,
        units=units,
        output="sequence",
        dropout=dropout,
        seed=seed,
    )
    compile_model(model, **compile_kwargs)
    train_ds = make_dataset(
        ids["train"], seq_len=seq_len, batch_size=batch_size, seed=seed, stride=stride
    )
    held_out = {
        split: make_dataset(
            ids[split], seq_len=seq_len, batch_size=batch_size, training=False
        )
        for split in ("train", "valid", "test")
    }
    start = time.perf_counter()
    history = train(
        model,
        train_ds,
        valid_ds=held_out["valid"],
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        early_stopping=early_stopping,
        verbose=0,
    )
    seconds = time.perf_counter() - start
    val = history["val_loss"]
    best = int(np.argmin(val))
    return {
        "history": {"loss": history["loss"], "val_loss": val},
        "epochs_run": len(val),
        "best_epoch": best + 1,
        "best_val_loss": float(val[best]),
        "final_val_loss": float(val[-1]),
        # The weights kept at the end (early stopping restores its best):
        # their loss on the training text (no dropout) and on the test plays,
        # which nothing in training looked at.
        "kept_train_loss": evaluate(model, held_out["train"])["nll"],
        "kept_test_loss": evaluate(model, held_out["test"])["nll"],
        "seconds": seconds,
    }


def overfitting_study(
    *,
    family: str = "gru",
    remedies: Sequence[str] = REMEDIES,
    train_chars: int = 5_000,
    valid_chars: int = 20_000,
    test_chars: int = 20_000,
    seq_len: int = 64,
    batch_size: int = 16,
    embedding_dim: int = 32,
    units: int = 256,
    epochs: int = 20,
    steps_per_epoch: int = 15,
    learning_rate: float = 3e-3,
    dropout: float = 0.5,
    weight_decay: float = 1.0,
    patience: int = 2,
    more_data_factor: int = 20,
    smaller_units: int = 32,
    seed: int = 0,
) -> list[dict]:
    """A character model that overfits a small text, and each remedy.

    The first row ("none") is a `family` model of `units` trained on the
    first `train_chars` characters of the bundled plays' training split for
    `epochs` x `steps_per_epoch` steps, scored after every epoch on the
    validation plays. Every other row changes one thing (the advice of
    document 000, section 8, and document 002, Q2):

    * "dropout": ``dropout`` after the embedding and before the output;
    * "weight_decay": AdamW's decoupled weight decay `weight_decay` (zoo's
      L2 in its decoupled form, not on biases or embeddings);
    * "early_stopping": stop once the validation loss has not improved for
      `patience` epochs, keeping the best weights;
    * "more_data": `more_data_factor` times the training text;
    * "smaller": a network of `smaller_units` units.

    Args:
        family: "simple_rnn", "lstm" or "gru".
        remedies: which of `REMEDIES` to run after the plain model.
        train_chars, valid_chars, test_chars: characters of each split.
        seq_len: T.  batch_size: B.
        embedding_dim: E.  units: hidden-state size of the plain model.
        epochs, steps_per_epoch: the budget, the same for every row.
        learning_rate: Adam's (AdamW's) step size.
        dropout, weight_decay, patience, more_data_factor, smaller_units: the
            remedies' settings.
        seed: seeds weights and batches (the same for every row).

    Returns:
        One dict per row: "remedy", "history" ({"loss", "val_loss"} per
        epoch; training loss with dropout on, as `fit` logs it),
        "epochs_run", "best_epoch", "best_val_loss", "final_val_loss",
        "kept_train_loss" and "kept_test_loss" (nats per character, of the
        weights kept at the end, on the training text and the test plays),
        "seconds".
    """
    unknown = [r for r in remedies if r not in REMEDIES]
    if unknown:
        raise ZooError(f"remedies must be among {REMEDIES}, got {unknown}")
    for name, value in (
        ("train_chars", train_chars),
        ("epochs", epochs),
        ("steps_per_epoch", steps_per_epoch),
        ("more_data_factor", more_data_factor),
        ("patience", patience),
    ):
        _check_int(name, value, 0 if name == "patience" else 1)
    vocab_size, ids = _char_data(
        train_chars * (more_data_factor if "more_data" in remedies else 1),
        valid_chars,
        test_chars,
    )
    small = {**ids, "train": ids["train"][:train_chars]}
    settings = {
        "family": family,
        "vocab_size": vocab_size,
        "seq_len": seq_len,
        "batch_size": batch_size,
        "embedding_dim": embedding_dim,
        "epochs": epochs,
        "steps_per_epoch": steps_per_epoch,
        "learning_rate": learning_rate,
        "seed": seed,
        # Overlapping windows: more distinct batches from a small text.
        "stride": max(seq_len // 4, 1),
    }
    plain = {"units": units, "dropout": 0.0, "early_stopping": None}
    changes = {
        "none": {},
        "dropout": {"dropout": dropout},
        "weight_decay": {"optimizer": "adamw", "weight_decay": weight_decay},
        "early_stopping": {"early_stopping": patience},
        "more_data": {"ids": ids},
        "smaller": {"units": smaller_units},
    }
    rows = []
    for remedy in ("none", *remedies):
        kwargs = {**settings, **plain, "ids": small, **changes[remedy]}
        family_, vocab = kwargs.pop("family"), kwargs.pop("vocab_size")
        data = kwargs.pop("ids")
        rows.append({"remedy": remedy, **_train_lm(family_, vocab, data, **kwargs)})
    return rows


def plot_overfitting(rows: Sequence[Mapping], ax=None):
    """Validation loss per epoch, one line per row of `overfitting_study`
    (the plain model's training loss dotted).

    Returns:
        The Axes.
    """
    ax = _axes(ax)
    for row in rows:
        val = row["history"]["val_loss"]
        (line,) = ax.plot(
            np.arange(1, len(val) + 1), val, marker=".", label=row["remedy"]
        )
        if row["remedy"] == "none":
            loss = row["history"]["loss"]
            ax.plot(
                np.arange(1, len(loss) + 1),
                loss,
                linestyle=":",
                color=line.get_color(),
                label="none (training loss)",
            )
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss (nats per character)")
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


# --- 4. optimizers -----------------------------------------------------------------

# Each optimizer's step size at the study's defaults: SGD's is the best final
# validation loss of 0.01, 1, 3, 10 and 30 (30 diverges), measured on a 2-core
# CPU; notebook 14's full mode runs the grid up to 10. SGD needs a far larger
# step than the adaptive methods, which divide each step by the gradient's
# running size.
LEARNING_RATES = {"adam": 1e-2, "rmsprop": 1e-2, "sgd": 10.0}


def optimizer_study(
    *,
    family: str = "gru",
    optimizers: Sequence[str] = ("adam", "rmsprop", "sgd"),
    learning_rates: Mapping[str, float | Sequence[float]] | None = None,
    train_chars: int = 200_000,
    valid_chars: int = 20_000,
    test_chars: int = 20_000,
    seq_len: int = 64,
    batch_size: int = 32,
    embedding_dim: int = 32,
    units: int = 128,
    epochs: int = 4,
    steps_per_epoch: int = 50,
    seed: int = 0,
) -> list[dict]:
    """The same character model and budget, trained with each optimizer.

    Args:
        family: "simple_rnn", "lstm" or "gru".
        optimizers: names of `zoo.training.make_optimizer` ("adam",
            "rmsprop", "sgd"; "adamw" too).
        learning_rates: optimizer -> a step size or several (one row each);
            default `LEARNING_RATES`.
        train_chars, valid_chars, test_chars: characters of each split.
        seq_len: T.  batch_size: B.  embedding_dim: E.  units: state size.
        epochs, steps_per_epoch: the budget, the same for every row.
        seed: the same weights and batches for every row.

    Returns:
        One dict per (optimizer, learning rate): "optimizer",
        "learning_rate", "history", "best_val_loss", "final_val_loss",
        "kept_test_loss", ..., as in `overfitting_study`.
    """
    from zoo.training import OPTIMIZERS

    rates = {**LEARNING_RATES, **(learning_rates or {})}
    bad = [name for name in optimizers if name not in OPTIMIZERS]
    if bad or not optimizers:
        raise ZooError(f"optimizers must be among {OPTIMIZERS}, got {list(optimizers)}")
    missing = [name for name in optimizers if name not in rates]
    if missing:
        raise ZooError(f"no learning rate for {missing}: pass learning_rates")
    grids = {}
    for name in optimizers:
        grid = rates[name]
        grids[name] = [grid] if isinstance(grid, (int, float)) else list(grid)
        for rate in grids[name]:
            if not (
                isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0
            ):
                raise ZooError(f"learning rates must be > 0, got {rate!r} for {name}")
    vocab_size, ids = _char_data(train_chars, valid_chars, test_chars)
    rows = []
    for name, grid in grids.items():
        for rate in grid:
            result = _train_lm(
                family,
                vocab_size,
                ids,
                seq_len=seq_len,
                batch_size=batch_size,
                embedding_dim=embedding_dim,
                units=units,
                dropout=0.0,
                epochs=epochs,
                steps_per_epoch=steps_per_epoch,
                early_stopping=None,
                seed=seed,
                optimizer=name,
                learning_rate=float(rate),
            )
            rows.append({"optimizer": name, "learning_rate": float(rate), **result})
    return rows


def best_per_optimizer(rows: Sequence[Mapping]) -> dict[str, dict]:
    """The row of each optimizer with the lowest final validation loss."""
    best: dict[str, dict] = {}
    for row in rows:
        name = row["optimizer"]
        if name not in best or row["final_val_loss"] < best[name]["final_val_loss"]:
            best[name] = dict(row)
    return best


def plot_optimizers(rows: Sequence[Mapping], ax=None):
    """Validation loss per epoch, one line per row of `optimizer_study`.

    Returns:
        The Axes.
    """
    ax = _axes(ax)
    for row in rows:
        val = row["history"]["val_loss"]
        ax.plot(
            np.arange(1, len(val) + 1),
            val,
            marker="o",
            label=f"{row['optimizer']} (lr {row['learning_rate']:g})",
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss (nats per character)")
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def _axes(ax):
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    # A bare Figure needs no pyplot and no backend (as zoo.plotting does).
    return Figure(figsize=(6, 4)).subplots()
