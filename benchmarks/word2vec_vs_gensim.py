"""zoo's Word2Vec against gensim's: the same skip-gram model, compared and timed.

    python -m benchmarks.word2vec_vs_gensim                 # full size (minutes)
    python -m benchmarks.word2vec_vs_gensim --max-tokens 50000 --epochs 1

Both train skip-gram with negative sampling (gensim: ``sg=1``) on the same
sentences: the words of the bundled Shakespeare corpus's training split
(`zoo.representations.word_tokens`: zoo's word tokenizer, lower case, no
punctuation), cut into sentences of 10,000 words (gensim's longest). Both
use the same dimension, window (dynamic in both), negatives, epochs,
``min_count`` and subsampling threshold, so both have the same vocabulary.
They differ in the optimiser: gensim runs word2vec.c's SGD, one pair at a
time; zoo runs Adam on batches in one XLA program per step.

What the two sets of vectors share is measured two ways:

* **neighbour overlap**: for each of the ``top_words`` most frequent words,
  the share of its ``k`` nearest neighbours (by cosine) that the other model
  also lists, averaged over the words;
* **Spearman**: the rank correlation between the two models' cosine
  similarities on a fixed set of ``pairs`` random word pairs drawn from the
  1,000 most frequent words.

Two runs of the same library with different seeds give the ceiling: random
initialisation and sampling alone already change the neighbour lists, so
zoo-vs-gensim is read against gensim-vs-gensim (and zoo-vs-zoo).

Training time is the median over ``repeats`` runs (seeds seed, seed + 1,
...); zoo's includes building each epoch's pairs and its XLA compilation
(a few seconds, once per model). The result goes to
``benchmarks/results/word2vec_vs_gensim.json`` and a table is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from zoo.data.corpora import load_corpus
from zoo.representations.word2vec import WordVectors, train_word2vec, word_tokens

RESULT = Path(__file__).resolve().parent / "results" / "word2vec_vs_gensim.json"
SENTENCE = 10_000  # gensim's longest sentence (MAX_WORDS_IN_BATCH)


def sentences_of(tokens: list[str], length: int = SENTENCE) -> list[list[str]]:
    """`tokens` cut into sentences of `length` words (the last one shorter)."""
    return [tokens[i : i + length] for i in range(0, len(tokens), length)]


def train_gensim(sentences, *, seed: int, workers: int, **config) -> WordVectors:
    """gensim's skip-gram Word2Vec as `WordVectors`, timed."""
    from gensim.models import Word2Vec

    start = time.perf_counter()
    model = Word2Vec(
        sentences,
        sg=1,
        hs=0,
        vector_size=config["embedding_dim"],
        window=config["window"],
        negative=config["negatives"],
        epochs=config["epochs"],
        min_count=config["min_count"],
        sample=config["sample"],
        ns_exponent=0.75,
        seed=seed,
        workers=workers,
    )
    seconds = time.perf_counter() - start
    wv = WordVectors(model.wv.vectors, list(model.wv.index_to_key))
    wv.seconds = seconds
    return wv


def neighbour_overlap(a: WordVectors, b: WordVectors, words, *, k: int) -> float:
    """Mean share of each word's `k` nearest neighbours found in both lists."""
    shared = []
    for word in words:
        mine = {w for w, _ in a.most_similar(word, k)}
        theirs = {w for w, _ in b.most_similar(word, k)}
        shared.append(len(mine & theirs) / k)
    return float(np.mean(shared))


def spearman(a: WordVectors, b: WordVectors, pairs) -> float:
    """Spearman correlation of the two models' cosines on the word pairs."""
    from scipy.stats import spearmanr

    first = [a.similarity(x, y) for x, y in pairs]
    second = [b.similarity(x, y) for x, y in pairs]
    return float(spearmanr(first, second).statistic)


def compare(
    tokens: list[str],
    *,
    embedding_dim: int = 100,
    window: int = 5,
    negatives: int = 5,
    epochs: int = 5,
    min_count: int = 5,
    sample: float = 1e-3,
    repeats: int = 3,
    top_words: int = 200,
    k: int = 10,
    pairs: int = 2000,
    seed: int = 0,
    workers: int | None = None,
) -> dict:
    """Train both libraries `repeats` times on `tokens`; measure and time them.

    Returns:
        A dict with the configuration, the corpus's size, each library's
        median training seconds (and every run's), and for each comparison
        ("zoo vs gensim", "gensim vs gensim", "zoo vs zoo": the first two
        runs of each, with seeds `seed` and ``seed + 1``) the neighbour
        overlap and the Spearman correlation.
    """
    if repeats < 2:
        raise ValueError("repeats must be >= 2: two seeds give the ceiling")
    workers = workers or os.cpu_count() or 1
    config = {
        "embedding_dim": embedding_dim,
        "window": window,
        "negatives": negatives,
        "epochs": epochs,
        "min_count": min_count,
        "sample": sample,
    }
    sentences = sentences_of(tokens)
    runs = {"zoo": [], "gensim": []}
    for r in range(repeats):
        runs["gensim"].append(
            train_gensim(sentences, seed=seed + r, workers=workers, **config)
        )
        runs["zoo"].append(train_word2vec(sentences, seed=seed + r, **config))
    zoo, gensim = runs["zoo"][0], runs["gensim"][0]
    if set(zoo.vocab) != set(gensim.vocab):
        raise RuntimeError("zoo and gensim built different vocabularies")
    frequent = zoo.vocab[:top_words]  # zoo's order: by falling count
    rng = np.random.default_rng(seed)
    pool = zoo.vocab[:1000]
    chosen = rng.choice(len(pool), size=(pairs, 2))
    word_pairs = [(pool[i], pool[j]) for i, j in chosen if i != j]
    comparisons = {
        "zoo vs gensim": (zoo, gensim),
        "gensim vs gensim (seed + 1)": (gensim, runs["gensim"][1]),
        "zoo vs zoo (seed + 1)": (zoo, runs["zoo"][1]),
    }
    return {
        "config": {
            **config,
            "dynamic_window": True,
            "repeats": repeats,
            "top_words": len(frequent),
            "k": k,
            "pairs": len(word_pairs),
            "seed": seed,
            "gensim_workers": workers,
        },
        "corpus": {
            "tokens": len(tokens),
            "sentences": len(sentences),
            "vocabulary": len(zoo.vocab),
        },
        "seconds": {
            name: {
                "median": statistics.median(wv.seconds for wv in wvs),
                "runs": [wv.seconds for wv in wvs],
            }
            for name, wvs in runs.items()
        },
        "zoo_final_loss": zoo.history[-1],
        "similarity": {
            name: {
                "neighbour_overlap": neighbour_overlap(a, b, frequent, k=k),
                "spearman": spearman(a, b, word_pairs),
            }
            for name, (a, b) in comparisons.items()
        },
    }


def table(result: dict) -> str:
    """The result as a printable table."""
    c = result["config"]
    lines = [
        f"{result['corpus']['tokens']:,} words, vocabulary "
        f"{result['corpus']['vocabulary']:,}; dim {c['embedding_dim']}, window "
        f"{c['window']}, {c['negatives']} negatives, {c['epochs']} epochs",
        "",
        f"{'training time (median of ' + str(c['repeats']) + ')':<34}{'seconds':>10}",
    ]
    for name, s in result["seconds"].items():
        lines.append(f"{name:<34}{s['median']:>10.1f}")
    lines += [
        "",
        f"{'':<34}{'top-' + str(c['k']) + ' overlap':>14}{'Spearman':>10}",
    ]
    for name, m in result["similarity"].items():
        lines.append(f"{name:<34}{m['neighbour_overlap']:>14.3f}{m['spearman']:>10.3f}")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    import gensim
    import keras
    import tensorflow as tf

    load_before = os.getloadavg()  # a shared machine's timings are slower
    tokens = word_tokens(load_corpus("shakespeare").train)[: args.max_tokens]
    result = compare(tokens, epochs=args.epochs, repeats=args.repeats)
    result["versions"] = {
        "gensim": gensim.__version__,
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "python": platform.python_version(),
    }
    result["machine"] = {
        "cpus": os.cpu_count(),
        "processor": platform.machine(),
        "load_average_before_and_after": [load_before[0], os.getloadavg()[0]],
    }
    print(table(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_suffix(".json.tmp")
    partial.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    partial.replace(args.out)  # atomic: no half-written result
    return result


if __name__ == "__main__":
    main()
