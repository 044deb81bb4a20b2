"""Attention, from the formula of document 001 to multi-head attention.

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V

(document 001, section 4, 数学模型和公式详细讲解举例说明). Everything here is built
on one function, `scaled_dot_product_attention`:

* `DotProductAttention`: the formula as a layer, one head, no weights.
* `MultiHeadAttention`: H heads with learned projections, weight for weight the
  same as `keras.layers.MultiHeadAttention` (tested), plus a key/value cache
  for fast generation.
* `AdditiveAttention`: Bahdanau's score v^T tanh(W1 s + W2 h), for the
  recurrent seq2seq model (document 000, section 4.3 注意力机制).
* `LuongAttention`: Luong's "general" score s^T W_a h, scaled by 1 / sqrt(d),
  the other score of the seq2seq model.
* `wrong_attention_004`: document 004's printed formula, kept only to show that
  it is wrong (its weights do not sum to one).

Masks follow Keras's convention (True = may attend) and are built in
`zoo.layers.masks`. Shape letters: B batch, T query length, S key length,
H heads, D head size, C model width.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from zoo.errors import ZooError
from zoo.layers.initializers import clone_initializer
from zoo.layers.masks import attention_mask, causal_mask


def large_negative(dtype) -> float:
    """The most negative finite value of a float dtype (-3.4e38 for float32).

    Masked scores are set to this instead of -inf: softmax of a row that is all
    -inf is 0/0 = NaN, while a row of equal finite values is harmless.
    """
    dtype = keras.backend.standardize_dtype(dtype)
    if dtype == "bfloat16":
        return -3.38e38  # bfloat16 has float32's range, slightly less precision
    return float(np.finfo(dtype).min)


def masked_softmax(scores, mask=None, axis: int = -1):
    """Softmax over ``axis`` that ignores positions where ``mask`` is False.

    Masked scores are replaced by the most negative finite value of their
    dtype (not -inf, docs/pitfalls.md #8), and the resulting weights are set to exactly
    zero at masked positions. A row that is masked everywhere (a padded query)
    therefore gets **all-zero weights**, not NaN and not uniform weights: its
    attention output is zero. This is also what `keras.layers.Softmax` does.

    Args:
        scores: attention scores, e.g. (B, H, T, S).
        mask: boolean (or 0/1) tensor broadcastable to ``scores``; True = keep.
        axis: the axis to normalise over (the key axis S).

    Returns:
        Weights of the shape of ``scores``; each unmasked row sums to one.

    Example:
        >>> scores = np.zeros((1, 3), "float32")
        >>> np.asarray(masked_softmax(scores, np.array([[True, True, False]])))
        array([[0.5, 0.5, 0. ]], dtype=float32)

    Reference:
        `keras.layers.Softmax` with ``mask`` (the same zeroing of masked rows).
    """
    if mask is not None:
        mask = ops.cast(mask, "bool")
        scores = ops.where(mask, scores, large_negative(scores.dtype))
    if scores.shape[axis] == 1:
        # One key: its weight is 1 (ops.softmax would warn on every call over
        # an axis of size 1).
        weights = ops.ones_like(scores)
    else:
        weights = ops.softmax(scores, axis=axis)
    if mask is None:
        return weights
    return ops.where(mask, weights, ops.zeros_like(weights))


def dense_2d(layer, x, contracted: int = 1):
    """`layer` (a `keras.layers.EinsumDense` whose equation contracts the last
    `contracted` axes of x with the kernel's first ones, e.g. ``btc,chd->bthd``)
    applied to x as one 2-D matrix product over the flattened leading axes.

    The same numbers as ``layer(x)``, computed differently: TensorFlow runs
    the einsum as a batched matmul with the kernel broadcast over the batch,
    and its gradient as one weight gradient per batch element, summed. Over
    (B*T, K) rows the kernel's gradient is a single 2-D matmul instead.
    """
    kernel = layer.kernel
    inner = math.prod(kernel.shape[:contracted])  # K
    outer = tuple(kernel.shape[contracted:])  # the output's own axes
    lead = [ops.shape(x)[i] for i in range(len(x.shape) - contracted)]
    flat = ops.reshape(x, (-1, inner))  # (B*T, K)
    kernel = ops.reshape(ops.cast(kernel, x.dtype), (inner, math.prod(outer)))
    y = ops.matmul(flat, kernel)  # (B*T, N)
    if layer.bias is not None:
        y = y + ops.cast(ops.reshape(layer.bias, (-1,)), y.dtype)
    if layer.activation is not None:
        y = layer.activation(y)
    return ops.reshape(y, (*lead, *outer))


def scaled_dot_product_attention(
    query,
    key,
    value,
    *,
    mask=None,
    dropout_rate: float = 0.0,
    training: bool = False,
    seed_generator=None,
):
    """softmax(Q K^T / sqrt(d_k)) V, with a mask and dropout on the weights.

    Mirrors: document 001, section 4 (数学模型和公式详细讲解举例说明):
    Attention(Q, K, V) = softmax(QK^T / sqrt(d_k)) V.

    Works on many heads at once, (B, H, T, D), or on a single head, (B, T, D):
    all leading axes are batch-like. d_k is the size of the last axis of
    ``query``. Where ``mask`` is False the weight is exactly zero; a row masked
    everywhere gets all-zero weights (and a zero output), never NaN.

    Args:
        query: Q, shape (B, H, T, D) or (B, T, D).
        key: K, shape (B, H, S, D) or (B, S, D).
        value: V, shape (B, H, S, D_v) or (B, S, D_v).
        mask: optional boolean mask, True = may attend (`zoo.layers.masks`),
            of shape (B, T, S), (T, S), or (B, H, T, S); broadcast over heads.
        dropout_rate: fraction of attention weights dropped while training.
        training: apply dropout (a Python bool).
        seed_generator: a `keras.random.SeedGenerator` for the dropout; layers
            pass their own so dropout also works inside compiled (XLA) code.

    Returns:
        A tuple ``(outputs, weights)``: outputs of shape (B, H, T, D_v) (or
        (B, T, D_v)), and the attention weights of shape (B, H, T, S) (or
        (B, T, S)) before dropout. Unmasked rows of ``weights`` sum to one.

    Example:
        >>> q = k = v = np.random.rand(2, 4, 5, 8).astype("float32")
        >>> out, w = scaled_dot_product_attention(q, k, v)
        >>> tuple(out.shape), tuple(w.shape)  # (B, H, T, D), (B, H, T, S)
        ((2, 4, 5, 8), (2, 4, 5, 5))

    Reference:
        Vaswani et al., "Attention Is All You Need" (2017), equation (1).
    """
    d_k = query.shape[-1] or ops.shape(query)[-1]  # static unless C is unknown
    scores = ops.matmul(query, ops.swapaxes(key, -1, -2))  # (B, H, T, S)
    scores = scores / ops.sqrt(ops.cast(d_k, scores.dtype))
    if mask is not None and len(mask.shape) == 3 and len(scores.shape) == 4:
        mask = ops.expand_dims(mask, 1)  # (B, 1, T, S): the same for every head
    weights = masked_softmax(scores, mask)  # (B, H, T, S)
    dropped = weights
    if training and dropout_rate > 0.0:
        dropped = keras.random.dropout(weights, dropout_rate, seed=seed_generator)
    outputs = ops.matmul(dropped, value)  # (B, H, T, D_v)
    return outputs, weights


def wrong_attention_004(query, key, value, *, epsilon: float = 1e-6):
    """ERRATUM: document 004's attention formula, as printed. Do not use.

    Mirrors: document 004, section 3.2 (Attention机制的数学模型), which prints

        Attention(Q, K, V) = exp(QK^T / sqrt(d_k)) / (K^T K^T + epsilon)

    This is not attention. ``K^T K^T`` is not defined for a (S, D) key matrix
    unless S == D; the one reading that fits every shape is the squared length
    of each key, ||k_j||^2 = sum_d K[j, d]^2 (the diagonal of K K^T), so that

        weight[i, j] = exp(q_i . k_j / sqrt(d_k)) / (||k_j||^2 + epsilon).

    These weights do not sum to one over j (the tests show it); the softmax of
    document 001, section 4, divides by sum_j exp(q_i . k_j / sqrt(d_k)) instead,
    which is what `scaled_dot_product_attention` does. The printed formula
    never uses V either; the weights are multiplied by V here only so that this
    function returns what `scaled_dot_product_attention` returns.

    Args:
        query: Q, shape (B, T, D) (or (B, H, T, D)).
        key: K, shape (B, S, D).
        value: V, shape (B, S, D_v).
        epsilon: the printed formula's epsilon.

    Returns:
        A tuple ``(outputs, weights)`` of shapes (B, T, D_v) and (B, T, S).

    Example:
        >>> q = k = v = np.ones((1, 2, 4), "float32")
        >>> _, w = wrong_attention_004(q, k, v)
        >>> np.asarray(ops.sum(w, axis=-1))  # softmax weights would sum to 1
        array([[3.6945271, 3.6945271]], dtype=float32)

    Reference:
        Vaswani et al., "Attention Is All You Need" (2017), equation (1), for
        the correct formula.
    """
    d_k = query.shape[-1]
    scores = ops.matmul(query, ops.swapaxes(key, -1, -2))  # (B, T, S)
    numerator = ops.exp(scores / ops.cast(math.sqrt(d_k), scores.dtype))  # (B, T, S)
    key_norms = ops.sum(ops.square(key), axis=-1)  # (B, S): "K^T K^T"
    weights = numerator / (ops.expand_dims(key_norms, -2) + epsilon)  # (B, T, S)
    return ops.matmul(weights, value), weights  # (B, T, D_v), (B, T, S)


def _and_causal_mask(mask, query_len, key_len, *, causal, offset):
    """AND a causal mask (shifted by ``offset``) into an optional (B, T, S) mask."""
    if not causal:
        return mask
    triangle = causal_mask(query_len, key_len, offset=offset)  # (T, S)
    if mask is None:
        return ops.expand_dims(triangle, 0)  # (1, T, S)
    return ops.logical_and(ops.cast(mask, "bool"), triangle)  # (B, T, S)


@keras.saving.register_keras_serializable(package="zoo")
class DotProductAttention(keras.layers.Layer):
    """softmax(Q K^T / sqrt(d_k)) V as a layer: one head, no weights.

    Mirrors: document 001, section 4 (数学模型和公式详细讲解举例说明).

    Q, K and V are used as given (no projections), so d_k is the query's
    last dimension. Use `MultiHeadAttention` for the learned version.

    Args:
        dropout: fraction of attention weights dropped while training.
        seed: seed for the dropout.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        query: (B, T, D).
        value: (B, S, D_v).
        key: (B, S, D); defaults to ``value``.
        attention_mask: (B, T, S) boolean, True = may attend.
        use_causal_mask: also forbid attending to later positions.
        return_attention_scores: also return the weights (B, T, S).
        training: apply dropout.

    Returns:
        outputs (B, T, D_v), and the weights (B, T, S) if asked.

    Example:
        >>> layer = DotProductAttention()
        >>> x = np.random.rand(2, 5, 8).astype("float32")
        >>> tuple(layer(x, x).shape)  # (B, T, D)
        (2, 5, 8)

    Reference:
        Vaswani et al., "Attention Is All You Need" (2017), section 3.2.1.
    """

    def __init__(self, *, dropout: float = 0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.dropout = dropout
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(
        self,
        query,
        value,
        key=None,
        *,
        attention_mask=None,
        use_causal_mask=False,
        return_attention_scores=False,
        training=None,
    ):
        key = value if key is None else key
        mask = _and_causal_mask(
            attention_mask,
            query.shape[1] or ops.shape(query)[1],
            key.shape[1] or ops.shape(key)[1],
            causal=use_causal_mask,
            offset=0,
        )  # (B, T, S)
        outputs, weights = scaled_dot_product_attention(
            query,
            key,
            value,
            mask=mask,
            dropout_rate=self.dropout,
            training=training,
            seed_generator=self.seed_generator,
        )  # (B, T, D_v), (B, T, S)
        if return_attention_scores:
            return outputs, weights
        return outputs

    def get_config(self):
        return {**super().get_config(), "dropout": self.dropout, "seed": self.seed}


@keras.saving.register_keras_serializable(package="zoo")
class MultiHeadAttention(keras.layers.Layer):
    """H heads of scaled dot-product attention with learned projections.

    Mirrors: document 001, section 3 (多头自注意力) and section 4 (the formula);
    document 004, section 2.3 (Transformer模型, 多头注意力机制).

        head_h = softmax(Q W_h^Q (K W_h^K)^T / sqrt(D)) V W_h^V
        output = concat(head_1, ..., head_H) W^O

    The projections are `keras.layers.EinsumDense` layers with the same shapes
    and order as in `keras.layers.MultiHeadAttention` (query, key and value
    kernels (C, H, D) with biases (H, D); output kernel (H, D, C) with bias
    (C,)), so ``zoo_mha.set_weights(keras_mha.get_weights())`` copies a Keras
    layer exactly (tested to 1e-5).

    Cached decoding: pass ``cache``, a pair ``(keys, values)`` of (B, H,
    S_max, D) tensors holding the keys and values of the positions seen so
    far, and ``cache_index``, the position of this call's first query. The
    layer writes this call's T keys and values at positions
    cache_index..cache_index+T-1, lets query i attend cache positions
    0..cache_index+i (a cache is for causal self-attention, so the causal
    mask is implied), and also returns the updated cache. Start from
    `initial_cache`. The cache is kept in the layout the attention reads,
    heads before positions, so a step writes its T new positions and reads
    the cache as it is, without copying it into another layout.

    Args:
        num_heads: H.
        key_dim: D, the size of each query/key head. None: C // num_heads,
            read from the query in `build`.
        value_dim: size of each value head; defaults to the key head size.
        dropout: fraction of attention weights dropped while training.
        use_bias: give the four projections a bias.
        output_dim: size of the output; defaults to the query's width C.
        kernel_initializer: initializer of the projection kernels (each
            projection gets its own copy).
        bias_initializer: initializer of the biases.
        seed: seed for the dropout.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        query: (B, T, C).
        value: (B, S, C_v).
        key: (B, S, C_k); defaults to ``value``.
        attention_mask: (B, T, S) boolean, True = may attend (`zoo.layers.masks`).
            With a cache, S is S_max.
        use_causal_mask: also forbid attending to later positions.
        return_attention_scores: also return the weights, (B, H, T, S).
        training: apply dropout.
        cache: ``(keys, values)``, each (B, H, S_max, D), or None.
        cache_index: int or scalar int tensor, where this call's keys go.

    Returns:
        outputs (B, T, output_dim); then the new cache if ``cache`` was given;
        then the weights (B, H, T, S) if ``return_attention_scores``. A single
        tensor when neither was asked for, else a tuple in that order.

    Example:
        >>> mha = MultiHeadAttention(num_heads=2, key_dim=4)
        >>> x = np.random.rand(2, 5, 8).astype("float32")
        >>> tuple(mha(x, x, use_causal_mask=True).shape)  # (B, T, C)
        (2, 5, 8)

    Reference:
        Vaswani et al., "Attention Is All You Need" (2017), section 3.2.2;
        `keras.layers.MultiHeadAttention` (the weight layout).
    """

    def __init__(
        self,
        num_heads: int,
        key_dim: int | None = None,
        *,
        value_dim: int | None = None,
        dropout: float = 0.0,
        use_bias: bool = True,
        output_dim: int | None = None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(num_heads, int) or num_heads <= 0:
            raise ZooError(f"num_heads must be a positive integer, got {num_heads!r}")
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim
        self.dropout = dropout
        self.use_bias = use_bias
        self.output_dim = output_dim
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

        # Head and output sizes may depend on C; build() fills them in.
        def projection(equation, output_shape, bias_axes, name):
            return keras.layers.EinsumDense(
                equation,
                output_shape=output_shape,
                bias_axes=bias_axes if use_bias else None,
                kernel_initializer=clone_initializer(self.kernel_initializer),
                bias_initializer=clone_initializer(self.bias_initializer),
                dtype=self.dtype_policy,
                name=name,
            )

        heads = (None, num_heads, None)  # (T, H, D); D filled in by build()
        self.query_dense = projection("btc,chd->bthd", heads, "hd", "query")
        self.key_dense = projection("bsc,chd->bshd", heads, "hd", "key")
        self.value_dense = projection("bsc,chd->bshd", heads, "hd", "value")
        self.output_dense = projection(
            "bthd,hdc->btc", (None, None), "c", "attention_output"
        )  # (T, C); C filled in by build()

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        width = query_shape[-1]  # C
        head_dim = self.key_dim
        if head_dim is None:
            if width % self.num_heads:
                raise ZooError(
                    f"model width {width} is not divisible by num_heads="
                    f"{self.num_heads}; pass key_dim, or change one of them"
                )
            head_dim = width // self.num_heads
        value_head_dim = self.value_dim or head_dim
        heads = self.num_heads
        self.query_dense.partial_output_shape = (None, heads, head_dim)
        self.key_dense.partial_output_shape = (None, heads, head_dim)
        self.value_dense.partial_output_shape = (None, heads, value_head_dim)
        self.output_dense.partial_output_shape = (None, self.output_dim or width)
        self.query_dense.build(query_shape)
        self.key_dense.build(key_shape)
        self.value_dense.build(value_shape)
        self.output_dense.build((query_shape[0], query_shape[1], heads, value_head_dim))

    def call(
        self,
        query,
        value,
        key=None,
        *,
        attention_mask=None,
        use_causal_mask=False,
        return_attention_scores=False,
        training=None,
        cache=None,
        cache_index=None,
    ):
        key = value if key is None else key
        if cache is not None and query is key and key is value:
            q, k, v = self._self_projections(query)  # 3 x (B, T, H, D)
        else:
            q = dense_2d(self.query_dense, query)  # (B, T, H, D)
            k = dense_2d(self.key_dense, key)  # (B, S, H, D)
            v = dense_2d(self.value_dense, value)  # (B, S, H, D_v)
        heads_first = (0, 2, 1, 3)  # (B, T, H, D) <-> (B, H, T, D)
        q = ops.transpose(q, heads_first)  # (B, H, T, D)
        k = ops.transpose(k, heads_first)  # (B, H, S, D)
        v = ops.transpose(v, heads_first)  # (B, H, S, D_v)

        if cache is not None:
            if cache_index is None:
                raise ZooError("MultiHeadAttention: a cache needs a cache_index")
            keys, values = cache  # (B, H, S_max, D), (B, H, S_max, D_v)
            start = [0, 0, ops.cast(cache_index, "int32"), 0]
            keys = ops.slice_update(keys, start, ops.cast(k, keys.dtype))
            values = ops.slice_update(values, start, ops.cast(v, values.dtype))
            cache = (keys, values)  # positions cache_index.. written
            k, v = ops.cast(keys, q.dtype), ops.cast(values, q.dtype)

        mask = _and_causal_mask(
            attention_mask,
            q.shape[2] or ops.shape(q)[2],
            k.shape[2] or ops.shape(k)[2],
            causal=use_causal_mask or cache is not None,
            offset=0 if cache is None else cache_index,
        )  # (B, T, S)

        outputs, weights = scaled_dot_product_attention(
            q,
            k,
            v,
            mask=mask,
            dropout_rate=self.dropout,
            training=training,
            seed_generator=self.seed_generator,
        )  # (B, H, T, D_v), (B, H, T, S)
        outputs = ops.transpose(outputs, heads_first)  # (B, T, H, D_v)
        outputs = dense_2d(self.output_dense, outputs, 2)  # (B, T, output_dim)

        results = (outputs,)
        if cache is not None:
            results += (cache,)
        if return_attention_scores:
            results += (weights,)
        return results[0] if len(results) == 1 else results

    def _self_projections(self, x):
        """Q, K and V of x (B, T, C) in one matmul, as nanoGPT's ``c_attn``.

        The three kernels side by side, (C, 3HD), make one matrix product
        instead of three: decoding a token at a time, one wide product costs
        less than three narrow ones. The weights stay in their own layers
        (the concatenation is loop-invariant, so a compiled decoding loop
        does it once), and the results equal the three layers' up to float
        rounding.

        The kernels are flattened to (C, HD) *before* they are joined, so
        the product's matrix is a plain 2-D loop invariant. With a (C, 3H, D)
        kernel reshaped inside the loop, XLA on CPU turns a batch-1 step's
        vector-matrix product into a loop fusion that recomputes the
        LayerNorm feeding it for each of the 3HD outputs (6x slower).
        """
        layers = (self.query_dense, self.key_dense, self.value_dense)
        if self.key_dense.kernel.shape != self.value_dense.kernel.shape:
            return tuple(layer(x) for layer in layers)  # D_v != D: one at a time
        width, heads, head_dim = self.query_dense.kernel.shape  # C, H, D
        kernel = ops.concatenate(
            [ops.reshape(layer.kernel, (width, heads * head_dim)) for layer in layers],
            axis=1,
        )  # (C, 3HD)
        qkv = ops.matmul(x, ops.cast(kernel, x.dtype))  # (B, T, 3HD)
        if self.use_bias:
            bias = ops.concatenate([ops.reshape(layer.bias, (-1,)) for layer in layers])
            qkv = qkv + ops.cast(bias, qkv.dtype)  # (3HD,) bias
        batch, length = ops.shape(qkv)[0], ops.shape(qkv)[1]
        qkv = ops.reshape(qkv, (batch, length, 3 * heads, head_dim))  # (B, T, 3H, D)
        return ops.split(qkv, 3, axis=2)  # 3 x (B, T, H, D)

    def initial_cache(self, batch_size: int, max_length: int):
        """An empty cache for `max_length` positions (the layer must be built).

        Args:
            batch_size: B.
            max_length: S_max, the most positions the cache holds.

        Returns:
            ``(keys, values)``: zeros of shapes (B, H, S_max, D) and
            (B, H, S_max, D_v), in the layer's compute dtype.
        """
        if not self.built:
            raise ZooError(f"{self.name}: build or call the layer before initial_cache")
        slots = (batch_size, self.num_heads, max_length)  # (B, H, S_max)
        key_size = self.key_dense.kernel.shape[-1]  # D
        value_size = self.value_dense.kernel.shape[-1]  # D_v
        keys = ops.zeros((*slots, key_size), self.compute_dtype)
        values = ops.zeros((*slots, value_size), self.compute_dtype)
        return keys, values

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "output_dim": self.output_dim,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="zoo")
class AdditiveAttention(keras.layers.Layer):
    """Bahdanau attention: score(s, h) = v^T tanh(W1 s + W2 h).

    Mirrors: document 000, section 4.3 (注意力机制, attention mechanism for
    seq2seq models).

    For each decoder state s (the query) and every encoder state h_j (the
    values), a small one-hidden-layer network gives a score; a softmax over
    the source positions j (padding excluded) gives the weights a_j, and the
    context is sum_j a_j h_j:

        e_j = v^T tanh(W1 s + W2 h_j)      a = softmax(e)      c = sum_j a_j h_j

    Args:
        units: size of the hidden layer (the length of v).
        kernel_initializer: initializer of W1, W2 and v (each its own copy).
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        query: decoder states, (B, T, C) or one step (B, C).
        value: encoder states h, (B, S, C_h).
        padding_mask: (B, S) boolean, True at real source tokens
            (`zoo.layers.masks.padding_mask`).

    Returns:
        A tuple ``(context, weights)``: context (B, T, C_h) and weights
        (B, T, S), or (B, C_h) and (B, S) for a (B, C) query. Weights sum to
        one over the real source positions and are zero at padding.

    Example:
        >>> attention = AdditiveAttention(16)
        >>> s, h = np.zeros((2, 32), "float32"), np.zeros((2, 7, 64), "float32")
        >>> context, weights = attention(s, h)
        >>> tuple(context.shape), tuple(weights.shape)  # (B, C_h), (B, S)
        ((2, 64), (2, 7))

    Reference:
        Bahdanau, Cho and Bengio, "Neural Machine Translation by Jointly
        Learning to Align and Translate" (2015), appendix A.1.2.
    """

    def __init__(self, units: int, *, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

        def dense(size, name):
            return keras.layers.Dense(
                size,
                use_bias=False,
                kernel_initializer=clone_initializer(self.kernel_initializer),
                dtype=self.dtype_policy,
                name=name,
            )

        self.query_dense = dense(units, "W1")
        self.value_dense = dense(units, "W2")
        self.score_dense = dense(1, "v")

    def build(self, query_shape, value_shape):
        self.query_dense.build(query_shape)
        self.value_dense.build(value_shape)
        self.score_dense.build((None, None, None, self.units))

    def call(self, query, value, *, padding_mask=None):
        one_step = len(query.shape) == 2
        if one_step:
            query = ops.expand_dims(query, 1)  # (B, 1, C)
        w1_s = ops.expand_dims(self.query_dense(query), 2)  # (B, T, 1, units)
        w2_h = ops.expand_dims(self.value_dense(value), 1)  # (B, 1, S, units)
        scores = self.score_dense(ops.tanh(w1_s + w2_h))  # (B, T, S, 1)
        scores = ops.squeeze(scores, -1)  # (B, T, S)
        mask = attention_mask(key_padding=padding_mask)  # (B, 1, S) or None
        weights = masked_softmax(scores, mask)  # (B, T, S)
        context = ops.matmul(weights, value)  # (B, T, C_h)
        if one_step:
            return ops.squeeze(context, 1), ops.squeeze(weights, 1)  # (B, C_h), (B, S)
        return context, weights

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


@keras.saving.register_keras_serializable(package="zoo")
class LuongAttention(keras.layers.Layer):
    """Luong's "general" score, scaled: e_ts = s_t^T W_a h_s / sqrt(d).

    Mirrors: document 001, section 4 (Attention(Q, K, V) = softmax(QK^T /
    sqrt(d_k)) V) with Q = s W_a (the decoder states, projected to the
    encoder's width d) and K = V = h (the encoder states).

    Luong et al. (2015) score a decoder state s_t against an encoder state
    h_s three ways: "dot" s_t^T h_s, "general" s_t^T W_a h_s and "concat"
    (Bahdanau's additive score, `AdditiveAttention`). This layer computes
    the "general" score with a learned (U, d) matrix W_a, and divides it by
    sqrt(d) as the Transformer's scaled dot product does, so that the softmax
    does not saturate when d is large (Luong's own score is not scaled). With
    W_a the identity (and U = d) it would be the plain "dot" score. The
    weights are a softmax over the real source positions; the context is
    sum_s a_ts h_s.

    Takes the same arguments and returns the same results as
    `AdditiveAttention`, so a model can use either.

    Args:
        kernel_initializer: initializer of W_a.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        query: decoder states s, (B, T, U) or one step (B, U).
        value: encoder states h, (B, S, d).
        padding_mask: (B, S) boolean, True at real source tokens
            (`zoo.layers.masks.padding_mask`).

    Returns:
        ``(context, weights)``: (B, T, d) and (B, T, S), or (B, d) and (B, S)
        for a one-step query. Weights sum to one over the real source
        positions and are zero at padding.

    Example:
        >>> attention = LuongAttention()
        >>> s, h = np.zeros((2, 32), "float32"), np.zeros((2, 7, 64), "float32")
        >>> context, weights = attention(s, h)
        >>> tuple(context.shape), tuple(weights.shape)  # (B, d), (B, S)
        ((2, 64), (2, 7))

    Reference:
        Luong, Pham and Manning, "Effective Approaches to Attention-based
        Neural Machine Translation" (2015), section 3.1, equation (8);
        Vaswani et al. (2017), section 3.2.1, for the 1 / sqrt(d) scaling.
    """

    def __init__(self, *, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.query_dense = None  # W_a: (U, d), d read from the values in build()

    def build(self, query_shape, value_shape):
        self.query_dense = keras.layers.Dense(
            value_shape[-1],
            use_bias=False,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            dtype=self.dtype_policy,
            name="W_a",
        )
        self.query_dense.build(query_shape)

    def call(self, query, value, *, padding_mask=None):
        one_step = len(query.shape) == 2
        if one_step:
            query = ops.expand_dims(query, 1)  # (B, 1, U)
        mask = attention_mask(key_padding=padding_mask)  # (B, 1, S) or None
        context, weights = scaled_dot_product_attention(
            self.query_dense(query), value, value, mask=mask
        )  # s W_a h^T / sqrt(d): (B, T, d), (B, T, S)
        if one_step:
            return ops.squeeze(context, 1), ops.squeeze(weights, 1)  # (B, d), (B, S)
        return context, weights

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


# Models saved before the rename call this layer "zoo>DotAttention".
keras.saving.get_custom_objects()["zoo>DotAttention"] = LuongAttention
