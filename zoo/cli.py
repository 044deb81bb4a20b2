"""The ``zoo`` command: list, train, generate and evaluate models.

    zoo list
    zoo train lstm                      # bundled Shakespeare, a few minutes on a CPU
    zoo train gru --data my_text.txt --epochs 3
    zoo train gpt                       # 4 layers, 4 heads, width 128, context 64
    zoo train bert                      # masked LM: fills in [MASK]
    zoo train gpt --strategy mirrored --precision mixed_bfloat16   # every GPU
    zoo train transformer               # dates -> ISO 8601 ("3 Mar 1998" -> 1998-03-03)
    zoo train seq2seq --data numbers    # or a TSV file of source<TAB>target pairs
    zoo generate runs/lstm/model.keras --prompt "ROMEO." --temperature 0.8
    zoo generate runs/bert/model.keras --prompt "To be, or not to b[MASK]"
    zoo generate runs/transformer/model.keras --prompt "Tuesday, 3 Mar 1998"
    zoo evaluate runs/lstm/model.keras --data shakespeare --split test
    zoo evaluate runs/transformer/model.keras  # exact match and BLEU on the test split

Bad arguments print a usage message; errors zoo foresees print one line
("zoo: error: ...") and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import textwrap
import time
import warnings
from pathlib import Path

# Model name -> (factory, extra factory kwargs, what it mirrors).
MODELS = {
    "simple_rnn": ("build_simple_rnn", {}, "document 000 4.1, document 004 4.1"),
    "elman_rnn": (
        "build_simple_rnn",
        {"from_equations": True},
        "document 002's equations (ElmanCell)",
    ),
    "lstm": ("build_lstm", {}, "document 000 4.2, document 002"),
    "gru": ("build_gru", {}, "document 003 section 5 (made causal)"),
    "ngram": ("NGramLM", {}, "document 000 4.1 概率语言模型"),
    "gpt": ("build_gpt", {}, "document 003 section 4 (w^T h, tied output)"),
    "bert": ("build_bert_mlm", {}, "document 001 section 5 (masked LM)"),
    "transformer": (
        "build_transformer",
        {},
        "document 004 2.3 and 4.2, document 001 section 3",
    ),
    "seq2seq": (
        "build_seq2seq",
        {},
        "document 000 4.3, document 001 section 2 (attention)",
    ),
}

# How each model is trained: a language model on text ("rnn", "gpt", "bert"),
# a count model ("ngram"), or an encoder-decoder on sentence pairs.
FAMILY = {
    "simple_rnn": "rnn",
    "elman_rnn": "rnn",
    "lstm": "rnn",
    "gru": "rnn",
    "ngram": "ngram",
    "gpt": "gpt",
    "bert": "bert",
    "transformer": "translation",
    "seq2seq": "translation",
}

# The `zoo train` options each model takes, with its default. None means "decided
# later" (min_freq by level, a GPT's sizes by its preset, greedy decoding when no
# beam width). An option given to a model that does not take it is refused.
# --out, --seed and --prompt go with every model.
_TEXT = {"data": "shakespeare", "level": "char", "min_freq": None}
_NEURAL = {"xla": True, "fresh": False}
# Language models also scale: every local GPU, 16-bit arithmetic.
_SCALE = {"strategy": None, "precision": "float32"}
# zoo.training.PRECISIONS, spelled out so that parsing needs no TensorFlow.
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
_RNN = {
    **_TEXT,
    "epochs": 3,
    "steps_per_epoch": 300,
    "seq_len": 64,
    "batch_size": 32,
    "embedding_dim": 128,
    "units": 256,
    "num_layers": 1,
    "dropout": 0.0,
    "learning_rate": 2e-3,
    **_NEURAL,
    **_SCALE,
}
_PAIRS = {
    "data": "dates",
    "epochs": 10,
    "steps_per_epoch": None,  # one pass over the training pairs
    "batch_size": 64,
}
TRAIN_DEFAULTS = {
    "simple_rnn": _RNN,
    "elman_rnn": _RNN,
    "lstm": _RNN,
    "gru": _RNN,
    "ngram": {**_TEXT, "level": "word", "order": 4, "smoothing": "kneser_ney"},
    "gpt": {
        **_TEXT,
        "preset": "laptop",
        "epochs": 3,
        "steps_per_epoch": 200,
        "seq_len": None,  # the context length
        "batch_size": 32,
        "context_length": None,  # the rest: the preset's
        "embedding_dim": None,
        "num_heads": None,
        "num_layers": None,
        "ff_dim": None,
        "dropout": 0.0,
        "learning_rate": 1e-3,
        **_NEURAL,
        **_SCALE,
    },
    "bert": {
        **_TEXT,
        "epochs": 3,
        "steps_per_epoch": 200,
        "seq_len": 64,
        "batch_size": 32,
        "context_length": None,  # the position table: --seq-len
        "embedding_dim": 128,
        "num_heads": 4,
        "num_layers": 2,
        "ff_dim": 512,
        "dropout": 0.1,
        "learning_rate": 1e-3,
        **_NEURAL,
        **_SCALE,
    },
    "transformer": {
        **_PAIRS,
        "epochs": 5,
        "embedding_dim": 128,
        "num_heads": 4,
        "num_layers": 2,
        "ff_dim": 256,
        "dropout": 0.1,
        "learning_rate": 1e-3,
        "beam_width": None,
        **_NEURAL,
    },
    "seq2seq": {
        **_PAIRS,
        "embedding_dim": 64,
        "units": 128,
        "dropout": 0.0,
        "learning_rate": 2e-3,
        "beam_width": None,
        **_NEURAL,
    },
}
ALWAYS = ("out", "seed", "prompt")
# Said when an option is refused, where the model has a near equivalent.
HINTS = {
    "units": "a Transformer's width is --embedding-dim and its feed-forward "
    "width --ff-dim",
    "seq_len": "a translation model reads whole sentence pairs",
    "level": "translation models read one character per token",
    "min_freq": "translation models keep every character of the training pairs",
    "num_layers": "a seq2seq model has one encoder and one decoder RNN",
}


def _defaults_epilog() -> str:
    """The per-model options and defaults, for ``zoo train --help``."""
    lines = ["options and defaults per model (other options are refused):"]
    seen = {}
    for model, table in TRAIN_DEFAULTS.items():
        seen.setdefault(id(table), []).append(model)
    for models in seen.values():
        table = TRAIN_DEFAULTS[models[0]]
        opts = " ".join(_show_default(k, v, models[0]) for k, v in table.items())
        lines += textwrap.wrap(
            f"{', '.join(models)}: {opts}",
            width=86,
            initial_indent="  ",
            subsequent_indent="      ",
            break_on_hyphens=False,
        )
    lines += [
        "",
        "gpt: --preset picks the sizes (tiny, laptop, gpt2_small); --context-length,",
        "  --embedding-dim, --num-heads, --num-layers and --ff-dim override them.",
        "  --seq-len is at most the context length (its default). A Transformer's",
        "  width is --embedding-dim, so gpt, bert and transformer refuse --units.",
        "translation: --data dates | numbers | numbers-zh (generated offline, seed",
        "  0) or a UTF-8 file of source<TAB>target lines; validation exact match and",
        "  BLEU are printed, and `zoo evaluate` scores the test split.",
    ]
    return "\n".join(lines)


def _show_default(key, value, model) -> str:
    """One option and its default, as ``zoo train --help`` shows it."""
    if key == "xla":
        return "--[no-]xla (on)"
    if key == "fresh":
        return "--fresh"
    if value is not None:
        return f"{_flag(key)} {value}"
    decided_later = {
        "min_freq": "(1 char, 2 word)",
        "seq_len": "(the context)",
        "context_length": "(preset)" if model == "gpt" else "(--seq-len)",
        "steps_per_epoch": "(one pass)",
        "beam_width": "(greedy)",
        "strategy": "(one device)",
    }
    return f"{_flag(key)} {decided_later.get(key, '(preset)')}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zoo", description="A Keras model zoo for teaching language models."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("list", help="list the models and the listings they reproduce")

    train = sub.add_parser(
        "train",
        help="train a model and save it",
        epilog=_defaults_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument(
        "model",
        choices=sorted(MODELS),
        metavar="MODEL",
        help=f"one of: {', '.join(sorted(MODELS))}",
    )
    train.add_argument(
        "--data",
        default=None,
        help="language models: 'shakespeare' (bundled), a UTF-8 text file or "
        "folder, or a Penn Treebank folder; transformer and seq2seq: 'dates', "
        "'numbers', 'numbers-zh' or a TSV file of pairs",
    )
    train.add_argument(
        "--level",
        choices=["char", "word"],
        default=None,
        help="tokens: characters or words (default: char; word for ngram)",
    )
    train.add_argument(
        "--min-freq",
        type=int,
        default=None,
        help="rarer tokens become <unk> (default: 1 char, 2 word)",
    )
    train.add_argument("--epochs", type=_positive, default=None)
    train.add_argument(
        "--steps-per-epoch", type=_positive, default=None, help="batches per epoch"
    )
    train.add_argument(
        "--seq-len",
        type=_positive,
        default=None,
        help="tokens per training sequence (gpt: at most its context)",
    )
    train.add_argument("--batch-size", type=_positive, default=None)
    train.add_argument(
        "--embedding-dim", type=_positive, default=None, help="(Transformers: C)"
    )
    train.add_argument(
        "--units", type=_positive, default=None, help="RNN state size (RNNs, seq2seq)"
    )
    train.add_argument("--num-layers", type=_positive, default=None)
    train.add_argument(
        "--num-heads", type=_positive, default=None, help="attention heads"
    )
    train.add_argument(
        "--ff-dim", type=_positive, default=None, help="feed-forward width"
    )
    train.add_argument(
        "--context-length",
        type=_positive,
        default=None,
        help="positions the model reads at most (gpt, bert)",
    )
    train.add_argument(
        "--preset",
        choices=["tiny", "laptop", "gpt2_small"],
        default=None,
        help="gpt sizes, a row of zoo.models.gpt.GPT_PRESETS (default: laptop)",
    )
    train.add_argument("--dropout", type=float, default=None)
    train.add_argument("--learning-rate", type=float, default=None)
    train.add_argument(
        "--xla",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="compile training steps with XLA (default: on; --no-xla to compare)",
    )
    train.add_argument(
        "--strategy",
        choices=["mirrored"],
        default=None,
        help="train on every local GPU at once (tf.distribute.MirroredStrategy; "
        "--batch-size is split across them); without XLA",
    )
    train.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None,
        help="mixed_float16 or mixed_bfloat16: 16-bit arithmetic, float32 "
        "weights and loss (default: float32)",
    )
    train.add_argument("--order", type=_positive, default=None, help="ngram order")
    train.add_argument(
        "--smoothing",
        default=None,
        choices=["kneser_ney", "add_k", "mle"],
        help="ngram smoothing (default: kneser_ney)",
    )
    train.add_argument(
        "--beam-width",
        type=_positive,
        default=None,
        help="translation: score with beam search (default: greedy)",
    )
    train.add_argument(
        "--out",
        default=None,
        help="run folder (default: runs/MODEL); rerunning with the "
        "same folder resumes from the last finished epoch",
    )
    train.add_argument(
        "--fresh",
        action="store_true",
        default=None,
        help="start over: drop the run folder's checkpoint instead of resuming",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--prompt",
        default=None,
        help="prompt for the final sample (bert: text with [MASK]; "
        "translation: a source sentence)",
    )

    gen = sub.add_parser(
        "generate",
        help="sample text, fill in [MASK] (bert) or translate (transformer, seq2seq)",
    )
    gen.add_argument("model_file")
    gen.add_argument("--prompt", required=True)
    gen.add_argument("--max-new-tokens", type=_positive, default=None)
    gen.add_argument("--temperature", type=float, default=None)
    gen.add_argument(
        "--top-k", type=_positive, default=None, help="(bert: candidates per [MASK])"
    )
    gen.add_argument("--top-p", type=float, default=None)
    gen.add_argument("--beam-width", type=_positive, default=None)
    gen.add_argument("--seed", type=int, default=None)

    ev = sub.add_parser(
        "evaluate",
        help="held-out perplexity (bert: masked tokens; translation: exact match, "
        "BLEU)",
    )
    ev.add_argument("model_file")
    ev.add_argument(
        "--data",
        default=None,
        help="default: the data the model was trained on (else shakespeare)",
    )
    ev.add_argument("--split", choices=["train", "valid", "test"], default="test")
    ev.add_argument("--batch-size", type=_positive, default=32)
    ev.add_argument(
        "--beam-width", type=_positive, default=None, help="translation models only"
    )
    parser.commands = {"train": train, "generate": gen, "evaluate": ev}
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _resolve_train_args(parser: argparse.ArgumentParser, args) -> None:
    """Refuse options the model does not take; fill in the model's defaults.

    Runs before anything heavy is imported (TensorFlow only for a GPT's
    preset table), so a bad option is a usage error (exit status 2) at once,
    not a traceback after minutes. `parser` is the ``zoo train`` parser.
    """
    table = TRAIN_DEFAULTS[args.model]
    xla_given = getattr(args, "xla", None)
    options = [k for k in vars(args) if k not in ("command", "model", *ALWAYS)]
    for dest in options:
        if getattr(args, dest) is None:
            setattr(args, dest, table.get(dest))
        elif dest not in table:
            takes = " ".join(_flag(k) for k in table)
            hint = HINTS.get(dest)
            parser.error(
                f"{_flag(dest)} does not apply to {args.model}"
                + (f" ({hint})" if hint else "")
                + f"; {args.model} takes {takes}"
            )
    if args.min_freq is None and "min_freq" in table:
        args.min_freq = 2 if args.level == "word" else 1
    if args.dropout is not None and not 0.0 <= args.dropout < 1.0:
        parser.error(f"--dropout must be in [0, 1), got {args.dropout}")
    if args.learning_rate is not None and args.learning_rate <= 0:
        parser.error(f"--learning-rate must be > 0, got {args.learning_rate}")
    if args.strategy is not None:
        if xla_given:
            parser.error(
                "--xla does not work with --strategy: XLA cannot compile a "
                "distributed training step (drop --xla)"
            )
        args.xla = False
    if args.model == "gpt":
        from zoo.models.gpt import GPT_PRESETS

        if args.context_length is None:
            args.context_length = GPT_PRESETS[args.preset]["context_length"]
    if "context_length" in table:
        if args.seq_len is None:
            args.seq_len = args.context_length
        if args.context_length is None:
            args.context_length = args.seq_len
        if args.seq_len > args.context_length:
            parser.error(
                f"--seq-len {args.seq_len} is longer than {args.model}'s "
                f"context of {args.context_length} positions; use --seq-len "
                f"{args.context_length} or less, or a larger --context-length"
            )


def cmd_list(args) -> None:
    from zoo import listings

    rows = [("MODEL", "FACTORY", "MIRRORS", "LISTINGS")]
    for name, (factory, _, mirrors) in MODELS.items():
        ids = ", ".join(e.id for e in listings.for_factory(factory)) or "-"
        rows.append((name, factory, mirrors, ids))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print(
            " ".join(f"{cell:<{w}}" for cell, w in zip(row, widths, strict=False)),
            row[3],
        )
    print(
        "\ngpt has no listing: document 003 section 5 calls a bidirectional GRU "
        "'GPT-2' (listing 003-s5,\nmade causal by build_gru); gpt is the model "
        "that its section 4 describes."
    )
    print("\nListings of the source texts (zoo.listings.get(ID) for code and errata):")
    for entry in listings.LISTINGS.values():
        print(f"  {entry.id:<8} doc {entry.document} {entry.section}: {entry.title}")
        print(f"  {'':<8} -> {entry.zoo_call}  ({len(entry.errata)} errata)")


def _tokenize(corpus, level, min_freq):
    from zoo.text import build_tokenizer

    tokenizer = build_tokenizer(corpus.train, level=level, min_freq=min_freq)
    return tokenizer, {s: tokenizer.encode(t) for s, t in corpus.splits.items()}


def cmd_train(args) -> None:
    out = Path(args.out or Path("runs") / args.model)
    if FAMILY[args.model] == "translation":
        _train_translation(args, out)
        return
    from zoo.data import load_corpus

    corpus = load_corpus(args.data)
    tokenizer, ids = _tokenize(corpus, args.level, args.min_freq)
    print(f"data: {corpus!r}; {args.level}-level vocabulary of {tokenizer.vocab_size}")
    # A GPT's prompt and sample share its context: a short default prompt.
    prompt_chars = args.context_length // 4 if args.model == "gpt" else 40
    prompt = args.prompt or corpus.valid[:prompt_chars]
    if args.model == "ngram":
        _train_ngram(args, tokenizer, ids, out, prompt)
    else:
        _train_neural(args, tokenizer, ids, out, prompt)


def _train_ngram(args, tokenizer, ids, out, prompt):
    from zoo import generate, save
    from zoo.models.ngram import NGramLM

    start = time.perf_counter()
    lm = NGramLM(args.order, smoothing=args.smoothing).fit(
        ids["train"], vocab_size=tokenizer.vocab_size
    )
    fit_s = time.perf_counter() - start
    ppl = lm.perplexity(ids["valid"])
    print(f"fit in {fit_s:.1f} s; validation perplexity {ppl:.2f}")
    path = save(
        out / "model.ngram.zip",
        lm,
        tokenizer,
        generation={"max_new_tokens": 60, "temperature": 1.0},
        info={"data": args.data, "val_perplexity": ppl},
    )
    print(f"saved {path}")
    print("sample:", generate(lm, tokenizer, prompt, max_new_tokens=40, seed=args.seed))


def _build_language_model(args, vocab_size):
    """The untrained model of a text-trained neural MODEL, sized by the args."""
    import zoo

    family = FAMILY[args.model]
    sizes = {
        "embedding_dim": args.embedding_dim,
        "num_heads": args.num_heads,
        "num_layers": args.num_layers,
        "ff_dim": args.ff_dim,
    }
    if family == "gpt":
        from zoo.models.gpt import build_gpt_preset

        overrides = {k: v for k, v in sizes.items() if v is not None}
        return build_gpt_preset(
            args.preset,
            vocab_size,
            context_length=args.context_length,
            dropout=args.dropout,
            compile=False,
            **overrides,
        )
    if family == "bert":
        from zoo.models.bert import build_bert_mlm

        return build_bert_mlm(
            vocab_size,
            max_length=args.context_length,
            dropout=args.dropout,
            compile=False,
            **sizes,
        )
    factory_name, extra, _ = MODELS[args.model]
    return getattr(zoo, factory_name)(
        vocab_size,
        embedding_dim=args.embedding_dim,
        units=args.units,
        num_layers=args.num_layers,
        dropout=args.dropout,
        compile=False,
        **extra,
    )


def _language_datasets(args, ids, vocab_size):
    """(train, valid) batches: next-token windows, or masked windows for bert."""
    batches = {"seq_len": args.seq_len, "batch_size": args.batch_size}
    if FAMILY[args.model] == "bert":
        from zoo.models.bert import make_mlm_dataset

        batches["vocab_size"] = vocab_size
        return (
            make_mlm_dataset(ids["train"], seed=args.seed, **batches),
            make_mlm_dataset(ids["valid"], seed=args.seed, training=False, **batches),
        )
    from zoo.data.pipeline import make_dataset

    return (
        make_dataset(ids["train"], seed=args.seed, **batches),
        make_dataset(ids["valid"], training=False, **batches),
    )


def _print_resume_note(out: Path, fresh: bool) -> None:
    backup = out / "backup"
    if fresh and backup.exists():
        shutil.rmtree(backup)
    if backup.exists():
        print(
            f"resuming from the checkpoint in {backup} (--epochs counts the epochs "
            "already done; --fresh starts over)"
        )
    else:
        print(f"run folder {out}: rerun the same command to resume if interrupted")


def _train_neural(args, tokenizer, ids, out, prompt):
    import keras

    import zoo
    from zoo.plotting import plot_history
    from zoo.training import compile_model, make_strategy, precision, train

    family = FAMILY[args.model]
    keras.utils.set_random_seed(args.seed)
    strategy = make_strategy(args.strategy) if args.strategy else None
    # Layers take their precision, and variables their devices, when created.
    with strategy.scope() if strategy else contextlib.nullcontext():
        with precision(args.precision):
            model = _build_language_model(args, tokenizer.vocab_size)
        compile_model(model, learning_rate=args.learning_rate, jit_compile=args.xla)
    train_ds, valid_ds = _language_datasets(args, ids, tokenizer.vocab_size)
    print(f"model: {model.name}, {model.count_params():,} parameters")
    if strategy is not None:
        n = strategy.num_replicas_in_sync
        print(
            f"{args.strategy} strategy: {n} replica{'s' if n > 1 else ''}, "
            f"{args.batch_size} sequences per step in all; no XLA"
        )
    _print_resume_note(out, args.fresh)
    start = time.perf_counter()
    history = train(
        model,
        train_ds,
        valid_ds=valid_ds,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        run_dir=out,
    )
    seconds = time.perf_counter() - start
    ppl = history["val_perplexity"][-1]
    plot_history(history, out / "loss.png")
    info = {
        "data": args.data,
        "level": args.level,
        "epochs": args.epochs,
        "seq_len": args.seq_len,
        "parameters": int(model.count_params()),
        "val_perplexity": ppl,
        "train_seconds": seconds,
    }
    if family == "bert":
        info.update(task="mlm", val_masked_accuracy=history["val_accuracy"][-1])
        generation = {"top_k": 5}
    else:
        info["task"] = "lm"
        max_new = 200 if args.level == "char" else 60
        if family == "gpt":
            # Past its context, generation slides a window (zoo.generation).
            info.update(preset=args.preset, context_length=args.context_length)
        generation = {
            "max_new_tokens": max_new,
            "temperature": 0.8,
            "top_k": None,
            "top_p": None,
        }
    path = zoo.save(
        out / "model.keras", model, tokenizer, generation=generation, info=info
    )
    what = "masked-token perplexity" if family == "bert" else "perplexity"
    print(
        f"validation {what} {ppl:.3f} after {args.epochs} epochs "
        f"({seconds:.0f} s); saved {path} and {out / 'loss.png'}"
    )
    if family == "bert":
        print(f"validation masked-token accuracy {info['val_masked_accuracy']:.3f}")
        demo = args.prompt or _mask_one(prompt[: args.context_length])
        _print_fill_mask(model, tokenizer, demo, top_k=5)
        return
    sample = zoo.generate(
        model,
        tokenizer,
        prompt,
        max_new_tokens=max_new,
        temperature=0.8,
        seed=args.seed,
    )
    print(f"sample:\n{sample}")


def _mask_one(text: str) -> str:
    """A demo prompt for a masked LM: `text` with one letter hidden."""
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    if not letters:
        return text + "[MASK]"
    i = letters[len(letters) // 2]
    return text[:i] + "[MASK]" + text[i + 1 :]


def _print_fill_mask(model, tokenizer, text: str, *, top_k: int) -> None:
    from zoo.models.bert import MASK_TOKEN, fill_mask

    candidates = fill_mask(model, tokenizer, text, top_k=top_k)
    pieces = text.split(MASK_TOKEN)
    best = pieces[0] + "".join(
        f"{cands[0][0]}{piece}"
        for cands, piece in zip(candidates, pieces[1:], strict=True)
    )
    print(f"{text}\n-> {best}")
    for i, cands in enumerate(candidates, 1):
        shown = ", ".join(f"{tok!r} {p:.3f}" for tok, p in cands)
        print(f"[MASK] {i}: {shown}")


def _train_translation(args, out):
    from zoo.data.translation import GENERATED, load_translation
    from zoo.translation import train_translation

    corpus = load_translation(args.data)  # generated with seed 0: see cmd_evaluate
    # Saved with the model: `zoo evaluate` finds a file again from any folder.
    data = args.data if args.data in GENERATED else str(Path(args.data).resolve())
    print(f"data: {corpus!r}")
    sizes = ("embedding_dim", "units", "num_heads", "num_layers", "ff_dim")
    model_kwargs = {
        k: getattr(args, k) for k in sizes if k in TRAIN_DEFAULTS[args.model]
    }
    _print_resume_note(out, args.fresh)
    summary = train_translation(
        args.model,
        corpus,
        epochs=args.epochs,
        batch_size=args.batch_size,
        steps_per_epoch=args.steps_per_epoch,
        out_dir=out,
        seed=args.seed,
        beam_width=args.beam_width,
        dropout=args.dropout,
        learning_rate=args.learning_rate,
        jit_compile=args.xla,
        data=data,
        **model_kwargs,
    )
    valid = summary["valid"]
    print(
        f"model: {args.model}, {summary['parameters']:,} parameters; "
        f"{summary['seconds']:.0f} s in all"
    )
    print(
        f"validation exact match {valid['exact_match']:.3f}, BLEU "
        f"{valid['bleu']:.2f}, perplexity {valid['perplexity']:.3f} over "
        f"{valid['pairs']:,} pairs after {args.epochs} epochs"
    )
    print(f"saved {summary['path']} and {out / 'loss.png'}")
    for example in valid["examples"][:4]:
        print(
            f"  {example['source']!r} -> {example['prediction']!r} "
            f"(reference {example['reference']!r})"
        )
    if args.prompt:
        import zoo

        print(_translate(zoo.load(summary["path"]), args.prompt, {}))


def _translate(bundle, prompt: str, overrides: dict) -> str:
    from zoo.generation import translate

    settings = {
        k: v
        for k, v in bundle.generation.items()
        if k in ("max_new_tokens", "beam_width", "temperature", "top_k", "top_p")
    }
    settings.update(overrides)
    settings.setdefault("seed", 0)
    (target,) = translate(
        bundle.model, bundle.source_tokenizer, bundle.tokenizer, [prompt], **settings
    )
    return target


def _is_masked_lm(bundle) -> bool:
    if bundle.info.get("task") == "mlm":
        return True
    from zoo.layers.transformer import TransformerEncoderBlock
    from zoo.models.gpt import TiedEmbedding

    layers = getattr(bundle.model, "layers", ())
    return any(isinstance(lay, TiedEmbedding) for lay in layers) and any(
        isinstance(lay, TransformerEncoderBlock) for lay in layers
    )


def cmd_generate(args) -> None:
    import zoo
    from zoo.errors import ZooError

    bundle = zoo.load(args.model_file)
    keys = ("max_new_tokens", "temperature", "top_k", "top_p", "beam_width", "seed")
    overrides = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
    if bundle.source_tokenizer is not None:
        print(_translate(bundle, args.prompt, overrides))
        return
    if _is_masked_lm(bundle):
        unused = sorted(set(overrides) - {"top_k"})
        if unused:
            raise ZooError(
                f"{', '.join(map(_flag, unused))}: not for a masked language "
                "model, which fills in [MASK] rather than sampling; --top-k sets "
                "how many candidates are shown"
            )
        top_k = overrides.get("top_k", bundle.generation.get("top_k", 5))
        _print_fill_mask(bundle.model, bundle.tokenizer, args.prompt, top_k=top_k)
        return
    settings = {**bundle.generation, **overrides}
    print(zoo.generate(bundle.model, bundle.tokenizer, args.prompt, **settings))


def cmd_evaluate(args) -> None:
    import zoo
    from zoo.errors import ZooError

    bundle = zoo.load(args.model_file)
    if bundle.source_tokenizer is not None:
        _evaluate_translation(args, bundle)
        return
    if args.beam_width is not None:
        raise ZooError("--beam-width applies to translation models only")
    from zoo.data import load_corpus

    data = args.data or bundle.info.get("data") or "shakespeare"
    text = getattr(load_corpus(data), args.split)
    ids = bundle.tokenizer.encode(text)
    seq_len = int(bundle.info.get("seq_len", 64))
    if hasattr(bundle.model, "perplexity"):
        result = {"perplexity": bundle.model.perplexity(ids), "tokens": len(ids)}
    elif _is_masked_lm(bundle):
        from zoo.models.bert import make_mlm_dataset
        from zoo.training import compile_model

        ds = make_mlm_dataset(
            ids,
            seq_len=seq_len,
            batch_size=args.batch_size,
            vocab_size=bundle.tokenizer.vocab_size,
            training=False,
        )
        compile_model(bundle.model)  # for its Perplexity and MaskedAccuracy
        scores = bundle.model.evaluate(ds, verbose=0, return_dict=True)
        print(
            f"{args.split} masked-token accuracy {scores['accuracy']:.3f}, "
            f"masked-token perplexity {scores['perplexity']:.3f} ({data}; 15% of "
            "the tokens hidden, seed 0)"
        )
        return
    else:
        from zoo.data.pipeline import make_dataset
        from zoo.training import evaluate

        ds = make_dataset(
            ids, seq_len=seq_len, batch_size=args.batch_size, training=False
        )
        result = evaluate(bundle.model, ds)
    print(
        f"{args.split} perplexity {result['perplexity']:.3f} over "
        f"{result['tokens']:,} tokens ({data})"
    )


def _evaluate_translation(args, bundle) -> None:
    from zoo.data.translation import GENERATED, load_translation
    from zoo.errors import ZooError
    from zoo.translation import evaluate_translation

    data = args.data or bundle.info.get("data")
    if data is None or (
        args.data is None and data not in GENERATED and not Path(data).is_file()
    ):
        raise ZooError(
            f"this model was trained on pairs from {data!r}; give that file "
            "with --data PATH"
        )
    # The generated tasks and file splits are seeded (seed 0), so this is the
    # same test split that `zoo train` held out.
    pairs = load_translation(data).splits[args.split]
    beam_width = args.beam_width or bundle.generation.get("beam_width")
    scores = evaluate_translation(
        bundle, pairs, beam_width=beam_width, batch_size=args.batch_size
    )
    decoding = f"beam search, width {beam_width}" if beam_width else "greedy"
    print(
        f"{args.split} exact match {scores['exact_match']:.3f}, BLEU "
        f"{scores['bleu']:.2f}, perplexity {scores['perplexity']:.3f} over "
        f"{scores['pairs']:,} pairs ({data}; {decoding})"
    )


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"zoo: warning: {message}", file=sys.stderr)


def main(argv=None) -> int:
    """Entry point of the ``zoo`` command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "train":
        _resolve_train_args(parser.commands["train"], args)
    from zoo.errors import ZooError, ZooWarning

    warnings.showwarning = _show_warning
    warnings.simplefilter("always", ZooWarning)
    from zoo._tensorflow import import_tensorflow

    import_tensorflow()  # every command uses it; its start-up lines shown once
    commands = {
        "list": cmd_list,
        "train": cmd_train,
        "generate": cmd_generate,
        "evaluate": cmd_evaluate,
    }
    try:
        commands[args.command](args)
    except ZooError as err:
        print(f"zoo: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("zoo: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    return 0
