"""Training on several devices or processes, and in mixed precision.

* ``MirroredStrategy`` over two (logical CPU) devices and
  ``MultiWorkerMirroredStrategy`` over two processes train exactly as one
  device does on the same global batches (``tests/distributed_run.py`` runs
  them in processes of their own);
* under a strategy XLA is off, and zoo says so;
* ``precision("mixed_float16" | "mixed_bfloat16")`` builds 16-bit layers with
  float32 weights, a float32 loss, and (float16) a loss-scaling optimizer.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import warnings

import distributed_run
import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import EMBED, REPO_ROOT, UNITS, VOCAB, subprocess_env, token_ids

import zoo
from zoo.distribute import PRECISIONS, make_strategy, model_strategy, precision
from zoo.errors import ZooError, ZooWarning
from zoo.generation import generate_ids
from zoo.text import PAD_ID
from zoo.training import (
    Perplexity,
    TokenCrossEntropy,
    bfloat16_jit_default,
    compile_model,
    train,
)

pytestmark = pytest.mark.usefixtures("keras_seed")

SCRIPT = REPO_ROOT / "tests" / "distributed_run.py"
TIMEOUT = 240  # seconds: a hung collective fails the test instead of CI


def _last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def _assert_same_training(got: dict, want: dict) -> None:
    """Same logged loss after every step, same epoch metrics, same weights."""
    assert len(got["batch_losses"]) == len(want["batch_losses"]) == 6
    np.testing.assert_allclose(got["batch_losses"], want["batch_losses"], rtol=1e-5)
    assert got["history"].keys() == want["history"].keys()
    for key, values in want["history"].items():
        np.testing.assert_allclose(got["history"][key], values, rtol=1e-5, err_msg=key)
    np.testing.assert_allclose(got["weights"], want["weights"], atol=1e-5)


def _xla_off_warning(result: dict) -> bool:
    return any("XLA is off" in message for message in result["warnings"])


# --- several devices, several processes ----------------------------------------


@pytest.fixture(scope="module")
def one_device():
    """The tiny LSTM of distributed_run.py, trained here on one device (XLA)."""
    result = distributed_run.run()
    assert result["replicas"] == 1
    assert result["jit_compile"] is True and not _xla_off_warning(result)
    return result


@pytest.mark.slow
def test_mirrored_strategy_on_two_devices_trains_as_one_device(one_device):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "mirrored"],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    mirrored = _last_json(proc.stdout)
    assert mirrored["replicas"] == 2  # make_strategy("mirrored"): every device
    assert mirrored["jit_compile"] is False and _xla_off_warning(mirrored)
    # The validation batch is half padding, all of it on the second replica:
    # its val_loss is still the one-device value (TokenCrossEntropy).
    _assert_same_training(mirrored, one_device)


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.mark.slow
def test_multi_worker_strategy_on_two_processes_trains_as_one_device(
    tmp_path, one_device
):
    cluster = {"worker": [f"localhost:{port}" for port in _free_ports(2)]}
    run_dir = tmp_path / "run"
    workers = []
    for index in range(2):
        task = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        workers.append(
            subprocess.Popen(
                [sys.executable, str(SCRIPT), "multi_worker", str(run_dir)],
                env=subprocess_env(TF_CONFIG=json.dumps(task)),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    try:
        outputs = [worker.communicate(timeout=TIMEOUT) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()
    for worker, (_, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr[-3000:]
    chief, other = (_last_json(stdout) for stdout, _ in outputs)
    assert (chief["task_id"], other["task_id"]) == (0, 1)
    for result in (chief, other):
        assert result["replicas"] == 2
        assert result["jit_compile"] is False and _xla_off_warning(result)
        _assert_same_training(result, one_device)
    # The chief logs to run_dir; the other worker to a folder of its own.
    assert (run_dir / "history.csv").is_file()
    assert (run_dir / "worker_1" / "history.csv").is_file()
    assert (run_dir / "backup").is_dir() and (run_dir / "worker_1" / "backup").is_dir()


# --- XLA and the strategy's scope (one replica, in this process) ----------------


@pytest.fixture
def one_device_strategy():
    return make_strategy("mirrored", devices=["/cpu:0"])


def test_compile_model_turns_xla_off_under_a_strategy_and_says_so(
    one_device_strategy,
):
    warned = pytest.warns(ZooWarning, match="XLA is off for model 'lstm_lm'")
    with warned, one_device_strategy.scope():
        model = zoo.build_lstm(VOCAB, embedding_dim=EMBED, units=UNITS)
    assert model_strategy(model) is one_device_strategy
    assert model.jit_compile is False
    with pytest.raises(ZooError, match="XLA cannot compile a distributed"):
        compile_model(model, jit_compile=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an explicit False is not warned about
        compile_model(model, jit_compile=False)
    # Compiled outside the scope, its optimizer still lives in the strategy.
    ids = token_ids()
    model.fit(ids, ids, batch_size=len(ids), epochs=1, verbose=0)
    step_count = model.optimizer.iterations.value
    assert step_count.distribute_strategy is one_device_strategy


def test_a_model_built_without_a_strategy_keeps_xla():
    model = zoo.build_lstm(VOCAB, embedding_dim=EMBED, units=UNITS)
    assert model_strategy(model) is None
    assert model.jit_compile is True


def test_train_refuses_a_scope_the_model_was_not_built_in(one_device_strategy):
    model = zoo.build_lstm(VOCAB, embedding_dim=EMBED, units=UNITS)
    ds = tf.data.Dataset.from_tensor_slices((token_ids(), token_ids())).batch(3)
    refused = pytest.raises(ZooError, match="was not built in it")
    with one_device_strategy.scope(), refused:
        train(model, ds, verbose=0)


def test_make_strategy_refuses_unknown_names_and_stray_devices():
    with pytest.raises(ZooError, match="'mirrored', 'multi_worker'"):
        make_strategy("parameter_server")
    with pytest.raises(ZooError, match="TF_CONFIG"):
        make_strategy("multi_worker", devices=["/cpu:0"])


def test_token_cross_entropy_on_one_device_is_keras_masked_mean():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 5, VOCAB)).astype("float32")
    y = token_ids((2, 5))
    y[1, 3:] = PAD_ID
    keras_loss = keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, ignore_class=PAD_ID
    )
    ours = TokenCrossEntropy()
    np.testing.assert_allclose(ours(y, logits), keras_loss(y, logits), rtol=1e-6)
    again = keras.losses.deserialize(keras.losses.serialize(ours))
    assert type(again) is TokenCrossEntropy
    assert again.get_config() == ours.get_config()


# --- mixed precision ----------------------------------------------------------


MIXED = [("mixed_float16", "float16"), ("mixed_bfloat16", "bfloat16")]


@pytest.mark.parametrize("policy, half", MIXED)
def test_mixed_precision_computes_in_16_bits_with_float32_weights_and_loss(
    policy, half
):
    ids, y = token_ids(), token_ids(seed=1)
    reference = zoo.build_lstm(VOCAB, embedding_dim=EMBED, units=UNITS)
    with precision(policy):
        model = zoo.build_lstm(VOCAB, embedding_dim=EMBED, units=UNITS)
    assert keras.config.dtype_policy().name == "float32"  # restored
    for name in ("embedding", "lstm_1", "logits"):
        layer = model.get_layer(name)
        assert (layer.compute_dtype, layer.variable_dtype) == (half, "float32")
    assert {w.dtype for w in model.weights} == {"float32"}
    scaled = isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (policy == "mixed_float16")  # bfloat16 needs no scaling

    # The model emits 16-bit logits; the loss and perplexity are float32, and
    # agree with the float32 model's on the same weights.
    model.set_weights(reference.get_weights())
    logits = model(ids)
    assert keras.backend.standardize_dtype(logits.dtype) == half
    loss = model.loss(y, logits)
    assert keras.backend.standardize_dtype(loss.dtype) == "float32"
    np.testing.assert_allclose(loss, reference.loss(y, reference(ids)), rtol=2e-2)
    perplexity = Perplexity()
    perplexity.update_state(y, logits)
    assert keras.backend.standardize_dtype(perplexity.result().dtype) == "float32"


@pytest.mark.slow
@pytest.mark.parametrize("policy, half", MIXED)
def test_mixed_precision_trains_with_xla_on_a_cpu(policy, half):
    ids, y = token_ids(), token_ids(seed=1)
    with precision(policy):
        model = zoo.build_lstm(VOCAB, embedding_dim=EMBED, units=UNITS)
    history = model.fit(ids, y, batch_size=len(ids), epochs=3, verbose=0)
    # XLA compiled the 16-bit step; bfloat16 on a CPU with bfloat16
    # instructions runs without (TensorFlow's own kernels are faster there).
    xla = policy == "mixed_float16" or bfloat16_jit_default()
    assert model.jit_compile is xla
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert {w.dtype for w in model.weights} == {"float32"}
    assert model.get_layer("lstm_1").compute_dtype == half


@pytest.mark.parametrize("units", ["amx_bf16", "avx512_bf16", None])
def test_bfloat16_turns_xla_off_by_default_on_a_cpu_with_bf16_units(monkeypatch, units):
    """On a CPU with bfloat16 instructions, TensorFlow's own kernels use them
    and XLA's do not: a bfloat16 model's default is then XLA off, with a
    warning that names them. Asking for either path explicitly is obeyed
    silently, and float32 models keep XLA everywhere."""
    monkeypatch.setattr(zoo.training, "cpu_bfloat16_units", lambda: units)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    with precision("mixed_bfloat16"):
        model = zoo.build_lstm(VOCAB, embedding_dim=EMBED, units=UNITS, compile=False)
    if units:
        with pytest.warns(ZooWarning, match=f"bfloat16 on a CPU with {units}"):
            compile_model(model)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            compile_model(model)
    assert model.jit_compile is (units is None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compile_model(model, jit_compile=True).jit_compile is True
        assert compile_model(model, jit_compile=False).jit_compile is False
        f32 = zoo.build_lstm(VOCAB, embedding_dim=EMBED, units=UNITS)
    assert f32.jit_compile is True


def test_precision_is_restored_after_an_error_and_checks_its_name():
    with pytest.raises(RuntimeError), precision("mixed_bfloat16"):
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
        raise RuntimeError
    assert keras.config.dtype_policy().name == "float32"
    with pytest.raises(ZooError) as err, precision("float16"):
        pass
    for name in PRECISIONS:
        assert name in str(err.value)
    assert keras.config.dtype_policy().name == "float32"


# --- the command line --------------------------------------------------------


def _resolve(*argv):
    from zoo.cli import _parser, _resolve_train_args

    parser = _parser()
    args = parser.parse_args(list(argv))
    _resolve_train_args(parser.commands["train"], args)
    return args


def test_cli_strategy_turns_xla_off_and_refuses_xla(capsys):
    args = _resolve("train", "lstm", "--strategy", "mirrored")
    assert (args.strategy, args.xla, args.precision) == ("mirrored", False, "float32")
    assert _resolve("train", "gpt").strategy is None
    with pytest.raises(SystemExit):
        _resolve("train", "lstm", "--strategy", "mirrored", "--xla")
    assert "--xla does not work with --strategy" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _resolve("train", "transformer", "--precision", "mixed_float16")
    assert "--precision does not apply to transformer" in capsys.readouterr().err


def test_cli_precisions_are_trainings():
    from zoo.cli import PRECISIONS as CLI_PRECISIONS

    assert CLI_PRECISIONS == PRECISIONS


@pytest.mark.slow
def test_cli_trains_mirrored_in_mixed_precision(tmp_path, capsys):
    from zoo.cli import main

    data = tmp_path / "tiny.txt"
    lines = [f"to be or not to be, that is the question {i}." for i in range(200)]
    data.write_text("\n".join(lines), "utf-8")
    run = tmp_path / "run"
    argv = ["train", "gpt", "--preset", "tiny", "--data", data, "--out", run]
    argv += ["--epochs", 1, "--steps-per-epoch", 3, "--batch-size", 4]
    argv += ["--strategy", "mirrored", "--precision", "mixed_bfloat16"]
    with warnings.catch_warnings():
        # Keras saving a mirrored variable, under NumPy 2 (shown by pytest only).
        warnings.filterwarnings("ignore", "__array__", DeprecationWarning)
        status = main([str(a) for a in [*argv, "--prompt", "to be"]])
    out, err = capsys.readouterr()
    assert status == 0, err[-3000:]
    assert "mirrored strategy: 1 replica, 4 sequences per step" in out
    assert "no XLA" in out and "XLA is off" not in err  # said once, by the command
    assert "validation perplexity" in out and "sample:\nto be" in out
    assert os.path.getsize(run / "history.csv") > 0
    assert keras.config.dtype_policy().name == "float32"  # restored
    model = zoo.load(run / "model.keras").model  # its layers keep their policy
    assert {layer.compute_dtype for layer in model.layers if layer.weights} == {
        "bfloat16"
    }
    assert {w.dtype for w in model.weights} == {"float32"}


@pytest.mark.parametrize("build", [zoo.build_lstm, zoo.build_gru, zoo.build_gpt])
def test_models_built_in_bfloat16_generate(build):
    with precision("mixed_bfloat16"):
        model = build(VOCAB, compile=False)
    ids = generate_ids(
        model, token_ids((2, 3)), max_new_tokens=5, temperature=0, seed=0
    )
    assert ids.shape == (2, 8)
    assert ((ids > PAD_ID) & (ids < VOCAB)).all()
