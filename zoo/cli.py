"""The ``zoo`` command: list, train, generate and evaluate models; clean text.

    zoo list
    zoo train lstm                      # bundled Shakespeare, a few minutes on a CPU
    zoo train gru --data my_text.txt --epochs 3
    zoo train gru --data tang           # bundled Tang poems, Chinese characters
    zoo train gpt                       # 4 layers, 4 heads, width 128, context 64
    zoo train bert                      # masked LM: fills in [MASK]
    zoo train gpt --strategy mirrored --precision mixed_bfloat16   # every GPU
    zoo train transformer               # dates -> ISO 8601 ("3 Mar 1998" -> 1998-03-03)
    zoo train seq2seq --data numbers    # or a TSV file of source<TAB>target pairs
    zoo train classifier --data genre --pretrained runs/bert/model.keras
    zoo train tagger --data names       # the plays' character names, BIO tags
    zoo generate runs/lstm/model.keras --prompt "ROMEO." --temperature 0.8
    zoo generate runs/bert/model.keras --prompt "To be, or not to b[MASK]"
    zoo generate runs/transformer/model.keras --prompt "Tuesday, 3 Mar 1998"
    zoo evaluate runs/lstm/model.keras --data shakespeare --split test
    zoo evaluate runs/transformer/model.keras  # exact match and BLEU on the test split
    zoo evaluate runs/classifier/model.keras   # accuracy, macro-F1, confusion matrix
    zoo generate runs/classifier/model.keras --prompt "My lord, the king is dead."
    zoo search runs/bert/model.keras --query "a horse, a horse" --top-k 5
    zoo clean raw.txt --out cleaned.txt --report report.json   # dedup, filter, mask

Bad arguments print a usage message; errors zoo foresees print one line
("zoo: error: ...") and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import warnings
from pathlib import Path

from zoo import registry
from zoo.registry import ALWAYS, FAMILIES, LEVELS, OPTIMIZERS, PRECISIONS, SCHEDULES

# What `zoo train MODEL` takes is the family's entry in `zoo.registry`: its
# options and defaults, its recipe. This module parses and dispatches.

# The bundled Chinese corpora: characters are their tokens by default.
CHINESE_CORPORA = frozenset({"tang", "classics"})


def _defaults_epilog() -> str:
    """The per-model options and defaults, for ``zoo train --help``."""
    lines = ["options and defaults per model (other options are refused):"]
    seen = {}
    for family in FAMILIES.values():
        seen.setdefault(tuple(family.options.items()), []).append(family.name)
    for models in seen.values():
        table = FAMILIES[models[0]].options
        # A no-break space inside "--flag value" keeps the pair on one line.
        opts = " ".join(
            _show_default(k, v, models[0]).replace(" ", "\u00a0")
            for k, v in table.items()
        )
        wrapped = textwrap.wrap(
            f"{', '.join(models)}: {opts}",
            width=86,
            initial_indent="  ",
            subsequent_indent="      ",
            break_on_hyphens=False,
        )
        lines += [line.replace("\u00a0", " ") for line in wrapped]
    lines += [
        "",
        "gpt: --preset picks the sizes (tiny, laptop, gpt2_small); --context-length,",
        "  --embedding-dim, --num-heads, --num-layers and --ff-dim override them.",
        "  --seq-len is at most the context length (its default). A Transformer's",
        "  width is --embedding-dim, so gpt, bert and transformer refuse --units.",
        "translation: --data dates | numbers | numbers-zh (generated offline, seed",
        "  0) or a UTF-8 file of source<TAB>target lines; validation exact match and",
        "  BLEU are printed, and `zoo evaluate` scores the test split.",
        "classifier, tagger: a BERT encoder fine-tuned; --pretrained MODEL_FILE (a",
        "  zoo train bert file) fixes the tokenizer and encoder sizes.",
    ]
    return "\n".join(lines)


def _show_default(key, value, model) -> str:
    """One option and its default, as ``zoo train --help`` shows it."""
    if key == "xla":
        return "--[no-]xla (on)"
    if key == "fresh":
        return "--fresh"
    if key == "stateful":
        return "--stateful (off)"
    if value is not None:
        return f"{_flag(key)} {value}"
    decided_later = {
        "min_freq": "(1 char, 2 word)",
        "seq_len": "(128, or fewer if the encoder has fewer positions)"
        if "pretrained" in registry.FAMILIES[model].options
        else "(the context)",
        "context_length": "(preset)" if model == "gpt" else "(--seq-len)",
        "steps_per_epoch": "(one pass)",
        "beam_width": "(greedy)",
        "strategy": "(one device)",
        "early_stopping": "(off)",
        "warmup_steps": "(5% of the run)",
        "min_learning_rate": "(a tenth of the rate)",
        "vocab_size": "(2000 bpe/wordpiece, else all)",
        "pretrained": "(none: from scratch)",
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
        choices=sorted(FAMILIES),
        metavar="MODEL",
        help=f"one of: {', '.join(sorted(FAMILIES))}",
    )
    train.add_argument(
        "--data",
        default=None,
        help="language models: 'shakespeare' (bundled), 'tang' (bundled Tang "
        "poems, Chinese), 'classics' (bundled 诗经 and 论语, Chinese), a UTF-8 "
        "text file or "
        "folder, or a Penn Treebank folder; transformer and seq2seq: 'dates', "
        "'numbers', 'numbers-zh' or a TSV file of pairs; classifier: 'genre' "
        "(passages of the plays), 'tang-forms' (Tang poems by form) or a TSV "
        "file of text<TAB>label lines; tagger: 'names'",
    )
    train.add_argument(
        "--level",
        choices=LEVELS,
        default=None,
        help="tokens: characters, words, or subwords trained on the training "
        "split: bpe (GPT-2's byte-level BPE) or wordpiece (BERT's) (default: "
        "char; word for ngram, but char on --data tang or classics)",
    )
    train.add_argument(
        "--vocab-size",
        type=_positive,
        default=None,
        help="ids in all, reserved ones included: what bpe and wordpiece are "
        "trained to (default 2000); char and word keep the most frequent "
        "(default: all)",
    )
    train.add_argument(
        "--min-freq",
        type=int,
        default=None,
        help="rarer tokens become <unk> (default: 1 char, 2 word; 1 for a Penn "
        "Treebank folder, whose words are split at spaces only)",
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
        "--optimizer",
        choices=OPTIMIZERS,
        default=None,
        help="language models (default: adam)",
    )
    train.add_argument(
        "--weight-decay",
        type=float,
        default=None,
        help="adamw's decoupled weight decay; not on biases, norms, embeddings",
    )
    train.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default=None,
        help="learning rate: constant, cosine (to 0 at the last step) or step "
        "(halved every epoch after --decay-after); --learning-rate is the peak",
    )
    train.add_argument(
        "--decay-after",
        type=_positive,
        default=None,
        metavar="EPOCHS",
        help="step schedule: epochs at the full rate before the first halving "
        "(recurrent models; default 1)",
    )
    train.add_argument(
        "--clipnorm",
        type=float,
        default=None,
        help="clip the gradients' global norm to this (recurrent models; default 1.0)",
    )
    train.add_argument(
        "--stateful",
        action="store_true",
        default=None,
        help="recurrent models: truncated backpropagation through time; the "
        "text is read as --batch-size streams and the state is carried from "
        "batch to batch (reset every epoch); an epoch is one pass over the "
        "streams unless --steps-per-epoch is given",
    )
    train.add_argument(
        "--warmup-steps",
        type=_non_negative,
        default=None,
        help="linear warm-up steps first (constant and cosine)",
    )
    train.add_argument(
        "--min-learning-rate",
        type=float,
        default=None,
        help="where the cosine schedule ends (gpt: a tenth of --learning-rate)",
    )
    train.add_argument(
        "--beta-2",
        type=float,
        default=None,
        help="adam's and adamw's second-moment decay (gpt: 0.99, as nanoGPT)",
    )
    train.add_argument(
        "--early-stopping",
        type=_non_negative,
        default=None,
        metavar="PATIENCE",
        help="stop when the validation loss has not improved for PATIENCE "
        "epochs, keeping the best weights (default: off)",
    )
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
    train.add_argument(
        "--pretrained",
        default=None,
        metavar="MODEL_FILE",
        help="classifier, tagger: start from this masked LM (zoo train bert); "
        "its tokenizer and encoder sizes are used (default: from scratch)",
    )
    train.add_argument("--order", type=_positive, default=None, help="ngram order")
    train.add_argument(
        "--smoothing",
        default=None,
        choices=["kneser_ney", "kneser_ney_single", "add_k", "mle"],
        help="ngram smoothing (default: kneser_ney, modified Kneser-Ney with three "
        "discounts per order; kneser_ney_single: one discount, as nltk)",
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
        "--top-k",
        type=_positive,
        default=None,
        help="(bert: candidates per [MASK]; classifier: labels shown)",
    )
    gen.add_argument("--top-p", type=float, default=None)
    gen.add_argument("--beam-width", type=_positive, default=None)
    gen.add_argument("--seed", type=int, default=None)

    ev = sub.add_parser(
        "evaluate",
        help="held-out perplexity (bert: masked tokens; translation: exact match, "
        "BLEU; classifier: accuracy, macro-F1; tagger: entity F1)",
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
    from zoo.cleaning import DEFAULTS as CLEAN

    clean = sub.add_parser(
        "clean",
        help="clean text before training: normalise, deduplicate, filter noise, "
        "mask personal data",
        description="Clean a UTF-8 text file or folder (zoo.cleaning.clean): "
        "Unicode NFKC and whitespace, optional traditional-to-simplified "
        "Chinese; e-mail addresses, phone numbers and Chinese resident ID "
        "numbers replaced by <EMAIL>, <PHONE>, <ID>; mojibake, too short, too "
        "long, mostly symbols or digits, repeated lines removed; exact and "
        "near duplicates (MinHash LSH on character shingles) removed, the "
        "first copy kept. The input is never changed; the output is written "
        "atomically; the same input and options always give the same output, "
        "and cleaning it again changes nothing.",
    )
    clean.add_argument(
        "input",
        metavar="INPUT",
        help="a UTF-8 file, whose documents are the blocks of lines between "
        "blank lines; or a folder, whose documents are its .txt files "
        "(subfolders and other files are not read)",
    )
    clean.add_argument(
        "--out",
        required=True,
        metavar="OUTPUT",
        help="for a file: a file of the kept documents, one blank line between "
        "two (zoo train --data OUTPUT reads it); for a folder: a folder that "
        "mirrors it, each kept .txt file cleaned under its own name (an "
        "existing one must be empty or an earlier zoo clean output)",
    )
    clean.add_argument(
        "--report",
        metavar="REPORT",
        default=None,
        help="write a JSON report: counts per rule, a few examples of each, "
        "documents and characters before and after",
    )
    clean.add_argument(
        "--threshold",
        type=float,
        default=CLEAN["threshold"],
        help="near duplicates: Jaccard similarity of "
        f"{CLEAN['shingle_size']}-character shingles at or above which a "
        f"document goes (default {CLEAN['threshold']})",
    )
    clean.add_argument(
        "--min-chars",
        type=_positive,
        default=CLEAN["min_chars"],
        help=f"shorter documents go (default {CLEAN['min_chars']})",
    )
    clean.add_argument(
        "--max-chars",
        type=_positive,
        default=CLEAN["max_chars"],
        help=f"longer documents go (default {CLEAN['max_chars']})",
    )
    clean.add_argument(
        "--to-simplified",
        action="store_true",
        help="convert traditional Chinese to simplified (OpenCC t2s)",
    )
    search = sub.add_parser(
        "search",
        help="semantic search: the passages nearest a query, by a BERT model's "
        "pooled encoder",
    )
    search.add_argument(
        "model_file", help="a zoo BERT model file (bert, classifier, tagger)"
    )
    search.add_argument("--query", required=True, help="the text to search for")
    search.add_argument(
        "--data",
        default="shakespeare",
        help="what to search: 'shakespeare' (the plays' passages), 'tang' (the "
        "poems) or a UTF-8 file of blank-line-separated passages",
    )
    search.add_argument("--top-k", type=_positive, default=5)
    parser.commands = {
        "train": train,
        "generate": gen,
        "evaluate": ev,
        "clean": clean,
        "search": search,
    }
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


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer >= 0, got {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _resolve_train_args(parser: argparse.ArgumentParser, args) -> None:
    """Refuse options the model does not take; fill in the model's defaults.

    Runs before anything heavy is imported (TensorFlow only for a GPT's
    preset table), so a bad option is a usage error (exit status 2) at once,
    not a traceback after minutes. `parser` is the ``zoo train`` parser.
    """
    family = registry.get(args.model)
    table = family.options
    xla_given = getattr(args, "xla", None)
    if args.data in CHINESE_CORPORA and args.level is None and "level" in table:
        # Chinese has no spaces: "words" would be single characters anyway
        # (zoo.text.WordTokenizer), with rare ones cut to <unk>.
        args.level = "char"
    options = [k for k in vars(args) if k not in ("command", "model", *ALWAYS)]
    given = {k for k in options if getattr(args, k) is not None}
    # Streams are read once per epoch (Zaremba et al.), unless told otherwise:
    # a fixed step count would wrap a stream's end onto its start mid-epoch.
    one_pass = bool(getattr(args, "stateful", None)) and args.steps_per_epoch is None
    for dest in options:
        if getattr(args, dest) is None:
            setattr(args, dest, table.get(dest))
        elif dest not in table:
            takes = " ".join(_flag(k) for k in table)
            hint = family.hints.get(dest)
            parser.error(
                f"{_flag(dest)} does not apply to {args.model}"
                + (f" ({hint})" if hint else "")
                + f"; {args.model} takes {takes}"
            )
    if one_pass:
        args.steps_per_epoch = None
    if getattr(args, "pretrained", None) is not None:
        fixed = sorted(given & set(registry.PRETRAINED_FIXES))
        if fixed:
            parser.error(
                f"{', '.join(map(_flag, fixed))}: fixed by the --pretrained model "
                "(its tokenizer and encoder sizes); drop them"
            )
        for dest in registry.PRETRAINED_FIXES:
            setattr(args, dest, None)
    if args.min_freq is None and "min_freq" in table:
        from zoo.data.corpora import is_ptb_folder

        # A Penn Treebank folder is tokenized already: it chose its vocabulary.
        ptb = args.data is not None and is_ptb_folder(args.data)
        args.min_freq = 2 if args.level == "word" and not ptb else 1
    if args.vocab_size is not None:
        from zoo.errors import ZooError
        from zoo.text import check_vocab_size

        try:
            check_vocab_size(args.level, args.vocab_size)
        except ZooError as err:
            parser.error(f"--vocab-size: {err}")
    if args.dropout is not None and not 0.0 <= args.dropout < 1.0:
        parser.error(f"--dropout must be in [0, 1), got {args.dropout}")
    if args.learning_rate is not None and args.learning_rate <= 0:
        parser.error(f"--learning-rate must be > 0, got {args.learning_rate}")
    if args.weight_decay and args.optimizer != "adamw":
        parser.error(
            f"--weight-decay is AdamW's decoupled decay; add --optimizer adamw "
            f"(got --optimizer {args.optimizer})"
        )
    if args.weight_decay is not None and args.weight_decay < 0:
        parser.error(f"--weight-decay must be >= 0, got {args.weight_decay}")
    if args.warmup_steps and args.schedule == "step":
        parser.error("--warmup-steps goes with the constant or cosine schedule")
    if args.clipnorm is not None and not args.clipnorm > 0:
        parser.error(f"--clipnorm must be > 0, got {args.clipnorm}")
    if args.beta_2 is not None and not 0 < args.beta_2 < 1:
        parser.error(f"--beta-2 must be in (0, 1), got {args.beta_2}")
    if args.strategy is not None:
        if xla_given:
            parser.error(
                "--xla does not work with --strategy: XLA cannot compile a "
                "distributed training step (drop --xla)"
            )
        args.xla = False
    if "preset" in table:
        from zoo.models.gpt import GPT_PRESETS

        if args.context_length is None:
            args.context_length = GPT_PRESETS[args.preset]["context_length"]
    # A fine-tuned encoder is sized by its recipe (from --pretrained, or
    # --seq-len), not here.
    if "context_length" in table and "pretrained" not in table:
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
    for family in FAMILIES.values():
        ids = ", ".join(e.id for e in listings.for_family(family.name)) or "-"
        rows.append((family.name, family.factory, family.mirrors, ids))
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


def cmd_train(args) -> None:
    family = registry.get(args.model)
    out = Path(args.out or Path("runs") / args.model)
    options = {k: getattr(args, k) for k in family.options}
    options["seed"] = args.seed
    if family.task == "translation":
        _train_translation(args, family, options, out)
        return
    if family.task in ("classification", "tagging"):
        _train_fine_tuned(args, family, options, out)
        return
    corpus = options.pop("data")
    if not family.keras:  # the n-gram model: counted, not trained
        del options["seed"]  # counting draws nothing
        run = family.recipe_fn(family.name, corpus, out_dir=out, **options)
        print(f"saved {run.path}")
        prompt = args.prompt or _default_prompt(corpus, 40)
        print("sample:", _sample(run, prompt, max_new_tokens=40, seed=args.seed))
        return
    if family.task == "mlm":
        run = family.recipe_fn(corpus, out_dir=out, **options)
    else:
        run = family.recipe_fn(family.name, corpus, out_dir=out, **options)
    summary = run.summary
    what = "masked-token perplexity" if family.task == "mlm" else "perplexity"
    print(
        f"validation {what} {summary['val_perplexity']:.3f} after {args.epochs} "
        f"epochs ({summary['train_seconds']:.0f} s); saved {run.path} and "
        f"{out / 'loss.png'}"
    )
    if family.task == "mlm":
        print(f"validation masked-token accuracy {summary['val_masked_accuracy']:.3f}")
        prompt = _default_prompt(corpus, min(40, args.context_length))
        demo = args.prompt or _mask_one(prompt, level=args.level)
        _print_fill_mask(run.model, run.tokenizer, demo, top_k=5)
        return
    # A GPT's prompt and sample share its context: a short default prompt.
    context = summary.get("context_length")
    prompt = args.prompt or _default_prompt(corpus, context // 4 if context else 40)
    max_new = 200 if args.level == "char" else 60
    print(f"sample:\n{_sample(run, prompt, max_new_tokens=max_new, seed=args.seed)}")


def _train_fine_tuned(args, family, options, out) -> None:
    options.pop("seed")
    if family.task == "tagging":
        for dest in ("level",):
            if options[dest] not in (None, "char"):
                from zoo.errors import ZooError

                raise ZooError("a tagger reads characters: --level char")
            options.pop(dest)
    run = family.recipe_fn(options.pop("data"), out_dir=out, seed=args.seed, **options)
    summary = run.summary
    start = "from " + summary["pretrained"] if summary["pretrained"] else "from scratch"
    if family.task == "classification":
        scores = (
            f"validation accuracy {summary['val_accuracy']:.3f}, macro-F1 "
            f"{summary['val_macro_f1']:.3f}"
        )
    else:
        scores = (
            f"validation entity F1 {summary['val_entity_f1']:.3f} (precision "
            f"{summary['val_entity_precision']:.3f}, recall "
            f"{summary['val_entity_recall']:.3f})"
        )
    print(
        f"{scores} after {args.epochs} epochs ({start}; "
        f"{summary['train_seconds']:.0f} s); saved {run.path} and {out / 'loss.png'}"
    )
    if args.prompt:
        import zoo

        _print_downstream(zoo.load(run.path), family.task, args.prompt, top_k=3)


def _print_downstream(bundle, task: str, text: str, *, top_k: int) -> None:
    from zoo.recipes import classify, find_names

    if task == "classification":
        (labels,) = classify(bundle, [text], top_k=top_k)
        print(", ".join(f"{label} {p:.3f}" for label, p in labels))
    else:
        names = find_names(bundle, text)
        print("names: " + (", ".join(names) if names else "(none)"))


def _default_prompt(corpus, chars: int) -> str:
    """The start of the validation text: a prompt the model has never seen."""
    from zoo.data import load_corpus

    return load_corpus(corpus).valid[:chars]


def _sample(run, prompt: str, *, max_new_tokens: int, seed: int) -> str:
    import zoo

    temperature = 1.0 if not hasattr(run.model, "count_params") else 0.8
    return zoo.generate(
        run.model,
        run.tokenizer,
        prompt,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        seed=seed,
    )


def _mask_one(text: str, *, level: str = "char") -> str:
    """A demo prompt for a masked LM: `text` with one letter hidden, or for
    subword tokens one whole word (with the space in front of it for bpe,
    whose tokens carry it)."""
    import re

    from zoo.text import SUBWORD_LEVELS

    words = list(re.finditer(r"\w+", text))
    if level in SUBWORD_LEVELS and words:
        word = words[len(words) // 2]
        start = word.start() - (level == "bpe" and text[: word.start()][-1:] == " ")
        return text[:start] + "[MASK]" + text[word.end() :]
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    if not letters:
        return text + "[MASK]"
    i = letters[len(letters) // 2]
    return text[:i] + "[MASK]" + text[i + 1 :]


def _print_fill_mask(model, tokenizer, text: str, *, top_k: int) -> None:
    from zoo.generation import fill_mask
    from zoo.text import MASK_TOKEN

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


def _train_translation(args, family, options, out):
    from zoo.data.pairs import GENERATED, load_translation

    corpus = load_translation(args.data)  # generated with seed 0: see cmd_evaluate
    # Saved with the model: `zoo evaluate` finds a file again from any folder.
    data = args.data if args.data in GENERATED else str(Path(args.data).resolve())
    print(f"data: {corpus!r}")
    del options["data"]
    options["jit_compile"] = options.pop("xla")  # a factory keyword
    run = family.recipe_fn(family.name, corpus, out_dir=out, data=data, **options)
    summary = run.summary
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


def task_of(bundle) -> str:
    """The task of a loaded model: what its file says, else what it is."""
    if bundle.source_tokenizer is not None:
        return "translation"
    task = bundle.info.get("task")
    if task in registry.TASKS:
        return task
    from zoo.models.bert import is_masked_lm

    return "mlm" if is_masked_lm(bundle.model) else "lm"


def cmd_generate(args) -> None:
    import zoo
    from zoo.errors import ZooError

    bundle = zoo.load(args.model_file)
    keys = ("max_new_tokens", "temperature", "top_k", "top_p", "beam_width", "seed")
    overrides = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
    task = task_of(bundle)
    if task == "translation":
        print(_translate(bundle, args.prompt, overrides))
        return
    if task in ("classification", "tagging"):
        unused = sorted(set(overrides) - {"top_k"})
        if unused:
            raise ZooError(
                f"{', '.join(map(_flag, unused))}: not for a {task} model, which "
                "labels its input rather than generating"
            )
        top_k = overrides.get("top_k", 3)
        _print_downstream(bundle, task, args.prompt, top_k=top_k)
        return
    if task == "mlm":
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
    task = task_of(bundle)
    if task == "translation":
        _evaluate_translation(args, bundle)
        return
    if args.beam_width is not None:
        raise ZooError("--beam-width applies to translation models only")
    if task in ("classification", "tagging"):
        _evaluate_fine_tuned(args, bundle, task)
        return
    from zoo.data import load_corpus

    data = args.data or bundle.info.get("data") or "shakespeare"
    text = getattr(load_corpus(data), args.split)
    scores = registry.TASKS[task].evaluate(bundle, text, batch_size=args.batch_size)
    # Per character of the text, whatever the tokens: comparable across levels.
    bits = (
        f"{scores['bits_per_character']:.3f} bits per character over "
        f"{scores['characters']:,} characters"
    )
    if task == "mlm":
        print(
            f"{args.split} masked-token accuracy {scores['accuracy']:.3f}, "
            f"masked-token perplexity {scores['perplexity']:.3f} ({data}; 15% of "
            f"the tokens hidden, seed 0); {bits}"
        )
        return
    print(
        f"{args.split} perplexity {scores['perplexity']:.3f} over "
        f"{scores['tokens']:,} tokens ({data}); {bits}"
    )


def _evaluate_fine_tuned(args, bundle, task: str) -> None:
    from zoo.data.labelled import load_labelled, load_tagged

    data = args.data or bundle.info.get("data")
    load = load_labelled if task == "classification" else load_tagged
    rows = load(data).splits[args.split]
    scores = registry.TASKS[task].evaluate(bundle, rows, batch_size=args.batch_size)
    if task == "tagging":
        print(
            f"{args.split} entity F1 {scores['f1']:.3f} (precision "
            f"{scores['precision']:.3f}, recall {scores['recall']:.3f}; "
            f"{scores['entities']:,} names in {scores['examples']:,} passages); "
            f"tag accuracy {scores['tag_accuracy']:.3f} ({data})"
        )
        return
    print(
        f"{args.split} accuracy {scores['accuracy']:.3f}, macro-F1 "
        f"{scores['macro_f1']:.3f} over {scores['examples']:,} texts ({data})"
    )
    labels = scores["labels"]
    width = max(map(len, labels)) + 1
    print("confusion (rows: the right label; columns: the predicted one)")
    print(" " * width + " ".join(f"{label:>{width}}" for label in labels))
    for label, row in zip(labels, scores["confusion"], strict=True):
        print(f"{label:<{width}}" + " ".join(f"{n:>{width}}" for n in row))


def cmd_search(args) -> None:
    from zoo.search import format_results, search_passages

    rows = search_passages(
        args.model_file, args.query, data=args.data, top_k=args.top_k
    )
    print(format_results(rows))


def _evaluate_translation(args, bundle) -> None:
    from zoo.data.pairs import GENERATED, load_translation
    from zoo.errors import ZooError

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
    scores = registry.TASKS["translation"].evaluate(
        bundle, pairs, beam_width=beam_width, batch_size=args.batch_size
    )
    decoding = f"beam search, width {beam_width}" if beam_width else "greedy"
    print(
        f"{args.split} exact match {scores['exact_match']:.3f}, BLEU "
        f"{scores['bleu']:.2f}, perplexity {scores['perplexity']:.3f} over "
        f"{scores['pairs']:,} pairs ({data}; {decoding})"
    )


def cmd_clean(args) -> None:
    from zoo.cleaning import clean

    report = clean(
        args.input,
        args.out,
        report=args.report,
        threshold=args.threshold,
        min_chars=args.min_chars,
        max_chars=args.max_chars,
        to_simplified=args.to_simplified,
    )
    before, after = report["before"], report["after"]
    print(
        f"kept {after['documents']:,} of {before['documents']:,} documents "
        f"({after['characters']:,} of {before['characters']:,} characters)"
    )
    for group, unit in (("removed", "documents"), ("masked", "matches")):
        counts = [f"{k} {v[unit]:,}" for k, v in report[group].items() if v[unit]]
        print(f"{group}: {', '.join(counts) or 'none'}")
    print(f"wrote {args.out}" + (f" and {args.report}" if args.report else ""))


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

    if args.command != "clean":  # zoo clean needs no TensorFlow
        import_tensorflow()  # every other command does; its start-up lines once
    commands = {
        "list": cmd_list,
        "train": cmd_train,
        "generate": cmd_generate,
        "evaluate": cmd_evaluate,
        "clean": cmd_clean,
        "search": cmd_search,
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
