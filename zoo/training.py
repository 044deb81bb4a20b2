"""The one place where loss, metrics, optimizer and XLA are decided.

* Models emit logits; the loss is sparse categorical cross-entropy with
  ``from_logits=True`` and padding ignored (docs/pitfalls.md #1, #2, #20).
* Perplexity is exp of the token-weighted mean NLL over the whole set, never a
  mean of per-batch perplexities (docs/pitfalls.md #3): see `Perplexity`.
* Gradients are clipped by their global norm (docs/pitfalls.md #19).
* ``jit_compile=True`` is set explicitly: Keras's "auto" means no XLA on a CPU
  (docs/pitfalls.md #13). `make_train_step` is the same step written out by hand under
  ``tf.function(jit_compile=True)`` for teaching.
* `train` checkpoints every epoch and resumes after a crash
  (`keras.callbacks.BackupAndRestore`), stops on NaN, and logs every epoch to a
  CSV file that survives the restart.
* Several devices and 16-bit arithmetic are set up in `zoo.distribute`
  (`make_strategy`, `precision`); a model built there trains with `train` as
  usual, and `compile_model` turns XLA off under a strategy, with a warning.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import time
import warnings
from pathlib import Path

import keras
import tensorflow as tf
from keras import ops

from zoo.distribute import (
    computes_in,
    computes_in_float16,
    model_strategy,
    prepare_fit,
    strategy_name,
)
from zoo.errors import ZooError, ZooWarning
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


@keras.saving.register_keras_serializable(package="zoo")
class TokenCrossEntropy(keras.losses.SparseCategoricalCrossentropy):
    """Cross-entropy on logits: the mean over the real tokens of the batch.

    On one device this is ``SparseCategoricalCrossentropy(from_logits=True,
    ignore_class=pad_id)``. Under a `tf.distribute` strategy Keras would
    average each replica's own mean, so a replica whose share of the batch
    is padding (the end of a validation set) would count as a loss of 0, and
    one with few real tokens as much as one with many. This loss divides by
    the real tokens of all the replicas together instead: losses and
    gradients are those of one device on the same batch.

    Computed in float32 whatever the model's precision: 16-bit logits are
    cast before the softmax (see `precision`).

    Args:
        ignore_class: target id that is not a token (padding).
        from_logits: always True for zoo's models (they emit logits).
        name: shown by `fit` as "loss".
        dtype: the dtype it computes in.
        **kwargs: the rest of ``SparseCategoricalCrossentropy``'s arguments.

    Example:
        >>> loss = TokenCrossEntropy()  # what `make_loss()` returns
        >>> float(loss(np.array([[5, 0]]), np.zeros((1, 2, 10), "float32")))  # log 10
        2.302585...
    """

    def __init__(
        self,
        ignore_class: int = PAD_ID,
        from_logits: bool = True,
        name: str = "loss",
        dtype: str = "float32",
        **kwargs,
    ):
        super().__init__(
            from_logits=from_logits,
            ignore_class=ignore_class,
            name=name,
            dtype=dtype,
            **kwargs,
        )

    def __call__(self, y_true, y_pred, sample_weight=None):
        loss = super().__call__(y_true, y_pred, sample_weight)  # this replica's
        replica = tf.distribute.get_replica_context()
        if sample_weight is not None or replica is None:
            return loss
        n = replica.num_replicas_in_sync
        if n == 1:
            return loss
        real = ops.not_equal(ops.cast(y_true, "int32"), self.ignore_class)
        count = ops.sum(ops.cast(real, "float32"))  # this replica's real tokens
        total = replica.all_reduce("SUM", tf.stop_gradient(count))
        # Keras divides by n and sums the replicas' gradients: n * (sum of this
        # replica's NLL) / (all real tokens) adds up to the global mean.
        return loss * count * n / ops.maximum(total, 1.0)


def make_loss(pad_id: int = PAD_ID) -> keras.losses.Loss:
    """Cross-entropy on logits, mean over real (non-pad) tokens, in float32."""
    return TokenCrossEntropy(ignore_class=pad_id)


# Optimizers `make_optimizer` (and `compile_model`) accept, and the learning
# rate schedules of `make_schedule`.
OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")
SCHEDULES = ("constant", "cosine", "step")
# Variables AdamW never decays: biases, normalisation scales and offsets, and
# embedding tables (by their Keras variable names).
NO_WEIGHT_DECAY = ("bias", "gamma", "beta", "embeddings")


def make_schedule(
    learning_rate: float,
    *,
    schedule: str = "constant",
    total_steps: int | None = None,
    warmup_steps: int = 0,
    min_learning_rate: float = 0.0,
    step_every: int | None = None,
    step_factor: float = 0.5,
    first_step: int | None = None,
):
    """A learning rate, or a Keras schedule of one, by name.

    Args:
        learning_rate: the peak rate (after warm-up).
        schedule: "constant"; "cosine": cosine decay to `min_learning_rate`
            at `total_steps` (`keras.optimizers.schedules.CosineDecay`);
            "step": multiplied by `step_factor` every `step_every` steps
            (`ExponentialDecay` with ``staircase=True``; Zaremba et al. halve
            the rate every epoch).
        total_steps: the steps of the whole run (cosine).
        warmup_steps: linear warm-up from 0 over this many steps first
            (constant and cosine).
        min_learning_rate: where the cosine ends.
        step_every: steps between two step decays.
        step_factor: the step decay's factor, in (0, 1].
        first_step: the step of the first decay (default `step_every`); for
            Zaremba et al.'s "halve every epoch after the 4th", 4 epochs of
            steps (`PiecewiseConstantDecay`, to `total_steps`).

    Returns:
        A float (constant without warm-up) or a
        `keras.optimizers.schedules.LearningRateSchedule`.

    Example:
        >>> lr = make_schedule(1e-3, schedule="cosine", total_steps=2000,
        ...                    warmup_steps=100, min_learning_rate=1e-4)
    """
    if schedule not in SCHEDULES:
        raise ZooError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if learning_rate <= 0:
        raise ZooError(f"learning_rate must be > 0, got {learning_rate}")
    if warmup_steps < 0:
        raise ZooError(f"warmup_steps must be >= 0, got {warmup_steps}")
    schedules = keras.optimizers.schedules
    if schedule == "step":
        if not step_every or step_every < 1 or not 0 < step_factor <= 1:
            raise ZooError(
                "a step schedule needs step_every >= 1 and step_factor in (0, 1], "
                f"got {step_every!r} and {step_factor!r}"
            )
        if warmup_steps:
            raise ZooError("the step schedule has no warm-up; use cosine")
        if first_step is None or first_step == step_every:
            return schedules.ExponentialDecay(
                learning_rate, step_every, step_factor, staircase=True
            )
        if first_step < 1 or not total_steps:
            raise ZooError(
                "a step schedule with a first_step needs first_step >= 1 and "
                f"total_steps, got {first_step!r} and {total_steps!r}"
            )
        # The optimizer counts steps from 0: step `first_step` is the first
        # one at the lower rate, so each boundary is the step before.
        firsts = range(first_step, max(total_steps, first_step + 1), step_every)
        return schedules.PiecewiseConstantDecay(
            [b - 1 for b in firsts],
            [learning_rate * step_factor**k for k in range(len(firsts) + 1)],
        )
    if schedule == "constant":
        if not warmup_steps:
            return float(learning_rate)
        # A cosine that ends where it starts: warm-up, then constant.
        return schedules.CosineDecay(
            0.0, 1, alpha=1.0, warmup_target=learning_rate, warmup_steps=warmup_steps
        )
    if not total_steps or total_steps <= warmup_steps:
        raise ZooError(
            f"a cosine schedule needs total_steps > warmup_steps ({warmup_steps}), "
            f"got {total_steps!r}"
        )
    if not 0 <= min_learning_rate <= learning_rate:
        raise ZooError(
            f"min_learning_rate must be in [0, {learning_rate}], got "
            f"{min_learning_rate}"
        )
    alpha = min_learning_rate / learning_rate
    if not warmup_steps:
        return schedules.CosineDecay(learning_rate, total_steps, alpha=alpha)
    return schedules.CosineDecay(
        0.0,
        total_steps - warmup_steps,
        alpha=alpha,
        warmup_target=learning_rate,
        warmup_steps=warmup_steps,
    )


def _dense(gradient):
    """An embedding's gradient as one dense tensor: repeated ids summed."""
    if isinstance(gradient, tf.IndexedSlices):
        return tf.convert_to_tensor(gradient)
    return gradient


class _TrueGlobalNorm:
    """Clip by the global norm of the gradients as they are.

    An embedding's gradient arrives as `tf.IndexedSlices`, one slice per
    token of the batch; Keras's `global_clipnorm` squares and sums those
    slices as they come, so a token seen k times adds k squared slices where
    its gradient row (their sum) adds one: the norm is wrong whenever a batch
    repeats a token, which is always (docs/pitfalls.md #26). The slices are
    summed into the dense gradient first, as PyTorch's `clip_grad_norm_` sees
    it and as the papers' "clipped at norm 5" means.
    """

    def _clip_gradients(self, grads):
        if self.global_clipnorm:
            grads = [None if g is None else _dense(g) for g in grads]
        return super()._clip_gradients(grads)


@keras.saving.register_keras_serializable(package="zoo")
class Adam(_TrueGlobalNorm, keras.optimizers.Adam):
    """`keras.optimizers.Adam`, its global-norm clipping on whole gradients."""


@keras.saving.register_keras_serializable(package="zoo")
class AdamW(_TrueGlobalNorm, keras.optimizers.AdamW):
    """`keras.optimizers.AdamW`, its global-norm clipping on whole gradients."""


@keras.saving.register_keras_serializable(package="zoo")
class RMSprop(_TrueGlobalNorm, keras.optimizers.RMSprop):
    """`keras.optimizers.RMSprop`, its global-norm clipping on whole gradients."""


@keras.saving.register_keras_serializable(package="zoo")
class SGD(_TrueGlobalNorm, keras.optimizers.SGD):
    """`keras.optimizers.SGD`, its global-norm clipping on whole gradients."""


def make_optimizer(
    name: str = "adam",
    *,
    learning_rate=2e-3,
    global_clipnorm: float = 1.0,
    weight_decay: float = 0.0,
    beta_2: float = 0.999,
    model: keras.Model | None = None,
) -> keras.optimizers.Optimizer:
    """An optimizer by name, with gradients clipped by their global norm.

    Args:
        name: "adam", "adamw" (decoupled weight decay, Loshchilov & Hutter
            2019), "rmsprop" or "sgd".
        learning_rate: a float or a schedule (`make_schedule`).
        global_clipnorm: clip the gradients' global norm to this (the norm of
            the whole gradients: an embedding's counted once per row, not
            once per token, docs/pitfalls.md #26).
        weight_decay: AdamW's decoupled decay rate (0 for the others).
        beta_2: Adam's and AdamW's second-moment decay (nanoGPT uses 0.99).
        model: AdamW only: its biases, norms and embeddings
            (`NO_WEIGHT_DECAY`) are excluded from the decay.
    """
    optimizers = {"adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "sgd": SGD}
    if name not in optimizers:
        raise ZooError(f"optimizer must be one of {sorted(optimizers)}, got {name!r}")
    if isinstance(learning_rate, (int, float)) and learning_rate <= 0:
        raise ZooError(f"learning_rate must be > 0, got {learning_rate}")
    if weight_decay < 0:
        raise ZooError(f"weight_decay must be >= 0, got {weight_decay}")
    if weight_decay and name != "adamw":
        raise ZooError(
            f"weight_decay is AdamW's (decoupled); {name} would add it to the "
            "gradient instead. Use optimizer='adamw'"
        )
    kwargs = {"learning_rate": learning_rate, "global_clipnorm": global_clipnorm}
    if name in ("adam", "adamw"):
        kwargs["beta_2"] = beta_2
    if name == "adamw":
        kwargs["weight_decay"] = weight_decay
    optimizer = optimizers[name](**kwargs)
    if name == "adamw" and model is not None:
        optimizer.exclude_from_weight_decay(
            var_list=[
                v
                for v in model.trainable_variables
                if v.name in NO_WEIGHT_DECAY or len(v.shape) < 2
            ]
        )
    return optimizer


def cpu_bfloat16_units() -> str | None:
    """The bfloat16 instructions of this machine's CPU that TensorFlow's own
    (oneDNN) kernels use: "amx_bf16" (AMX tiles), else "avx512_bf16", else
    None (Linux: the flags of /proc/cpuinfo; elsewhere None)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split())
                    break
            else:
                return None
    except OSError:
        return None
    for units in ("amx_bf16", "avx512_bf16"):
        if units in flags:
            return units
    return None


def bfloat16_jit_default() -> bool:
    """Whether `compile_model` turns XLA on, by default, for a model that
    computes in bfloat16 on this machine.

    On a GPU, yes. On a CPU with bfloat16 instructions (AMX, or AVX-512's
    bf16), no: TensorFlow's own oneDNN kernels run bfloat16 matmuls with
    them, and XLA's CPU compiler does not (``benchmarks/speed.py bf16``
    measures both paths side by side). On other CPUs neither path has
    bfloat16 hardware and XLA stays on, as for float32.
    """
    if tf.config.list_physical_devices("GPU"):
        return True
    return cpu_bfloat16_units() is None


def _resolve_jit_compile(model: keras.Model, jit_compile, strategy) -> bool:
    """XLA unless the model is distributed (under a strategy it cannot run)
    or computes in bfloat16 on a CPU with bfloat16 instructions
    (`bfloat16_jit_default`)."""
    if strategy is None and jit_compile is None and computes_in(model, "bfloat16"):
        if not bfloat16_jit_default():
            warnings.warn(
                f"XLA is off for model {model.name!r}: it computes in bfloat16 on "
                f"a CPU with {cpu_bfloat16_units()}, whose bfloat16 instructions "
                "TensorFlow's own kernels use and XLA's do not. Pass "
                "jit_compile=True or False to choose and silence this.",
                ZooWarning,
                stacklevel=3,
            )
            return False
        return True
    if strategy is None:
        return True if jit_compile is None else bool(jit_compile)
    if jit_compile:
        raise ZooError(
            f"model {model.name!r} was built under {strategy_name(strategy)}, and "
            "XLA cannot compile a distributed training step (the replicas' "
            "weights live on different devices, and XLA on a CPU has no "
            "collective ops). Use jit_compile=False (or leave it unset)."
        )
    if jit_compile is None:
        warnings.warn(
            f"XLA is off for model {model.name!r}: it was built under "
            f"{strategy_name(strategy)}, and XLA cannot compile a distributed "
            "training step. Pass jit_compile=False to say so and silence this.",
            ZooWarning,
            stacklevel=3,
        )
    return False


def check_emits_logits(model: keras.Model) -> None:
    """Raise if the model's last layer applies softmax (docs/pitfalls.md #1).

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
    learning_rate=2e-3,
    global_clipnorm: float = 1.0,
    weight_decay: float = 0.0,
    beta_2: float = 0.999,
    pad_id: int = PAD_ID,
    jit_compile: bool | None = None,
    steps_per_execution: int = 1,
) -> keras.Model:
    """Compile a zoo language model: logits loss, perplexity, XLA.

    Args:
        model: a model that outputs logits over the vocabulary.
        optimizer: "adam", "adamw", "rmsprop" or "sgd" (`make_optimizer`).
        learning_rate: step size: a float, or a schedule from `make_schedule`
            (warm-up, cosine or step decay).
        weight_decay: AdamW's decoupled weight decay; biases, norms and
            embeddings are not decayed.
        beta_2: Adam's and AdamW's second-moment decay.
        global_clipnorm: clip the gradients' global norm to this.
        pad_id: target id ignored by the loss and metrics.
        jit_compile: compile the train/eval steps with XLA. The default (None)
            means XLA on, set explicitly because Keras's own default "auto" is
            False on a CPU; except for a model built under a `tf.distribute`
            strategy, where XLA cannot compile the step: it is then off, with a
            `ZooWarning` saying so (``jit_compile=True`` raises a `ZooError`);
            and for a bfloat16 model on a CPU with bfloat16 instructions (AMX
            or AVX-512 bf16), where TensorFlow's own kernels are the faster
            path: off, with a `ZooWarning` (`bfloat16_jit_default`).
        steps_per_execution: batches per compiled call (fewer Python round trips).

    Returns:
        The same model, compiled. A model built under a strategy is compiled
        in that strategy's scope (the optimizer's and metrics' variables are
        mirrored too), wherever this is called. A model that computes in
        float16 (see `precision`) gets a `keras.optimizers.LossScaleOptimizer`.

    Raises:
        ZooError: if the model ends in a softmax, if XLA is asked for under a
            strategy, or if Keras turned XLA off.

    Example:
        >>> model = compile_model(build_lstm(65, compile=False))
        >>> model.jit_compile
        True
    """
    check_emits_logits(model)
    strategy = model_strategy(model)
    jit_compile = _resolve_jit_compile(model, jit_compile, strategy)
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    with scope:
        step_rule = make_optimizer(
            optimizer,
            learning_rate=learning_rate,
            global_clipnorm=global_clipnorm,
            weight_decay=weight_decay,
            beta_2=beta_2,
            model=model,
        )
        if computes_in_float16(model):
            # float16 gradients underflow; the scale adapts (bfloat16 needs none).
            step_rule = keras.optimizers.LossScaleOptimizer(step_rule)
        model.compile(
            optimizer=step_rule,
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
    if strategy is not None:
        prepare_fit(model, strategy)
    return model


def make_train_step(model: keras.Model, optimizer=None, loss_fn=None, *, pad_id=PAD_ID):
    """One training step written out, compiled with XLA (for teaching).

    This is what ``model.fit`` does per batch: forward pass, loss, gradients,
    update. Under ``tf.function(jit_compile=True)`` the whole step becomes one
    XLA program; an op XLA cannot compile raises an error rather than
    silently running without XLA. It runs on one device: for a model built
    under a `tf.distribute` strategy use `train`.

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


def reset_states(model: keras.Model) -> int:
    """Zero the carried state of every stateful recurrent layer of `model`.

    Returns:
        How many layers were reset (0 for a model that carries no state).
    """
    layers = [layer for layer in model.layers if getattr(layer, "stateful", False)]
    for layer in layers:
        layer.reset_state()
    return len(layers)


class _ResetStates(keras.callbacks.Callback):
    """Truncated backpropagation through time: a stateful model carries its
    state from batch to batch within an epoch, and starts every epoch and
    every evaluation from zeros (the streams start over)."""

    def on_epoch_begin(self, epoch, logs=None):
        reset_states(self.model)

    def on_test_begin(self, logs=None):
        reset_states(self.model)


def train(
    model: keras.Model,
    train_ds: tf.data.Dataset,
    *,
    valid_ds: tf.data.Dataset | None = None,
    epochs: int = 1,
    steps_per_epoch: int | None = None,
    run_dir: str | os.PathLike | None = None,
    callbacks=(),
    early_stopping: int | None = None,
    verbose="auto",
) -> dict[str, list[float]]:
    """Fit a compiled model; checkpoint, resume, stop on NaN or early.

    On several devices or machines, build the model inside a `tf.distribute`
    strategy's scope (see `make_strategy`) and call this as usual: Keras then
    splits every batch of `train_ds` across the replicas, so the batch size
    is the global one (each of N replicas gets batch_size / N rows) and the
    losses are those of one device on the same batches. In a cluster
    (``MultiWorkerMirroredStrategy``) every worker runs this same call on
    the same, identically seeded dataset and keeps its share of each batch;
    workers other than the chief write their checkpoint and log to
    ``run_dir/worker_<i>``. The loss is averaged over the real tokens of
    all replicas together (`TokenCrossEntropy`), so padding that falls on
    one replica changes nothing.

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
        early_stopping: stop once the validation loss has not improved for
            this many epochs, and keep the best epoch's weights
            (`keras.callbacks.EarlyStopping`, ``restore_best_weights=True``);
            needs `valid_ds`. Its patience counter starts afresh on a resume.
        verbose: passed to `fit` (the progress bar by default).

    A model built with ``stateful=True`` (truncated backpropagation through
    time, on `zoo.data.pipeline.make_stream_dataset` batches) carries its
    state across the batches of an epoch; it is reset at the start of every
    epoch and of every evaluation.

    Returns:
        The full history (all epochs, resumed ones included), metric -> list.

    Raises:
        ZooError: if the loss became NaN or infinite, or if this is called in a
            strategy's scope that the model was not built in.

    Example:
        >>> strategy = make_strategy("mirrored")  # every local GPU
        >>> with strategy.scope():
        ...     model = build_lstm(65)
        >>> history = train(model, make_dataset(ids, seq_len=64, batch_size=64))
    """
    if not model.compiled:
        raise ZooError("compile the model first, e.g. with zoo.training.compile_model")
    if epochs < 1:
        raise ZooError(f"epochs must be >= 1, got {epochs}")
    strategy = model_strategy(model)
    if tf.distribute.has_strategy() and tf.distribute.get_strategy() is not strategy:
        raise ZooError(
            f"train() was called inside {strategy_name(tf.distribute.get_strategy())}"
            f"'s scope, but model {model.name!r} was not built in it. Build (and "
            "compile) the model inside `with strategy.scope():`; train() itself "
            "needs no scope."
        )
    if strategy is not None:
        prepare_fit(model, strategy)
        if run_dir is not None and not strategy.extended.should_checkpoint:
            # A worker other than the chief: Keras's callbacks do not
            # coordinate workers, so each writes a folder of its own.
            run_dir = Path(run_dir) / f"worker_{strategy.cluster_resolver.task_id}"
    nan_guard = _StopOnNaN()
    cbs = [nan_guard, _EpochTimer(), *callbacks]
    if any(getattr(layer, "stateful", False) for layer in model.layers):
        cbs.insert(0, _ResetStates())
    if early_stopping is not None:
        if valid_ds is None or early_stopping < 0:
            raise ZooError(
                "early_stopping needs validation data (valid_ds) and a patience "
                f">= 0, got {early_stopping!r}"
            )
        cbs.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=early_stopping, restore_best_weights=True
            )
        )
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
    token before taking exp, so the result does not depend on batching. A
    stateful model starts from zero state and carries it through `dataset`
    in order (`zoo.data.pipeline.make_stream_dataset`).
    """
    reset_states(model)

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
