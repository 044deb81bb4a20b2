"""Which architecture wins at a fixed budget? Every character model of the
README's table, trained at its defaults on the bundled corpus for the same
number of steps, then for the same wall time.

    python benchmarks/equal_budget.py                 # 1,500 steps, then 120 s
    python benchmarks/equal_budget.py --steps 3000 --seconds 300

The model table's rows are each trained for its command's defaults (3 epochs
of 300 steps, 200 for BERT), which stops every model long before it
converges; this benchmark sets them side by side at equal budgets instead:

1. equal steps: ``zoo train MODEL --epochs 5 --steps-per-epoch steps/5``,
   batch 32 x 64 characters, the family's own optimiser and schedule;
2. equal time: each model's steps per second, from the median of its later
   epochs in (1) (validation included, compilation left out), gives the
   steps that fill ``--seconds``; it is trained again from scratch for that
   many steps (its schedule, if any, spread over them), and the wall time it
   really took is reported beside the budget.

Validation perplexity is per character over the three validation plays.
Writes ``benchmarks/results/equal_budget.json`` and prints a table (the one
in the README).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
MODELS = ("simple_rnn", "elman_rnn", "lstm", "gru", "gpt")
EPOCHS = 5


def zoo_train(model: str, steps: int, out: Path, extra=()) -> dict:
    """``zoo train MODEL`` for `steps` steps in EPOCHS epochs; its history."""
    from zoo.training import read_history

    per_epoch = max(1, round(steps / EPOCHS))
    args = [
        "train", model, "--epochs", str(EPOCHS), "--steps-per-epoch",
        str(per_epoch), "--out", str(out), *extra,
    ]  # fmt: skip
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.run(
        [sys.executable, "-m", "zoo", *args], capture_output=True, text=True, cwd=ROOT
    )
    if proc.returncode:
        raise SystemExit(f"zoo {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    history = read_history(out / "history.csv")
    seconds = history["epoch_seconds"]
    warm = seconds[1:] or seconds
    return {
        "command": "zoo " + " ".join(a for a in args if a not in ("--out", str(out))),
        "steps": per_epoch * EPOCHS,
        "seconds": round(sum(seconds), 1),
        "steps_per_second": round(per_epoch / statistics.median(warm), 2),
        "val_perplexity": round(history["val_perplexity"][-1], 3),
    }


def run(models, steps: int, seconds: float, extra=()) -> dict:
    work = Path(tempfile.mkdtemp(prefix="zoo-budget-"))
    rows = []
    try:
        for model in models:
            print(f"{model}: {steps} steps ...", flush=True)
            by_steps = zoo_train(model, steps, work / f"{model}-steps", extra)
            timed_steps = max(EPOCHS, round(seconds * by_steps["steps_per_second"]))
            print(f"{model}: {timed_steps} steps for {seconds:g} s ...", flush=True)
            by_time = zoo_train(model, timed_steps, work / f"{model}-time", extra)
            rows.append(
                {"model": model, "equal_steps": by_steps, "equal_time": by_time}
            )
            print(json.dumps(rows[-1]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"steps": steps, "seconds": seconds, "rows": rows}


def markdown(report: dict) -> str:
    """The README's table of a report."""
    steps, seconds = report["steps"], report["seconds"]
    lines = [
        f"| model | val perplexity after {steps:,} steps | wall time | "
        f"steps in {seconds:g} s | wall time | val perplexity after {seconds:g} s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    best_steps = min(r["equal_steps"]["val_perplexity"] for r in report["rows"])
    best_time = min(r["equal_time"]["val_perplexity"] for r in report["rows"])
    for r in report["rows"]:
        s, t = r["equal_steps"], r["equal_time"]

        def mark(value, best):
            return f"**{value:.2f}**" if value == best else f"{value:.2f}"

        lines.append(
            f"| {r['model']} | {mark(s['val_perplexity'], best_steps)} | "
            f"{s['seconds']:.0f} s | {t['steps']:,} | {t['seconds']:.0f} s | "
            f"{mark(t['val_perplexity'], best_time)} |"
        )
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument(
        "--tiny", action="store_true", help="a seconds-long run of the plumbing"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "equal_budget.json")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="zoo-budget-data-") as data:
        extra = ()
        if args.tiny:  # 30,000 characters in batches of 4 x 16, for the test
            from zoo.data import load_corpus

            text = Path(data) / "tiny.txt"
            text.write_text(load_corpus("shakespeare").train[:30_000], "utf-8")
            extra = ("--data", str(text), "--batch-size", "4", "--seq-len", "16")
        report = run(args.models, args.steps, args.seconds, extra)
    report["meta"] = {
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "tiny": args.tiny,
        "benchmark_seconds": round(time.perf_counter() - start, 1),
    }
    print()
    print(markdown(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=1) + "\n")
    tmp.replace(args.out)
    print(f"\nwrote {args.out}")
    return report


if __name__ == "__main__":
    main()
