"""tf.data pipelines for the two language-model set-ups.

* ``"shifted"`` (the per-step language model, how models are trained in
  practice): x = ids[i : i + T], y = ids[i + 1 : i + T + 1]. Every position
  predicts its next token, so one sequence gives T training targets.
* ``"next_token"`` (how the source texts' listings are written): x = a window
  of T ids, y = the single id after it.

Batches have a fixed shape (B, T) so an XLA-compiled step compiles once
(PITFALLS #12). Training data drops the ragged tail; evaluation data instead
pads its last batch with `PAD_ID` targets, which the loss and the metrics ignore,
so every real token of the held-out set is scored exactly once.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo.errors import ZooError
from zoo.text import PAD_ID

MODES = ("shifted", "next_token")


def make_dataset(
    ids,
    *,
    seq_len: int,
    batch_size: int,
    mode: str = "shifted",
    training: bool = True,
    seed: int | None = 0,
    stride: int | None = None,
) -> tf.data.Dataset:
    """Turn a 1-D array of token ids into batches of (inputs, targets).

    Args:
        ids: 1-D integer array (a tokenised text).
        seq_len: T, the length of each input window.
        batch_size: B.
        mode: "shifted" (targets (B, T)) or "next_token" (targets (B,)).
        training: shuffle (seeded) and drop the ragged tail; otherwise keep
            order and pad the last batch with ignored targets.
        seed: shuffling seed; the same seed gives the same batches.
        stride: step between window starts. Defaults to T for "shifted"
            (non-overlapping windows) and 1 for "next_token" (every position,
            as the listings' ``model.fit(x_train, y_train)`` implies).

    Returns:
        A `tf.data.Dataset` of int32 ``(x, y)`` batches, prefetched.

    Example:
        >>> ds = make_dataset(np.arange(100) % 7 + 5, seq_len=8, batch_size=4)
        >>> x, y = next(iter(ds))
        >>> x.shape, y.shape
        (TensorShape([4, 8]), TensorShape([4, 8]))
    """
    if mode not in MODES:
        raise ZooError(f"mode must be one of {MODES}, got {mode!r}")
    if seq_len < 1 or batch_size < 1:
        raise ZooError(
            f"seq_len and batch_size must be >= 1, got {seq_len}, {batch_size}"
        )
    ids = np.asarray(ids, dtype=np.int32).reshape(-1)
    stride = stride or (seq_len if mode == "shifted" else 1)
    n_windows = (len(ids) - seq_len - 1) // stride + 1 if len(ids) > seq_len else 0
    needed = seq_len + 1 + (batch_size - 1) * stride if training else seq_len + 1
    if len(ids) < needed:
        raise ZooError(
            f"the text is too short: {len(ids)} tokens, but seq_len={seq_len} and "
            f"batch_size={batch_size} need at least {needed}. Use a longer text or "
            "a smaller --seq-len / --batch-size."
        )
    # Windows are cut lazily from one id tensor: a shuffled stream of window
    # starts, batched, then gathered, so memory stays O(len(ids)) even with
    # stride 1.
    starts = np.arange(n_windows, dtype=np.int64) * stride
    if not training:
        last_target = (n_windows - 1) * stride + seq_len  # the last id scored
        if mode == "shifted" and last_target < len(ids) - 1:
            # The ragged tail: one more window, its end padded (and ignored),
            # so that every target in the text is scored.
            starts = np.append(starts, last_target)
        # Padding windows fill the last batch; they point at an all-PAD tail,
        # which the loss and metrics ignore.
        n_pad = -len(starts) % batch_size
        starts = np.concatenate([starts, np.full(n_pad, len(ids), np.int64)])
        ids = np.concatenate([ids, np.full(seq_len + 1, PAD_ID, np.int32)])
    ids_t = tf.constant(ids)
    offsets = tf.range(seq_len + 1, dtype=tf.int64)

    def cut(batch_starts):  # (B,) -> (B, T), (B, T) or (B,)
        windows = tf.gather(ids_t, batch_starts[:, None] + offsets)  # (B, T+1)
        if mode == "shifted":
            return windows[:, :-1], windows[:, 1:]
        return windows[:, :-1], windows[:, -1]

    ds = tf.data.Dataset.from_tensor_slices(starts)
    if training:
        ds = ds.shuffle(len(starts), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=True)
    ds = ds.map(cut, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)
