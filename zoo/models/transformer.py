"""An encoder-decoder Transformer for translation.

Mirrors: document 004, section 2.3 (Transformer模型: 多头注意力机制, 前馈神经网络,
残差连接) and the model that section 4.2 (Transformer模型的Python代码示例) tries
to build; document 001, section 3 (输入嵌入, 位置编码, 多头自注意力, 层归一化,
解码器) and section 4 (the attention formula).

    encoder_inputs (B, S) ids ──> embedding + positions ──> N x encoder block ─┐
                                                                               │
    decoder_inputs (B, T) ids ──> embedding + positions ──> N x decoder block <┘
                                  (causal self-attention, cross-attention)
                                                    └──> Dense ──> logits (B, T, V)

Two masks, both built from the token ids (PAD = 0) by `zoo.layers.masks`:

* the **source padding mask** (B, S): encoder self-attention and the
  decoder's cross-attention never look at source padding (docs/pitfalls.md #7: the
  cross-attention mask is the *encoder's*);
* the **causal mask**: built into `TransformerDecoderBlock`, always on
  (docs/pitfalls.md #6). Target padding sits after the real tokens, so the causal
  mask already keeps real tokens from seeing it.

Document 004's own listing is reproduced as written, with its errata, in
`zoo.listings` (entry "004-4.2").

Generation (`zoo.generation.translate`) goes through
`zoo.generation.steppers.TransformerStepper`: the encoder runs once per batch
of sources, then the decoder reads one token per step with a key/value cache
in every decoder block. `TransformerParts` below finds the layers it runs.

Shape letters: B batch, S source length, T target length, C model width
(= E, the embedding size), H heads, D head size (C // H), V vocabulary, L
decoder blocks.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import ZooError
from zoo.layers.embedding import TokenAndPositionEmbedding
from zoo.layers.masks import PaddingMask, padding_mask
from zoo.layers.transformer import TransformerDecoderBlock, TransformerEncoderBlock
from zoo.models._checks import (
    check_compile_kwargs,
    check_dropout,
    check_heads,
    check_positive,
)

POSITIONAL = ("sinusoidal", "learned")


def build_transformer(
    vocab_size: int,
    *,
    target_vocab_size: int | None = None,
    max_source_length: int = 128,
    max_target_length: int = 128,
    embedding_dim: int = 256,
    num_heads: int = 4,
    ff_dim: int = 512,
    num_layers: int = 2,
    dropout: float = 0.1,
    norm_first: bool = False,
    positional: str = "sinusoidal",
    compile: bool = True,
    name: str = "transformer",
    **compile_kwargs,
) -> keras.Model:
    """Build an encoder-decoder Transformer for translation (logits out).

    Mirrors: document 004, section 2.3 (Transformer模型) and what section 4.2's
    listing sets out to build (see ``zoo.listings.get("004-4.2")`` for the
    listing as written and its errata); document 001, section 3.
    Defaults from: document 004, section 4.2 (``output_dim=256, num_heads=4,
    ff_dim=512``; its ``input_dim=10000`` is the vocabulary, which every
    factory takes from the tokenizer, so ``vocab_size`` has no default);
    num_layers=2, 128 positions on each side: zoo's laptop-CPU size; dropout
    0.1: Vaswani et al.

    The model takes ``[encoder_inputs (B, S), decoder_inputs (B, T)]``, the
    arrays of `zoo.data.pairs.encode_pairs` (decoder inputs start with
    ``<bos>``: teacher forcing), and returns logits (B, T, V_tgt): position t
    predicts target token t + 1 from the whole source and target tokens 0..t.

    Args:
        vocab_size: V_src, source token ids (the listing's ``input_dim``).
        target_vocab_size: V_tgt, target ids; None = ``vocab_size`` (one
            shared vocabulary, as in the listing; the embeddings are separate).
        max_source_length: S_max, the longest source (position table size);
            a longer source raises a `ZooError`.
        max_target_length: T_max, the longest decoder input, and the size of
            each decoder block's key/value cache when generating.
        embedding_dim: C, the model width (the listing's ``output_dim``).
        num_heads: H; must divide ``embedding_dim`` (head size C // H).
        ff_dim: hidden width of each feed-forward network.
        num_layers: encoder blocks, and as many decoder blocks.
        dropout: on the embeddings, attention weights and each sub-layer.
        norm_first: pre-norm blocks (and a final LayerNorm on each side)
            instead of the paper's post-norm.
        positional: "sinusoidal" (fixed, the paper's) or "learned".
        compile: compile with `zoo.training.compile_model` (logits loss that
            ignores padding, perplexity, XLA); False returns the bare graph.
        name: the model's name.
        **compile_kwargs: passed to `compile_model` (learning_rate, ...).

    Returns:
        A functional `keras.Model`.

    Example:
        >>> model = build_transformer(40, target_vocab_size=16, embedding_dim=32,
        ...                           ff_dim=64, num_layers=1)
        >>> src, tgt = np.ones((2, 9), "int32"), np.ones((2, 5), "int32")
        >>> tuple(model([src, tgt]).shape)  # (B, T, V_tgt)
        (2, 5, 16)

    Reference:
        Vaswani et al., "Attention Is All You Need" (2017), section 3.
    """
    target_vocab_size = vocab_size if target_vocab_size is None else target_vocab_size
    check_positive(
        vocab_size=vocab_size,
        target_vocab_size=target_vocab_size,
        max_source_length=max_source_length,
        max_target_length=max_target_length,
        embedding_dim=embedding_dim,
        num_heads=num_heads,
        ff_dim=ff_dim,
        num_layers=num_layers,
    )
    check_heads(embedding_dim, num_heads)
    check_dropout(dropout)
    check_compile_kwargs("build_transformer", compile, compile_kwargs)
    if positional not in POSITIONAL:
        raise ZooError(f"positional must be one of {POSITIONAL}, got {positional!r}")

    def embed(vocab, max_length, side):
        return TokenAndPositionEmbedding(
            vocab, max_length, embedding_dim, positional=positional, name=side
        )

    def block_args(kind, i):
        return dict(
            num_heads=num_heads,
            ff_dim=ff_dim,
            dropout=dropout,
            norm_first=norm_first,
            name=f"{kind}_block_{i + 1}",
        )

    encoder_inputs = keras.Input((None,), dtype="int32", name="encoder_inputs")
    decoder_inputs = keras.Input((None,), dtype="int32", name="decoder_inputs")
    source_mask = PaddingMask(name="source_padding_mask")(encoder_inputs)  # (B, S)

    # Encoder: every source position attends to every real source position.
    x = embed(vocab_size, max_source_length, "source_embedding")(encoder_inputs)
    if dropout:
        x = keras.layers.Dropout(dropout, name="source_dropout")(x)  # (B, S, C)
    for i in range(num_layers):
        x = TransformerEncoderBlock(**block_args("encoder", i))(
            x, padding_mask=source_mask
        )  # (B, S, C)
    if norm_first:
        x = keras.layers.LayerNormalization(epsilon=1e-6, name="encoder_norm")(x)

    # Decoder: causal self-attention, then cross-attention over the encoder
    # outputs, masked with the *source* padding mask.
    y = embed(target_vocab_size, max_target_length, "target_embedding")(
        decoder_inputs
    )  # (B, T, C)
    if dropout:
        y = keras.layers.Dropout(dropout, name="target_dropout")(y)
    for i in range(num_layers):
        y = TransformerDecoderBlock(**block_args("decoder", i))(
            y, encoder_outputs=x, encoder_padding_mask=source_mask
        )  # (B, T, C)
    if norm_first:
        y = keras.layers.LayerNormalization(epsilon=1e-6, name="decoder_norm")(y)
    logits = keras.layers.Dense(target_vocab_size, name="logits")(y)  # (B, T, V)

    model = keras.Model([encoder_inputs, decoder_inputs], logits, name=name)
    if compile:
        from zoo.training import compile_model

        compile_model(model, **compile_kwargs)
    return model


# --- the model, taken apart -----------------------------------------------------


def is_transformer(model) -> bool:
    """True for an encoder-decoder model made by `build_transformer`: one with
    encoder blocks and cross-attending decoder blocks (a GPT has neither)."""
    layers = getattr(model, "layers", None) or []
    return any(isinstance(lay, TransformerEncoderBlock) for lay in layers) and any(
        isinstance(lay, TransformerDecoderBlock) and lay.cross_attention
        for lay in layers
    )


class TransformerParts:
    """The layers of a `build_transformer` model, found by name and type.

    Works on a model straight from the factory and on one loaded from a
    ``.keras`` file (the names and registered classes survive saving).

    Args:
        model: a `build_transformer` model.

    Raises:
        ZooError: if a layer is missing or of the wrong type.
    """

    def __init__(self, model: keras.Model):
        def get(name, cls):
            try:
                layer = model.get_layer(name)
            except ValueError:
                raise ZooError(
                    f"model {model.name!r} has no layer {name!r}; build it with "
                    "zoo.models.transformer.build_transformer"
                ) from None
            if not isinstance(layer, cls):
                raise ZooError(f"layer {name!r} is a {type(layer).__name__}")
            return layer

        blocks = {
            kind: [lay for lay in model.layers if isinstance(lay, cls)]
            for kind, cls in (
                ("encoder", TransformerEncoderBlock),
                ("decoder", TransformerDecoderBlock),
            )
        }
        self.source_embedding = get("source_embedding", TokenAndPositionEmbedding)
        self.target_embedding = get("target_embedding", TokenAndPositionEmbedding)
        self.encoder_blocks = [
            get(f"encoder_block_{i + 1}", TransformerEncoderBlock)
            for i in range(len(blocks["encoder"]))
        ]
        self.decoder_blocks = [
            get(f"decoder_block_{i + 1}", TransformerDecoderBlock)
            for i in range(len(blocks["decoder"]))
        ]
        names = {lay.name for lay in model.layers}
        norm = keras.layers.LayerNormalization
        self.encoder_norm = (
            get("encoder_norm", norm) if "encoder_norm" in names else None
        )
        self.decoder_norm = (
            get("decoder_norm", norm) if "decoder_norm" in names else None
        )
        self.logits = get("logits", keras.layers.Dense)
        self.max_source_length = self.source_embedding.max_length
        self.max_target_length = self.target_embedding.max_length
        self.width = self.target_embedding.embedding_dim  # C
        self.num_heads = self.decoder_blocks[0].num_heads  # H

    def encode(self, source_ids):
        """(B, S) ids -> encoder outputs (B, S, C) and padding mask (B, S)."""
        mask = padding_mask(source_ids)  # (B, S)
        x = self.source_embedding(source_ids)  # (B, S, C)
        for block in self.encoder_blocks:
            x = block(x, padding_mask=mask, training=False)
        if self.encoder_norm is not None:
            x = self.encoder_norm(x)
        return x, mask

    def decode(self, y, encoder_outputs, mask):
        """Decoder blocks on embedded targets y (B, T, C) -> logits (B, T, V)
        and the per-block cross-attention weights (L of (B, H, T, S))."""
        cross = []
        for block in self.decoder_blocks:
            y, scores = block(
                y,
                encoder_outputs=encoder_outputs,
                encoder_padding_mask=mask,
                return_attention_scores=True,
                training=False,
            )  # (B, T, C), {"cross": (B, H, T, S), ...}
            cross.append(scores["cross"])
        if self.decoder_norm is not None:
            y = self.decoder_norm(y)
        return self.logits(y), cross  # (B, T, V), L x (B, H, T, S)


def attention_weights(model, source_ids, decoder_ids) -> np.ndarray:
    """Cross-attention weights of every decoder block, for plotting.

    Args:
        model: a `build_transformer` model.
        source_ids: (B, S) source ids.
        decoder_ids: (B, T) decoder inputs (``<bos>`` then the target).

    Returns:
        (L, B, H, T, S) float32: for decoder block l, head h, how much
        target position t looks at source position s. Rows sum to one over
        the real source positions; padding gets exactly zero.

    Example:
        >>> w = attention_weights(model, src, dec)
        >>> w[-1, 0].mean(axis=0)  # last block, first sentence, heads averaged
    """
    parts = TransformerParts(model)
    source_ids = np.asarray(source_ids, dtype=np.int32)
    decoder_ids = np.asarray(decoder_ids, dtype=np.int32)
    encoder_outputs, mask = parts.encode(tf.constant(source_ids))
    y = parts.target_embedding(tf.constant(decoder_ids))  # (B, T, C)
    _, cross = parts.decode(y, encoder_outputs, mask)
    return np.stack([np.asarray(w) for w in cross])  # (L, B, H, T, S)
