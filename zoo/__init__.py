"""zoo: a Keras 3 model zoo for teaching language models.

    >>> from zoo import build_lstm, load_corpus, CharTokenizer
    >>> corpus = load_corpus("shakespeare")
    >>> tokenizer = CharTokenizer.fit(corpus.train)
    >>> model = build_lstm(tokenizer.vocab_size)

The public names below are imported on first use, so ``import zoo`` (and the
``zoo`` command) start fast and TensorFlow is loaded once, only when needed.
"""

from __future__ import annotations

import importlib
import os

# TensorFlow's C++ INFO lines are noise for students; warnings and errors stay.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"

_EXPORTS = {
    "build_simple_rnn": "zoo.models.rnn",
    "build_lstm": "zoo.models.rnn",
    "build_gru": "zoo.models.rnn",
    "build_seq2seq": "zoo.models.seq2seq",
    "build_transformer": "zoo.models.transformer",
    "build_gpt": "zoo.models.gpt",
    "build_bert_mlm": "zoo.models.bert",
    "NGramLM": "zoo.models.ngram",
    "ElmanCell": "zoo.layers.cells",
    "CharTokenizer": "zoo.text",
    "WordTokenizer": "zoo.text",
    "Tokenizer": "zoo.text",
    "Corpus": "zoo.data.corpora",
    "load_corpus": "zoo.data.corpora",
    "make_dataset": "zoo.data.pipeline",
    "compile_model": "zoo.training",
    "make_train_step": "zoo.training",
    "train": "zoo.training",
    "evaluate": "zoo.training",
    "Perplexity": "zoo.training",
    "generate": "zoo.generation",
    "translate": "zoo.generation",
    "load_translation": "zoo.data.translation",
    "PairCorpus": "zoo.data.translation",
    "corpus_bleu": "zoo.evaluation",
    "exact_match": "zoo.evaluation",
    "save": "zoo.saving",
    "load": "zoo.saving",
    "listings": "zoo.listings",
    "plot_attention": "zoo.plotting",
    "plot_history": "zoo.plotting",
    "ZooError": "zoo.errors",
}

__all__ = sorted(_EXPORTS)
# Modules that load without TensorFlow (the n-gram model needs none).
_NO_TENSORFLOW = {"zoo.models.ngram", "zoo.text", "zoo.errors", "zoo.evaluation"}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'zoo' has no attribute {name!r}")
    if _EXPORTS[name] not in _NO_TENSORFLOW:
        from zoo._tensorflow import import_tensorflow

        import_tensorflow()  # its start-up lines once, not twice
    module = importlib.import_module(_EXPORTS[name])
    value = module if name == "listings" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
