"""Tests for zoo.models.seq2seq: the recurrent encoder-decoder with attention,
its attention weights and its step-by-step decoder.

Sizes are tiny, and only the tests marked slow compile a training step with
XLA: one small model is trained once on dates and shared by them.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from helpers import (
    check_beam_width_one_is_greedy,
    check_translation_loads_in_a_fresh_process,
)

import zoo
from zoo.errors import ZooError
from zoo.generation import step_logits, stepper_for
from zoo.layers import AdditiveAttention
from zoo.models import transformer
from zoo.models.seq2seq import (
    DotAttention,
    Seq2SeqStepper,
    attention_model,
    attention_weights,
    build_seq2seq,
    make_stepper,
)
from zoo.text import BOS_ID, PAD_ID
from zoo.training import check_emits_logits

pytestmark = pytest.mark.usefixtures("keras_seed")

V_SRC, V_TGT = 30, 17
B, S, T = 3, 9, 6  # S != T on purpose
CONFIGS = {
    "gru-additive-bidirectional": {},
    "lstm-dot-forward": {
        "cell": "lstm",
        "attention": "dot",
        "bidirectional_encoder": False,
    },
    "lstm-additive-bidirectional": {"cell": "lstm"},
    "gru-no-attention": {"attention": None},
}


def _model(compile=False, **overrides):
    kwargs = {"embedding_dim": 8, "units": 12, **overrides}
    return build_seq2seq(V_SRC, target_vocab_size=V_TGT, compile=compile, **kwargs)


def _batch(seed=0):
    """Source ids with padding in the first sentence; decoder ids from <bos>."""
    rng = np.random.default_rng(seed)
    source = rng.integers(5, V_SRC, size=(B, S)).astype("int32")
    source[0, 5:] = PAD_ID  # sentence 0 has 5 real tokens
    decoder = rng.integers(5, V_TGT, size=(B, T)).astype("int32")
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
    assert logits.shape == (B, T, V_TGT)
    assert logits.dtype == np.float32 and np.isfinite(logits).all()
    check_emits_logits(model)
    assert model.layers[-1].name == "logits"
    assert [x.name for x in model.inputs] == ["encoder_inputs", "decoder_inputs"]


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
    """The encoder RNN skips padded steps (its backward half too), and the
    attention gives padding zero weight."""
    source, decoder = _batch()
    base = _logits(model, source, decoder)
    pad = np.zeros((B, 4), "int32")
    longer_source = _logits(model, np.concatenate([source, pad], 1), decoder)
    np.testing.assert_allclose(longer_source, base, rtol=0, atol=1e-5)
    longer_target = _logits(model, source, np.concatenate([decoder, pad], 1))
    np.testing.assert_allclose(longer_target[:, :T], base, rtol=0, atol=1e-5)


def test_source_padding_vectors_are_never_read(model):
    source, decoder = _batch()
    base = _logits(model, source, decoder)
    embedding = model.get_layer("source_embedding")
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
    changed = source.copy()  # the control: a real token does matter
    changed[0, 4] = 5 + (source[0, 4] - 5 + 1) % (V_SRC - 5)
    assert np.abs(_logits(model, changed, decoder)[0] - base[0]).max() > 1e-6


def test_attention_weights_are_a_distribution_over_real_tokens(model):
    source, decoder = _batch()
    if "attention" not in {layer.name for layer in model.layers}:
        with pytest.raises(ZooError, match="no attention"):
            attention_model(model)
        return
    both = attention_model(model)
    logits, weights = (np.asarray(a) for a in both([source, decoder]))
    np.testing.assert_allclose(logits, _logits(model, source, decoder), atol=1e-6)
    assert weights.shape == (B, T, S)  # (B, T, S)
    assert (weights[0, :, 5:] == 0).all()  # padding
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(attention_weights(model, source, decoder), weights)


def test_config_round_trip(model):
    source, decoder = _batch()
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    assert clone.get_config() == model.get_config()
    np.testing.assert_allclose(
        _logits(clone, source, decoder), _logits(model, source, decoder), atol=1e-6
    )


def test_step_by_step_decoding_equals_the_full_model(model):
    source, decoder = _batch()
    stepped = step_logits(model, decoder, source_ids=source)  # one token at a time
    np.testing.assert_allclose(
        stepped, _logits(model, source, decoder), rtol=0, atol=1e-5
    )
    assert isinstance(stepper_for(model), Seq2SeqStepper)


def test_each_module_claims_only_its_own_models(model):
    other = transformer.build_transformer(
        V_SRC, embedding_dim=8, num_heads=2, ff_dim=8, num_layers=1, compile=False
    )
    lm = zoo.build_gru(V_SRC, embedding_dim=4, units=4, compile=False)
    assert isinstance(make_stepper(model), Seq2SeqStepper)
    assert make_stepper(other) is None and make_stepper(lm) is None
    assert transformer.make_stepper(model) is None


def test_the_encoder_may_be_bidirectional_but_a_language_model_may_not():
    model = _model()
    assert isinstance(model.get_layer("encoder"), keras.layers.Bidirectional)
    assert not isinstance(model.get_layer("decoder"), keras.layers.Bidirectional)
    with pytest.raises(ZooError, match="future"):
        zoo.build_gru(V_SRC, bidirectional=True)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"cell": "rnn"}, "cell"),
        ({"attention": "luong"}, "attention"),
        ({"units": 0}, "units"),
        ({"dropout": -0.1}, "dropout"),
    ],
)
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(ZooError, match=match):
        _model(**kwargs)


# --- the attention layers --------------------------------------------------------


@pytest.mark.parametrize("layer_cls", [AdditiveAttention, DotAttention])
def test_one_step_attention_equals_a_row_of_the_sequence(layer_cls):
    layer = layer_cls(12) if layer_cls is AdditiveAttention else layer_cls()
    rng = np.random.default_rng(0)
    query = rng.normal(size=(2, 4, 6)).astype("float32")  # (B, T, U)
    value = rng.normal(size=(2, 5, 10)).astype("float32")  # (B, S, d)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    context, weights = layer(query, value, padding_mask=mask)
    one_context, one_weights = layer(query[:, 2], value, padding_mask=mask)
    np.testing.assert_allclose(one_context, np.asarray(context)[:, 2], atol=1e-6)
    np.testing.assert_allclose(one_weights, np.asarray(weights)[:, 2], atol=1e-6)
    assert (np.asarray(weights)[0, :, 3:] == 0).all()


def test_dot_attention_is_the_formula_of_document_001():
    layer = DotAttention()
    rng = np.random.default_rng(1)
    query = rng.normal(size=(1, 3, 6)).astype("float32")
    value = rng.normal(size=(1, 4, 8)).astype("float32")
    context, weights = layer(query, value)
    q = query[0] @ layer.query_dense.kernel.numpy()  # s W_a: (T, d)
    scores = q @ value[0].T / np.sqrt(8)  # (T, S)
    expected = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    np.testing.assert_allclose(np.asarray(weights)[0], expected, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(context)[0], expected @ value[0], rtol=1e-5)


# --- trained on dates (XLA) ------------------------------------------------------


@pytest.fixture(scope="module")
def trained():
    """A small GRU seq2seq with additive attention trained on 1,800 dates."""
    from zoo.data.translation import make_dates
    from zoo.training import train
    from zoo.translation import build_translation_model, prepare_pairs

    keras.utils.set_random_seed(0)
    corpus = make_dates(2_000)
    prepared = prepare_pairs(corpus)
    model = build_translation_model(
        "seq2seq", prepared, embedding_dim=32, units=64, learning_rate=5e-3
    )
    before = [w.copy() for w in model.get_weights()]
    history = train(
        model, prepared.dataset("train", batch_size=32), epochs=4, verbose=0
    )
    return corpus, prepared, model, before, history


@pytest.mark.slow
def test_trains_with_xla_and_translates_dates(trained):
    from zoo.translation import score_translations

    corpus, prepared, model, before, history = trained
    assert model.jit_compile is True  # XLA stayed on through fit
    after = model.get_weights()
    assert all(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    assert history["loss"][-1] < 0.2 * history["loss"][0]
    scores = score_translations(
        model, prepared.source_tokenizer, prepared.target_tokenizer, corpus.valid
    )
    # Chance is ~0; 4 epochs (224 steps) reach about 0.8.
    assert scores["exact_match"] > 0.4, scores
    assert scores["bleu"] > 70, scores


@pytest.mark.slow
def test_beam_width_one_is_greedy(trained):
    corpus, prepared, model, *_ = trained
    check_beam_width_one_is_greedy(model, corpus, prepared, max_new_tokens=11)


@pytest.mark.slow
def test_saved_model_loads_in_a_fresh_process(trained, tmp_path):
    corpus, prepared, model, *_ = trained
    check_translation_loads_in_a_fresh_process(
        model, corpus, prepared, tmp_path, max_new_tokens=11
    )
