"""Token embeddings: ids -> vectors, and (tied) vectors -> logits.

Mirrors: document 001, section 3 (核心算法原理具体操作步骤), step 1 (输入嵌入),
with the positions of step 2 (位置编码, `zoo.layers.positional`) added; and
document 003, section 4 (数学模型和公式详细讲解举例说明), whose score of a next
word, s(w_{t+1}, h_t) = w_{t+1}^T h_t, is the embedding run backwards.

* `TokenAndPositionEmbedding`: token embedding plus a sinusoidal or learned
  position embedding, the input layer of every zoo Transformer.
* `TiedEmbedding`: the same, and called with ``reverse=True`` the output
  layer too, h W_E^T (GPT, BERT: "weight tying").

Both take a ``position_offset`` call argument: during cached generation the
model sees one new token at a time, and that token's position is the number of
tokens already in the cache, not 0. A longer input than the position table
is refused with a `ZooError` (`zoo.layers.positional.check_length`).

Shape letters: B batch, T length, C model width (= E, the embedding size),
V vocabulary.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from zoo.errors import ZooError
from zoo.layers.initializers import clone_initializer
from zoo.layers.positional import SinusoidalPositionalEncoding, check_length


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
            embeddings_initializer=clone_initializer(self.embeddings_initializer),
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        if positional == "learned":
            self.position_embedding = keras.layers.Embedding(
                max_length,
                embedding_dim,
                embeddings_initializer=clone_initializer(self.embeddings_initializer),
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


@keras.saving.register_keras_serializable(package="zoo")
class TiedEmbedding(TokenAndPositionEmbedding):
    """Token + position embedding that also runs backwards, to logits.

    Mirrors: document 003, section 4: s(w_{t+1}, h_t) = w_{t+1}^T h_t.

    Called forwards on ids it is `TokenAndPositionEmbedding`. Called with
    ``reverse=True`` on hidden states h (B, T, C) it returns
    ``h W_E^T (+ b)``, (B, T, V): the score of every token is the dot product
    of its own embedding row with h. With ``tie_embeddings=True`` (the
    default) no output matrix exists at all; the one embedding matrix gets
    gradients from both uses. A model calls this one layer twice, first and
    last (`zoo.models.gpt.build_gpt`, `zoo.models.bert.build_bert_mlm`).

    Args:
        vocab_size: V.
        max_length: positions in the position table (the context length).
        embedding_dim: C.
        tie_embeddings: reuse the token embedding for the output (True), or
            give the output its own (C, V) matrix (False, for comparison).
            The factories' argument of the same name is passed here.
        output_bias: add a learned bias of V numbers to the logits (BERT's
            MLM head has one; GPT-2 has none).
        **kwargs: passed to `TokenAndPositionEmbedding` (``positional``,
            ``scale_embeddings``, ``embeddings_initializer``, ``name``...).

    Call arguments:
        inputs: (B, T) ids, or (B, T, C) hidden states with ``reverse=True``.
        position_offset: position of the first token (forwards only).
        reverse: project hidden states to logits.

    Returns:
        (B, T, C) embeddings, or (B, T, V) logits with ``reverse=True``.

    Example:
        >>> layer = TiedEmbedding(65, 64, 32, positional="learned")
        >>> h = layer(np.array([[7, 8, 9]]))  # (B, T, C)
        >>> tuple(layer(h, reverse=True).shape)  # (B, T, V)
        (1, 3, 65)

    Reference:
        Press and Wolf, "Using the Output Embedding to Improve Language
        Models" (2016); Radford et al., "Language Models are Unsupervised
        Multitask Learners" (2019); `keras.layers.ReversibleEmbedding`.
    """

    def __init__(
        self,
        vocab_size: int,
        max_length: int,
        embedding_dim: int,
        *,
        tie_embeddings: bool = True,
        output_bias: bool = False,
        **kwargs,
    ):
        super().__init__(vocab_size, max_length, embedding_dim, **kwargs)
        self.tie_embeddings = tie_embeddings
        self.output_bias = output_bias

    def build(self, input_shape):
        super().build(input_shape)
        if not self.tie_embeddings:
            self.output_kernel = self.add_weight(
                shape=(self.embedding_dim, self.vocab_size),  # (C, V)
                initializer=clone_initializer(self.embeddings_initializer),
                name="output_kernel",
            )
        if self.output_bias:
            self.bias = self.add_weight(
                shape=(self.vocab_size,), initializer="zeros", name="output_bias"
            )

    def call(self, inputs, *, position_offset=0, reverse=False):
        if not reverse:
            return super().call(inputs, position_offset=position_offset)  # (B, T, C)
        if self.tie_embeddings:
            kernel = ops.transpose(self.token_embedding.embeddings)  # W_E^T: (C, V)
        else:
            kernel = self.output_kernel  # (C, V)
        logits = ops.matmul(inputs, ops.cast(kernel, inputs.dtype))  # (B, T, V)
        if self.output_bias:
            logits = logits + ops.cast(self.bias, logits.dtype)
        return logits

    def compute_output_spec(self, inputs, *, position_offset=0, reverse=False):
        if reverse:
            shape = (*inputs.shape[:-1], self.vocab_size)  # (B, T, V)
        else:
            shape = (*inputs.shape, self.embedding_dim)  # (B, T, C)
        return keras.KerasTensor(shape, dtype=self.compute_dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "tie_embeddings": self.tie_embeddings,
            "output_bias": self.output_bias,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "tie_weights" in config:  # the argument's name in files saved before
            config["tie_embeddings"] = config.pop("tie_weights")
        return super().from_config(config)
