"""Pretrained word vectors from a file: word2vec or GloVe text format.

Document 000's appendix advises "使用预训练词向量" (use pretrained word
vectors). `load_vectors` reads a user's file (nothing is downloaded) and
builds an embedding matrix for a model's vocabulary:

* the format is one word per line, then its numbers, separated by spaces:
  ``word 0.12 -0.5 ...``. word2vec's text files start with a header line
  ``<count> <dim>``; GloVe's have none. Both are read.
* each vocabulary token is looked up as written, then with the space in front
  of it stripped (zoo's `WordTokenizer` writes " king"), then in lower case
  (GloVe's files are lower case);
* tokens the file lacks get random normal vectors with the file's own mean
  and standard deviation, so they neither dominate nor vanish; ``<pad>``
  gets zeros. They are listed in the result's ``missing``.

The matrix goes into a new `keras.layers.Embedding` (`PretrainedVectors.embedding`)
or into an existing model's embedding layer (`PretrainedVectors.assign_to`),
frozen (``trainable=False``) or to be fine-tuned.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from zoo.errors import ZooError
from zoo.text import PAD

__all__ = ["PretrainedVectors", "load_vectors", "read_vectors"]


@dataclasses.dataclass
class PretrainedVectors:
    """An embedding matrix for a vocabulary, from a vectors file.

    Attributes:
        matrix: (V, E) float32, row i for ``vocabulary[i]``.
        vocabulary: the V tokens.
        found: how many tokens the file had a vector for.
        missing: the tokens it had none for (initialised at random; ``<pad>``
            is zeros and not listed).
        file_words: how many vectors the file holds.
        mean, std: the scale of the file's numbers, used for the missing rows.
    """

    matrix: np.ndarray
    vocabulary: list[str]
    found: int
    missing: list[str]
    file_words: int
    mean: float
    std: float

    @property
    def dim(self) -> int:
        return self.matrix.shape[1]

    @property
    def coverage(self) -> float:
        """The share of the vocabulary found in the file."""
        return self.found / len(self.vocabulary)

    def embedding(
        self, *, trainable: bool = False, mask_zero: bool = False, name="embedding"
    ) -> keras.layers.Embedding:
        """A `keras.layers.Embedding` holding the matrix.

        Args:
            trainable: False freezes the vectors; True fine-tunes them.
            mask_zero: id 0 (``<pad>`` in zoo's vocabularies) is padding.
            name: the layer's name.
        """
        return keras.layers.Embedding(
            *self.matrix.shape,
            weights=[self.matrix],
            trainable=trainable,
            mask_zero=mask_zero,
            name=name,
        )

    def assign_to(self, model: keras.Model, *, layer="embedding", trainable=False):
        """Copy the matrix into `model`'s embedding layer, frozen or not.

        Args:
            model: a built model, e.g. ``zoo.build_lstm(tokenizer.vocab_size,
                embedding_dim=pretrained.dim)``.
            layer: the name of its `keras.layers.Embedding`.
            trainable: False freezes the layer. Compile the model after this
                call: Keras fixes what is trainable when it compiles.

        Returns:
            The model.
        """
        try:
            target = model.get_layer(layer)
        except ValueError:
            raise ZooError(
                f"model {model.name!r} has no layer named {layer!r}"
            ) from None
        if not isinstance(target, keras.layers.Embedding):
            raise ZooError(
                f"layer {layer!r} is a {type(target).__name__}, not an Embedding"
            )
        shape = tuple(target.embeddings.shape)
        if shape != self.matrix.shape:
            raise ZooError(
                f"layer {layer!r} has embeddings of shape {shape}, the vectors "
                f"{self.matrix.shape}; build the model with vocab_size="
                f"{self.matrix.shape[0]} and embedding_dim={self.dim}"
            )
        target.embeddings.assign(self.matrix)
        target.trainable = trainable
        return model


def read_vectors(
    path: str | os.PathLike, *, words=None
) -> tuple[dict[str, np.ndarray], int, int, float, float]:
    """Read a word2vec/GloVe text file.

    Args:
        path: the file.
        words: if given, keep only the vectors of these words (all lines are
            still checked, and all count towards the scale).

    Returns:
        ``(vectors, dim, file_words, mean, std)``: a dict word -> float32 vector
        (the first line of a word that occurs twice wins), the dimension, the
        number of vectors in the file, and the mean and standard deviation
        of all its numbers.

    Raises:
        ZooError: one line naming the problem: a missing, empty or non-UTF-8
            file, a line with the wrong number of values (its line number
            given), a value that is not a number, a header that disagrees with
            the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ZooError(f"no vectors file at {path}")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ZooError(
            f"{path} is not UTF-8 text (byte {error.start}, line {line}); "
            "save it as UTF-8"
        ) from None
    lines = text.splitlines()
    start, header = 0, None
    first = lines[0].split() if lines else []
    if len(first) == 2 and all(part.isdigit() for part in first):
        header = (int(first[0]), int(first[1]))
        start = 1
    if not any(line.strip() for line in lines[start:]):
        raise ZooError(f"{path} holds no vectors (the file is empty)")
    wanted = None if words is None else set(words)
    vectors: dict[str, np.ndarray] = {}
    dim = header[1] if header else None
    total, total_sq, n_values, file_words = 0.0, 0.0, 0, 0
    for number, line in enumerate(lines[start:], start=start + 1):
        parts = line.split()
        if not parts:
            continue
        if dim is None:
            dim = len(parts) - 1
            if dim < 1:
                raise ZooError(f"{path}: line {number} has a word but no numbers")
        if len(parts) != dim + 1:
            raise ZooError(
                f"{path}: line {number} has {len(parts) - 1} numbers, expected "
                f"{dim} (the dimension of "
                f"{'the header' if header else f'line {start + 1}'})"
            )
        try:
            vector = np.array(parts[1:], dtype=np.float32)
        except ValueError:
            bad = next(p for p in parts[1:] if not _is_number(p))
            raise ZooError(f"{path}: line {number}: {bad!r} is not a number") from None
        if not np.all(np.isfinite(vector)):
            raise ZooError(f"{path}: line {number} has a value that is not finite")
        file_words += 1
        total += float(vector.sum(dtype=np.float64))
        total_sq += float(np.square(vector, dtype=np.float64).sum())
        n_values += dim
        word = parts[0]
        if (wanted is None or word in wanted) and word not in vectors:
            vectors[word] = vector
    if header and header[0] != file_words:
        raise ZooError(
            f"{path}: the header says {header[0]} vectors, the file holds {file_words}"
        )
    mean = total / n_values
    std = float(np.sqrt(max(total_sq / n_values - mean**2, 0.0)))
    return vectors, dim, file_words, mean, std


def load_vectors(
    path: str | os.PathLike,
    vocabulary,
    *,
    seed: int = 0,
    lowercase_fallback: bool = True,
) -> PretrainedVectors:
    """An embedding matrix for `vocabulary` from a word2vec/GloVe text file.

    Args:
        path: the vectors file (text format, with or without the
            ``<count> <dim>`` header line).
        vocabulary: the tokens, in id order: a list of strings or a zoo
            tokenizer (its ``vocabulary``).
        seed: seeds the random rows of the tokens the file lacks.
        lowercase_fallback: look a token up in lower case too.

    Returns:
        `PretrainedVectors`: the (V, E) matrix and what was found and missing.

    Raises:
        ZooError: for a bad file (see `read_vectors`) or an empty vocabulary.

    Example:
        >>> pretrained = load_vectors("vectors.txt", tokenizer)
        >>> print(pretrained.found, len(pretrained.missing))
        >>> model = zoo.build_lstm(tokenizer.vocab_size,
        ...                        embedding_dim=pretrained.dim, compile=False)
        >>> pretrained.assign_to(model, trainable=False)
    """
    tokens = list(getattr(vocabulary, "vocabulary", vocabulary))
    if not tokens or not all(isinstance(t, str) for t in tokens):
        raise ZooError("the vocabulary must be a non-empty list of strings")
    candidates = [_candidates(t, lowercase_fallback) for t in tokens]
    wanted = {c for cs in candidates for c in cs}
    vectors, dim, file_words, mean, std = read_vectors(path, words=wanted)
    rng = np.random.default_rng(seed)
    matrix = rng.normal(mean, std or 1.0, size=(len(tokens), dim)).astype(np.float32)
    missing = []
    for i, (token, names) in enumerate(zip(tokens, candidates, strict=True)):
        hit = next((n for n in names if n in vectors), None)
        if hit is not None:
            matrix[i] = vectors[hit]
        elif token == PAD:
            matrix[i] = 0.0
        else:
            missing.append(token)
    found = len(tokens) - len(missing) - (PAD in tokens and PAD not in vectors)
    return PretrainedVectors(
        matrix=matrix,
        vocabulary=tokens,
        found=int(found),
        missing=missing,
        file_words=file_words,
        mean=mean,
        std=std,
    )


def _candidates(token: str, lowercase: bool) -> Sequence[str]:
    names = [token, token.strip()]
    if lowercase:
        names += [token.lower(), token.strip().lower()]
    return list(dict.fromkeys(n for n in names if n))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
