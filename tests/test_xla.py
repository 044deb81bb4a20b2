"""XLA really runs (docs/pitfalls.md #13): Keras's jit_compile="auto" is False on a CPU,
and a layer it thinks cannot compile quietly turns XLA off."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import (
    EMBED,
    UNITS,
    VOCAB,
    bigram_model,
    run_python,
    subprocess_env,
    token_ids,
)

import zoo
from zoo.errors import ZooError
from zoo.training import compile_model, make_train_step

pytestmark = pytest.mark.usefixtures("keras_seed")

_DUMP_SCRIPT = """
    import sys
    from pathlib import Path

    import numpy as np

    import zoo
    from zoo.training import compile_model

    dump = Path(sys.argv[1])
    x = np.random.default_rng(0).integers(5, 24, size=(4, 6)).astype("int32")

    def step_modules():
        return sorted(p.name for p in dump.glob("*one_step*before_optimizations.txt"))

    # A control: the same fit without XLA writes no HLO module of a train step.
    plain = zoo.build_simple_rnn(24, embedding_dim=8, units=8, compile=False)
    compile_model(plain, jit_compile=False)
    plain.fit(x, x, batch_size=2, epochs=1, verbose=0)
    print("without", len(step_modules()))

    model = zoo.build_simple_rnn(24, embedding_dim=8, units=8)
    model.fit(x, x, batch_size=2, epochs=1, verbose=0)  # 2 steps
    print("with", len(step_modules()))
    print("jit", model.jit_compile)
"""


@pytest.mark.slow
def test_fit_runs_an_xla_program(tmp_path):
    dump = tmp_path / "xla_dump"
    env = subprocess_env(XLA_FLAGS=f"--xla_dump_to={dump}")
    env.pop("TF_XLA_FLAGS", None)
    out = run_python(_DUMP_SCRIPT, dump, env=env).stdout.split("\n")
    assert "without 0" in out
    assert "jit True" in out
    modules = sorted(dump.glob("*one_step*before_optimizations.txt"))
    assert modules, sorted(p.name for p in dump.iterdir())[:20]
    hlo = modules[0].read_text()
    assert hlo.startswith("HloModule")
    # The recurrent loop is inside the compiled step, not run op by op.
    assert " while(" in hlo
    # (B, T) = (2, 6) int32 ids go into the program.
    assert "s32[2,6]" in hlo


def test_compile_model_sets_jit_compile_true():
    model = zoo.build_lstm(VOCAB, embedding_dim=EMBED, units=UNITS, compile=False)
    assert compile_model(model).jit_compile is True


class _NoJit(keras.layers.Layer):
    """A layer Keras believes XLA cannot compile."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_jit = False

    def call(self, x):
        return x


def test_compile_model_raises_when_keras_turns_xla_off():
    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(VOCAB, EMBED),
            _NoJit(),
            keras.layers.Dense(VOCAB),
        ]
    )
    with pytest.warns(UserWarning), pytest.raises(ZooError, match="XLA"):
        compile_model(model)
    # Without XLA asked for, the same model compiles.
    assert compile_model(model, jit_compile=False).jit_compile is False


def test_make_train_step_is_an_xla_program():
    model = zoo.build_gru(VOCAB, embedding_dim=EMBED, units=UNITS, compile=False)
    step = make_train_step(model)
    x, y = token_ids(seed=1), token_ids(seed=2)
    before = [w.copy() for w in model.get_weights()]
    losses = [float(step(x, y)) for _ in range(3)]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    for old, new in zip(before, model.get_weights(), strict=True):
        assert not np.array_equal(old, new)
    hlo = step.experimental_get_compiler_ir(tf.constant(x), tf.constant(y))(stage="hlo")
    assert hlo.startswith("HloModule") and "while" in hlo
    assert step.experimental_get_tracing_count() == 1  # three calls, one trace


class _StringOp(keras.layers.Layer):
    """Uses an op XLA has no kernel for (number -> string -> number)."""

    def call(self, x):
        text = tf.strings.as_string(x)
        return x + 0.0 * tf.strings.to_number(text)


def test_make_train_step_fails_loudly_on_an_op_xla_cannot_compile():
    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(VOCAB, EMBED),
            _StringOp(),
            keras.layers.Dense(VOCAB),
        ]
    )
    step = make_train_step(model)
    with pytest.raises(
        (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError),
        match="(?i)xla|compil|AsString",
    ):
        step(token_ids(seed=1), token_ids(seed=2))
    # The model itself is fine: eagerly it runs.
    assert model(token_ids(seed=1)).shape == (*token_ids(seed=1).shape, VOCAB)


def test_bigram_helper_is_compiled_with_xla():
    assert bigram_model().jit_compile is True
