"""The speed benchmark runs end to end at a tiny size and writes its JSON.

No timing is asserted (the figures come from ``python benchmarks/speed.py``
on a quiet machine); only that every section measures something, that the
ratios are the ratios of the measured figures, and that the FLOP count the
benchmark divides by is the models' real matmul work.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import speed

ROOT = Path(__file__).resolve().parents[1]


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


@pytest.mark.slow
def test_tiny_run_writes_every_section(tmp_path):
    out = tmp_path / "speed.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "speed.py"),
            "--tiny",
            "--families",
            "lstm",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert not list(tmp_path.glob("*.tmp"))  # written whole, then renamed
    assert report["size"] == "tiny"
    assert _positive(report["matmul"]["best_gflops"])

    lstm = report["training"]["lstm"]
    tps = lstm["tokens_per_s"]
    for impl in ("zoo", "zoo_no_xla", "keras"):
        assert _positive(tps[impl]), (impl, lstm["runs"][impl])
    assert lstm["zoo_vs_keras"] == pytest.approx(tps["zoo"] / tps["keras"])
    assert lstm["xla_vs_no_xla"] == pytest.approx(tps["zoo"] / tps["zoo_no_xla"])
    assert lstm["runs"]["zoo"]["jit_compile"] is True
    assert lstm["runs"]["zoo_no_xla"]["jit_compile"] is False
    assert _positive(lstm["peak_rss_mb"]["zoo"])

    sweep = report["xla_flags"]["lstm"]
    assert set(sweep["tokens_per_s"]) == set(speed.XLA_OPTIONS)
    for name, value in sweep["tokens_per_s"].items():
        assert _positive(value), (name, sweep["runs"][name])
        assert sweep["vs_none"][name] == pytest.approx(
            value / sweep["tokens_per_s"]["none"]
        )

    bf16 = report["bf16"]
    assert bf16["cpu_bf16_units"] in ("amx_bf16", "avx512_bf16", None)
    assert bf16["zoo_picks_xla"] is (bf16["cpu_bf16_units"] is None)
    for impl in ("zoo", "zoo_bf16", "zoo_bf16_no_xla"):
        assert _positive(bf16["lstm"]["tokens_per_s"][impl]), impl
    assert bf16["lstm"]["runs"]["zoo_bf16"]["jit_compile"] is True
    assert bf16["lstm"]["runs"]["zoo_bf16_no_xla"]["jit_compile"] is False

    quality = report["quality"]["lstm"]["zoo"]
    assert quality["steps"] > 0 and math.isfinite(quality["val_loss"])

    for batch in speed.SIZES["tiny"]["gen_batches"]:
        gen = report["generation"][f"lstm_b{batch}"]
        assert _positive(gen["tokens_per_s"]["zoo"])
        assert _positive(gen["tokens_per_s"]["zoo_naive"])

    ngram = report["ngram"]
    assert _positive(ngram["zoo"]["perplexity"])
    assert ngram["zoo"]["perplexity"] == pytest.approx(
        ngram["nltk"]["perplexity"], rel=1e-6
    )
    assert "training tokens/s" in proc.stdout and "zoo/Keras" in proc.stdout


@pytest.mark.parametrize("family", ["simple_rnn", "lstm", "gru"])
def test_rnn_flops_count_every_matmul_weight(family):
    import zoo

    size = speed.SIZES["tiny"]
    model = getattr(zoo, f"build_{family}")(
        size["vocab"], embedding_dim=size["embedding_dim"], units=size["units"]
    )
    matmul_weights = sum(
        math.prod(w.shape)
        for w in model.weights
        if w.name in ("kernel", "recurrent_kernel")
    )
    tokens = size["batch"] * size["seq"]
    # Forward: 2 FLOPs per weight per token; training: 3x the forward.
    assert speed.train_flops(family, size) == 6 * tokens * matmul_weights


def test_gpt_flops_count_projections_attention_and_output():
    size = speed.SIZES["tiny"]
    C, F, T, L, V = (
        size["width"],
        size["ff_dim"],
        size["seq"],
        size["num_layers"],
        size["vocab"],
    )
    tokens = size["batch"] * T
    per_token = L * (4 * C * C + 2 * C * F) + C * V  # weights used in matmuls
    attention = L * 2 * T * C  # QK^T and AV per token
    assert speed.train_flops("gpt", size) == 6 * tokens * (per_token + attention)


def test_unknown_section_and_family_are_refused(capsys):
    with pytest.raises(SystemExit):
        speed.main(["trianing"])
    assert "unknown sections ['trianing']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        speed.main(["training", "--families", "lstn"])
    assert "unknown --families ['lstn']" in capsys.readouterr().err
