"""Measure the README's model table: train each model with `zoo train`.

    python benchmarks/readme_table.py            # every row, about an hour on 2 cores
    python benchmarks/readme_table.py lstm gru   # some rows (the others are kept)
    python benchmarks/readme_table.py --table    # print the table, measure nothing

Each row runs the real command (``zoo train MODEL ...``, defaults unless the
row says otherwise) in a fresh run folder, then reads back the parameter
count, the per-epoch wall times (median reported), the final validation
perplexity, and the test perplexity and bits per character (``zoo
evaluate``). Prints a Markdown table and writes
``benchmarks/results/readme_table.json``.

Bits per character puts character, word and subword models on one scale: the
test split's cross-entropy in bits over its characters, not its tokens
(`zoo.evaluation.bits_per_character`). A row measured before ``zoo evaluate``
printed it gets it from its stored test perplexity (`derived_bits`).
"""

from __future__ import annotations

import json
import math
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
# The GRU on the bundled Tang poems: characters by default there (about 5,800
# of them), so its perplexity is not comparable with the Shakespeare rows'.
ROWS["gru-tang"] = (["gru", "--data", "tang"], f"{FAMILIES['gru'].mirrors}, Tang poems")
# Subword tokens trained on the training split (zoo.text): GPT-2's byte-level
# BPE for the GPT and BERT's WordPiece for BERT, 2000 ids each by default.
ROWS["gpt-bpe"] = (["gpt", "--level", "bpe"], f"{FAMILIES['gpt'].mirrors}, GPT-2's BPE")
ROWS["bert-wordpiece"] = (
    ["bert", "--level", "wordpiece"],
    f"{FAMILIES['bert'].mirrors}, BERT's WordPiece",
)
TRANSLATION = tuple(family.name for family in registry.of_task("translation"))
# Fine-tuned encoders: scored by `zoo evaluate` on labels, not on text.
DOWNSTREAM = tuple(
    family.name
    for task in ("classification", "tagging")
    for family in registry.of_task(task)
)


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
        "test_perplexity": None,
        "test_score": None,
    }
    if args[0] in DOWNSTREAM:
        if "entity F1" in test:
            f1 = _number(r"entity F1 ([\d.]+)", test)
            row["test_score"] = f"entity F1 {f1:.3f}"
        else:
            accuracy = _number(r"accuracy ([\d.]+)", test)
            macro = _number(r"macro-F1 ([\d.]+)", test)
            row["test_score"] = f"accuracy {accuracy:.3f}, macro-F1 {macro:.3f}"
        row["test_bits_per_character"] = None
        row["test_bits_per_character_from"] = None
    else:
        row["test_perplexity"] = _number(r"perplexity ([\d.]+)", test)
    if args[0] not in TRANSLATION + DOWNSTREAM:
        row["test_bits_per_character"] = _number(r"([\d.]+) bits per character", test)
        row["test_bits_per_character_from"] = "zoo evaluate"
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
        row["val_perplexity"] = (
            None if args[0] in DOWNSTREAM else round(history["val_perplexity"][-1], 3)
        )
        row["parameters"] = int(_number(r"([\d,]+) parameters", stdout))
    return row


def derived_bits(row: dict) -> tuple[float | None, str | None]:
    """Bits per character of a row measured before `zoo evaluate` printed it,
    from its stored test perplexity: (value, how it was found).

    A character model's test tokens are the test split's characters, so it is
    log2(perplexity). A word model's needs the test split's tokens: its
    tokenizer is fitted again (deterministic, seconds) and the test split
    encoded, total bits = log2(perplexity) x tokens, over the characters.
    Translation models have no text to score: None.
    """
    args = row["command"].split()[2:]
    if args[0] in TRANSLATION + DOWNSTREAM:
        return None, None
    log2_ppl = math.log2(row["test_perplexity"])
    if row["level"] == "char":
        return round(log2_ppl, 3), "log2(test perplexity)"
    from zoo.recipes.language_model import prepare_text

    data = args[args.index("--data") + 1] if "--data" in args else "shakespeare"
    corpus, _, ids = prepare_text(data, level=row["level"])
    bits = log2_ppl * len(ids["test"]) / len(corpus.test)
    return round(bits, 3), "log2(test perplexity) x test tokens / test characters"


def print_table(rows: list[dict]) -> None:
    # Training tokens/s comes from the speed benchmark's own run, if any.
    speed_file = RESULTS / "speed.json"
    speed = json.loads(speed_file.read_text()) if speed_file.exists() else {}
    throughput = {
        family: r["tokens_per_s"]["zoo"]
        for family, r in speed.get("training", {}).items()
    }
    print(
        "\n| model | mirrors | tokens | parameters | time per epoch | "
        "training tokens/s | val perplexity | test perplexity | test bits/char | "
        "test score | command |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        params = f"{r['parameters']:,}" if r["parameters"] else "counts"
        epoch = (
            f"{r['epoch_seconds_median']} s"
            if "epoch_seconds_median" in r
            else f"{r['fit_seconds']} s (fit)"
        )
        tokens = r["level"] + (f" ({r['vocab_size']:,})" if r["vocab_size"] else "")
        tps = f"{throughput[r['model']]:,.0f}" if r["model"] in throughput else ""
        bits = r.get("test_bits_per_character")
        # What a row mirrors is the registry's current wording.
        mirrors = ROWS[r["model"]][1] if r["model"] in ROWS else r["mirrors"]
        val, test = r["val_perplexity"], r["test_perplexity"]
        print(
            f"| {r['model']} | {mirrors} | {tokens} "
            f"| {params} | {epoch} | {tps} | {'' if val is None else f'{val:.2f}'} | "
            f"{'' if test is None else f'{test:.2f}'} | "
            f"{'' if bits is None else f'{bits:.3f}'} | "
            f"{r['test_score'] or ''} | `{r['command']}` |"
        )


def main(labels: list[str]) -> None:
    path = RESULTS / "readme_table.json"
    if labels == ["--table"]:
        print_table(json.loads(path.read_text())["rows"])
        return
    labels = labels or list(ROWS)
    unknown = set(labels) - set(ROWS)
    if unknown:
        raise SystemExit(f"unknown rows {sorted(unknown)}; choose from {list(ROWS)}")
    rows = []
    for label in labels:
        print(f"measuring {label} ...", flush=True)
        rows.append(measure(label))
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    print_table(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    # Rows measured now replace their earlier selves; the others are kept.
    earlier = json.loads(path.read_text())["rows"] if path.exists() else []
    by_label = {r["model"]: r for r in earlier} | {r["model"]: r for r in rows}
    rows = [by_label[label] for label in ROWS if label in by_label]
    for r in rows:
        if "test_bits_per_character" not in r:
            bits, found = derived_bits(r)
            r["test_bits_per_character"], r["test_bits_per_character_from"] = (
                bits,
                found,
            )
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps({"meta": meta, "rows": rows}, indent=1, ensure_ascii=False) + "\n"
    )
    tmp.replace(path)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
