"""Does pretraining help? BERT fine-tuned from scratch and from zoo's own
masked LM, beside a classic baseline, on held-out test splits.

    python benchmarks/fine_tuning.py            # about 15-20 minutes on 2 cores
    python benchmarks/fine_tuning.py --tiny     # seconds: the plumbing, for tests
    python benchmarks/fine_tuning.py --table    # print the table, measure nothing
    python benchmarks/fine_tuning.py --tasks names  # re-measure one task, keep the rest

The source texts claim that a pretrained BERT beats earlier methods at named
entities and sentiment (document 001, section 5) and list 文本分类 among what
language models are for (document 003, section 6). Three tasks of
`zoo.data.labelled`, each scored on its TEST split (whole plays or whole
poets never seen in training):

* **genre** (passages of the plays: comedy, history or tragedy) and
  **tang-forms** (Tang poems by form): accuracy and macro-F1 of
  (a) TF-IDF + logistic regression (scikit-learn; word 1-2-grams for the
  plays, character 1-2-grams for the poems; C chosen on the validation
  split), (b) the BERT classifier from scratch
  (`zoo.recipes.train_classifier`), (c) the same encoder first pretrained as a
  masked LM (`zoo.recipes.train_masked_lm`) on the training text of the
  task's corpus ("shakespeare" for genre, "tang" for tang-forms), then
  fine-tuned with the same budget as (b).
* **names** (the plays' character names, BIO-tagged per character):
  entity-level F1, precision and recall (`zoo.evaluation.entity_scores`) of
  a rule ("a capitalised word that neither starts a line nor follows . ! or
  ?"), (b) the BERT tagger from scratch and (c) from the Shakespeare masked
  LM that genre uses too.

One masked LM per corpus serves all its tasks. The budgets (`BUDGETS`) are
recorded in the JSON with every score, the seconds each model took, the
machine's CPU count and the date. Writes
``benchmarks/results/fine_tuning.json``, a confusion-matrix plot of each
genre model (``fine_tuning_genre_confusion.png`` beside the JSON) and prints
the Markdown table of `markdown` (the README's).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CONFUSION_PLOT = "fine_tuning_genre_confusion.png"

# What each task's masked LM is pretrained on (zoo.data.load_corpus names).
PRETRAIN_CORPUS = {"genre": "shakespeare", "tang-forms": "tang", "names": "shakespeare"}
CLASSIFICATION = ("genre", "tang-forms")
TAGGING = ("names",)
# The TF-IDF features of each classification task, and the regularisation
# strengths tried (the best on the validation split is kept).
TFIDF = {
    "genre": {"analyzer": "word", "ngram_range": (1, 2), "min_df": 2,
              "sublinear_tf": True},
    "tang-forms": {"analyzer": "char", "ngram_range": (1, 2), "min_df": 1,
                   "sublinear_tf": False},
}  # fmt: skip
TFIDF_C = (0.3, 1.0, 3.0, 10.0, 30.0)

# The budgets. Full: about 15-20 minutes on a 2-core CPU. Tiny: a few
# seconds a model, on slices of the data, for the tests.
BUDGETS = {
    "full": {
        "pretrain": {"epochs": 3, "steps_per_epoch": 500, "seq_len": 128,
                     "batch_size": 32},
        "fine_tune": {"epochs": 3, "steps_per_epoch": 300, "seq_len": 128,
                      "batch_size": 32},
        "sizes": {},  # the factories' defaults: 2 layers, width 128, 4 heads
        "xla": True,
        "examples": None,  # every example of every split
        "pretrain_chars": None,  # all of the training text
    },
    "tiny": {
        "pretrain": {"epochs": 1, "steps_per_epoch": 4, "seq_len": 32,
                     "batch_size": 8},
        "fine_tune": {"epochs": 1, "steps_per_epoch": 4, "seq_len": 32,
                      "batch_size": 8},
        "sizes": {"embedding_dim": 16, "num_heads": 2, "num_layers": 1,
                  "ff_dim": 32},
        "xla": False,  # compiling would take longer than training
        "examples": 48,  # per split, spread over the split
        "pretrain_chars": 20_000,
    },
}  # fmt: skip

MODEL_NAMES = {
    "tfidf": "TF-IDF + logistic regression",
    "rule": "rule: capitalised, not after . ! ? or a line start",
    "scratch": "BERT from scratch",
    "pretrained": "BERT pretrained (masked LM), fine-tuned",
}


# ------------------------------------------------------------ data


def spread(rows: list, count: int | None) -> list:
    """`count` rows spread evenly over `rows` (all of them for None): a slice
    that still holds every play or poet of the split, not just the first."""
    if count is None or len(rows) <= count:
        return list(rows)
    return [rows[i] for i in np.linspace(0, len(rows) - 1, count).astype(int)]


def task_data(task: str, examples: int | None):
    """The task's corpus (`zoo.data.labelled`), each split cut to `examples`."""
    from dataclasses import replace

    from zoo.data.labelled import load_labelled, load_tagged

    corpus = load_tagged(task) if task in TAGGING else load_labelled(task)
    return replace(
        corpus, **{s: spread(rows, examples) for s, rows in corpus.splits.items()}
    )


# ------------------------------------------------------------ baselines


def tfidf_baseline(corpus, task: str) -> dict:
    """TF-IDF + logistic regression: C chosen on valid, scored on test."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from zoo.evaluation import confusion_matrix, macro_f1

    start = time.perf_counter()
    index = {label: i for i, label in enumerate(corpus.labels)}
    texts = {s: [t for t, _ in rows] for s, rows in corpus.splits.items()}
    labels = {
        s: np.array([index[y] for _, y in rows]) for s, rows in corpus.splits.items()
    }
    vectorizer = TfidfVectorizer(**TFIDF[task])
    x = {"train": vectorizer.fit_transform(texts["train"])}
    x.update({s: vectorizer.transform(texts[s]) for s in ("valid", "test")})
    best = None
    for c in TFIDF_C:
        model = LogisticRegression(C=c, max_iter=2000).fit(x["train"], labels["train"])
        matrix = confusion_matrix(
            labels["valid"], model.predict(x["valid"]), len(index)
        )
        score = macro_f1(matrix)
        if best is None or score > best[0]:
            best = (score, c, model)
    _, c, model = best
    predicted = model.predict(x["test"])
    matrix = confusion_matrix(labels["test"], predicted, len(index))
    return {
        "model": "tfidf",
        "accuracy": float(np.mean(predicted == labels["test"])),
        "macro_f1": macro_f1(matrix),
        "confusion": matrix.tolist(),
        "features": {**TFIDF[task], "ngram_range": list(TFIDF[task]["ngram_range"])},
        "features_count": len(vectorizer.vocabulary_),
        "C": c,
        "seconds": round(time.perf_counter() - start, 1),
    }


# A capitalised word (two letters or more: "I", "O" and "A" are not names).
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+\b")


def rule_spans(text: str) -> list[tuple[int, int]]:
    """The rule baseline's names: (start, end) of each capitalised word that
    does not start a line or follow . ! or ? (spaces and quotes between
    skipped), adjacent ones joined by one space (as
    `zoo.data.labelled.name_spans` joins "Don Pedro").

    Example:
        >>> rule_spans("Come, Romeo. Good Friar Laurence, speak.")
        [(6, 11), (18, 32)]
    """
    spans: list[list[int]] = []
    for match in _CAPITALISED.finditer(text):
        start = match.start()
        before = text[:start].rstrip(" \t'\"")
        if not before or before.endswith(("\n", ".", "!", "?")):
            continue  # a sentence's or a line's first word
        if spans and text[spans[-1][1] : start] == " ":
            spans[-1][1] = match.end()
        else:
            spans.append([start, match.end()])
    return [tuple(s) for s in spans]


def rule_baseline(corpus) -> dict:
    """The rule's entity scores on the test split."""
    from zoo.data.labelled import bio_tags
    from zoo.evaluation import entity_scores

    start = time.perf_counter()
    truth = [list(tags) for _, tags in corpus.test]
    guess = [bio_tags(text, rule_spans(text)) for text, _ in corpus.test]
    return {
        "model": "rule",
        **entity_scores(truth, guess),
        "seconds": round(time.perf_counter() - start, 1),
    }


# ------------------------------------------------------------ BERT


def pretrain(corpus: str, budget: dict, out_dir: Path, log=print) -> dict:
    """A masked LM on `corpus`'s training text; its file and facts."""
    from zoo.recipes import train_masked_lm
    from zoo.recipes.common import quiet

    start = time.perf_counter()
    chars = budget["pretrain_chars"]
    run = train_masked_lm(
        corpus,
        **budget["pretrain"],
        **budget["sizes"],
        train_chars=chars,
        valid_chars=None if chars is None else chars // 4,
        xla=budget["xla"],
        out_dir=out_dir,
        fresh=True,
        verbose=0,
        log=quiet,
    )
    p = budget["pretrain"]
    row = {
        "corpus": corpus,
        "path": str(run.path),
        "steps": p["epochs"] * p["steps_per_epoch"],
        "parameters": run.summary["parameters"],
        "val_masked_accuracy": round(float(run.summary["val_masked_accuracy"]), 4),
        "val_perplexity": round(float(run.summary["val_perplexity"]), 3),
        "seconds": round(time.perf_counter() - start, 1),
        "command": (
            f"zoo train bert --data {corpus} --seq-len {p['seq_len']} "
            f"--epochs {p['epochs']} --steps-per-epoch {p['steps_per_epoch']}"
        ),
    }
    log(f"pretrained {corpus}: {json.dumps({k: row[k] for k in row if k != 'path'})}")
    return row


def fine_tune(task: str, corpus, budget: dict, pretrained: str | None) -> dict:
    """Train the classifier or tagger; its test scores."""
    from zoo.recipes.common import quiet
    from zoo.recipes.fine_tuning import (
        encode_labelled,
        score_classifier,
        score_tagger,
        train_classifier,
        train_tagger,
    )

    tagging = task in TAGGING
    start = time.perf_counter()
    sizes = {} if pretrained else budget["sizes"]  # a pretrained model fixes them
    trainer = train_tagger if tagging else train_classifier
    run = trainer(
        corpus,
        pretrained=pretrained,
        **budget["fine_tune"],
        **sizes,
        xla=budget["xla"],
        verbose=0,
        log=quiet,
    )
    seconds = time.perf_counter() - start
    seq_len = budget["fine_tune"]["seq_len"]
    if tagging:
        scores = score_tagger(
            run.model, run.tokenizer, corpus.test, tags=corpus.tags, seq_len=seq_len
        )
    else:
        x, y = encode_labelled(corpus, run.tokenizer, seq_len=seq_len)
        scores = score_classifier(run.model, x["test"], y["test"], len(corpus.labels))
    f = budget["fine_tune"]
    command = (
        f"zoo train {'tagger' if tagging else 'classifier'} --data {task} "
        f"--epochs {f['epochs']} --steps-per-epoch {f['steps_per_epoch']}"
    )
    return {
        "model": "pretrained" if pretrained else "scratch",
        **{k: v for k, v in scores.items() if k != "examples"},
        "parameters": run.summary["parameters"],
        "steps": f["epochs"] * f["steps_per_epoch"],
        "history": {
            k: [round(float(v), 4) for v in run.history[k]]
            for k in ("loss", "val_loss")
            if k in run.history
        },
        "seconds": round(seconds, 1),
        "command": command + (" --pretrained MLM_FILE" if pretrained else ""),
    }


# ------------------------------------------------------------ plots


def save_confusion_plots(task_report: dict, path: Path) -> Path:
    """One panel per model of a classification task, saved as a PNG."""
    from matplotlib.figure import Figure

    from zoo.plotting import plot_confusion

    rows = task_report["rows"]
    fig = Figure(figsize=(4.2 * len(rows), 4.6), layout="constrained")
    for ax, row in zip(np.atleast_1d(fig.subplots(1, len(rows))), rows, strict=True):
        title = (
            f"{MODEL_NAMES[row['model']].split(',')[0]}\naccuracy {row['accuracy']:.3f}"
        )
        plot_confusion(row["confusion"], task_report["labels"], ax=ax, title=title)
    fig.suptitle(
        f"{task_report['task']}: test split, {task_report['examples']:,} examples"
    )
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    os.replace(tmp, path)
    return path


# ------------------------------------------------------------ the run


def run(tiny: bool = False, log=print, tasks=None) -> dict:
    """Measure `tasks` (all of them by default) and the masked LMs they need."""
    import keras

    tasks = tasks or (*CLASSIFICATION, *TAGGING)
    budget = BUDGETS["tiny" if tiny else "full"]
    report = {"budget": "tiny" if tiny else "full", "budgets": budget}
    report["pretraining"], report["tasks"] = {}, {}
    with tempfile.TemporaryDirectory(prefix="zoo-fine-tuning-") as work:
        for corpus in sorted({PRETRAIN_CORPUS[task] for task in tasks}):
            log(f"pretraining a masked LM on {corpus} ...")
            report["pretraining"][corpus] = pretrain(
                corpus, budget, Path(work) / corpus, log=log
            )
        for task in tasks:
            corpus = task_data(task, budget["examples"])
            mlm = report["pretraining"][PRETRAIN_CORPUS[task]]["path"]
            tagging = task in TAGGING
            rows = [rule_baseline(corpus) if tagging else tfidf_baseline(corpus, task)]
            log(f"{task}: {json.dumps(rows[-1])[:300]}")
            for pretrained in (None, mlm):
                keras.backend.clear_session()
                log(
                    f"{task}: BERT {'pretrained' if pretrained else 'from scratch'} ..."
                )
                rows.append(fine_tune(task, corpus, budget, pretrained))
                shown = {k: v for k, v in rows[-1].items() if k != "confusion"}
                log(f"{task}: {json.dumps(shown)[:300]}")
            report["tasks"][task] = {
                "task": task,
                "kind": "tagging" if tagging else "classification",
                "pretrained_on": PRETRAIN_CORPUS[task],
                "labels": list(corpus.tags[1:] if tagging else corpus.labels),
                "examples": len(corpus.test),
                "train_examples": len(corpus.train),
                "rows": rows,
            }
    for corpus in report["pretraining"].values():
        corpus.pop("path")  # a temporary file, gone
    return report


def _bold(value: float, best: float) -> str:
    return f"**{value:.3f}**" if value == best else f"{value:.3f}"


def markdown(report: dict) -> str:
    """The README's table of a report: every task's models, test scores."""
    pre = report["pretraining"]
    lines = [
        "| task (test examples) | model | accuracy | macro-F1 | entity F1 "
        "| entity precision / recall | training time |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for task in report["tasks"].values():
        rows = task["rows"]
        tagging = task["kind"] == "tagging"
        best = max(r["f1" if tagging else "macro_f1"] for r in rows)
        for r in rows:
            name = MODEL_NAMES[r["model"]]
            if r["model"] == "pretrained":
                p = pre[task["pretrained_on"]]
                name = (
                    f"BERT pretrained on {p['corpus']} (masked LM, {p['steps']:,} "
                    f"steps), fine-tuned"
                )
            elif r["model"] == "tfidf":
                name += f" (C = {r['C']:g})"
            seconds = f"{r['seconds']:.0f} s"
            if r["model"] == "pretrained":
                seconds += (
                    f" (+ {pre[task['pretrained_on']]['seconds']:.0f} s pretraining)"
                )
            if tagging:
                scores = (
                    f" | | | {_bold(r['f1'], best)} | "
                    f"{r['precision']:.3f} / {r['recall']:.3f}"
                )
            else:
                scores = f" | {r['accuracy']:.3f} | {_bold(r['macro_f1'], best)} | |"
            where = f"{task['task']} ({task['examples']:,})"
            lines.append(f"| {where} | {name}{scores} | {seconds} |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tiny", action="store_true", help="a seconds-long run of the plumbing"
    )
    parser.add_argument(
        "--table", action="store_true", help="print the table of --out, measure nothing"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "fine_tuning.json")
    parser.add_argument(
        "--tasks",
        nargs="+",
        choices=(*CLASSIFICATION, *TAGGING),
        help="re-measure only these tasks (and their masked LMs), keeping the "
        "other rows of --out",
    )
    args = parser.parse_args(argv)
    if args.tasks and not args.out.exists():
        raise SystemExit(f"--tasks keeps the rows of {args.out}, which is missing")
    if args.table:
        report = json.loads(args.out.read_text())
        print(markdown(report))
        return report
    os.environ.setdefault("MPLBACKEND", "Agg")
    start = time.perf_counter()
    report = run(tiny=args.tiny, tasks=args.tasks)
    import keras
    import sklearn
    import tensorflow as tf

    report["meta"] = {
        "date": datetime.date.today().isoformat(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "scikit_learn": sklearn.__version__,
        "tiny": args.tiny,
        "benchmark_seconds": round(time.perf_counter() - start, 1),
    }
    if args.tasks:
        old = json.loads(args.out.read_text())
        if old["budget"] != report["budget"]:
            raise SystemExit(f"{args.out} is a {old['budget']} run, this one is not")
        measured = {t: report["meta"]["date"] for t in args.tasks}
        meta = {**old["meta"], "remeasured": {**old["meta"].get("remeasured", {})}}
        meta["remeasured"].update(measured)
        for key in ("pretraining", "tasks"):
            report[key] = {**old[key], **report[key]}
        report["meta"] = meta
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plot = save_confusion_plots(
        report["tasks"]["genre"], args.out.parent / CONFUSION_PLOT
    )
    print()
    print(markdown(report))
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    tmp.replace(args.out)
    print(f"\nwrote {args.out} and {plot}")
    return report


if __name__ == "__main__":
    main()
