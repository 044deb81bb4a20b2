"""The fine-tuning benchmark (benchmarks/fine_tuning.py): its plumbing runs,
its committed results are well formed, and what the README says of them is
what they say."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "fine_tuning.json"
sys.path.insert(0, str(ROOT / "benchmarks"))

import fine_tuning  # noqa: E402


def _rows(report, task):
    return {row["model"]: row for row in report["tasks"][task]["rows"]}


def _check(report):
    assert set(report["tasks"]) == {"genre", "tang-forms", "names"}
    for task in report["tasks"].values():
        models = [row["model"] for row in task["rows"]]
        baseline = "rule" if task["kind"] == "tagging" else "tfidf"
        assert models == [baseline, "scratch", "pretrained"], models
        for row in task["rows"]:
            keys = ("f1", "precision", "recall") if task["kind"] == "tagging" else (
                "accuracy", "macro_f1")  # fmt: skip
            for key in keys:
                assert 0.0 <= row[key] <= 1.0, (task["task"], row["model"], key)
            if task["kind"] == "classification":
                assert sum(map(sum, row["confusion"])) == task["examples"]


def test_committed_results_are_a_full_run():
    report = json.loads(RESULTS.read_text(encoding="utf-8"))
    assert report["meta"]["tiny"] is False and report["budget"] == "full"
    _check(report)


def test_what_the_readme_says_of_the_results():
    """The README's table is the benchmark's, and its sentences hold."""
    report = json.loads(RESULTS.read_text(encoding="utf-8"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert fine_tuning.markdown(report) in readme
    genre, forms = _rows(report, "genre"), _rows(report, "tang-forms")
    names = _rows(report, "names")
    # "word counts beat both encoders on genre; pretraining narrows the gap"
    assert genre["tfidf"]["macro_f1"] > genre["pretrained"]["macro_f1"]
    assert genre["pretrained"]["macro_f1"] > genre["scratch"]["macro_f1"]
    # "both encoders read the Tang forms, which word counts cannot"
    assert min(forms["scratch"]["macro_f1"], forms["pretrained"]["macro_f1"]) > 0.9
    assert forms["tfidf"]["macro_f1"] < 0.6
    # "the rule still beats the character tagger on names, though the tagger
    # now finds them ... pretraining barely moves it at this budget"
    taggers = (names["scratch"]["f1"], names["pretrained"]["f1"])
    assert names["rule"]["f1"] > max(taggers)
    assert min(taggers) > 0.3
    assert abs(taggers[0] - taggers[1]) < 0.05


@pytest.mark.slow
def test_tiny_run(tmp_path):
    out = tmp_path / "fine_tuning.json"
    fine_tuning.main(["--tiny", "--out", str(out)])
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["meta"]["tiny"] is True
    _check(report)
    assert (tmp_path / fine_tuning.CONFUSION_PLOT).is_file()
