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

Generation reads a GPT one token at a time with a key/value cache per block:
`zoo.generation.steppers.GPTStepper`.

Shape letters: B batch, T length, C model width (= E), H heads, D head size,
L layers, V vocabulary.
"""

from __future__ import annotations

import keras

from zoo.errors import ZooError
from zoo.layers.embedding import TiedEmbedding
from zoo.layers.transformer import TransformerDecoderBlock
from zoo.models._checks import (
    check_compile_kwargs,
    check_dropout,
    check_heads,
    check_positive,
)

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
        >>> build_gpt_preset(65, preset="tiny").count_params() == (
        ...     count_gpt_params(65, **GPT_PRESETS["tiny"]))
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
    check_compile_kwargs("build_gpt", compile, compile_kwargs)
    init = keras.initializers.RandomNormal(stddev=0.02)  # GPT-2's initialisation

    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")  # (B, T)
    embedding = TiedEmbedding(
        vocab_size,
        context_length,
        embedding_dim,
        positional=positional,
        scale_embeddings=False,  # GPT-2 adds positions to unscaled vectors
        tie_embeddings=tie_embeddings,
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


def build_gpt_preset(vocab_size: int, *, preset: str, **overrides) -> keras.Model:
    """`build_gpt` with the sizes of a row of `GPT_PRESETS`.

    Mirrors: document 003, section 4, as `build_gpt`.
    Defaults from: the chosen row of `GPT_PRESETS`; every other argument
    from `build_gpt`.

    Args:
        vocab_size: V, number of token ids (the tokenizer's ``vocab_size``).
        preset: "tiny", "laptop" or "gpt2_small".
        **overrides: any `build_gpt` keyword (a size, dropout, compile...),
            replacing the preset's value.

    Returns:
        The model, as `build_gpt` returns it.

    Example:
        >>> model = build_gpt_preset(70, preset="laptop", dropout=0.1)
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
