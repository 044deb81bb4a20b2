"""Documents as vectors: bag of words (counts) and TF-IDF, and cosine similarity.

Document 001 section 2 names the first part of a language model, the input
representation: "词袋模型、TF-IDF、Word2Vec等". A bag of words counts how often
each vocabulary word occurs in a document and forgets the order; TF-IDF
multiplies each count (the term frequency, TF) by the word's inverse document
frequency (IDF), so words found in every document ("the", "and") weigh little
and words found in few weigh much.

Both come from Keras's own `keras.layers.TextVectorization` (output modes
``"count"`` and ``"tf_idf"``, or ``"multi_hot"`` for a set of words). It is a
string op, so it runs here, in eager TensorFlow outside any model and outside
any XLA graph (docs/pitfalls.md #14); the vectors it returns are plain NumPy.

Keras's IDF is ``idf(w) = ln(1 + N / (1 + df(w)))``, with N documents and
df(w) of them containing w, and the TF is the raw count, not normalised. This
is none of scikit-learn's variants (its default is ``ln((1 + N) / (1 + df)) + 1``
followed by an L2 normalisation of each row); tests/test_representations.py
checks Keras's formula against scikit-learn's counts. The out-of-vocabulary
column (index 0, ``"[UNK]"``) gets the mean IDF of the vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import keras
import numpy as np

from zoo.errors import ZooError

OUTPUT_MODES = ("count", "tf_idf", "multi_hot")


class DocumentVectorizer:
    """Bag-of-words or TF-IDF vectors of documents, by `keras.layers.TextVectorization`.

    Args:
        output_mode: ``"count"`` (bag of words), ``"tf_idf"``, or
            ``"multi_hot"`` (1 where a word occurs, 0 elsewhere).
        max_tokens: keep only this many columns (the most frequent words,
            the ``"[UNK]"`` column included); None keeps every word.
        standardize: Keras's standardization: ``"lower_and_strip_punctuation"``
            (the default; Unicode-aware, so Chinese characters are kept),
            ``"lower"``, ``"strip_punctuation"``, or None for text that is
            tokenized already.
        split: ``"whitespace"`` or ``"character"`` (one column per character,
            the natural unit of Chinese text without a word segmenter).

    Example:
        >>> docs = ["the cat sat", "the dog sat", "a cat and a dog"]
        >>> vectorizer = DocumentVectorizer(output_mode="count").fit(docs)
        >>> vectorizer.vocabulary[:3]
        ['[UNK]', 'the', 'sat']
        >>> vectorizer.transform(["the cat the"])[0, :3]
        array([0., 2., 0.], dtype=float32)

    Reference:
        Salton and Buckley, "Term-weighting approaches in automatic text
        retrieval", Information Processing & Management 24(5), 1988.
    """

    def __init__(
        self,
        *,
        output_mode: str = "tf_idf",
        max_tokens: int | None = None,
        standardize: str | None = "lower_and_strip_punctuation",
        split: str = "whitespace",
    ):
        if output_mode not in OUTPUT_MODES:
            raise ZooError(
                f"output_mode must be one of {OUTPUT_MODES}, got {output_mode!r}"
            )
        if max_tokens is not None and max_tokens < 2:
            raise ZooError(f"max_tokens must be at least 2, got {max_tokens}")
        self.output_mode = output_mode
        self.max_tokens = max_tokens
        self.standardize = standardize
        self.split = split
        self.layer = None

    def fit(self, documents: Iterable[str]) -> DocumentVectorizer:
        """Learn the vocabulary (and, for TF-IDF, the document frequencies).

        Args:
            documents: the documents, one string each.

        Returns:
            This vectorizer, fitted.
        """
        documents = _documents(documents)
        self.layer = keras.layers.TextVectorization(
            max_tokens=self.max_tokens,
            output_mode=self.output_mode,
            standardize=self.standardize,
            split=self.split,
            name=f"{self.output_mode}_vectorizer",
        )
        self.layer.adapt(documents)
        if len(self.layer.get_vocabulary()) < 2:
            raise ZooError("the documents have no words to build a vocabulary from")
        return self

    def transform(self, documents: Iterable[str]) -> np.ndarray:
        """The documents as rows of a matrix.

        Args:
            documents: one string each.

        Returns:
            A float32 array of shape (number of documents, vocabulary size);
            column j belongs to ``vocabulary[j]``, column 0 to out-of-vocabulary
            words.
        """
        self._check_fitted()
        return np.asarray(self.layer(_documents(documents)), dtype=np.float32)

    def fit_transform(self, documents: Iterable[str]) -> np.ndarray:
        """`fit` then `transform` on the same documents."""
        documents = _documents(documents)
        return self.fit(documents).transform(documents)

    @property
    def vocabulary(self) -> list[str]:
        """The word of each column, ``"[UNK]"`` first."""
        self._check_fitted()
        return [str(w) for w in self.layer.get_vocabulary()]

    @property
    def idf(self) -> np.ndarray:
        """The inverse document frequency of each column (``"tf_idf"`` only).

        Read through the layer itself: a document holding every vocabulary
        word once has TF 1 everywhere, so its TF-IDF vector is the IDF.
        """
        self._check_fitted()
        if self.output_mode != "tf_idf":
            raise ZooError(f"idf needs output_mode='tf_idf', not {self.output_mode!r}")
        words = self.vocabulary[1:]
        glue = "" if self.split == "character" else " "
        row = np.asarray(self.layer([glue.join(words)]), dtype=np.float32)[0]
        # Column 0 ("[UNK]") saw no out-of-vocabulary word: it holds 0 here.
        mean = row[1:].mean()
        return np.concatenate([[mean], row[1:]]).astype(np.float32)

    def _check_fitted(self):
        if self.layer is None:
            raise ZooError("the vectorizer is not fitted yet: call fit(documents)")

    def __repr__(self) -> str:
        size = "unfitted" if self.layer is None else len(self.vocabulary)
        return (
            f"DocumentVectorizer(output_mode={self.output_mode!r}, vocabulary={size})"
        )


def cosine_similarity(a, b=None) -> np.ndarray:
    """Cosine similarity between the rows of `a` and the rows of `b`.

    ``cos(x, y) = x . y / (|x| |y|)``: 1 for vectors pointing the same way, 0
    for documents with no word in common (count or TF-IDF vectors are never
    negative). A zero row (a document with no known word) has similarity 0
    with everything, never NaN.

    Args:
        a: shape (N, D), or one vector (D,).
        b: shape (M, D) or (D,); defaults to `a`.

    Returns:
        Shape (N, M); a vector argument counts as one row.

    Example:
        >>> cosine_similarity([[1.0, 0.0], [1.0, 1.0]]).round(3)
        array([[1.   , 0.707],
               [0.707, 1.   ]])
    """
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    b = a if b is None else np.atleast_2d(np.asarray(b, dtype=np.float64))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ZooError(
            f"cosine_similarity needs two matrices with the same number of columns, "
            f"got shapes {a.shape} and {b.shape}"
        )
    return normalize_rows(a) @ normalize_rows(b).T


def normalize_rows(matrix) -> np.ndarray:
    """Each row divided by its Euclidean length (zero rows stay zero)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def _documents(documents) -> list[str]:
    if isinstance(documents, str):
        raise ZooError(
            "documents must be a list of strings, one per document, not one string"
        )
    documents = list(documents) if not isinstance(documents, Sequence) else documents
    if not documents:
        raise ZooError("no documents given")
    for i, doc in enumerate(documents):
        if not isinstance(doc, str):
            raise ZooError(f"document {i} is a {type(doc).__name__}, not a string")
    return list(documents)
