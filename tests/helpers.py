"""Shared test batteries: every zoo model goes through the same checks.

A model family's test file parametrizes over its factory configurations and
calls `run_model_battery` on each; `check_fresh_process_load` saves a whole
family and loads it back in one new Python process. The checks (STYLE.md,
"Tests"):

* output shape and dtype;
* causality: changing later tokens never changes earlier logits;
* one training step through ``model.fit`` with XLA forced on;
* a config round trip with copied weights;
* a ``.keras`` save, loaded in a fresh process with ``safe_mode=True``.

Sizes are tiny on purpose (the suite runs on two CPU cores).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
SEEDS_DIR = Path(__file__).resolve().parents[2] / "shared" / "seeds"

VOCAB = 24  # V: 5 reserved ids + 19 tokens
EMBED = 8  # E
UNITS = 12
BATCH = 3  # B
SEQ = 8  # T


# --- model configurations ----------------------------------------------------


@dataclass(frozen=True)
class ModelConfig:
    """One way of calling a zoo factory."""

    factory: str
    kwargs: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        parts = [self.factory.removeprefix("build_")]
        parts += [f"{k}={v}" for k, v in self.kwargs.items()]
        return "-".join(parts)

    @property
    def output(self) -> str:
        return self.kwargs.get("output", "sequence")

    def build(self, *, vocab_size=VOCAB, compile=True, **overrides):
        import zoo

        factory = getattr(zoo, self.factory)
        kwargs = {"embedding_dim": EMBED, "units": UNITS, **self.kwargs, **overrides}
        return factory(vocab_size, compile=compile, **kwargs)

    def twin(self, **changes) -> ModelConfig:
        """The same configuration with some keyword arguments changed."""
        return ModelConfig(self.factory, {**self.kwargs, **changes})


def _recurrent_configs() -> list[ModelConfig]:
    kinds = [
        ("build_simple_rnn", {}),
        ("build_simple_rnn", {"from_equations": True}),
        ("build_lstm", {}),
        ("build_gru", {}),
    ]
    return [
        ModelConfig(factory, {**extra, "num_layers": layers, "output": output})
        for factory, extra in kinds
        for layers in (1, 2)
        for output in ("sequence", "last")
    ]


RECURRENT_CONFIGS = _recurrent_configs()


def bigram_model(vocab_size=VOCAB, *, compile=True, **compile_kwargs):
    """Embedding -> Dense: the smallest logits model, quick to XLA-compile.

    For tests of the training machinery, where the model's family is beside
    the point.
    """
    import keras

    from zoo.training import compile_model

    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int32", name="token_ids"),
            keras.layers.Embedding(vocab_size, EMBED, name="embedding"),
            keras.layers.Dense(vocab_size, name="logits"),
        ],
        name="bigram",
    )
    return compile_model(model, **compile_kwargs) if compile else model


def token_ids(shape=(BATCH, SEQ), *, vocab_size=VOCAB, seed=0) -> np.ndarray:
    """Random int32 ids of ordinary (non-reserved) tokens."""
    rng = np.random.default_rng(seed)
    return rng.integers(5, vocab_size, size=shape).astype("int32")


def targets_for(ids: np.ndarray, output: str, *, seed=1) -> np.ndarray:
    """Targets matching a model's output: (B, T) per step, (B,) for "last"."""
    shape = ids.shape if output == "sequence" else ids.shape[:1]
    return token_ids(shape, seed=seed)


def logits_of(model, ids) -> np.ndarray:
    return np.asarray(model(ids, training=False))


# --- the battery -------------------------------------------------------------


def check_output(model, ids, *, output: str, vocab_size=VOCAB) -> np.ndarray:
    """(B, T) ids -> (B, T, V) float32 logits, or (B, V) for output="last"."""
    logits = logits_of(model, ids)
    batch, steps = ids.shape
    expected = (
        (batch, steps, vocab_size) if output == "sequence" else (batch, vocab_size)
    )
    assert logits.shape == expected
    assert logits.dtype == np.float32
    assert np.isfinite(logits).all()
    return logits


def check_causal(model, ids, *, vocab_size=VOCAB, atol=1e-5) -> None:
    """Changing the tokens at positions >= t never moves the logits before t.

    Also checks the change does move the logits from t on, so the test cannot
    pass on a model that ignores its input.
    """
    base = logits_of(model, ids)
    for t in range(1, ids.shape[1]):
        changed = ids.copy()
        changed[:, t:] = 5 + (ids[:, t:] - 5 + 1 + t) % (vocab_size - 5)
        assert (changed[:, t:] != ids[:, t:]).all()
        moved = logits_of(model, changed)
        np.testing.assert_allclose(
            moved[:, :t],
            base[:, :t],
            rtol=0,
            atol=atol,
            err_msg=f"logits before position {t} depend on tokens at >= {t}",
        )
        assert np.abs(moved[:, t:] - base[:, t:]).max() > 1e-6


def check_last_is_final_step(last_model, sequence_model, ids) -> None:
    """output="last" is output="sequence"'s final step, with the same weights."""
    sequence_model.set_weights(last_model.get_weights())
    np.testing.assert_allclose(
        logits_of(last_model, ids),
        logits_of(sequence_model, ids)[:, -1],
        rtol=1e-5,
        atol=1e-6,
    )


def check_fit_step(model, ids, *, output: str) -> None:
    """One ``model.fit`` step with XLA on: finite loss, every weight moves."""
    assert model.jit_compile is True
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(
        ids, targets_for(ids, output), batch_size=len(ids), epochs=1, verbose=0
    )
    assert model.jit_compile is True  # Keras did not quietly turn XLA off
    loss = history.history["loss"]
    assert len(loss) == 1 and np.isfinite(loss[0])
    assert np.isfinite(history.history["perplexity"][0])
    after = model.get_weights()
    for variable, old, new in zip(model.weights, before, after, strict=True):
        assert not np.array_equal(old, new), f"{variable.path} did not change"


def check_config_round_trip(model, ids) -> None:
    """from_config(get_config()) rebuilds the same model (weights copied)."""
    import keras

    cls = keras.Sequential if isinstance(model, keras.Sequential) else keras.Model
    clone = cls.from_config(model.get_config())
    assert type(clone) is type(model)
    assert clone.get_config() == model.get_config()
    assert [type(lay) for lay in clone.layers] == [type(lay) for lay in model.layers]
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(logits_of(clone, ids), logits_of(model, ids), atol=1e-6)


def run_model_battery(config: ModelConfig, *, seed=0) -> None:
    """Every check above, on a freshly built (compiled) model of `config`."""
    model = config.build()
    ids = token_ids(seed=seed)
    check_output(model, ids, output=config.output)
    if config.output == "sequence":
        check_causal(model, ids)
    else:
        twin = config.twin(output="sequence").build(compile=False)
        check_last_is_final_step(model, twin, ids)
    check_config_round_trip(model, ids)
    check_fit_step(model, ids, output=config.output)


# --- subprocesses ------------------------------------------------------------


def subprocess_env(**extra: str) -> dict[str, str]:
    """This environment, with the repository importable and TF's INFO quiet."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + path if path else "")
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["KERAS_BACKEND"] = "tensorflow"
    env.update(extra)
    return env


def run_python(code: str, *args, env=None, timeout=240, cwd=None):
    """Run ``python -c code args...``; fail the test with its output if it fails."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        env=env or subprocess_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, (
        f"subprocess failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    )
    return result


_LOAD_SCRIPT = """
    import sys

    import numpy as np

    import zoo

    ids = np.load(sys.argv[1])
    for path in sys.argv[2:]:
        bundle = zoo.load(path, safe_mode=True)
        logits = np.asarray(bundle.model(ids, training=False))
        np.save(path + ".logits.npy", logits)
        print(path, bundle.tokenizer.vocab_size, logits.shape)
"""


def check_fresh_process_load(models: dict, tokenizer, folder: Path, ids) -> None:
    """Save every model with `zoo.save`; load them all in ONE new process.

    Each model's logits in the new process must equal its logits here.
    """
    import zoo

    folder.mkdir(parents=True, exist_ok=True)
    ids_path = folder / "ids.npy"
    np.save(ids_path, ids)
    paths, expected = [], {}
    for name, model in models.items():
        path = folder / f"{name}.keras"
        zoo.save(path, model, tokenizer)
        paths.append(path)
        expected[path] = logits_of(model, ids)
    run_python(_LOAD_SCRIPT, ids_path, *paths)
    for path, want in expected.items():
        got = np.load(str(path) + ".logits.npy")
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=str(path))


# --- encoder-decoder models (seq2seq, Transformer) -----------------------------------

_TRANSLATION_LOAD_SCRIPT = """
    import json, sys

    import numpy as np

    import zoo  # nothing else: zoo.load registers zoo's layers itself

    path, source, decoder = sys.argv[1], np.load(sys.argv[2]), np.load(sys.argv[3])
    bundle = zoo.load(path, safe_mode=True)
    np.save(sys.argv[4], np.asarray(bundle.model([source, decoder])))
    sources, max_new_tokens = json.loads(sys.argv[5]), int(sys.argv[6])
    out = zoo.translate(bundle.model, bundle.source_tokenizer, bundle.tokenizer,
                        sources, max_new_tokens=max_new_tokens)
    print(json.dumps(out))
"""


def check_beam_width_one_is_greedy(model, corpus, prepared, *, max_new_tokens):
    from zoo.generation import translate

    tokenizers = prepared.source_tokenizer, prepared.target_tokenizer
    for source, _ in corpus.valid[:4]:  # one at a time: beam search is per row
        kwargs = {"max_new_tokens": max_new_tokens}
        greedy = translate(model, *tokenizers, [source], **kwargs)
        beam = translate(model, *tokenizers, [source], beam_width=1, **kwargs)
        assert beam == greedy


def check_translation_loads_in_a_fresh_process(
    model, corpus, prepared, folder: Path, *, max_new_tokens
):
    """Save with both tokenizers; a fresh process with only `zoo` imported loads
    it under safe_mode, gives the same logits and the same translation."""
    import json

    import zoo
    from zoo.generation import translate

    source = prepared.arrays["valid"]["encoder_inputs"][:1]
    decoder = prepared.arrays["valid"]["decoder_inputs"][:1]
    sources = [s for s, _ in corpus.valid[:1]]
    path = zoo.save(
        folder / f"{model.name}.keras",
        model,
        prepared.target_tokenizer,
        source_tokenizer=prepared.source_tokenizer,
    )
    np.save(folder / "source.npy", source)
    np.save(folder / "decoder.npy", decoder)
    result = run_python(
        _TRANSLATION_LOAD_SCRIPT,
        path,
        folder / "source.npy",
        folder / "decoder.npy",
        folder / "logits.npy",
        json.dumps(sources),
        max_new_tokens,
    )
    here = np.asarray(model([source, decoder], training=False))
    np.testing.assert_allclose(np.load(folder / "logits.npy"), here, atol=1e-5)
    tokenizers = prepared.source_tokenizer, prepared.target_tokenizer
    expected = translate(model, *tokenizers, sources, max_new_tokens=max_new_tokens)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected
