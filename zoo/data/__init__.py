"""Corpora (and, in `zoo.data.pipeline`, tf.data pipelines) for zoo's models.

`load_corpus()` gives the bundled Shakespeare plays offline; see
``data/README.md`` for their provenance, licence, sizes and split.
"""

from zoo.data.corpora import (
    Corpus,
    load_corpus,
    load_ptb,
    load_text,
    load_tiny_shakespeare,
)

__all__ = [
    "Corpus",
    "load_corpus",
    "load_ptb",
    "load_text",
    "load_tiny_shakespeare",
]
