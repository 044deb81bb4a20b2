"""What a change bought: zoo's training tokens/s at one git revision against
the working tree, measured side by side in one run.

    python benchmarks/compare_revisions.py HEAD~1 --families lstm,gpt \
        --label "what changed" --out benchmarks/results/compare-<change>.json
    python benchmarks/compare_revisions.py --markdown   # PROFILE.md's table

The revision is checked out into a temporary git worktree; each measurement
is `speed.py`'s training worker in a fresh process, importing zoo from that
worktree or from this one. The two alternate, `--rounds` times, so a slow
minute of a shared machine falls on both; the medians and their ratio are
what to quote. Nothing in the working tree is touched. Both trees get this
process's XLA_FLAGS (recorded in the JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))

import speed  # noqa: E402


def _worktree(revision: str, where: Path) -> None:
    done = subprocess.run(
        ["git", "worktree", "add", "--detach", "--quiet", str(where), revision],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"compare_revisions: no git revision {revision!r}")


def compare(revision, families, rounds, size_name="full", timeout=900):
    size = speed.SIZES[size_name]
    flags = os.environ.get("XLA_FLAGS")
    out = {
        "revision": revision,
        "rounds": rounds,
        "size": size_name,
        "xla_flags": flags,
    }
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        _worktree(revision, base)
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=base, capture_output=True, text=True
        ).stdout.strip()
        out["commit"] = commit
        try:
            trees = {
                "revision": {"PYTHONPATH": str(base)},
                "working_tree": {"PYTHONPATH": str(ROOT)},
            }
            results = {}
            for family in families:
                spec = {"task": "train", "family": family, "impl": "zoo", "size": size}
                runs = {name: [] for name in trees}
                for _ in range(rounds):
                    for name, env in trees.items():
                        result = speed.measure(spec, timeout, env)
                        runs[name].append(speed._get(result, "tokens_per_s"))
                        print(
                            f"  {family} {name}: {speed._fmt(runs[name][-1])} tokens/s",
                            flush=True,
                        )
                medians = speed.medians(runs)
                results[family] = {
                    "tokens_per_s": medians,
                    "working_tree_vs_revision": speed._ratio(
                        medians["working_tree"], medians["revision"]
                    ),
                    "runs": runs,
                }
                ratio = results[family]["working_tree_vs_revision"]
                print(
                    f"{family}: {speed._fmt(medians['revision'])} -> "
                    f"{speed._fmt(medians['working_tree'])} tokens/s "
                    f"({speed._fmt(ratio, '{:.2f}x')})",
                    flush=True,
                )
            out["training"] = results
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(base)],
                cwd=ROOT,
                check=False,
            )
    out["machine"] = speed.machine()
    return out


def markdown(reports) -> str:
    """PROFILE.md's table of what each change bought, from the
    ``compare-*.json`` reports (in the order given)."""
    lines = [
        "| change | model | before (tokens/s) | after (tokens/s) | after / before "
        "| rounds |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for report in reports:
        for family, r in report["training"].items():
            tps = r["tokens_per_s"]
            lines.append(
                f"| {report['label']} | {family} | {speed._fmt(tps['revision'])} | "
                f"{speed._fmt(tps['working_tree'])} | "
                f"{speed._fmt(r['working_tree_vs_revision'], '{:.2f}x')} | "
                f"{report['rounds']} |"
            )
    return "\n".join(lines) + "\n"


def committed_reports():
    """The committed comparisons, oldest first (by their "order" field)."""
    found = [json.loads(p.read_text()) for p in RESULTS.glob("compare-*.json")]
    return sorted(found, key=lambda r: r.get("order", 0))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "revision", nargs="?", help="the git revision to compare against"
    )
    parser.add_argument("--label", help="what the change is, for the table")
    parser.add_argument(
        "--order", type=int, default=0, help="the change's place in the table"
    )
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="print the table of the committed comparisons, run nothing",
    )
    parser.add_argument("--families", default="lstm,gpt")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--out", type=Path, help="the JSON file")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(committed_reports()), end="")
        return {}
    if not (args.revision and args.out and args.label):
        parser.error("a revision, --label and --out are needed (or --markdown)")
    families = [f for f in args.families.split(",") if f]
    unknown = sorted(set(families) - set(speed.FAMILIES))
    if unknown:
        parser.error(
            f"unknown --families {unknown}; choose from {list(speed.FAMILIES)}"
        )
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    start = time.perf_counter()
    report = compare(
        args.revision, families, args.rounds, "tiny" if args.tiny else "full"
    )
    report["label"], report["order"] = args.label, args.order
    report["wall_s"] = time.perf_counter() - start
    speed.write_report(args.out, report)
    return report


if __name__ == "__main__":
    main()
