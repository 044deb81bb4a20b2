"""Position information for attention models, which otherwise see a bag of tokens.

Mirrors: document 001, section 3 (核心算法原理具体操作步骤), step 2 (位置编码):
"为输入嵌入添加位置信息，以保留序列中的顺序关系". The embeddings they are added to
(step 1, 输入嵌入) are in `zoo.layers.embedding`.

* `SinusoidalPositionalEncoding`: the fixed sine/cosine table of Vaswani et al.
* `check_length`: the one check that an input fits a position table, also
  used by the learned positions of `zoo.layers.embedding`.

The encoding takes a ``position_offset`` call argument: during cached
generation the model sees one new token at a time, and that token's position
is the number of tokens already in the cache, not 0.

A position table has ``max_length`` rows. A longer input is refused with a
`ZooError` naming both lengths (docs/pitfalls.md #11). Under XLA every shape is static,
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
