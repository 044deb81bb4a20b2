"""Translation end to end: pairs -> tokenizers -> model -> scores -> file.

What ``zoo train transformer --data dates`` (and ``seq2seq``) runs, written
as small steps that a notebook can also call one by one:

    >>> corpus = load_translation("dates", n=20_000)
    >>> run = train_translation("seq2seq", corpus, epochs=10,
    ...                         out_dir="runs/seq2seq-dates")
    >>> run.summary["valid"]["exact_match"], run.summary["valid"]["bleu"]

1. `prepare_pairs`: one `CharTokenizer` per side, fitted on the training
   pairs, and the arrays of `zoo.data.pairs.encode_pairs` for every
   split, with lengths taken from the corpus.
2. `build_translation_model`: `build_transformer` or `build_seq2seq` with the
   right vocabulary sizes and lengths, compiled by `zoo.training.compile_model`
   (logits loss that ignores padding, perplexity, XLA).
3. `zoo.training.train` (checkpoint per epoch, resume, NaN guard).
4. `score_translations`: greedy (or beam) translations of held-out sources,
   scored with exact match and character BLEU (`zoo.evaluation`); the token
   perplexity comes from `zoo.training.evaluate`.
5. `zoo.save` with both tokenizers, so `zoo.load` gives everything back.

Shape letters: B batch, S source length, T target length.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo import registry
from zoo.data.pairs import PairCorpus, encode_pairs, make_pair_dataset
from zoo.errors import ZooError
from zoo.generation import translate
from zoo.recipes.common import Run, resume_note
from zoo.text import BOS_ID, EOS_ID, CharTokenizer, Tokenizer

# The families of `zoo.registry` trained on pairs.
MODELS = tuple(family.name for family in registry.of_task("translation"))
N_EXAMPLES = 8  # translations shown in a summary


@dataclass(frozen=True)
class PreparedPairs:
    """A corpus turned into ids: tokenizers, lengths and arrays per split.

    Attributes:
        source_tokenizer: encodes the sources, one id per character.
        target_tokenizer: encodes the targets.
        source_len: S, the longest source in tokens.
        target_len: T, the longest target in tokens plus one (for ``<eos>``).
        arrays: split name -> the arrays of `encode_pairs`.
    """

    source_tokenizer: Tokenizer
    target_tokenizer: Tokenizer
    source_len: int
    target_len: int
    arrays: dict

    def dataset(self, split: str, *, batch_size: int, seed: int | None = 0):
        """Batches of one split for ``fit`` (train: shuffled) or scoring."""
        return make_pair_dataset(
            self.arrays[split],
            batch_size=batch_size,
            training=split == "train",
            seed=seed,
        )


def prepare_pairs(corpus: PairCorpus) -> PreparedPairs:
    """Fit a `CharTokenizer` per side on the training pairs; encode every split.

    Characters of the validation or test pairs that the training pairs never
    use become ``<unk>``.

    Args:
        corpus: a `PairCorpus`, e.g. from `zoo.data.pairs.load_translation`.

    Returns:
        A `PreparedPairs`.

    Example:
        >>> prepared = prepare_pairs(make_dates(2_000))
        >>> prepared.source_len, prepared.target_len  # 24 characters, 10 + <eos>
        (24, 11)
    """
    source_tokenizer = CharTokenizer.fit(s for s, _ in corpus.train)
    target_tokenizer = CharTokenizer.fit(t for _, t in corpus.train)
    pairs = [pair for split in corpus.splits.values() for pair in split]
    source_len = max(len(source_tokenizer.encode(s)) for s, _ in pairs)  # S
    target_len = max(len(target_tokenizer.encode(t)) for _, t in pairs) + 1  # T
    arrays = {
        split: encode_pairs(
            split_pairs,
            source_tokenizer,
            target_tokenizer,
            source_len=source_len,
            target_len=target_len,
        )
        for split, split_pairs in corpus.splits.items()
    }
    return PreparedPairs(
        source_tokenizer, target_tokenizer, source_len, target_len, arrays
    )


def build_translation_model(model_name: str, prepared: PreparedPairs, **model_kwargs):
    """`build_transformer` or `build_seq2seq`, sized for the prepared pairs.

    Args:
        model_name: "transformer" or "seq2seq".
        prepared: from `prepare_pairs`.
        **model_kwargs: passed to the factory (embedding_dim, learning_rate,
            compile=False, ...).

    Returns:
        The model, compiled unless ``compile=False`` is passed.
    """
    if model_name not in MODELS:
        raise ZooError(f"model must be one of {sorted(MODELS)}, got {model_name!r}")
    sizes = {"target_vocab_size": prepared.target_tokenizer.vocab_size}
    if model_name == "transformer":  # its position tables fit the pairs
        sizes["max_source_length"] = prepared.source_len
        sizes["max_target_length"] = prepared.target_len
    family = registry.get(model_name)
    return family.build(
        prepared.source_tokenizer.vocab_size, **{**sizes, **model_kwargs}
    )


def score_translations(
    model,
    source_tokenizer: Tokenizer,
    target_tokenizer: Tokenizer,
    pairs,
    *,
    beam_width: int | None = None,
    max_new_tokens: int | None = None,
    batch_size: int = 256,
) -> dict:
    """Translate the sources of `pairs` and score them against the targets.

    Returns:
        {"exact_match": share of outputs equal to the reference (0..1),
        "bleu": corpus BLEU over characters (0..100, ``tokenize="char"``),
        "pairs": how many, "examples": the first few (source, reference,
        prediction) dicts}.
    """
    from zoo.evaluation import corpus_bleu, exact_match

    pairs = list(pairs)
    if not pairs:
        raise ZooError("score_translations() got no pairs")
    sources, references = [s for s, _ in pairs], [t for _, t in pairs]
    predictions = translate(
        model,
        source_tokenizer,
        target_tokenizer,
        sources,
        beam_width=beam_width,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
    )
    return {
        "exact_match": exact_match(predictions, references),
        "bleu": corpus_bleu(predictions, references, tokenize="char"),
        "pairs": len(pairs),
        "examples": [
            {"source": s, "reference": r, "prediction": p}
            for s, r, p in list(zip(sources, references, predictions, strict=True))[
                :N_EXAMPLES
            ]
        ],
    }


def train_translation(
    model_name: str,
    corpus: PairCorpus,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    steps_per_epoch: int | None = None,
    out_dir: str | os.PathLike | None = None,
    seed: int = 0,
    beam_width: int | None = None,
    verbose="auto",
    data: str | None = None,
    fresh: bool = False,
    log=print,
    **model_kwargs,
) -> Run:
    """Train a translation model on a corpus, score it, and save it.

    Args:
        model_name: "transformer" (`build_transformer`) or "seq2seq"
            (`build_seq2seq`).
        corpus: the pairs, e.g. ``load_translation("dates")``.
        epochs: epochs in all (a resumed run counts the ones already done).
        batch_size: B.
        steps_per_epoch: batches per epoch; None = one pass over the pairs.
        out_dir: run folder: checkpoint per epoch (rerun to resume),
            ``history.csv``, ``loss.png``, ``summary.json`` and the model,
            ``model.keras``. None: nothing is written.
        seed: seeds the weights and the shuffling.
        data: where the pairs came from, saved with the model so that
            `zoo evaluate` finds them again (a generated task's name, or a
            file's absolute path); default ``corpus.name``.
        beam_width: score with beam search instead of greedy decoding.
        verbose: passed to ``model.fit``.
        fresh: start over, dropping the run folder's checkpoint.
        log: called with each line of progress (`print`; `quiet` for none).
        **model_kwargs: passed to the factory (embedding_dim, num_layers,
            units, learning_rate, jit_compile, ...).

    Returns:
        A `Run`: the model, both tokenizers, the history, and in
        ``run.summary`` a JSON-able summary: the model and data, sizes, the
        per-epoch history, validation perplexity (`zoo.training.evaluate`),
        exact match and character BLEU of the decoded validation sources, a
        few example translations, the saved path and the wall time.

    Example:
        >>> run = train_translation("transformer", load_translation("dates"),
        ...                         epochs=10, out_dir="runs/transformer")
        >>> round(run.summary["valid"]["exact_match"], 2)  # doctest: +SKIP
    """
    import keras

    from zoo.plotting import plot_history
    from zoo.saving import save
    from zoo.training import evaluate, train

    if model_name not in MODELS:
        raise ZooError(f"model must be one of {sorted(MODELS)}, got {model_name!r}")
    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    prepared = prepare_pairs(corpus)
    model = build_translation_model(model_name, prepared, **model_kwargs)
    run_dir = None if out_dir is None else Path(out_dir)
    resume_note(run_dir, fresh, log)
    history = train(
        model,
        prepared.dataset("train", batch_size=batch_size, seed=seed),
        valid_ds=prepared.dataset("valid", batch_size=batch_size),
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        run_dir=run_dir,
        verbose=verbose,
    )
    valid = evaluate(model, prepared.dataset("valid", batch_size=batch_size))
    valid.update(
        score_translations(
            model,
            prepared.source_tokenizer,
            prepared.target_tokenizer,
            corpus.valid,
            beam_width=beam_width,
        )
    )
    summary = {
        "model": model_name,
        "data": data or corpus.name,
        "train_pairs": len(corpus.train),
        "source_vocab_size": prepared.source_tokenizer.vocab_size,
        "target_vocab_size": prepared.target_tokenizer.vocab_size,
        "source_len": prepared.source_len,
        "target_len": prepared.target_len,
        "parameters": int(model.count_params()),
        "epochs": epochs,
        "batch_size": batch_size,
        "steps_per_epoch": steps_per_epoch,
        "seed": seed,
        "model_kwargs": {k: v for k, v in model_kwargs.items() if _jsonable(v)},
        "history": history,
        "valid": valid,
        "path": None,
    }
    if run_dir is not None:
        path = save(
            run_dir / "model.keras",
            model,
            prepared.target_tokenizer,
            source_tokenizer=prepared.source_tokenizer,
            generation={
                "max_new_tokens": prepared.target_len - 1,
                "temperature": 0.0,
                "beam_width": beam_width,
            },
            info={
                "task": "translation",
                **{k: v for k, v in summary.items() if k not in ("history", "valid")},
                "valid_perplexity": valid["perplexity"],
                "valid_exact_match": valid["exact_match"],
                "valid_bleu": valid["bleu"],
            },
        )
        summary["path"] = str(path)
        plot_history(history, run_dir / "loss.png")
    summary["seconds"] = time.perf_counter() - start
    if run_dir is not None:
        (run_dir / "summary.json").write_text(
            json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
        )
    return Run(
        model,
        prepared.target_tokenizer,
        history,
        summary,
        None if summary["path"] is None else Path(summary["path"]),
        source_tokenizer=prepared.source_tokenizer,
    )


def evaluate_translation(
    bundle,
    pairs,
    *,
    beam_width: int | None = None,
    batch_size: int = 64,
) -> dict:
    """Score a loaded translation model (a `zoo.load` bundle) on pairs.

    Args:
        bundle: from `zoo.load`; needs its ``source_tokenizer``.
        pairs: (source, target) strings, e.g. ``corpus.test``.
        beam_width: beam search instead of greedy decoding.
        batch_size: sentences per batch.

    Returns:
        {"perplexity", "nll", "tokens"} of the references under the model
        (teacher forcing, `zoo.training.evaluate`), and "exact_match",
        "bleu", "pairs", "examples" of its decoded translations.

    Example:
        >>> bundle = zoo.load("runs/transformer/model.keras")
        >>> evaluate_translation(bundle, load_translation("dates").test)
    """
    from zoo.training import evaluate

    if bundle.source_tokenizer is None:
        raise ZooError(
            "this model file has no source tokenizer: it is not an encoder-decoder "
            "(translation) model"
        )
    pairs = list(pairs)
    if not pairs:
        raise ZooError("evaluate_translation() got no pairs")
    source_tokenizer, target_tokenizer = bundle.source_tokenizer, bundle.tokenizer
    arrays = encode_pairs(
        pairs,
        source_tokenizer,
        target_tokenizer,
        source_len=max(len(source_tokenizer.encode(s)) for s, _ in pairs),
        target_len=max(len(target_tokenizer.encode(t)) for _, t in pairs) + 1,
    )
    dataset = make_pair_dataset(arrays, batch_size=batch_size, training=False)
    scores = evaluate(bundle.model, dataset)
    scores.update(
        score_translations(
            bundle.model,
            source_tokenizer,
            target_tokenizer,
            pairs,
            beam_width=beam_width,
            max_new_tokens=bundle.generation.get("max_new_tokens"),
            batch_size=max(batch_size, 1),
        )
    )
    return scores


def attention_map(
    model,
    source_tokenizer: Tokenizer,
    target_tokenizer: Tokenizer,
    source: str,
    target: str | None = None,
    *,
    layer: int = -1,
    head: int | None = None,
):
    """Attention weights of one translation, ready for `zoo.plotting`.

    Args:
        model: a `build_seq2seq` (with attention) or `build_transformer` model.
        source_tokenizer: the source side's tokenizer.
        target_tokenizer: the target side's tokenizer.
        source: the source sentence.
        target: the translation to look at; None = the model's own greedy one.
        layer: Transformer only: which decoder block's cross-attention.
        head: Transformer only: one head, or None for the mean over heads.

    Returns:
        ``(weights, source_tokens, output_tokens)``: weights (T, S) where row
        t is the step that writes ``output_tokens[t]`` (the target's tokens,
        then ``<eos>``), and S runs over ``source_tokens``.

    Example:
        >>> w, xs, ys = attention_map(model, src_tok, tgt_tok, "3 March 1998")
        >>> plot_attention(w, xs, ys)  # zoo.plotting
    """
    from zoo.models import seq2seq, transformer

    if target is None:
        (target,) = translate(model, source_tokenizer, target_tokenizer, [source])
    source_ids = source_tokenizer.encode(source)[None, :]  # (1, S)
    target_ids = target_tokenizer.encode(target)
    decoder_ids = np.concatenate([[BOS_ID], target_ids])[None, :].astype(np.int32)
    if transformer.is_transformer(model):
        weights = transformer.attention_weights(model, source_ids, decoder_ids)
        weights = weights[layer, 0]  # (H, T, S)
        weights = weights.mean(axis=0) if head is None else weights[head]
    elif seq2seq.is_seq2seq(model):
        weights = seq2seq.attention_weights(model, source_ids, decoder_ids)[0]
    else:
        raise ZooError(f"model {model.name!r} is not a zoo translation model")
    source_tokens = [source_tokenizer.vocabulary[i] for i in source_ids[0]]
    output_tokens = [target_tokenizer.vocabulary[i] for i in target_ids]
    output_tokens.append(target_tokenizer.vocabulary[EOS_ID])
    return weights, source_tokens, output_tokens


def _jsonable(value) -> bool:
    try:
        json.dumps(value)
    except TypeError:
        return False
    return True
