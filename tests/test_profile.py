"""benchmarks/profile_step.py: the profile of one GPT and one LSTM training
step. Its HLO reading and its time split are checked on small hand-made
inputs; a tiny run writes every family and category; PROFILE.md quotes only
what the committed profile.json says."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import compare_revisions  # noqa: E402  (benchmarks/ is not a package)
import profile_step  # noqa: E402
import speed  # noqa: E402

# A train step in miniature: a dot and its tanh, an Adam update, a metric, a
# transpose, and a while loop of 5 iterations with a dot in its body.
HLO = """HloModule tiny, entry_computation_layout={(f32[4,16]{1,0})->f32[4,8]{1,0}}

%fused_tanh (param_0: f32[4,8]) -> f32[4,8] {
  %param_0 = f32[4,8]{1,0} parameter(0)
  ROOT %tanh.1 = f32[4,8]{1,0} tanh(%param_0), metadata={op_type="Tanh" op_name="net_1/dense_1/Tanh"}
}

%fused_adam (param_0.1: f32[16,8], param_1.1: f32[16,8]) -> f32[16,8] {
  %param_0.1 = f32[16,8]{1,0} parameter(0)
  %param_1.1 = f32[16,8]{1,0} parameter(1)
  ROOT %subtract.1 = f32[16,8]{1,0} subtract(%param_0.1, %param_1.1), metadata={op_type="Sub" op_name="adam/Sub_3"}
}

%fused_concat (param_0.2: f32[4,8]) -> f32[8,8] {
  %param_0.2 = f32[4,8]{1,0} parameter(0)
  ROOT %concatenate.1 = f32[8,8]{1,0} concatenate(%param_0.2, %param_0.2), dimensions={0}, metadata={op_type="ConcatV2" op_name="concat"}
}

%body (p: (s32[], f32[4,8])) -> (s32[], f32[4,8]) {
  %p = (s32[], f32[4,8]{1,0}) parameter(0)
  %gte.0 = s32[] get-tuple-element(%p), index=0
  %gte.1 = f32[4,8]{1,0} get-tuple-element(%p), index=1
  %w.1 = f32[8,8]{1,0} constant({...})
  %MatMul.7 = f32[4,8]{1,0} dot(%gte.1, %w.1), lhs_contracting_dims={1}, rhs_contracting_dims={0}, metadata={op_type="MatMul" op_name="net_1/rnn_1/while/MatMul"}
  ROOT %tuple.2 = (s32[], f32[4,8]{1,0}) tuple(%gte.0, %MatMul.7)
}

%cond (q: (s32[], f32[4,8])) -> pred[] {
  %q = (s32[], f32[4,8]{1,0}) parameter(0)
  %gte.2 = s32[] get-tuple-element(%q), index=0
  %five = s32[] constant(5)
  ROOT %lt = pred[] compare(%gte.2, %five), direction=LT
}

ENTRY %main (arg0.1: f32[4,16], arg1.1: f32[16,8]) -> f32[4,8] {
  %arg0.1 = f32[4,16]{1,0} parameter(0), metadata={op_name="XLA_Args"}
  %arg1.1 = f32[16,8]{1,0} parameter(1), metadata={op_name="XLA_Args"}
  %dot.1 = f32[4,8]{1,0} dot(%arg0.1, %arg1.1), lhs_contracting_dims={1}, rhs_contracting_dims={0}, metadata={op_type="MatMul" op_name="net_1/dense_1/MatMul"}
  %tanh_fusion = f32[4,8]{1,0} fusion(%dot.1), kind=kLoop, calls=%fused_tanh, metadata={op_type="Tanh" op_name="net_1/dense_1/Tanh"}
  %adam_fusion = f32[16,8]{1,0} fusion(%arg1.1, %arg1.1), kind=kLoop, calls=%fused_adam, metadata={op_type="Sub" op_name="adam/Sub_3"}
  %argmax = s32[4]{0} reduce(%tanh_fusion), dimensions={1}, metadata={op_type="ArgMax" op_name="ArgMax"}
  %concat_fusion = f32[8,8]{1,0} fusion(%tanh_fusion), kind=kLoop, calls=%fused_concat, metadata={op_type="ConcatV2" op_name="concat"}
  %transpose.1 = f32[8,4]{1,0} transpose(%tanh_fusion), dimensions={1,0}, metadata={op_type="Transpose" op_name="net_1/transpose"}
  %zero = s32[] constant(0)
  %tuple.1 = (s32[], f32[4,8]{1,0}) tuple(%zero, %tanh_fusion)
  %while.1 = (s32[], f32[4,8]{1,0}) while(%tuple.1), condition=%cond, body=%body, metadata={op_type="While" op_name="net_1/rnn_1/while"}
  ROOT %out = f32[4,8]{1,0} get-tuple-element(%while.1), index=1
}
"""  # noqa: E501  (HLO's lines are as long as XLA writes them)


def _classified():
    return profile_step.classify(
        profile_step.parse_hlo(HLO), model_name="net", optimizer_name="adam"
    )


def test_every_instruction_gets_its_category():
    got = {name: info["category"] for name, info in _classified().items()}
    assert got == {
        "dot.1": "dot",
        "tanh_fusion": "elementwise",
        "adam_fusion": "optimizer",
        "argmax": "loss_metrics",  # a metric's op: no name scope, a metric's type
        "concat_fusion": "copy_transpose",  # no scope, but not a metric's type
        "transpose.1": "copy_transpose",
        "while.1": "while_loop",
        "MatMul.7": "dot",  # the loop's body...
        "lt": "elementwise",  # ...and its condition
    }
    assert _classified()["tanh_fusion"]["kind"] == "gates"
    assert _classified()["MatMul.7"]["loop"] == "while.1"


def test_dot_flops_count_the_loop_body_once_per_iteration():
    summary = profile_step.summarize_hlo(_classified())
    (loop,) = summary["while_loops"]
    assert loop["trip_count"] == 5  # from the condition's constant
    assert loop["dot_flops_per_iteration"] == 2 * 4 * 8 * 8
    assert summary["dot_flops_per_step"] == 2 * 4 * 8 * 16 + 5 * 2 * 4 * 8 * 8
    assert summary["counts"]["dot"] == 2 and summary["counts"]["while_loop"] == 1
    assert set(summary["counts"]) == set(profile_step.HLO_CATEGORIES)


def test_the_trace_splits_every_moment_of_an_execution_once():
    us = 1_000_000  # picoseconds
    instructions = {
        "a": {"category": "dot", "loop": None},
        "b": {"category": "elementwise", "loop": None},
        "w": {"category": "while_loop", "loop": None},
        "c": {"category": "dot", "loop": "w"},
    }
    events = [
        (0, 100 * us, "a"),
        (50 * us, 150 * us, "b"),  # runs beside a for 50 us: they share it
        (160 * us, 161 * us, "w"),  # the loop's launch; its body runs after
        (170 * us, 200 * us, "c"),
        (210 * us, 240 * us, "c"),
        (300 * us, 310 * us, "not an instruction"),
    ]
    split = profile_step.attribute([(0, 1000 * us, "x")], events, instructions)
    seconds = {k: round(v * 1e6, 6) for k, v in split["by_category"].items()}
    assert seconds["dot"] == 50 + 25 + 60
    assert seconds["elementwise"] == 25 + 50
    assert seconds["xla_runtime"] == 10  # 150-160: a short gap
    assert seconds["loop_overhead"] == 10 + 10  # in the loop, nothing running
    assert seconds["stall"] == 760  # 240-1000: too long to be dispatch
    assert sum(seconds.values()) == pytest.approx(1000)


@pytest.mark.slow
def test_tiny_run_writes_both_families_and_every_category(tmp_path):
    out = tmp_path / "profile.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "profile_step.py"),
            "--tiny",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert not list(tmp_path.glob("*.tmp"))  # written whole, then renamed
    assert report["size"] == "tiny"
    assert set(report["families"]) == {"lstm", "gpt"}
    size = speed.SIZES["tiny"]
    for family, result in report["families"].items():
        shares = result["shares"]
        assert set(shares) == set(profile_step.CATEGORIES), family
        assert all(0.0 <= v <= 1.0 for v in shares.values()), shares
        assert sum(shares.values()) == pytest.approx(1.0, abs=1e-6)
        hlo = result["hlo"]
        assert set(hlo["counts"]) == set(profile_step.HLO_CATEGORIES)
        assert hlo["counts"]["dot"] > 0 and hlo["counts"]["optimizer"] > 0
        # The program's dots are the FLOPs speed.py divides its rates by.
        assert hlo["dot_flops_per_step"] > 0
        assert hlo["dot_flops_per_step"] == pytest.approx(
            speed.train_flops(family, size), rel=0.01
        )
        assert result["time"]["executions"] == report["runs"]["profiled"]
        memory = result["memory"]
        assert memory["tensorflow_keras_mb"] > memory["python_mb"] > 0
        assert memory["adam_slots_bytes"] == 2 * memory["weights_bytes"] > 0
        assert memory["xla_buffer_bytes"] >= memory["xla_temp_bytes"] > 0
        assert math.isfinite(result["steps_per_execution"]["speedup"])
    loops = report["families"]["lstm"]["hlo"]["while_loops"]
    assert len(loops) == 2  # the forward recurrence and its written-out backward
    assert all(loop["trip_count"] == size["seq"] for loop in loops)
    assert report["families"]["gpt"]["hlo"]["while_loops"] == []
    assert "| loop overhead |" in proc.stdout


# A figure with a unit: 12.5%, 3.1 ms, 17.7 µs, 45.0 MB, 1.09x, 418 GFLOP/s.
_FIGURE = re.compile(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?) ?(?:%|ms\b|µs\b|MB\b|x\b|GFLOP)")


def test_profile_md_quotes_only_the_committed_profile():
    """PROFILE.md holds the tables `--markdown` prints for profile.json, and
    its prose quotes no figure that is not in them."""
    report = json.loads((ROOT / "benchmarks" / "results" / "profile.json").read_text())
    assert report["size"] == "full"
    assert set(report["families"]) == {"lstm", "gpt"}
    tables = profile_step.markdown(report)
    changes = compare_revisions.markdown(compare_revisions.committed_reports())
    doc = (ROOT / "benchmarks" / "PROFILE.md").read_text(encoding="utf-8")
    assert tables in doc
    assert changes in doc  # what each change bought: compare-*.json's table
    quoted = set(re.findall(r"\d[\d,]*(?:\.\d+)?", tables + changes))
    prose = doc.replace(tables, "").replace(changes, "")
    missing = [m for m in _FIGURE.findall(prose) if m not in quoted]
    assert not missing, f"PROFILE.md quotes figures not in its tables: {missing}"
