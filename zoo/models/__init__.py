"""Model factories, by family (imported on first use: the n-gram model needs no
TensorFlow, so ``from zoo.models.ngram import NGramLM`` stays fast)."""

import importlib

EXPORTS = {  # factory name -> the module that defines it
    "build_simple_rnn": "zoo.models.rnn",
    "build_lstm": "zoo.models.rnn",
    "build_gru": "zoo.models.rnn",
    "build_seq2seq": "zoo.models.seq2seq",
    "build_transformer": "zoo.models.transformer",
    "build_gpt": "zoo.models.gpt",
    "build_bert_mlm": "zoo.models.bert",
    "build_bert_classifier": "zoo.models.bert",
    "build_bert_tagger": "zoo.models.bert",
    "NGramLM": "zoo.models.ngram",
}

__all__ = sorted(EXPORTS)


def __getattr__(name):
    if name not in EXPORTS:
        raise AttributeError(f"module 'zoo.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(EXPORTS[name]), name)
    globals()[name] = value
    return value
