"""The ``zoo`` command: list, train, generate and evaluate models.

    zoo list
    zoo train lstm                      # bundled Shakespeare, a few minutes on a CPU
    zoo train gru --data my_text.txt --epochs 3
    zoo generate runs/lstm/model.keras --prompt "ROMEO." --temperature 0.8
    zoo evaluate runs/lstm/model.keras --data shakespeare --split test

Bad arguments print a usage message; errors zoo foresees print one line
("zoo: error: ...") and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
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
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zoo", description="A Keras model zoo for teaching language models."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("list", help="list the models and the listings they reproduce")

    train = sub.add_parser("train", help="train a model and save it")
    train.add_argument(
        "model",
        choices=sorted(MODELS),
        metavar="MODEL",
        help=f"one of: {', '.join(sorted(MODELS))}",
    )
    train.add_argument(
        "--data",
        default="shakespeare",
        help="'shakespeare' (bundled), a UTF-8 text file or folder, "
        "or a Penn Treebank folder (default: shakespeare)",
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
    train.add_argument("--epochs", type=_positive, default=4)
    train.add_argument(
        "--steps-per-epoch",
        type=_positive,
        default=300,
        help="batches per epoch (default 300)",
    )
    train.add_argument("--seq-len", type=_positive, default=64)
    train.add_argument("--batch-size", type=_positive, default=32)
    train.add_argument("--embedding-dim", type=_positive, default=128)
    train.add_argument("--units", type=_positive, default=256)
    train.add_argument("--num-layers", type=_positive, default=1)
    train.add_argument("--dropout", type=float, default=0.0)
    train.add_argument("--learning-rate", type=float, default=2e-3)
    train.add_argument("--order", type=_positive, default=4, help="ngram order")
    train.add_argument(
        "--smoothing",
        default="kneser_ney",
        choices=["kneser_ney", "add_k", "mle"],
        help="ngram smoothing",
    )
    train.add_argument(
        "--out",
        default=None,
        help="run folder (default: runs/MODEL); rerunning with the "
        "same folder resumes from the last finished epoch",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--prompt", default=None, help="prompt for the final sample")

    gen = sub.add_parser("generate", help="sample text from a saved model")
    gen.add_argument("model_file")
    gen.add_argument("--prompt", required=True)
    gen.add_argument("--max-new-tokens", type=_positive, default=None)
    gen.add_argument("--temperature", type=float, default=None)
    gen.add_argument("--top-k", type=_positive, default=None)
    gen.add_argument("--top-p", type=float, default=None)
    gen.add_argument("--seed", type=int, default=None)

    ev = sub.add_parser("evaluate", help="held-out perplexity of a saved model")
    ev.add_argument("model_file")
    ev.add_argument("--data", default="shakespeare")
    ev.add_argument("--split", choices=["train", "valid", "test"], default="test")
    ev.add_argument("--batch-size", type=_positive, default=32)
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


def cmd_list(args) -> None:
    from zoo import listings

    print(f"{'MODEL':<11} {'FACTORY':<18} {'MIRRORS':<42} LISTINGS")
    for name, (factory, _, mirrors) in MODELS.items():
        ids = ", ".join(e.id for e in listings.for_factory(factory)) or "-"
        print(f"{name:<11} {factory:<18} {mirrors:<42} {ids}")
    print("\nListings of the source texts (zoo.listings.get(ID) for code and errata):")
    for entry in listings.LISTINGS.values():
        print(f"  {entry.id:<8} doc {entry.document} {entry.section}: {entry.title}")
        print(f"  {'':<8} -> {entry.zoo_call}  ({len(entry.errata)} errata)")


def _tokenize(corpus, level, min_freq):
    from zoo.text import build_tokenizer

    tokenizer = build_tokenizer(corpus.train, level=level, min_freq=min_freq)
    return tokenizer, {s: tokenizer.encode(t) for s, t in corpus.splits.items()}


def cmd_train(args) -> None:
    from zoo.data import load_corpus

    out = Path(args.out or Path("runs") / args.model)
    level = args.level or ("word" if args.model == "ngram" else "char")
    min_freq = args.min_freq or (2 if level == "word" else 1)
    corpus = load_corpus(args.data)
    tokenizer, ids = _tokenize(corpus, level, min_freq)
    print(f"data: {corpus!r}; {level}-level vocabulary of {tokenizer.vocab_size}")
    prompt = args.prompt or corpus.valid[:40]
    if args.model == "ngram":
        _train_ngram(args, tokenizer, ids, out, prompt)
    else:
        _train_neural(args, tokenizer, ids, out, prompt, level)


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


def _train_neural(args, tokenizer, ids, out, prompt, level):
    import keras

    import zoo
    from zoo.data.pipeline import make_dataset
    from zoo.training import compile_model, plot_history, train

    factory_name, extra, _ = MODELS[args.model]
    keras.utils.set_random_seed(args.seed)
    model = getattr(zoo, factory_name)(
        tokenizer.vocab_size,
        embedding_dim=args.embedding_dim,
        units=args.units,
        num_layers=args.num_layers,
        dropout=args.dropout,
        compile=False,
        **extra,
    )
    compile_model(model, learning_rate=args.learning_rate)
    batches = {"seq_len": args.seq_len, "batch_size": args.batch_size}
    train_ds = make_dataset(ids["train"], seed=args.seed, **batches)
    valid_ds = make_dataset(ids["valid"], training=False, **batches)
    print(
        f"model: {model.name}, {model.count_params():,} parameters; "
        f"run folder {out} (rerun to resume)"
    )
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
    generation = {
        "max_new_tokens": 200 if level == "char" else 60,
        "temperature": 0.8,
        "top_k": None,
        "top_p": None,
    }
    path = zoo.save(
        out / "model.keras",
        model,
        tokenizer,
        generation=generation,
        info={
            "data": args.data,
            "level": level,
            "epochs": args.epochs,
            "seq_len": args.seq_len,
            "val_perplexity": ppl,
            "train_seconds": seconds,
        },
    )
    print(
        f"validation perplexity {ppl:.3f} after {args.epochs} epochs "
        f"({seconds:.0f} s); saved {path} and {out / 'loss.png'}"
    )
    sample = zoo.generate(
        model, tokenizer, prompt, max_new_tokens=200, temperature=0.8, seed=args.seed
    )
    print(f"sample:\n{sample}")


def cmd_generate(args) -> None:
    import zoo

    bundle = zoo.load(args.model_file)
    settings = dict(bundle.generation)
    for key in ("max_new_tokens", "temperature", "top_k", "top_p", "seed"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    print(zoo.generate(bundle.model, bundle.tokenizer, args.prompt, **settings))


def cmd_evaluate(args) -> None:
    import zoo
    from zoo.data import load_corpus

    bundle = zoo.load(args.model_file)
    text = getattr(load_corpus(args.data), args.split)
    ids = bundle.tokenizer.encode(text)
    if hasattr(bundle.model, "perplexity"):
        result = {"perplexity": bundle.model.perplexity(ids), "tokens": len(ids)}
    else:
        from zoo.data.pipeline import make_dataset
        from zoo.training import evaluate

        seq_len = int(bundle.info.get("seq_len", 64))
        ds = make_dataset(
            ids, seq_len=seq_len, batch_size=args.batch_size, training=False
        )
        result = evaluate(bundle.model, ds)
    print(
        f"{args.split} perplexity {result['perplexity']:.3f} over "
        f"{result['tokens']:,} tokens ({args.data})"
    )


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"zoo: warning: {message}", file=sys.stderr)


def main(argv=None) -> int:
    """Entry point of the ``zoo`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    from zoo.errors import ZooError, ZooWarning

    warnings.showwarning = _show_warning
    warnings.simplefilter("always", ZooWarning)
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
