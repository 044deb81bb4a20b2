"""Transformer encoder and decoder blocks.

Mirrors: document 004, section 2.3 (Transformer模型): a block is multi-head
attention (多头注意力机制), a feed-forward network (前馈神经网络, FFN) and
residual connections (残差连接), with layer normalisation (document 001,
section 3, step 4, 层归一化). Document 004's own listing (section 4.2) stacks
these layers without residual connections, has no causal mask, and joins
encoder and decoder with a `Concatenate` it never imports; these blocks are
what that listing should have been.

Each sub-layer f (attention, cross-attention, feed-forward) is wrapped as

    post-norm (Vaswani et al., the default):   x = LayerNorm(x + Dropout(f(x)))
    pre-norm  (GPT-2, ``norm_first=True``):     x = x + Dropout(f(LayerNorm(x)))

A pre-norm stack needs one more LayerNorm after its last block; that belongs
to the model, not the block.

Shape letters: B batch, T target length, S source length, C model width,
H heads, D head size (C // H).
"""

from __future__ import annotations

import keras

from zoo.errors import ZooError
from zoo.layers.attention import MultiHeadAttention, dense_2d
from zoo.layers.initializers import clone_initializer
from zoo.layers.masks import attention_mask


class _Block(keras.layers.Layer):
    """What encoder and decoder blocks share: arguments and sub-layer helpers."""

    def __init__(
        self,
        num_heads: int,
        ff_dim: int,
        *,
        dropout: float = 0.0,
        norm_first: bool = False,
        layer_norm_epsilon: float = 1e-6,
        activation="relu",
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.ff_dim = ff_dim
        self.dropout = dropout
        self.norm_first = norm_first
        self.layer_norm_epsilon = layer_norm_epsilon
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def _attention(self, name):
        return MultiHeadAttention(
            self.num_heads,
            None,  # D = C // H, read from the input in build()
            dropout=self.dropout,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name=name,
        )

    def _norm(self, name):
        return keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name=name
        )

    def _dropout(self, name):
        return keras.layers.Dropout(self.dropout, dtype=self.dtype_policy, name=name)

    def _make_feed_forward(self):
        self.feed_forward_inner = keras.layers.Dense(
            self.ff_dim,
            activation=self.activation,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name="feed_forward_inner",
        )
        self.feed_forward_output = keras.layers.EinsumDense(
            "btf,fc->btc",
            output_shape=(None, None),  # (T, C); C filled in by build()
            bias_axes="c",
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name="feed_forward_output",
        )
        self.feed_forward_norm = self._norm("feed_forward_norm")
        self.feed_forward_dropout = self._dropout("feed_forward_dropout")

    def _build_feed_forward(self, input_shape):
        width = input_shape[-1]  # C
        self.feed_forward_inner.build(input_shape)
        self.feed_forward_output.partial_output_shape = (None, width)
        self.feed_forward_output.build((*input_shape[:-1], self.ff_dim))
        self.feed_forward_norm.build(input_shape)

    def _residual(self, x, norm, dropout, sublayer, training):
        """x + Dropout(f(x)), with the LayerNorm before f or after the sum."""
        y = norm(x) if self.norm_first else x
        y, *extra = sublayer(y)
        x = x + dropout(y, training=training)  # (B, T, C)
        return (x if self.norm_first else norm(x)), extra

    def _feed_forward(self, x):
        h = self.feed_forward_inner(x)  # (B, T, ff_dim)
        return (dense_2d(self.feed_forward_output, h),)  # (B, T, C)

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "ff_dim": self.ff_dim,
            "dropout": self.dropout,
            "norm_first": self.norm_first,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "activation": keras.activations.serialize(self.activation),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }


@keras.saving.register_keras_serializable(package="zoo")
class TransformerEncoderBlock(_Block):
    """Self-attention over the whole sequence, then a feed-forward network.

    Mirrors: document 004, section 2.3 (Transformer模型: 多头注意力机制, 前馈神经网络,
    残差连接); document 001, section 3 (多头自注意力, 层归一化).

    Every position attends to every real (non-padding) position, both
    directions. The model width C is the input's last dimension; each head
    has size C // num_heads.

    Args:
        num_heads: H; must divide C.
        ff_dim: width of the feed-forward hidden layer (4 C in the paper).
        dropout: dropout on attention weights and on each sub-layer's output.
        norm_first: pre-norm (True) instead of post-norm (False, the paper's).
        layer_norm_epsilon: epsilon of the LayerNormalization layers.
        activation: of the feed-forward hidden layer ("relu"; "gelu" in BERT).
        kernel_initializer: of every kernel (each layer its own copy).
        bias_initializer: of every bias.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        x: (B, T, C).
        padding_mask: (B, T) boolean, True at real tokens
            (`zoo.layers.masks.padding_mask`); padded keys are not attended.
        return_attention_scores: also return {"self": (B, H, T, T)}.
        training: apply dropout.

    Returns:
        (B, T, C), and the scores dict if asked.

    Example:
        >>> block = TransformerEncoderBlock(num_heads=2, ff_dim=64)
        >>> tuple(block(np.zeros((2, 10, 16), "float32")).shape)  # (B, T, C)
        (2, 10, 16)

    Reference:
        Vaswani et al., "Attention Is All You Need" (2017), section 3.1;
        Xiong et al., "On Layer Normalization in the Transformer Architecture"
        (2020) for pre-norm.
    """

    def __init__(
        self,
        num_heads: int,
        ff_dim: int,
        *,
        dropout: float = 0.0,
        norm_first: bool = False,
        layer_norm_epsilon: float = 1e-6,
        activation="relu",
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(
            num_heads,
            ff_dim,
            dropout=dropout,
            norm_first=norm_first,
            layer_norm_epsilon=layer_norm_epsilon,
            activation=activation,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            **kwargs,
        )
        self.self_attention = self._attention("self_attention")
        self.self_attention_norm = self._norm("self_attention_norm")
        self.self_attention_dropout = self._dropout("self_attention_dropout")
        self._make_feed_forward()

    def build(self, input_shape):
        self.self_attention.build(input_shape, input_shape)
        self.self_attention_norm.build(input_shape)
        self._build_feed_forward(input_shape)

    def call(
        self, x, *, padding_mask=None, return_attention_scores=False, training=None
    ):
        mask = attention_mask(key_padding=padding_mask)  # (B, 1, T) or None

        def attend(y):
            return self.self_attention(
                y,
                y,
                attention_mask=mask,
                return_attention_scores=True,
                training=training,
            )  # (B, T, C), (B, H, T, T)

        x, (scores,) = self._residual(
            x, self.self_attention_norm, self.self_attention_dropout, attend, training
        )  # (B, T, C)
        x, _ = self._residual(
            x,
            self.feed_forward_norm,
            self.feed_forward_dropout,
            self._feed_forward,
            training,
        )  # (B, T, C)
        if return_attention_scores:
            return x, {"self": scores}
        return x

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="zoo")
class TransformerDecoderBlock(_Block):
    """Causal self-attention, optional cross-attention, then a feed-forward net.

    Mirrors: document 004, section 2.3 (Transformer模型); the decoder of
    document 001, section 3, step 6 (解码器).

    Self-attention is **always causal**: there is no argument to turn it off
    (docs/pitfalls.md #6), so a decoder can never see the future. With
    ``cross_attention=True`` (an encoder-decoder model) a second attention
    lets each target position look at the encoder outputs; it is masked with
    the *encoder's* padding mask (docs/pitfalls.md #7). Without it (GPT) the block is
    self-attention and feed-forward only.

    Cached decoding: pass ``cache``, the self-attention's keys and values
    (`initial_cache` at the start), and ``cache_index``, the position of x's
    first token; the block returns the updated cache as well. Fed one token
    at a time, or a prompt at once and then one token at a time, it computes
    what it computes on the whole sequence (tested). The cross-attention keys
    and values are recomputed from ``encoder_outputs`` at each step.

    Args:
        num_heads: H; must divide C.
        ff_dim: width of the feed-forward hidden layer.
        dropout: dropout on attention weights and on each sub-layer's output.
        norm_first: pre-norm (True) instead of post-norm (False, the paper's).
        cross_attention: add attention over encoder outputs.
        layer_norm_epsilon: epsilon of the LayerNormalization layers.
        activation: of the feed-forward hidden layer.
        kernel_initializer: of every kernel (each layer its own copy).
        bias_initializer: of every bias.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        x: (B, T, C) target embeddings.
        encoder_outputs: (B, S, C_enc); required if and only if
            ``cross_attention``.
        self_padding_mask: (B, T) boolean, True at real target tokens (with a
            cache: (B, S_max), over cache positions).
        encoder_padding_mask: (B, S) boolean, True at real source tokens.
        cache: ``(keys, values)``, each (B, H, S_max, D): the self-attention
            keys and values so far (see `MultiHeadAttention`), or None.
        cache_index: where x's first token goes in the cache.
        return_attention_scores: also return {"self": (B, H, T, T or S_max),
            "cross": (B, H, T, S)}.
        training: apply dropout.

    Returns:
        (B, T, C); then the new cache if ``cache`` was given; then the scores
        dict if asked. A single tensor when neither, else a tuple in that order.

    Example:
        >>> block = TransformerDecoderBlock(num_heads=2, ff_dim=64)
        >>> x, memory = np.zeros((2, 6, 16), "f4"), np.zeros((2, 9, 16), "f4")
        >>> tuple(block(x, encoder_outputs=memory).shape)  # (B, T, C)
        (2, 6, 16)

    Reference:
        Vaswani et al., "Attention Is All You Need" (2017), section 3.1.
    """

    def __init__(
        self,
        num_heads: int,
        ff_dim: int,
        *,
        dropout: float = 0.0,
        norm_first: bool = False,
        cross_attention: bool = True,
        layer_norm_epsilon: float = 1e-6,
        activation="relu",
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(
            num_heads,
            ff_dim,
            dropout=dropout,
            norm_first=norm_first,
            layer_norm_epsilon=layer_norm_epsilon,
            activation=activation,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            **kwargs,
        )
        self.cross_attention = cross_attention
        self.self_attention = self._attention("self_attention")
        self.self_attention_norm = self._norm("self_attention_norm")
        self.self_attention_dropout = self._dropout("self_attention_dropout")
        if cross_attention:
            self.cross_attention_layer = self._attention("cross_attention")
            self.cross_attention_norm = self._norm("cross_attention_norm")
            self.cross_attention_dropout = self._dropout("cross_attention_dropout")
        self._make_feed_forward()

    def build(self, x_shape, encoder_outputs_shape=None):
        self.self_attention.build(x_shape, x_shape)
        self.self_attention_norm.build(x_shape)
        if self.cross_attention:
            memory_shape = encoder_outputs_shape or x_shape  # (B, S, C_enc)
            self.cross_attention_layer.build(x_shape, memory_shape)
            self.cross_attention_norm.build(x_shape)
        self._build_feed_forward(x_shape)

    def call(
        self,
        x,
        *,
        encoder_outputs=None,
        self_padding_mask=None,
        encoder_padding_mask=None,
        cache=None,
        cache_index=None,
        return_attention_scores=False,
        training=None,
    ):
        if self.cross_attention and encoder_outputs is None:
            raise ZooError(f"{self.name}: cross_attention=True needs encoder_outputs")
        if not self.cross_attention and encoder_outputs is not None:
            raise ZooError(
                f"{self.name}: encoder_outputs given, but the block was built "
                "with cross_attention=False"
            )
        scores = {}
        self_mask = attention_mask(key_padding=self_padding_mask)  # (B, 1, T)

        def attend_self(y):
            return self.self_attention(
                y,
                y,
                attention_mask=self_mask,
                use_causal_mask=True,  # always: docs/pitfalls.md #6
                return_attention_scores=True,
                training=training,
                cache=cache,
                cache_index=cache_index,
            )  # (B, T, C), [new cache], (B, H, T, T or S_max)

        x, extra = self._residual(
            x,
            self.self_attention_norm,
            self.self_attention_dropout,
            attend_self,
            training,
        )  # (B, T, C)
        new_cache = extra[0] if cache is not None else None
        scores["self"] = extra[-1]

        if self.cross_attention:
            cross_mask = attention_mask(key_padding=encoder_padding_mask)  # (B, 1, S)

            def attend_encoder(y):
                return self.cross_attention_layer(
                    y,
                    encoder_outputs,
                    attention_mask=cross_mask,
                    return_attention_scores=True,
                    training=training,
                )  # (B, T, C), (B, H, T, S)

            x, (scores["cross"],) = self._residual(
                x,
                self.cross_attention_norm,
                self.cross_attention_dropout,
                attend_encoder,
                training,
            )  # (B, T, C)

        x, _ = self._residual(
            x,
            self.feed_forward_norm,
            self.feed_forward_dropout,
            self._feed_forward,
            training,
        )  # (B, T, C)

        results = (x,)
        if cache is not None:
            results += (new_cache,)
        if return_attention_scores:
            results += (scores,)
        return results[0] if len(results) == 1 else results

    def initial_cache(self, batch_size: int, max_length: int):
        """An empty self-attention cache for `max_length` positions: a pair
        of (B, H, S_max, D) zeros (`MultiHeadAttention.initial_cache`)."""
        return self.self_attention.initial_cache(batch_size, max_length)

    def get_config(self):
        return {**super().get_config(), "cross_attention": self.cross_attention}
