"""Every notebook runs top to bottom in fast mode, and its pair is in sync.

Notebooks are jupytext pairs: ``NN_topic.py`` (reviewed) and ``NN_topic.ipynb``
(committed without outputs). Executing them here is what keeps them from
rotting when TensorFlow or Keras move (docs/pitfalls.md #24).
"""

import json
import re
import time
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 4, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_pair_in_sync_and_clean(path):
    paired = path.with_suffix(".py")
    assert paired.exists(), f"{path.name} has no jupytext pair {paired.name}"
    nb = nbformat.read(path, as_version=4)
    py = jupytext.read(paired)
    assert [c.source.strip() for c in nb.cells] == [c.source.strip() for c in py.cells]
    raw = json.loads(path.read_text(encoding="utf-8"))
    for cell in raw["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, (
                f"{path.name} is committed with outputs"
            )


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_fast_mode(path, monkeypatch, tmp_path):
    monkeypatch.setenv("ZOO_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("ZOO_RUNS", str(tmp_path))
    nb = nbformat.read(path, as_version=4)
    cells = len(nb.cells)
    # A last cell of ours: what the notebook's Configuration cell decided.
    nb.cells.append(nbformat.v4.new_code_cell("print('FAST =', FAST)"))
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        failed = next((i for i, c in enumerate(nb.cells) if _has_error(c)), "?")
        report = re.sub(r"\x1b\[[0-9;]*m", "", str(error))  # no terminal colours
        pytest.fail(
            f"{path.name}: cell #{failed} failed in fast mode:\n{report}",
            pytrace=False,
        )
    seconds = time.perf_counter() - start
    print(f"{path.name}: {seconds:.1f} s in fast mode")
    code = [c for c in nb.cells[:cells] if c.cell_type == "code"]
    assert code, f"{path.name} has no code cell"
    # Every code cell ran, once each and in order.
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    # The kernel saw ZOO_FAST=1: the notebook ran its fast configuration.
    probe = "".join(out.get("text", "") for out in nb.cells[-1].outputs)
    assert probe.strip() == "FAST = True", probe


def _has_error(cell) -> bool:
    return any(out.get("output_type") == "error" for out in cell.get("outputs", []))
