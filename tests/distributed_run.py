"""Train one tiny LSTM the same way on one device or under a strategy.

    python tests/distributed_run.py single
    python tests/distributed_run.py mirrored
    python tests/distributed_run.py multi_worker RUN_DIR

Run by ``tests/test_distribute.py``, which compares the losses with those of
`run` on one device (computed in the test's own process). "mirrored" splits
the CPU into two logical devices, which must happen before TensorFlow starts:
hence a process of its own; it trains under ``MirroredStrategy`` over both.
For "multi_worker", ``TF_CONFIG`` names a two-process cluster and this
process's place in it; every worker prints its own result. The last line
printed is the JSON result.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

VOCAB = 24  # V
EMBED = 8  # E
UNITS = 12
SEQ = 8  # T
BATCH = 8  # B, the global batch: 4 rows per replica on two replicas
EPOCHS = 2
STEPS = 3  # per epoch


def _datasets():
    import numpy as np

    from zoo.data.pipeline import make_dataset

    rng = np.random.default_rng(0)
    train_ids = rng.integers(5, VOCAB, size=SEQ * BATCH * STEPS + 1)
    # 4 windows: one batch of 8 rows, half of them padding (ignored targets).
    valid_ids = rng.integers(5, VOCAB, size=SEQ * 4 + 1)
    return (
        make_dataset(train_ids, seq_len=SEQ, batch_size=BATCH, seed=0),
        make_dataset(valid_ids, seq_len=SEQ, batch_size=BATCH, training=False),
    )


def run(strategy=None, run_dir=None) -> dict:
    """Build, train and report; the model is built in `strategy`'s scope."""
    import keras
    import numpy as np

    import zoo

    class BatchLosses(keras.callbacks.Callback):
        """The logged loss after every step (the epoch's running mean)."""

        def __init__(self):
            super().__init__()
            self.losses = []

        def on_train_batch_end(self, batch, logs=None):
            self.losses.append(float(logs["loss"]))

    keras.utils.set_random_seed(0)
    train_ds, valid_ds = _datasets()
    scope = strategy.scope() if strategy else contextlib.nullcontext()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with scope:
            model = zoo.build_lstm(VOCAB, embedding_dim=EMBED, units=UNITS)
    # The same starting point whatever the strategy (and however it seeds).
    rng = np.random.default_rng(1)
    model.set_weights(
        [rng.normal(0.0, 0.3, w.shape).astype("float32") for w in model.get_weights()]
    )
    recorder = BatchLosses()
    history = zoo.train(
        model,
        train_ds,
        valid_ds=valid_ds,
        epochs=EPOCHS,
        steps_per_epoch=STEPS,
        run_dir=run_dir,
        callbacks=[recorder],
        verbose=0,
    )
    return {
        "replicas": strategy.num_replicas_in_sync if strategy else 1,
        "jit_compile": bool(model.jit_compile),
        "warnings": [str(w.message) for w in caught],
        "batch_losses": recorder.losses,
        "history": {k: v for k, v in history.items() if k != "epoch_seconds"},
        "weights": np.concatenate([w.ravel() for w in model.get_weights()]).tolist(),
    }


def main(argv: list[str]) -> None:
    import tensorflow as tf

    mode = argv[0]
    if mode == "single":
        result = run()
    elif mode == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
        from zoo.distribute import make_strategy

        result = run(make_strategy("mirrored"))  # every device: both halves
    elif mode == "multi_worker":
        from zoo.distribute import make_strategy

        strategy = make_strategy("multi_worker")  # first: it starts the cluster
        result = run(strategy, run_dir=argv[1])
        result["task_id"] = strategy.cluster_resolver.task_id
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
