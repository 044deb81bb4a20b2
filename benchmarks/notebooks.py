"""Time every notebook, top to bottom, as a user runs it.

    python benchmarks/notebooks.py            # full mode, every notebook
    python benchmarks/notebooks.py --fast     # fast mode (what the tests run)
    python benchmarks/notebooks.py 03_lstm    # some notebooks

Each notebook runs in a fresh kernel in a temporary folder (its run folders
there too) with ``ZOO_FAST`` set for the mode. Prints a Markdown table (wall
time, and the cell that failed, if one did) and writes
``benchmarks/results/notebooks-MODE.json``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def run(path: Path, fast: bool) -> dict:
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(ZOO_FAST="1" if fast else "0", MPLBACKEND="Agg", ZOO_RUNS=tmp)
        client = NotebookClient(
            nb,
            timeout=3600,
            kernel_name="python3",
            resources={"metadata": {"path": tmp}},
        )
        start = time.perf_counter()
        error = None
        try:
            client.execute()
        except CellExecutionError as err:
            error = str(err).strip().splitlines()[-1][:300]
        seconds = time.perf_counter() - start
    return {"notebook": path.stem, "seconds": round(seconds, 1), "error": error}


def main(argv: list[str]) -> int:
    fast = "--fast" in argv
    names = [a for a in argv if not a.startswith("--")]
    paths = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if names:
        unknown = set(names) - {p.stem for p in paths}
        if unknown:
            raise SystemExit(f"no notebook {sorted(unknown)}")
        paths = [p for p in paths if p.stem in names]
    mode = "fast" if fast else "full"
    rows = []
    for path in paths:
        print(f"running {path.stem} ({mode} mode) ...", flush=True)
        rows.append(run(path, fast))
        print(json.dumps(rows[-1]), flush=True)
    print(f"\n| notebook | {mode} mode | result |\n|---|---:|---|")
    for r in rows:
        result = "ran" if r["error"] is None else f"failed: {r['error']}"
        print(f"| `{r['notebook']}` | {r['seconds'] / 60:.1f} min | {result} |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {"machine": platform.machine(), "cpus": os.cpu_count(), "mode": mode}
    out = RESULTS / f"notebooks-{mode}.json"
    # Notebooks run now replace their earlier rows; the others are kept.
    earlier = json.loads(out.read_text())["rows"] if out.exists() else []
    by_name = {r["notebook"]: r for r in earlier} | {r["notebook"]: r for r in rows}
    rows = [by_name[name] for name in sorted(by_name)]
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    tmp.replace(out)
    print(f"\nwrote {out}")
    return int(any(r["error"] for r in rows))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
