"""Semantic search on the held-out plays: which sentence vectors find the
second half of a passage from its first half?

    python benchmarks/retrieval.py           # a few minutes on a 2-core CPU
    python benchmarks/retrieval.py --tiny    # seconds: the plumbing (the tests)

The task is `zoo.search.retrieval_scores` on the passages of the three test
plays (`zoo.data.labelled.play_passages("test")`, plays no representation
was trained on): each passage is cut at the line break nearest its middle;
its first half is the query, and the second halves of all the test passages
are the documents; the answer is the query's own second half. Recall@k is
the share of queries whose answer is among the k best documents (cosine);
MRR the mean of 1 / the answer's rank.

The representations, each learned from the training plays only, at a budget
of seconds to a few minutes on a laptop CPU:

* TF-IDF (`zoo.search.TfidfEncoder`) fitted on the training passages, and,
  as search engines do, fitted on the documents searched (the test plays'
  second halves: their names and rare words are in its vocabulary);
* the mean of Word2Vec vectors (`Word2VecEncoder`), skip-gram trained here on
  the training passages;
* the pooled encoder of a BERT masked LM (`BertEncoder`) trained here by
  `zoo.recipes.train_masked_lm` on the training text (characters, context
  128, so every half fits), and, as a control, the same encoder untrained
  (random weights, same seed and sizes).

It then measures what one search costs at the size of the corpus that
``zoo search`` searches (every passage of every play, all splits): the
trained encoder embeds them all, and `SearchIndex` answers single queries
and batches of 1,000 (the median of repeated timings).

Writes ``benchmarks/results/retrieval.json`` (``--out`` elsewhere) and prints
a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

# The budgets: full run, and --tiny (seconds, for the tests).
FULL = {
    "test_passages": None,  # None: all of them
    "train_passages": None,
    "word2vec": {"epochs": 3, "embedding_dim": 100, "min_count": 5, "seed": 0},
    "bert_model": {},  # build_bert_mlm's defaults: 2 layers, 4 heads, width 128
    "bert_train": {
        "seq_len": 128,
        "epochs": 4,
        "steps_per_epoch": 400,  # 1,600 steps: about 3 minutes on 2 cores
        "batch_size": 32,
        "valid_chars": 50_000,
        "train_chars": None,
    },
    "single_queries": 200,
    "batch_queries": 1000,
    "repeats": 5,
}
TINY = {
    "test_passages": 120,
    "train_passages": 1500,
    "word2vec": {"epochs": 1, "embedding_dim": 16, "min_count": 2, "seed": 0},
    "bert_model": {"embedding_dim": 16, "num_heads": 2, "num_layers": 1, "ff_dim": 32},
    "bert_train": {
        "seq_len": 128,
        "epochs": 1,
        "steps_per_epoch": 3,
        "batch_size": 4,
        "valid_chars": 3_000,
        "train_chars": 20_000,
        "xla": False,  # compiling takes longer than 3 steps
    },
    "single_queries": 10,
    "batch_queries": 50,
    "repeats": 2,
}
KS = (1, 10)
SEED = 0


def representations(config: dict, train_texts: list[str], documents: list[str]):
    """(name, what it is, a function that fits and returns the encoder)."""
    import keras

    from zoo import search
    from zoo.models.bert import build_bert_mlm
    from zoo.recipes import train_masked_lm
    from zoo.recipes.common import quiet

    trained = {}

    def masked_lm():
        run = train_masked_lm(
            "shakespeare",
            **config["bert_train"],
            **config["bert_model"],
            seed=SEED,
            verbose=0,
            log=quiet,
        )
        trained["run"] = run
        return search.BertEncoder(run.model, run.tokenizer)

    def untrained():
        tokenizer = trained["run"].tokenizer
        keras.utils.set_random_seed(SEED)
        model = build_bert_mlm(
            tokenizer.vocab_size,
            context_length=config["bert_train"]["seq_len"],
            compile=False,
            **config["bert_model"],
        )
        return search.BertEncoder(model, tokenizer)

    return [
        (
            "TF-IDF (fit on the training plays)",
            lambda: search.TfidfEncoder().fit(train_texts),
        ),
        (
            "TF-IDF (fit on the documents searched)",
            lambda: search.TfidfEncoder().fit(documents),
        ),
        (
            "Word2Vec mean (trained on the training plays)",
            lambda: search.Word2VecEncoder(**config["word2vec"]).fit(train_texts),
        ),
        ("BERT masked LM, mean-pooled (trained here)", masked_lm),
        ("BERT encoder, mean-pooled (untrained control)", untrained),
    ], trained


def query_time(encoder, corpus: list[str], queries: list[str], config: dict) -> dict:
    """What a search costs at the corpus's size: embed, index, query."""
    from zoo.search import SearchIndex

    start = time.perf_counter()
    vectors = encoder.encode(corpus)
    embed_seconds = time.perf_counter() - start
    truncated = encoder.truncated
    start = time.perf_counter()
    index = SearchIndex(vectors)
    index_seconds = time.perf_counter() - start
    single = encoder.encode(queries[: config["single_queries"]])
    batch = encoder.encode(queries[: config["batch_queries"]])
    index.search(single[:1], k=10)  # warm-up
    one = []
    for _ in range(config["repeats"]):
        for q in single:
            start = time.perf_counter()
            index.search(q, k=10)
            one.append(time.perf_counter() - start)
    many = []
    for _ in range(config["repeats"]):
        start = time.perf_counter()
        index.search(batch, k=10)
        many.append(time.perf_counter() - start)
    return {
        "documents": len(index),
        "dim": index.dim,
        "index_megabytes": round(index.vectors.nbytes / 2**20, 1),
        "embed_seconds": round(embed_seconds, 2),
        "documents_truncated": int(truncated),
        "index_seconds": round(index_seconds, 4),
        "k": 10,
        "single_query_ms": round(1e3 * statistics.median(one), 3),
        "batch_queries": len(batch),
        "batch_ms": round(1e3 * statistics.median(many), 2),
        "batch_ms_per_query": round(1e3 * statistics.median(many) / len(batch), 4),
    }


def run(config: dict) -> dict:
    from zoo.data.labelled import play_passages
    from zoo.search import half_split, load_documents, retrieval_scores

    test = play_passages("test")[: config["test_passages"]]
    train_texts = [p.text for p in play_passages("train")][: config["train_passages"]]
    documents = [half_split(p.text)[1] for p in test]
    builders, trained = representations(config, train_texts, documents)
    rows = []
    for name, build in builders:
        print(f"{name} ...", flush=True)
        start = time.perf_counter()
        encoder = build()
        fit_seconds = time.perf_counter() - start
        scores = retrieval_scores(encoder, test, ks=KS)
        row = {
            "representation": name,
            "encoder": repr(encoder),
            **{k: round(v, 4) for k, v in scores.items() if k != "seconds"},
            "fit_seconds": round(fit_seconds, 1),
            "encode_and_rank_seconds": round(scores["seconds"], 1),
            "seconds": round(fit_seconds + scores["seconds"], 1),
        }
        if "BERT masked LM" in name:
            summary = trained["run"].summary
            row["val_perplexity"] = round(summary["val_perplexity"], 3)
            row["val_masked_accuracy"] = round(summary["val_masked_accuracy"], 4)
            row["train_seconds"] = round(summary["train_seconds"], 1)
            timing_encoder = encoder
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    corpus = [text for _, text in load_documents("shakespeare")]
    if config["train_passages"] is not None:  # --tiny: a corpus of that size
        corpus = corpus[: config["train_passages"]]
    queries = [half_split(p.text)[0] for p in test]
    print(f"query time over {len(corpus):,} passages ...", flush=True)
    timing = query_time(timing_encoder, corpus, queries, config)
    print(json.dumps(timing), flush=True)
    return {
        "task": {
            "passages": "zoo.data.labelled.play_passages('test')",
            "plays": sorted({p.play for p in test}),
            "queries": len(test),
            "chance_recall@1": round(1 / len(test), 6),
            "ks": list(KS),
        },
        "config": config,
        "rows": rows,
        "query_time": timing,
    }


def markdown(report: dict) -> str:
    """The table of a report: representation, recall@1, recall@10, MRR, seconds."""
    lines = [
        "| representation | recall@1 | recall@10 | MRR | seconds |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in report["rows"]:
        lines.append(
            f"| {r['representation']} | {r['recall@1']:.3f} | {r['recall@10']:.3f} "
            f"| {r['mrr']:.3f} | {r['seconds']:.1f} |"
        )
    t = report["query_time"]
    lines.append("")
    lines.append(
        f"Exact search over {t['documents']:,} vectors of {t['dim']} "
        f"({t['index_megabytes']} MB): {t['single_query_ms']:.2f} ms per query, "
        f"{t['batch_ms']:.0f} ms per batch of {t['batch_queries']:,}; embedding "
        f"the passages took {t['embed_seconds']:.0f} s."
    )
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tiny", action="store_true", help="a seconds-long run of the plumbing"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "retrieval.json")
    args = parser.parse_args(argv)
    import keras
    import numpy as np
    import tensorflow as tf

    load = [round(x, 2) for x in os.getloadavg()]  # other work slows the timings
    start = time.perf_counter()
    report = run(TINY if args.tiny else FULL)
    report["meta"] = {
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "load_average_at_start": load,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "tiny": args.tiny,
        "benchmark_seconds": round(time.perf_counter() - start, 1),
    }
    print()
    print(markdown(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    tmp.replace(args.out)
    print(f"\nwrote {args.out}")
    return report


if __name__ == "__main__":
    main()
