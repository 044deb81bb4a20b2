"""Fine-tuning recipes: a BERT encoder trained for classification or tagging.

What ``zoo train classifier`` and ``zoo train tagger`` run, and notebook 12.
The source texts say what a pretrained model is for (文本分类, 情感分析,
命名实体识别: document 003 section 6, document 001 sections 5 and 6): here the
encoder of `zoo.models.bert` is trained for a task, either from random
weights or starting from a masked LM that zoo trained first (``pretrained``:
its file), which is the comparison the texts' claim asks for.

    >>> run = train_classifier("genre")                       # from scratch
    >>> run = train_classifier("genre", pretrained="runs/bert/model.keras")
    >>> run = train_tagger("names", pretrained="runs/bert/model.keras")

The data are `zoo.data.labelled`'s: passages of the plays labelled by genre,
Tang poems by form, a user's TSV file, or the plays' character names tagged
BIO. With ``pretrained`` the masked LM's tokenizer and encoder sizes are used
(`zoo.models.bert.transfer_encoder` copies its weights); the head starts
from random weights either way.

The default optimisation is BERT's fine-tuning recipe (Devlin et al. 2019,
appendix A.3) scaled to a small model: AdamW with weight decay 0.01, a linear
warm-up over the first 5% of the steps, then a cosine decay.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np

from zoo.errors import ZooError
from zoo.recipes.common import Run, building, learning_rate_for, resume_note

# The encoder's sizes: fixed by a pretrained model when there is one.
# Texts are cut to this many tokens unless told otherwise (BERT's own
# fine-tuning used 128 for most tasks).
SEQ_LEN = 128
ENCODER_SIZES = ("context_length", "embedding_dim", "num_heads", "num_layers", "ff_dim")


def _prepare(texts, *, pretrained, tokenizer, level, min_freq, vocab_size, log):
    """(tokenizer, pretrained model or None, encoder sizes) for fine-tuning."""
    from zoo.text import build_tokenizer

    if pretrained is None:
        if tokenizer is None:
            tokenizer = build_tokenizer(
                "\n".join(texts),
                level=level,
                min_freq=1 if min_freq is None else min_freq,
                max_tokens=vocab_size,
            )
        log(f"{level}-level vocabulary of {tokenizer.vocab_size}")
        return tokenizer, None, {}
    from zoo.models.bert import encoder_sizes
    from zoo.saving import load

    bundle = load(pretrained)
    try:
        sizes = encoder_sizes(bundle.model)
    except ZooError:
        raise ZooError(
            f"{pretrained} is not a BERT model of zoo's; pretrain one with "
            "`zoo train bert` (a masked LM) and pass its model.keras"
        ) from None
    log(
        f"pretrained: {pretrained} ({bundle.model.name}, "
        f"{bundle.model.count_params():,} parameters); "
        f"its {type(bundle.tokenizer).__name__}'s vocabulary of "
        f"{bundle.tokenizer.vocab_size}"
    )
    return bundle.tokenizer, bundle.model, sizes


def _sizes(model_kwargs, pretrained_sizes, seq_len):
    """(the factory's keywords, seq_len): the pretrained encoder's sizes or
    the given ones; seq_len None is `SEQ_LEN`, or the encoder's positions
    if it has fewer."""
    model_kwargs = {k: v for k, v in model_kwargs.items() if v is not None}
    if seq_len is None:
        positions = pretrained_sizes.get(
            "context_length", model_kwargs.get("context_length", SEQ_LEN)
        )
        seq_len = min(SEQ_LEN, positions)
    if pretrained_sizes:
        clash = {
            k: (model_kwargs[k], pretrained_sizes[k])
            for k in ENCODER_SIZES
            if k in model_kwargs and model_kwargs[k] != pretrained_sizes[k]
        }
        if clash:
            shown = ", ".join(
                f"{k}={a} (pretrained: {b})" for k, (a, b) in clash.items()
            )
            raise ZooError(f"the pretrained encoder's sizes are fixed: {shown}")
        sizes = {k: pretrained_sizes[k] for k in ENCODER_SIZES}
        sizes["dropout"] = model_kwargs.get("dropout", pretrained_sizes["dropout"])
        model_kwargs = {**model_kwargs, **sizes}
    model_kwargs.setdefault("context_length", seq_len)
    if seq_len > model_kwargs["context_length"]:
        raise ZooError(
            f"seq_len {seq_len} is longer than the encoder's "
            f"{model_kwargs['context_length']} positions; use seq_len "
            f"{model_kwargs['context_length']} or less"
        )
    return model_kwargs, seq_len


def _fit(
    model,
    train_ds,
    valid_ds,
    *,
    pad_id,
    optimizer,
    learning_rate,
    weight_decay,
    beta_2,
    schedule,
    warmup_steps,
    min_learning_rate,
    epochs,
    steps_per_epoch,
    early_stopping,
    xla,
    out_dir,
    fresh,
    verbose,
    log,
):
    """Compile and train; the history and the seconds it took."""
    from zoo.training import compile_model, train

    compile_model(
        model,
        optimizer=optimizer,
        learning_rate=learning_rate_for(
            learning_rate,
            schedule=schedule,
            warmup_steps=warmup_steps,
            min_learning_rate=min_learning_rate,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            train_ds=train_ds,
        ),
        weight_decay=weight_decay,
        beta_2=beta_2,
        pad_id=pad_id,
        jit_compile=xla,
    )
    log(f"model: {model.name}, {model.count_params():,} parameters")
    run_dir = None if out_dir is None else Path(out_dir)
    resume_note(run_dir, fresh, log)
    start = time.perf_counter()
    history = train(
        model,
        train_ds,
        valid_ds=valid_ds,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        run_dir=run_dir,
        early_stopping=early_stopping,
        verbose=verbose,
    )
    return history, time.perf_counter() - start, run_dir


def _data_label(data) -> str:
    """How the data is named in the saved file: a name, or an absolute path."""
    from zoo.data.labelled import LABELLED, TAGGED

    if data in LABELLED or data in TAGGED:
        return data
    return str(Path(data).resolve())


# ------------------------------------------------------------ classification


def train_classifier(
    data="genre",
    *,
    pretrained: str | os.PathLike | None = None,
    tokenizer=None,
    level: str = "char",
    min_freq: int | None = None,
    vocab_size: int | None = None,
    epochs: int = 3,
    steps_per_epoch: int | None = None,
    seq_len: int | None = None,
    batch_size: int = 32,
    learning_rate: float = 5e-4,
    optimizer: str = "adamw",
    weight_decay: float = 0.01,
    beta_2: float = 0.999,
    schedule: str = "cosine",
    warmup_steps: int | None = None,
    min_learning_rate: float | None = 0.0,
    early_stopping: int | None = None,
    xla: bool = True,
    out_dir: str | os.PathLike | None = None,
    fresh: bool = False,
    seed: int = 0,
    verbose="auto",
    log=print,
    **model_kwargs,
) -> Run:
    """Train `build_bert_classifier` on labelled texts, from scratch or from
    a pretrained masked LM.

    Args:
        data: "genre", "tang-forms", a TSV file of text<TAB>label lines, or a
            `zoo.data.labelled.LabelledCorpus`.
        pretrained: a masked LM's file (``zoo train bert``): its tokenizer,
            sizes and encoder weights are the start. None: from scratch.
        tokenizer: a fitted tokenizer (from scratch only); default: fitted
            on the training texts at `level`.
        level, min_freq, vocab_size: the tokenizer fitted here
            (`zoo.text.build_tokenizer`).
        epochs: passes over the training texts (or of `steps_per_epoch`).
        steps_per_epoch: batches per epoch (None: one pass).
        seq_len: T, tokens read per text (longer texts are cut); None:
            `SEQ_LEN`, or the encoder's positions if it has fewer.
        batch_size: B.
        learning_rate: the peak step size.
        optimizer, weight_decay, beta_2, schedule, warmup_steps,
            min_learning_rate: as `zoo.recipes.train_language_model` (None
            warm-up: 5% of the run).
        early_stopping: stop when the validation loss has not improved for
            this many epochs, keeping the best weights.
        xla: compile the training step with XLA.
        out_dir: run folder (checkpoint, ``history.csv``, ``loss.png``,
            ``model.keras``); None: nothing written.
        fresh: start over, dropping the run folder's checkpoint.
        seed: seeds the weights and the shuffling.
        verbose: passed to ``fit``.
        log: called with each line of progress.
        **model_kwargs: `build_bert_classifier`'s sizes and dropout (None:
            the factory's, or the pretrained model's).

    Returns:
        A `Run`; its summary holds the validation accuracy and macro-F1.

    Example:
        >>> run = train_classifier("genre", epochs=1)
        >>> run.summary["val_accuracy"]
    """
    import keras

    from zoo.data.labelled import LabelledCorpus, load_labelled
    from zoo.models.bert import build_bert_classifier, transfer_encoder
    from zoo.plotting import plot_history
    from zoo.saving import save

    corpus = data if isinstance(data, LabelledCorpus) else load_labelled(data)
    name = corpus.name if isinstance(data, LabelledCorpus) else _data_label(data)
    log(f"data: {corpus!r}")
    tokenizer, source, pretrained_sizes = _prepare(
        [text for text, _ in corpus.train],
        pretrained=pretrained,
        tokenizer=tokenizer,
        level=level,
        min_freq=min_freq,
        vocab_size=vocab_size,
        log=log,
    )
    kwargs, seq_len = _sizes(model_kwargs, pretrained_sizes, seq_len)
    x, y = encode_labelled(corpus, tokenizer, seq_len=seq_len)
    keras.utils.set_random_seed(seed)
    with building(None, "float32"):
        model = build_bert_classifier(
            tokenizer.vocab_size,
            num_classes=len(corpus.labels),
            compile=False,
            **kwargs,
        )
    if source is not None:
        transfer_encoder(source, model)
    train_ds, valid_ds = _datasets(x, y, batch_size=batch_size, seed=seed)
    history, seconds, run_dir = _fit(
        model,
        train_ds,
        valid_ds,
        pad_id=-1,  # every label id is a label
        optimizer=optimizer,
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        beta_2=beta_2,
        schedule=schedule,
        warmup_steps=warmup_steps,
        min_learning_rate=min_learning_rate,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        early_stopping=early_stopping,
        xla=xla,
        out_dir=out_dir,
        fresh=fresh,
        verbose=verbose,
        log=log,
    )
    valid = score_classifier(model, x["valid"], y["valid"], len(corpus.labels))
    summary = {
        "family": "classifier",
        "task": "classification",
        "data": name,
        "labels": list(corpus.labels),
        "level": tokenizer.kind,
        "pretrained": None if pretrained is None else str(Path(pretrained).resolve()),
        "epochs": epochs,
        "seq_len": seq_len,
        "parameters": int(model.count_params()),
        "val_accuracy": valid["accuracy"],
        "val_macro_f1": valid["macro_f1"],
        "train_seconds": seconds,
    }
    path = None
    if run_dir is not None:
        plot_history(history, run_dir / "loss.png")
        path = save(run_dir / "model.keras", model, tokenizer, info=summary)
    return Run(model, tokenizer, history, summary, path)


def encode_labelled(corpus, tokenizer, *, seq_len: int):
    """({split: (N, T) ids}, {split: (N,) label ids}) of a `LabelledCorpus`."""
    from zoo.data.pipeline import pad_sequences

    index = {label: i for i, label in enumerate(corpus.labels)}
    x, y = {}, {}
    for split, rows in corpus.splits.items():
        x[split] = pad_sequences(
            [tokenizer.encode(t) for t, _ in rows], seq_len=seq_len
        )
        y[split] = np.array([index[label] for _, label in rows], dtype=np.int32)
    return x, y


def _datasets(x, y, *, batch_size, seed, w=None):
    from zoo.data.pipeline import make_labelled_dataset

    w = w or {}
    train_ds = make_labelled_dataset(
        x["train"], y["train"], batch_size=batch_size, seed=seed, weights=w.get("train")
    )
    valid_ds = make_labelled_dataset(
        x["valid"],
        y["valid"],
        batch_size=batch_size,
        training=False,
        weights=w.get("valid"),
    )
    return train_ds, valid_ds


def predict_logits(model, ids, *, batch_size: int = 64) -> np.ndarray:
    """The model's logits on (N, T) ids, batch by batch, in float32."""
    out = [
        np.asarray(model(ids[i : i + batch_size], training=False), np.float32)
        for i in range(0, len(ids), batch_size)
    ]
    return np.concatenate(out) if out else np.zeros((0,), np.float32)


def score_classifier(model, ids, label_ids, num_labels: int) -> dict:
    """Accuracy, macro-F1 and the confusion matrix of a classifier."""
    from zoo.evaluation import confusion_matrix, macro_f1

    predicted = predict_logits(model, ids).argmax(-1)
    matrix = confusion_matrix(label_ids, predicted, num_labels)
    return {
        "accuracy": float(np.mean(predicted == label_ids)),
        "macro_f1": macro_f1(matrix),
        "confusion": matrix.tolist(),
        "examples": len(label_ids),
    }


def evaluate_classifier(bundle, rows, *, batch_size: int = 32) -> dict:
    """Accuracy, macro-F1 and the confusion matrix of a loaded classifier on
    `rows` [(text, label), ...].

    Returns:
        {"accuracy", "macro_f1", "confusion" (rows: the right label),
        "labels", "examples"}.
    """
    from zoo.data.pipeline import pad_sequences

    labels = list(bundle.info["labels"])
    unknown = sorted({label for _, label in rows} - set(labels))
    if unknown:
        raise ZooError(
            f"label(s) {', '.join(map(repr, unknown))} are not among the "
            f"classifier's: {', '.join(labels)}"
        )
    seq_len = int(bundle.info.get("seq_len", SEQ_LEN))
    ids = pad_sequences([bundle.tokenizer.encode(t) for t, _ in rows], seq_len=seq_len)
    label_ids = np.array([labels.index(label) for _, label in rows], np.int32)
    return {
        **score_classifier(bundle.model, ids, label_ids, len(labels)),
        "labels": labels,
    }


def classify(
    bundle, texts, *, top_k: int | None = None
) -> list[list[tuple[str, float]]]:
    """Each text's labels, most probable first, with their probabilities."""
    from zoo.data.pipeline import pad_sequences

    labels = list(bundle.info["labels"])
    seq_len = int(bundle.info.get("seq_len", SEQ_LEN))
    ids = pad_sequences([bundle.tokenizer.encode(t) for t in texts], seq_len=seq_len)
    logits = predict_logits(bundle.model, ids)
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    return [[(labels[i], float(p[i])) for i in np.argsort(-p)[:top_k]] for p in probs]


# ------------------------------------------------------------ tagging


def _check_char_level(tokenizer) -> None:
    if tokenizer.kind != "char":
        raise ZooError(
            f"a tagger reads one character per token (its tags are per "
            f"character), but the tokenizer is {tokenizer.kind}-level; pretrain "
            "with `zoo train bert --level char`"
        )


# What a tagger tags: runs of Latin letters, runs of digits, and every other
# character that is not a space on its own (a Chinese character, a mark).
# BERT tags the first sub-token of each word and ignores the rest (Devlin et
# al. 2019, section 5.3); zoo's tagger reads characters, so it learns and
# predicts the tag of each unit's first character, and the unit's other
# characters follow it.
_UNIT = re.compile(r"[A-Za-z]+|[0-9]+|\S")
# The loss weight of an entity's first characters against the others' 1.
# Names are rare in the plays; 5 was chosen from 1, 5 and 20 on the
# validation plays.
ENTITY_WEIGHT = 5.0


def tag_units(text: str) -> list[tuple[int, int]]:
    """(start, end) of each unit a tagger tags in `text`.

    Example:
        >>> tag_units("O Romeo's 2 红")
        [(0, 1), (2, 7), (7, 8), (8, 9), (10, 11), (12, 13)]
    """
    return [m.span() for m in _UNIT.finditer(text)]


def unit_targets(texts_and_tags, index: dict, *, entity_weight: float):
    """([targets], [weights]) per text: the tag id at each unit's first
    character, 0 (ignored) elsewhere; weight `entity_weight` at an entity's
    units, 1 at the others'. A tag that changes inside a unit is an error."""
    targets, weights = [], []
    for n, (text, tags) in enumerate(texts_and_tags):
        target, weight = [0] * len(text), [0.0] * len(text)
        for start, end in tag_units(text):
            first, rest = tags[start], tags[start + 1 : end]
            follows = "O" if first == "O" else "I" + first[1:]
            if any(tag != follows for tag in rest):
                raise ZooError(
                    f"text {n}: the tags change inside {text[start:end]!r} "
                    f"(characters {start}-{end}); a tagger tags whole runs of "
                    "letters or digits, and other characters one by one"
                )
            target[start] = index[first]
            weight[start] = 1.0 if first == "O" else entity_weight
        targets.append(target)
        weights.append(weight)
    return targets, weights


def encode_tagged(
    corpus, tokenizer, *, seq_len: int, entity_weight: float = ENTITY_WEIGHT
):
    """({split: (N, T) ids}, {split: (N, T) tag ids}, {split: (N, T) loss
    weights}); a tag id at each unit's first character (`tag_units`), 0
    (ignored, like padding) at the others."""
    from zoo.data.pipeline import pad_sequences

    _check_char_level(tokenizer)
    index = {tag: i for i, tag in enumerate(corpus.tags)}
    x, y, w = {}, {}, {}
    for split, rows in corpus.splits.items():
        x[split] = pad_sequences(
            [tokenizer.encode(t) for t, _ in rows], seq_len=seq_len
        )
        targets, weights = unit_targets(rows, index, entity_weight=entity_weight)
        y[split] = pad_sequences(targets, seq_len=seq_len, value=0)
        w[split] = np.zeros(y[split].shape, np.float32)
        for i, weight in enumerate(weights):
            w[split][i, : min(len(weight), seq_len)] = weight[:seq_len]
    return x, y, w


def train_tagger(
    data="names",
    *,
    pretrained: str | os.PathLike | None = None,
    tokenizer=None,
    min_freq: int | None = None,
    vocab_size: int | None = None,
    epochs: int = 3,
    steps_per_epoch: int | None = None,
    seq_len: int | None = None,
    batch_size: int = 32,
    learning_rate: float = 5e-4,
    optimizer: str = "adamw",
    weight_decay: float = 0.01,
    beta_2: float = 0.999,
    schedule: str = "cosine",
    warmup_steps: int | None = None,
    min_learning_rate: float | None = 0.0,
    early_stopping: int | None = None,
    xla: bool = True,
    out_dir: str | os.PathLike | None = None,
    fresh: bool = False,
    seed: int = 0,
    verbose="auto",
    log=print,
    level: str = "char",
    entity_weight: float = ENTITY_WEIGHT,
    **model_kwargs,
) -> Run:
    """Train `build_bert_tagger` on BIO-tagged texts, from scratch or from a
    pretrained (character-level) masked LM.

    The tagger learns the tag of each word's first character (`tag_units`:
    runs of letters or digits, other characters one by one), as BERT tags a
    word's first sub-token; an entity's words weigh `entity_weight` in the
    loss, the others 1.

    Args:
        data: "names" (`zoo.data.labelled.load_tagged`) or a `TaggedCorpus`.
        pretrained: a character-level masked LM's file (``zoo train bert``).
        level: "char" only: the tags are per character.
        entity_weight: the loss weight of an entity's words (`ENTITY_WEIGHT`).
        The rest: as `train_classifier`.

    Returns:
        A `Run`; its summary holds the validation entity F1 (exact spans).

    Example:
        >>> run = train_tagger("names", epochs=1)
        >>> run.summary["val_entity_f1"]
    """
    import keras

    from zoo.data.labelled import TaggedCorpus, load_tagged
    from zoo.models.bert import build_bert_tagger, transfer_encoder
    from zoo.plotting import plot_history
    from zoo.saving import save

    if level != "char":
        raise ZooError(f"a tagger reads characters (level 'char'), got {level!r}")
    if not entity_weight > 0:
        raise ZooError(f"entity_weight must be > 0, got {entity_weight}")
    corpus = data if isinstance(data, TaggedCorpus) else load_tagged(data)
    name = corpus.name if isinstance(data, TaggedCorpus) else _data_label(data)
    log(f"data: {corpus!r}")
    tokenizer, source, pretrained_sizes = _prepare(
        [text for text, _ in corpus.train],
        pretrained=pretrained,
        tokenizer=tokenizer,
        level="char",
        min_freq=min_freq,
        vocab_size=vocab_size,
        log=log,
    )
    kwargs, seq_len = _sizes(model_kwargs, pretrained_sizes, seq_len)
    x, y, w = encode_tagged(
        corpus, tokenizer, seq_len=seq_len, entity_weight=entity_weight
    )
    keras.utils.set_random_seed(seed)
    with building(None, "float32"):
        model = build_bert_tagger(
            tokenizer.vocab_size, num_tags=len(corpus.tags), compile=False, **kwargs
        )
    if source is not None:
        transfer_encoder(source, model)
    train_ds, valid_ds = _datasets(x, y, batch_size=batch_size, seed=seed, w=w)
    history, seconds, run_dir = _fit(
        model,
        train_ds,
        valid_ds,
        pad_id=0,  # the [PAD] tag, and every character but a word's first
        optimizer=optimizer,
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        beta_2=beta_2,
        schedule=schedule,
        warmup_steps=warmup_steps,
        min_learning_rate=min_learning_rate,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        early_stopping=early_stopping,
        xla=xla,
        out_dir=out_dir,
        fresh=fresh,
        verbose=verbose,
        log=log,
    )
    valid = score_tagger(
        model, tokenizer, corpus.valid, tags=corpus.tags, seq_len=seq_len
    )
    summary = {
        "family": "tagger",
        "task": "tagging",
        "data": name,
        "tags": list(corpus.tags),
        "level": "char",
        "entity_weight": float(entity_weight),
        "pretrained": None if pretrained is None else str(Path(pretrained).resolve()),
        "epochs": epochs,
        "seq_len": seq_len,
        "parameters": int(model.count_params()),
        "val_entity_f1": valid["f1"],
        "val_entity_precision": valid["precision"],
        "val_entity_recall": valid["recall"],
        "train_seconds": seconds,
    }
    path = None
    if run_dir is not None:
        plot_history(history, run_dir / "loss.png")
        path = save(run_dir / "model.keras", model, tokenizer, info=summary)
    return Run(model, tokenizer, history, summary, path)


def predict_tags(model, tokenizer, texts, *, tags, seq_len: int) -> list[list[str]]:
    """One tag per character of each text. A text longer than `seq_len` is
    read `seq_len` characters at a time, so every character gets a tag.

    Each unit (`tag_units`) takes the tag predicted at its first character:
    "B-X" is B-X then I-X, "I-X" continues an X entity that the unit before
    ended (the spaces between join it), or else starts one."""
    from zoo.data.pipeline import pad_sequences

    _check_char_level(tokenizer)
    pieces, owners = [], []
    for n, text in enumerate(texts):
        ids = tokenizer.encode(text)
        for start in range(0, max(len(ids), 1), seq_len):
            pieces.append(ids[start : start + seq_len])
            owners.append(n)
    logits = predict_logits(model, pad_sequences(pieces, seq_len=seq_len))
    logits[..., 0] = -np.inf  # never predict padding
    first = [[] for _ in texts]
    for piece, owner, row in zip(pieces, owners, logits.argmax(-1), strict=True):
        first[owner].extend(tags[i] for i in row[: len(piece)])
    return [_spread(text, chars) for text, chars in zip(texts, first, strict=True)]


def _spread(text: str, predicted: list[str]) -> list[str]:
    """Per-character tags from the tags `predicted` at units' first characters."""
    out = ["O"] * len(text)
    kind = end = None  # the entity the previous unit belongs to, and its end
    for start, stop in tag_units(text):
        tag = predicted[start]
        if tag == "O":
            kind = None
            continue
        if tag[2:] == kind and tag.startswith("I-") and not text[end:start].strip():
            out[end:stop] = [tag] * (stop - end)
        else:
            kind = tag[2:]
            out[start:stop] = ["B-" + kind] + ["I-" + kind] * (stop - start - 1)
        end = stop
    return out


def score_tagger(model, tokenizer, rows, *, tags, seq_len: int) -> dict:
    """Entity-level precision, recall, F1 (`zoo.evaluation.entity_scores`) and
    the per-character tag accuracy of a tagger on `rows` [(text, tags)]."""
    from zoo.evaluation import entity_scores

    predicted = predict_tags(
        model, tokenizer, [t for t, _ in rows], tags=tags, seq_len=seq_len
    )
    truth = [list(tag_list) for _, tag_list in rows]
    scores = entity_scores(truth, predicted)
    hits = sum(
        a == b
        for t, p in zip(truth, predicted, strict=True)
        for a, b in zip(t, p, strict=True)
    )
    scores["tag_accuracy"] = hits / max(1, sum(map(len, truth)))
    scores["examples"] = len(rows)
    return scores


def evaluate_tagger(bundle, rows, *, batch_size: int = 32) -> dict:
    """Entity precision, recall and F1 of a loaded tagger on `rows`
    [(text, tags), ...] (every character tagged), and its tag accuracy."""
    tags = tuple(bundle.info["tags"])
    seq_len = int(bundle.info.get("seq_len", SEQ_LEN))
    return score_tagger(
        bundle.model, bundle.tokenizer, rows, tags=tags, seq_len=seq_len
    )


def find_names(bundle, text: str) -> list[str]:
    """The entities a loaded tagger finds in `text`, as they are written."""
    from zoo.evaluation import bio_entities

    tags = tuple(bundle.info["tags"])
    seq_len = int(bundle.info.get("seq_len", SEQ_LEN))
    (predicted,) = predict_tags(
        bundle.model, bundle.tokenizer, [text], tags=tags, seq_len=seq_len
    )
    return [
        text[start:end]
        for _, start, end in sorted(bio_entities(predicted), key=lambda e: e[1])
    ]
