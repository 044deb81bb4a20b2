"""BERT: a bidirectional Transformer encoder trained as a masked language model.

Mirrors: document 001, section 5 (项目实践：代码实例和详细解释说明): "双向编码器"
(a bidirectional encoder: every position reads the whole sentence, left and
right) and "masked LM"
(BERT通过遮蔽某些位置的词来进行预训练。模型的目标是预测被遮蔽的词).

A causal model (GPT, `zoo.models.gpt`) predicts the next token from the ones
before it. A masked LM instead hides some tokens and predicts them from both
sides, so it cannot generate text left to right; it fills gaps
(`zoo.generation.fill_mask`).

    token_ids (B, T), some replaced by MASK_ID  (`zoo.data.pipeline.mask_tokens`)
    -> embedding: token + learned position, LayerNorm       (B, T, C)
    -> num_layers x TransformerEncoderBlock (padding mask)  (B, T, C)
    -> MLM head: Dense + GELU + LayerNorm                   (B, T, C)
    -> embedding run backwards + bias: h W_E^T + b          (B, T, V) logits

Targets are `PAD_ID` everywhere except at the selected positions, so zoo's
loss (which ignores PAD targets) scores only the hidden tokens, and the
perplexity it reports is the masked-token perplexity. The masked batches
come from `zoo.data.pipeline.make_mlm_dataset`.

Shape letters: B batch, T length, C model width (= E), V vocabulary.
"""

from __future__ import annotations

import keras

from zoo.errors import ZooError
from zoo.layers.embedding import TiedEmbedding
from zoo.layers.masks import padding_mask
from zoo.layers.transformer import TransformerEncoderBlock
from zoo.models._checks import (
    check_compile_kwargs,
    check_dropout,
    check_heads,
    check_positive,
)
from zoo.text import FIRST_REAL_ID, PAD_ID


def build_bert_mlm(
    vocab_size: int,
    *,
    context_length: int = 128,
    embedding_dim: int = 128,
    num_heads: int = 4,
    num_layers: int = 2,
    ff_dim: int = 512,
    dropout: float = 0.1,
    compile: bool = True,
    name: str = "bert_mlm",
    **compile_kwargs,
) -> keras.Model:
    """Build a BERT-style masked language model (bidirectional; logits out).

    Mirrors: document 001, section 5 (项目实践): 双向编码器 and masked LM;
    its listing loads ``BertForMaskedLM`` (see `zoo.listings.get("001-s5")`).
    Defaults from: a laptop-CPU size (2 layers, 4 heads, width 128, feed-forward
    512; BERT-base is 12 layers, 12 heads, width 768, feed-forward 3072); the
    layout (post-norm blocks, GELU, embedding LayerNorm, a Dense + GELU +
    LayerNorm MLM head with the output tied to the embedding plus a bias) from
    BERT (Devlin et al., 2019).

    Every position attends to every real (non-`PAD_ID`) position, before and
    after it; padding is never attended, so padding added at the end does not
    change the logits of the real tokens.

    Args:
        vocab_size: V, number of token ids, reserved ones included.
        context_length: the longest input (the position table's size); a
            longer input raises a `ZooError`.
        embedding_dim: C, the model width; divisible by ``num_heads``.
        num_heads: attention heads per block.
        num_layers: encoder blocks.
        ff_dim: hidden width of each block's feed-forward network.
        dropout: on embeddings, attention weights and sub-layer outputs.
        compile: compile with `zoo.training.compile_model`; ``compile=False``
            returns the bare graph.
        name: the model's name.
        **compile_kwargs: passed to `compile_model` (learning_rate, ...).

    Returns:
        A functional `keras.Model`: (B, T) ids -> (B, T, V) logits.

    Example:
        >>> model = build_bert_mlm(70)
        >>> model(np.full((2, 12), 7, "int32")).shape  # (B, T, V)
        TensorShape([2, 12, 70])

    Reference:
        Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers
        for Language Understanding" (2019), sections 3.1 and A.1.
    """
    check_positive(
        vocab_size=vocab_size,
        context_length=context_length,
        embedding_dim=embedding_dim,
        num_heads=num_heads,
        num_layers=num_layers,
        ff_dim=ff_dim,
    )
    if vocab_size <= FIRST_REAL_ID:
        raise ZooError(
            f"vocab_size={vocab_size} leaves no real tokens after the "
            f"{FIRST_REAL_ID} reserved ids"
        )
    check_heads(embedding_dim, num_heads)
    check_dropout(dropout)
    check_compile_kwargs("build_bert_mlm", compile, compile_kwargs)
    init = keras.initializers.TruncatedNormal(stddev=0.02)  # BERT's initialisation

    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")  # (B, T)
    real = padding_mask(token_ids, PAD_ID)  # (B, T), True at real tokens
    embedding = TiedEmbedding(
        vocab_size,
        context_length,
        embedding_dim,
        positional="learned",
        scale_embeddings=False,
        output_bias=True,  # BERT's MLM output has a bias per token
        embeddings_initializer=init,
        name="embedding",
    )
    x = embedding(token_ids)  # (B, T, C)
    x = keras.layers.LayerNormalization(epsilon=1e-12, name="embedding_norm")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    for i in range(num_layers):
        x = TransformerEncoderBlock(
            num_heads,
            ff_dim,
            dropout=dropout,
            norm_first=False,  # BERT is post-norm, like the original Transformer
            layer_norm_epsilon=1e-12,
            activation="gelu",
            kernel_initializer=init,
            name=f"encoder_{i + 1}",
        )(x, padding_mask=real)  # (B, T, C): both directions, never padding
    x = keras.layers.Dense(
        embedding_dim, activation="gelu", kernel_initializer=init, name="mlm_dense"
    )(x)  # (B, T, C)
    x = keras.layers.LayerNormalization(epsilon=1e-12, name="mlm_norm")(x)
    logits = embedding(x, reverse=True)  # h W_E^T + b: (B, T, V)
    model = keras.Model(token_ids, logits, name=name)
    if compile:
        from zoo.training import compile_model

        compile_model(model, **compile_kwargs)
    return model


def is_masked_lm(model) -> bool:
    """True for a masked language model like `build_bert_mlm`'s: a
    `TiedEmbedding` read by bidirectional `TransformerEncoderBlock` layers.

    Found by structure, not by name, so a renamed or reloaded model is still
    recognised. Such a model fills gaps (`zoo.generation.fill_mask`) and
    cannot generate text left to right.

    Example:
        >>> is_masked_lm(build_bert_mlm(70))
        True
    """
    layers = getattr(model, "layers", None) or ()
    return any(isinstance(lay, TiedEmbedding) for lay in layers) and any(
        isinstance(lay, TransformerEncoderBlock) for lay in layers
    )
