"""Tests for the recurrent models (zoo.models.rnn) and zoo's ElmanCell."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from helpers import (
    EMBED,
    RECURRENT_CONFIGS,
    UNITS,
    VOCAB,
    check_causal,
    check_fresh_process_load,
    logits_of,
    run_model_battery,
    token_ids,
)

import zoo
from zoo.errors import ZooError
from zoo.layers.cells import ElmanCell
from zoo.text import CharTokenizer
from zoo.training import compile_model

pytestmark = pytest.mark.usefixtures("keras_seed")

FACTORIES = ["build_simple_rnn", "build_lstm", "build_gru"]


# --- the model battery -------------------------------------------------------


@pytest.mark.slow  # 16 XLA-compiled fit steps: about 37 s
@pytest.mark.parametrize("config", RECURRENT_CONFIGS, ids=lambda c: c.id)
def test_model_battery(config):
    run_model_battery(config)


@pytest.mark.slow
def test_every_config_loads_in_a_fresh_process(tmp_path):
    tokenizer = CharTokenizer.fit("abcdefghijklmnopqrs")
    assert tokenizer.vocab_size == VOCAB
    models = {
        f"model_{i}": config.build(compile=False)
        for i, config in enumerate(RECURRENT_CONFIGS)
    }
    check_fresh_process_load(models, tokenizer, tmp_path, token_ids(seed=3))


def test_functional_embeddings_model_is_causal_and_round_trips():
    # Document 002's form: (B, T, E) vectors in, no Embedding layer.
    model = zoo.build_lstm(
        VOCAB, embedding_dim=EMBED, units=UNITS, inputs="embeddings", compile=False
    )
    assert isinstance(model, keras.Model)
    assert not isinstance(model, keras.Sequential)
    vectors = np.random.default_rng(0).normal(size=(2, 6, EMBED)).astype("float32")
    base = logits_of(model, vectors)
    assert base.shape == (2, 6, VOCAB)
    changed = vectors.copy()
    changed[:, 3:] += 1.0
    moved = logits_of(model, changed)
    np.testing.assert_allclose(moved[:, :3], base[:, :3], atol=1e-5)
    assert np.abs(moved[:, 3:] - base[:, 3:]).max() > 1e-6
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(logits_of(clone, vectors), base, atol=1e-6)


def test_dropout_model_is_causal_at_inference():
    model = zoo.build_gru(
        VOCAB, embedding_dim=EMBED, units=UNITS, dropout=0.3, compile=False
    )
    names = [layer.name for layer in model.layers]
    assert "embedding_dropout" in names and "output_dropout" in names
    check_causal(model, token_ids())


def test_layers_have_stable_names():
    model = zoo.build_lstm(
        VOCAB, embedding_dim=EMBED, units=UNITS, num_layers=2, compile=False
    )
    assert [layer.name for layer in model.layers] == [
        "embedding",
        "lstm_1",
        "lstm_2",
        "logits",
    ]


def test_factories_compile_with_zoo_settings_by_default():
    model = zoo.build_gru(VOCAB, embedding_dim=EMBED, units=UNITS)
    assert model.compiled and model.jit_compile is True
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    assert model.loss.get_config()["from_logits"] is True
    bare = zoo.build_gru(VOCAB, embedding_dim=EMBED, units=UNITS, compile=False)
    assert not bare.compiled


# --- ElmanCell ----------------------------------------------------------------


def _elman_and_simple_rnn(units=6, input_dim=4):
    elman = keras.layers.RNN(ElmanCell(units), return_sequences=True, return_state=True)
    simple = keras.layers.SimpleRNN(units, return_sequences=True, return_state=True)
    x = np.random.default_rng(0).normal(size=(3, 7, input_dim)).astype("float32")
    elman(x)
    simple(x)
    # Non-zero bias, so b <- bias is checked too.
    simple.cell.bias.assign(np.linspace(-0.5, 0.5, units).astype("float32"))
    elman.cell.W.assign(simple.cell.kernel)
    elman.cell.U.assign(simple.cell.recurrent_kernel)
    elman.cell.b.assign(simple.cell.bias)
    return elman, simple, x


def test_elman_cell_matches_simple_rnn_with_copied_weights():
    elman, simple, x = _elman_and_simple_rnn()
    seq_e, last_e = elman(x)
    seq_s, last_s = simple(x)
    assert seq_e.shape == (3, 7, 6) and last_e.shape == (3, 6)
    np.testing.assert_allclose(np.asarray(seq_e), np.asarray(seq_s), rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        np.asarray(last_e), np.asarray(last_s), rtol=0, atol=1e-6
    )
    np.testing.assert_allclose(np.asarray(seq_e)[:, -1], np.asarray(last_e), atol=1e-7)


def test_elman_cell_is_the_equation_h_t():
    # h_t = tanh(W x_t + U h_{t-1} + b), written out with NumPy.
    elman, _, x = _elman_and_simple_rnn()
    W, U, b = (np.asarray(v) for v in (elman.cell.W, elman.cell.U, elman.cell.b))
    h = np.zeros((x.shape[0], W.shape[1]), "float32")
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ W + h @ U + b)
    np.testing.assert_allclose(np.asarray(elman(x)[1]), h, atol=1e-5)


def test_from_equations_model_matches_simple_rnn_model():
    plain = zoo.build_simple_rnn(
        VOCAB, embedding_dim=EMBED, units=UNITS, num_layers=2, compile=False
    )
    elman = zoo.build_simple_rnn(
        VOCAB,
        embedding_dim=EMBED,
        units=UNITS,
        num_layers=2,
        from_equations=True,
        compile=False,
    )
    cells = [
        layer.cell for layer in elman.layers if isinstance(layer, keras.layers.RNN)
    ]
    assert len(cells) == 2 and all(isinstance(c, ElmanCell) for c in cells)
    assert [w.name for w in cells[0].weights] == ["W", "U", "b"]
    elman.set_weights(plain.get_weights())  # W, U, b line up with kernel, ...
    ids = token_ids()
    np.testing.assert_allclose(logits_of(elman, ids), logits_of(plain, ids), atol=1e-5)


def test_elman_cell_config_round_trip():
    cell = ElmanCell(
        5,
        activation="relu",
        kernel_initializer=keras.initializers.Constant(0.1),
        recurrent_initializer="zeros",
        name="my_cell",
    )
    config = cell.get_config()
    assert config["units"] == 5 and config["activation"] == "relu"
    clone = ElmanCell.from_config(config)
    assert clone.get_config() == config
    assert clone.units == 5 and clone.name == "my_cell"
    # The same through keras's own (de)serialization, as a saved model does.
    layer = keras.layers.RNN(cell, return_sequences=True)
    x = np.random.default_rng(1).normal(size=(2, 4, 3)).astype("float32")
    out = np.asarray(layer(x))
    rebuilt = keras.layers.deserialize(keras.layers.serialize(layer))
    assert isinstance(rebuilt.cell, ElmanCell)
    rebuilt(x)
    rebuilt.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(rebuilt(x)), out, atol=1e-6)
    assert (out >= 0).all()  # relu survived the round trip


# --- guards -------------------------------------------------------------------


@pytest.mark.parametrize("factory", FACTORIES)
def test_bidirectional_is_refused(factory):
    with pytest.raises(ZooError, match="future"):
        getattr(zoo, factory)(VOCAB, bidirectional=True, compile=False)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"vocab_size": 0},
        {"vocab_size": 2.5},
        {"embedding_dim": 0},
        {"units": -4},
        {"units": 8.0},
        {"num_layers": 0},
        {"dropout": 1.0},
        {"dropout": -0.1},
        {"output": "middle"},
        {"inputs": "chars"},
    ],
    ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()),
)
@pytest.mark.parametrize("factory", FACTORIES)
def test_bad_sizes_raise_zoo_error(factory, kwargs):
    kwargs = {"vocab_size": VOCAB, **kwargs}
    vocab_size = kwargs.pop("vocab_size")
    with pytest.raises(ZooError):
        getattr(zoo, factory)(vocab_size, compile=False, **kwargs)


@pytest.mark.parametrize(
    "last_layer",
    [
        lambda: keras.layers.Dense(VOCAB, activation="softmax"),
        lambda: keras.layers.Softmax(),
    ],
    ids=["dense-softmax", "softmax-layer"],
)
def test_compile_model_refuses_a_softmax_output(last_layer):
    # docs/pitfalls.md #1: a softmax output under a from_logits=True loss.
    layers = [
        keras.Input((None,), dtype="int32"),
        keras.layers.Embedding(VOCAB, EMBED),
        keras.layers.SimpleRNN(UNITS, return_sequences=True),
    ]
    if not isinstance(last_layer(), keras.layers.Dense):
        layers.append(keras.layers.Dense(VOCAB))
    model = keras.Sequential([*layers, last_layer()])
    with pytest.raises(ZooError, match="softmax"):
        compile_model(model)
    assert not model.compiled


def test_compile_model_accepts_a_logits_output():
    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(VOCAB, EMBED),
            keras.layers.Dense(VOCAB),
        ]
    )
    assert compile_model(model) is model
    assert model.compiled
