"""benchmarks/equal_budget.py: every character model at equal steps, then at
equal wall time (the README's and notebook 03's comparison)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import equal_budget  # noqa: E402  (benchmarks/ is not a package)


def _row(model, steps_ppl, time_steps, time_ppl):
    return {
        "model": model,
        "equal_steps": {"val_perplexity": steps_ppl, "seconds": 10.0, "steps": 100},
        "equal_time": {"val_perplexity": time_ppl, "seconds": 5.2, "steps": time_steps},
    }


def test_markdown_bolds_the_best_of_each_budget():
    report = {
        "steps": 100,
        "seconds": 5.0,
        "rows": [_row("lstm", 6.0, 40, 7.5), _row("gru", 6.5, 90, 6.9)],
    }
    table = equal_budget.markdown(report)
    lines = table.splitlines()
    assert "after 100 steps" in lines[0] and "steps in 5 s" in lines[0]
    assert lines[2] == "| lstm | **6.00** | 10 s | 40 | 5 s | 7.50 |"
    assert lines[3] == "| gru | 6.50 | 10 s | 90 | 5 s | **6.90** |"


def test_every_character_model_of_the_table_is_compared():
    from zoo import registry

    character_lms = {f.name for f in registry.of_task("lm") if f.keras}
    assert set(equal_budget.MODELS) == character_lms


@pytest.mark.slow  # four `zoo train` processes at a few steps: about a minute
def test_tiny_run_gives_each_model_both_budgets(tmp_path):
    out = tmp_path / "budget.json"
    report = equal_budget.main(
        ["--tiny", "--steps", "10", "--seconds", "2", "--models", "simple_rnn",
         "gru", "--out", str(out)]
    )  # fmt: skip
    assert json.loads(out.read_text()) == report
    for row in report["rows"]:
        assert row["equal_steps"]["steps"] == 10
        assert row["equal_steps"]["steps_per_second"] > 0
        # The timed run's steps are the ones that fill the budget at the
        # rate of the first run (at least one per epoch).
        rate = row["equal_steps"]["steps_per_second"]
        expected = max(equal_budget.EPOCHS, round(2 * rate))
        per_epoch = max(1, round(expected / equal_budget.EPOCHS))
        assert row["equal_time"]["steps"] == per_epoch * equal_budget.EPOCHS
        assert row["equal_time"]["val_perplexity"] > 1
    assert "simple_rnn" in equal_budget.markdown(report)
