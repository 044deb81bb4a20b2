"""A recurrent encoder-decoder (seq2seq) with attention, and its step decoder.

Mirrors: document 000, section 4.3 (注意力机制: "attention mechanism for seq2seq
models", which helps the model "在生成新的句子时关注输入数据中的关键信息");
document 001, section 2 (编码器: RNN/LSTM/GRU; 解码器: Seq2Seq, Attention, Beam
Search).

    encoder_inputs (B, S) ──> embedding ──> [bidirectional] GRU/LSTM ──> h_1..h_S
                                                  │ final state
                                                  v
    decoder_inputs (B, T) ──> embedding ──> GRU/LSTM ──> s_t ──┐
                                                               v
                                attention(s_t, h_1..h_S) ──> c_t, a_t
                                    tanh(W_c [s_t; c_t]) ──> Dense ──> logits

The decoder attends **after** its recurrent step (Luong et al., 2015): the
RNN runs over the target embeddings alone, then each state s_t looks at the
encoder states. This keeps training a single teacher-forced RNN pass and
makes each generation step "one cell step + one attention". Bahdanau et al.
(2015) attend *before* the step and feed the context into the RNN, which
needs a custom cell; the scores are the same idea.

Two attention scores (``attention=``):

* "additive" (Bahdanau): e_ts = v^T tanh(W1 s_t + W2 h_s), zoo's
  `AdditiveAttention`;
* "dot" (Luong's "general"): e_ts = s_t^T W_a h_s / sqrt(d), `DotAttention`
  below, built on the formula of document 001, section 4.

Both mask the source padding (the same padding mask as the Transformer's
cross-attention, PITFALLS #7), and the encoder RNN skips padded steps, so
appending padding to a source never changes anything.

Shape letters: B batch, S source length, T target length, E embedding size,
U recurrent units, V vocabulary.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from zoo.errors import ZooError
from zoo.layers.attention import (
    AdditiveAttention,
    _clone_initializer,
    scaled_dot_product_attention,
)
from zoo.layers.masks import padding_mask
from zoo.models._checks import check_dropout, check_positive
from zoo.models.transformer import PaddingMask

CELLS = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM}
ATTENTIONS = ("additive", "dot", None)


@keras.saving.register_keras_serializable(package="zoo")
class DotAttention(keras.layers.Layer):
    """Luong's "general" score: e_ts = s_t^T W_a h_s / sqrt(d), then softmax.

    Mirrors: document 001, section 4 (Attention(Q, K, V) = softmax(QK^T /
    sqrt(d_k)) V) with Q = s W_a (the decoder states, projected to the
    encoder's width d) and K = V = h (the encoder states).

    Takes the same arguments and returns the same results as
    `zoo.layers.AdditiveAttention`, so a model can use either.

    Args:
        kernel_initializer: initializer of W_a.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        query: decoder states, (B, T, U) or one step (B, U).
        value: encoder states h, (B, S, d).
        padding_mask: (B, S) boolean, True at real source tokens.

    Returns:
        ``(context, weights)``: (B, T, d) and (B, T, S), or (B, d) and (B, S)
        for a one-step query. Weights are zero at padding.

    Example:
        >>> attention = DotAttention()
        >>> s, h = np.zeros((2, 32), "float32"), np.zeros((2, 7, 64), "float32")
        >>> context, weights = attention(s, h)
        >>> tuple(context.shape), tuple(weights.shape)  # (B, d), (B, S)
        ((2, 64), (2, 7))

    Reference:
        Luong, Pham and Manning, "Effective Approaches to Attention-based
        Neural Machine Translation" (2015), section 3.1.
    """

    def __init__(self, *, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.query_dense = None

    def build(self, query_shape, value_shape):
        self.query_dense = keras.layers.Dense(
            value_shape[-1],
            use_bias=False,
            kernel_initializer=_clone_initializer(self.kernel_initializer),
            dtype=self.dtype_policy,
            name="W_a",
        )
        self.query_dense.build(query_shape)

    def call(self, query, value, *, padding_mask=None):
        one_step = len(query.shape) == 2
        if one_step:
            query = ops.expand_dims(query, 1)  # (B, 1, U)
        mask = None
        if padding_mask is not None:
            mask = ops.expand_dims(ops.cast(padding_mask, "bool"), 1)  # (B, 1, S)
        context, weights = scaled_dot_product_attention(
            self.query_dense(query), value, value, mask=mask
        )  # (B, T, d), (B, T, S)
        if one_step:
            return ops.squeeze(context, 1), ops.squeeze(weights, 1)
        return context, weights

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


def build_seq2seq(
    vocab_size: int,
    *,
    target_vocab_size: int | None = None,
    embedding_dim: int = 128,
    units: int = 256,
    cell: str = "gru",
    bidirectional_encoder: bool = True,
    attention: str | None = "additive",
    attention_units: int | None = None,
    dropout: float = 0.0,
    compile: bool = True,
    name: str = "seq2seq",
    **compile_kwargs,
) -> keras.Model:
    """Build a recurrent encoder-decoder with attention (logits out).

    Mirrors: document 000, section 4.3 (注意力机制, attention for seq2seq);
    document 001, section 2 (编码器 RNN/LSTM/GRU, 解码器 Seq2Seq + Attention;
    beam search is `zoo.generation.translate(..., beam_width=...)`).
    Defaults from: zoo's laptop-CPU size shared with `build_gru` and
    `build_lstm` (embedding 128, 256 units); the texts give no sizes.

    The model takes ``[encoder_inputs (B, S), decoder_inputs (B, T)]`` (the
    arrays of `zoo.data.translation.encode_pairs`) and returns logits
    (B, T, V_tgt). The decoder is Luong-style: its RNN runs first, then each
    state s_t attends over the encoder states (see the module docstring).
    `attention_model` gives the attention weights of the same model.

    The encoder may read the source in both directions
    (``bidirectional_encoder``): the whole source is known before decoding
    starts, so nothing is seen that should not be. The decoder always reads
    left to right (a causal language model refuses ``bidirectional``).

    Args:
        vocab_size: V_src, source token ids.
        target_vocab_size: V_tgt, target ids; None = ``vocab_size``.
        embedding_dim: E, size of the token vectors (each side its own).
        units: U, state size of the decoder and of each encoder direction.
        cell: "gru" or "lstm".
        bidirectional_encoder: run a backward encoder RNN too; its final
            states, joined with the forward ones, start the decoder through a
            Dense "bridge" (tanh), as in Bahdanau et al.
        attention: "additive" (Bahdanau), "dot" (Luong's "general" score) or
            None (no attention: the source reaches the decoder only through
            its initial state, as in Sutskever et al. 2014).
        attention_units: hidden size of the additive score; None = ``units``.
        dropout: dropout on the embeddings and before the output layer.
        compile: compile with `zoo.training.compile_model` (logits loss that
            ignores padding, perplexity, XLA); False returns the bare graph.
        name: the model's name.
        **compile_kwargs: passed to `compile_model` (learning_rate, ...).

    Returns:
        A functional `keras.Model`.

    Example:
        >>> model = build_seq2seq(40, target_vocab_size=16, embedding_dim=8,
        ...                       units=16)
        >>> src, tgt = np.ones((2, 9), "int32"), np.ones((2, 5), "int32")
        >>> tuple(model([src, tgt]).shape)  # (B, T, V_tgt)
        (2, 5, 16)

    Reference:
        Bahdanau, Cho and Bengio, "Neural Machine Translation by Jointly
        Learning to Align and Translate" (2015); Luong, Pham and Manning,
        "Effective Approaches to Attention-based Neural Machine Translation"
        (2015).
    """
    target_vocab_size = vocab_size if target_vocab_size is None else target_vocab_size
    attention_units = units if attention_units is None else attention_units
    check_positive(
        vocab_size=vocab_size,
        target_vocab_size=target_vocab_size,
        embedding_dim=embedding_dim,
        units=units,
        attention_units=attention_units,
    )
    if cell not in CELLS:
        raise ZooError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
    if attention not in ATTENTIONS:
        raise ZooError(f"attention must be one of {ATTENTIONS}, got {attention!r}")
    check_dropout(dropout)
    rnn = CELLS[cell]
    n_states = 2 if cell == "lstm" else 1  # LSTM: h and c; GRU: h

    encoder_inputs = keras.Input((None,), dtype="int32", name="encoder_inputs")
    decoder_inputs = keras.Input((None,), dtype="int32", name="decoder_inputs")
    source_mask = PaddingMask(name="source_padding_mask")(encoder_inputs)  # (B, S)

    # Encoder. The mask makes the RNN skip padded steps: the backward
    # direction starts at the last real token, not at the padding.
    x = keras.layers.Embedding(vocab_size, embedding_dim, name="source_embedding")(
        encoder_inputs
    )  # (B, S, E)
    if dropout:
        x = keras.layers.Dropout(dropout, name="source_dropout")(x)
    encoder = rnn(units, return_sequences=True, return_state=True, name="encoder")
    if bidirectional_encoder:
        encoder = keras.layers.Bidirectional(encoder, name="encoder")
    encoder_outputs, *final = encoder(x, mask=source_mask)  # (B, S, U or 2U)
    if bidirectional_encoder:
        # [fwd h, (fwd c), bwd h, (bwd c)] -> one state of size U per kind
        joined = [
            keras.layers.Concatenate(name=f"encoder_final_{kind}")(
                [final[k], final[n_states + k]]
            )  # (B, 2U)
            for k, kind in enumerate(("h", "c")[:n_states])
        ]
        initial_state = [
            keras.layers.Dense(units, activation="tanh", name=f"bridge_{kind}")(j)
            for j, kind in zip(joined, ("h", "c"), strict=False)
        ]  # (B, U) each
    else:
        initial_state = final  # (B, U) each

    # Decoder: a left-to-right RNN over the target embeddings (teacher forcing).
    y = keras.layers.Embedding(
        target_vocab_size, embedding_dim, name="target_embedding"
    )(decoder_inputs)  # (B, T, E)
    if dropout:
        y = keras.layers.Dropout(dropout, name="target_dropout")(y)
    y = rnn(units, return_sequences=True, name="decoder")(
        y, initial_state=initial_state
    )  # (B, T, U): s_t

    # Attention after the RNN: each s_t looks at every real source position.
    if attention is not None:
        if attention == "additive":
            layer = AdditiveAttention(attention_units, name="attention")
        else:
            layer = DotAttention(name="attention")
        context, _ = layer(
            y, encoder_outputs, padding_mask=source_mask
        )  # (B, T, U or 2U): c_t, and weights (B, T, S)
        y = keras.layers.Concatenate(name="attention_concat")([y, context])
        y = keras.layers.Dense(units, activation="tanh", name="attentional_hidden")(
            y
        )  # (B, T, U): tanh(W_c [s_t; c_t])
    if dropout:
        y = keras.layers.Dropout(dropout, name="output_dropout")(y)
    logits = keras.layers.Dense(target_vocab_size, name="logits")(y)  # (B, T, V)

    model = keras.Model([encoder_inputs, decoder_inputs], logits, name=name)
    if compile:
        from zoo.training import compile_model

        compile_model(model, **compile_kwargs)
    return model


def attention_model(model: keras.Model) -> keras.Model:
    """The same model (same layers and weights) with the attention weights as
    a second output: ``[encoder_inputs, decoder_inputs] -> [logits (B, T, V),
    weights (B, T, S)]``.

    Args:
        model: a `build_seq2seq` model with attention (also after loading).

    Returns:
        A functional `keras.Model` sharing every layer with `model`.

    Example:
        >>> logits, weights = attention_model(model)([src, dec])
        >>> weights.shape  # (B, T, S): row t sums to 1 over the real sources
    """
    try:
        layer = model.get_layer("attention")
    except ValueError:
        raise ZooError(
            f"model {model.name!r} has no attention layer (built with "
            "attention=None?), so there are no weights to show"
        ) from None
    _, weights = layer.output  # (B, T, S)
    return keras.Model(model.inputs, [model.outputs[0], weights], name="attention")


def attention_weights(model, source_ids, decoder_ids) -> np.ndarray:
    """Attention weights (B, T, S) of a `build_seq2seq` model, as NumPy.

    Row t is how much the decoder looks at each source position when it
    predicts target token t + 1; rows sum to one, padding gets zero.
    """
    source_ids = np.asarray(source_ids, dtype=np.int32)
    decoder_ids = np.asarray(decoder_ids, dtype=np.int32)
    _, weights = attention_model(model)([source_ids, decoder_ids], training=False)
    return np.asarray(weights)


# --- generation ----------------------------------------------------------------


class Seq2SeqStepper:
    """Decodes a `build_seq2seq` model one target token at a time.

    `initial_state` runs the encoder once over the sources; each `step` is
    one decoder cell step, one attention over the encoder states and the
    output layers, with the model's own (trained) layers. Dropout is off.

    Follows `zoo.generation.Stepper`.

    Args:
        model: a `build_seq2seq` model.
    """

    max_length = None  # a recurrent decoder has no position limit

    def __init__(self, model: keras.Model):
        def get(name):
            try:
                return model.get_layer(name)
            except ValueError:
                return None

        self.source_embedding = get("source_embedding")
        self.encoder = get("encoder")
        self.target_embedding = get("target_embedding")
        self.decoder = get("decoder")
        self.attention = get("attention")
        self.attention_concat = get("attention_concat")
        self.attentional_hidden = get("attentional_hidden")
        self.logits = get("logits")
        self.bridges = [b for b in (get("bridge_h"), get("bridge_c")) if b]
        self.bidirectional = isinstance(self.encoder, keras.layers.Bidirectional)

    def encode(self, source_ids):
        """(B, S) ids -> encoder states (B, S, U or 2U), decoder's first state."""
        mask = padding_mask(source_ids)  # (B, S)
        x = self.source_embedding(source_ids)  # (B, S, E)
        encoder_outputs, *final = self.encoder(x, mask=mask, training=False)
        if self.bidirectional:
            half = len(final) // 2  # [fwd h, (fwd c), bwd h, (bwd c)]
            final = [
                bridge(ops.concatenate([final[k], final[half + k]], axis=-1))
                for k, bridge in enumerate(self.bridges)
            ]  # (B, U) each
        return encoder_outputs, mask, list(final)

    def initial_state(self, batch_size: int, *, source_ids=None, **context):
        """Encode the sources.

        Returns:
            {"encoder_outputs": (B, S, U or 2U), "source_mask": (B, S),
            "decoder_state": [h] (GRU) or [h, c] (LSTM), each (B, U)}.
        """
        if source_ids is None:
            raise ZooError(
                "an encoder-decoder model needs the source sentences: pass "
                "source_ids=(B, S) ids, or use zoo.generation.translate()"
            )
        source_ids = np.asarray(source_ids, dtype=np.int32)
        if source_ids.ndim != 2 or len(source_ids) != batch_size:
            raise ZooError(
                f"source_ids must be ({batch_size}, length), got {source_ids.shape}"
            )
        encoder_outputs, mask, state = self.encode(tf.constant(source_ids))
        return {
            "encoder_outputs": encoder_outputs,
            "source_mask": mask,
            "decoder_state": state,
        }

    def step(self, tokens, state, position=None):
        """(B,) ids -> (B, V) logits for the next token, and the new state."""
        x = self.target_embedding(tokens)  # (B, E)
        s, new_state = self.decoder.cell(x, state["decoder_state"], training=False)
        new_state = list(new_state) if isinstance(new_state, list | tuple) else [s]
        if self.attention is not None:
            context, _ = self.attention(
                s, state["encoder_outputs"], padding_mask=state["source_mask"]
            )  # (B, U or 2U)
            s = self.attentional_hidden(self.attention_concat([s, context]))
        return self.logits(s), {**state, "decoder_state": new_state}


def is_seq2seq(model) -> bool:
    """True for a model made by `build_seq2seq` (found by its layer names)."""
    get = getattr(model, "get_layer", None)
    if get is None:
        return False
    try:
        decoder, encoder = get("decoder"), get("encoder")
        get("source_embedding"), get("target_embedding"), get("logits")
    except ValueError:
        return False
    return isinstance(decoder, keras.layers.RNN) and isinstance(
        encoder, keras.layers.RNN | keras.layers.Bidirectional
    )


def make_stepper(model):
    """The `zoo.generation` hook: a `Seq2SeqStepper`, or None if `model` is
    not a `build_seq2seq` model."""
    return Seq2SeqStepper(model) if is_seq2seq(model) else None
