"""The docs keep their promises: docs/pitfalls.md and the code agree.

* every pitfall the code cites ("PITFALLS #n" or "docs/pitfalls.md #n") is a
  row of docs/pitfalls.md;
* every test that docs/pitfalls.md names as a guard exists;
* no file of the repository points at a path outside it.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PITFALLS = ROOT / "docs" / "pitfalls.md"
# Where the code cites pitfalls; notebooks by their jupytext .py half.
CITING = ("zoo", "tests", "benchmarks", "notebooks", "docs")
ROW = re.compile(r"^\|\s*(\d+)\s*\|", re.MULTILINE)
# `tests/test_x.py::test_name`, or `...::test_name[param]` for one case.
GUARD = re.compile(r"`(tests/[\w/]+\.py)::(\w+)(?:\[[^\]`]*\])?`")
# "PITFALLS #9", "docs/pitfalls.md #9", "pitfalls #1, #2, #20", "#8 and #10",
# and a citation that a comment wraps between the name and the number
# ("(PITFALLS\n# #9)").
CITATION = re.compile(
    r"pitfalls(?:\.md)?(?:\s|#\s)*(#\d+(?:\s*(?:,|and)\s*#\d+)*)", re.IGNORECASE
)
# Built from parts so that this file does not match itself.
OUTSIDE = (".." + "/shared", "shared/" + "PITFALLS", "STYLE" + ".md")


def pitfall_rows() -> dict[int, str]:
    text = PITFALLS.read_text(encoding="utf-8")
    lines = {int(m.group(1)): m for m in ROW.finditer(text)}
    return {n: text[m.start() : text.find("\n", m.start())] for n, m in lines.items()}


def citing_files() -> list[Path]:
    files = []
    for folder in CITING:
        pattern = "*.py" if folder == "notebooks" else "**/*"
        for path in sorted((ROOT / folder).glob(pattern)):
            if path.is_file() and path.suffix in (".py", ".md") and path != PITFALLS:
                files.append(path)
    return files


def repository_files() -> list[Path]:
    """Tracked files, and new ones not yet committed (never the ignored)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: cannot tell tracked files from others")
    paths = (ROOT / name for name in out.decode("utf-8").split("\0") if name)
    return [path for path in paths if path.is_file()]


def test_pitfall_rows_are_numbered_from_one_once_each():
    text = PITFALLS.read_text(encoding="utf-8")
    numbers = [int(n) for n in ROW.findall(text)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 24
    for n, row in pitfall_rows().items():
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert len(cells) == 4 and all(cells), f"row {n} needs four filled cells"
        guard = cells[3]
        assert GUARD.search(guard) or "not guarded" in guard, (
            f"row {n} names no test and does not say that none guards it"
        )


def test_every_cited_pitfall_is_a_row():
    rows = pitfall_rows()
    cited, unknown = 0, []
    for path in citing_files():
        text = path.read_text(encoding="utf-8")
        for match in CITATION.finditer(text):
            for number in re.findall(r"\d+", match.group(1)):
                cited += 1
                if int(number) not in rows:
                    line = text.count("\n", 0, match.start()) + 1
                    where = f"{path.relative_to(ROOT)}:{line}"
                    unknown.append(f"{where}: #{number}")
    assert cited > 0, "no pitfall citation found: has the wording changed?"
    assert not unknown, f"cited pitfalls that docs/pitfalls.md lacks: {unknown}"


def test_citation_pattern_reads_every_form():
    found = [
        re.findall(r"\d+", m.group(1))
        for m in CITATION.finditer(
            "(PITFALLS #1, #2, #20) pitfalls #8 and #10 (PITFALLS\n    # #9) "
            "(docs/pitfalls.md #3, #4) see docs/pitfalls.md\n# #24"
        )
    ]
    assert found == [["1", "2", "20"], ["8", "10"], ["9"], ["3", "4"], ["24"]]
    guards = GUARD.findall("`tests/test_a.py::test_b` `tests/test_c.py::test_d[x-1]`")
    assert guards == [("tests/test_a.py", "test_b"), ("tests/test_c.py", "test_d")]


def test_every_guarding_test_exists():
    missing = []
    for n, row in pitfall_rows().items():
        for file_name, test_name in GUARD.findall(row):
            path = ROOT / file_name
            if not path.is_file():
                missing.append(f"row {n}: {file_name} does not exist")
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=file_name)
            names = {
                node.name
                for node in ast.walk(tree)
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            }
            if test_name not in names:
                missing.append(f"row {n}: {file_name}::{test_name} does not exist")
    assert not missing, missing


def test_no_file_points_outside_the_repository():
    offending = []
    for path in repository_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary (the gzipped corpus)
        for needle in OUTSIDE:
            if needle in text:
                offending.append(f"{path.relative_to(ROOT)}: {needle!r}")
    assert not offending, offending
