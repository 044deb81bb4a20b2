"""The texts' claims, measured (zoo.claims): vanishing gradients, a long
memory, the remedies for overfitting, the optimisers.

Fast tests check the data, the shapes, the gradient itself (against finite
differences) and bad input. The tests marked slow train tiny models and
assert what the measurements show on two CPU cores at seed 0, with room in
the thresholds. Seeds 1 and 2 were measured too: at k = 100 the GRU recalled
every row (accuracy 1.0) and the SimpleRNN and the LSTM stayed at 0.108 to
0.127 (chance 0.125); at k = 25 the LSTM with forget bias 1 stayed at 0.121
and 0.134, and with bias 5 reached 0.868 and 1.0, so the "> 0.9" of the
forget-gate test holds at seed 0 (1.0) and not at every seed.
"""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from zoo import claims
from zoo.errors import ZooError
from zoo.text import FIRST_REAL_ID

# --- the copy task -------------------------------------------------------------


def test_copy_task_shapes_and_answer():
    x, y = claims.copy_task(7, n_examples=50, n_symbols=4, n_distractors=3, seed=1)
    assert x.shape == (50, 8) and y.shape == (50,)
    assert x.dtype == np.int32 and y.dtype == np.int32
    np.testing.assert_array_equal(x[:, 0], y)  # the answer is the first token
    symbols = range(FIRST_REAL_ID, FIRST_REAL_ID + 4)
    distractors = range(FIRST_REAL_ID + 4, FIRST_REAL_ID + 7)
    assert set(np.unique(y)) <= set(symbols)
    assert set(np.unique(x[:, 1:])) <= set(distractors)
    assert len(np.unique(y)) == 4  # every symbol occurs in 50 rows
    assert claims.copy_task_vocab_size(4, 3) == FIRST_REAL_ID + 7
    assert x.max() < claims.copy_task_vocab_size(4, 3)


def test_copy_task_is_seeded():
    a = claims.copy_task(5, n_examples=20, seed=3)
    b = claims.copy_task(5, n_examples=20, seed=3)
    c = claims.copy_task(5, n_examples=20, seed=4)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_copy_task_symbols_are_balanced():
    _, y = claims.copy_task(2, n_examples=8000, n_symbols=8, seed=0)
    counts = np.bincount(y - FIRST_REAL_ID, minlength=8)
    assert counts.min() > 800 and counts.max() < 1200  # about 1000 each


@pytest.mark.parametrize(
    "kwargs",
    [
        {"k": 0},
        {"k": 2.5},
        {"k": 3, "n_examples": 0},
        {"k": 3, "n_symbols": 1},
        {"k": 3, "n_distractors": 0},
        {"k": True},
    ],
)
def test_copy_task_bad_input(kwargs):
    with pytest.raises(ZooError):
        claims.copy_task(**kwargs)


# --- gradient norms ------------------------------------------------------------


def test_input_gradient_norms_shape_and_values():
    model = claims.build_family("gru", 20, embedding_dim=8, units=12)
    ids = np.random.default_rng(0).integers(FIRST_REAL_ID, 20, size=(3, 9))
    norms = claims.input_gradient_norms(model, ids)
    assert norms.shape == (9,) and norms.dtype == np.float64
    assert np.all(np.isfinite(norms)) and np.all(norms > 0)


def test_input_gradient_norms_match_finite_differences():
    """The norm at step t is the slope of the last step's loss along the
    gradient's own direction at t: checked by central differences."""
    import keras
    import tensorflow as tf

    model = claims.build_family("lstm", 20, embedding_dim=6, units=10, seed=3)
    ids = np.random.default_rng(1).integers(FIRST_REAL_ID, 20, size=(1, 6))
    target = np.array([7])
    norms = claims.input_gradient_norms(model, ids, target)
    vectors = model.get_layer("embedding")(ids).numpy()  # (1, T, E)

    def loss(v):
        y = tf.constant(v)
        for layer in model.layers[1:]:
            y = layer(y)
        return float(
            keras.losses.sparse_categorical_crossentropy(target, y, from_logits=True)[0]
        )

    eps = 1e-2
    for t in (0, 3, 5):
        with tf.GradientTape() as tape:
            v = tf.constant(vectors)
            tape.watch(v)
            y = v
            for layer in model.layers[1:]:
                y = layer(y)
            value = keras.losses.sparse_categorical_crossentropy(
                target, y, from_logits=True
            )
        direction = tape.gradient(value, v).numpy()[0, t]
        direction /= np.linalg.norm(direction)
        plus, minus = vectors.copy(), vectors.copy()
        plus[0, t] += eps * direction
        minus[0, t] -= eps * direction
        slope = (loss(plus) - loss(minus)) / (2 * eps)
        assert slope == pytest.approx(norms[t], rel=0.05), t


def test_sequence_and_last_outputs_give_the_same_norms():
    """output="sequence" is read at its last step: the same weights give the
    same gradient as output="last"."""
    ids = np.random.default_rng(2).integers(FIRST_REAL_ID, 16, size=(2, 7))
    last = claims.build_family("simple_rnn", 16, units=8, seed=5, output="last")
    sequence = claims.build_family("simple_rnn", 16, units=8, seed=5, output="sequence")
    sequence.set_weights(last.get_weights())
    np.testing.assert_allclose(
        claims.input_gradient_norms(last, ids),
        claims.input_gradient_norms(sequence, ids),
        rtol=1e-5,
    )


@pytest.mark.parametrize(
    "ids, targets, match",
    [
        (np.zeros(5, "int32"), None, "shape"),
        (np.zeros((2, 5), "float32"), None, "integer"),
        (np.full((2, 5), 99), None, "vocabulary"),
        (np.full((2, 5), -1), None, "vocabulary"),
        (np.full((2, 5), 6), np.array([6, 6, 6]), "targets"),
    ],
)
def test_input_gradient_norms_bad_input(ids, targets, match):
    model = claims.build_family("gru", 20, units=8)
    with pytest.raises(ZooError, match=match):
        claims.input_gradient_norms(model, ids, targets)


def test_input_gradient_norms_needs_an_embedding_layer():
    from zoo.models.rnn import build_gru

    model = build_gru(20, inputs="embeddings", embedding_dim=8, units=8, compile=False)
    with pytest.raises(ZooError, match="embedding"):
        claims.input_gradient_norms(model, np.full((1, 4), 6))


def test_fresh_models_gradients_run_against_the_claim():
    """At Keras's initialisation (T = 100) the SimpleRNN's gradient reaches the
    first step almost undiminished (orthogonal recurrent kernel, small
    inputs), while the LSTM's (forget gate sigmoid(1) = 0.73 per step) and the
    GRU's vanish by many orders of magnitude; opening the LSTM's forget gate
    (bias 5) lets its gradient through."""
    ratio = {}
    for label, family, bias in (
        ("simple_rnn", "simple_rnn", None),
        ("lstm", "lstm", None),
        ("gru", "gru", None),
        ("lstm_open", "lstm", 5.0),
    ):
        norms = claims.gradient_norms(family, seq_len=100, forget_bias=bias, seed=0)
        ratio[label] = norms[0] / norms[-1]
    assert ratio["simple_rnn"] > 1e-2, ratio
    assert ratio["lstm"] < 1e-5 and ratio["gru"] < 1e-5, ratio
    assert ratio["simple_rnn"] > 1e4 * max(ratio["lstm"], ratio["gru"]), ratio
    assert ratio["lstm_open"] > 1.0, ratio


def test_set_forget_bias():
    model = claims.build_family("lstm", 12, units=4, forget_bias=3.0)
    bias = model.get_layer("lstm_1").cell.bias.numpy()
    np.testing.assert_array_equal(bias[4:8], 3.0)  # gates i, f, c, o
    np.testing.assert_array_equal(bias[:4], 0.0)
    assert claims.set_forget_bias(model, 1.0) == 1
    with pytest.raises(ZooError, match="LSTM"):
        claims.set_forget_bias(claims.build_family("gru", 12, units=4), 1.0)
    with pytest.raises(ZooError, match="forget_bias"):
        claims.build_family("gru", 12, units=4, forget_bias=2.0)


def test_unknown_family():
    with pytest.raises(ZooError, match="family"):
        claims.build_family("transformer", 12)
    with pytest.raises(ZooError, match="family"):
        claims.long_memory_accuracy("rnn", 5)


def test_studies_refuse_bad_settings_before_training():
    with pytest.raises(ZooError, match="remedies"):
        claims.overfitting_study(remedies=("prayer",))
    with pytest.raises(ZooError, match="epochs"):
        claims.overfitting_study(epochs=0)
    with pytest.raises(ZooError, match="optimizers"):
        claims.optimizer_study(optimizers=("lbfgs",))
    with pytest.raises(ZooError, match="learning rate"):
        claims.optimizer_study(optimizers=("adamw",))
    with pytest.raises(ZooError, match="learning rates"):
        claims.optimizer_study(optimizers=("sgd",), learning_rates={"sgd": -1.0})


def test_best_per_optimizer():
    rows = [
        {"optimizer": "sgd", "learning_rate": 1.0, "final_val_loss": 3.0},
        {"optimizer": "sgd", "learning_rate": 10.0, "final_val_loss": 2.5},
        {"optimizer": "adam", "learning_rate": 0.01, "final_val_loss": 2.2},
    ]
    best = claims.best_per_optimizer(rows)
    assert best["sgd"]["learning_rate"] == 10.0
    assert best["adam"]["final_val_loss"] == 2.2


def test_plots_draw_into_an_axes():
    norms = {"a": np.array([1e-8, 1e-3, 1.0]), "b": np.array([0.0, 0.5, 1.0])}
    ax = claims.plot_gradient_norms(norms)
    assert ax.get_yscale() == "log" and len(ax.lines) == 2
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [2, 1, 0])  # steps back
    ax = claims.plot_long_memory(
        {"gru": {5: 1.0, 100: 0.9}, "simple_rnn": {5: 1.0, 100: 0.1}}, chance=0.125
    )
    assert len(ax.lines) == 3  # two models and chance
    history = {"loss": [3.0, 2.0, 1.0], "val_loss": [3.1, 2.5, 2.9]}
    rows = [{"remedy": "none", "history": history}, {"remedy": "x", "history": history}]
    assert len(claims.plot_overfitting(rows).lines) == 3  # + the training loss
    opt_rows = [{"optimizer": "adam", "learning_rate": 0.01, "history": history}]
    assert len(claims.plot_optimizers(opt_rows).lines) == 1


# --- slow: training -------------------------------------------------------------


@pytest.mark.slow
def test_docstring_examples():
    """The Examples in zoo.claims run and print what they show (one of them
    trains a GRU for 200 steps)."""
    import doctest

    result = doctest.testmod(claims, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 3
    assert result.failed == 0


LONG_K = 100  # the distance of the long-memory tests


@pytest.fixture(scope="module")
def long_runs():
    """Each family trained on copy_task(100), 800 steps, seed 0 (~5 s each)."""
    return {f: claims.train_on_copy_task(f, LONG_K, seed=0) for f in claims.FAMILIES}


@pytest.mark.slow
@pytest.mark.parametrize("family", claims.FAMILIES)
def test_short_memory_every_family_learns(family):
    assert claims.long_memory_accuracy(family, 5, steps=300) >= 0.95


@pytest.mark.slow
def test_long_memory_gru_learns_simple_rnn_does_not(long_runs):
    """At k = 100 the GRU recalls the symbol; the SimpleRNN stays near chance
    (1/8), and so does the LSTM with Keras's default forget bias."""
    accuracy = {f: run["accuracy"] for f, run in long_runs.items()}
    assert accuracy["gru"] > 0.8, accuracy
    assert accuracy["simple_rnn"] < 0.3, accuracy
    assert accuracy["lstm"] < 0.3, accuracy


@pytest.mark.slow
def test_trained_simple_rnn_gradient_vanishes(long_runs):
    """After training at k = 100, the SimpleRNN's gradient from the recall
    step to the symbol is many orders of magnitude below the GRU's."""
    x, y = claims.copy_task(LONG_K, n_examples=64, seed=5)
    ratio = {}
    for family in ("simple_rnn", "gru"):
        norms = claims.input_gradient_norms(long_runs[family]["model"], x, y)
        ratio[family] = norms[0] / norms[-1]
    assert ratio["simple_rnn"] < 1e-8, ratio
    assert ratio["gru"] > 1e6 * ratio["simple_rnn"], ratio


@pytest.mark.slow
def test_an_open_forget_gate_gives_the_lstm_its_memory():
    """At k = 25 the LSTM with Keras's forget bias (1) stays near chance in
    800 steps; with the gate opened (bias 5) it learns the task. Three seeds:
    one of them (seed 0) is still finishing at 800 steps (0.87 when last
    measured, the others 1.0), so the claim is the median's, with every seed
    far above the closed gate."""
    closed, opened = [], []
    for seed in (0, 1, 2):
        closed.append(claims.long_memory_accuracy("lstm", 25, seed=seed))
        opened.append(
            claims.long_memory_accuracy("lstm", 25, forget_bias=5.0, seed=seed)
        )
    assert max(closed) < 0.3, closed
    assert statistics.median(opened) > 0.9, opened
    assert min(opened) > 0.8, opened


@pytest.mark.slow
def test_overfitting_and_its_remedies():
    rows = claims.overfitting_study(
        units=128,
        epochs=14,
        steps_per_epoch=15,
        learning_rate=5e-3,
        remedies=("dropout", "weight_decay", "early_stopping"),
        valid_chars=10_000,
        test_chars=10_000,
    )
    by = {row["remedy"]: row for row in rows}
    plain = by["none"]
    val, loss = plain["history"]["val_loss"], plain["history"]["loss"]
    best = plain["best_epoch"] - 1
    # Overfitting: the held-out loss rises above its best...
    assert plain["final_val_loss"] > plain["best_val_loss"] + 0.1, val
    assert best < len(val) - 1, val
    # ...while the training loss keeps falling.
    assert loss[-1] < loss[best] - 0.3, loss
    assert plain["kept_train_loss"] < plain["kept_test_loss"] - 1.0, plain
    for remedy in ("dropout", "weight_decay", "early_stopping"):
        row = by[remedy]
        assert row["best_val_loss"] < plain["final_val_loss"] - 0.1, (remedy, row)
        # The weights each remedy keeps do better on the unseen test plays.
        assert row["kept_test_loss"] < plain["kept_test_loss"] - 0.05, (remedy, row)
    assert by["early_stopping"]["epochs_run"] < plain["epochs_run"]


@pytest.mark.slow
def test_adaptive_optimizers_beat_sgd_at_equal_budget():
    rows = claims.optimizer_study(
        learning_rates={"sgd": (1e-2, claims.LEARNING_RATES["sgd"])}
    )
    best = claims.best_per_optimizer(rows)
    final = {name: row["final_val_loss"] for name, row in best.items()}
    assert final["adam"] < final["sgd"] - 0.1, final
    assert final["rmsprop"] < final["sgd"] - 0.1, final
    # At Adam's step size SGD hardly moves: it needs one a thousand times larger.
    sgd_small = next(
        r for r in rows if r["optimizer"] == "sgd" and r["learning_rate"] == 1e-2
    )
    assert sgd_small["final_val_loss"] > final["sgd"] + 0.5, sgd_small
