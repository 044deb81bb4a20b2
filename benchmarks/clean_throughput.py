"""How fast ``zoo clean`` is: documents and megabytes per second.

    python benchmarks/clean_throughput.py                 # the whole corpus, 3 runs
    python benchmarks/clean_throughput.py --chars 200000  # a quick slice

The bundled Shakespeare corpus (train, valid and test joined, about 4 M
characters, its speeches as blank-line-separated documents) is written to a
temporary UTF-8 file, which `zoo.cleaning.clean` then cleans with its default
options into another: reading, every rule and the atomic write are timed
together, as ``zoo clean`` runs them (TensorFlow is not loaded). The median of
the runs is reported. Prints the result as JSON and writes
``benchmarks/results/clean_throughput.json`` (with its report: what was
removed and masked).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from zoo.cleaning import clean
from zoo.data import load_corpus

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def run(*, chars: int | None = None, repeats: int = 3) -> dict:
    """Time `clean` on the bundled Shakespeare corpus.

    Args:
        chars: clean only the first this many characters (None: all).
        repeats: timed runs; the median is reported.

    Returns:
        {"documents", "characters", "megabytes" (UTF-8), "seconds" (each
        run), "median_s", "documents_per_s", "mb_per_s", "report" (the
        cleaning report of the last run), "machine" (with the load average
        at the end, since other work on the machine slows the runs)}.

    Example:
        >>> result = run(chars=20_000, repeats=1)
        >>> result["documents_per_s"] > 0
        True
    """
    corpus = load_corpus("shakespeare")
    text = "\n\n".join(corpus.splits.values())[:chars]
    seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "shakespeare.txt"
        source.write_text(text, encoding="utf-8")
        megabytes = source.stat().st_size / 1e6
        for _ in range(repeats):
            start = time.perf_counter()
            report = clean(source, Path(tmp) / "cleaned.txt")
            seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    documents = report["before"]["documents"]
    return {
        "documents": documents,
        "characters": report["before"]["characters"],
        "megabytes": round(megabytes, 3),
        "seconds": [round(s, 3) for s in seconds],
        "median_s": round(median, 3),
        "documents_per_s": round(documents / median, 1),
        "mb_per_s": round(megabytes / median, 4),
        "report": {k: v for k, v in report.items() if k not in ("input", "output")},
        "machine": {
            "platform": platform.machine(),
            "cpus": os.cpu_count(),
            # Other work on the machine slows every run: the 1-minute load.
            "load_average": round(os.getloadavg()[0], 2),
        },
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=None, help="default: all")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    result = run(chars=args.chars, repeats=args.repeats)
    print(json.dumps({k: v for k, v in result.items() if k != "report"}, indent=1))
    if args.chars is None:  # only the whole corpus is the recorded result
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / "clean_throughput.json"
        path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {path.relative_to(ROOT)}")
    return result


if __name__ == "__main__":
    main()
