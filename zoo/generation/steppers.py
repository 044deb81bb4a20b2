"""Steppers: each model family run one token at a time, behind one interface.

Every neural model decodes through a *stepper* (`Stepper`): an object that
holds the model's decoding state (an RNN's hidden states, a Transformer's
key/value cache, an encoder's outputs) and advances it one token at a time,
with the model's own trained layers. Sampling, beam search, prompt cropping
and seeding (`zoo.generation.decoding`) are written once, on top of it.

* `RecurrentStepper`: SimpleRNN, LSTM, GRU and `ElmanCell` language models;
  one cell step per token, the prefix is never re-run (docs/pitfalls.md #9).
* `GPTStepper`: a key/value cache per block, and a `prefill` that reads a
  whole prompt in one pass.
* `TransformerStepper`: the encoder once, then the decoder with a cache.
* `Seq2SeqStepper`: the encoder once, then one decoder cell step and one
  attention per token.

`stepper_for` asks each class of `STEPPERS`, in order, whether it can decode
a model (`can_decode`, by the model's structure, so a renamed or reloaded
model is still recognised) and returns the first that can.

Shape letters: B batch, T length, S source length, C model width, E
embedding size, H heads, D head size, L blocks, V vocabulary, S_max / T_max
cache slots (the context length).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from zoo.errors import ZooError
from zoo.layers.embedding import TiedEmbedding
from zoo.layers.masks import padding_mask
from zoo.layers.transformer import TransformerDecoderBlock
from zoo.models.bert import is_masked_lm
from zoo.models.seq2seq import is_seq2seq
from zoo.models.transformer import TransformerParts, is_transformer
from zoo.text import PAD_ID


@runtime_checkable
class Stepper(Protocol):
    """What sampling and beam search need from a model: one token at a time.

    Attributes:
        max_length: the longest sequence (prompt + new tokens) the model can
            read, or None if unlimited (recurrent models).
    """

    max_length: int | None

    @classmethod
    def can_decode(cls, model) -> bool:
        """Whether this stepper decodes `model`, judged by its structure."""
        ...

    def initial_state(self, batch_size: int, **context):
        """The state before the first token.

        A nested structure of tensors whose first axis is the batch (beam
        search reorders it with `tf.gather`). `context` carries extra inputs,
        e.g. an encoder-decoder model's ``source_ids`` (B, S).
        """
        ...

    def step(self, tokens, state, position):
        """(B,) int32 `tokens` at index `position` (a scalar int32 tensor) ->
        ``(logits, state)``: (B, V) logits for the token after them.

        Must be XLA-compilable with static shapes: sampling calls it inside
        one compiled `tf.while_loop`, so the new state has the shapes and
        dtypes of the old one.
        """
        ...


@runtime_checkable
class PrefillStepper(Stepper, Protocol):
    """A `Stepper` that can also read a whole prompt in one pass (a GPT).

    Sampling uses `prefill` when a stepper has it; otherwise it reads the
    prompt one `step` at a time.
    """

    def prefill(self, tokens, state, length):
        """Read (B, T) ids, of which the first `length` are the prompt, in one
        pass from an empty state -> ``(logits, state)``: the (B, V) logits
        after the prompt."""
        ...


# --- recurrent language models ---------------------------------------------------


class RecurrentStepper:
    """Runs a zoo recurrent model one token at a time, carrying its state.

    It calls the model's own layers (embedding, each recurrent layer's cell,
    the output Dense), so it shares the trained weights; dropout is skipped as
    at inference.

    Args:
        model: a token-input recurrent model (SimpleRNN/LSTM/GRU/`ElmanCell`).

    Example:
        >>> stepper = RecurrentStepper(model)
        >>> states = stepper.initial_state(batch_size=1)
        >>> logits, states = stepper.step(tf.constant([7]), states)  # (1, V)
    """

    max_length = None  # a recurrent model has no context limit

    def __init__(self, model: keras.Model):
        self.layers = self.steppable_layers(model)
        self.cells = [
            lay.cell for lay in self.layers if isinstance(lay, keras.layers.RNN)
        ]

    @classmethod
    def can_decode(cls, model) -> bool:
        """True for a token-input stack of Embedding, RNN and Dense layers."""
        try:
            cls.steppable_layers(model)
        except ZooError:
            return False
        return True

    @staticmethod
    def steppable_layers(model) -> list:
        """The layers a step runs, in order (Dropout and the input left out).

        Raises:
            ZooError: naming the first layer that cannot run one token at a
                time (a bidirectional one reads the future), or saying that
                the model does not start with an Embedding.
        """
        layers = []
        for layer in getattr(model, "layers", None) or ():
            if isinstance(layer, keras.layers.Bidirectional):
                raise ZooError(
                    f"layer {layer.name!r} is bidirectional: it reads the future, so "
                    "the model cannot generate left to right (see listing 003-s5)."
                )
            if isinstance(layer, (keras.layers.Dropout, keras.layers.InputLayer)):
                continue
            if not isinstance(
                layer, (keras.layers.Embedding, keras.layers.RNN, keras.layers.Dense)
            ):
                raise ZooError(
                    f"cannot step layer {layer.name!r} ({type(layer).__name__}) one "
                    "token at a time"
                )
            layers.append(layer)
        if not layers or not isinstance(layers[0], keras.layers.Embedding):
            raise ZooError(
                f"model {getattr(model, 'name', model)!r} does not start with an "
                "Embedding layer, so it cannot decode token ids "
                "(inputs='embeddings' models cannot generate)"
            )
        return layers

    def initial_state(self, batch_size: int, **context):
        """Zero states: a list (one entry per layer) of lists of (B, units)."""
        return [
            [tf.zeros((batch_size, s), cell.compute_dtype) for s in _state_sizes(cell)]
            for cell in self.cells
        ]

    def step(self, tokens, states, position=None):
        """(B,) ids and states -> (B, V) logits for the next token, new states.

        `position` (the index of `tokens` in the sequence) is unused: the
        state carries everything. It is part of the `Stepper` protocol."""
        x = tokens
        new_states, i = [], 0
        for layer in self.layers:
            if isinstance(layer, keras.layers.RNN):
                x, s = layer.cell(x, states[i], training=False)  # (B, units)
                new_states.append(list(s) if isinstance(s, (list, tuple)) else [s])
                i += 1
            else:
                x = layer(x, training=False)  # (B, E) after Embedding; (B, V) logits
        return x, new_states


def _state_sizes(cell):
    size = cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]


# --- GPT: a key/value cache per block --------------------------------------------


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
    prefix (docs/pitfalls.md #9), and every step has the same static shapes, so the
    step compiles once under XLA (docs/pitfalls.md #12). `prefill` reads a whole
    prompt in one forward pass. A `PrefillStepper`.

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

    @classmethod
    def can_decode(cls, model) -> bool:
        """True for a GPT (`build_gpt`), found by structure, not by name."""
        return _gpt_parts(model) is not None

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


# --- encoder-decoder Transformer -------------------------------------------------


def _source_array(source_ids, max_source_length: int) -> np.ndarray:
    """(B, S) ids as int32, padded to S_max (static shapes: one compile)."""
    if source_ids is None:
        raise ZooError(
            "an encoder-decoder model needs the source sentences: pass "
            "source_ids=(B, S) ids, or use zoo.generation.translate()"
        )
    source_ids = np.asarray(source_ids, dtype=np.int32)
    if source_ids.ndim != 2:
        raise ZooError(f"source_ids must be (batch, length), got {source_ids.shape}")
    longest = int((source_ids != PAD_ID).sum(axis=1).max(initial=0))
    if source_ids.shape[1] > max_source_length:
        if longest > max_source_length:
            raise ZooError(
                f"a source sentence of {longest} tokens is longer than the "
                f"model's max_source_length={max_source_length}: shorten it, or "
                f"train a model with max_source_length >= {longest}"
            )
        source_ids = source_ids[:, :max_source_length]  # only padding is cut
    padded = np.full((len(source_ids), max_source_length), PAD_ID, np.int32)
    padded[:, : source_ids.shape[1]] = source_ids
    return padded


class TransformerStepper:
    """Decodes a `build_transformer` model one target token at a time.

    `initial_state` runs the encoder once; `step` runs the decoder on one
    token, reading and writing a key/value cache per decoder block (keys and
    values, (B, H, T_max, D) each), so each new token costs one position, not
    the whole prefix (docs/pitfalls.md #9). All shapes are static: the source is padded
    to S_max and the caches hold T_max positions, so the XLA-compiled step is
    traced once. The layers are found by `zoo.models.transformer.
    TransformerParts`, which also runs the encoder.

    Args:
        model: a `build_transformer` model.

    Example:
        >>> stepper = TransformerStepper(model)
        >>> state = stepper.initial_state(2, source_ids=src)  # encoder runs here
        >>> logits, state = stepper.step(tf.constant([2, 2]), state, tf.constant(0))
    """

    def __init__(self, model: keras.Model):
        self.parts = TransformerParts(model)
        self.max_length = self.parts.max_target_length  # T_max

    @classmethod
    def can_decode(cls, model) -> bool:
        """True for an encoder-decoder model of `build_transformer`."""
        return is_transformer(model)

    def initial_state(self, batch_size: int, *, source_ids=None, **context):
        """Encode the sources; empty caches.

        Returns:
            {"encoder_outputs": (B, S_max, C), "source_mask": (B, S_max),
            "caches": L x (keys, values), each (B, H, T_max, D)}: every
            tensor has the batch first, as beam search needs.
        """
        parts = self.parts
        source_ids = _source_array(source_ids, parts.max_source_length)
        if len(source_ids) != batch_size:
            raise ZooError(
                f"{len(source_ids)} source sentences for a batch of {batch_size}"
            )
        encoder_outputs, mask = parts.encode(tf.constant(source_ids))
        return {
            "encoder_outputs": encoder_outputs,
            "source_mask": mask,
            "caches": tuple(
                block.initial_cache(batch_size, parts.max_target_length)
                for block in parts.decoder_blocks
            ),  # L x (keys, values), each (B, H, T_max, D)
        }

    def step(self, tokens, state, position):
        """(B,) ids at `position` -> (B, V) logits for the next token, state."""
        parts = self.parts
        y = parts.target_embedding(tokens[:, None], position_offset=position)
        caches = []  # y: (B, 1, C)
        for block, cache in zip(parts.decoder_blocks, state["caches"], strict=True):
            y, cache = block(
                y,
                encoder_outputs=state["encoder_outputs"],
                encoder_padding_mask=state["source_mask"],
                cache=cache,
                cache_index=position,
                training=False,
            )  # (B, 1, C), 2 x (B, H, T_max, D) with slot `position` written
            caches.append(cache)
        if parts.decoder_norm is not None:
            y = parts.decoder_norm(y)
        logits = parts.logits(y)[:, 0]  # (B, V)
        return logits, {**state, "caches": tuple(caches)}


# --- recurrent encoder-decoder -----------------------------------------------------


class Seq2SeqStepper:
    """Decodes a `build_seq2seq` model one target token at a time.

    `initial_state` runs the encoder once over the sources; each `step` is
    one decoder cell step, one attention over the encoder states and the
    output layers, with the model's own (trained) layers. Dropout is off.

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

    @classmethod
    def can_decode(cls, model) -> bool:
        """True for a model of `build_seq2seq` (found by its layer names)."""
        return is_seq2seq(model)

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


# --- which stepper decodes a model ---------------------------------------------------

# Asked in this order; the recurrent stepper, the least specific, last.
STEPPERS: tuple[type[Stepper], ...] = (
    GPTStepper,
    TransformerStepper,
    Seq2SeqStepper,
    RecurrentStepper,
)


def stepper_for(model) -> Stepper:
    """The stepper that decodes `model` one token at a time.

    Args:
        model: a zoo Keras model (also one loaded from a ``.keras`` file).

    Returns:
        An instance of the first class of `STEPPERS` whose ``can_decode``
        accepts the model.

    Raises:
        ZooError: if none does. A masked language model (`build_bert_mlm`)
            reads the whole sentence and cannot generate left to right; for
            any other model the message names the layer that cannot be run
            one token at a time.

    Example:
        >>> stepper = stepper_for(zoo.build_lstm(65))
        >>> type(stepper).__name__
        'RecurrentStepper'
    """
    for stepper in STEPPERS:
        if stepper.can_decode(model):
            return stepper(model)
    if is_masked_lm(model):
        raise ZooError(
            f"model {model.name!r} is a bidirectional masked language model "
            "(BERT): every position reads the whole sentence, so it cannot "
            "generate left to right. Use zoo.generation.fill_mask, or a GPT."
        )
    RecurrentStepper.steppable_layers(model)  # raises: says what cannot be stepped
    raise ZooError(f"no zoo stepper decodes model {model.name!r}")
