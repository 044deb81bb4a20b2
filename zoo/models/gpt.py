"""GPT: a decoder-only Transformer language model whose output layer is its input.

Mirrors: document 003, section 4 (数学模型和公式详细讲解举例说明):

    P(w_{t+1} | w_t, ..., w_1) = exp(s(w_{t+1}, h_t)) / Z(w_t),
    s(w_{t+1}, h_t) = w_{t+1}^T h_t

The score of a candidate next word is the dot product of **its embedding
vector** w_{t+1} with the hidden state h_t. Stack every word's vector as the
rows of the token-embedding matrix W_E (V, C) and all V scores are one matrix
product, ``logits = h_t W_E^T``; Z is the softmax's sum over the vocabulary.
So the output layer has no weights of its own: it is the input embedding run
backwards (`TiedEmbedding`, "weight tying", Press and Wolf 2016, used by
GPT-2).

The model (GPT-2's layout, pre-norm):

    token_ids (B, T)
    -> embedding: token vector + learned position vector        (B, T, C)
    -> num_layers x TransformerDecoderBlock (causal, no cross-attention)
    -> final LayerNorm                                          (B, T, C)
    -> embedding run backwards: h W_E^T                         (B, T, V) logits

Document 003's section 5 calls a bidirectional GRU "GPT-2"; that is listing
003-s5 in `zoo.listings`, and this module is what the text describes.

Shape letters: B batch, T length, C model width (= E), H heads, D head size,
L layers, V vocabulary, S_max the context length (cache slots).
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.errors import ZooError
from zoo.layers.attention import _clone_initializer
from zoo.layers.positional import TokenAndPositionEmbedding
from zoo.layers.transformer import TransformerDecoderBlock, TransformerEncoderBlock
from zoo.models._checks import check_dropout, check_heads, check_positive

# --- the tied embedding ----------------------------------------------------------


@keras.saving.register_keras_serializable(package="zoo")
class TiedEmbedding(TokenAndPositionEmbedding):
    """Token + position embedding that also runs backwards, to logits.

    Mirrors: document 003, section 4: s(w_{t+1}, h_t) = w_{t+1}^T h_t.

    Called forwards on ids it is `TokenAndPositionEmbedding`. Called with
    ``reverse=True`` on hidden states h (B, T, C) it returns
    ``h W_E^T (+ b)``, (B, T, V): the score of every token is the dot product
    of its own embedding row with h. With ``tie_weights=True`` (the default)
    no output matrix exists at all; the one embedding matrix gets gradients
    from both uses. A model calls this one layer twice, first and last
    (`build_gpt`, `zoo.models.bert.build_bert_mlm`).

    Args:
        vocab_size: V.
        max_length: positions in the position table (the context length).
        embedding_dim: C.
        tie_weights: reuse the token embedding for the output (True), or give
            the output its own (C, V) matrix (False, for comparison).
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
        tie_weights: bool = True,
        output_bias: bool = False,
        **kwargs,
    ):
        super().__init__(vocab_size, max_length, embedding_dim, **kwargs)
        self.tie_weights = tie_weights
        self.output_bias = output_bias

    def build(self, input_shape):
        super().build(input_shape)
        if not self.tie_weights:
            self.output_kernel = self.add_weight(
                shape=(self.embedding_dim, self.vocab_size),  # (C, V)
                initializer=_clone_initializer(self.embeddings_initializer),
                name="output_kernel",
            )
        if self.output_bias:
            self.bias = self.add_weight(
                shape=(self.vocab_size,), initializer="zeros", name="output_bias"
            )

    def call(self, inputs, *, position_offset=0, reverse=False):
        if not reverse:
            return super().call(inputs, position_offset=position_offset)  # (B, T, C)
        if self.tie_weights:
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
            "tie_weights": self.tie_weights,
            "output_bias": self.output_bias,
        }


# --- presets ----------------------------------------------------------------------

# Readable sizes, one row per preset. "laptop" is the default of `build_gpt`;
# "gpt2_small" is GPT-2's smallest published size, for comparison only (124 M
# parameters with GPT-2's 50257-token vocabulary; far too slow for a laptop CPU).
GPT_PRESETS: dict[str, dict] = {
    "tiny": {  # tests and fast notebooks: compiles and trains in seconds
        "context_length": 16,
        "embedding_dim": 16,
        "num_heads": 2,
        "num_layers": 2,
        "ff_dim": 32,
    },
    "laptop": {  # a character model for a 2-4 core laptop CPU
        "context_length": 64,
        "embedding_dim": 128,
        "num_heads": 4,
        "num_layers": 4,
        "ff_dim": 512,
    },
    "gpt2_small": {  # Radford et al. (2019), table 2, smallest model
        "context_length": 1024,
        "embedding_dim": 768,
        "num_heads": 12,
        "num_layers": 12,
        "ff_dim": 3072,
    },
}


def build_gpt(
    vocab_size: int,
    *,
    context_length: int = 64,
    embedding_dim: int = 128,
    num_heads: int = 4,
    num_layers: int = 4,
    ff_dim: int = 512,
    dropout: float = 0.0,
    positional: str = "learned",
    tie_embeddings: bool = True,
    compile: bool = True,
    name: str = "gpt",
    **compile_kwargs,
) -> keras.Model:
    """Build a GPT (decoder-only, causal Transformer) language model; logits out.

    Mirrors: document 003, section 4 (数学模型和公式详细讲解举例说明):
    P(w_{t+1} | w_t..w_1) = exp(w_{t+1}^T h_t) / Z, with the output layer
    sharing the token embedding (``tie_embeddings=True``).
    Defaults from: the "laptop" row of `GPT_PRESETS` (4 layers, 4 heads, width
    128, context 64; a character model that trains on a laptop CPU); the
    layout (pre-norm blocks, GELU, a final LayerNorm, learned positions, tied
    output) from GPT-2 (Radford et al., 2019) as in nanoGPT.

    Every position predicts the token after it and sees only itself and
    earlier positions (each block's self-attention is always causal). Padding
    at the end of a sequence therefore never changes the logits of the real
    tokens before it, so no padding mask is needed.

    Args:
        vocab_size: V, number of token ids (the tokenizer's ``vocab_size``).
        context_length: the most tokens the model reads at once (the position
            table's size, and the cache size when generating). A longer input
            raises a `ZooError`; `zoo.generate` crops a longer prompt instead.
        embedding_dim: C, the model width; divisible by ``num_heads``.
        num_heads: H, attention heads per block (head size D = C // H).
        num_layers: L, decoder blocks.
        ff_dim: hidden width of each block's feed-forward network (4 C in GPT-2).
        dropout: on embeddings, attention weights and each sub-layer's output.
        positional: "learned" (GPT-2) or "sinusoidal" position vectors.
        tie_embeddings: the output layer reuses the token embedding (document
            003's w^T h); False gives it its own (C, V) matrix.
        compile: compile with `zoo.training.compile_model` (logits loss,
            perplexity, XLA); ``compile=False`` returns the bare graph.
        name: the model's name.
        **compile_kwargs: passed to `compile_model` (learning_rate, ...).

    Returns:
        A functional `keras.Model`: (B, T) int ids -> (B, T, V) logits.

    Example:
        >>> model = build_gpt(65)
        >>> model(np.zeros((2, 10), "int32")).shape  # (B, T, V)
        TensorShape([2, 10, 65])
        >>> build_gpt_preset("tiny", 65).count_params() == count_gpt_params(
        ...     65, **GPT_PRESETS["tiny"])
        True

    Reference:
        Radford et al., "Language Models are Unsupervised Multitask Learners"
        (2019); Karpathy, nanoGPT ``model.py``.
    """
    check_positive(
        vocab_size=vocab_size,
        context_length=context_length,
        embedding_dim=embedding_dim,
        num_heads=num_heads,
        num_layers=num_layers,
        ff_dim=ff_dim,
    )
    check_heads(embedding_dim, num_heads)
    check_dropout(dropout)
    init = keras.initializers.RandomNormal(stddev=0.02)  # GPT-2's initialisation

    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")  # (B, T)
    embedding = TiedEmbedding(
        vocab_size,
        context_length,
        embedding_dim,
        positional=positional,
        scale_embeddings=False,  # GPT-2 adds positions to unscaled vectors
        tie_weights=tie_embeddings,
        embeddings_initializer=init,
        name="embedding",
    )
    x = embedding(token_ids)  # (B, T, C)
    if dropout:
        x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    for i in range(num_layers):
        x = TransformerDecoderBlock(
            num_heads,
            ff_dim,
            dropout=dropout,
            norm_first=True,  # GPT-2: LayerNorm before each sub-layer
            cross_attention=False,  # decoder-only: no encoder to look at
            layer_norm_epsilon=1e-5,
            activation="gelu",
            kernel_initializer=init,
            name=f"block_{i + 1}",
        )(x)  # (B, T, C), causal
    x = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")(x)
    logits = embedding(x, reverse=True)  # h W_E^T: (B, T, V)
    model = keras.Model(token_ids, logits, name=name)
    if compile:
        from zoo.training import compile_model

        compile_model(model, **compile_kwargs)
    return model


def build_gpt_preset(preset: str, vocab_size: int, **overrides) -> keras.Model:
    """`build_gpt` with the sizes of a row of `GPT_PRESETS`.

    Args:
        preset: "tiny", "laptop" or "gpt2_small".
        vocab_size: V.
        **overrides: any `build_gpt` keyword (a size, dropout, compile...),
            replacing the preset's value.

    Returns:
        The model, as `build_gpt` returns it.

    Example:
        >>> model = build_gpt_preset("laptop", 70, dropout=0.1)
    """
    if preset not in GPT_PRESETS:
        raise ZooError(
            f"unknown GPT preset {preset!r}; choose one of {list(GPT_PRESETS)}"
        )
    return build_gpt(vocab_size, **{**GPT_PRESETS[preset], **overrides})


def count_gpt_params(
    vocab_size: int,
    *,
    context_length: int,
    embedding_dim: int,
    num_layers: int,
    ff_dim: int,
    num_heads: int | None = None,
    positional: str = "learned",
    tie_embeddings: bool = True,
) -> int:
    """The number of weights `build_gpt` creates, from the formula.

    With C = embedding_dim, F = ff_dim, L = num_layers, P = context_length:

        V C                       token embedding (also the output layer)
      + P C                       learned positions (0 if sinusoidal)
      + L (4 C^2 + 4 C            Q, K, V and output projections with biases
           + 2 C F + F + C        feed-forward, two layers with biases
           + 4 C)                 two LayerNorms (scale and shift)
      + 2 C                       the final LayerNorm
      + C V                       only if the output is not tied

    ``num_heads`` does not appear: the heads split C, they do not add weights.
    GPT-2 small (V 50257, P 1024, C 768, L 12, F 3072) gives 124,439,808.
    """
    C, F, L, P, V = embedding_dim, ff_dim, num_layers, context_length, vocab_size
    per_block = (4 * C * C + 4 * C) + (2 * C * F + F + C) + 4 * C
    total = V * C + L * per_block + 2 * C
    if positional == "learned":
        total += P * C
    if not tie_embeddings:
        total += C * V
    return total


# --- cached decoding ------------------------------------------------------------


def _gpt_parts(model):
    """(embedding, blocks, final_norm) of a GPT built by `build_gpt`, or None.

    Recognised by structure, not by name, so a renamed or reloaded model is
    still found: one `TiedEmbedding`, then only causal self-attention blocks,
    then one LayerNormalization.
    """
    layers = getattr(model, "layers", None)
    if not layers:
        return None
    embeddings = [lay for lay in layers if isinstance(lay, TiedEmbedding)]
    blocks = [lay for lay in layers if isinstance(lay, TransformerDecoderBlock)]
    norms = [lay for lay in layers if isinstance(lay, keras.layers.LayerNormalization)]
    allowed = (
        keras.layers.InputLayer,
        keras.layers.Dropout,
        TiedEmbedding,
        TransformerDecoderBlock,
        keras.layers.LayerNormalization,
    )
    if (
        len(embeddings) != 1
        or not blocks
        or len(norms) != 1
        or any(block.cross_attention for block in blocks)
        or not all(isinstance(lay, allowed) for lay in layers)
    ):
        return None
    return embeddings[0], blocks, norms[0]


class GPTStepper:
    """Runs a GPT one token at a time with a key/value cache per block.

    Each block keeps the keys and values of every token it has seen in a
    pair of (B, H, S_max, D) tensors with S_max = the context length, so a
    new token costs one position's work instead of re-reading the whole
    prefix (PITFALLS #9), and every step has the same static shapes, so the
    step compiles once under XLA (PITFALLS #12). `prefill` reads a whole
    prompt in one forward pass. Follows `zoo.generation.Stepper`.

    Args:
        model: a GPT from `build_gpt` (saved and reloaded is fine).

    Example:
        >>> stepper = GPTStepper(model)
        >>> state = stepper.initial_state(batch_size=1)
        >>> logits, state = stepper.step(tf.constant([7]), state, tf.constant(0))
    """

    def __init__(self, model: keras.Model):
        parts = _gpt_parts(model)
        if parts is None:
            raise ZooError(f"model {model.name!r} is not a GPT built by build_gpt")
        self.embedding, self.blocks, self.final_norm = parts
        self.max_length = self.embedding.max_length  # S_max: the context length

    def initial_state(self, batch_size: int, **context):
        """One empty cache per block: L pairs (keys, values) of (B, H, S_max, D)
        zeros."""
        if context:
            raise ZooError(f"a GPT takes no extra inputs, got {sorted(context)}")
        return tuple(
            block.initial_cache(batch_size, self.max_length) for block in self.blocks
        )

    def step(self, tokens, state, position):
        """(B,) ids at `position` -> (B, V) logits for the next token, new caches."""
        x = self.embedding(tokens[:, None], position_offset=position)  # (B, 1, C)
        x, state = self._blocks(x, state, position)  # (B, 1, C)
        return self._logits(x[:, 0]), state

    def prefill(self, tokens, state, length):
        """Read a whole prompt in one forward pass: the prompt's "prefill".

        The T tokens sit at positions 0..T-1; each block writes their keys
        and values into its cache and every token attends only to itself and
        the tokens before it (the cache's causal mask), so the logits are the
        model's own, as if it had read the prompt one token at a time.

        Args:
            tokens: (B, T) ids; only the first `length` are the prompt. The
                rest is padding, so that prompts of different lengths share
                one compiled program: a padded position never changes the
                logits before it, and its cache slot is overwritten by the
                step that reaches it before any query may attend it.
            state: empty caches, from `initial_state`.
            length: the prompt's length P, 1 <= P <= T (a scalar int tensor).

        Returns:
            (B, V) logits for the token after the prompt, and the caches
            holding positions 0..P-1.
        """
        x = self.embedding(tokens, position_offset=0)  # (B, T, C)
        x, state = self._blocks(x, state, 0)  # (B, T, C)
        last = ops.take(x, ops.cast(length, "int32") - 1, axis=1)  # (B, C)
        return self._logits(last), state

    def _blocks(self, x, state, position):
        """Every block on x (B, T, C) at `position`..; returns x and new caches."""
        caches = []
        for block, cache in zip(self.blocks, state, strict=True):
            x, cache = block(x, cache=cache, cache_index=position, training=False)
            caches.append(cache)  # 2 x (B, H, S_max, D), slots position.. written
        return x, tuple(caches)

    def _logits(self, x):
        """Final hidden states (B, C) -> (B, V) logits."""
        x = self.final_norm(x[:, None])  # (B, 1, C)
        return self.embedding(x, reverse=True)[:, 0]  # (B, V)


def make_stepper(model):
    """The `GPTStepper` of a GPT model, or None if `model` is not a GPT.

    Called by `zoo.generation.stepper_for` (this module is in its
    ``STEPPER_MODULES``). A masked language model (`build_bert_mlm`) cannot
    generate left to right; asking it to raises a `ZooError` saying so.
    """
    if _gpt_parts(model) is not None:
        return GPTStepper(model)
    layers = getattr(model, "layers", ())
    if any(isinstance(lay, TiedEmbedding) for lay in layers) and any(
        isinstance(lay, TransformerEncoderBlock) for lay in layers
    ):
        raise ZooError(
            f"model {model.name!r} is a bidirectional masked language model "
            "(BERT): every position reads the whole sentence, so it cannot "
            "generate left to right. Use zoo.models.bert.fill_mask, or a GPT."
        )
    return None
