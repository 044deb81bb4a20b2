"""Attention masks: the one place in zoo where a mask is built.

The convention, everywhere in zoo, is Keras's: **True (or 1) means "may
attend"**, False (or 0) means "blocked". A mask has the shape of the attention
weights it applies to, (B, T, S) (query positions T, key positions S), or any
shape that broadcasts to it, e.g. (1, T, S) or (B, 1, S).

Beware the flip (docs/pitfalls.md #5). Other code uses the opposite convention:

* PyTorch ``nn.MultiheadAttention``: a boolean ``attn_mask`` or
  ``key_padding_mask`` is True where attention is *not* allowed.
* Older TensorFlow tutorials (``create_padding_mask``, ``create_look_ahead_mask``)
  build a float mask that is 1 at padding or future positions, and add
  ``mask * -1e9`` to the scores.

To use such a mask here, flip it: ``keras.ops.logical_not(torch_style_mask)``.
A flipped mask does not fail loudly; it silently lets every query attend only
to padding and to the future. The tests check zoo's masks against
``keras.layers.MultiHeadAttention``.

* `padding_mask`: token ids -> (B, S), True at real tokens; `PaddingMask` is
  the same as a layer, for a functional model's graph.
* `causal_mask`: the (T, S) triangle, shifted for cached decoding.
* `attention_mask`: padding and causal masks combined into one (B, T, S);
  with only a key padding mask it is the (B, 1, S) that attention over a
  padded source broadcasts.

Shape letters: B batch, T query (target) length, S key (source) length.
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.errors import ZooError


def padding_mask(token_ids, pad_id: int = 0):
    """True at real tokens, False at padding.

    Args:
        token_ids: integer ids, shape (B, S).
        pad_id: the id used for padding.

    Returns:
        A boolean tensor of shape (B, S): True where a token may be attended to.

    Example:
        >>> np.asarray(padding_mask(np.array([[5, 7, 0, 0]])))
        array([[ True,  True, False, False]])

    Reference:
        Keras's masking convention, `keras.layers.MultiHeadAttention`
        (``attention_mask``: 1 = attend, 0 = no attention).
    """
    return ops.not_equal(token_ids, pad_id)  # (B, S)


@keras.saving.register_keras_serializable(package="zoo")
class PaddingMask(keras.layers.Layer):
    """Token ids -> padding mask: True at real tokens, False at padding.

    A layer only so that a functional model can build its mask from its own
    inputs (no `Lambda`, docs/pitfalls.md #15); the work is `padding_mask`.

    Args:
        pad_id: the padding id (0, zoo's ``PAD_ID``).
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        token_ids: (B, S) integer ids.

    Returns:
        (B, S) boolean, True where a token may be attended to.

    Example:
        >>> np.asarray(PaddingMask()(np.array([[7, 9, 0]])))
        array([[ True,  True, False]])

    Reference:
        Keras's masking convention, as for `padding_mask`.
    """

    def __init__(self, pad_id: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.pad_id = pad_id

    def call(self, token_ids):
        return padding_mask(token_ids, self.pad_id)  # (B, S)

    def get_config(self):
        return {**super().get_config(), "pad_id": self.pad_id}


def causal_mask(query_len, key_len=None, *, offset=0):
    """Lower-triangular mask: query i may attend keys 0..offset+i.

    Query i sits at absolute position ``offset + i``. With ``offset=0`` and
    ``key_len == query_len`` this is the usual triangle; a positive offset is for
    cached decoding, where the T new queries follow ``offset`` tokens already in
    the cache of length ``key_len``.

    Args:
        query_len: T, the number of queries (an int, or a scalar tensor).
        key_len: S, the number of keys; defaults to ``query_len``.
        offset: absolute position of the first query (an int, or a scalar
            integer tensor, e.g. the cache index inside a compiled loop).

    Returns:
        A boolean tensor of shape (T, S), True where key j <= offset + i.

    Example:
        >>> np.asarray(causal_mask(3))
        array([[ True, False, False],
               [ True,  True, False],
               [ True,  True,  True]])
        >>> np.asarray(causal_mask(1, 4, offset=2))  # 3rd token, 4-slot cache
        array([[ True,  True,  True, False]])

    Reference:
        Vaswani et al., "Attention Is All You Need" (2017), section 3.2.3:
        "masking out ... all values ... which correspond to illegal connections".
    """
    key_len = query_len if key_len is None else key_len
    offset = ops.cast(offset, "int32")
    rows = ops.expand_dims(ops.arange(query_len, dtype="int32"), 1) + offset  # (T, 1)
    cols = ops.expand_dims(ops.arange(key_len, dtype="int32"), 0)  # (1, S)
    return ops.less_equal(cols, rows)  # (T, S)


def attention_mask(
    *,
    query_len=None,
    key_len=None,
    key_padding=None,
    query_padding=None,
    causal: bool = False,
    offset=0,
):
    """Combine padding and causal masks into one (B, T, S) mask.

    Every part is True where attention is allowed, and the parts are combined
    with logical AND: a query may attend a key only if the key is a real token,
    the query is a real token, and (if causal) the key is not in its future.

    A query row that is entirely False (a padded query) gets all-zero
    attention weights in zoo's attention (see
    `zoo.layers.attention.masked_softmax`), never NaN.

    Args:
        query_len: T. Needed for ``causal`` unless ``query_padding`` gives it.
        key_len: S. Defaults to the length of ``key_padding``, else to
            ``query_len``; give it for a cache longer than the keys written so far.
        key_padding: (B, S) bool (or 0/1), True at real key tokens, e.g. from
            `padding_mask`. For cross-attention this is the *encoder's* padding
            (docs/pitfalls.md #7).
        query_padding: (B, T) bool (or 0/1), True at real query tokens.
        causal: also forbid attending to later positions (`causal_mask`).
        offset: absolute position of the first query, for cached decoding.

    Returns:
        A boolean mask of shape (B, T, S), or one that broadcasts to it when a
        dimension is unknown: (1, T, S) with no padding, (B, 1, S) with only
        ``key_padding`` and no ``query_len``. None when nothing is masked.

    Example:
        >>> ids = np.array([[4, 9, 0]])
        >>> mask = attention_mask(key_padding=padding_mask(ids), causal=True,
        ...                       query_len=3)
        >>> tuple(mask.shape)  # (B, T, S)
        (1, 3, 3)

    Reference:
        `keras.layers.MultiHeadAttention`, ``_compute_attention_mask`` (the same
        AND of query mask, value mask and causal mask).
    """
    if query_len is None and query_padding is not None:
        query_len = ops.shape(query_padding)[1]
    if key_len is None:
        key_len = ops.shape(key_padding)[1] if key_padding is not None else query_len

    mask = None
    if key_padding is not None:
        mask = ops.expand_dims(ops.cast(key_padding, "bool"), 1)  # (B, 1, S)
    if query_padding is not None:
        rows = ops.expand_dims(ops.cast(query_padding, "bool"), 2)  # (B, T, 1)
        mask = rows if mask is None else ops.logical_and(mask, rows)  # (B, T, S)
    if causal:
        if query_len is None:
            raise ZooError(
                "attention_mask(causal=True) needs query_len (or query_padding) "
                "to know how many queries there are"
            )
        triangle = ops.expand_dims(
            causal_mask(query_len, key_len, offset=offset), 0
        )  # (1, T, S)
        mask = triangle if mask is None else ops.logical_and(mask, triangle)
    if mask is not None and query_len is not None and key_len is not None:
        batch = ops.shape(mask)[0]
        if batch is not None:  # None only for a symbolic (keras.Input) batch
            mask = ops.broadcast_to(mask, (batch, query_len, key_len))  # (B, T, S)
    return mask
