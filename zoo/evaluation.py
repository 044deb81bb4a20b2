"""Sequence-level scores for translation: exact match and BLEU.

A model's loss and token accuracy (in `zoo.training`) judge one token at a
time, with the right previous tokens given (teacher forcing). These scores
judge whole generated sequences, the way a reader would:

* `exact_match`: the share of outputs equal to their reference, character for
  character. The honest score for tasks with one right answer, such as a
  date in ISO form or a number in digits.
* `corpus_bleu`: BLEU (Papineni et al., 2002) as computed by sacreBLEU (Post,
  2018), so the number can be compared with published ones. BLEU counts
  matching n-grams of up to four *words*; Chinese has no spaces, so Chinese
  references are split into characters (sacreBLEU's "zh" tokenizer).

Both take text, not ids: decode the generated ids first (``tokenizer.decode``).

`bits_per_character` puts language models with different tokens (characters,
words, subwords) on one scale.

For the downstream tasks (`zoo.recipes.classification`):

* `confusion_matrix`, `macro_f1`: a classifier's labels against the right
  ones; macro-F1 is the mean of the per-label F1 scores, so a rare label
  counts as much as a common one (accuracy alone rewards always answering
  the commonest label).
* `bio_entities`, `entity_scores`: a tagger's entities, scored as CoNLL-2003
  scores named entities (and as ``seqeval`` does, which the tests compare
  with): an entity is right only if its type and both its ends are.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence

from zoo.errors import ZooError, ZooWarning

# CJK ideographs (with extension A and the compatibility block): text with any
# of these is scored with sacreBLEU's "zh" tokenizer.
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def exact_match(predictions: Sequence[str], references: Sequence[str]) -> float:
    """The share of predictions that equal their reference exactly.

    Args:
        predictions: generated texts, one per example.
        references: the right texts, in the same order.

    Returns:
        A fraction between 0 and 1 (not a percentage, unlike BLEU).

    Example:
        >>> exact_match(["1998-03-03", "2001-12-2"], ["1998-03-03", "2001-12-22"])
        0.5
    """
    _check_texts(predictions, "predictions")
    _check_texts(references, "references")
    _check_lengths(predictions, references)
    hits = sum(p == r for p, r in zip(predictions, references, strict=True))
    return hits / len(predictions)


def corpus_bleu(
    predictions: Sequence[str],
    references: Sequence[str] | Sequence[Sequence[str]],
    *,
    tokenize: str | None = None,
) -> float:
    """Corpus BLEU, from 0 to 100, computed by sacreBLEU.

    BLEU is a corpus score: the n-gram matches of all sentences are added up
    before the precision is taken, so it is not the mean of sentence scores.

    For character-level tasks (ISO dates, digit strings) the "words" of the
    default tokenizers are coarse: "342007" is one word, so one wrong digit
    makes the whole answer wrong, and when every output is one word there are
    no 2-, 3- or 4-grams at all and BLEU is 0 even for perfect output (zoo
    warns). Pass ``tokenize="char"`` to count character n-grams instead, or
    report `exact_match`.

    Args:
        predictions: generated texts, one per example.
        references: the right texts in the same order: one string per
            example, or a list of strings per example when there are several
            right translations (their number may vary).
        tokenize: a sacreBLEU tokenizer. By default "zh" when any reference
            contains Chinese characters and "13a" (sacreBLEU's standard)
            otherwise. "char" splits every text into characters; "none"
            keeps your own whitespace tokens.

    Returns:
        The BLEU score, 100 for a perfect match.

    Example:
        >>> refs = ["the cat sat on the mat", "a dog barked at the moon"]
        >>> round(corpus_bleu(refs, refs), 1)
        100.0
        >>> # By characters, 4/6 unigrams, 3/5 bigrams, 2/4 trigrams and 1/3
        >>> # 4-grams match: 100 * (4/6 * 3/5 * 2/4 * 1/3) ** (1/4) = 50.8
        >>> round(corpus_bleu(["今天天气很好"], ["今天天气不错"]), 1)
        50.8

    Reference:
        Papineni, Roukos, Ward and Zhu (2002). BLEU: a method for automatic
        evaluation of machine translation. ACL. Post (2018). A call for clarity
        in reporting BLEU scores. WMT.
    """
    try:
        from sacrebleu.metrics import BLEU
    except ImportError as err:
        raise ZooError("corpus_bleu needs sacreBLEU: pip install sacrebleu") from err
    _check_texts(predictions, "predictions")
    _check_lengths(predictions, references)
    # sacreBLEU wants reference *streams*: stream k holds every example's k-th
    # reference, None where an example has fewer.
    per_example = [[r] if isinstance(r, str) else list(r) for r in references]
    for i, refs in enumerate(per_example):
        if not refs or not all(isinstance(r, str) for r in refs):
            raise ZooError(
                f"references[{i}] must be a string or a non-empty list of strings, "
                f"got {references[i]!r}"
            )
    n_streams = max(len(refs) for refs in per_example)
    streams = [
        [refs[k] if k < len(refs) else None for refs in per_example]
        for k in range(n_streams)
    ]
    if tokenize is None:
        chinese = any(_CJK.search(r) for refs in per_example for r in refs)
        tokenize = "zh" if chinese else "13a"
    if tokenize not in BLEU.TOKENIZERS:
        raise ZooError(
            f"tokenize must be one of {sorted(BLEU.TOKENIZERS)}, got {tokenize!r}"
        )
    result = BLEU(tokenize=tokenize).corpus_score(list(predictions), streams)
    short = [n for n, total in enumerate(result.totals, 1) if total == 0]
    if short:
        advice = (
            "score short outputs with exact_match()"
            if tokenize == "char"
            else 'score short outputs with tokenize="char" or exact_match()'
        )
        warnings.warn(
            f"no prediction has {short[0]} or more tokens (tokenize={tokenize!r}), "
            f"so there are no {short[0]}-grams and BLEU is 0 whatever the quality; "
            f"{advice}",
            ZooWarning,
            stacklevel=2,
        )
    return float(result.score)


def bits_per_character(total_nats: float, characters: int) -> float:
    """A text's cross-entropy in bits, per character of the text.

    Perplexity is per token, so a word or subword model's cannot be set
    beside a character model's: a token is several characters. Dividing the
    whole text's cross-entropy by its number of characters (not tokens) can:
    for a character model it is log2(perplexity).

    Args:
        total_nats: the negative log-likelihood of the text, summed over its
            tokens, in nats (natural log).
        characters: the text's length in characters (``len(text)``).

    Returns:
        Bits per character, ``total_nats / ln 2 / characters``.

    Example:
        >>> bits_per_character(100 * math.log(4.0), 100)  # perplexity 4, 1 char a token
        2.0
    """
    if not isinstance(characters, int) or characters < 1:
        raise ZooError(f"characters must be a positive integer, got {characters!r}")
    if not total_nats >= 0:
        raise ZooError(f"total_nats must be >= 0, got {total_nats!r}")
    return total_nats / math.log(2) / characters


def confusion_matrix(true_ids, predicted_ids, num_labels: int):
    """(K, K) counts: row i, column j = examples of label i predicted as j.

    Example:
        >>> confusion_matrix([0, 1, 1], [0, 1, 0], 2).tolist()
        [[1, 0], [1, 1]]
    """
    import numpy as np

    true_ids, predicted_ids = np.asarray(true_ids), np.asarray(predicted_ids)
    if true_ids.shape != predicted_ids.shape:
        raise ZooError(
            f"{true_ids.shape[0]} labels but {predicted_ids.shape[0]} predictions"
        )
    matrix = np.zeros((num_labels, num_labels), dtype=np.int64)
    np.add.at(matrix, (true_ids, predicted_ids), 1)
    return matrix


def macro_f1(matrix) -> float:
    """The mean over labels of F1 = 2 PR / (P + R), from a confusion matrix.

    A label never predicted and never present is left out of the mean; one
    predicted or present but never right scores 0 (scikit-learn's
    ``f1_score(average="macro")`` on the labels that occur).

    Example:
        >>> round(macro_f1([[1, 0], [1, 1]]), 4)  # F1 2/3 and 2/3
        0.6667
    """
    import numpy as np

    matrix = np.asarray(matrix, dtype=np.float64)
    right = np.diag(matrix)
    predicted, present = matrix.sum(0), matrix.sum(1)
    seen = (predicted + present) > 0
    f1 = np.divide(2 * right, predicted + present, out=np.zeros_like(right), where=seen)
    return float(f1[seen].mean()) if seen.any() else 0.0


def bio_entities(tags: Sequence[str]) -> set[tuple[str, int, int]]:
    """The entities of one BIO-tagged sequence: {(type, start, end)}, end
    exclusive. An I- tag that does not continue an entity of its type starts
    one (CoNLL's convention, and ``seqeval``'s default).

    Example:
        >>> sorted(bio_entities(["O", "B-PER", "I-PER", "O", "I-PER"]))
        [('PER', 1, 3), ('PER', 4, 5)]
    """
    entities, kind, start = set(), None, 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, label = tag.partition("-")
        continues = prefix == "I" and label == kind
        if kind is not None and not continues:
            entities.add((kind, start, i))
            kind = None
        if prefix in ("B", "I") and not continues:
            kind, start = label, i
    return entities


def entity_scores(true_tags, predicted_tags) -> dict:
    """Entity-level precision, recall and F1 over many BIO-tagged sequences.

    Args:
        true_tags: a list of tag sequences (lists of "O", "B-PER", ...).
        predicted_tags: the tagger's, one per sequence, each as long.

    Returns:
        {"precision", "recall", "f1", "entities" (true ones), "predicted"}.

    Example:
        >>> entity_scores([["B-PER", "I-PER"]], [["B-PER", "O"]])["f1"]
        0.0
    """
    if len(true_tags) != len(predicted_tags):
        raise ZooError(
            f"{len(true_tags)} tagged sequences but {len(predicted_tags)} predictions"
        )
    right = true_count = predicted_count = 0
    for n, (truth, guess) in enumerate(zip(true_tags, predicted_tags, strict=True)):
        if len(truth) != len(guess):
            raise ZooError(
                f"sequence {n}: {len(truth)} tags but {len(guess)} predicted"
            )
        true, predicted = bio_entities(truth), bio_entities(guess)
        right += len(true & predicted)
        true_count += len(true)
        predicted_count += len(predicted)
    precision = right / predicted_count if predicted_count else 0.0
    recall = right / true_count if true_count else 0.0
    f1 = 2 * precision * recall / (precision + recall) if right else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "entities": true_count,
        "predicted": predicted_count,
    }


def _check_texts(texts, label: str) -> None:
    if isinstance(texts, str):
        raise ZooError(f"{label} must be a list of strings, got one string")
    if len(texts) == 0:
        raise ZooError(f"{label} is empty; there is nothing to score")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ZooError(
                f"{label}[{i}] is a {type(text).__name__}, not a string; decode "
                "generated ids to text first (tokenizer.decode(ids))"
            )


def _check_lengths(predictions, references) -> None:
    if isinstance(references, str):
        raise ZooError("references must be a list of strings, got one string")
    if len(predictions) != len(references):
        raise ZooError(
            f"{len(predictions)} predictions but {len(references)} references; "
            "give one reference (or one list of references) per prediction"
        )
