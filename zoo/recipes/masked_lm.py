"""The masked-language-model recipe: text -> masked windows -> BERT -> file.

What ``zoo train bert`` runs, and notebook 09:

    >>> run = train_masked_lm("shakespeare", epochs=2)
    >>> zoo.generation.fill_mask(run.model, run.tokenizer, "To be, or not to b[MASK]")

By default a **character-level** model on the bundled Shakespeare plays
(offline; a [MASK] hides one character). BERT itself works on word pieces:
``level="wordpiece"`` trains BERT's WordPiece vocabulary on the training text
(`zoo.text.WordPieceTokenizer`); ``level="word"`` gives whole words. Batches come from
`zoo.data.pipeline.make_mlm_dataset` (BERT's 80/10/10 masking, seeded).
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

from zoo.recipes.common import Run, building, learning_rate_for, resume_note
from zoo.recipes.language_model import _data_name, prepare_text
from zoo.text import PAD_ID


def train_masked_lm(
    corpus="shakespeare",
    *,
    tokenizer=None,
    level: str = "char",
    min_freq: int | None = None,
    vocab_size: int | None = None,
    epochs: int = 1,
    steps_per_epoch: int | None = 200,
    seq_len: int = 64,
    batch_size: int = 32,
    train_chars: int | None = None,
    valid_chars: int | None = None,
    learning_rate: float = 1e-3,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    beta_2: float = 0.999,
    schedule: str = "constant",
    warmup_steps: int = 0,
    min_learning_rate: float = 0.0,
    early_stopping: int | None = None,
    xla: bool = True,
    strategy: str | None = None,
    precision: str = "float32",
    out_dir: str | os.PathLike | None = None,
    fresh: bool = False,
    seed: int = 0,
    verbose="auto",
    log=print,
    **model_kwargs,
) -> Run:
    """Train `build_bert_mlm` on a corpus: the recipe of the notebook and CLI.

    Args:
        corpus: a `zoo.data.Corpus`, or a name or path for `load_corpus`.
        tokenizer: a fitted tokenizer; default: fitted on the training text.
        level: "char", "word", "wordpiece" (BERT's) or "bpe", when the
            tokenizer is fitted here (`zoo.text`).
        min_freq: rarer tokens become <unk> (default: 1 char, 2 word).
        vocab_size: V, ids in all: what "wordpiece" and "bpe" are trained to
            (default 2000); for "char" and "word", the most frequent kept.
        epochs: passes of ``steps_per_epoch`` batches.
        steps_per_epoch: batches per epoch (None: one pass over the text).
        seq_len: T, tokens per training sequence; the model's
            ``context_length`` defaults to it.
        batch_size: B.
        train_chars: use only the first this many characters of the training
            text (None: all of it).
        valid_chars: the same for the validation text.
        learning_rate: the (peak) step size.
        optimizer: "adam", "adamw", "rmsprop" or "sgd".
        weight_decay: AdamW's decoupled weight decay (not on biases, norms
            and embeddings).
        beta_2: Adam's and AdamW's second-moment decay.
        schedule: "constant", "cosine" (to `min_learning_rate` at the last
            step) or "step" (halved every epoch); `zoo.training.make_schedule`.
        warmup_steps: linear warm-up steps first (constant and cosine).
        min_learning_rate: where the cosine ends.
        early_stopping: stop when the validation loss has not improved for
            this many epochs, keeping the best weights (None: off).
        xla: compile the training step with XLA (off under a strategy).
        strategy: None, "mirrored" or "multi_worker" (`zoo.distribute`).
        precision: "float32", "mixed_float16" or "mixed_bfloat16".
        out_dir: run folder (checkpoint, ``history.csv``, ``loss.png``,
            ``model.keras``); None: nothing is written.
        fresh: start over, dropping the run folder's checkpoint.
        seed: seeds the weights, shuffling and masks.
        verbose: passed to ``fit``.
        log: called with each line of progress (`print`; `quiet` for none).
        **model_kwargs: passed to `build_bert_mlm` (sizes, dropout...); None
            values mean the factory's default.

    Returns:
        A `Run`; its history holds the masked-token loss, perplexity and
        accuracy per epoch (``val_`` ones on the validation text).

    Example:
        >>> run = train_masked_lm(epochs=2)
        >>> fill_mask(run.model, run.tokenizer, "O, she doth teach the t[MASK]rches")
    """
    import keras

    from zoo.data.pipeline import make_mlm_dataset
    from zoo.models.bert import build_bert_mlm
    from zoo.plotting import plot_history
    from zoo.saving import save
    from zoo.training import compile_model, train

    data = _data_name(corpus)
    corpus, tokenizer, _ = prepare_text(
        corpus,
        tokenizer=tokenizer,
        level=level,
        min_freq=min_freq,
        vocab_size=vocab_size,
    )
    log(f"data: {corpus!r}; {level}-level vocabulary of {tokenizer.vocab_size}")
    model_kwargs = {k: v for k, v in model_kwargs.items() if v is not None}
    model_kwargs.setdefault("context_length", seq_len)
    keras.utils.set_random_seed(seed)
    with building(strategy, precision):
        model = build_bert_mlm(tokenizer.vocab_size, compile=False, **model_kwargs)
        batches = {
            "seq_len": seq_len,
            "batch_size": batch_size,
            "vocab_size": tokenizer.vocab_size,
        }
        train_ds = make_mlm_dataset(
            tokenizer.encode(corpus.train[:train_chars]), seed=seed, **batches
        )
        valid_ds = make_mlm_dataset(
            tokenizer.encode(corpus.valid[:valid_chars]),
            seed=seed,
            training=False,
            **batches,
        )
        compile_model(  # in the scope and precision too
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
    summary = {
        "family": "bert",
        "task": "mlm",
        "data": data,
        "level": level,
        "epochs": epochs,
        "seq_len": seq_len,
        "parameters": int(model.count_params()),
        "val_perplexity": history["val_perplexity"][-1],
        "val_masked_accuracy": history["val_accuracy"][-1],
        "train_seconds": time.perf_counter() - start,
    }
    path = None
    if run_dir is not None:
        plot_history(history, run_dir / "loss.png")
        path = save(
            run_dir / "model.keras",
            model,
            tokenizer,
            generation={"top_k": 5},
            info=summary,
        )
    return Run(model, tokenizer, history, summary, path)


def evaluate_masked_lm(
    bundle, text: str, *, seq_len: int | None = None, batch_size: int = 32
) -> dict:
    """Masked-token accuracy and perplexity of a loaded masked LM on `text`.

    15% of the tokens are hidden (BERT's 80/10/10, seed 0), so the score is
    the same on every call. Bits per character is the bits per hidden token,
    log2(perplexity), times the text's tokens per character: the bits per
    hidden character, with the characters shared out evenly over the tokens
    (for a character model, log2(perplexity) itself). It compares masked
    models with different tokens, not a masked model with a causal one.

    Returns:
        {"perplexity", "accuracy", "tokens", "bits_per_character",
        "characters"}: "tokens" counts the hidden tokens.
    """
    from zoo.data.pipeline import make_mlm_dataset
    from zoo.evaluation import bits_per_character
    from zoo.training import compile_model

    seq_len = seq_len or int(bundle.info.get("seq_len", 64))
    ids = bundle.tokenizer.encode(text)
    ds = make_mlm_dataset(
        ids,
        seq_len=seq_len,
        batch_size=batch_size,
        vocab_size=bundle.tokenizer.vocab_size,
        training=False,
    )
    compile_model(bundle.model)  # for its Perplexity and MaskedAccuracy
    scores = bundle.model.evaluate(ds, verbose=0, return_dict=True)
    hidden = sum(int((y.numpy() != PAD_ID).sum()) for _, y in ds)
    perplexity = float(scores["perplexity"])
    return {
        "perplexity": perplexity,
        "accuracy": float(scores["accuracy"]),
        "tokens": hidden,
        "bits_per_character": bits_per_character(
            math.log(perplexity) * len(ids), len(text)
        ),
        "characters": len(text),
    }
