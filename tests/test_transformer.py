"""Tests for zoo.models.transformer (build_transformer, its cached stepper) and
for document 004's Transformer listing (zoo.listings "004-4.2").

Sizes are tiny, and only the tests marked slow compile a training step with
XLA: one small model is trained once on dates and shared by them.
"""

from __future__ import annotations

import ast
import json
from collections import Counter

import keras
import numpy as np
import pytest
from helpers import (
    check_beam_width_one_is_greedy,
    check_translation_loads_in_a_fresh_process,
)

import zoo
from zoo import listings
from zoo.errors import ZooError, ZooWarning
from zoo.generation import generate_ids, step_logits, stepper_for, translate
from zoo.models import seq2seq, transformer
from zoo.models.transformer import TransformerStepper, build_transformer, make_stepper
from zoo.text import BOS_ID, PAD_ID, CharTokenizer
from zoo.training import check_emits_logits

pytestmark = pytest.mark.usefixtures("keras_seed")

SOURCE_TOKENIZER = CharTokenizer.fit("abcdefghijklmnopqrstuvwxyz 0123456789,")
TARGET_TOKENIZER = CharTokenizer.fit("0123456789-")
V_SRC, V_TGT = SOURCE_TOKENIZER.vocab_size, TARGET_TOKENIZER.vocab_size
B, S, T = 3, 9, 6  # S != T on purpose (PITFALLS #7)
S_MAX, T_MAX = 12, 8
TINY = dict(
    max_source_length=S_MAX,
    max_target_length=T_MAX,
    embedding_dim=16,
    num_heads=2,
    ff_dim=32,
    num_layers=2,
    dropout=0.0,
)
CONFIGS = {
    "post-norm": {},
    "pre-norm-learned": {"norm_first": True, "positional": "learned"},
}


def _model(compile=False, **overrides):
    return build_transformer(
        V_SRC,
        target_vocab_size=V_TGT,
        compile=compile,
        **{**TINY, **overrides},
    )


def _ids(shape, vocab, seed):
    return np.random.default_rng(seed).integers(5, vocab, size=shape).astype("int32")


def _batch(seed=0):
    """Source ids with padding in the first sentence; decoder ids from <bos>."""
    source = _ids((B, S), V_SRC, seed)
    source[0, 5:] = PAD_ID  # sentence 0 has 5 real tokens
    decoder = _ids((B, T), V_TGT, seed + 1)
    decoder[:, 0] = BOS_ID
    return source, decoder


def _logits(model, source, decoder):
    return np.asarray(model([source, decoder], training=False))


@pytest.fixture(params=list(CONFIGS), scope="module")
def model(request):
    keras.utils.set_random_seed(0)
    return _model(**CONFIGS[request.param])


# --- the model -----------------------------------------------------------------


def test_output_is_logits_over_the_target_vocabulary(model):
    source, decoder = _batch()
    logits = _logits(model, source, decoder)
    assert logits.shape == (B, T, V_TGT)  # (B, T, V_tgt), with S != T
    assert logits.dtype == np.float32 and np.isfinite(logits).all()
    check_emits_logits(model)
    assert model.layers[-1].name == "logits"
    assert [x.name for x in model.inputs] == ["encoder_inputs", "decoder_inputs"]
    names = {layer.name for layer in model.layers}
    assert {"source_padding_mask", "encoder_block_2", "decoder_block_2"} <= names


def test_decoder_never_sees_later_target_tokens(model):
    source, decoder = _batch()
    base = _logits(model, source, decoder)
    for t in range(1, T):
        changed = decoder.copy()
        changed[:, t:] = 5 + (decoder[:, t:] - 5 + 1) % (V_TGT - 5)
        moved = _logits(model, source, changed)
        np.testing.assert_allclose(moved[:, :t], base[:, :t], rtol=0, atol=1e-5)
        assert np.abs(moved[:, t:] - base[:, t:]).max() > 1e-6


def test_appended_padding_changes_nothing(model):
    source, decoder = _batch()
    base = _logits(model, source, decoder)
    pad = np.zeros((B, 3), "int32")
    longer_source = _logits(model, np.concatenate([source, pad], 1), decoder)
    np.testing.assert_allclose(longer_source, base, rtol=0, atol=1e-5)
    longer_target = _logits(model, source, np.concatenate([decoder, pad[:, :2]], 1))
    np.testing.assert_allclose(longer_target[:, :T], base, rtol=0, atol=1e-5)


def test_source_padding_is_masked_in_encoder_and_cross_attention(model):
    """Whatever vector the padding gets, nothing moves (S != T): the encoder's
    padding mask, not the decoder's, masks the cross-attention (PITFALLS #7)."""
    source, decoder = _batch()
    base = _logits(model, source, decoder)
    embedding = model.get_layer("source_embedding").token_embedding
    table = embedding.embeddings.numpy()
    try:
        noisy = table.copy()
        noisy[PAD_ID] = np.random.default_rng(3).normal(0, 5, table.shape[1])
        embedding.embeddings.assign(noisy)
        np.testing.assert_allclose(
            _logits(model, source, decoder), base, rtol=0, atol=1e-5
        )
    finally:
        embedding.embeddings.assign(table)
    # The control: a real source token does reach every target position.
    changed = source.copy()
    changed[0, 4] = 5 + (source[0, 4] - 5 + 1) % (V_SRC - 5)
    moved = _logits(model, changed, decoder)
    assert (np.abs(moved[0] - base[0]).max(axis=-1) > 1e-6).all()
    # Cross-attention weights: zero on padding, one in all on the real tokens.
    weights = transformer.attention_weights(model, source, decoder)
    assert weights.shape == (2, B, 2, T, S)  # (L, B, H, T, S)
    assert (weights[:, 0, :, :, 5:] == 0).all()
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)


def test_config_round_trip(model):
    source, decoder = _batch()
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    assert clone.get_config() == model.get_config()
    np.testing.assert_allclose(
        _logits(clone, source, decoder), _logits(model, source, decoder), atol=1e-6
    )


# --- decoding -------------------------------------------------------------------


def test_cached_decoding_equals_the_full_model(model):
    source, decoder = _batch()
    full = _logits(model, source, decoder)
    stepped = step_logits(model, decoder, source_ids=source)  # one token at a time
    np.testing.assert_allclose(stepped, full, rtol=0, atol=1e-4)
    stepper = stepper_for(model)
    assert isinstance(stepper, TransformerStepper)
    assert stepper.max_length == T_MAX
    state = stepper.initial_state(B, source_ids=source)
    assert state["encoder_outputs"].shape == (B, S_MAX, 16)  # padded to S_max
    # Per decoder block: keys and values, (B, H, T_max, D) each.
    shapes = [tuple(c.shape) for pair in state["caches"] for c in pair]
    assert shapes == [(B, 2, T_MAX, 8)] * 4


def test_each_module_claims_only_its_own_models(model):
    other = seq2seq.build_seq2seq(V_SRC, embedding_dim=4, units=4, compile=False)
    lm = zoo.build_gru(V_SRC, embedding_dim=4, units=4, compile=False)
    assert isinstance(make_stepper(model), TransformerStepper)
    assert make_stepper(other) is None and make_stepper(lm) is None
    assert seq2seq.make_stepper(model) is None


def test_a_source_longer_than_max_source_length_is_refused(model):
    with pytest.raises(ZooError, match=r"15 tokens .* max_source_length=12"):
        translate(  # 15 characters
            model,
            SOURCE_TOKENIZER,
            TARGET_TOKENIZER,
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
        _model(**kwargs)


# --- trained on dates (XLA) ------------------------------------------------------


@pytest.fixture(scope="module")
def trained():
    """A small Transformer trained on 1,800 dates with XLA (about 400 steps)."""
    from zoo.data.translation import make_dates
    from zoo.training import train
    from zoo.translation import build_translation_model, prepare_pairs

    keras.utils.set_random_seed(0)
    corpus = make_dates(2_000)
    prepared = prepare_pairs(corpus)
    model = build_translation_model(
        "transformer",
        prepared,
        embedding_dim=32,
        num_heads=2,
        ff_dim=64,
        num_layers=1,
        dropout=0.0,
        learning_rate=3e-3,
    )
    before = [w.copy() for w in model.get_weights()]
    history = train(
        model, prepared.dataset("train", batch_size=32), epochs=7, verbose=0
    )
    return corpus, prepared, model, before, history


@pytest.mark.slow
def test_trains_with_xla_and_translates_dates(trained):
    from zoo.translation import score_translations

    corpus, prepared, model, before, history = trained
    assert model.jit_compile is True  # XLA stayed on through fit
    after = model.get_weights()
    assert all(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    scores = score_translations(
        model,
        prepared.source_tokenizer,
        prepared.target_tokenizer,
        corpus.valid,
    )
    # Chance is ~0: a date has 3,650,000 possible answers. 400 steps get ~0.6.
    assert scores["exact_match"] > 0.25, scores
    assert scores["bleu"] > 60, scores


@pytest.mark.slow
def test_beam_width_one_is_greedy(trained):
    corpus, prepared, model, *_ = trained
    check_beam_width_one_is_greedy(model, corpus, prepared, max_new_tokens=10)


@pytest.mark.slow
def test_saved_model_loads_in_a_fresh_process(trained, tmp_path):
    corpus, prepared, model, *_ = trained
    check_translation_loads_in_a_fresh_process(
        model, corpus, prepared, tmp_path, max_new_tokens=10
    )


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
    probs = _logits(model, source, decoder)
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
            _logits(model, source, changed) - _logits(model, source, decoder)
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
