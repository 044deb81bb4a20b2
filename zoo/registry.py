"""The model families of zoo: one entry each, read by everything else.

A *family* is what ``zoo train MODEL`` names: a factory, the task it is
trained for, the part of the source texts it mirrors, the ``zoo train``
options it takes (with their defaults) and a tiny size for smoke tests. A
*task* says how a family's data is batched, how it is trained (its recipe in
`zoo.recipes`), how it decodes and how it is scored.

The command (`zoo.cli`), the listings (`zoo.listings`), the README tables
(``benchmarks/readme_table.py``) and the test battery (``tests/helpers.py``)
all read this table, so adding a family is: write its module, add one
`Family` here, and it goes through the battery (see ``docs/architecture.md``).

This module imports nothing heavy: ``zoo train --help`` and the option checks
run before TensorFlow loads. Factories and recipes are looked up by name on
first use (`Family.factory`, `Task.recipe`).

    >>> from zoo import registry
    >>> registry.get("lstm").task
    'lm'
    >>> model = registry.get("lstm").build(70, **registry.get("lstm").tiny)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from zoo.errors import ZooError


def _frozen(mapping=None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Task:
    """What a family is trained for, and so how it is batched, decoded, scored.

    Attributes:
        name: "lm" (next token), "mlm" (masked tokens), "translation"
            (source sentence -> target sentence), "classification" (a text ->
            a label) or "tagging" (a text -> a tag per character).
        summary: one line for people.
        batches: the function that batches its data (documentation: the recipe
            calls it).
        decodes_with: the function that uses a trained model (`zoo.generate`,
            `zoo.generation.fill_mask`, `zoo.translate`).
        scores: what `evaluate` reports, in order.
        evaluator: the name of its scoring function in `zoo.recipes`.
    """

    name: str
    summary: str
    batches: str
    decodes_with: str
    scores: tuple[str, ...]
    evaluator: str

    def evaluate(self, bundle, data, **kwargs):
        """Score a loaded model (a `zoo.load` bundle) on `data` (a text, or
        translation pairs) with this task's scorer in `zoo.recipes`."""
        from zoo import recipes

        return getattr(recipes, self.evaluator)(bundle, data, **kwargs)


TASKS: Mapping[str, Task] = _frozen(
    {
        "lm": Task(
            "lm",
            "next-token language model: text in, a continuation out",
            batches="zoo.data.pipeline.make_dataset",
            decodes_with="zoo.generate",
            scores=("perplexity", "tokens"),
            evaluator="evaluate_language_model",
        ),
        "mlm": Task(
            "mlm",
            "masked language model: fills in [MASK] from both sides",
            batches="zoo.data.pipeline.make_mlm_dataset",
            decodes_with="zoo.generation.fill_mask",
            scores=("perplexity", "accuracy", "tokens"),
            evaluator="evaluate_masked_lm",
        ),
        "translation": Task(
            "translation",
            "encoder-decoder: a source sentence in, its translation out",
            batches="zoo.data.pairs.make_pair_dataset",
            decodes_with="zoo.translate",
            scores=("exact_match", "bleu", "perplexity", "pairs"),
            evaluator="evaluate_translation",
        ),
        "classification": Task(
            "classification",
            "a text in, a label out (genre, form, your own TSV labels)",
            batches="zoo.data.pipeline.make_labelled_dataset",
            decodes_with="zoo.recipes.classify",
            scores=("accuracy", "macro_f1", "confusion", "examples"),
            evaluator="evaluate_classifier",
        ),
        "tagging": Task(
            "tagging",
            "a text in, a BIO tag per character out (the plays' names)",
            batches="zoo.data.pipeline.make_labelled_dataset",
            decodes_with="zoo.recipes.find_names",
            scores=("f1", "precision", "recall", "tag_accuracy", "examples"),
            evaluator="evaluate_tagger",
        ),
    }
)


@dataclass(frozen=True, eq=False)
class Family:
    """One model family of the zoo, as ``zoo list`` shows it.

    Attributes:
        name: the ``zoo train`` name ("lstm").
        factory: the factory's name, exported by `zoo` ("build_lstm").
        task: a key of `TASKS`.
        mirrors: the part of the source texts it reproduces.
        recipe: the name of its training function in `zoo.recipes`.
        causal: whether each position sees only the positions before it
            (checked by the test battery where True).
        factory_kwargs: fixed keywords for the factory (``elman_rnn`` is
            ``build_simple_rnn(from_equations=True)``).
        options: the ``zoo train`` options it takes, with their defaults;
            None means "decided later" (see `zoo.cli`). Any other option is
            refused with a message naming these.
        hints: said when an option is refused, where the family has a near
            equivalent.
        tiny: factory keywords for a model that builds and trains in seconds
            (tests, fast notebooks).
        keras: False for the count-based n-gram model (no Keras graph).
    """

    name: str
    factory: str
    task: str
    mirrors: str
    recipe: str
    causal: bool = True
    factory_kwargs: Mapping = field(default_factory=_frozen)
    options: Mapping = field(default_factory=_frozen)
    hints: Mapping = field(default_factory=_frozen)
    tiny: Mapping = field(default_factory=_frozen)
    keras: bool = True

    def __post_init__(self):
        if self.task not in TASKS:
            raise ZooError(f"family {self.name!r}: unknown task {self.task!r}")
        for name in ("factory_kwargs", "options", "hints", "tiny"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    @property
    def task_info(self) -> Task:
        """The family's `Task`."""
        return TASKS[self.task]

    @property
    def factory_fn(self):
        """The factory itself (imports its module, and TensorFlow, on first use)."""
        import zoo

        return getattr(zoo, self.factory)

    def build(self, vocab_size: int, **kwargs):
        """The factory called with `vocab_size`, the fixed keywords and `kwargs`.

        The n-gram model learns its vocabulary size when it is fitted
        (``NGramLM(order).fit(ids, vocab_size=...)``), so for it `vocab_size`
        is not passed to the constructor.
        """
        kwargs = {**self.factory_kwargs, **kwargs}
        if not self.keras:
            return self.factory_fn(**kwargs)
        return self.factory_fn(vocab_size, **kwargs)

    @property
    def recipe_fn(self):
        """The family's training recipe, from `zoo.recipes`."""
        from zoo import recipes

        return getattr(recipes, self.recipe)


# --- the ``zoo train`` options each family takes ---------------------------------
# None means "decided later": min_freq by level, a GPT's sizes by its preset,
# greedy decoding when no beam width. --out, --seed and --prompt go with every
# family (ALWAYS).
ALWAYS = ("out", "seed", "prompt")
# zoo.distribute.PRECISIONS, spelled out so that parsing needs no TensorFlow.
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
# The tokens a text model reads (`zoo.text.build_tokenizer`): characters,
# words, or subwords trained on the corpus (GPT-2's byte-level BPE, BERT's
# WordPiece); spelled out here so that parsing needs no tokenizer.
LEVELS = ("char", "word", "bpe", "wordpiece")
# vocab_size None: the subword levels' zoo.text.SUBWORD_VOCAB_SIZE, and every
# token of the training text for the others.
_TEXT = {"data": "shakespeare", "level": "char", "min_freq": None, "vocab_size": None}
_NEURAL = {"xla": True, "fresh": False}
# How language models are optimised (zoo.training.make_optimizer and
# make_schedule); spelled out here so that parsing needs no TensorFlow.
OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")
SCHEDULES = ("constant", "cosine", "step")
_OPTIMISE = {
    "optimizer": "adam",
    "weight_decay": 0.0,
    "beta_2": 0.999,
    "schedule": "constant",
    "warmup_steps": 0,
    "min_learning_rate": 0.0,
    "early_stopping": None,  # off
}
# The GPT's recipe is nanoGPT's (its shakespeare_char configuration, GPT-2's
# practice): AdamW with weight decay 0.1 on the matrices only, beta_2 0.99,
# a linear warm-up over the first 5% of the steps (nanoGPT: 100 of 2000),
# then a cosine down to a tenth of the peak rate (None: decided from the
# run's length and rate, zoo.recipes.common.learning_rate_for).
_NANOGPT = {
    "optimizer": "adamw",
    "weight_decay": 0.1,
    "beta_2": 0.99,
    "schedule": "cosine",
    "warmup_steps": None,  # 5% of the run
    "min_learning_rate": None,  # learning_rate / 10
}
# Language models also scale: every local GPU, 16-bit arithmetic.
_SCALE = {"strategy": None, "precision": "float32"}
# The recurrent factories' own defaults (build_lstm: embedding 128, 256 units).
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
    **_OPTIMISE,
    # Zaremba et al.'s recipe needs these three: the gradient clip, when the
    # step schedule starts halving, and the state carried across batches.
    "clipnorm": 1.0,
    "decay_after": 1,
    "stateful": False,
    **_NEURAL,
    **_SCALE,
}
_RNN_TINY = {"embedding_dim": 8, "units": 16}
_PAIRS = {
    "data": "dates",
    "epochs": 10,
    "steps_per_epoch": None,  # one pass over the training pairs
    "batch_size": 64,
}
_TRANSLATION_HINTS = {
    "seq_len": "a translation model reads whole sentence pairs",
    "level": "translation models read one character per token",
    "min_freq": "translation models keep every character of the training pairs",
    "vocab_size": "translation models keep every character of the training pairs",
}
_TRANSFORMER_HINTS = {
    "units": "a Transformer's width is --embedding-dim and its feed-forward "
    "width --ff-dim",
}

# Fine-tuning a BERT encoder (zoo.recipes.fine_tuning): from scratch, or from a
# masked LM's file (--pretrained, which then fixes the tokenizer and sizes).
# BERT's fine-tuning recipe (Devlin et al. 2019, A.3), scaled to a small
# model: AdamW, decay 0.01, warm-up over 5% of the run, cosine decay to 0.
_FINE_TUNING = {
    "pretrained": None,
    "level": "char",
    "min_freq": None,
    "vocab_size": None,
    "epochs": 3,
    "steps_per_epoch": None,  # one pass over the training texts
    "seq_len": None,  # 128, or the pretrained encoder's positions if fewer
    "batch_size": 32,
    "context_length": None,  # --seq-len, or the pretrained model's
    "embedding_dim": 128,
    "num_heads": 4,
    "num_layers": 2,
    "ff_dim": 512,
    "dropout": 0.1,
    "learning_rate": 5e-4,
    "optimizer": "adamw",
    "weight_decay": 0.01,
    "beta_2": 0.999,
    "schedule": "cosine",
    "warmup_steps": None,  # 5% of the run
    "min_learning_rate": 0.0,
    "early_stopping": None,
    **_NEURAL,
}
# With --pretrained these come from the pretrained model.
PRETRAINED_FIXES = (
    "level",
    "min_freq",
    "vocab_size",
    "context_length",
    "embedding_dim",
    "num_heads",
    "num_layers",
    "ff_dim",
)
_FINE_TUNING_TINY = {
    "context_length": 16,
    "embedding_dim": 16,
    "num_heads": 2,
    "num_layers": 1,
    "ff_dim": 32,
}

_FAMILIES = (
    Family(
        "simple_rnn",
        "build_simple_rnn",
        "lm",
        "document 000 4.1, document 004 4.1",
        "train_language_model",
        options=_RNN,
        tiny=_RNN_TINY,
    ),
    Family(
        "elman_rnn",
        "build_simple_rnn",
        "lm",
        "document 002's equations (ElmanCell)",
        "train_language_model",
        factory_kwargs={"from_equations": True},
        options=_RNN,
        tiny=_RNN_TINY,
    ),
    Family(
        "lstm",
        "build_lstm",
        "lm",
        "document 000 4.2, document 002",
        "train_language_model",
        options=_RNN,
        tiny=_RNN_TINY,
    ),
    Family(
        "gru",
        "build_gru",
        "lm",
        "document 003 section 5 (made causal)",
        "train_language_model",
        options=_RNN,
        tiny=_RNN_TINY,
    ),
    Family(
        "ngram",
        "NGramLM",
        "lm",
        "document 000 4.1 概率语言模型",
        "train_ngram",
        options={**_TEXT, "level": "word", "order": 4, "smoothing": "kneser_ney"},
        tiny={"order": 3},
        keras=False,
    ),
    Family(
        "gpt",
        "build_gpt",
        "lm",
        "document 003 section 4 (w^T h, tied output)",
        "train_language_model",
        options={
            **_TEXT,
            "preset": "laptop",  # build_gpt's own defaults are this row
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
            **_OPTIMISE,
            **_NANOGPT,
            **_NEURAL,
            **_SCALE,
        },
        hints=_TRANSFORMER_HINTS,
        tiny={
            "context_length": 16,
            "embedding_dim": 16,
            "num_heads": 2,
            "num_layers": 2,
            "ff_dim": 32,
        },
    ),
    Family(
        "bert",
        "build_bert_mlm",
        "mlm",
        "document 001 section 5 (masked LM)",
        "train_masked_lm",
        causal=False,
        options={
            # build_bert_mlm's own defaults, but for the position table, which
            # follows --seq-len (the factory's 128 would be half unused).
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
            **_OPTIMISE,
            **_NEURAL,
            **_SCALE,
        },
        hints=_TRANSFORMER_HINTS,
        tiny={
            "context_length": 16,
            "embedding_dim": 16,
            "num_heads": 2,
            "num_layers": 1,
            "ff_dim": 32,
        },
    ),
    Family(
        "transformer",
        "build_transformer",
        "translation",
        "document 004 2.3 and 4.2, document 001 section 3",
        "train_translation",
        options={
            # Half the factory's width (document 004 4.2's 256/512): the dates
            # task needs no more, and a laptop trains it in a few minutes.
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
        hints={**_TRANSFORMER_HINTS, **_TRANSLATION_HINTS},
        tiny={
            "max_source_length": 12,
            "max_target_length": 10,
            "embedding_dim": 16,
            "num_heads": 2,
            "ff_dim": 32,
            "num_layers": 1,
        },
    ),
    Family(
        "seq2seq",
        "build_seq2seq",
        "translation",
        "document 000 4.3, document 001 section 2 (attention)",
        "train_translation",
        options={
            # Half the factory's sizes (128/256, shared with build_gru): the
            # generated tasks need no more, and a laptop trains them in minutes.
            **_PAIRS,
            "embedding_dim": 64,
            "units": 128,
            "dropout": 0.0,
            "learning_rate": 2e-3,
            "beam_width": None,
            **_NEURAL,
        },
        hints={
            **_TRANSLATION_HINTS,
            "num_layers": "a seq2seq model has one encoder and one decoder RNN",
        },
        tiny={"embedding_dim": 8, "units": 16},
    ),
    Family(
        "classifier",
        "build_bert_classifier",
        "classification",
        "document 003 section 6 (文本分类), document 001 section 6 (情感分析)",
        "train_classifier",
        causal=False,
        options={"data": "genre", **_FINE_TUNING},
        hints=_TRANSFORMER_HINTS,
        tiny={**_FINE_TUNING_TINY, "num_classes": 3},
    ),
    Family(
        "tagger",
        "build_bert_tagger",
        "tagging",
        "document 001 section 6 (命名实体识别)",
        "train_tagger",
        causal=False,
        options={"data": "names", **_FINE_TUNING},
        hints=_TRANSFORMER_HINTS,
        tiny={**_FINE_TUNING_TINY, "num_tags": 4},
    ),
)

FAMILIES: Mapping[str, Family] = _frozen({f.name: f for f in _FAMILIES})


def get(name: str) -> Family:
    """The family called `name`, or a `ZooError` listing the families."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ZooError(
            f"unknown model family {name!r}; choose one of {', '.join(FAMILIES)}"
        ) from None


def of_task(task: str) -> list[Family]:
    """The families trained for `task` (a key of `TASKS`)."""
    return [f for f in FAMILIES.values() if f.task == task]
