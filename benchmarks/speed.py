"""Speed benchmarks: zoo against stock Keras and PyTorch, measured side by side.

    python benchmarks/speed.py                         # everything (about 30 min)
    python benchmarks/speed.py training generation     # some sections
    python benchmarks/speed.py --tiny --out /tmp/s.json  # seconds: a smoke run

Sections (each prints a table; all go to ``benchmarks/results/speed.json``):

matmul      the machine's fp32 matmul rate (TensorFlow with and without XLA,
            and PyTorch): the yardstick for the FLOP fractions below.
training    training tokens/s on one fixed batch, warm (the first step, with
            its compilation, reported apart), median over repeats: zoo's
            default path (its factories, `compile_model`, XLA, `fit`), the
            same without XLA, stock Keras (the stock layers, ``compile()``
            with its defaults, `fit`) and the PyTorch eager reference in
            `torch_reference.py`. Achieved GFLOP/s and the fraction of the
            matmul rate; peak memory of each run.
quality     wall time to reach a fixed held-out loss on the bundled corpus
            (LSTM and the GPT laptop preset), zoo against PyTorch, evaluation
            and compilation included.
generation  tokens/s sampling 500 new tokens at batch 1 and 16: zoo's cached /
            stateful `generate_ids`, naive decoding that re-runs the whole
            prefix for every token, and PyTorch's cached and naive decoding.
ngram       fit + evaluate an order-5 Kneser-Ney model, zoo against `nltk.lm`,
            perplexities side by side (`ngram_vs_nltk.py`).

Every measurement runs in a fresh Python process, one after another, so each
has the machine to itself, its own thread pools, and its own peak memory (the
process's maximum resident set). The machine may be shared and noisy: compare
the ratios of one run, and rerun to see the spread. PyTorch is optional
(``pip install torch``); without it the PyTorch columns are empty.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SECTIONS = (
    "matmul",
    "training",
    "xla_flags",
    "bf16",
    "quality",
    "generation",
    "ngram",
)
FAMILIES = ("simple_rnn", "lstm", "gru", "gpt")
TRAIN_IMPLS = ("zoo", "zoo_no_xla", "keras", "torch")

# The sizes: vocabulary 65, batch 32 x 64 tokens; RNNs embedding 128
# and 256 units; the GPT laptop preset (4 layers, 4 heads, width 128,
# context 64, feed-forward 512).
SIZES = {
    "full": {
        "vocab": 65,
        "batch": 32,
        "seq": 64,
        "embedding_dim": 128,
        "units": 256,
        "num_layers": 4,
        "num_heads": 4,
        "width": 128,
        "ff_dim": 512,
        "warmup": 5,
        "repeats": 20,
        "new_tokens": 500,
        "gen_batches": (1, 16),
        "matmul_n": 2048,
        "xla_rounds": 3,
    },
    "tiny": {
        "vocab": 13,
        "batch": 4,
        "seq": 8,
        "embedding_dim": 8,
        "units": 16,
        "num_layers": 2,
        "num_heads": 2,
        "width": 16,
        "ff_dim": 32,
        "warmup": 1,
        "repeats": 2,
        "new_tokens": 12,
        "gen_batches": (1, 2),
        "matmul_n": 64,
        "xla_rounds": 1,
    },
}
# Time to quality: the held-out loss (nats per character) each model must
# reach, and the most time it gets. Both reach theirs within a few hundred
# steps at zoo's default learning rate (`zoo train`'s runs pass below them).
# PyTorch uses the thread count that trained fastest in the training section.
QUALITY = {
    "full": {"lstm": 2.0, "gpt": 2.2, "max_seconds": 240, "eval_every": 50},
    "tiny": {"lstm": 0.0, "gpt": 0.0, "max_seconds": 2, "eval_every": 2},
}


# --- what each worker process measures -----------------------------------------


def _quiet_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from zoo._tensorflow import import_tensorflow

    import_tensorflow()


def _rnn_config(size):
    return {"embedding_dim": size["embedding_dim"], "units": size["units"]}


def _gpt_config(size):
    return {
        "context_length": size["seq"],
        "embedding_dim": size["width"],
        "num_heads": size["num_heads"],
        "num_layers": size["num_layers"],
        "ff_dim": size["ff_dim"],
    }


def _torch_config(family, size):
    if family == "gpt":
        return {
            "num_layers": size["num_layers"],
            "num_heads": size["num_heads"],
            "width": size["width"],
            "ff_dim": size["ff_dim"],
            "context": size["seq"],
        }
    return _rnn_config(size)


def build_zoo(family, vocab, size, impl="zoo"):
    """The zoo model of `family`, compiled as `impl` says: "zoo" (the default
    path), "zoo_no_xla" (the same, jit_compile=False), "keras" (the stock
    Keras layers, compiled with Keras's defaults), or "zoo_bf16" and
    "zoo_bf16_no_xla" (built under ``zoo.distribute.precision
    ("mixed_bfloat16")``; XLA on or off)."""
    import keras

    import zoo
    from zoo.training import compile_model

    if impl.startswith("zoo_bf16"):
        from zoo.distribute import precision

        with precision("mixed_bfloat16"):
            model = build_zoo(family, vocab, size, "uncompiled")
        return compile_model(model, jit_compile=impl == "zoo_bf16")
    if family == "gpt":
        model = zoo.build_gpt(vocab, **_gpt_config(size), compile=False)
    else:
        build = getattr(zoo, f"build_{family}")
        model = build(vocab, **_rnn_config(size), fused=impl != "keras", compile=False)
    if impl == "uncompiled":
        return model
    if impl == "keras":
        model.compile(
            optimizer="adam",
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
    else:
        compile_model(model, jit_compile=impl == "zoo")
    return model


def _random_batch(size, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    shape = (size["batch"], size["seq"])
    x = rng.integers(1, size["vocab"], shape).astype("int32")
    y = rng.integers(1, size["vocab"], shape).astype("int32")
    return x, y


class _ExecutionTimer:
    """Wall time of every `fit` execution (a call of the compiled step)."""

    def __init__(self):
        import keras

        timer = self

        class Callback(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                timer._start = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                timer.times.append(time.perf_counter() - timer._start)

        self.times = []
        self.callback = Callback()


def work_train(spec):
    family, impl, size = spec["family"], spec["impl"], spec["size"]
    x, y = _random_batch(size)
    if impl in ("torch", "torch_bf16"):
        import torch_reference

        out = torch_reference.train_throughput(
            family,
            size["vocab"],
            x,
            y,
            warmup=size["warmup"],
            repeats=size["repeats"],
            threads=spec.get("threads"),
            autocast="bf16" if impl == "torch_bf16" else None,
            **_torch_config(family, size),
        )
        out["compile_s"] = 0.0
        return out
    _quiet_tensorflow()
    import tensorflow as tf

    model = build_zoo(family, size["vocab"], size, impl)
    per_call = model.steps_per_execution
    ds = tf.data.Dataset.from_tensors((x, y)).repeat()
    timer = _ExecutionTimer()
    calls = size["warmup"] + size["repeats"]
    model.fit(
        ds,
        steps_per_epoch=calls * per_call,
        epochs=1,
        verbose=0,
        callbacks=[timer.callback],
    )
    steps = [t / per_call for t in timer.times[size["warmup"] :]]
    median = statistics.median(steps)
    return {
        "step_seconds": steps,
        "median_step_s": median,
        "tokens_per_s": x.size / median,
        "first_step_s": timer.times[0],
        "compile_s": max(0.0, timer.times[0] - median * per_call),
        "jit_compile": bool(model.jit_compile),
        "steps_per_execution": per_call,
        "params": model.count_params(),
    }


def _quality_data(size, quality):
    """Training batches and a held-out set from the bundled corpus, as numpy:
    the same batches, in the same order, for zoo and PyTorch."""
    from zoo.data.corpora import load_corpus
    from zoo.data.pipeline import make_dataset
    from zoo.text import CharTokenizer

    corpus = load_corpus("shakespeare")
    tokenizer = CharTokenizer.fit(corpus.train)
    train = make_dataset(
        tokenizer.encode(corpus.train),
        seq_len=size["seq"],
        batch_size=size["batch"],
        seed=0,
    )
    valid = make_dataset(
        tokenizer.encode(corpus.valid),
        seq_len=size["seq"],
        batch_size=size["batch"],
        training=False,
    )
    held_out = [(x.numpy(), y.numpy()) for x, y in valid.take(quality["valid_batches"])]
    return tokenizer.vocab_size, train, held_out


def work_quality(spec):
    family, impl, size, quality = (
        spec["family"],
        spec["impl"],
        spec["size"],
        spec["quality"],
    )
    _quiet_tensorflow()
    vocab, train, held_out = _quality_data(size, quality)
    if impl == "torch":
        import torch_reference

        batches = ((x.numpy(), y.numpy()) for x, y in train.repeat())
        return torch_reference.train_to_loss(
            family,
            vocab,
            batches,
            held_out,
            target_loss=quality[family],
            max_seconds=quality["max_seconds"],
            eval_every=quality["eval_every"],
            threads=spec.get("threads"),
            **_torch_config(family, size),
        )
    import keras
    import numpy as np

    model = build_zoo(family, vocab, size)
    x_valid = np.concatenate([x for x, _ in held_out])
    y_valid = np.concatenate([y for _, y in held_out])
    curve, start = [], time.perf_counter()

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            # Keras's val_loss is the mean over batches of each batch's mean
            # loss; the held-out batches are full, so it is the token mean.
            loss = float(logs["val_loss"])
            steps = (epoch + 1) * quality["eval_every"]
            curve.append((time.perf_counter() - start, steps, loss))
            if loss <= quality[family] or curve[-1][0] >= quality["max_seconds"]:
                self.model.stop_training = True

    model.fit(
        train.repeat(),
        steps_per_epoch=quality["eval_every"],
        epochs=10_000,
        validation_data=(x_valid, y_valid),
        validation_batch_size=size["batch"],
        callbacks=[Stop()],
        verbose=0,
    )
    seconds, steps, loss = curve[-1]
    return {
        "seconds": seconds,
        "steps": steps,
        "reached": loss <= quality[family],
        "val_loss": loss,
        "curve": curve,
    }


def naive_decoder(model, *, context=None):
    """Sampling that re-runs the model on the whole prefix for every new token
    (its last `context` tokens for a model with a context limit): what a loop
    over ``model(prefix)`` does. Returns ``decode(prompt, new_tokens, seed)``.

    The prefix is right-padded to a multiple of 64 (or to `context`), so the
    compiled call is traced once per length bucket, not once per token (a
    causal model's logits at the last real position do not depend on the
    padding after it); the position read is a tensor, gathered, so it does
    not recompile either. Build the decoder once and call it many times."""
    import numpy as np
    import tensorflow as tf

    @tf.function(jit_compile=True, reduce_retracing=True)
    def next_token(x, last, key):
        logits = model(x, training=False)  # (B, L, V)
        logits = tf.gather(logits, last, axis=1)  # (B, V) at the last real token
        return tf.random.stateless_categorical(logits, 1, key, dtype=tf.int32)

    def decode(prompt, new_tokens, seed=0):
        ids = np.asarray(prompt, dtype=np.int32)
        for t in range(new_tokens):
            window = ids[:, -context:] if context else ids
            n = window.shape[1]
            length = context or 64 * math.ceil(n / 64)
            x = np.pad(window, ((0, 0), (0, length - n)))
            key = tf.constant([seed, t], tf.int32)
            last = tf.constant(n - 1, tf.int32)
            ids = np.concatenate([ids, next_token(x, last, key).numpy()], axis=1)
        return ids

    return decode


def work_generate(spec):
    family, impl, size, batch = (
        spec["family"],
        spec["impl"],
        spec["size"],
        spec["batch"],
    )
    new_tokens, prompt_len = size["new_tokens"], min(16, size["seq"] // 2)
    if impl.startswith("torch"):
        import torch_reference

        measure = (
            torch_reference.naive_generate_throughput
            if impl == "torch_naive"
            else torch_reference.generate_throughput
        )
        return measure(
            family,
            size["vocab"],
            batch=batch,
            new_tokens=new_tokens,
            prompt_len=prompt_len,
            threads=spec.get("threads"),
            **_torch_config(family, size),
        )
    _quiet_tensorflow()
    import numpy as np

    from zoo.generation import generate_ids

    model = build_zoo(family, size["vocab"], size)
    prompt = np.random.default_rng(0).integers(
        1, size["vocab"], (batch, prompt_len), dtype=np.int32
    )
    context = size["seq"] if family == "gpt" else None
    naive = naive_decoder(model, context=context)

    def run():
        if impl == "zoo_naive":
            return naive(prompt, new_tokens)
        return generate_ids(model, prompt, max_new_tokens=new_tokens, seed=0)

    start = time.perf_counter()
    out = run()  # warm-up: traces and compiles
    first = time.perf_counter() - start
    assert out.shape[1] >= new_tokens, out.shape
    # Naive decoding is one to two orders of magnitude slower: one timed run
    # after the warm-up (which compiled every length bucket) is enough for a
    # ratio of that size; the cached decoding gets the median of three.
    times = []
    for _ in range(1 if impl == "zoo_naive" else 3):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    return {
        "seconds": seconds,
        "tokens_per_s": batch * new_tokens / seconds,
        "first_run_s": first,
    }


def work_matmul(spec):
    n = spec["size"]["matmul_n"]
    flops = 2 * n**3
    out = {"n": n}
    _quiet_tensorflow()
    import tensorflow as tf

    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    for name, jit in (("tensorflow", False), ("tensorflow_xla", True)):
        matmul = tf.function(lambda a, b: tf.matmul(a, b), jit_compile=jit)
        matmul(a, b).numpy()
        times = []
        for _ in range(10):
            start = time.perf_counter()
            matmul(a, b).numpy()
            times.append(time.perf_counter() - start)
        out[name] = flops / statistics.median(times) / 1e9
    try:
        import torch
    except ImportError:
        return out
    torch.set_num_threads(os.cpu_count() or 1)
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    times = []
    for _ in range(10):
        start = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - start)
    out["torch"] = flops / statistics.median(times) / 1e9
    return out


def work_ngram(spec):
    import ngram_vs_nltk

    if spec["tiny"]:
        # The test split's first 300 characters all occur in the first 50,000
        # training characters (not so for the validation split: inf).
        return ngram_vs_nltk.run(
            split="test", max_tokens=50_000, eval_tokens=300, whole_split=False
        )
    return ngram_vs_nltk.run()


WORKERS = {
    "train": work_train,
    "quality": work_quality,
    "generate": work_generate,
    "matmul": work_matmul,
    "ngram": work_ngram,
}


def worker_main(spec_json: str) -> None:
    """Run one measurement and print its result as the last line (JSON)."""
    sys.path.insert(0, str(HERE))
    spec = json.loads(spec_json)
    result = WORKERS[spec["task"]](spec)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


# --- the parent: run the workers, print tables, write JSON --------------------


def measure(spec: dict, timeout: float, env: dict | None = None) -> dict:
    """Run one worker in a fresh process, with `env` added to its
    environment; its result, or {"error": ...}."""
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}


def measure_torch(spec: dict, timeout: float, key: str) -> dict:
    """Run a PyTorch worker with one thread and with every core, and keep the
    faster (by `key`, higher is better): PyTorch at its best thread count on
    this machine. (On a busy machine, spinning OpenMP threads can make every
    core several times slower than one.) Both runs are kept in "by_threads"."""
    counts = sorted({1, os.cpu_count() or 1})
    runs = {n: measure({**spec, "threads": n}, timeout) for n in counts}
    ok = [n for n in counts if "error" not in runs[n]]
    if not ok:
        return runs[counts[-1]]
    best = max(ok, key=lambda n: runs[n][key])
    return {**runs[best], "threads": best, "by_threads": runs}


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def train_flops(family: str, size: dict) -> float:
    """FLOPs of one training step: 3x the forward pass (forward, and a backward
    of about twice its cost), counting the matmuls (2 m k n each)."""
    tokens, V = size["batch"] * size["seq"], size["vocab"]
    if family == "gpt":
        C, F, T, L = size["width"], size["ff_dim"], size["seq"], size["num_layers"]
        # Q, K, V and output projections; the feed-forward; QK^T and AV
        # (computed for the whole T x T square); the tied output layer.
        forward = tokens * (L * (8 * C * C + 4 * C * F + 4 * T * C) + 2 * C * V)
    else:
        E, U = size["embedding_dim"], size["units"]
        G = {"simple_rnn": 1, "gru": 3, "lstm": 4}[family] * U
        forward = 2 * tokens * (E * G + U * G + U * V)
    return 3 * forward


def medians(runs: dict) -> dict:
    """{name: the median of its measured values (None where none ran)}."""
    return {
        name: statistics.median([v for v in vals if v is not None])
        if any(v is not None for v in vals)
        else None
        for name, vals in runs.items()
    }


def write_report(out: Path, report: dict) -> None:
    """Write `report` as JSON to `out`: whole, then renamed into place, so
    there is never a half-written file; and say so."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=1) + "\n")
    tmp.replace(out)
    print(f"wrote {out} ({report['wall_s'] / 60:.1f} min)")


def _ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def _get(result, key):
    return None if result is None or "error" in result else result.get(key)


def _fmt(value, spec="{:,.0f}"):
    return "-" if value is None else spec.format(value)


def _table(headers, rows):
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]
    line = " | ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in rows:
        print(" | ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True)))
    print()


def run_matmul(size, report, timeout):
    print("== fp32 matmul rate ==", flush=True)
    result = measure({"task": "matmul", "size": size}, timeout)
    rates = [
        v for k, v in result.items() if k in ("tensorflow", "tensorflow_xla", "torch")
    ]
    result["best_gflops"] = max(rates) if rates else None
    report["matmul"] = result
    n = result.get("n")
    _table(
        ["n x n", "TF GFLOP/s", "TF+XLA GFLOP/s", "PyTorch GFLOP/s", "best"],
        [
            [
                n,
                _fmt(result.get("tensorflow"), "{:.1f}"),
                _fmt(result.get("tensorflow_xla"), "{:.1f}"),
                _fmt(result.get("torch"), "{:.1f}"),
                _fmt(result["best_gflops"], "{:.1f}"),
            ]
        ],
    )


def run_training(size, report, timeout, families):
    print("== training tokens/s (warm, median over steps) ==", flush=True)
    impls = [i for i in TRAIN_IMPLS if i != "torch" or torch_available()]
    best = (report.get("matmul") or {}).get("best_gflops")
    rows, out = [], {}
    for family in families:
        results = {}
        for impl in impls:
            spec = {"task": "train", "family": family, "impl": impl, "size": size}
            if impl == "torch":
                results[impl] = measure_torch(spec, timeout, "tokens_per_s")
            else:
                results[impl] = measure(spec, timeout)
            print(
                f"  {family} {impl}: {_fmt(_get(results[impl], 'tokens_per_s'))}"
                " tokens/s",
                flush=True,
            )
        tps = {impl: _get(r, "tokens_per_s") for impl, r in results.items()}
        flops = train_flops(family, size)
        zoo_gflops = (
            None
            if tps["zoo"] is None
            else flops * tps["zoo"] / (size["batch"] * size["seq"]) / 1e9
        )
        summary = {
            "tokens_per_s": tps,
            "zoo_vs_torch": _ratio(tps["zoo"], tps.get("torch")),
            "zoo_vs_keras": _ratio(tps["zoo"], tps["keras"]),
            "xla_vs_no_xla": _ratio(tps["zoo"], tps["zoo_no_xla"]),
            "train_flops_per_step": flops,
            "zoo_gflops": zoo_gflops,
            "zoo_fraction_of_matmul": _ratio(zoo_gflops, best),
            "compile_s": _get(results["zoo"], "compile_s"),
            "peak_rss_mb": {
                impl: _get(r, "peak_rss_mb") for impl, r in results.items()
            },
            "runs": results,
        }
        out[family] = summary
        rows.append(
            [
                family,
                _fmt(tps["zoo"]),
                _fmt(tps["zoo_no_xla"]),
                _fmt(tps["keras"]),
                _fmt(tps.get("torch")),
                _fmt(summary["zoo_vs_torch"], "{:.2f}x"),
                _fmt(summary["zoo_vs_keras"], "{:.2f}x"),
                _fmt(summary["xla_vs_no_xla"], "{:.2f}x"),
                _fmt(zoo_gflops, "{:.1f}"),
                _fmt(summary["zoo_fraction_of_matmul"], "{:.0%}"),
                _fmt(summary["compile_s"], "{:.1f}"),
                "/".join(_fmt(summary["peak_rss_mb"].get(i)) for i in impls),
            ]
        )
    report["training"] = out
    _table(
        [
            "model",
            "zoo",
            "zoo no XLA",
            "stock Keras",
            "PyTorch",
            "zoo/PyTorch",
            "zoo/Keras",
            "XLA/no XLA",
            "zoo GFLOP/s",
            "of matmul",
            "compile s",
            "peak MB " + "/".join(impls),
        ],
        rows,
    )


# XLA's CPU options swept on zoo's real training step ("none": XLA_FLAGS
# empty, XLA's own defaults, which is what zoo runs with).
XLA_OPTIONS = {
    "none": "",
    "fast_math": "--xla_cpu_enable_fast_math=true",
    "xnnpack": "--xla_cpu_use_xnnpack=true",
    "xnn_greedy_fusion": (
        "--xla_cpu_experimental_xnn_graph_fusion_mode=XNN_GRAPH_FUSION_MODE_GREEDY"
    ),
    "onednn": "--xla_cpu_use_onednn=true",
    "onednn_custom_call": "--xla_cpu_experimental_onednn_custom_call=true",
    "old_runtime": "--xla_cpu_use_thunk_runtime=false",
    "fast_math+xnnpack": "--xla_cpu_enable_fast_math=true --xla_cpu_use_xnnpack=true",
}


def run_xla_flags(size, report, timeout, families):
    """Each option's tokens/s on the zoo training step, ``size["xla_rounds"]``
    rounds with the options alternating inside each (so a slow minute of a
    shared machine falls on all of them); the median per option, and its
    ratio to "none"."""
    print("== XLA CPU options: zoo training tokens/s ==", flush=True)
    families = [f for f in families if f in ("lstm", "gpt")] or list(families)
    out = {}
    for family in families:
        spec = {"task": "train", "family": family, "impl": "zoo", "size": size}
        runs = {name: [] for name in XLA_OPTIONS}
        names = list(XLA_OPTIONS)
        for r in range(size["xla_rounds"]):
            # Each round starts further down the list, so that no option is
            # always measured first, or always just after the same other one.
            shift = r * len(names) // size["xla_rounds"]
            for name in names[shift:] + names[:shift]:
                env = {"XLA_FLAGS": XLA_OPTIONS[name]}
                runs[name].append(_get(measure(spec, timeout, env), "tokens_per_s"))
        middle = medians(runs)
        out[family] = {
            "flags": dict(XLA_OPTIONS),
            "tokens_per_s": middle,
            "vs_none": {n: _ratio(v, middle["none"]) for n, v in middle.items()},
            "runs": runs,
        }
    report["xla_flags"] = out
    rows = [
        [name]
        + [_fmt(out[f]["tokens_per_s"][name]) for f in families]
        + [_fmt(out[f]["vs_none"][name], "{:.2f}x") for f in families]
        for name in XLA_OPTIONS
    ]
    _table(
        ["option"]
        + [f"{f} tokens/s" for f in families]
        + [f"{f} vs none" for f in families],
        rows,
    )


BF16_IMPLS = ("zoo", "zoo_bf16", "zoo_bf16_no_xla", "torch", "torch_bf16")


def run_bf16(size, report, timeout, families):
    """Mixed bfloat16 training against float32, zoo (XLA on and off) and
    PyTorch's CPU autocast, side by side; and which path zoo picks itself
    on this CPU (`zoo.training.bfloat16_jit_default`)."""
    from zoo.training import bfloat16_jit_default, cpu_bfloat16_units

    print("== mixed bfloat16 training tokens/s ==", flush=True)
    impls = [i for i in BF16_IMPLS if not i.startswith("torch") or torch_available()]
    out = {
        "cpu_bf16_units": cpu_bfloat16_units(),
        "zoo_picks_xla": bfloat16_jit_default(),
    }
    rows = []
    for family in [f for f in families if f in ("lstm", "gpt")] or list(families):
        results = {}
        for impl in impls:
            spec = {"task": "train", "family": family, "impl": impl, "size": size}
            if impl.startswith("torch"):
                results[impl] = measure_torch(spec, timeout, "tokens_per_s")
            else:
                results[impl] = measure(spec, timeout)
        tps = {impl: _get(r, "tokens_per_s") for impl, r in results.items()}
        zoo_pick = tps["zoo_bf16" if out["zoo_picks_xla"] else "zoo_bf16_no_xla"]
        out[family] = {
            "tokens_per_s": tps,
            "zoo_bf16_vs_float32": _ratio(zoo_pick, tps["zoo"]),
            "xla_vs_no_xla_bf16": _ratio(tps["zoo_bf16"], tps["zoo_bf16_no_xla"]),
            "zoo_bf16_vs_torch_bf16": _ratio(zoo_pick, tps.get("torch_bf16")),
            "torch_bf16_vs_float32": _ratio(tps.get("torch_bf16"), tps.get("torch")),
            "runs": results,
        }
        rows.append(
            [family]
            + [_fmt(tps.get(i)) for i in impls]
            + [
                _fmt(out[family]["zoo_bf16_vs_float32"], "{:.2f}x"),
                _fmt(out[family]["zoo_bf16_vs_torch_bf16"], "{:.2f}x"),
            ]
        )
    report["bf16"] = out
    print(
        f"CPU bfloat16 units: {out['cpu_bf16_units'] or 'none'}; "
        f"zoo's bfloat16 default: XLA {'on' if out['zoo_picks_xla'] else 'off'}"
    )
    _table(["model", *impls, "zoo bf16/f32", "zoo bf16/torch bf16"], rows)


def run_quality(size, quality, report, timeout, families):
    print("== time to a held-out loss ==", flush=True)
    impls = ["zoo"] + (["torch"] if torch_available() else [])
    rows, out = [], {}
    for family in [f for f in families if f in ("lstm", "gpt")]:
        out[family] = {"target_loss": quality[family]}
        for impl in impls:
            spec = {
                "task": "quality",
                "family": family,
                "impl": impl,
                "size": size,
                "quality": quality,
            }
            if impl == "torch":
                # The thread count that trained fastest in the training section.
                trained = report.get("training", {}).get(family, {})
                spec["threads"] = _get(trained.get("runs", {}).get("torch"), "threads")
            result = measure(spec, timeout + quality["max_seconds"])
            out[family][impl] = result
            rows.append(
                [
                    family,
                    impl,
                    quality[family],
                    _fmt(_get(result, "seconds"), "{:.1f}"),
                    _fmt(_get(result, "steps")),
                    _fmt(_get(result, "val_loss"), "{:.3f}"),
                    {True: "yes", False: "no", None: "-"}[_get(result, "reached")],
                ]
            )
        out[family]["zoo_vs_torch_time"] = _ratio(
            _get(out[family].get("torch"), "seconds"),
            _get(out[family]["zoo"], "seconds"),
        )
    report["quality"] = out
    _table(["model", "impl", "target", "seconds", "steps", "val loss", "reached"], rows)


def run_generation(size, report, timeout, families):
    print("== generation tokens/s (500 new tokens) ==", flush=True)
    # PyTorch's cached decoding is the reference; its naive decoding
    # (`torch_reference.naive_generate_throughput`) is left out of the default
    # run for time: zoo's own naive decoding is the baseline for the ratio.
    impls = ["zoo", "zoo_naive"]
    if torch_available():
        impls += ["torch"]
    rows, out = [], {}
    for family in [f for f in families if f in ("lstm", "gpt")]:
        for batch in size["gen_batches"]:
            key = f"{family}_b{batch}"
            results = {}
            for impl in impls:
                spec = {
                    "task": "generate",
                    "family": family,
                    "impl": impl,
                    "size": size,
                    "batch": batch,
                }
                if impl == "torch":
                    # The thread count that trained this family fastest.
                    trained = report.get("training", {}).get(family, {})
                    torch_run = trained.get("runs", {}).get("torch")
                    spec["threads"] = _get(torch_run, "threads")
                results[impl] = measure(spec, timeout)
            tps = {impl: _get(r, "tokens_per_s") for impl, r in results.items()}
            out[key] = {
                "tokens_per_s": tps,
                "cached_vs_naive": _ratio(tps["zoo"], tps["zoo_naive"]),
                "zoo_vs_torch": _ratio(tps["zoo"], tps.get("torch")),
                "runs": results,
            }
            rows.append(
                [
                    family,
                    batch,
                    *(_fmt(tps.get(i)) for i in impls),
                    _fmt(out[key]["cached_vs_naive"], "{:.1f}x"),
                    _fmt(out[key]["zoo_vs_torch"], "{:.2f}x"),
                ]
            )
    report["generation"] = out
    _table(
        ["model", "batch", *impls, "zoo cached/naive", "zoo/PyTorch"],
        rows,
    )


def run_ngram(tiny, report, timeout):
    print("== order-5 Kneser-Ney: zoo against nltk.lm ==", flush=True)
    result = measure({"task": "ngram", "tiny": tiny}, timeout)
    report["ngram"] = result
    if "error" in result:
        print("  error:", result["error"], "\n")
        return
    zoo_r, nltk_r = result["zoo"], result["nltk"]
    _table(
        ["impl", "fit s", "eval s", "perplexity"],
        [
            [name, f"{r['fit_s']:.2f}", f"{r['eval_s']:.2f}", f"{r['perplexity']:.4f}"]
            for name, r in (("zoo", zoo_r), ("nltk", nltk_r))
        ],
    )
    print(f"zoo is {result['speedup']:.1f}x faster (fit + evaluate)\n")


def markdown(report: dict) -> str:
    """The README's speed tables, from a full run's report (speed.json).

    The README quotes exactly this text (a test checks), so every figure in it
    is one this benchmark measured."""
    lines = []
    best = report["matmul"]["best_gflops"]
    lines += [
        f"Machine: {report['machine']['cpu_count']} cores; fp32 matmul "
        f"({report['matmul']['n']}^3) {best:.0f} GFLOP/s at best "
        f"(TensorFlow {report['matmul']['tensorflow']:.0f}, with XLA "
        f"{report['matmul']['tensorflow_xla']:.0f}, PyTorch "
        f"{_fmt(report['matmul'].get('torch'), '{:.0f}')}).",
        "",
        "| model | zoo | zoo without XLA | stock Keras | PyTorch | zoo / PyTorch "
        "| zoo / stock Keras | XLA / no XLA | zoo GFLOP/s (of matmul) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for family, r in report["training"].items():
        tps = r["tokens_per_s"]
        lines.append(
            f"| {family} | {_fmt(tps['zoo'])} | {_fmt(tps['zoo_no_xla'])} | "
            f"{_fmt(tps['keras'])} | {_fmt(tps.get('torch'))} | "
            f"{_fmt(r['zoo_vs_torch'], '{:.2f}x')} | "
            f"{_fmt(r['zoo_vs_keras'], '{:.2f}x')} | "
            f"{_fmt(r['xla_vs_no_xla'], '{:.2f}x')} | "
            f"{_fmt(r['zoo_gflops'], '{:.0f}')} "
            f"({_fmt(r['zoo_fraction_of_matmul'], '{:.0%}')}) |"
        )
    if "quality" in report:
        lines += [
            "",
            "| model | target held-out loss | zoo: seconds (steps) "
            "| PyTorch: seconds (steps) | PyTorch time / zoo time |",
            "|---|---:|---:|---:|---:|",
        ]
        for family, r in report["quality"].items():
            cells = []
            for impl in ("zoo", "torch"):
                run = r.get(impl)
                if _get(run, "seconds") is None:
                    cells.append("-")
                    continue
                reached = (
                    "" if run["reached"] else f", not reached: {run['val_loss']:.3f}"
                )
                cells.append(f"{run['seconds']:.0f} s ({run['steps']}{reached})")
            lines.append(
                f"| {family} | {r['target_loss']} | {cells[0]} | {cells[1]} | "
                f"{_fmt(r.get('zoo_vs_torch_time'), '{:.2f}x')} |"
            )
    if "generation" in report:
        lines += [
            "",
            "| model, batch | zoo cached | zoo naive | PyTorch cached "
            "| zoo cached / naive | zoo / PyTorch |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for key, r in report["generation"].items():
            tps = r["tokens_per_s"]
            family, batch = key.rsplit("_b", 1)
            lines.append(
                f"| {family}, {batch} | {_fmt(tps['zoo'])} | {_fmt(tps['zoo_naive'])} "
                f"| {_fmt(tps.get('torch'))} | "
                f"{_fmt(r['cached_vs_naive'], '{:.1f}x')} | "
                f"{_fmt(r['zoo_vs_torch'], '{:.2f}x')} |"
            )
    if "xla_flags" in report:
        families = list(report["xla_flags"])
        lines += [
            "",
            "| XLA option (`XLA_FLAGS`) | "
            + " | ".join(f"{f} tokens/s | {f} / none" for f in families)
            + " |",
            "|---|" + "---:|---:|" * len(families),
        ]
        for name in XLA_OPTIONS:
            flags = report["xla_flags"][families[0]]["flags"].get(name)
            label = f"`{flags}`" if flags else "none (XLA's defaults)"
            cells = []
            for f in families:
                r = report["xla_flags"][f]
                cells += [
                    _fmt(r["tokens_per_s"].get(name)),
                    _fmt(r["vs_none"].get(name), "{:.2f}x"),
                ]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if "bf16" in report:
        r = report["bf16"]
        lines += [
            "",
            "Mixed bfloat16 (the CPU's bfloat16 instructions: "
            f"{r['cpu_bf16_units'] or 'none'}; zoo's default for bfloat16 here: "
            f"XLA {'on' if r['zoo_picks_xla'] else 'off'}).",
            "",
            "| model | zoo float32 | zoo bf16 | zoo bf16 without XLA | PyTorch float32 "
            "| PyTorch autocast bf16 | zoo bf16 / float32 | zoo bf16 / PyTorch bf16 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for family in ("lstm", "gpt"):
            if family not in r:
                continue
            tps = r[family]["tokens_per_s"]
            lines.append(
                f"| {family} | {_fmt(tps.get('zoo'))} | {_fmt(tps.get('zoo_bf16'))} | "
                f"{_fmt(tps.get('zoo_bf16_no_xla'))} | {_fmt(tps.get('torch'))} | "
                f"{_fmt(tps.get('torch_bf16'))} | "
                f"{_fmt(r[family]['zoo_bf16_vs_float32'], '{:.2f}x')} | "
                f"{_fmt(r[family]['zoo_bf16_vs_torch_bf16'], '{:.2f}x')} |"
            )
    if "ngram" in report and "error" not in report["ngram"]:
        r = report["ngram"]
        lines += [
            "",
            "| order-5 Kneser-Ney | fit | evaluate | perplexity |",
            "|---|---:|---:|---:|",
        ]
        for name, label in (("zoo", "zoo"), ("nltk", "nltk.lm")):
            lines.append(
                f"| {label} | {r[name]['fit_s']:.2f} s | {r[name]['eval_s']:.3f} s "
                f"| {r[name]['perplexity']:.4f} |"
            )
    return "\n".join(lines) + "\n"


def machine() -> dict:
    import keras
    import numpy

    info = {
        "platform": platform.platform(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "keras": keras.__version__,
    }
    try:
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
    except ImportError:
        pass
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        pass
    return info


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "sections", nargs="*", help=f"some of {', '.join(SECTIONS)} (default: all)"
    )
    parser.add_argument("--tiny", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument(
        "--families",
        default=",".join(FAMILIES),
        help="the models measured (quality and generation: lstm and gpt only)",
    )
    parser.add_argument("--out", type=Path, default=None, help="the JSON file")
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="print the README's tables from --out (default speed.json), run nothing",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(args.worker)
        return {}
    if args.markdown:
        print(markdown(json.loads((args.out or RESULTS / "speed.json").read_text())))
        return {}
    sections = args.sections or list(SECTIONS)
    if set(sections) - set(SECTIONS):
        parser.error(f"unknown sections {sorted(set(sections) - set(SECTIONS))}")
    families = [f for f in args.families.split(",") if f]
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        parser.error(f"unknown --families {unknown}; choose from {list(FAMILIES)}")
    name = "tiny" if args.tiny else "full"
    size = SIZES[name]
    quality = {**QUALITY[name], "valid_batches": 2 if args.tiny else 16}
    out = args.out or RESULTS / ("speed-tiny.json" if args.tiny else "speed.json")
    timeout = 300 if args.tiny else 900
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    report = {"size": name, "sizes": size}
    previous = json.loads(out.read_text()) if out.exists() else {}
    if previous.get("size") == name:
        # Keep what an earlier run measured in the sections this one skips.
        rerun = set(sections) | ({"matmul"} if "training" in sections else set())
        report.update({k: previous[k] for k in SECTIONS if k in previous})
        for key in rerun:
            report.pop(key, None)
    report["sections"] = [k for k in SECTIONS if k in report or k in sections]
    start = time.perf_counter()
    if "matmul" in sections or "training" in sections:
        run_matmul(size, report, timeout)
    if "training" in sections:
        run_training(size, report, timeout, families)
    if "xla_flags" in sections:
        run_xla_flags(size, report, timeout, families)
    if "bf16" in sections:
        run_bf16(size, report, timeout, families)
    if "quality" in sections:
        run_quality(size, quality, report, timeout, families)
    if "generation" in sections:
        run_generation(size, report, timeout, families)
    if "ngram" in sections:
        run_ngram(args.tiny, report, timeout)
    report["machine"] = machine()
    report["wall_s"] = time.perf_counter() - start
    write_report(out, report)
    return report


if __name__ == "__main__":
    main()
