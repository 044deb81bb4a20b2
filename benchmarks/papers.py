"""Published results, reproduced with zoo: each row the paper, its setting, its
number, zoo's number and the command that gave it.

zoo ships neither the Penn Treebank nor tiny-shakespeare; pass your own copies:

    python benchmarks/papers.py --ptb PTB_DIR --shakespeare input.txt
    python benchmarks/papers.py --shakespeare tfds --torch   # + PyTorch beside

``PTB_DIR`` holds Mikolov's ``ptb.train.txt``, ``ptb.valid.txt`` and
``ptb.test.txt`` (10,000 word types with ``<unk>``); ``input.txt`` is
karpathy's tiny-shakespeare, cut 90/10 as nanoGPT cuts it, or ``tfds`` for a
prepared TFDS ``tiny_shakespeare`` (its validation and test parts together are
the same last 10%). Rows whose data is not given are listed with what to pass.

Without the real files, two stand-ins built from the bundled corpus run every
row through the same code:

    python benchmarks/papers.py --stand-in        # full-size recipes
    python benchmarks/papers.py --stand-in --tiny # seconds: what CI runs

The stand-in Penn Treebank is the bundled plays' words, lower-cased, numbers
as ``N``, no punctuation, one line per sentence and the 10,000 most frequent
words (the rest ``<unk>``), as Mikolov prepared the real one; the stand-in
tiny-shakespeare is the plays' training text cut to tiny-shakespeare's
1,115,394 characters. Their numbers test the recipes, not the papers: only the
real files give figures to set beside the published ones.

``--torch`` trains, beside zoo's GPT, the PyTorch reference of
`benchmarks/torch_reference.py` with nanoGPT's own training loop on the same
ids, in the same run, and reports both losses and wall times.

Writes ``benchmarks/results/papers.json`` (``--out`` elsewhere) and prints a
table.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TINY_SHAKESPEARE_CHARS = 1_115_394  # karpathy's input.txt
PTB_VOCABULARY = 10_000  # Mikolov's, <unk> included


@dataclass(frozen=True)
class Row:
    """One published result and the zoo command that reproduces it.

    Attributes:
        key: the row's name on the command line.
        paper: who published it, and where.
        setting: the published set-up, in a line.
        metric: what is compared ("test perplexity", "validation loss").
        published: the paper's number.
        data: "ptb" or "shakespeare": which folder it needs.
        args: ``zoo train`` arguments; "{data}" is the prepared data folder.
        tiny: what replaces the budget arguments under ``--tiny``.
        differs: what zoo does not reproduce, in a line.
    """

    key: str
    paper: str
    setting: str
    metric: str
    published: float
    data: str
    args: tuple
    tiny: dict
    differs: str = ""


ROWS = {
    row.key: row
    for row in (
        Row(
            "kn3",
            "Mikolov et al. (2011), Empirical evaluation and combination of "
            "advanced language modeling techniques",
            "Penn Treebank, interpolated modified Kneser-Ney, order 3",
            "test perplexity",
            148.3,
            "ptb",
            ("ngram", "--data", "{data}", "--order", "3", "--min-freq", "1"),
            {},
        ),
        Row(
            "kn5",
            "Mikolov et al. (2011), Empirical evaluation and combination of "
            "advanced language modeling techniques",
            "Penn Treebank, interpolated modified Kneser-Ney, order 5",
            "test perplexity",
            141.2,
            "ptb",
            ("ngram", "--data", "{data}", "--order", "5", "--min-freq", "1"),
            {},
        ),
        Row(
            "zaremba-small",
            "Zaremba et al. (2014), Recurrent neural network regularization",
            "Penn Treebank, LSTM 2 x 200, no dropout, 13 epochs, SGD at 1 halved "
            "every epoch after the 4th, gradient norm clipped at 5, 20 streams of "
            "20 steps with the state carried",
            "test perplexity",
            114.5,
            "ptb",
            (
                "lstm",
                "--data",
                "{data}",
                "--level",
                "word",
                "--min-freq",
                "1",
                "--stateful",
                "--num-layers",
                "2",
                "--units",
                "200",
                "--embedding-dim",
                "200",
                "--seq-len",
                "20",
                "--batch-size",
                "20",
                "--epochs",
                "13",
                "--optimizer",
                "sgd",
                "--learning-rate",
                "20",
                "--clipnorm",
                "0.25",
                "--schedule",
                "step",
                "--decay-after",
                "4",
                "--dropout",
                "0",
            ),  # fmt: skip
            {"--epochs": "2", "--steps-per-epoch": "5", "--decay-after": "1"},
            # zoo's loss is the mean over the 20 steps where Zaremba's is their
            # sum, so its gradients are a 20th: learning rate 20 x (clip 5 / 20)
            # takes exactly Zaremba's steps.
            "loss averaged over the 20 steps, so SGD at 20 with the norm clipped "
            "at 0.25 takes Zaremba's steps; weights start from Keras's "
            "initialisers, not uniform(-0.1, 0.1)",
        ),
        Row(
            "nanogpt-cpu",
            "Karpathy (2022), nanoGPT README, the CPU run on tiny-shakespeare",
            "tiny-shakespeare characters, 90/10 split, GPT 4 layers, 4 heads, "
            "width 128, block 64, batch 12, 2000 iterations, AdamW (beta2 0.99, "
            "decay 0.1), 100 warm-up steps, cosine to 1e-4, no dropout",
            "validation loss",
            1.88,
            "shakespeare",
            (
                "gpt",
                "--data",
                "{data}",
                "--preset",
                "laptop",
                "--seq-len",
                "64",
                "--batch-size",
                "12",
                "--epochs",
                "1",
                "--steps-per-epoch",
                "2000",
                "--learning-rate",
                "1e-3",
                "--dropout",
                "0",
            ),  # fmt: skip
            {"--steps-per-epoch": "20"},
            "zoo's defaults for a GPT: AdamW, beta2 0.99, decay 0.1 but not on "
            "biases, norms and embeddings, warm-up over 5% of the steps, cosine "
            "to a tenth; nanoGPT's model has no biases",
        ),
    )
}
NEEDS = {
    "ptb": "--ptb DIR (a folder with Mikolov's ptb.train.txt, ptb.valid.txt, "
    "ptb.test.txt)",
    "shakespeare": "--shakespeare FILE (karpathy's tiny-shakespeare input.txt) "
    "or --shakespeare tfds (a prepared TFDS tiny_shakespeare)",
}


# --- data --------------------------------------------------------------------------


def nanogpt_split(text: str, folder: Path) -> Path:
    """Write nanoGPT's 90/10 cut of `text` as a zoo text folder.

    Three files in name order are read whole, one per split (see
    `zoo.data.load_text`); nanoGPT has no test part, so the test file repeats
    the validation tenth. Returns `folder`.
    """
    cut = int(len(text) * 0.9)
    folder.mkdir(parents=True, exist_ok=True)
    for name, part in (("1-train", text[:cut]), ("2-val", text[cut:])):
        (folder / f"{name}.txt").write_text(part, encoding="utf-8")
    shutil.copyfile(folder / "2-val.txt", folder / "3-test.txt")
    return folder


def tiny_shakespeare_text(source: str) -> str:
    """The whole of tiny-shakespeare from karpathy's file or a TFDS folder."""
    if source == "tfds":
        from zoo.data import load_tiny_shakespeare

        corpus = load_tiny_shakespeare()
        return corpus.train + corpus.valid + corpus.test
    path = Path(source)
    if not path.is_file():
        raise SystemExit(
            f"--shakespeare {source}: no such file (karpathy's tiny-shakespeare "
            "input.txt, or 'tfds')"
        )
    return path.read_text(encoding="utf-8")


def _ptb_sentences(text: str) -> list[list[str]]:
    """Mikolov's preparation of the Penn Treebank, applied to any English text:
    lower case, numbers as N, words of letters and apostrophes only, one
    sentence per line."""
    sentences = []
    for line in re.split(r"[.!?;:\n]+", text.lower()):
        words = ["N" if w[0].isdigit() else w for w in re.findall(r"[a-z0-9']+", line)]
        words = [w.strip("'") or "'" for w in words]
        if words:
            sentences.append(words)
    return sentences


def ptb_stand_in(folder: Path, *, tiny: bool = False) -> Path:
    """A Penn Treebank folder made from the bundled plays (see the module
    docstring); `tiny` keeps the first few thousand sentences of each split."""
    from zoo.data import load_corpus

    corpus = load_corpus("shakespeare")
    splits = {name: _ptb_sentences(text) for name, text in corpus.splits.items()}
    if tiny:
        splits = {
            name: s[: 3000 if name == "train" else 300] for name, s in splits.items()
        }
    counts = collections.Counter(w for s in splits["train"] for w in s)
    keep = {w for w, _ in counts.most_common(PTB_VOCABULARY - 1)}
    folder.mkdir(parents=True, exist_ok=True)
    for name, sentences in splits.items():
        lines = (
            " " + " ".join(w if w in keep else "<unk>" for w in s) + " \n"
            for s in sentences
        )
        (folder / f"ptb.{name}.txt").write_text("".join(lines), encoding="utf-8")
    return folder


def shakespeare_stand_in(folder: Path, *, tiny: bool = False) -> Path:
    """The bundled plays' training text cut to tiny-shakespeare's size, split
    90/10 (`tiny`: a 50,000-character cut)."""
    from zoo.data import load_corpus

    size = 50_000 if tiny else TINY_SHAKESPEARE_CHARS
    return nanogpt_split(load_corpus("shakespeare").train[:size], folder)


# --- runs --------------------------------------------------------------------------


def zoo(*args) -> str:
    """Run the `zoo` command; its standard output, or exit with its error."""
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


def row_args(row: Row, data: str, *, tiny: bool = False) -> list[str]:
    """The row's ``zoo train`` arguments on `data`, shrunk under `tiny`."""
    args = [data if a == "{data}" else a for a in row.args]
    if tiny:
        for flag, value in row.tiny.items():
            if flag in args:
                args[args.index(flag) + 1] = value
            else:
                args += [flag, value]
    return args


def measure(row: Row, data: str, runs: Path, *, tiny: bool = False) -> dict:
    """Train and score one row with the `zoo` command."""
    args = row_args(row, data, tiny=tiny)
    out = runs / row.key
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    stdout = zoo("train", *args, "--out", str(out))
    wall = time.perf_counter() - start
    model = next(out.glob("model.*"))
    result = {
        "key": row.key,
        "paper": row.paper,
        "setting": row.setting,
        "metric": row.metric,
        "published": row.published,
        "command": "zoo train " + " ".join(args).replace(data, row.data.upper()),
        "differs": row.differs,
        "process_seconds": round(wall, 1),
    }
    if row.metric == "test perplexity":
        scored = zoo("evaluate", str(model), "--split", "test")
        result["zoo"] = _number(r"perplexity ([\d.]+)", scored)
        result["tokens_scored"] = int(_number(r"over ([\d,]+) tokens", scored))
    else:
        scored = zoo("evaluate", str(model), "--split", "valid")
        result["zoo"] = round(math.log(_number(r"perplexity ([\d.]+)", scored)), 4)
    result["vocabulary"] = int(_number(r"vocabulary of (\d+)", stdout))
    if row.args[0] == "ngram":
        result["train_seconds"] = _number(r"fit in ([\d.]+) s", stdout)
    else:
        from zoo.training import read_history

        seconds = read_history(out / "history.csv")["epoch_seconds"]
        result["train_seconds"] = round(sum(seconds), 1)
        result["epochs"] = len(seconds)
    result["ratio"] = round(result["zoo"] / row.published, 4)
    return result


def torch_beside(folder: Path, *, tiny: bool, threads: int | None = None) -> dict:
    """The PyTorch reference GPT trained with nanoGPT's loop on the same ids
    as the nanogpt-cpu row (zoo's character vocabulary, the same windows of
    the validation tenth)."""
    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import torch_reference

    from zoo.data import load_corpus
    from zoo.data.pipeline import make_dataset
    from zoo.text import build_tokenizer

    corpus = load_corpus(folder)
    tokenizer = build_tokenizer(corpus.train, level="char", min_freq=1)
    train_ids = np.asarray(tokenizer.encode(corpus.train))
    valid_ids = np.asarray(tokenizer.encode(corpus.valid))
    valid = [
        (x.numpy(), y.numpy())
        for x, y in make_dataset(valid_ids, seq_len=64, batch_size=32, training=False)
    ]
    iters = int(ROWS["nanogpt-cpu"].tiny["--steps-per-epoch"]) if tiny else 2000
    result = torch_reference.train_nanogpt_recipe(
        tokenizer.vocab_size,
        train_ids,
        valid,
        iters=iters,
        warmup=max(1, iters // 20),
        threads=threads,
        num_layers=4,
        num_heads=4,
        width=128,
        context=64,
    )
    return {
        "val_loss": round(result["val_loss"], 4),
        "train_seconds": round(result["seconds"], 1),
        "steps": result["steps"],
        "torch": torch_reference.torch.__version__,
    }


def table(results: list[dict]) -> str:
    lines = [
        "| paper | setting | metric | published | zoo | zoo / published | "
        "train time | command |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        if "zoo" not in r:
            lines.append(
                f"| {r['paper']} | {r['setting']} | {r['metric']} | "
                f"{r['published']} | not run: {r['missing']} | | | |"
            )
            continue
        # A stand-in's number is not the paper's quantity: no ratio for it.
        stand_in = r.get("stand_in", False)
        zoo = f"{r['zoo']:.2f}" + (" (stand-in)" if stand_in else "")
        ratio = "" if stand_in else f"{r['ratio']:.3f}"
        lines.append(
            f"| {r['paper']} | {r['setting']} | {r['metric']} | {r['published']} | "
            f"{zoo} | {ratio} | {r['train_seconds']} s | `{r['command']}` |"
        )
        if "torch" in r:
            t = r["torch"]
            torch_ratio = "" if stand_in else f"{t['val_loss'] / r['published']:.3f}"
            lines.append(
                f"| PyTorch {t['torch']}, same model, nanoGPT's loop | same ids "
                f"| {r['metric']} | {r['published']} | {t['val_loss']:.2f}"
                f"{' (stand-in)' if stand_in else ''} | {torch_ratio} | "
                f"{t['train_seconds']} s | "
                "`python benchmarks/papers.py --shakespeare FILE --torch` |"
            )
    return "\n".join(lines)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ptb", help=NEEDS["ptb"].split(" ", 2)[2])
    parser.add_argument("--shakespeare", help=NEEDS["shakespeare"].split(" ", 2)[2])
    parser.add_argument(
        "--stand-in",
        action="store_true",
        help="data not given is made from the bundled corpus (not comparable "
        "with the papers: it tests the recipes)",
    )
    parser.add_argument("--tiny", action="store_true", help="seconds-long budgets")
    parser.add_argument("--torch", action="store_true", help="PyTorch reference too")
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    parser.add_argument("--out", type=Path, default=RESULTS / "papers.json")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="zoo-papers-"))
    try:
        folders = {}
        if args.ptb:
            folders["ptb"] = args.ptb
        elif args.stand_in:
            folders["ptb"] = str(ptb_stand_in(work / "ptb", tiny=args.tiny))
        if args.shakespeare:
            text = tiny_shakespeare_text(args.shakespeare)
            folders["shakespeare"] = str(nanogpt_split(text, work / "shakespeare"))
        elif args.stand_in:
            folders["shakespeare"] = str(
                shakespeare_stand_in(work / "shakespeare", tiny=args.tiny)
            )
        stand_ins = {
            "ptb": args.stand_in and not args.ptb,
            "shakespeare": args.stand_in and not args.shakespeare,
        }
        results = []
        for key in args.rows:
            row = ROWS[key]
            if row.data not in folders:
                results.append(
                    {
                        "key": key,
                        "paper": row.paper,
                        "setting": row.setting,
                        "metric": row.metric,
                        "published": row.published,
                        "missing": "pass " + NEEDS[row.data],
                    }
                )
                print(f"{key}: not run; pass {NEEDS[row.data]}", flush=True)
                continue
            print(f"{key}: training ...", flush=True)
            result = measure(row, folders[row.data], work / "runs", tiny=args.tiny)
            result["stand_in"] = stand_ins[row.data]
            if key == "nanogpt-cpu" and args.torch:
                result["torch"] = torch_beside(Path(folders[row.data]), tiny=args.tiny)
            results.append(result)
            print(json.dumps(result, ensure_ascii=False), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(table(results))
    meta = {
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "tiny": args.tiny,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # Rows measured now replace their earlier selves; a row not run keeps its
    # earlier measurement, if there is one.
    earlier = json.loads(args.out.read_text())["rows"] if args.out.exists() else []
    by_key = {r["key"]: r for r in earlier if "zoo" in r}
    by_key |= {r["key"]: r for r in results if "zoo" in r or r["key"] not in by_key}
    rows = [by_key[key] for key in ROWS if key in by_key]
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(
        json.dumps({"meta": meta, "rows": rows}, indent=1, ensure_ascii=False) + "\n"
    )
    tmp.replace(args.out)
    print(f"\nwrote {args.out}")
    return results


if __name__ == "__main__":
    main()
