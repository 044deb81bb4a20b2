"""benchmarks/compare_revisions.py: a change's speed-up, measured against the
revision before it in one run, and the committed comparisons' table."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import compare_revisions  # noqa: E402  (benchmarks/ is not a package)

SCRIPT = ROOT / "benchmarks" / "compare_revisions.py"


def _run(*args, timeout=600):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def test_committed_comparisons_are_ratios_of_their_medians():
    reports = compare_revisions.committed_reports()
    assert reports, "no benchmarks/results/compare-*.json"
    table = compare_revisions.markdown(reports)
    for report in reports:
        assert report["label"] and report["rounds"] >= 3 and report["size"] == "full"
        assert len(report["commit"]) == 40
        for family, r in report["training"].items():
            runs, tps = r["runs"], r["tokens_per_s"]
            for tree in ("revision", "working_tree"):
                assert len(runs[tree]) == report["rounds"]
                assert tps[tree] == statistics.median(runs[tree])
            ratio = tps["working_tree"] / tps["revision"]
            assert r["working_tree_vs_revision"] == pytest.approx(ratio)
            assert f"| {report['label']} | {family} |" in table


def test_an_unknown_revision_is_named_and_nothing_is_written(tmp_path):
    out = tmp_path / "compare.json"
    proc = _run("no-such-revision-zz", "--label", "x", "--out", out, timeout=120)
    assert proc.returncode != 0
    assert "no git revision 'no-such-revision-zz'" in proc.stderr
    assert not out.exists()


def test_missing_arguments_are_named():
    proc = _run("HEAD", timeout=120)
    assert proc.returncode == 2
    assert "--label and --out are needed" in proc.stderr


@pytest.mark.slow
def test_tiny_comparison_of_head_with_the_working_tree(tmp_path):
    out = tmp_path / "compare.json"
    before = _worktrees()
    proc = _run(
        "HEAD",
        "--tiny",
        "--rounds",
        "1",
        "--families",
        "lstm",
        "--label",
        "smoke",
        "--out",
        out,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    lstm = report["training"]["lstm"]
    assert all(v > 0 for v in lstm["tokens_per_s"].values()), lstm
    assert report["label"] == "smoke" and report["size"] == "tiny"
    assert not list(tmp_path.glob("*.tmp"))
    assert _worktrees() == before  # the temporary worktree is gone again


def _worktrees():
    return subprocess.run(
        ["git", "worktree", "list"], cwd=ROOT, capture_output=True, text=True
    ).stdout
