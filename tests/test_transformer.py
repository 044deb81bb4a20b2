"""Tests for zoo.models.transformer that only the Transformer has (its cross-
attention weights, its cache, its position tables, its argument checks) and
for document 004's Transformer listing (zoo.listings "004-4.2").

What it shares with the recurrent seq2seq model (logits, causality, padding,
the config round trip, cached decoding equal to the full model, training on
dates) is tested in test_encoder_decoder.py, on the configurations of
`TRANSFORMER` there.
"""

from __future__ import annotations

import ast
import inspect
import json
from collections import Counter

import keras
import numpy as np
import pytest
from test_encoder_decoder import (
    S_MAX,
    T_MAX,
    TRANSFORMER,
    TRANSFORMER_SOURCE,
    TRANSFORMER_TARGET,
    B,
    S,
    T,
    batch,
    logits_of,
)

from zoo import listings
from zoo.errors import ZooError, ZooWarning
from zoo.generation import TransformerStepper, generate_ids, stepper_for, translate
from zoo.models import transformer
from zoo.text import BOS_ID

pytestmark = pytest.mark.usefixtures("keras_seed")


def _ids(shape, vocab, seed):
    return np.random.default_rng(seed).integers(5, vocab, size=shape).astype("int32")


@pytest.fixture(params=list(TRANSFORMER.configs), scope="module")
def model(request):
    keras.utils.set_random_seed(0)
    return TRANSFORMER.build(**TRANSFORMER.configs[request.param])


# --- what only the Transformer has ----------------------------------------------


def test_cross_attention_weights_are_zero_on_source_padding(model):
    """Zero on padding, one in all on the real tokens (docs/pitfalls.md #7)."""
    source, decoder = batch(TRANSFORMER)
    weights = transformer.attention_weights(model, source, decoder)
    assert weights.shape == (2, B, 2, T, S)  # (L, B, H, T, S)
    assert (weights[:, 0, :, :, 5:] == 0).all()
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)


def test_cached_decoding_has_static_shapes(model):
    source, _ = batch(TRANSFORMER)
    stepper = stepper_for(model)
    assert isinstance(stepper, TransformerStepper)
    assert stepper.max_length == T_MAX
    state = stepper.initial_state(B, source_ids=source)
    assert state["encoder_outputs"].shape == (B, S_MAX, 16)  # padded to S_max
    # Per decoder block: keys and values, (B, H, T_max, D) each.
    shapes = [tuple(c.shape) for pair in state["caches"] for c in pair]
    assert shapes == [(B, 2, T_MAX, 8)] * 4


def test_a_source_longer_than_max_source_length_is_refused(model):
    with pytest.raises(ZooError, match=r"15 tokens .* max_source_length=12"):
        translate(  # 15 characters
            model,
            TRANSFORMER_SOURCE,
            TRANSFORMER_TARGET,
            ["3 march 1998 ab"],
            max_new_tokens=4,
        )
    with pytest.raises(ZooError, match="source_ids"):
        generate_ids(model, np.full((1, 1), BOS_ID), max_new_tokens=2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_heads": 3}, "divisible"),
        ({"positional": "rotary"}, "positional"),
        ({"dropout": 1.0}, "dropout"),
        ({"num_layers": 0}, "num_layers"),
    ],
)
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(ZooError, match=match):
        TRANSFORMER.build(**kwargs)


def test_vocab_size_is_the_one_positional_argument():
    """As in every factory; document 004's 10000 is a tokenizer's size."""
    params = inspect.signature(transformer.build_transformer).parameters
    first, *rest = params.values()
    assert first.name == "vocab_size" and first.default is inspect.Parameter.empty
    assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in rest)


# --- document 004, section 4.2: the listing as written ------------------------------

LISTING = listings.get("004-4.2")
LISTING_SMALL = {"input_dim": 30, "output_dim": 16, "num_heads": 2, "ff_dim": 24}
# What each layer is compared on, with Keras's default where the call is silent.
COMPARED = {
    "Input": {"shape": None},
    "Embedding": {"input_dim": None, "output_dim": None},
    "LayerNormalization": {"epsilon": 1e-3},
    "MultiHeadAttention": {"num_heads": None, "key_dim": None},
    "Dense": {"units": None, "activation": "linear"},
    "Concatenate": {"axis": -1},
}
POSITIONAL_ARGS = {
    "Input": ("shape",),
    "Embedding": ("input_dim", "output_dim"),
    "Dense": ("units",),
}


def _listing_calls(code, sizes):
    """(class, settings) of each layer the listing constructs, in source order."""

    def value(node):
        return sizes[node.id] if isinstance(node, ast.Name) else ast.literal_eval(node)

    calls = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in COMPARED:
            cls = node.func.id
            names = POSITIONAL_ARGS.get(cls, ())[: len(node.args)]
            args = dict(zip(names, map(value, node.args), strict=True))
            args.update({kw.arg: value(kw.value) for kw in node.keywords})
            settings = {k: args.get(k, d) for k, d in COMPARED[cls].items()}
            calls.append((node.lineno, cls, settings))
    return [(cls, settings) for _, cls, settings in sorted(calls, key=lambda c: c[0])]


def _layer_settings(layer):
    cls = "Input" if type(layer).__name__ == "InputLayer" else type(layer).__name__
    config, settings = layer.get_config(), {}
    for name in COMPARED[cls]:
        if name == "shape":
            settings[name] = tuple(layer.batch_shape[1:])
        elif name == "activation":
            settings[name] = layer.activation.__name__
        else:
            settings[name] = config[name]
    return cls, settings


def _as_written(**sizes):
    with pytest.warns(ZooWarning, match="004-4.2"):
        return LISTING.build_as_written(**{**LISTING_SMALL, **sizes})


def test_004_42_built_as_written_has_the_listings_layers():
    calls = _listing_calls(LISTING.code, LISTING_SMALL)
    assert [cls for cls, _ in calls] == [
        "Input", "Embedding", "LayerNormalization", "MultiHeadAttention",
        "LayerNormalization", "Dense", "LayerNormalization",
        "Input", "Embedding", "Concatenate", "Dense",
    ]  # fmt: skip
    model = _as_written()
    # A functional model lists its layers by depth, not in source order:
    # compare them as a multiset, then check the wiring that matters.
    layers = [_layer_settings(layer) for layer in model.layers]
    assert Counter(json.dumps(c) for c in layers) == Counter(
        json.dumps(c) for c in calls
    )
    concat = next(
        lay for lay in model.layers if isinstance(lay, keras.layers.Concatenate)
    )
    # Encoder output (ff_dim wide: no projection back) beside the decoder embedding.
    widths = [t.shape[-1] for t in concat.input]
    assert widths == [LISTING_SMALL["ff_dim"], LISTING_SMALL["output_dim"]]
    assert model.loss == "sparse_categorical_crossentropy"
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.get_compile_config()["metrics"] == ["accuracy"]


def test_004_42_as_written_needs_equal_lengths_and_a_tiny_vocabulary():
    model = _as_written()
    source, decoder = _ids((2, 7), 30, 0), _ids((2, 7), 30, 1)
    probs = logits_of(model, source, decoder)
    assert probs.shape == (2, 7, LISTING_SMALL["output_dim"])  # not (.., input_dim)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)  # softmax output
    with pytest.raises(Exception, match="[Dd]imension|shape"):
        model([source, decoder[:, :5]])  # S != T: the Concatenate fails
    targets = np.full((2, 7), 20)  # an id >= output_dim = 16
    with pytest.raises(Exception, match="label|range"):
        model.evaluate([source, decoder], targets, verbose=0)


def test_004_42_decoder_has_no_past_while_zoos_decoder_is_causal():
    as_written = _as_written()
    zoo_model = LISTING.build_zoo(30, embedding_dim=16, num_heads=2, ff_dim=24)
    source, decoder = _ids((2, 7), 30, 0), _ids((2, 7), 30, 1)
    j = 3
    changed = decoder.copy()
    changed[:, j] = 5 + (decoder[:, j] - 5 + 1) % 25
    for model, moves in [
        (as_written, lambda t: t == j),  # that position only: no context
        (zoo_model, lambda t: t >= j),  # it and every later one: causal
    ]:
        delta = np.abs(
            logits_of(model, source, changed) - logits_of(model, source, decoder)
        )
        moved = delta.max(axis=(0, 2)) > 1e-6  # (T,)
        assert moved.tolist() == [moves(t) for t in range(7)], model.name


def test_004_42_zoo_call_keeps_the_listings_sizes():
    assert LISTING.zoo_call == (
        "build_transformer(vocab_size, embedding_dim=256, num_heads=4, "
        "ff_dim=512, num_layers=1)"
    )
    model = LISTING.build_zoo(40)  # the listing's width, heads and feed-forward
    block = model.get_layer("encoder_block_1")
    assert (block.num_heads, block.ff_dim) == (4, 512)
    assert model.get_layer("source_embedding").embedding_dim == 256
    assert model.get_layer("logits").units == 40  # the vocabulary, not 256
    assert model.compiled and model.jit_compile is True
    assert model.loss.get_config()["from_logits"] is True
    with pytest.raises(ZooError, match="no size"):
        LISTING.build_as_written(vocab_size=30)
