"""Shared test batteries: every zoo model goes through the same checks.

A model family's test file parametrizes over its factory configurations and
calls `run_model_battery` on each; `check_fresh_process_load` saves a whole
family and loads it back in one new Python process. The checks (docs/architecture.md,
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


def run_zoo(*args, timeout=600, cwd=None) -> subprocess.CompletedProcess:
    """Run the ``zoo`` command (``python -m zoo``); the caller checks the result."""
    return subprocess.run(
        [sys.executable, "-m", "zoo", *map(str, args)],
        env=subprocess_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


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


# --- every family of zoo.registry (tests/test_battery.py) ----------------------------
#
# A family's tiny model is built from `Family.tiny`; its inputs are what its
# task feeds it: (B, T) ids for a language model ("lm", "mlm"), [source (B, S),
# decoder (B, T)] ids for "translation".

SOURCE_VOCAB, TARGET_VOCAB = 30, 17  # V_src, V_tgt of the translation families
SOURCE_LEN = 9  # S != T on purpose (docs/pitfalls.md #7)
REAL_SOURCE = 5  # sentence 0 of a source batch: 5 real tokens, then padding
END_PADDING = 2  # PAD ids appended by the padding checks (fits every tiny size)

# The HLO modules XLA writes (``--xla_dump_to``) for a compiled Keras train step.
XLA_STEP_MODULES = "*one_step*before_optimizations.txt"


class NGramLogits:
    """An `NGramLM` called like a Keras language model.

    (B, T) ids -> (B, T, V) float32 logits; position t holds the logits of the
    token after ``ids[:, :t + 1]``, as a Keras LM's logits at t predict t + 1.
    """

    def __init__(self, lm):
        self.lm = lm

    def __call__(self, ids, training=False):
        ids = np.asarray(ids)
        steps = range(ids.shape[1])
        return np.stack([self.lm.next_token_logits(ids[:, : t + 1]) for t in steps], 1)


def family_vocab(family) -> tuple[int, int]:
    """(the factory's vocab_size, the logits' last size) of a family's tiny
    model: V, V_tgt for translation, the labels or tags for fine-tuning."""
    if family.task == "translation":
        return SOURCE_VOCAB, TARGET_VOCAB
    if family.task == "classification":
        return VOCAB, family.tiny["num_classes"]
    if family.task == "tagging":
        return VOCAB, family.tiny["num_tags"]
    return VOCAB, VOCAB


def family_targets(family, inputs, *, seed=7) -> np.ndarray:
    """Random training targets of a family's task for `inputs`: next tokens,
    label ids (B,) or tag ids (B, T), 1 and up (0 is the tagger's padding)."""
    ids = inputs[1] if family.task == "translation" else inputs
    size = family_vocab(family)[1]
    rng = np.random.default_rng(seed)
    if family.task == "classification":
        return rng.integers(0, size, size=ids.shape[:1]).astype("int32")
    if family.task == "tagging":
        return rng.integers(1, size, size=ids.shape).astype("int32")
    return token_ids(ids.shape, vocab_size=size, seed=seed)


def _sequence_logits(family, logits):
    """A classifier's (B, K) logits as (B, 1, K): one output for the whole
    text, which the per-position checks compare as a single position."""
    return logits[:, None] if family.task == "classification" else logits


def family_tokenizers(family):
    """(tokenizer, source tokenizer or None) whose sizes match `family_vocab`."""
    from zoo.text import CharTokenizer

    def of_size(size):
        letters = "abcdefghijklmnopqrstuvwxyz0123456789"[: size - 5]
        tokenizer = CharTokenizer.fit(letters)
        assert tokenizer.vocab_size == size
        return tokenizer

    vocab_size, target_size = family_vocab(family)
    if family.task != "translation":
        return of_size(vocab_size), None
    return of_size(target_size), of_size(vocab_size)


def build_family(family, *, compile=False, seed=0):
    """A family's tiny model: a Keras model, or a fitted `NGramLM`."""
    import keras

    keras.utils.set_random_seed(seed)
    vocab_size, target_size = family_vocab(family)
    if not family.keras:
        # Fitted on enough random text that every one-token context is seen.
        lm = family.factory_fn(**family.tiny)
        return lm.fit(token_ids((400,), seed=seed + 9), vocab_size=vocab_size)
    kwargs = dict(family.tiny)
    if family.task == "translation":
        kwargs["target_vocab_size"] = target_size
    return family.build(vocab_size, compile=compile, **kwargs)


def family_inputs(family, *, seed=0):
    """(B, T) ids, or [source (B, S) with padding in sentence 0, decoder (B, T)]."""
    from zoo.text import BOS_ID, PAD_ID

    if family.task != "translation":
        return token_ids(seed=seed)
    source = token_ids((BATCH, SOURCE_LEN), vocab_size=SOURCE_VOCAB, seed=seed)
    source[0, REAL_SOURCE:] = PAD_ID
    decoder = token_ids((BATCH, SEQ), vocab_size=TARGET_VOCAB, seed=seed + 1)
    decoder[:, 0] = BOS_ID
    return [source, decoder]


def as_callable(model):
    """What `logits_of` can call: the model, or an n-gram behind `NGramLogits`."""
    return NGramLogits(model) if hasattr(model, "next_token_logits") else model


def check_family_output(family, model, inputs) -> None:
    """Logits (B, T, V), float32 and finite; translation: (B, T, V_tgt);
    classification (B, K); tagging (B, T, K)."""
    ids = inputs[1] if family.task == "translation" else inputs
    logits = logits_of(as_callable(model), inputs)
    if family.task == "classification":
        assert logits.shape == (len(ids), family_vocab(family)[1])
    else:
        assert logits.shape == (*ids.shape, family_vocab(family)[1])
    assert logits.dtype == np.float32
    assert np.isfinite(logits).all()


def _decoder_side(model, source):
    """The model as a function of its decoder ids alone, the source fixed."""
    return lambda decoder, training=False: model([source, decoder], training=training)


def check_family_causal(family, model, inputs) -> None:
    """`check_causal`; for translation, on the decoder side (source fixed)."""
    if family.task == "translation":
        source, decoder = inputs
        check_causal(_decoder_side(model, source), decoder, vocab_size=TARGET_VOCAB)
    else:
        check_causal(as_callable(model), inputs)


def check_family_sees_later_tokens(family, model, inputs) -> None:
    """A non-causal model: a later token moves the logits before it (a
    classifier: the last token moves the text's logits)."""
    call = as_callable(model)
    changed = inputs.copy()
    changed[:, -1] = 5 + (inputs[:, -1] - 5 + 3) % (VOCAB - 5)
    delta = np.abs(logits_of(call, changed) - logits_of(call, inputs))
    if family.task == "classification":
        assert delta.min(axis=-1).max() > 1e-6
        return
    assert delta[:, :-1].max() > 1e-6


def _pad(ids, count):
    from zoo.text import PAD_ID

    return np.concatenate([ids, np.full((len(ids), count), PAD_ID, ids.dtype)], 1)


def check_family_padding(family, model, inputs, *, atol=1e-5) -> None:
    """PAD_ID never changes the logits of real positions.

    * PAD appended at the end (of the source, and of the decoder ids);
    * a short sentence padded beside full ones reads the same as alone;
    * the control: a real token of that short sentence does move its logits.
    """
    from zoo.text import PAD_ID

    call = as_callable(model)
    base = logits_of(call, inputs)
    if family.task == "translation":
        source, decoder = inputs
        longer = logits_of(call, [_pad(source, END_PADDING), decoder])
        np.testing.assert_allclose(longer, base, rtol=0, atol=atol)
        longer = logits_of(call, [source, _pad(decoder, END_PADDING)])
        np.testing.assert_allclose(longer[:, : decoder.shape[1]], base, atol=atol)
        # Sentence 0 of `source` is already padded: alone, it has no padding.
        alone = logits_of(call, [source[:1, :REAL_SOURCE], decoder[:1]])
        np.testing.assert_allclose(base[:1], alone, rtol=0, atol=atol)
        changed = source.copy()
        changed[0, 1] = 5 + (source[0, 1] - 5 + 1) % (SOURCE_VOCAB - 5)
        moved = logits_of(call, [changed, decoder])
        assert np.abs(moved[0] - base[0]).max() > 1e-6
        return
    real = inputs.shape[1] // 2
    # A classifier has one output per text: its "positions" are that one, and
    # padding must not move it at all.
    keep = 1 if family.task == "classification" else inputs.shape[1]
    short_keep = 1 if family.task == "classification" else real
    base = _sequence_logits(family, base)
    longer = _sequence_logits(family, logits_of(call, _pad(inputs, END_PADDING)))
    np.testing.assert_allclose(longer[:, :keep], base, rtol=0, atol=atol)
    batch = inputs.copy()
    batch[0, real:] = PAD_ID  # sentence 0: `real` tokens, then padding
    short = _sequence_logits(family, logits_of(call, batch))
    alone = _sequence_logits(family, logits_of(call, inputs[:1, :real]))
    np.testing.assert_allclose(short[:1, :short_keep], alone, rtol=0, atol=atol)
    changed = batch.copy()
    changed[0, real - 1] = 5 + (batch[0, real - 1] - 5 + 1) % (VOCAB - 5)
    moved = _sequence_logits(family, logits_of(call, changed))
    assert np.abs(moved[0, :short_keep] - short[0, :short_keep]).max() > 1e-6


def save_arrays(folder: Path, stem: str, inputs) -> list[str]:
    """Save a family's inputs as .npy files; their paths, in input order."""
    arrays = inputs if isinstance(inputs, list) else [inputs]
    paths = []
    for i, array in enumerate(arrays):
        paths.append(str(folder / f"{stem}.x{i}.npy"))
        np.save(paths[-1], array)
    return paths


_FAMILY_XLA_SCRIPT = """
    import json, re, sys
    from pathlib import Path

    import numpy as np

    from zoo import registry

    dump, spec = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())

    def modules():
        return set(dump.glob(sys.argv[3]))

    def step(family, item):
        xs = [np.load(p) for p in item["x"]]
        x, y = (xs[0] if len(xs) == 1 else xs), np.load(item["y"])
        # Compiled as the factory compiles it (zoo.training: XLA forced on).
        model = family.build(item["vocab_size"], **item["kwargs"])
        jit = [model.jit_compile]
        before = [w.numpy().copy() for w in model.trainable_weights]
        seen = modules()
        history = model.fit(x, y, batch_size=len(y), epochs=1, verbose=0).history
        jit.append(model.jit_compile)
        new = sorted(modules() - seen)
        weights = zip(model.trainable_weights, before)
        return {
            "jit": jit,
            "iterations": int(model.optimizer.iterations.numpy()),
            "history": {k: [float(v) for v in vs] for k, vs in history.items()},
            "unchanged": [w.path for w, old in weights
                          if np.array_equal(w.numpy(), old)],
            "modules": [
                {"hlo": p.read_text()[:9] == "HloModule",
                 "s32": sorted(set(re.findall(r"s32\\[[0-9,]*\\]", p.read_text())))}
                for p in new
            ],
        }

    results = {}
    for name, item in spec.items():  # one family's failure hides no other's
        try:
            results[name] = step(registry.get(name), item)
        except Exception as error:
            results[name] = {"error": f"{type(error).__name__}: {error}"}
    print(json.dumps(results))
"""


def run_family_xla_steps(families, folder: Path) -> dict:
    """One ``model.fit`` step per family, all in ONE process with XLA dumping.

    Each family's model is built compiled, as its factory compiles it. Returns
    ``{name: {"jit": [before, after], "iterations", "history", "unchanged":
    trainable weights that did not move, "modules": the XLA train-step modules
    its fit wrote (whether each is HLO, its s32 shapes)}}``, or ``{name:
    {"error": ...}}`` where the new process failed on that family.
    """
    import json

    folder.mkdir(parents=True, exist_ok=True)
    spec = {}
    for family in families:
        inputs = family_inputs(family)
        vocab_size, target_size = family_vocab(family)
        y_path = folder / f"{family.name}.y.npy"
        np.save(y_path, family_targets(family, inputs))
        kwargs = dict(family.tiny)
        if family.task == "translation":
            kwargs["target_vocab_size"] = target_size
        spec[family.name] = {
            "x": save_arrays(folder, family.name, inputs),
            "y": str(y_path),
            "vocab_size": vocab_size,
            "kwargs": kwargs,
        }
    (folder / "spec.json").write_text(json.dumps(spec))
    dump = folder / "xla_dump"
    env = subprocess_env(XLA_FLAGS=f"--xla_dump_to={dump}")
    env.pop("TF_XLA_FLAGS", None)
    out = run_python(
        _FAMILY_XLA_SCRIPT, dump, folder / "spec.json", XLA_STEP_MODULES, env=env
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


_FAMILY_LOAD_SCRIPT = """
    import json, sys
    from pathlib import Path

    import numpy as np

    import zoo
    import keras  # and nothing else of zoo's: `import zoo` registers its layers

    spec = json.loads(Path(sys.argv[1]).read_text())
    errors = {}

    def inputs(item):
        xs = [np.load(p) for p in item["x"]]
        return xs[0] if len(xs) == 1 else xs

    def logits(model, x):
        if hasattr(model, "next_token_logits"):  # an n-gram: position by position
            steps = range(x.shape[1])
            return np.stack([model.next_token_logits(x[:, : t + 1]) for t in steps], 1)
        return np.asarray(model(x, training=False))

    # Plain Keras first: zoo.load, below, imports zoo's modules itself.
    for name, item in spec.items():
        if not item["keras"]:
            continue
        try:
            model = keras.saving.load_model(item["path"], safe_mode=True)
            np.save(item["path"] + ".keras.npy", logits(model, inputs(item)))
        except Exception as error:
            errors[name + " keras"] = f"{type(error).__name__}: {error}"

    for name, item in spec.items():
        try:
            bundle = zoo.load(item["path"], safe_mode=True)
            np.save(item["path"] + ".zoo.npy", logits(bundle.model, inputs(item)))
            source = bundle.source_tokenizer
            Path(item["path"] + ".tokenizers.json").write_text(json.dumps(
                [bundle.tokenizer.get_config(), source and source.get_config()]
            ))
        except Exception as error:
            errors[name + " zoo"] = f"{type(error).__name__}: {error}"
    print(json.dumps(errors))
"""


def run_family_fresh_loads(models: dict, folder: Path) -> dict:
    """Save every family's model with `zoo.save`; load them all in ONE process.

    `models` maps each `Family` to its model. The new process loads each file
    with plain ``keras.saving.load_model(path, safe_mode=True)`` (Keras models)
    after ``import zoo`` and nothing else of zoo, then with `zoo.load`.

    Returns ``{name: {"path", "expected": logits here, "tokenizers": their
    configs here, "error": {"keras"/"zoo": the new process's error}}}``; the
    logits the new process got are next to each file, ``PATH.keras.npy`` and
    ``PATH.zoo.npy``, and the tokenizers it loaded in ``PATH.tokenizers.json``.
    """
    import json

    import zoo

    folder.mkdir(parents=True, exist_ok=True)
    spec, report = {}, {}
    for family, model in models.items():
        inputs = family_inputs(family, seed=3)
        tokenizer, source_tokenizer = family_tokenizers(family)
        suffix = ".keras" if family.keras else ".ngram.zip"
        path = zoo.save(
            folder / f"{family.name}{suffix}",
            model,
            tokenizer,
            source_tokenizer=source_tokenizer,
        )
        spec[family.name] = {
            "path": str(path),
            "keras": family.keras,
            "x": save_arrays(folder, family.name, inputs),
        }
        report[family.name] = {
            "path": str(path),
            "expected": logits_of(as_callable(model), inputs),
            "tokenizers": [
                tokenizer.get_config(),
                source_tokenizer and source_tokenizer.get_config(),
            ],
        }
    (folder / "spec.json").write_text(json.dumps(spec))
    errors = json.loads(
        run_python(_FAMILY_LOAD_SCRIPT, folder / "spec.json").stdout.splitlines()[-1]
    )
    for name, entry in report.items():
        entry["error"] = {how: errors.get(f"{name} {how}") for how in ("keras", "zoo")}
    return report
