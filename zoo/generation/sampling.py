"""Picking the next token from logits: greedy, temperature, top-k, top-p.

Sampling works on logits, never on log(probabilities) (docs/pitfalls.md #10):
temperature 0 means greedy, and removed tokens get the dtype's most negative
finite value rather than -inf, so no row is ever all NaN (docs/pitfalls.md #8).
Everything here is a function of (B, V) logits; it does not know which model
they came from.

Shape letters: B batch, V vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from zoo.errors import ZooError
from zoo.text import BOS_ID, EOS_ID, MASK_ID, PAD_ID, UNK_ID

# Ids a model should never emit: padding, unknown (it decodes to "<unk>", not
# text), begin-of-sequence and mask.
NEVER_SAMPLED = (PAD_ID, UNK_ID, BOS_ID, MASK_ID)


@dataclass(frozen=True)
class Sampling:
    """How to pick the next token from logits.

    Args:
        temperature: 0 = greedy (argmax); 1 = the model's distribution; above
            1 flatter, below 1 sharper.
        top_k: keep only the k most likely tokens (None = all).
        top_p: keep the smallest set of tokens whose probability reaches p
            (nucleus sampling; None = all).
        eos: whether the end-of-sequence id may be drawn. `generate_ids` sets
            it only when it stops at an `eos_id` (translation); plain text
            generation never draws it, so it returns exactly
            `max_new_tokens` tokens.
    """

    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    eos: bool = True

    def __post_init__(self):
        if self.temperature < 0:
            raise ZooError(f"temperature must be >= 0, got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise ZooError(f"top_k must be >= 1, got {self.top_k}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ZooError(f"top_p must be in (0, 1], got {self.top_p}")


_BOUND = 1e30  # |logit| above this is clipped: differences stay finite


def filter_logits(logits, sampling: Sampling):
    """Apply temperature, top-k and top-p to (B, V) logits.

    Returns float32 logits, shifted so the best samplable token is at 0 (the
    distribution is unchanged), where removed tokens hold the most negative
    finite float32, so a softmax or categorical draw over them is never NaN,
    whatever the input (NaN, +-inf, a temperature near 0).
    """
    logits = tf.cast(logits, tf.float32)  # (B, V)
    neg = tf.float32.min
    vocab = logits.shape[-1]
    reserved = NEVER_SAMPLED if sampling.eos else (*NEVER_SAMPLED, EOS_ID)
    never = tf.reduce_any(
        tf.range(vocab)[None, :] == tf.constant(reserved)[:, None], axis=0
    )  # (V,)
    keep = tf.broadcast_to(~never[None, :], tf.shape(logits))  # (B, V)
    # Finite and bounded first, so that nothing below can overflow or give
    # inf - inf = NaN: NaN and -inf become "very unlikely", +inf "very likely".
    logits = tf.where(tf.math.is_nan(logits), neg, logits)
    logits = tf.clip_by_value(logits, -_BOUND, _BOUND)
    # Shift so the best samplable token is at 0 (a softmax does not change),
    # then divide by the temperature: kept logits are <= 0, so a tiny
    # temperature sends them towards -inf, never +inf.
    best = tf.reduce_max(tf.where(keep, logits, -_BOUND), axis=-1, keepdims=True)
    logits = logits - best
    if sampling.temperature > 0:
        # Multiply by 1/T computed in Python: T itself may be a float32
        # denormal that flushes to 0 (0 / 0 = NaN); 1/T is capped so it stays
        # a finite float32 (so 0 * scale is 0, never NaN).
        logits = logits * min(1.0 / sampling.temperature, 1e38)
    logits = tf.maximum(tf.where(keep, logits, neg), neg)  # -inf -> finite
    if sampling.top_k is not None and sampling.top_k < vocab:
        kth = tf.math.top_k(logits, k=sampling.top_k).values[:, -1:]  # (B, 1)
        logits = tf.where(logits < kth, neg, logits)
    if sampling.top_p is not None and sampling.top_p < 1:
        sorted_logits = tf.sort(logits, direction="DESCENDING", axis=-1)  # (B, V)
        probs = tf.nn.softmax(sorted_logits, axis=-1)
        before = tf.cumsum(probs, axis=-1, exclusive=True)  # mass above each token
        # The last kept token is the one whose predecessors' mass is < p.
        n_keep = tf.reduce_sum(tf.cast(before < sampling.top_p, tf.int32), axis=-1)
        cutoff = tf.gather(sorted_logits, n_keep - 1, batch_dims=1)[:, None]  # (B, 1)
        logits = tf.where(logits < cutoff, neg, logits)
    return logits


def sample_logits(logits, sampling: Sampling, seed):
    """Draw one id per row of (B, V) logits; `seed` is a (2,) int tensor."""
    logits = filter_logits(logits, sampling)
    if sampling.temperature == 0:
        return tf.argmax(logits, axis=-1, output_type=tf.int32)  # (B,)
    draw = tf.random.stateless_categorical(logits, 1, seed, dtype=tf.int32)  # (B, 1)
    return draw[:, 0]
