"""Measure the README's model table: train each model with `zoo train`.

    python benchmarks/readme_table.py            # every row, about an hour on 2 cores
    python benchmarks/readme_table.py lstm gru   # some rows (the others are kept)

Each row runs the real command (``zoo train MODEL ...``, defaults unless the
row says otherwise) in a fresh run folder, then reads back the parameter
count, the per-epoch wall times (median reported), the final validation
perplexity and the test perplexity (``zoo evaluate``). Prints a Markdown
table and writes ``benchmarks/results/readme_table.json``.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from zoo import registry
from zoo.registry import FAMILIES

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs" / "readme"
RESULTS = ROOT / "benchmarks" / "results"

# label -> (zoo train arguments, what the row mirrors): one row per family of
# the registry, in its order (mirrors from the registry), plus the n-gram at
# character level.
ROWS = {
    ("ngram-word" if name == "ngram" else name): ([name], family.mirrors)
    for name, family in FAMILIES.items()
}
ROWS["ngram-char"] = (
    ["ngram", "--level", "char", "--order", "7"],
    ROWS["ngram-word"][1],
)
TRANSLATION = tuple(family.name for family in registry.of_task("translation"))


def zoo(*args) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "zoo", *args], capture_output=True, text=True, cwd=ROOT
    )
    if proc.returncode:
        raise SystemExit(f"zoo {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return proc.stdout


def _number(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    if found is None:
        raise SystemExit(f"no match for {pattern!r} in:\n{text[-2000:]}")
    return float(found[1].replace(",", ""))


def measure(label: str) -> dict:
    args, mirrors = ROWS[label]
    out_dir = RUNS / label
    shutil.rmtree(out_dir, ignore_errors=True)
    start = time.perf_counter()
    stdout = zoo("train", *args, "--out", str(out_dir))
    wall = time.perf_counter() - start
    model_file = next(out_dir.glob("model.*"))
    test = zoo("evaluate", str(model_file), "--split", "test")
    row = {
        "model": label,
        "command": "zoo train " + " ".join(args),
        "mirrors": mirrors,
        "wall_seconds": round(wall, 1),
        "test_perplexity": _number(r"perplexity ([\d.]+)", test),
        "test_score": None,
    }
    if args[0] in TRANSLATION:
        row["level"], row["vocab_size"] = "char", None
        exact = _number(r"exact match ([\d.]+)", test)
        bleu = _number(r"BLEU ([\d.]+)", test)
        row["test_score"] = f"exact match {exact:.3f}, BLEU {bleu:.1f}"
    else:
        data = re.search(r"(\w+)-level vocabulary of (\d+)", stdout)
        row["level"], row["vocab_size"] = data[1], int(data[2])
    if args[0] == "bert":
        accuracy = _number(r"masked-token accuracy ([\d.]+)", test)
        row["test_score"] = f"masked-token accuracy {accuracy:.3f}"
    if args[0] == "ngram":
        row["fit_seconds"] = _number(r"fit in ([\d.]+) s", stdout)
        row["val_perplexity"] = _number(r"validation perplexity ([\d.]+)", stdout)
        row["parameters"] = None
    else:
        from zoo.training import read_history

        history = read_history(out_dir / "history.csv")
        row["epochs"] = len(history["loss"])
        row["epoch_seconds_median"] = round(
            statistics.median(history["epoch_seconds"]), 1
        )
        row["val_perplexity"] = round(history["val_perplexity"][-1], 3)
        row["parameters"] = int(_number(r"([\d,]+) parameters", stdout))
    return row


def main(labels: list[str]) -> None:
    labels = labels or list(ROWS)
    unknown = set(labels) - set(ROWS)
    if unknown:
        raise SystemExit(f"unknown rows {sorted(unknown)}; choose from {list(ROWS)}")
    rows = []
    for label in labels:
        print(f"measuring {label} ...", flush=True)
        rows.append(measure(label))
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    # Training tokens/s comes from the speed benchmark's own run, if any.
    speed_file = RESULTS / "speed.json"
    speed = json.loads(speed_file.read_text()) if speed_file.exists() else {}
    throughput = {
        family: r["tokens_per_s"]["zoo"]
        for family, r in speed.get("training", {}).items()
    }
    print(
        "\n| model | mirrors | tokens | parameters | time per epoch | "
        "training tokens/s | val perplexity | test perplexity | test score | "
        "command |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        params = f"{r['parameters']:,}" if r["parameters"] else "counts"
        epoch = (
            f"{r['epoch_seconds_median']} s"
            if "epoch_seconds_median" in r
            else f"{r['fit_seconds']} s (fit)"
        )
        tokens = r["level"] + (f" ({r['vocab_size']:,})" if r["vocab_size"] else "")
        tps = f"{throughput[r['model']]:,.0f}" if r["model"] in throughput else ""
        print(
            f"| {r['model']} | {r['mirrors']} | {tokens} "
            f"| {params} | {epoch} | {tps} | {r['val_perplexity']:.2f} | "
            f"{r['test_perplexity']:.2f} | {r['test_score'] or ''} | "
            f"`{r['command']}` |"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    path = RESULTS / "readme_table.json"
    # Rows measured now replace their earlier selves; the others are kept.
    earlier = json.loads(path.read_text())["rows"] if path.exists() else []
    by_label = {r["model"]: r for r in earlier} | {r["model"]: r for r in rows}
    rows = [by_label[label] for label in ROWS if label in by_label]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps({"meta": meta, "rows": rows}, indent=1, ensure_ascii=False) + "\n"
    )
    tmp.replace(path)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
