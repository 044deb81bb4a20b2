"""Position information for attention models, which otherwise see a bag of tokens.

Mirrors: document 001, section 3 (核心算法原理具体操作步骤), steps 1 (输入嵌入) and
2 (位置编码): "为输入嵌入添加位置信息，以保留序列中的顺序关系".

* `SinusoidalPositionalEncoding`: the fixed sine/cosine table of Vaswani et al.
* `TokenAndPositionEmbedding`: token embedding plus a sinusoidal or learned
  position embedding, the input layer of every zoo Transformer.

Both take a ``position_offset`` call argument: during cached generation the
model sees one new token at a time, and that token's position is the number of
tokens already in the cache, not 0.

A position table has ``max_length`` rows. A longer input is refused with a
`ZooError` naming both lengths (PITFALLS #11). Under XLA every shape is static,
so the check is made when the layer is traced; only a position offset that is
a tensor inside compiled code (the cache index of a compiled generation loop)
cannot be checked, and the caller must keep it in range.

Shape letters: B batch, T length, C model width (= E, the embedding size).
"""

from __future__ import annotations

import math

import keras
from keras import ops

from zoo.errors import ZooError
from zoo.layers.attention import _clone_initializer


def _static_int(x):
    """x as a Python int if it is known now (an int or eager tensor), else None."""
    if x is None or isinstance(x, int):
        return x
    try:
        return int(x)
    except (TypeError, ValueError, NotImplementedError):
        return None  # a symbolic tensor inside a traced or compiled function


def check_length(length, max_length: int, position_offset=0) -> None:
    """Raise `ZooError` if positions offset..offset+length-1 do not fit the table.

    Args:
        length: T, the input length (an int, or None if not known yet).
        max_length: number of positions the table has.
        position_offset: position of the first token.

    Raises:
        ZooError: naming the input length, the offset and ``max_length``.
    """
    length, offset = _static_int(length), _static_int(position_offset)
    if length is None or offset is None:
        return
    if length + offset > max_length:
        at = f" starting at position {offset}" if offset else ""
        raise ZooError(
            f"input of length {length}{at} is longer than max_length={max_length} "
            f"of the position table: crop the input to its last "
            f"{max(max_length - offset, 0)} tokens, or build the model with "
            f"max_length >= {length + offset}"
        )


@keras.saving.register_keras_serializable(package="zoo")
class SinusoidalPositionalEncoding(keras.layers.Layer):
    """Adds the sine/cosine position encoding of Vaswani et al. to its input.

    Mirrors: document 001, section 3, step 2 (位置编码).

        PE(pos, 2i)   = sin(pos / base^(2i / C))
        PE(pos, 2i+1) = cos(pos / base^(2i / C))

    Each pair of channels is a rotation at its own frequency, from one turn
    per 2*pi positions (i = 0) down to one per 2*pi*base positions. Nothing is
    learned, so the table is computed in `call` (it is not a weight).

    Args:
        max_length: the most positions the encoding accepts; a longer input
            raises a `ZooError`. (The formula has no limit; the check keeps
            sinusoidal and learned positions interchangeable.)
        base: the base of the wavelengths, 10000 in the paper.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        inputs: (B, T, C) embeddings.
        position_offset: position of the first token (int or scalar tensor).

    Returns:
        ``inputs + PE[offset : offset + T]``, shape (B, T, C).

    Example:
        >>> layer = SinusoidalPositionalEncoding(max_length=128)
        >>> tuple(layer(np.zeros((2, 10, 16), "float32")).shape)  # (B, T, C)
        (2, 10, 16)

    Reference:
        Vaswani et al., "Attention Is All You Need" (2017), section 3.5.
    """

    def __init__(self, max_length: int, *, base: float = 10000.0, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.base = base

    def encoding(self, length, width, position_offset=0):
        """The table PE[offset : offset + length], shape (T, C), in float32."""
        positions = ops.cast(
            ops.arange(length, dtype="int32") + ops.cast(position_offset, "int32"),
            "float32",
        )  # (T,)
        channels = ops.arange(width, dtype="int32")  # (C,)
        pair = ops.cast(channels // 2, "float32")  # i, the same for 2i and 2i+1
        frequencies = ops.exp(-math.log(self.base) * 2.0 * pair / width)  # (C,)
        angles = ops.expand_dims(positions, 1) * frequencies  # (T, C)
        is_even = ops.equal(channels % 2, 0)  # (C,)
        return ops.where(is_even, ops.sin(angles), ops.cos(angles))  # (T, C)

    def call(self, inputs, *, position_offset=0):
        length = inputs.shape[1]  # static under XLA; None only for symbolic input
        check_length(length, self.max_length, position_offset)
        if length is None:
            length = ops.shape(inputs)[1]
        table = self.encoding(length, inputs.shape[-1], position_offset)  # (T, C)
        return inputs + ops.cast(table, inputs.dtype)  # (B, T, C)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "max_length": self.max_length,
            "base": self.base,
        }


@keras.saving.register_keras_serializable(package="zoo")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Token embedding (scaled by sqrt(E)) plus a position embedding.

    Mirrors: document 001, section 3, steps 1 (输入嵌入) and 2 (位置编码).

    Token ids become vectors (a `keras.layers.Embedding` of ``vocab_size``
    rows), optionally multiplied by sqrt(E) as in Vaswani et al. section 3.4,
    and position p adds either the sinusoidal encoding (Transformer) or a
    learned vector, row p of a second `keras.layers.Embedding` (GPT, BERT).

    No Keras mask is produced (``compute_mask`` returns None): zoo passes
    padding and causal masks to attention explicitly (`zoo.layers.masks`), so
    a mask is never silently attached to, or lost from, a tensor.

    Args:
        vocab_size: V, the number of token ids.
        max_length: the most positions; a longer input raises a `ZooError`.
        embedding_dim: E (= C, the model width).
        positional: "sinusoidal" (fixed) or "learned".
        scale_embeddings: multiply token vectors by sqrt(E) before adding
            positions (Vaswani et al.); GPT-style models pass False.
        embeddings_initializer: initializer of the token (and learned
            position) embeddings, each its own copy.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        token_ids: (B, T) integer ids.
        position_offset: position of the first token, for cached decoding.

    Returns:
        (B, T, E) embeddings.

    Example:
        >>> layer = TokenAndPositionEmbedding(65, 128, 32, positional="learned")
        >>> tuple(layer(np.array([[1, 2, 3]])).shape)  # (B, T, E)
        (1, 3, 32)

    Reference:
        Vaswani et al. (2017), sections 3.4 and 3.5; Radford et al., "Language
        Models are Unsupervised Multitask Learners" (2019) for learned positions.
    """

    def __init__(
        self,
        vocab_size: int,
        max_length: int,
        embedding_dim: int,
        *,
        positional: str = "sinusoidal",
        scale_embeddings: bool = True,
        embeddings_initializer="uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if positional not in ("sinusoidal", "learned"):
            raise ZooError(
                f'positional must be "sinusoidal" or "learned", got {positional!r}'
            )
        self.vocab_size = vocab_size
        self.max_length = max_length
        self.embedding_dim = embedding_dim
        self.positional = positional
        self.scale_embeddings = scale_embeddings
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)

        self.token_embedding = keras.layers.Embedding(
            vocab_size,
            embedding_dim,
            embeddings_initializer=_clone_initializer(self.embeddings_initializer),
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        if positional == "learned":
            self.position_embedding = keras.layers.Embedding(
                max_length,
                embedding_dim,
                embeddings_initializer=_clone_initializer(self.embeddings_initializer),
                dtype=self.dtype_policy,
                name="position_embedding",
            )
        else:
            self.position_embedding = SinusoidalPositionalEncoding(
                max_length, dtype=self.dtype_policy, name="position_embedding"
            )

    def build(self, input_shape):
        self.token_embedding.build(input_shape)
        if self.positional == "learned":
            self.position_embedding.build((self.max_length,))
        else:
            self.position_embedding.build((*input_shape, self.embedding_dim))

    def call(self, token_ids, *, position_offset=0):
        x = self.token_embedding(token_ids)  # (B, T, E)
        if self.scale_embeddings:
            x = x * ops.cast(math.sqrt(self.embedding_dim), x.dtype)
        if self.positional == "sinusoidal":
            return self.position_embedding(x, position_offset=position_offset)
        length = token_ids.shape[1]
        check_length(length, self.max_length, position_offset)
        if length is None:
            length = ops.shape(token_ids)[1]
        positions = ops.arange(length, dtype="int32") + ops.cast(
            position_offset, "int32"
        )  # (T,)
        return x + ops.expand_dims(self.position_embedding(positions), 0)  # (B, T, E)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.embedding_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "max_length": self.max_length,
            "embedding_dim": self.embedding_dim,
            "positional": self.positional,
            "scale_embeddings": self.scale_embeddings,
            "embeddings_initializer": keras.initializers.serialize(
                self.embeddings_initializer
            ),
        }
