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
    sizes = dict(
        vocab_size=vocab_size,
        context_length=context_length,
        embedding_dim=embedding_dim,
        num_heads=num_heads,
        num_layers=num_layers,
        ff_dim=ff_dim,
        dropout=dropout,
    )
    _check_encoder(**sizes)
    check_compile_kwargs("build_bert_mlm", compile, compile_kwargs)
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")  # (B, T)
    embedding, x, _ = _encoder(token_ids, **sizes, output_bias=True)  # (B, T, C)
    x = keras.layers.Dense(
        embedding_dim, activation="gelu", kernel_initializer=_init(), name="mlm_dense"
    )(x)  # (B, T, C)
    x = keras.layers.LayerNormalization(epsilon=1e-12, name="mlm_norm")(x)
    logits = embedding(x, reverse=True)  # h W_E^T + b: (B, T, V)
    model = keras.Model(token_ids, logits, name=name)
    if compile:
        from zoo.training import compile_model

        compile_model(model, **compile_kwargs)
    return model


def _init():
    return keras.initializers.TruncatedNormal(stddev=0.02)  # BERT's initialisation


def _check_encoder(
    *, vocab_size, context_length, embedding_dim, num_heads, num_layers, ff_dim, dropout
) -> None:
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


def _encoder(
    token_ids,
    *,
    vocab_size,
    context_length,
    embedding_dim,
    num_heads,
    num_layers,
    ff_dim,
    dropout,
    output_bias=False,
):
    """BERT's encoder on (B, T) ids: the layers every BERT model shares, by
    name, so that `transfer_encoder` copies them from one model to another.

    Returns (the embedding layer, the (B, T, C) encoded sequence, the (B, T)
    mask that is True at real tokens). `output_bias`: the embedding's bias for
    reading logits back out (the masked LM's).
    """
    real = padding_mask(token_ids, PAD_ID)  # (B, T), True at real tokens
    embedding = TiedEmbedding(
        vocab_size,
        context_length,
        embedding_dim,
        positional="learned",
        scale_embeddings=False,
        output_bias=output_bias,  # BERT's MLM output has a bias per token
        embeddings_initializer=_init(),
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
            kernel_initializer=_init(),
            name=f"encoder_{i + 1}",
        )(x, padding_mask=real)  # (B, T, C): both directions, never padding
    return embedding, x, real


def build_bert_classifier(
    vocab_size: int,
    *,
    num_classes: int,
    context_length: int = 128,
    embedding_dim: int = 128,
    num_heads: int = 4,
    num_layers: int = 2,
    ff_dim: int = 512,
    dropout: float = 0.1,
    compile: bool = True,
    name: str = "bert_classifier",
    **compile_kwargs,
) -> keras.Model:
    """BERT's encoder with a classification head: one label per text.

    Mirrors: document 003 section 6 (文本分类) and document 001 section 6
    (情感分析): "fine-tuning" a pretrained encoder for a task. Defaults from:
    `build_bert_mlm` (the same encoder, layer for layer and name for name, so
    `transfer_encoder` copies a pretrained masked LM into it); the head from
    BERT (Devlin et al., 2019, section 4.1), but pooled by the mean over the
    real tokens rather than read at a [CLS] token: zoo's masked LM is trained
    without BERT's next-sentence task, the only thing that trains [CLS]
    (Sentence-BERT, Reimers and Gurevych 2019, found the mean the better
    sentence vector too).

        (B, T) ids -> encoder (B, T, C) -> mean over real tokens (B, C)
        -> dropout -> Dense (B, K) logits

    Args:
        vocab_size: V, number of token ids, reserved ones included.
        num_classes: K, the labels.
        context_length, embedding_dim, num_heads, num_layers, ff_dim,
            dropout: the encoder's sizes, as `build_bert_mlm`.
        compile: compile with `zoo.training.compile_model` (a label id is
            never ignored: ``pad_id=-1``).
        name: the model's name.
        **compile_kwargs: passed to `compile_model`.

    Returns:
        A functional `keras.Model`: (B, T) ids -> (B, K) logits. Padding at the
        end (`PAD_ID`) does not change them.

    Example:
        >>> model = build_bert_classifier(70, num_classes=3)
        >>> model(np.full((2, 12), 7, "int32")).shape
        TensorShape([2, 3])

    Reference:
        Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers
        for Language Understanding" (2019), section 4.1.
    """
    sizes = dict(
        vocab_size=vocab_size,
        context_length=context_length,
        embedding_dim=embedding_dim,
        num_heads=num_heads,
        num_layers=num_layers,
        ff_dim=ff_dim,
        dropout=dropout,
    )
    _check_encoder(**sizes)
    check_positive(num_classes=num_classes)
    check_compile_kwargs("build_bert_classifier", compile, compile_kwargs)
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")  # (B, T)
    _, x, real = _encoder(token_ids, **sizes)  # (B, T, C)
    x = keras.layers.GlobalAveragePooling1D(name="mean_pool")(x, mask=real)  # (B, C)
    if dropout:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    logits = keras.layers.Dense(
        num_classes, kernel_initializer=_init(), name="classifier"
    )(x)  # (B, K)
    model = keras.Model(token_ids, logits, name=name)
    if compile:
        from zoo.training import compile_model

        compile_model(model, **{"pad_id": -1, **compile_kwargs})
    return model


def build_bert_tagger(
    vocab_size: int,
    *,
    num_tags: int,
    context_length: int = 128,
    embedding_dim: int = 128,
    num_heads: int = 4,
    num_layers: int = 2,
    ff_dim: int = 512,
    dropout: float = 0.1,
    compile: bool = True,
    name: str = "bert_tagger",
    **compile_kwargs,
) -> keras.Model:
    """BERT's encoder with a tagging head: one tag per token.

    Mirrors: document 001 section 6 (命名实体识别) and section 5's claim that
    BERT does well at it. Defaults from: `build_bert_mlm` (the same encoder,
    so `transfer_encoder` copies a pretrained masked LM into it); the head
    from BERT (Devlin et al., 2019, section 5.3): a Dense layer on each
    position's encoding.

        (B, T) ids -> encoder (B, T, C) -> dropout -> Dense (B, T, K) logits

    Tag id 0 is padding (`zoo.data.labelled.TAGS`), which zoo's loss ignores
    like `PAD_ID`.

    Args:
        vocab_size: V, number of token ids, reserved ones included.
        num_tags: K, the tags, padding included.
        context_length, embedding_dim, num_heads, num_layers, ff_dim,
            dropout: the encoder's sizes, as `build_bert_mlm`.
        compile: compile with `zoo.training.compile_model`.
        name: the model's name.
        **compile_kwargs: passed to `compile_model`.

    Returns:
        A functional `keras.Model`: (B, T) ids -> (B, T, K) logits.

    Example:
        >>> model = build_bert_tagger(70, num_tags=4)
        >>> model(np.full((2, 12), 7, "int32")).shape
        TensorShape([2, 12, 4])

    Reference:
        Devlin et al. (2019), section 5.3 (the CoNLL-2003 named entities).
    """
    sizes = dict(
        vocab_size=vocab_size,
        context_length=context_length,
        embedding_dim=embedding_dim,
        num_heads=num_heads,
        num_layers=num_layers,
        ff_dim=ff_dim,
        dropout=dropout,
    )
    _check_encoder(**sizes)
    check_positive(num_tags=num_tags)
    check_compile_kwargs("build_bert_tagger", compile, compile_kwargs)
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")  # (B, T)
    _, x, _ = _encoder(token_ids, **sizes)  # (B, T, C)
    if dropout:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    logits = keras.layers.Dense(num_tags, kernel_initializer=_init(), name="tagger")(
        x
    )  # (B, T, K)
    model = keras.Model(token_ids, logits, name=name)
    if compile:
        from zoo.training import compile_model

        compile_model(model, **compile_kwargs)
    return model


def encoder_sizes(model) -> dict:
    """The encoder sizes of a BERT model of zoo's (masked LM, classifier or
    tagger), read from its layers: the keywords its factory was called with.

    Example:
        >>> encoder_sizes(build_bert_mlm(70, num_layers=1))["num_layers"]
        1
    """
    embedding = _layer(model, "embedding")
    blocks = [lay for lay in model.layers if isinstance(lay, TransformerEncoderBlock)]
    if not isinstance(embedding, TiedEmbedding) or not blocks:
        raise ZooError(f"model {model.name!r} is not one of zoo's BERT models")
    return {
        "context_length": embedding.max_length,
        "embedding_dim": embedding.embedding_dim,
        "num_heads": blocks[0].num_heads,
        "num_layers": len(blocks),
        "ff_dim": blocks[0].ff_dim,
        "dropout": blocks[0].dropout,
    }


def transfer_encoder(source, target) -> list[str]:
    """Copy the encoder's weights from `source` into `target` (fine-tuning).

    Both are zoo BERT models (`build_bert_mlm`, `build_bert_classifier`,
    `build_bert_tagger`) with the same vocabulary and encoder sizes; the
    layers they share by name (the embedding, its LayerNorm and every encoder
    block) get `source`'s weights; the heads keep their own.

    Returns:
        The names of the layers copied.

    Raises:
        ZooError: if the two encoders differ in size or vocabulary.

    Example:
        >>> pretrained = zoo.load("runs/bert/model.keras").model  # doctest: +SKIP
        >>> transfer_encoder(pretrained, classifier)  # doctest: +SKIP
        ['embedding', 'embedding_norm', 'encoder_1', 'encoder_2']
    """
    mine, theirs = encoder_sizes(source), encoder_sizes(target)
    vocab = (
        _layer(source, "embedding").vocab_size,
        _layer(target, "embedding").vocab_size,
    )
    if vocab[0] != vocab[1]:
        raise ZooError(
            f"the pretrained model has {vocab[0]} token ids and the new one "
            f"{vocab[1]}; fine-tune with the pretrained model's tokenizer"
        )
    differ = {
        k: (mine[k], theirs[k]) for k in mine if k != "dropout" and mine[k] != theirs[k]
    }
    if differ:
        shown = ", ".join(f"{k} {a} vs {b}" for k, (a, b) in differ.items())
        raise ZooError(f"the two encoders differ: {shown}")
    names = ["embedding", "embedding_norm"]
    names += [f"encoder_{i + 1}" for i in range(mine["num_layers"])]
    for name in names:
        # By variable name: the masked LM's embedding also holds its output
        # bias, which a classifier or tagger has no use for.
        given = {v.path: v for v in _layer(source, name).weights}
        for variable in _layer(target, name).weights:
            variable.assign(given[variable.path])
    return names


def _layer(model, name):
    try:
        return model.get_layer(name)
    except ValueError:
        return None


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
