"""The fused recurrent layers compute what the stock Keras layers compute.

Same weights in, same outputs, final states and gradients out (with and
without XLA), and the cases the fused loop does not handle (a mask,
``go_backwards``) fall back to the stock loop with the same results.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo import build_gru, build_lstm, build_simple_rnn
from zoo.layers.fused import FusedGRU, FusedLSTM, FusedSimpleRNN

B, T, E, U = 3, 7, 5, 4
RNG = np.random.default_rng(0)
X = RNG.normal(size=(B, T, E)).astype("float32")  # (B, T, E)
PAIRS = {
    "simple_rnn": (keras.layers.SimpleRNN, FusedSimpleRNN),
    "lstm": (keras.layers.LSTM, FusedLSTM),
    "gru": (keras.layers.GRU, FusedGRU),
}
pairs = pytest.mark.parametrize("kind", PAIRS)


def _twins(kind, **kwargs):
    """A stock layer and its fused twin with the same (non-zero) weights."""
    stock_cls, fused_cls = PAIRS[kind]
    stock = stock_cls(U, return_state=True, **kwargs)
    fused = fused_cls(U, return_state=True, **kwargs)
    stock.build((None, None, E))
    fused.build((None, None, E))
    rng = np.random.default_rng(1)
    weights = [
        (w + 0.3 * rng.normal(size=w.shape)).astype("float32")
        for w in stock.get_weights()
    ]
    stock.set_weights(weights)
    fused.set_weights(weights)
    return stock, fused


def _outputs_and_grads(layer, x, *, jit, **call_kwargs):
    """Outputs (with the final states) and the gradients of a loss that uses
    every output, w.r.t. the input and every weight."""

    @tf.function(jit_compile=jit)
    def run(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            outs = layer(x, **call_kwargs)
            loss = sum(tf.reduce_sum(tf.sin(o * (k + 1.0))) for k, o in enumerate(outs))
        return outs, tape.gradient(loss, [x, *layer.trainable_variables])

    outs, grads = run(tf.constant(x))
    return [o.numpy() for o in outs], [g.numpy() for g in grads]


def _assert_close(a, b, atol):
    assert len(a) == len(b)
    for p, q in zip(a, b, strict=True):
        np.testing.assert_allclose(p, q, atol=atol, rtol=1e-4)


@pairs
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("jit", [False, True], ids=["graph", "xla"])
def test_same_outputs_and_gradients(kind, return_sequences, jit):
    stock, fused = _twins(kind, return_sequences=return_sequences)
    out_s, grad_s = _outputs_and_grads(stock, X, jit=jit)
    out_f, grad_f = _outputs_and_grads(fused, X, jit=jit)
    _assert_close(out_f, out_s, atol=1e-5)
    _assert_close(grad_f, grad_s, atol=1e-4)
    assert max(np.abs(g).max() for g in grad_f) > 1e-3  # a real gradient


@pairs
def test_initial_state_is_used_and_differentiated(kind):
    stock, fused = _twins(kind, return_sequences=True)
    count = 2 if kind == "lstm" else 1  # (h, c) or h
    states = [RNG.normal(size=(B, U)).astype("float32") for _ in range(count)]

    def with_state(layer):
        @tf.function(jit_compile=True)
        def run(x, *states):
            with tf.GradientTape() as tape:
                tape.watch(states)
                outs = layer(x, initial_state=list(states))
                loss = tf.reduce_sum(tf.sin(outs[0]))
            return outs, tape.gradient(loss, list(states))

        outs, grads = run(tf.constant(X), *map(tf.constant, states))
        return [o.numpy() for o in outs], [g.numpy() for g in grads]

    out_s, grad_s = with_state(stock)
    out_f, grad_f = with_state(fused)
    _assert_close(out_f, out_s, atol=1e-5)
    _assert_close(grad_f, grad_s, atol=1e-5)


@pairs
@pytest.mark.parametrize("fallback", ["mask", "go_backwards"])
def test_fallback_matches_stock(kind, fallback):
    kwargs = {"go_backwards": True} if fallback == "go_backwards" else {}
    call = {}
    if fallback == "mask":
        mask = np.ones((B, T), bool)
        mask[1, 4:] = False  # a padded row
        call = {"mask": tf.constant(mask)}
    stock, fused = _twins(kind, return_sequences=True, **kwargs)
    out_s, grad_s = _outputs_and_grads(stock, X, jit=False, **call)
    out_f, grad_f = _outputs_and_grads(fused, X, jit=False, **call)
    _assert_close(out_f, out_s, atol=1e-6)
    _assert_close(grad_f, grad_s, atol=1e-6)


@pairs
def test_input_dropout_runs_in_training(kind):
    _, fused = _twins(kind, return_sequences=True, dropout=0.5, seed=3)
    train = fused(X, training=True)[0].numpy()
    infer = fused(X, training=False)[0].numpy()
    assert np.isfinite(train).all()
    assert not np.allclose(train, infer)  # dropout changed the inputs


@pytest.mark.parametrize(
    "build, stock",
    [
        (build_simple_rnn, keras.layers.SimpleRNN),
        (build_lstm, keras.layers.LSTM),
        (build_gru, keras.layers.GRU),
    ],
)
def test_factories_use_fused_layers_unless_asked(build, stock):
    fused_model = build(11, embedding_dim=6, units=8, compile=False)
    stock_model = build(11, embedding_dim=6, units=8, fused=False, compile=False)
    fused_layer, stock_layer = fused_model.layers[1], stock_model.layers[1]
    assert isinstance(fused_layer, stock) and type(fused_layer) is not stock
    assert type(stock_layer) is stock
    assert fused_layer.name == stock_layer.name  # the summary reads the same
    stock_model.set_weights(fused_model.get_weights())
    ids = RNG.integers(1, 11, size=(2, 9)).astype("int32")
    np.testing.assert_allclose(
        fused_model(ids).numpy(), stock_model(ids).numpy(), atol=1e-5
    )
