"""Input representations of text.

Document 001 section 2 names them: "词袋模型、TF-IDF、Word2Vec等".

* `zoo.representations.documents`: bag-of-words and TF-IDF document vectors
  (Keras's `TextVectorization`) and cosine similarity.
* `zoo.representations.word2vec`: skip-gram Word2Vec with negative sampling,
  a Keras model fed by tf.data and trained with XLA; nearest neighbours and
  analogies.
* `zoo.representations.pretrained`: word2vec/GloVe text-format vectors from
  a file, as an embedding matrix or a model's (frozen) embedding layer.

Example:
    >>> from zoo.representations import train_word2vec
    >>> wv = train_word2vec(load_corpus("shakespeare"), epochs=1)
    >>> wv.analogy("man", "king", "woman")
"""

from zoo.representations.documents import (
    DocumentVectorizer,
    cosine_similarity,
    normalize_rows,
)
from zoo.representations.pretrained import PretrainedVectors, load_vectors, read_vectors
from zoo.representations.word2vec import (
    WordVectors,
    build_skipgram,
    build_vocabulary,
    keep_probabilities,
    make_skipgram_dataset,
    negative_distribution,
    sample_negatives,
    skipgram_pairs,
    train_word2vec,
    word_tokens,
)

__all__ = [
    "DocumentVectorizer",
    "PretrainedVectors",
    "WordVectors",
    "build_skipgram",
    "build_vocabulary",
    "cosine_similarity",
    "keep_probabilities",
    "load_vectors",
    "make_skipgram_dataset",
    "negative_distribution",
    "normalize_rows",
    "read_vectors",
    "sample_negatives",
    "skipgram_pairs",
    "train_word2vec",
    "word_tokens",
]
