"""Tests for zoo.training (loss, perplexity, optimizer, train, evaluate) and
zoo.data.pipeline (make_dataset)."""

from __future__ import annotations

import contextlib
import csv
import json
import math
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest
from helpers import VOCAB, bigram_model, subprocess_env, token_ids

import zoo
from zoo.data.pipeline import make_dataset
from zoo.errors import ZooError
from zoo.text import PAD_ID
from zoo.training import (
    Perplexity,
    compile_model,
    evaluate,
    make_loss,
    make_optimizer,
    make_schedule,
    train,
)

pytestmark = pytest.mark.usefixtures("keras_seed")


def _log_softmax(logits):
    logits = np.asarray(logits, "float64")
    top = logits.max(-1, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True))


def _token_nll(y, logits):
    """Per-token NLL in float64, by hand."""
    picked = np.take_along_axis(_log_softmax(logits), np.asarray(y)[..., None], -1)
    return -picked[..., 0]


def _epochs_seen():
    """A callback that records the epochs that fit actually runs."""

    class Seen(keras.callbacks.Callback):
        epochs: list[int] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.epochs.append(epoch)

    seen = Seen()
    seen.epochs = []
    return seen


def _periodic_ids(n=400, period=11):
    return (np.arange(n) % period + 5).astype("int32")


# --- loss and perplexity (docs/pitfalls.md #2, #3) -----------------------------


def test_perplexity_is_token_weighted_over_the_whole_set():
    rng = np.random.default_rng(0)
    # Batch A: 2 x 4 real tokens, predicted well (low NLL).
    y_a = rng.integers(5, VOCAB, size=(2, 4))
    logits_a = rng.normal(size=(2, 4, VOCAB)).astype("float32")
    np.put_along_axis(logits_a, y_a[..., None], 6.0, axis=-1)
    # Batch B: one real token (badly predicted), the rest padding.
    y_b = np.array([[7, PAD_ID, PAD_ID, PAD_ID], [PAD_ID] * 4])
    logits_b = rng.normal(size=(2, 4, VOCAB)).astype("float32")
    logits_b[0, 0, 7] = -6.0
    logits_b[:, 1:, :] = 50.0 * rng.normal(size=(2, 3, VOCAB))  # ignored anyway

    nll_a = _token_nll(y_a, logits_a)
    nll_b = _token_nll(y_b, logits_b)[y_b != PAD_ID]
    right = math.exp((nll_a.sum() + nll_b.sum()) / (nll_a.size + nll_b.size))
    mean_of_ppls = (math.exp(nll_a.mean()) + math.exp(nll_b.mean())) / 2
    exp_of_batch_means = math.exp((nll_a.mean() + nll_b.mean()) / 2)
    # The case separates the right answer from both usual mistakes.
    assert abs(mean_of_ppls - right) > 0.5 * right
    assert abs(exp_of_batch_means - right) > 0.5 * right

    metric = Perplexity()
    metric.update_state(y_a, logits_a)
    metric.update_state(y_b, logits_b)
    assert float(metric.result()) == pytest.approx(right, rel=1e-5)

    metric.reset_state()
    metric.update_state(y_b, logits_b)
    assert float(metric.result()) == pytest.approx(math.exp(nll_b.mean()), rel=1e-5)


def test_loss_is_the_mean_over_real_tokens_only():
    rng = np.random.default_rng(1)
    y = rng.integers(5, VOCAB, size=(3, 5))
    y[0, 3:] = PAD_ID
    y[2, 1:] = PAD_ID
    logits = rng.normal(size=(3, 5, VOCAB)).astype("float32")
    real = y != PAD_ID
    want = _token_nll(y, logits)[real].mean()

    loss = make_loss()
    assert float(loss(y, logits)) == pytest.approx(want, rel=1e-5)
    # Whatever the model says at padded positions does not count.
    noisy = logits.copy()
    noisy[~real] = 100.0 * rng.normal(size=(int((~real).sum()), VOCAB))
    assert float(loss(y, noisy)) == pytest.approx(want, rel=1e-5)


def test_compiled_model_uses_the_padding_aware_loss():
    model = bigram_model()
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    config = model.loss.get_config()
    assert config["from_logits"] is True and config["ignore_class"] == PAD_ID
    x = token_ids((2, 6), seed=4)
    y = token_ids((2, 6), seed=5)
    y[1, 2:] = PAD_ID
    scores = model.evaluate(x, y, batch_size=2, verbose=0, return_dict=True)
    want = _token_nll(y, np.asarray(model(x)))[y != PAD_ID].mean()
    assert scores["loss"] == pytest.approx(want, rel=1e-4)
    assert scores["perplexity"] == pytest.approx(math.exp(want), rel=1e-4)


# --- evaluate() ---------------------------------------------------------------------


def _windows(ids, seq_len):
    n = (len(ids) - 1) // seq_len
    x = np.stack([ids[i * seq_len : (i + 1) * seq_len] for i in range(n)])
    y = np.stack([ids[i * seq_len + 1 : (i + 1) * seq_len + 1] for i in range(n)])
    return x, y


def test_evaluate_scores_every_target_token_once():
    seq_len, batch = 6, 4
    ids = token_ids((1 + seq_len * 7,), seed=2)
    # 7 windows in batches of 4: the second batch carries one padded window.
    model = bigram_model()
    data = make_dataset(ids, seq_len=seq_len, batch_size=batch, training=False)
    result = evaluate(model, data)
    assert result["tokens"] == len(ids) - 1

    x, y = _windows(ids, seq_len)
    want = _token_nll(y, np.asarray(model(x))).mean()
    assert result["nll"] == pytest.approx(want, rel=1e-5)
    assert result["perplexity"] == pytest.approx(math.exp(want), rel=1e-5)


def test_evaluate_scores_the_ragged_tail_too():
    seq_len = 6
    ids = token_ids((1 + seq_len * 7 + 3,), seed=2)
    data = make_dataset(ids, seq_len=seq_len, batch_size=4, training=False)
    assert evaluate(bigram_model(), data)["tokens"] == len(ids) - 1


# --- make_dataset() -------------------------------------------------------------


def _batches(dataset):
    return [(np.asarray(x), np.asarray(y)) for x, y in dataset]


@pytest.mark.parametrize("mode", ["shifted", "next_token"])
@pytest.mark.parametrize("training", [True, False])
def test_make_dataset_shapes_and_windows(mode, training):
    ids = np.arange(5, 5 + 203, dtype="int32")  # unique ids: a window shows its start
    seq_len, batch = 7, 5
    batches = _batches(
        make_dataset(
            ids,
            seq_len=seq_len,
            batch_size=batch,
            mode=mode,
            training=training,
            stride=seq_len,
        )
    )
    assert batches
    # Past the end of the text there is only padding (PAD inputs and targets).
    padded = np.concatenate([ids, np.full(seq_len + 1, PAD_ID, "int32")])
    starts = []
    for x, y in batches:
        assert x.shape == (batch, seq_len) and x.dtype == np.int32
        assert y.shape == ((batch, seq_len) if mode == "shifted" else (batch,))
        for row_x, row_y in zip(x, y, strict=True):
            if row_x[0] == PAD_ID:
                assert (row_y == PAD_ID).all()
                continue
            start = row_x[0] - 5
            starts.append(start)
            np.testing.assert_array_equal(row_x, padded[start : start + seq_len])
            want_y = (
                padded[start + 1 : start + seq_len + 1]
                if mode == "shifted"
                else padded[start + seq_len]
            )
            assert (np.atleast_1d(want_y) != PAD_ID).any()  # a real target in it
            np.testing.assert_array_equal(row_y, want_y)
    n_windows = (len(ids) - seq_len - 1) // seq_len + 1
    if training:  # shuffled, ragged tail dropped
        assert len(starts) == n_windows // batch * batch
        assert starts != sorted(starts)
    else:  # in order, every full window once (and maybe a last ragged one)
        assert starts[:n_windows] == [i * seq_len for i in range(n_windows)]
        assert starts == [i * seq_len for i in range(len(starts))]
        assert len(starts) <= n_windows + 1


def test_eval_padding_targets_are_pad():
    ids = np.arange(5, 5 + 1 + 6 * 7, dtype="int32")  # 7 windows of 6
    batches = _batches(make_dataset(ids, seq_len=6, batch_size=4, training=False))
    assert len(batches) == 2
    x, y = batches[-1]
    assert (y[3] == PAD_ID).all() and (x[3] == PAD_ID).all()
    assert not (y[:3] == PAD_ID).any()


def test_shuffle_is_seeded():
    ids = _periodic_ids(300, period=97)

    def order(seed):
        ds = make_dataset(ids, seq_len=5, batch_size=4, seed=seed)
        return np.concatenate([x[:, 0] for x, _ in _batches(ds)])

    np.testing.assert_array_equal(order(3), order(3))
    assert not np.array_equal(order(3), order(4))


def test_too_short_text_names_the_lengths():
    ids = np.arange(5, 5 + 20, dtype="int32")
    with pytest.raises(ZooError, match=r"20 tokens.*seq_len=8.*batch_size=4.*33"):
        make_dataset(ids, seq_len=8, batch_size=4)
    with pytest.raises(ZooError, match="20 tokens"):
        make_dataset(ids, seq_len=25, batch_size=1, training=False)


@pytest.mark.parametrize(
    "kwargs", [{"mode": "bidirectional"}, {"seq_len": 0}, {"batch_size": 0}]
)
def test_make_dataset_rejects_bad_arguments(kwargs):
    with pytest.raises(ZooError):
        make_dataset(np.arange(5, 100), **{"seq_len": 4, "batch_size": 2, **kwargs})


# --- optimizer ---------------------------------------------------------------------


def test_gradients_are_clipped_by_their_global_norm():
    # docs/pitfalls.md #19: per-variable clipnorm would clip 3 and 4 to 1 each.
    model = compile_model(bigram_model(compile=False), global_clipnorm=0.5)
    assert model.optimizer.global_clipnorm == 0.5
    assert model.optimizer.clipnorm is None
    sgd = make_optimizer("sgd", learning_rate=1.0, global_clipnorm=1.0)
    a, b = keras.Variable([0.0]), keras.Variable([0.0])
    sgd.apply_gradients(
        [(np.array([3.0], "float32"), a), (np.array([4.0], "float32"), b)]
    )
    np.testing.assert_allclose([float(a[0]), float(b[0])], [-0.6, -0.8], rtol=1e-6)


@pytest.mark.parametrize("name", ["adam", "adamw", "rmsprop", "sgd"])
def test_global_norm_counts_a_repeated_token_once(name):
    """docs/pitfalls.md #26: a token seen twice has one gradient row, [3, 4]
    (norm 5), not two slices of norm 2.5 each (Keras's own sum: 12.5)."""
    import tensorflow as tf

    table = keras.Variable(np.zeros((3, 2), "float32"))
    slices = tf.IndexedSlices(
        values=tf.constant([[1.5, 2.0], [1.5, 2.0]]),
        indices=tf.constant([1, 1]),
        dense_shape=tf.constant([3, 2]),
    )
    clipped = make_optimizer(name, learning_rate=1.0, global_clipnorm=1.0)
    [got] = clipped._clip_gradients([slices])
    np.testing.assert_allclose(tf.convert_to_tensor(got)[1], [0.6, 0.8], rtol=1e-6)
    stock = keras.optimizers.SGD(learning_rate=1.0, global_clipnorm=1.0)
    [keras_own] = stock._clip_gradients([slices])
    assert not np.allclose(tf.convert_to_tensor(keras_own)[1], [0.6, 0.8])
    clipped.apply_gradients([(slices, table)])  # and it still trains
    assert np.abs(table.numpy()[1]).sum() > 0 and not table.numpy()[0].any()


def test_zoo_optimizers_save_and_load_with_the_model(tmp_path):
    model = compile_model(bigram_model(compile=False), optimizer="adamw")
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is type(model.optimizer)
    assert isinstance(loaded.optimizer, keras.optimizers.AdamW)


@pytest.mark.parametrize("kwargs", [{"name": "adagrad"}, {"learning_rate": 0.0}])
def test_make_optimizer_rejects_bad_settings(kwargs):
    with pytest.raises(ZooError):
        make_optimizer(**kwargs)


# --- train()


def _seeded_model(seed):
    keras.utils.set_random_seed(seed)
    return zoo.build_simple_rnn(VOCAB, embedding_dim=8, units=8)


def _seeded_run(seed):
    model = _seeded_model(seed)
    data = make_dataset(_periodic_ids(), seq_len=8, batch_size=4, seed=seed)
    return train(model, data, epochs=2, steps_per_epoch=3, verbose=0)["loss"]


def test_train_is_reproducible_with_a_seed():
    first, again = _seeded_run(11), _seeded_run(11)
    assert len(first) == 2 and all(math.isfinite(v) for v in first)
    assert first == again
    # The seed is what makes them equal: another seed starts elsewhere.
    weights_11 = _seeded_model(11).get_weights()
    weights_12 = _seeded_model(12).get_weights()
    assert any(
        not np.array_equal(a, b) for a, b in zip(weights_11, weights_12, strict=True)
    )


def test_train_refuses_an_uncompiled_model_and_zero_epochs():
    data = make_dataset(_periodic_ids(), seq_len=8, batch_size=4)
    with pytest.raises(ZooError, match="compile"):
        train(bigram_model(compile=False), data)
    with pytest.raises(ZooError, match="epochs"):
        train(bigram_model(), data, epochs=0)


def test_nan_loss_raises(tmp_path):
    model = bigram_model()
    logits = model.get_layer("logits")
    logits.kernel.assign(np.full(logits.kernel.shape, np.inf, "float32"))
    data = make_dataset(_periodic_ids(), seq_len=8, batch_size=4)
    with pytest.raises(ZooError, match="NaN"):
        train(model, data, epochs=3, steps_per_epoch=4, verbose=0)


def test_huge_learning_rate_raises_nan():
    model = bigram_model(
        optimizer="sgd", learning_rate=1e30, global_clipnorm=1e30, jit_compile=False
    )
    data = make_dataset(_periodic_ids(), seq_len=8, batch_size=4)
    with pytest.raises(ZooError, match="NaN"):
        train(model, data, epochs=5, steps_per_epoch=10, verbose=0)


def _machinery_model(**kwargs):
    """For tests of callbacks and files: no XLA compile, to save time (XLA's
    own step is checked by the model battery and test_xla.py)."""
    return bigram_model(jit_compile=False, **kwargs)


def test_a_callback_that_stops_training_is_not_a_nan():
    class StopAtSecondBatch(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    data = make_dataset(_periodic_ids(), seq_len=8, batch_size=4)
    history = train(
        _machinery_model(),
        data,
        epochs=3,
        steps_per_epoch=4,
        callbacks=[StopAtSecondBatch()],
        verbose=0,
    )
    assert len(history["loss"]) == 1
    assert math.isfinite(history["loss"][0])


def _valid(ids):
    return make_dataset(ids[:100], seq_len=8, batch_size=4, training=False)


def test_after_nan_the_last_good_checkpoint_is_kept(tmp_path):
    ids = _periodic_ids()

    class PoisonSecondEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                kernel = self.model.get_layer("logits").kernel
                kernel.assign(np.full(kernel.shape, np.inf, "float32"))

    data = make_dataset(ids, seq_len=8, batch_size=4)
    with pytest.raises(ZooError, match="NaN"):
        train(
            _machinery_model(),
            data,
            valid_ds=_valid(ids),
            epochs=3,
            steps_per_epoch=2,
            run_dir=tmp_path,
            callbacks=[PoisonSecondEpoch()],
            verbose=0,
        )

    class Check(keras.callbacks.Callback):
        first = None

        def on_epoch_begin(self, epoch, logs=None):
            if self.first is None:
                self.first = epoch
                weights = self.model.get_weights()
                self.finite = all(np.isfinite(w).all() for w in weights)

        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    check = Check()
    train(
        _machinery_model(),
        data,
        valid_ds=_valid(ids),
        epochs=3,
        steps_per_epoch=2,
        run_dir=tmp_path,
        callbacks=[check],
        verbose=0,
    )
    assert check.first == 1 and check.finite


def test_rerun_with_more_epochs_continues(tmp_path):
    ids = _periodic_ids()
    data = make_dataset(ids, seq_len=8, batch_size=4)
    first = _epochs_seen()
    history = train(
        _machinery_model(),
        data,
        valid_ds=_valid(ids),
        epochs=2,
        steps_per_epoch=3,
        run_dir=tmp_path,
        callbacks=[first],
        verbose=0,
    )
    assert first.epochs == [0, 1] and len(history["loss"]) == 2

    second = _epochs_seen()
    history = train(
        _machinery_model(),
        data,
        valid_ds=_valid(ids),
        epochs=4,
        steps_per_epoch=3,
        run_dir=tmp_path,
        callbacks=[second],
        verbose=0,
    )
    assert len(history["loss"]) == 4
    assert second.epochs == [2, 3]


def test_run_dir_without_validation_data(tmp_path):
    data = make_dataset(_periodic_ids(), seq_len=8, batch_size=4)
    history = train(
        _machinery_model(),
        data,
        epochs=2,
        steps_per_epoch=3,
        run_dir=tmp_path,
        verbose=0,
    )
    assert len(history["loss"]) == 2
    assert (tmp_path / "history.csv").is_file()


def test_run_dir_history_matches_the_csv(tmp_path):
    ids = _periodic_ids()
    data = make_dataset(ids, seq_len=8, batch_size=4)
    history = train(
        _machinery_model(learning_rate=0.05),
        data,
        valid_ds=_valid(ids),
        epochs=3,
        steps_per_epoch=4,
        run_dir=tmp_path,
        verbose=0,
    )
    with open(tmp_path / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert history["loss"] == [float(r["loss"]) for r in rows]
    assert len(history["val_perplexity"]) == 3
    assert history["loss"][-1] < history["loss"][0]  # it learns the period


# --- a real crash: kill -9, then resume

_KILL_SCRIPT = """
    import json
    import sys
    import time

    import keras
    import numpy as np

    from zoo.data.pipeline import make_dataset
    from zoo.training import compile_model, train

    run_dir, mode, report = sys.argv[1:4]
    keras.utils.set_random_seed(0)
    V = 24
    ids = (np.arange(3000) % 11 + 5).astype("int32")
    model = keras.Sequential([
        keras.Input((None,), dtype="int32"),
        keras.layers.Embedding(V, 8),
        keras.layers.Dense(V, name="logits"),
    ])
    compile_model(model, learning_rate=0.05)


    class Slow(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            time.sleep(0.3)


    class Probe(keras.callbacks.Callback):
        first = None

        def on_epoch_begin(self, epoch, logs=None):
            if self.first is None:
                self.first = epoch

        def on_epoch_end(self, epoch, logs=None):
            with open(report, "w") as f:
                json.dump({"first_epoch": self.first, "loss": logs["loss"]}, f)
            self.model.stop_training = True


    train(
        model,
        make_dataset(ids, seq_len=8, batch_size=4, seed=0),
        valid_ds=make_dataset(ids[:200], seq_len=8, batch_size=4, training=False),
        epochs=50,
        steps_per_epoch=5,
        run_dir=run_dir,
        callbacks=[Slow() if mode == "slow" else Probe()],
        verbose=0,
    )
"""


def _logged(history_csv):
    """(epoch, loss) rows of a CSVLogger file, tolerating a half-written line."""
    if not history_csv.is_file():
        return []
    rows = []
    with open(history_csv, newline="") as f:
        for row in csv.DictReader(f):
            with contextlib.suppress(TypeError, ValueError, KeyError):
                rows.append((int(row["epoch"]), float(row["loss"])))
    return rows


@pytest.mark.slow
def test_training_resumes_after_kill_9(tmp_path):
    run_dir, report = tmp_path / "run", tmp_path / "report.json"
    command = [sys.executable, "-c", textwrap.dedent(_KILL_SCRIPT), str(run_dir)]
    history_csv = run_dir / "history.csv"
    proc = subprocess.Popen(
        [*command, "slow", str(report)],
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while len(_logged(history_csv)) < 3:
            if proc.poll() is not None:
                pytest.fail(f"the training process ended early:\n{proc.stdout.read()}")
            if time.monotonic() > deadline:
                pytest.fail("no 3 epochs logged within 240 s")
            time.sleep(0.05)
    finally:
        proc.kill()  # SIGKILL: no cleanup, no on_train_end
        proc.wait(timeout=60)
        proc.stdout.close()
    assert proc.returncode == -9
    logged = _logged(history_csv)
    last_epoch, last_loss = logged[-1]
    fresh_first_loss = logged[0][1]
    assert logged[0][0] == 0 and last_epoch >= 2

    result = subprocess.run(
        [*command, "probe", str(report)],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    resumed = json.loads(report.read_text())
    # It resumed after the last checkpoint (taken just before the last log
    # line, or, if the kill fell between the two, one epoch later).
    assert resumed["first_epoch"] in (last_epoch + 1, last_epoch + 2)
    # ...with the trained weights: its loss is near the last logged loss, far
    # from a fresh start's.
    assert abs(resumed["loss"] - last_loss) < abs(resumed["loss"] - fresh_first_loss)
    assert resumed["loss"] < fresh_first_loss


# --- AdamW, schedules, early stopping ------------------------------------------


def test_adamw_decays_only_matrices_not_biases_norms_or_embeddings():
    """Decoupled weight decay: with zero gradients Adam moves nothing, so each
    decayed weight shrinks by exactly lr * wd, and the rest stays put."""
    model = zoo.build_gpt(
        20,
        context_length=8,
        embedding_dim=8,
        num_heads=2,
        num_layers=1,
        ff_dim=16,
        compile=False,
    )
    optimizer = make_optimizer(
        "adamw", learning_rate=0.1, weight_decay=0.5, model=model
    )
    before = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
    optimizer.apply_gradients(
        [(keras.ops.zeros_like(v), v) for v in model.trainable_variables]
    )
    decayed = set()
    for v, old in zip(model.trainable_variables, before, strict=True):
        if v.name in ("bias", "gamma", "beta", "embeddings"):
            np.testing.assert_array_equal(
                keras.ops.convert_to_numpy(v), old, err_msg=v.path
            )
        else:
            np.testing.assert_allclose(
                keras.ops.convert_to_numpy(v), old * (1 - 0.1 * 0.5), rtol=1e-6
            )
            decayed.add(v.name)
    assert decayed == {"kernel"}


def test_weight_decay_is_adamws_only():
    with pytest.raises(ZooError, match="adamw"):
        make_optimizer("adam", weight_decay=0.1)


def test_schedules_warm_up_then_decay():
    cosine = make_schedule(
        1e-3,
        schedule="cosine",
        total_steps=1000,
        warmup_steps=100,
        min_learning_rate=1e-4,
    )
    lr = [float(cosine(step)) for step in (0, 50, 100, 550, 1000)]
    np.testing.assert_allclose(lr, [0.0, 5e-4, 1e-3, 5.5e-4, 1e-4], rtol=1e-5)
    step = make_schedule(1.0, schedule="step", step_every=10)
    np.testing.assert_allclose(
        [float(step(s)) for s in (0, 9, 10, 25)], [1, 1, 0.5, 0.25]
    )
    warm = make_schedule(2e-3, warmup_steps=10)
    np.testing.assert_allclose(
        [float(warm(s)) for s in (0, 5, 10, 500)], [0, 1e-3, 2e-3, 2e-3], rtol=1e-6
    )
    assert make_schedule(2e-3) == 2e-3
    with pytest.raises(ZooError, match="total_steps"):
        make_schedule(1e-3, schedule="cosine", warmup_steps=10)


def test_step_schedule_can_start_late_as_zaremba_does():
    """Zaremba et al.: rate 1 for 4 epochs, then halved at every epoch."""
    steps = 10  # per epoch
    late = make_schedule(
        1.0, schedule="step", step_every=steps, first_step=4 * steps, total_steps=130
    )
    epochs = [float(late(epoch * steps)) for epoch in range(13)]
    np.testing.assert_allclose(epochs, [1, 1, 1, 1] + [0.5**k for k in range(1, 10)])
    assert float(late(4 * steps - 1)) == 1.0  # the last step of epoch 4
    with pytest.raises(ZooError, match="first_step"):
        make_schedule(1.0, schedule="step", step_every=10, first_step=0, total_steps=9)


def test_compile_model_trains_with_adamw_and_a_schedule():
    model = bigram_model(compile=False)
    schedule = make_schedule(1e-2, schedule="cosine", total_steps=20, warmup_steps=2)
    compile_model(model, optimizer="adamw", learning_rate=schedule, weight_decay=0.1)
    ids = token_ids((64,))
    ds = make_dataset(ids, seq_len=8, batch_size=4)
    history = train(model, ds, epochs=2, steps_per_epoch=5, verbose=0)
    assert history["loss"][-1] < history["loss"][0]
    assert int(model.optimizer.iterations) == 10


def test_early_stopping_stops_when_validation_stops_improving():
    """With a learning rate too small to move a float32 weight, the validation
    loss never improves: training stops after patience + 1 epochs."""
    model = bigram_model(compile=False)
    compile_model(model, optimizer="sgd", learning_rate=1e-30)
    ids = token_ids((64,))
    ds = make_dataset(ids, seq_len=8, batch_size=4)
    valid = make_dataset(ids, seq_len=8, batch_size=4, training=False)
    history = train(
        model,
        ds,
        valid_ds=valid,
        epochs=10,
        steps_per_epoch=2,
        early_stopping=2,
        verbose=0,
    )
    assert len(history["loss"]) == 3
    with pytest.raises(ZooError, match="valid_ds"):
        train(model, ds, epochs=1, early_stopping=1, verbose=0)
