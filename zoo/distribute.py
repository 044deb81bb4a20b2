"""Several devices, several machines, 16-bit arithmetic: where they are set up.

* Several devices or machines: build the model inside a `tf.distribute`
  strategy's scope (`make_strategy`) and train it as usual with
  `zoo.training.train`. XLA is off under a strategy, because XLA cannot
  compile its cross-device steps (`zoo.training.compile_model` says so).
* Mixed precision: build the model inside ``with precision("mixed_bfloat16"):``
  (or ``"mixed_float16"``); the loss and the metrics stay in float32.

Everything here that touches Keras's private members is in `prepare_fit`,
with the reason written beside it, so it can go when Keras fixes its side.
"""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf
from keras import ops

from zoo.errors import ZooError

# Keras dtype policies zoo trains with: variables are always float32; the
# mixed ones compute in 16 bits.
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
# Names `make_strategy` (and ``zoo train --strategy``) accept.
STRATEGIES = ("mirrored", "multi_worker")


def check_precision(policy: str) -> str:
    """Return `policy` if zoo trains with it, else raise a `ZooError`."""
    if policy not in PRECISIONS:
        raise ZooError(f"precision must be one of {PRECISIONS}, got {policy!r}")
    return policy


@contextlib.contextmanager
def precision(policy: str):
    """Build models in `policy` precision; the previous policy comes back after.

    Keras fixes a layer's dtype policy when the layer is created, from the
    global policy (``keras.config.set_dtype_policy``). So precision is chosen
    where models are built, not where they are compiled: this context manager
    sets the global policy for the factory calls inside it and restores it
    on leaving, so it works for every zoo factory (and any Keras model) with
    no extra argument, and models built later are not affected by mistake.

    Under ``"mixed_float16"`` or ``"mixed_bfloat16"`` every layer computes in
    16 bits while its weights stay float32, so the model emits 16-bit logits;
    zoo's loss and metrics cast them to float32 before the softmax. With
    ``"mixed_float16"`` `compile_model` wraps the optimizer in a
    `keras.optimizers.LossScaleOptimizer`, so small gradients do not underflow
    (bfloat16 has float32's range and needs no loss scaling).

    Both work with XLA, on a CPU too. On a CPU with bfloat16 instructions
    (AVX-512 bf16, AMX) `compile_model` leaves XLA off for a bfloat16 model
    by default, since TensorFlow's own kernels use those instructions and
    XLA's do not (`zoo.training.bfloat16_jit_default`).

    Args:
        policy: one of ``PRECISIONS``: "float32", "mixed_float16" or
            "mixed_bfloat16".

    Yields:
        The policy's name.

    Raises:
        ZooError: for any other policy.

    Example:
        >>> with precision("mixed_bfloat16"):
        ...     model = build_lstm(65)  # compiled: float32 loss
        >>> model.get_layer("lstm_1").compute_dtype, model.weights[0].dtype
        ('bfloat16', 'float32')
    """
    check_precision(policy)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield policy
    finally:
        keras.config.set_dtype_policy(previous)


def make_strategy(name: str, *, devices=None) -> tf.distribute.Strategy:
    """A `tf.distribute` strategy by name, for data-parallel training.

    Build the model inside its scope; `train` then splits every batch across
    the replicas (see `train`).

    Args:
        name: "mirrored": one replica per local GPU (the CPU if there is
            none); "multi_worker": one or more replicas on every machine of
            the cluster described by the ``TF_CONFIG`` environment variable.
        devices: for "mirrored", the devices to use (default: all local GPUs).

    Returns:
        A `tf.distribute.MirroredStrategy` or
        `tf.distribute.MultiWorkerMirroredStrategy`.

    Example:
        >>> strategy = make_strategy("mirrored")
        >>> with strategy.scope():
        ...     model = build_lstm(65)
        >>> history = train(model, train_ds, epochs=3)  # global batches
    """
    if name not in STRATEGIES:
        raise ZooError(f"strategy must be one of {STRATEGIES}, got {name!r}")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices)
    if devices is not None:
        raise ZooError(
            "devices applies to the 'mirrored' strategy only; a cluster's "
            "machines come from TF_CONFIG"
        )
    return tf.distribute.MultiWorkerMirroredStrategy()


def model_strategy(model: keras.Model) -> tf.distribute.Strategy | None:
    """The `tf.distribute` strategy the model was built under, or None.

    A model belongs to the strategy whose scope it was created in: its weights
    are then mirrored on every replica.
    """
    for weight in model.weights:
        value = getattr(weight, "value", weight)
        if isinstance(value, tf.distribute.DistributedValues):
            return value.distribute_strategy
    if not model.weights and tf.distribute.has_strategy():
        return tf.distribute.get_strategy()  # not built yet, in the scope
    return None


def is_multi_worker(strategy) -> bool:
    """Whether `strategy` spans more than one process (a TF_CONFIG cluster)."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    jobs = strategy.cluster_resolver.cluster_spec().as_dict()
    return sum(len(tasks) for tasks in jobs.values()) > 1


def prepare_fit(model: keras.Model, strategy) -> None:
    """Make ``model.fit`` under `strategy` see the batches one device would.

    Changes only how Keras 3 (3.15 and earlier) passes values around, not
    what it computes:

    1. Under any strategy, ``fit`` first draws a batch from a fresh iterator
       of the data only to learn its shapes. That advances a dataset that
       reshuffles on every pass (``make_dataset``'s), so training would then
       see other batches than on one device; and under a multi-worker
       strategy the draw crashes, because the collective strategy cannot
       reduce a nested (inputs, targets) batch ("Attempt to convert a value
       (PerReplica:...) ... to a Tensor"; keras-team/keras issue 20585).
       The shapes are read from the dataset's ``element_spec`` instead.
    2. Under a multi-worker strategy Keras reduces each step's scalar logs
       with ``axis=0`` ("Invalid reduction dimension 0 for input with 0
       dimensions"). The steps return them as 1-element vectors, which that
       reduction turns back into scalars.
    """
    if getattr(model, "_zoo_strategy_fixes", None) is strategy:
        return
    if hasattr(model, "_maybe_symbolic_build") and hasattr(model, "_symbolic_build"):

        def symbolic_build(iterator=None, data_batch=None):
            if iterator is not None:
                data_batch = iterator.data_adapter.get_tf_dataset().element_spec
            with strategy.scope():
                model._symbolic_build(data_batch=data_batch)

        model._maybe_symbolic_build = symbolic_build

    if is_multi_worker(strategy):

        def vector_logs(step):
            def wrapped(data):
                return tf.nest.map_structure(lambda v: ops.reshape(v, (1,)), step(data))

            return wrapped

        model.train_step = vector_logs(model.train_step)
        model.test_step = vector_logs(model.test_step)
    model._zoo_strategy_fixes = strategy


def computes_in(model: keras.Model, dtype: str) -> bool:
    """Whether the model, or any of its layers, computes in `dtype`."""
    policies = [model.dtype_policy, *(layer.dtype_policy for layer in model.layers)]
    return any(policy.compute_dtype == dtype for policy in policies)


def computes_in_float16(model: keras.Model) -> bool:
    return computes_in(model, "float16")


def strategy_name(strategy) -> str:
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return "MultiWorkerMirroredStrategy"  # its class is CollectiveAllReduce...
    return type(strategy).__name__
