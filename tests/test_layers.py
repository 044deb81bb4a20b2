"""The layer battery: every custom layer of zoo.layers gets the same checks.

For each layer (docs/architecture.md, "The layer contract" and "Tests"):

* config round trip: every ``__init__`` argument is a public attribute and a
  ``get_config`` key, and ``from_config(get_config())`` with copied weights
  gives the same output;
* build and eager call: shapes, finite values;
* symbolic call on ``keras.Input`` with unknown batch and length;
* one ``fit`` step of a tiny model containing the layer with XLA forced on;
* a ``.keras`` save and ``safe_mode=True`` load in this process (the
  fresh-process check lives with the model batteries);
* and every layer that zoo.layers exports has a case here.

Sizes are tiny on purpose: the suite runs on two CPU cores.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import pytest

import zoo.layers
from zoo.layers.attention import (
    AdditiveAttention,
    DotProductAttention,
    LuongAttention,
    MultiHeadAttention,
)
from zoo.layers.cells import ElmanCell
from zoo.layers.embedding import TiedEmbedding, TokenAndPositionEmbedding
from zoo.layers.fused import FusedGRU, FusedLSTM, FusedSimpleRNN
from zoo.layers.masks import PaddingMask
from zoo.layers.positional import SinusoidalPositionalEncoding
from zoo.layers.transformer import TransformerDecoderBlock, TransformerEncoderBlock

B, T, S, C, V = 2, 5, 7, 8, 11  # batch, target length, source length, width, vocab
RNG = np.random.default_rng(0)
X = RNG.normal(size=(B, T, C)).astype("float32")  # (B, T, C)
MEMORY = RNG.normal(size=(B, S, C)).astype("float32")  # (B, S, C)
IDS = RNG.integers(1, V, size=(B, T)).astype("int32")  # (B, T)
PADDED_IDS = np.where([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], IDS, 0)  # (B, T)
STEP = X[:, 0]  # (B, C): one time step
STATE = RNG.normal(size=(B, 6)).astype("float32")  # (B, units)
TARGET_PAD = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], bool)  # (B, T)
SOURCE_PAD = np.array([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]], bool)  # (B, S)
CROSS_MASK = TARGET_PAD[:, :, None] & SOURCE_PAD[:, None, :]  # (B, T, S)


@dataclass
class Case:
    """A layer, the inputs it is called on, and how it is called."""

    make: Callable[[], keras.layers.Layer]
    inputs: tuple  # numpy arrays, one keras.Input each
    apply: Callable  # (layer, *inputs) -> the one output tensor checked
    out_shape: tuple  # the output shape on `inputs`


def _first(result):
    return result[0] if isinstance(result, tuple) else result


def _as_float(mask):
    """A boolean (B, T) mask as (B, T, 1) floats, so a Dense layer can read it."""
    return keras.ops.expand_dims(keras.ops.cast(mask, "float32"), -1)


CASES = {
    "dot_product_causal": Case(
        lambda: DotProductAttention(dropout=0.1, seed=3),
        (X,),
        lambda layer, x: layer(x, x, use_causal_mask=True),
        (B, T, C),
    ),
    "mha_cross_masked": Case(
        lambda: MultiHeadAttention(2, 4, value_dim=3, output_dim=6, dropout=0.1),
        (X, MEMORY, CROSS_MASK),
        lambda layer, q, v, m: layer(q, v, attention_mask=m),
        (B, T, 6),
    ),
    "additive": Case(
        lambda: AdditiveAttention(6),
        (X, MEMORY[..., :6], SOURCE_PAD),
        lambda layer, s, h, m: _first(layer(s, h, padding_mask=m)),
        (B, T, 6),
    ),
    "luong": Case(
        lambda: LuongAttention(),
        (X, MEMORY[..., :6], SOURCE_PAD),
        lambda layer, s, h, m: _first(layer(s, h, padding_mask=m)),
        (B, T, 6),
    ),
    "padding_mask": Case(
        lambda: PaddingMask(),
        (PADDED_IDS,),
        lambda layer, ids: _as_float(layer(ids)),
        (B, T, 1),
    ),
    "sinusoidal": Case(
        lambda: SinusoidalPositionalEncoding(16),
        (X,),
        lambda layer, x: layer(x),
        (B, T, C),
    ),
    "token_sinusoidal": Case(
        lambda: TokenAndPositionEmbedding(V, 16, C),
        (IDS,),
        lambda layer, ids: layer(ids),
        (B, T, C),
    ),
    "token_learned": Case(
        lambda: TokenAndPositionEmbedding(
            V, 16, C, positional="learned", scale_embeddings=False
        ),
        (IDS,),
        lambda layer, ids: layer(ids),
        (B, T, C),
    ),
    "tied_embedding": Case(  # forwards to vectors, then backwards to logits
        lambda: TiedEmbedding(V, 16, C, positional="learned"),
        (IDS,),
        lambda layer, ids: layer(layer(ids), reverse=True),
        (B, T, V),
    ),
    "untied_embedding_with_bias": Case(
        lambda: TiedEmbedding(V, 16, C, tie_embeddings=False, output_bias=True),
        (IDS,),
        lambda layer, ids: layer(layer(ids), reverse=True),
        (B, T, V),
    ),
    "encoder_post_norm": Case(
        lambda: TransformerEncoderBlock(2, 16, dropout=0.1),
        (X, TARGET_PAD),
        lambda layer, x, m: layer(x, padding_mask=m),
        (B, T, C),
    ),
    "encoder_pre_norm_gelu": Case(
        lambda: TransformerEncoderBlock(2, 16, norm_first=True, activation="gelu"),
        (X,),
        lambda layer, x: layer(x),
        (B, T, C),
    ),
    "decoder_cross": Case(
        lambda: TransformerDecoderBlock(2, 16, dropout=0.1),
        (X, MEMORY, SOURCE_PAD),
        lambda layer, x, h, m: layer(x, encoder_outputs=h, encoder_padding_mask=m),
        (B, T, C),
    ),
    "decoder_only_pre_norm": Case(
        lambda: TransformerDecoderBlock(2, 16, cross_attention=False, norm_first=True),
        (X, TARGET_PAD),
        lambda layer, x, m: layer(x, self_padding_mask=m),
        (B, T, C),
    ),
    "fused_simple_rnn": Case(
        lambda: FusedSimpleRNN(6, return_sequences=True),
        (X,),
        lambda layer, x: layer(x),
        (B, T, 6),
    ),
    "fused_lstm_last": Case(
        lambda: FusedLSTM(6, dropout=0.1),
        (X,),
        lambda layer, x: layer(x),
        (B, 6),
    ),
    "fused_gru": Case(
        lambda: FusedGRU(6, return_sequences=True),
        (X,),
        lambda layer, x: layer(x),
        (B, T, 6),
    ),
    "elman_cell": Case(  # one step: (x_t, [h_{t-1}]) -> h_t
        lambda: ElmanCell(6),
        (STEP, STATE),
        lambda layer, x, h: layer(x, [h])[0],
        (B, 6),
    ),
}

cases = pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())


def _symbolic_inputs(case: Case, *, dynamic: bool):
    """One keras.Input per input; with ``dynamic``, batch and lengths unknown."""

    def shape(x):
        if not dynamic:
            return x.shape[1:]
        if x.dtype == np.float32:  # (B, T, C): the width stays known
            return (None,) * (x.ndim - 2) + x.shape[-1:]
        return (None,) * (x.ndim - 1)  # token ids and masks

    return [keras.Input(shape=shape(x), dtype=str(x.dtype)) for x in case.inputs]


def _tiny_model(case: Case) -> keras.Model:
    """inputs -> the layer -> Dense(3): trainable even for weightless layers."""
    inputs = _symbolic_inputs(case, dynamic=False)
    layer = case.make()
    outputs = keras.layers.Dense(3, name="head")(case.apply(layer, *inputs))
    return keras.Model(inputs, outputs, name="tiny")


@cases
def test_build_and_eager_call(case, keras_seed):
    layer = case.make()
    assert not layer.built
    out = np.asarray(case.apply(layer, *case.inputs))
    assert layer.built
    assert out.shape == case.out_shape
    assert out.dtype == np.float32
    assert np.isfinite(out).all()
    children = [v for v in vars(layer).values() if isinstance(v, keras.layers.Layer)]
    assert all(child.built for child in children)  # built by the parent's build()


@cases
def test_config_round_trip(case, keras_seed):
    layer = case.make()
    out = np.asarray(case.apply(layer, *case.inputs))
    config = layer.get_config()
    params = inspect.signature(type(layer).__init__).parameters
    for name in params:
        if name in ("self", "kwargs"):
            continue
        assert name in config, f"get_config() lacks __init__ argument {name!r}"
        assert hasattr(layer, name), f"{name!r} is not a public attribute"
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    case.apply(clone, *case.inputs)  # build it
    assert len(clone.weights) == len(layer.weights)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(
        np.asarray(case.apply(clone, *case.inputs)), out, rtol=1e-6, atol=1e-6
    )


@cases
def test_symbolic_call(case):
    inputs = _symbolic_inputs(case, dynamic=True)
    out = case.apply(case.make(), *inputs)
    assert isinstance(out, keras.KerasTensor)
    assert out.shape[0] is None  # the batch stays unknown
    assert out.shape[-1] == case.out_shape[-1]


@pytest.mark.slow  # 18 XLA-compiled fit steps: about 20 s
@cases
def test_jit_fit_step(case, keras_seed):
    model = _tiny_model(case)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=True)
    assert model.jit_compile is True
    layer = model.layers[-2]
    before = [keras.ops.convert_to_numpy(w) for w in layer.trainable_weights]
    targets = np.ones((*case.out_shape[:-1], 3), "float32")
    history = model.fit(list(case.inputs), targets, batch_size=B, epochs=1, verbose=0)
    assert model.jit_compile is True  # Keras did not quietly turn XLA off
    assert np.isfinite(history.history["loss"][0])
    for variable, old in zip(layer.trainable_weights, before, strict=True):
        assert not np.array_equal(keras.ops.convert_to_numpy(variable), old), (
            f"{variable.path} stuck"
        )


@cases
def test_save_load_safe_mode(case, keras_seed, tmp_path):
    model = _tiny_model(case)
    want = np.asarray(model(list(case.inputs), training=False))
    path = tmp_path / "tiny.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded.layers[-2]) is type(model.layers[-2])
    got = np.asarray(loaded(list(case.inputs), training=False))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_every_zoo_layer_is_in_the_battery():
    """A new layer exported by zoo.layers must get a CASES entry."""
    exported = {
        obj
        for obj in vars(zoo.layers).values()
        if isinstance(obj, type) and issubclass(obj, keras.layers.Layer)
    }
    tested = {type(case.make()) for case in CASES.values()}
    assert exported - tested == set()
    for cls in exported:  # and each is registered, so a saved model loads
        assert keras.saving.get_registered_name(cls) == f"zoo>{cls.__name__}"


def test_tied_embedding_loads_the_old_tie_weights_key():
    """Files saved before the argument was renamed say ``tie_weights``."""
    config = TiedEmbedding(V, 16, C, tie_embeddings=False).get_config()
    old = {k: v for k, v in config.items() if k != "tie_embeddings"}
    assert TiedEmbedding.from_config(old).tie_embeddings is True  # the default
    old["tie_weights"] = False
    layer = TiedEmbedding.from_config(old)
    assert layer.tie_embeddings is False
    assert layer.get_config() == config  # saved again under the new name
