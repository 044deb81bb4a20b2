"""A recurrent encoder-decoder (seq2seq) with attention.

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
* "dot": a dot product through a learned matrix, e_ts = s_t^T W_a h_s /
  sqrt(d): Luong's "general" score, scaled as in document 001, section 4's
  formula (`LuongAttention`; Luong's plain "dot" score has no W_a).

Both mask the source padding (the same padding mask as the Transformer's
cross-attention, docs/pitfalls.md #7), and the encoder RNN skips padded steps, so
appending padding to a source never changes anything.

Generation (`zoo.generation.translate`) runs the encoder once, then the
decoder one cell step at a time: `zoo.generation.steppers.Seq2SeqStepper`.

Shape letters: B batch, S source length, T target length, E embedding size,
U recurrent units, V vocabulary.
"""

from __future__ import annotations

import keras
import numpy as np

from zoo.errors import ZooError
from zoo.layers.attention import AdditiveAttention, LuongAttention
from zoo.layers.masks import PaddingMask
from zoo.models._checks import check_compile_kwargs, check_dropout, check_positive

CELLS = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM}
ATTENTIONS = ("additive", "dot", None)


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
    arrays of `zoo.data.pairs.encode_pairs`) and returns logits
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
        attention: "additive" (Bahdanau, `AdditiveAttention`), "dot"
            (Luong's "general" score s^T W_a h, scaled: `LuongAttention`) or
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
    check_compile_kwargs("build_seq2seq", compile, compile_kwargs)
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
            layer = LuongAttention(name="attention")
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
