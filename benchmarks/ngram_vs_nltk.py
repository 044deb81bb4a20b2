"""zoo's n-gram model against nltk.lm: the same Kneser-Ney model, timed.

    python -m benchmarks.ngram_vs_nltk                     # full size (minutes)
    python -m benchmarks.ngram_vs_nltk --max-tokens 20000 --eval-tokens 300

Both libraries fit an order-5 interpolated Kneser-Ney model (discount 0.75)
on the training split of the bundled Shakespeare corpus and score the start
of its validation split. The models are the same model given the same
n-grams, set up as in ``tests/test_ngram.py``'s nltk parity test:

* **Character level.** One token per character (`zoo.text.CharTokenizer`,
  83 characters): every validation character was seen in training, so
  neither model gives a token probability 0, and nltk's scoring (whose cost
  grows with the number of distinct contexts) stays affordable. At word level
  unseen words make nltk's perplexity infinite.
* **One line, one sentence.** Each line, its ``"\\n"`` included as a real
  token (it ends the line, as EOS ends a sentence), is padded at its start
  with ``order - 1`` BOS (``<s>`` for nltk).
* **The same n-grams.** nltk's ``padded_everygram_pipeline`` would also
  count n-grams of padding alone and pad the end; instead nltk gets what
  zoo counts: every suffix of every left-padded n-gram, i.e. the n-grams of
  every order that end at a real token.
* **The same lowest order.** zoo runs with ``uniform_floor=False``, nltk's
  unsmoothed continuation unigram.

The two perplexities then agree to rounding (about 1e-12 relative).

nltk's Kneser-Ney scans a whole table of contexts for each continuation
count, so scoring one character takes milliseconds and the whole validation
split (371,076 characters) would take hours. Both models therefore score the
same prefix of it, ``eval_tokens`` characters (recorded as ``tokens_eval``);
zoo's score of the whole split is reported as well.

`run` returns (and ``main`` prints, as JSON) the fit and evaluation seconds
and the perplexity of each library, and the speed-up of zoo over nltk (fit
plus evaluation).
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

from zoo.data.corpora import load_corpus
from zoo.models.ngram import NGramLM
from zoo.text import SPECIAL_TOKENS, CharTokenizer

BOS = "<s>"  # nltk's padding symbol; zoo pads with BOS_ID


def _lines(text: str) -> list[str]:
    """The lines of `text`, each with its "\\n" (a last partial line without)."""
    parts = text.split("\n")
    lines = [line + "\n" for line in parts[:-1]]
    return lines + [parts[-1]] if parts[-1] else lines


def _ids(tokenizer: CharTokenizer, lines: list[str]) -> list[np.ndarray]:
    """Each line's ids, encoded in one call."""
    ids = tokenizer.encode("".join(lines))
    return np.split(ids, np.cumsum([len(line) for line in lines])[:-1])


def _padded_ngrams(lines, order: int, *, suffixes: bool):
    """Per line, its left-padded n-grams (and all their suffixes), lazily."""
    from nltk.util import ngrams

    for line in lines:
        grams = ngrams([BOS] * (order - 1) + list(line), order)
        if suffixes:
            yield (gram[i:] for gram in grams for i in range(order))
        else:
            yield grams


def _relative_difference(ours: float, theirs: float) -> float:
    """|ours - theirs| / theirs; 0 when equal (both inf included)."""
    if ours == theirs:
        return 0.0
    return abs(ours - theirs) / theirs if math.isfinite(theirs) else math.inf


def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def run(
    order: int = 5,
    *,
    split: str = "valid",
    max_tokens: int | None = None,
    eval_tokens: int = 2000,
    discount: float = 0.75,
    whole_split: bool = True,
) -> dict:
    """Fit and score the same Kneser-Ney model with zoo and with nltk.

    Character level on the bundled Shakespeare corpus (see the module
    docstring for why, and for how nltk is set up to match zoo).

    Args:
        order: n of the n-gram models.
        split: the split scored, "valid" or "test".
        max_tokens: fit on only the first this many characters of the
            training split (None: all 4,023,891), for a quick run.
        eval_tokens: N, both models score the first N characters of `split`.
        discount: Kneser-Ney's absolute discount D.
        whole_split: also score the whole split with zoo (fast).

    Returns:
        {"zoo": {"fit_s", "eval_s", "perplexity"}, "nltk": {...}, "speedup"
        (nltk's fit + eval time over zoo's), "speedup_fit", "speedup_eval",
        "relative_difference" (of the perplexities), "tokens_eval" (N),
        "tokens_train", "order", "level": "char", "split"}, and
        "zoo_whole_split": {"eval_s", "perplexity", "tokens"} if asked.

    Example:
        >>> result = run(max_tokens=20_000, eval_tokens=300, whole_split=False)
        >>> result["relative_difference"] < 1e-9
        True
    """
    from nltk.lm import KneserNeyInterpolated

    corpus = load_corpus("shakespeare")
    tokenizer = CharTokenizer.fit(corpus.train)
    train = _lines(corpus.train[:max_tokens])
    held_out = _lines(corpus.splits[split][:eval_tokens])
    train_ids, held_out_ids = _ids(tokenizer, train), _ids(tokenizer, held_out)
    characters = tokenizer.vocabulary[len(SPECIAL_TOKENS) :]

    ours = NGramLM(
        order, smoothing="kneser_ney_single", discount=discount, uniform_floor=False
    )
    _, zoo_fit = _timed(lambda: ours.fit(train_ids, vocab_size=tokenizer.vocab_size))
    zoo_ppl, zoo_eval = _timed(lambda: ours.perplexity(held_out_ids))

    theirs = KneserNeyInterpolated(order, discount=discount)
    _, nltk_fit = _timed(
        lambda: theirs.fit(
            _padded_ngrams(train, order, suffixes=True),
            vocabulary_text=[BOS, *characters],
        )
    )
    nltk_ppl, nltk_eval = _timed(
        lambda: theirs.perplexity(
            gram
            for grams in _padded_ngrams(held_out, order, suffixes=False)
            for gram in grams
        )
    )

    result = {
        "zoo": {"fit_s": zoo_fit, "eval_s": zoo_eval, "perplexity": zoo_ppl},
        "nltk": {"fit_s": nltk_fit, "eval_s": nltk_eval, "perplexity": nltk_ppl},
        "speedup": (nltk_fit + nltk_eval) / (zoo_fit + zoo_eval),
        "speedup_fit": nltk_fit / zoo_fit,
        "speedup_eval": nltk_eval / zoo_eval,
        "relative_difference": _relative_difference(zoo_ppl, nltk_ppl),
        "tokens_eval": sum(len(line) for line in held_out),
        "tokens_train": sum(len(line) for line in train),
        "order": order,
        "level": "char",
        "split": split,
    }
    if whole_split:
        whole = _ids(tokenizer, _lines(corpus.splits[split]))
        ppl, seconds = _timed(lambda: ours.perplexity(whole))
        result["zoo_whole_split"] = {
            "eval_s": seconds,
            "perplexity": ppl,
            "tokens": int(sum(row.size for row in whole)),
        }
    return result


def main(argv: list[str] | None = None) -> dict:
    """Command line: run once and print the result as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--order", type=int, default=5)
    parser.add_argument("--split", choices=("valid", "test"), default="valid")
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument("--eval-tokens", type=int, default=2000)
    args = parser.parse_args(argv)
    result = run(
        args.order,
        split=args.split,
        max_tokens=args.max_tokens,
        eval_tokens=args.eval_tokens,
    )
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
