"""The README keeps its promises: two set-up commands, the second one what CI
runs, and a measured row for every model of the `zoo` command."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 1)
    return README[start : None if end == -1 else end]


def test_exactly_two_set_up_commands_and_ci_runs_the_second():
    blocks = re.findall(
        r"```bash\n(.*?)```", _section("Set up on a fresh machine"), re.S
    )
    assert len(blocks) == 2, blocks
    main_job, tests = (b.strip() for b in blocks)
    assert main_job.startswith("python3 -m pip install . && zoo train ")
    install, run = tests.split(" && ")
    assert run == "python3 -m pytest"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert install.replace("python3 -m pip install ", "") in ci
    assert re.search(r"^python3 -m pytest\b", ci, re.M)
    assert "-eq 5" in ci  # pytest's "no tests collected" is a failure


def test_no_placeholder_is_left():
    for placeholder in ("MODEL_TABLE", "NOTEBOOK_TABLE", "SPEED_TABLES", "TODO", "TBD"):
        assert placeholder not in README


def _model_table() -> list[str]:
    """The rows of the Models section's first table (the model table)."""
    section = _section("Models")
    start = section.index("\n| model | mirrors |") + 1
    end = section.find("\n\n", start)
    return section[start : None if end == -1 else end].splitlines()


def test_every_model_of_the_command_has_a_measured_row():
    from zoo.registry import FAMILIES

    rows = _model_table()
    measured = {line.split("|")[1].strip() for line in rows[2:]}  # after the header
    for model in FAMILIES:
        assert any(re.fullmatch(rf"{model}([- ].*)?", m) for m in measured), model
    for line in rows[2:]:
        assert re.search(r"`zoo train [a-z_]+", line), line  # how to reproduce it


def test_every_notebook_is_in_the_notebook_table():
    table = _section("Notebooks")
    for path in sorted((ROOT / "notebooks").glob("*.py")):
        assert f"`{path.stem}`" in table, path.stem


def test_budget_and_papers_tables_are_the_benchmarks_own_output():
    """The equal-budget and papers tables are their benchmarks' output for
    the committed results, and the notebook that reads them is named."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import equal_budget
    import papers

    results = ROOT / "benchmarks" / "results"
    budget = json.loads((results / "equal_budget.json").read_text())
    assert budget["meta"]["tiny"] is False
    assert equal_budget.markdown(budget) in _section("Models")
    report = json.loads((results / "papers.json").read_text())
    assert papers.table(report["rows"]) in _section("Models")


def test_model_table_is_the_benchmarks_own_output(capsys):
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import readme_table

    rows = json.loads(
        (ROOT / "benchmarks" / "results" / "readme_table.json").read_text()
    )
    readme_table.print_table(rows["rows"])
    assert capsys.readouterr().out.strip() in _section("Models")


def test_the_set_up_time_is_the_measured_one():
    rows = json.loads(
        (ROOT / "benchmarks" / "results" / "readme_table.json").read_text()
    )
    lstm = next(r for r in rows["rows"] if r["model"] == "lstm")
    quoted = re.search(r"([\d.]+) s measured for the whole", _section("Set up"))
    assert quoted and float(quoted[1]) == lstm["wall_seconds"]


def test_speed_tables_are_the_benchmarks_own_output():
    """Every speed figure in the README is one `benchmarks/speed.py` measured:
    the tables are its ``--markdown`` output for the committed results."""
    from benchmarks import speed

    report = json.loads((ROOT / "benchmarks" / "results" / "speed.json").read_text())
    assert report["size"] == "full"
    assert speed.markdown(report) in _section("Speed")


def test_model_table_throughput_is_the_speed_benchmarks():
    report = json.loads((ROOT / "benchmarks" / "results" / "speed.json").read_text())
    rows = _model_table()
    header = [c.strip() for c in rows[0].split("|")]
    column = header.index("training tokens/s")
    quoted = {
        cells[1].strip(): cells[column].strip()
        for cells in (row.split("|") for row in rows[2:])
    }
    for family, result in report["training"].items():
        assert quoted[family] == f"{result['tokens_per_s']['zoo']:,.0f}", family
