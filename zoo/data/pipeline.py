"""tf.data pipelines for the language-model set-ups.

* ``"shifted"`` (the per-step language model, how models are trained in
  practice): x = ids[i : i + T], y = ids[i + 1 : i + T + 1]. Every position
  predicts its next token, so one sequence gives T training targets.
* ``"next_token"`` (how the source texts' listings are written): x = a window
  of T ids, y = the single id after it.
* streams (truncated backpropagation through time, `make_stream_dataset`):
  the text cut into B contiguous streams, one per batch row, read T tokens
  at a time in order, so a stateful recurrent model can carry its state
  from one batch to the next (Zaremba et al. 2014).
* masked LM (BERT, `make_mlm_dataset`): the windows of ``"shifted"`` with
  some tokens hidden (`mask_tokens`, BERT's 80/10/10); y is the hidden token
  at the selected positions and `PAD_ID`, ignored by the loss, elsewhere.
* labelled texts (a classifier or a tagger, `make_labelled_dataset`): each
  text cut or padded to T ids (`pad_sequences`), with its label id, or its
  tag ids (0, ignored by the loss, at padding).

Batches have a fixed shape (B, T) so an XLA-compiled step compiles once
(docs/pitfalls.md #12). Training data drops the ragged tail; evaluation data instead
pads its last batch with `PAD_ID` targets, which the loss and the metrics ignore,
so every real token of the held-out set is scored exactly once.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo.errors import ZooError
from zoo.text import FIRST_REAL_ID, MASK_ID, PAD_ID

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


def make_stream_dataset(
    ids, *, seq_len: int, batch_size: int, training: bool = True
) -> tf.data.Dataset:
    """Batches for truncated backpropagation through time: row b of every
    batch continues row b of the batch before it.

    The text is cut into `batch_size` contiguous streams of L targets each
    (stream b predicts ids[b L + 1 : b L + L + 1] from the ids just before
    them), and batch i holds tokens i T to (i + 1) T of every stream, in
    order, never shuffled. A model that carries its state across batches
    (``stateful=True``) then reads each stream as one long sequence, with
    gradients cut every T steps; that is the layout of Zaremba et al.
    (2014) and of Keras's ``stateful`` recurrent layers.

    Args:
        ids: 1-D integer array (a tokenised text).
        seq_len: T, the steps between two state hand-overs (and gradient cuts).
        batch_size: B, the number of streams.
        training: drop the ragged ends (L = (N - 1) // B, then whole chunks of
            T only). Otherwise L = ceil((N - 1) / B) and the ends are padded
            with `PAD_ID` targets, which the loss and metrics ignore, so every
            token after the first is scored exactly once.

    Returns:
        A `tf.data.Dataset` of int32 ``(x, y)`` batches of shape (B, T).

    Example:
        >>> ds = make_stream_dataset(np.arange(5, 46), seq_len=4, batch_size=2)
        >>> [x[:, 0].numpy().tolist() for x, _ in ds]  # each row walks on
        [[5, 25], [9, 29], [13, 33], [17, 37], [21, 41]]
    """
    if seq_len < 1 or batch_size < 1:
        raise ZooError(
            f"seq_len and batch_size must be >= 1, got {seq_len}, {batch_size}"
        )
    ids = np.asarray(ids, dtype=np.int32).reshape(-1)
    targets = len(ids) - 1
    if training:
        length = targets // batch_size
        chunks = length // seq_len
    else:
        length = -(-targets // batch_size)
        chunks = -(-length // seq_len)
    if chunks < 1:
        raise ZooError(
            f"the text is too short: {len(ids)} tokens cannot fill {batch_size} "
            f"streams of at least seq_len={seq_len} steps. Use a longer text or a "
            "smaller --seq-len / --batch-size."
        )
    steps = chunks * seq_len  # per stream
    padded = np.concatenate([ids, np.full(batch_size * length + 1, PAD_ID, np.int32)])
    starts = np.arange(batch_size)[:, None] * length
    x = padded[starts + np.arange(steps)]  # (B, chunks T)
    y = padded[starts + np.arange(1, steps + 1)]
    if not training:
        # A stream's targets stop after its own L; the next stream's belong
        # to it alone.
        y[:, length:] = PAD_ID
        x[:, length:] = PAD_ID
    x = x.reshape(batch_size, chunks, seq_len).transpose(1, 0, 2)  # (chunks, B, T)
    y = y.reshape(batch_size, chunks, seq_len).transpose(1, 0, 2)
    return tf.data.Dataset.from_tensor_slices((x, y)).prefetch(tf.data.AUTOTUNE)


# --- masked language model (BERT) -------------------------------------------------


def _check_masking(rate, mask_fraction, random_fraction, vocab_size):
    if not 0.0 < rate < 1.0:
        raise ZooError(f"rate must be in (0, 1), got {rate}")
    if mask_fraction < 0 or random_fraction < 0 or mask_fraction + random_fraction > 1:
        raise ZooError(
            "mask_fraction and random_fraction must be >= 0 and add up to at most "
            f"1 (the rest is kept unchanged); got {mask_fraction} + {random_fraction}"
        )
    if not isinstance(vocab_size, int) or vocab_size <= FIRST_REAL_ID:
        raise ZooError(
            f"vocab_size must be an integer above the {FIRST_REAL_ID} reserved ids "
            f"(random replacements are drawn from the real ones), got {vocab_size!r}"
        )


def _mask_with_seed(ids, seed, *, rate, mask_fraction, random_fraction, vocab_size):
    """The masking of `mask_tokens` on an int32 tensor; `seed` is a (2,) tensor."""
    ids = tf.cast(ids, tf.int32)  # (B, T) or any shape
    shape = tf.shape(ids)
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 3)
    draw = tf.random.stateless_uniform(shape, seeds[0])  # who is selected
    action = tf.random.stateless_uniform(shape, seeds[1])  # what happens to them
    random_ids = tf.random.stateless_uniform(
        shape, seeds[2], minval=FIRST_REAL_ID, maxval=vocab_size, dtype=tf.int32
    )
    selected = (draw < rate) & (ids >= FIRST_REAL_ID)  # never PAD or reserved
    to_mask = selected & (action < mask_fraction)
    to_random = selected & ~to_mask & (action < mask_fraction + random_fraction)
    inputs = tf.where(to_mask, MASK_ID, tf.where(to_random, random_ids, ids))
    targets = tf.where(selected, ids, PAD_ID)  # PAD = not scored by the loss
    return inputs, targets


def mask_tokens(
    ids,
    *,
    rate: float = 0.15,
    mask_fraction: float = 0.8,
    random_fraction: float = 0.1,
    vocab_size: int,
    seed: int = 0,
):
    """Hide tokens for masked-LM training, BERT's 80/10/10 way.

    Mirrors: document 001, section 5: "BERT通过遮蔽某些位置的词来进行预训练。
    模型的目标是预测被遮蔽的词".

    Each real token (id >= 5; never `PAD_ID` or another reserved id) is
    selected with probability ``rate``. A selected token becomes `MASK_ID`
    with probability ``mask_fraction``, a random real token with probability
    ``random_fraction``, and otherwise stays as it is: the model cannot rely
    on [MASK] to tell it where to look, so it learns a good vector for every
    token, also for text without a [MASK] in it. The target is the original
    token at the selected positions and `PAD_ID` (ignored by zoo's loss)
    everywhere else.

    Args:
        ids: integer token ids, any shape, e.g. (B, T).
        rate: fraction of real tokens selected (15% in BERT).
        mask_fraction: of the selected, the fraction replaced by MASK_ID.
        random_fraction: of the selected, the fraction replaced by a random
            real token; the rest are kept.
        vocab_size: V; random tokens are drawn from ids 5..V-1.
        seed: the same seed gives the same masks.

    Returns:
        ``(inputs, targets)``, int32 NumPy arrays of the shape of ``ids``.

    Example:
        >>> x, y = mask_tokens(np.arange(5, 25)[None], vocab_size=30, seed=1)
        >>> bool(((y == 0) | (y == np.arange(5, 25))).all())  # PAD or the truth
        True

    Reference:
        Devlin et al. (2019), section 3.1, "Task #1: Masked LM", and appendix
        C.2 (why 80/10/10).
    """
    _check_masking(rate, mask_fraction, random_fraction, vocab_size)
    inputs, targets = _mask_with_seed(
        np.asarray(ids),
        tf.constant([seed, 0], tf.int64),
        rate=rate,
        mask_fraction=mask_fraction,
        random_fraction=random_fraction,
        vocab_size=vocab_size,
    )
    return inputs.numpy(), targets.numpy()


def make_mlm_dataset(
    ids,
    *,
    seq_len: int,
    batch_size: int,
    vocab_size: int,
    seed: int = 0,
    training: bool = True,
    rate: float = 0.15,
    mask_fraction: float = 0.8,
    random_fraction: float = 0.1,
) -> tf.data.Dataset:
    """Batches of ``(masked inputs, targets)`` from a 1-D array of token ids.

    The windows are those of `make_dataset` (T tokens each, shuffled when
    training); the masks are drawn inside the pipeline from a seeded random
    stream. When training, every pass over the data draws fresh masks (the
    same seed gives the same sequence of masks); otherwise every pass has
    the same masks, so validation scores are comparable.

    Args:
        ids: 1-D integer array (a tokenised text).
        seq_len: T, tokens per sequence (at most the model's
            ``context_length``).
        batch_size: B.
        vocab_size: V (for random replacements).
        seed: seeds both the shuffling and the masks.
        training: shuffle, and new masks every epoch; else fixed order, fixed
            masks, and a last batch padded with PAD (never selected, ignored).
        rate, mask_fraction, random_fraction: as in `mask_tokens`.

    Returns:
        A `tf.data.Dataset` of int32 ``(inputs, targets)``, each (B, T).

    Example:
        >>> ds = make_mlm_dataset(ids, seq_len=64, batch_size=32, vocab_size=70)
        >>> x, y = next(iter(ds))  # x has MASK_ID holes; y is PAD except there
    """
    _check_masking(rate, mask_fraction, random_fraction, vocab_size)
    windows = make_dataset(
        ids, seq_len=seq_len, batch_size=batch_size, training=training, seed=seed
    ).map(lambda x, y: x)  # (B, T): the inputs; targets come from the masking
    seeds = tf.data.Dataset.random(
        seed=seed, rerandomize_each_iteration=training
    )  # one int64 per batch, new ones each epoch when training

    def hide(batch, batch_seed):
        return _mask_with_seed(
            batch,
            tf.stack([batch_seed, tf.constant(seed, tf.int64)]),
            rate=rate,
            mask_fraction=mask_fraction,
            random_fraction=random_fraction,
            vocab_size=vocab_size,
        )  # (B, T), (B, T)

    ds = tf.data.Dataset.zip((windows, seeds)).map(
        hide, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    return ds.prefetch(tf.data.AUTOTUNE)


def pad_sequences(sequences, *, seq_len: int, value: int = PAD_ID) -> np.ndarray:
    """(N, T) int32: each sequence cut to `seq_len` and padded at the end.

    Example:
        >>> pad_sequences([[7, 8], [9, 10, 11]], seq_len=2).tolist()
        [[7, 8], [9, 10]]
    """
    if seq_len < 1:
        raise ZooError(f"seq_len must be >= 1, got {seq_len}")
    out = np.full((len(sequences), seq_len), value, dtype=np.int32)
    for i, sequence in enumerate(sequences):
        sequence = np.asarray(sequence, dtype=np.int32)[:seq_len]
        out[i, : len(sequence)] = sequence
    return out


def make_labelled_dataset(
    inputs,
    targets,
    *,
    batch_size: int,
    training: bool = True,
    seed: int = 0,
    weights=None,
) -> tf.data.Dataset:
    """Batches of ``(ids (B, T), targets)`` for a classifier or a tagger, or
    of ``(ids, targets, weights)`` when `weights` are given.

    Args:
        inputs: (N, T) int32 ids (`pad_sequences`).
        targets: (N,) label ids (a classifier) or (N, T) tag ids (a tagger,
            0 at padding).
        batch_size: B.
        training: reshuffle every epoch (seeded); else in order, the last
            batch smaller.
        seed: the shuffling's seed.
        weights: float weights shaped like `targets` (each target's weight
            in the loss: Keras's ``sample_weight``), or None.

    Example:
        >>> ds = make_labelled_dataset(x, y, batch_size=32)
    """
    inputs, targets = np.asarray(inputs, np.int32), np.asarray(targets, np.int32)
    if len(inputs) != len(targets):
        raise ZooError(f"{len(inputs)} inputs but {len(targets)} targets")
    if not len(inputs):
        raise ZooError("no examples to batch")
    parts = (inputs, targets)
    if weights is not None:
        weights = np.asarray(weights, np.float32)
        if weights.shape != targets.shape:
            raise ZooError(
                f"weights shaped {weights.shape} but targets {targets.shape}"
            )
        parts += (weights,)
    ds = tf.data.Dataset.from_tensor_slices(parts)
    if training:
        ds = ds.shuffle(len(inputs), seed=seed, reshuffle_each_iteration=True)
        # Whole batches only: one compiled shape for the training step.
        ds = ds.batch(batch_size, drop_remainder=len(inputs) >= batch_size)
    else:
        ds = ds.batch(batch_size)
    return ds.prefetch(tf.data.AUTOTUNE)
