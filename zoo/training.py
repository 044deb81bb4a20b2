"""The one place where loss, metrics, optimizer and XLA are decided.

* Models emit logits; the loss is sparse categorical cross-entropy with
  ``from_logits=True`` and padding ignored (PITFALLS #1, #2, #20).
* Perplexity is exp of the token-weighted mean NLL over the whole set, never a
  mean of per-batch perplexities (PITFALLS #3): see `Perplexity`.
* Gradients are clipped by their global norm (PITFALLS #19).
* ``jit_compile=True`` is set explicitly: Keras's "auto" means no XLA on a CPU
  (PITFALLS #13). `make_train_step` is the same step written out by hand under
  ``tf.function(jit_compile=True)`` for teaching.
* `train` checkpoints every epoch and resumes after a crash
  (`keras.callbacks.BackupAndRestore`), stops on NaN, and logs every epoch to a
  CSV file that survives the restart.
"""

from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path

import keras
import tensorflow as tf
from keras import ops

from zoo.errors import ZooError
from zoo.text import PAD_ID


def _token_nll(y_true, logits, pad_id):
    """Per-token NLL (in nats) and a 0/1 mask of the real (non-pad) tokens."""
    y_true = ops.cast(y_true, "int32")
    nll = keras.losses.sparse_categorical_crossentropy(
        y_true, ops.cast(logits, "float32"), from_logits=True
    )
    mask = ops.cast(ops.not_equal(y_true, pad_id), "float32")
    return nll * mask, mask


@keras.saving.register_keras_serializable(package="zoo")
class Perplexity(keras.metrics.Metric):
    """exp(total NLL / number of real tokens), accumulated over the whole set.

    Args:
        pad_id: target id that is not a token (padding); not counted.
        name: metric name shown by `fit` ("perplexity", "val_perplexity").

    Example:
        >>> m = Perplexity()
        >>> m.update_state([[5, 6, 0]], np.zeros((1, 3, 10), "float32"))
        >>> round(float(m.result()), 4)  # uniform over 10 ids
        10.0
    """

    def __init__(self, *, pad_id: int = PAD_ID, name: str = "perplexity", **kwargs):
        super().__init__(name=name, **kwargs)
        self.pad_id = pad_id
        self.total_nll = self.add_variable((), initializer="zeros", name="total_nll")
        self.count = self.add_variable((), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        nll, mask = _token_nll(y_true, y_pred, self.pad_id)
        self.total_nll.assign_add(ops.sum(nll))
        self.count.assign_add(ops.sum(mask))

    def result(self):
        return ops.exp(self.total_nll / ops.maximum(self.count, 1.0))

    def get_config(self):
        return {**super().get_config(), "pad_id": self.pad_id}


@keras.saving.register_keras_serializable(package="zoo")
class MaskedAccuracy(keras.metrics.Metric):
    """Next-token accuracy over real tokens only (padding not counted)."""

    def __init__(self, *, pad_id: int = PAD_ID, name: str = "accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.pad_id = pad_id
        self.correct = self.add_variable((), initializer="zeros", name="correct")
        self.count = self.add_variable((), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        mask = ops.cast(ops.not_equal(y_true, self.pad_id), "float32")
        hit = ops.cast(ops.equal(ops.argmax(y_pred, axis=-1), y_true), "float32")
        self.correct.assign_add(ops.sum(hit * mask))
        self.count.assign_add(ops.sum(mask))

    def result(self):
        return self.correct / ops.maximum(self.count, 1.0)

    def get_config(self):
        return {**super().get_config(), "pad_id": self.pad_id}


def make_loss(pad_id: int = PAD_ID) -> keras.losses.Loss:
    """Cross-entropy on logits, mean over real (non-pad) tokens."""
    return keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, ignore_class=pad_id, name="loss"
    )


def make_optimizer(
    name: str = "adam", *, learning_rate: float = 2e-3, global_clipnorm: float = 1.0
) -> keras.optimizers.Optimizer:
    """An optimizer by name, with gradients clipped by their global norm."""
    optimizers = {
        "adam": keras.optimizers.Adam,
        "rmsprop": keras.optimizers.RMSprop,
        "sgd": keras.optimizers.SGD,
    }
    if name not in optimizers:
        raise ZooError(f"optimizer must be one of {sorted(optimizers)}, got {name!r}")
    if learning_rate <= 0:
        raise ZooError(f"learning_rate must be > 0, got {learning_rate}")
    return optimizers[name](
        learning_rate=learning_rate, global_clipnorm=global_clipnorm
    )


def check_emits_logits(model: keras.Model) -> None:
    """Raise if the model's last layer applies softmax (PITFALLS #1).

    zoo's loss takes logits (``from_logits=True``); a softmax output would be
    soft-maxed twice and train badly without any error.
    """
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    if isinstance(last, keras.layers.Softmax) or (
        activation is not None and getattr(activation, "__name__", "") == "softmax"
    ):
        raise ZooError(
            f"model {model.name!r} ends in a softmax ({last.name!r}), but zoo's loss "
            "expects logits (from_logits=True). Build the output layer without "
            "activation='softmax'; apply softmax only when you want probabilities."
        )


def compile_model(
    model: keras.Model,
    *,
    optimizer: str = "adam",
    learning_rate: float = 2e-3,
    global_clipnorm: float = 1.0,
    pad_id: int = PAD_ID,
    jit_compile: bool = True,
    steps_per_execution: int = 1,
) -> keras.Model:
    """Compile a zoo language model: logits loss, perplexity, XLA.

    Args:
        model: a model that outputs logits over the vocabulary.
        optimizer: "adam", "rmsprop" or "sgd".
        learning_rate: step size.
        global_clipnorm: clip the gradients' global norm to this.
        pad_id: target id ignored by the loss and metrics.
        jit_compile: compile the train/eval steps with XLA. Set explicitly,
            because Keras's default "auto" is False on a CPU.
        steps_per_execution: batches per compiled call (fewer Python round trips).

    Returns:
        The same model, compiled.

    Example:
        >>> model = compile_model(build_lstm(65, compile=False))
        >>> model.jit_compile
        True
    """
    check_emits_logits(model)
    model.compile(
        optimizer=make_optimizer(
            optimizer, learning_rate=learning_rate, global_clipnorm=global_clipnorm
        ),
        loss=make_loss(pad_id),
        metrics=[Perplexity(pad_id=pad_id), MaskedAccuracy(pad_id=pad_id)],
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    if jit_compile and not model.jit_compile:
        # Keras quietly turns XLA off for layers it thinks cannot compile.
        raise ZooError(
            f"Keras turned XLA off for model {model.name!r}; a layer in it does not "
            "support jit_compile. Use jit_compile=False, or replace that layer."
        )
    return model


def make_train_step(model: keras.Model, optimizer=None, loss_fn=None, *, pad_id=PAD_ID):
    """One training step written out, compiled with XLA (for teaching).

    This is what ``model.fit`` does per batch: forward pass, loss, gradients,
    update. Under ``tf.function(jit_compile=True)`` the whole step becomes one
    XLA program; an op XLA cannot compile raises an error rather than
    silently running without XLA.

    Args:
        model: a built model that emits logits.
        optimizer: defaults to `make_optimizer()`.
        loss_fn: defaults to `make_loss(pad_id)`.
        pad_id: target id ignored by the loss.

    Returns:
        ``step(x, y) -> loss``, a `tf.function` with ``jit_compile=True``.

    Example:
        >>> step = make_train_step(model)
        >>> loss = step(x, y)  # first call compiles; later calls reuse it
    """
    check_emits_logits(model)
    optimizer = optimizer or make_optimizer()
    loss_fn = loss_fn or make_loss(pad_id)
    optimizer.build(model.trainable_variables)

    @tf.function(jit_compile=True, reduce_retracing=True)
    def step(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)  # (B, T, V) or (B, V)
            loss = loss_fn(y, logits)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    return step


class _EpochTimer(keras.callbacks.Callback):
    """Adds ``epoch_seconds`` (wall time of the epoch, validation included) to
    the epoch's logs, so the history and the CSV log carry it."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


class _StopOnNaN(keras.callbacks.Callback):
    """Stops training when the loss becomes NaN or infinite, and remembers
    where, for a clear message. (A stop asked for by another callback is not
    a NaN.)"""

    stopped_at = None

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.stopped_at = batch
            self.model.stop_training = True


class _Backup(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` that keeps its checkpoint when training ends (a rerun
    with more epochs continues) and never saves an epoch that ended in NaN (the
    last good checkpoint stays)."""

    def __init__(self, backup_dir, nan_guard: _StopOnNaN):
        super().__init__(backup_dir, delete_checkpoint=False)
        self._nan_guard = nan_guard

    def on_epoch_end(self, epoch, logs=None):
        if self._nan_guard.stopped_at is None:
            super().on_epoch_end(epoch, logs)


def train(
    model: keras.Model,
    train_ds: tf.data.Dataset,
    *,
    valid_ds: tf.data.Dataset | None = None,
    epochs: int = 1,
    steps_per_epoch: int | None = None,
    run_dir: str | os.PathLike | None = None,
    callbacks=(),
    verbose="auto",
) -> dict[str, list[float]]:
    """Fit a compiled model; checkpoint, resume, and stop on NaN.

    Args:
        model: compiled with `compile_model`.
        train_ds: batches of (inputs, targets); repeated when `steps_per_epoch`
            is given, so an epoch is exactly that many batches.
        valid_ds: held-out batches, scored in full after every epoch.
        epochs: total epochs, counting those done before a resume.
        steps_per_epoch: batches per epoch (default: one pass over `train_ds`).
        run_dir: if given, `run_dir/backup` holds the per-epoch checkpoint (a
            rerun with the same run_dir resumes from it: after a crash, or
            with more `epochs` to go on training) and `run_dir/history.csv`
            the per-epoch log.
        callbacks: more Keras callbacks.
        verbose: passed to `fit` (the progress bar by default).

    Returns:
        The full history (all epochs, resumed ones included), metric -> list.

    Raises:
        ZooError: if the loss became NaN or infinite.
    """
    if not model.compiled:
        raise ZooError("compile the model first, e.g. with zoo.training.compile_model")
    if epochs < 1:
        raise ZooError(f"epochs must be >= 1, got {epochs}")
    nan_guard = _StopOnNaN()
    cbs = [nan_guard, _EpochTimer(), *callbacks]
    if run_dir is not None:
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        if not (run_dir / "backup").exists():
            # A fresh run (no checkpoint to resume): start a fresh log too.
            (run_dir / "history.csv").unlink(missing_ok=True)
        cbs += [
            _Backup(str(run_dir / "backup"), nan_guard),
            keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True),
        ]
    if steps_per_epoch is not None:
        train_ds = train_ds.repeat()
    history = model.fit(
        train_ds,
        validation_data=valid_ds,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        callbacks=cbs,
        verbose=verbose,
        shuffle=False,  # the dataset shuffles itself, seeded
    )
    if nan_guard.stopped_at is not None:
        raise ZooError(
            f"training stopped: the loss became NaN or infinite at batch "
            f"{nan_guard.stopped_at} of epoch {len(history.epoch)}. Lower the "
            "learning rate or check the data; the last good checkpoint is kept."
        )
    if run_dir is not None:
        return read_history(run_dir / "history.csv")
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


def read_history(path: str | os.PathLike) -> dict[str, list[float]]:
    """Read a `CSVLogger` file back: metric -> per-epoch values, by epoch.

    After a resume the file may repeat an epoch that was logged and then lost
    with the crash; the later line wins.
    """
    rows: dict[int, dict[str, str]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row.get("epoch", "epoch") != "epoch":
                rows[int(row["epoch"])] = row
    keys = [k for k in next(iter(rows.values()), {}) if k != "epoch"]
    history = {k: [_number(rows[e][k]) for e in sorted(rows)] for k in keys}
    # CSVLogger writes "NA" for a metric an epoch did not have (val_* without
    # validation data): a column with no value at all is dropped.
    return {k: v for k, v in history.items() if not all(map(math.isnan, v))}


def _number(text: str) -> float:
    return math.nan if text in ("", "NA") else float(text)


def evaluate(model: keras.Model, dataset: tf.data.Dataset, *, pad_id=PAD_ID) -> dict:
    """Score a whole dataset: token-weighted NLL, perplexity and token count.

    Runs the model batch by batch (compiled once) and sums NLL over every real
    token before taking exp, so the result does not depend on batching.
    """

    @tf.function(jit_compile=True, reduce_retracing=True)
    def batch_nll(x, y):
        nll, mask = _token_nll(y, model(x, training=False), pad_id)
        return ops.sum(nll), ops.sum(mask)

    total, count = 0.0, 0.0
    for x, y in dataset:
        n, c = batch_nll(x, y)
        total, count = total + float(n), count + float(c)
    if count == 0:
        raise ZooError("the evaluation data has no real (non-padding) tokens")
    mean = total / count
    return {"nll": mean, "perplexity": math.exp(mean), "tokens": int(count)}
