"""The language-model recipe: text -> tokens -> windows -> model -> file.

What ``zoo train lstm`` (and simple_rnn, elman_rnn, gru, gpt, ngram) runs:

    >>> run = train_language_model("lstm", "shakespeare", epochs=1,
    ...                            steps_per_epoch=50, out_dir="runs/lstm")
    >>> run.summary["val_perplexity"]  # doctest: +SKIP

1. `zoo.data.load_corpus` and a tokenizer fitted on the training split;
2. the family's factory (`zoo.registry`), built in the chosen precision and
   `tf.distribute` strategy (`zoo.distribute`), compiled by
   `zoo.training.compile_model` (logits loss that ignores padding, XLA);
3. `zoo.data.pipeline.make_dataset` windows, `zoo.training.train`
   (checkpoint per epoch, resume, NaN guard), `zoo.plotting.plot_history`;
4. `zoo.save` with the tokenizer, the generation defaults and the summary.

The n-gram model has no gradient training: `train_ngram` counts.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

from zoo import registry
from zoo.errors import ZooError
from zoo.recipes.common import Run, building, learning_rate_for, resume_note

# The sizes `train_language_model` passes on to a factory when given.
SIZES = ("embedding_dim", "units", "num_heads", "num_layers", "ff_dim")
# The families that can carry their state across batches (``stateful=True``).
STATEFUL = ("simple_rnn", "elman_rnn", "lstm", "gru")


def prepare_text(
    corpus, *, tokenizer=None, level: str = "char", min_freq=None, vocab_size=None
):
    """(corpus, tokenizer, ids per split) for a corpus name, path or `Corpus`.

    The tokenizer is fitted on the training split unless one is given;
    `min_freq` defaults to 1 for characters and subwords and 2 for words (1
    for a corpus that is tokenized already, whose words are split at spaces
    only). `vocab_size` is the ids in all, reserved ones included: what "bpe"
    and "wordpiece" are trained to (None: `zoo.text.SUBWORD_VOCAB_SIZE`), and
    for "char" and "word" the most frequent kept (None: all).
    """
    from zoo.data.corpora import Corpus, load_corpus
    from zoo.text import build_tokenizer

    if not isinstance(corpus, Corpus):
        corpus = load_corpus(corpus)
    if tokenizer is None:
        if min_freq is None:
            # A tokenized corpus (the Penn Treebank) has chosen its vocabulary.
            min_freq = 2 if level == "word" and not corpus.tokenized else 1
        tokenizer = build_tokenizer(
            corpus.train,
            level=level,
            min_freq=min_freq,
            max_tokens=vocab_size,
            pretokenized=corpus.tokenized,
        )
    ids = {split: tokenizer.encode(text) for split, text in corpus.splits.items()}
    return corpus, tokenizer, ids


def _family(name_or_family) -> registry.Family:
    family = (
        name_or_family
        if isinstance(name_or_family, registry.Family)
        else registry.get(name_or_family)
    )
    if family.task != "lm":
        raise ZooError(
            f"{family.name} is a {family.task} model; train it with "
            f"zoo.recipes.{family.recipe}"
        )
    return family


def build_language_model(
    family, vocab_size: int, *, preset=None, context_length=None, dropout=0.0, **sizes
):
    """The untrained (uncompiled) model of a neural language-model family.

    Args:
        family: a family name of `zoo.registry` ("lstm", "gpt", ...).
        vocab_size: V.
        preset: GPT only: a row of `zoo.models.gpt.GPT_PRESETS` (default
            "laptop"); the sizes given override it.
        context_length: GPT only: positions it reads at most.
        dropout: dropout rate.
        **sizes: embedding_dim, units, num_layers, num_heads, ff_dim; None
            means the factory's (or the preset's) default.
    """
    family = _family(family)
    sizes = {k: v for k, v in sizes.items() if v is not None}
    if family.name == "gpt":
        from zoo.models.gpt import build_gpt_preset

        if context_length is not None:
            sizes["context_length"] = context_length
        return build_gpt_preset(
            vocab_size,
            preset=preset or "laptop",
            dropout=dropout,
            compile=False,
            **sizes,
        )
    if preset is not None or context_length is not None:
        raise ZooError(f"{family.name} takes no preset or context_length")
    return family.build(vocab_size, dropout=dropout, compile=False, **sizes)


def train_language_model(
    family,
    corpus="shakespeare",
    *,
    tokenizer=None,
    level: str = "char",
    min_freq: int | None = None,
    vocab_size: int | None = None,
    epochs: int = 3,
    steps_per_epoch: int | None = 300,
    seq_len: int | None = 64,
    batch_size: int = 32,
    learning_rate: float | None = None,
    dropout: float = 0.0,
    optimizer: str | None = None,
    weight_decay: float | None = None,
    beta_2: float | None = None,
    clipnorm: float = 1.0,
    schedule: str | None = None,
    warmup_steps: int | None = None,
    min_learning_rate: float | None = None,
    decay_after: int = 1,
    early_stopping: int | None = None,
    stateful: bool = False,
    xla: bool = True,
    strategy: str | None = None,
    precision: str = "float32",
    out_dir: str | os.PathLike | None = None,
    fresh: bool = False,
    seed: int = 0,
    verbose="auto",
    log=print,
    **sizes,
) -> Run:
    """Train a next-token language model of a `zoo.registry` family on text.

    Args:
        family: "simple_rnn", "elman_rnn", "lstm", "gru" or "gpt" (for
            "ngram", `train_ngram`).
        corpus: a `zoo.data.Corpus`, or a name or path for `load_corpus`.
        tokenizer: a fitted tokenizer; default: fitted on the training split.
        level: "char", "word", "bpe" (GPT-2's byte-level BPE) or "wordpiece"
            (BERT's), when the tokenizer is fitted here (`zoo.text`).
        min_freq: rarer tokens become <unk> (default: 1 char, 2 word).
        vocab_size: V, ids in all: what "bpe" and "wordpiece" are trained to
            (default 2000, `zoo.text.SUBWORD_VOCAB_SIZE`); for "char" and
            "word", the most frequent are kept (default: all).
        epochs: epochs in all (a resumed run counts the ones already done).
        steps_per_epoch: batches per epoch (None: one pass over the text).
        seq_len: T, tokens per training window (GPT: default its context).
        batch_size: B (the global batch under a strategy).
        learning_rate: the (peak) step size.

        The optimisation arguments (learning_rate, optimizer, weight_decay,
        beta_2, schedule, warmup_steps, min_learning_rate) default to the
        family's, as `zoo train` has them (`zoo.registry`): Adam at 2e-3 for
        the recurrent models, and for the GPT nanoGPT's recipe: AdamW
        (weight decay 0.1, beta_2 0.99) at 1e-3, warm-up over the first 5% of
        the steps, cosine down to a tenth.

        optimizer: "adam", "adamw", "rmsprop" or "sgd".
        weight_decay: AdamW's decoupled weight decay (not on biases, norms
            and embeddings).
        beta_2: Adam's and AdamW's second-moment decay.
        clipnorm: the gradients' global norm is clipped to this.
        schedule: "constant", "cosine" (to `min_learning_rate` at the last
            step) or "step" (halved every epoch from epoch `decay_after` + 1
            on); `zoo.training.make_schedule`.
        warmup_steps: linear warm-up steps first (constant and cosine); None:
            5% of the run.
        min_learning_rate: where the cosine ends; None: learning_rate / 10.
        decay_after: epochs at the full rate before the step schedule's
            first halving (Zaremba et al.: 4).
        early_stopping: stop when the validation loss has not improved for
            this many epochs, keeping the best weights (None: off).
        stateful: recurrent models only: truncated backpropagation through
            time. The text is read as `batch_size` contiguous streams
            (`zoo.data.pipeline.make_stream_dataset`), `seq_len` steps per
            batch, and the state is carried from batch to batch within an
            epoch (reset every epoch and for validation). The saved model is
            the stateless twin (same weights), ready to generate; `zoo
            evaluate` scores it as streams again.
        dropout: dropout rate of the model.
        xla: compile the training step with XLA (off under a strategy).
        strategy: None, "mirrored" or "multi_worker" (`zoo.distribute`).
        precision: "float32", "mixed_float16" or "mixed_bfloat16".
        out_dir: run folder: checkpoint per epoch (rerun to resume),
            ``history.csv``, ``loss.png`` and ``model.keras``. None: nothing
            is written.
        fresh: start over, dropping the run folder's checkpoint.
        seed: seeds the weights and the shuffling.
        verbose: passed to ``model.fit``.
        log: called with each line of progress (`print`; `quiet` for none).
        **sizes: the factory's sizes (embedding_dim, units, num_layers,
            num_heads, ff_dim), and for a GPT ``preset`` and
            ``context_length``.

    Returns:
        A `Run`: the model, tokenizer, history, a summary (data, parameters,
        validation perplexity, seconds) and the saved path.

    Example:
        >>> run = train_language_model("gpt", preset="tiny", epochs=1,
        ...                            steps_per_epoch=20)
        >>> zoo.generate(run.model, run.tokenizer, "To be", max_new_tokens=20)
    """
    import keras

    from zoo.data.pipeline import make_dataset, make_stream_dataset
    from zoo.plotting import plot_history
    from zoo.saving import save
    from zoo.training import compile_model, train

    family = _family(family)
    if not family.keras:
        raise ZooError("an n-gram model is counted, not trained: use train_ngram")
    recipe = {
        "learning_rate": learning_rate,
        "optimizer": optimizer,
        "weight_decay": weight_decay,
        "beta_2": beta_2,
        "schedule": schedule,
    }
    recipe = {k: family.options[k] if v is None else v for k, v in recipe.items()}
    # None in the family's options too: decided from the run (learning_rate_for).
    if warmup_steps is None:
        warmup_steps = family.options["warmup_steps"]
    if min_learning_rate is None:
        min_learning_rate = family.options["min_learning_rate"]
    learning_rate, optimizer, weight_decay, beta_2, schedule = recipe.values()
    data = _data_name(corpus)
    corpus, tokenizer, ids = prepare_text(
        corpus,
        tokenizer=tokenizer,
        level=level,
        min_freq=min_freq,
        vocab_size=vocab_size,
    )
    log(f"data: {corpus!r}; {level}-level vocabulary of {tokenizer.vocab_size}")
    keras.utils.set_random_seed(seed)
    if stateful and family.name not in STATEFUL:
        raise ZooError(
            f"stateful (truncated backpropagation through time) carries a "
            f"recurrent state; {family.name} has none. Use one of {STATEFUL}."
        )
    carry = {"stateful": True, "batch_size": batch_size} if stateful else {}
    with building(strategy, precision) as made:
        model = build_language_model(
            family, tokenizer.vocab_size, dropout=dropout, **carry, **sizes
        )
        context = _context_length(model)
        seq_len = seq_len or context
        batches = {"seq_len": seq_len, "batch_size": batch_size}
        if stateful:
            train_ds = make_stream_dataset(ids["train"], **batches)
            valid_ds = make_stream_dataset(ids["valid"], training=False, **batches)
        else:
            train_ds = make_dataset(ids["train"], seed=seed, **batches)
            valid_ds = make_dataset(ids["valid"], training=False, **batches)
        compile_model(  # in the scope and precision too
            model,
            optimizer=optimizer,
            learning_rate=learning_rate_for(
                learning_rate,
                schedule=schedule,
                warmup_steps=warmup_steps,
                min_learning_rate=min_learning_rate,
                decay_after=decay_after,
                epochs=epochs,
                steps_per_epoch=steps_per_epoch,
                train_ds=train_ds,
            ),
            weight_decay=weight_decay,
            beta_2=beta_2,
            global_clipnorm=clipnorm,
            jit_compile=xla,
        )
    log(f"model: {model.name}, {model.count_params():,} parameters")
    if made is not None:
        n = made.num_replicas_in_sync
        log(
            f"{strategy} strategy: {n} replica{'s' if n > 1 else ''}, "
            f"{batch_size} sequences per step in all; no XLA"
        )
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
    seconds = time.perf_counter() - start
    summary = {
        "family": family.name,
        "task": "lm",
        "data": data,
        "level": level,
        "epochs": epochs,
        "seq_len": seq_len,
        "batch_size": batch_size,
        "stateful": bool(stateful),
        "parameters": int(model.count_params()),
        "val_perplexity": history["val_perplexity"][-1],
        "train_seconds": seconds,
    }
    if context is not None:
        # Past its context, generation slides a window (zoo.generation).
        summary.update(preset=sizes.get("preset") or "laptop", context_length=context)
    if stateful:
        from zoo.models.rnn import stateful_copy

        model = stateful_copy(model, batch_size=None)  # generates at any batch
    path = None
    if run_dir is not None:
        plot_history(history, run_dir / "loss.png")
        generation = {
            "max_new_tokens": 200 if level == "char" else 60,
            "temperature": 0.8,
            "top_k": None,
            "top_p": None,
        }
        path = save(
            run_dir / "model.keras",
            model,
            tokenizer,
            generation=generation,
            info=summary,
        )
    return Run(model, tokenizer, history, summary, path)


def _context_length(model) -> int | None:
    """The positions a model reads at most (a GPT's context), else None."""
    from zoo.generation import stepper_for

    return stepper_for(model).max_length


def _data_name(corpus) -> str:
    """What `zoo evaluate` needs to load the corpus again: the name or path it
    was given, or the name of a `Corpus` object."""
    return corpus if isinstance(corpus, str) else getattr(corpus, "name", str(corpus))


def train_ngram(
    family="ngram",
    corpus="shakespeare",
    *,
    tokenizer=None,
    level: str = "word",
    min_freq: int | None = None,
    vocab_size: int | None = None,
    order: int = 4,
    smoothing: str = "kneser_ney",
    out_dir: str | os.PathLike | None = None,
    log=print,
) -> Run:
    """Count an n-gram model on a corpus, score it, and save it.

    Args:
        family: "ngram" (the registry's name; there for symmetry).
        corpus: a `zoo.data.Corpus`, or a name or path for `load_corpus`.
        tokenizer: a fitted tokenizer; default: fitted on the training split.
        level: "word", "char", "bpe" or "wordpiece", when the tokenizer is
            fitted here.
        min_freq: rarer tokens become <unk> (default: 1 char, 2 word).
        vocab_size: ids in all (see `train_language_model`).
        order: n.
        smoothing: "kneser_ney" (modified, three discounts), "kneser_ney_single",
            "add_k" or "mle".
        out_dir: where ``model.ngram.zip`` is written (None: nowhere).
        log: called with each line of progress.

    Returns:
        A `Run` with the fitted `NGramLM` and its validation perplexity.

    Example:
        >>> run = train_ngram(corpus="shakespeare", order=3)
    """
    from zoo.models.ngram import NGramLM
    from zoo.saving import save

    if registry.get(family).keras:
        raise ZooError(f"{family} is a neural model: use train_language_model")
    data = _data_name(corpus)
    corpus, tokenizer, ids = prepare_text(
        corpus,
        tokenizer=tokenizer,
        level=level,
        min_freq=min_freq,
        vocab_size=vocab_size,
    )
    log(f"data: {corpus!r}; {level}-level vocabulary of {tokenizer.vocab_size}")
    start = time.perf_counter()
    lm = NGramLM(order, smoothing=smoothing).fit(
        ids["train"], vocab_size=tokenizer.vocab_size
    )
    fit_s = time.perf_counter() - start
    ppl = lm.perplexity(ids["valid"])
    log(f"fit in {fit_s:.1f} s; validation perplexity {ppl:.2f}")
    summary = {
        "family": "ngram",
        "task": "lm",
        "data": data,
        "level": level,
        "val_perplexity": ppl,
        "fit_seconds": fit_s,
    }
    path = None
    if out_dir is not None:
        path = save(
            Path(out_dir) / "model.ngram.zip",
            lm,
            tokenizer,
            generation={"max_new_tokens": 60, "temperature": 1.0},
            info=summary,
        )
    return Run(lm, tokenizer, {}, summary, path)


def evaluate_language_model(
    bundle, text: str, *, seq_len: int | None = None, batch_size: int = 32
) -> dict:
    """Perplexity and bits per character of a loaded language model (a
    `zoo.load` bundle) on `text`.

    Token-weighted over every token of `text` (`zoo.training.evaluate`; an
    n-gram scores the whole text at once). Bits per character is the total
    cross-entropy over those tokens, in bits, divided by ``len(text)``
    (`zoo.evaluation.bits_per_character`), so models with different tokens
    compare: for a character model it is log2(perplexity), but for the first
    character, which a neural model is given and not scored on.

    Returns:
        {"perplexity", "tokens", "bits_per_character", "characters"} (and
        "nll", the mean per token, for a neural model).
    """
    from zoo.evaluation import bits_per_character

    scores = _token_scores(bundle, text, seq_len=seq_len, batch_size=batch_size)
    total_nats = math.log(scores["perplexity"]) * scores["tokens"]
    return {
        **scores,
        "bits_per_character": bits_per_character(total_nats, len(text)),
        "characters": len(text),
    }


def _token_scores(bundle, text: str, *, seq_len, batch_size) -> dict:
    ids = bundle.tokenizer.encode(text)
    if not hasattr(bundle.model, "count_params"):  # an n-gram model
        return {"perplexity": bundle.model.perplexity(ids), "tokens": len(ids)}
    from zoo.data.pipeline import make_dataset
    from zoo.training import evaluate

    seq_len = seq_len or int(bundle.info.get("seq_len", 64))
    if bundle.info.get("stateful"):
        # Trained as streams with the state carried: scored the same way, with
        # the batch (the number of streams) it was trained with.
        from zoo.data.pipeline import make_stream_dataset
        from zoo.models.rnn import stateful_copy

        streams = int(bundle.info["batch_size"])
        ds = make_stream_dataset(
            ids, seq_len=seq_len, batch_size=streams, training=False
        )
        return evaluate(stateful_copy(bundle.model, batch_size=streams), ds)
    ds = make_dataset(ids, seq_len=seq_len, batch_size=batch_size, training=False)
    return evaluate(bundle.model, ds)
