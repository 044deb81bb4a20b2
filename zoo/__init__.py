"""zoo: a Keras 3 model zoo for teaching language models.

    >>> from zoo import build_lstm, load_corpus, CharTokenizer
    >>> corpus = load_corpus("shakespeare")
    >>> tokenizer = CharTokenizer.fit(corpus.train)
    >>> model = build_lstm(tokenizer.vocab_size)

The public names below are imported on first use, so ``import zoo`` (and the
``zoo`` command) start fast and TensorFlow is loaded once, only when needed.

``import zoo`` also makes zoo's saved models load with plain Keras: its layers
are registered with Keras (``zoo>FusedLSTM``, ...) as soon as Keras is
imported, before or after zoo, so that in a fresh process

    >>> import zoo, keras
    >>> model = keras.saving.load_model("model.keras", safe_mode=True)

finds every class. Registering needs Keras itself, so if Keras is not loaded
yet it happens right after Keras is (`_RegisterWithKeras`), not at
``import zoo``, which stays quiet and fast.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import sys

# TensorFlow's C++ INFO lines are noise for students; warnings and errors stay.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"

from zoo.models import EXPORTS as _MODEL_EXPORTS  # noqa: E402 (after the env)

# The modules whose import registers zoo's Keras serializables (every custom
# layer, loss and metric).
SERIALIZABLE_MODULES = ("zoo.layers", "zoo.training")


def register_serializables() -> None:
    """Register every zoo layer, loss and metric with Keras (imports Keras)."""
    for module in SERIALIZABLE_MODULES:
        importlib.import_module(module)


class _RegisterWithKeras(importlib.abc.MetaPathFinder):
    """Registers zoo's serializables right after ``import keras`` finishes.

    Sits on `sys.meta_path` until Keras is first imported: it then hands
    Python Keras's own module spec, whose loader runs Keras as usual and then
    `register_serializables`, and takes itself off the path.
    """

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenRegister(spec.loader)
        return spec


class _ThenRegister(importlib.abc.Loader):
    """A loader that runs another loader, then `register_serializables`."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        register_serializables()


if "keras" in sys.modules:
    register_serializables()
elif not any(isinstance(f, _RegisterWithKeras) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterWithKeras())

# Every factory of zoo.models, then the rest of the public API.
_EXPORTS = {
    **_MODEL_EXPORTS,
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
    "load_translation": "zoo.data.pairs",
    "registry": "zoo.registry",
    "recipes": "zoo.recipes",
    "PairCorpus": "zoo.data.pairs",
    "corpus_bleu": "zoo.evaluation",
    "exact_match": "zoo.evaluation",
    "save": "zoo.saving",
    "load": "zoo.saving",
    "listings": "zoo.listings",
    "errata": "zoo.errata",
    "claims": "zoo.claims",
    "search": "zoo.search",
    "plot_attention": "zoo.plotting",
    "plot_history": "zoo.plotting",
    "plot_confusion": "zoo.plotting",
    "ZooError": "zoo.errors",
    "DocumentVectorizer": "zoo.representations",
    "cosine_similarity": "zoo.representations",
    "train_word2vec": "zoo.representations",
    "WordVectors": "zoo.representations",
    "load_vectors": "zoo.representations",
    "load_labelled": "zoo.data.labelled",
    "load_tagged": "zoo.data.labelled",
    "train_classifier": "zoo.recipes",
    "train_tagger": "zoo.recipes",
    "transfer_encoder": "zoo.models.bert",
}

__all__ = sorted(_EXPORTS)
# Modules that load without TensorFlow (the n-gram model needs none).
_NO_TENSORFLOW = {
    "zoo.models.ngram",
    "zoo.text",
    "zoo.errors",
    "zoo.evaluation",
    "zoo.registry",
    "zoo.errata",
}
# Exports that are modules, not names inside them.
_MODULES = {"listings", "errata", "registry", "recipes", "claims", "search"}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'zoo' has no attribute {name!r}")
    if _EXPORTS[name] not in _NO_TENSORFLOW:
        from zoo._tensorflow import import_tensorflow

        import_tensorflow()  # its start-up lines once, not twice
    module = importlib.import_module(_EXPORTS[name])
    value = module if name in _MODULES else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
