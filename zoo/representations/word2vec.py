"""Word2Vec: skip-gram with negative sampling (Mikolov et al., 2013).

Each word w gets two vectors, ``v_w`` (its word vector, the one kept) and
``u_w`` (its vector as a context). For every word c seen within a window of
w in the text, and for K "negative" words n drawn at random, training raises
``sigma(u_c . v_w)`` and lowers ``sigma(u_n . v_w)``: a logistic regression
that tells real (word, context) pairs from made-up ones. Words used in the
same contexts end up with similar word vectors.

The pieces, each a function of its own:

* `build_vocabulary`: words seen at least ``min_count`` times, by falling count.
* `keep_probabilities`: subsampling of frequent words. Each occurrence of a
  word with relative frequency f is kept with probability
  ``min(1, (sqrt(f / t) + 1) * t / f)`` (word2vec.c and gensim), or with the
  paper's ``min(1, sqrt(t / f))`` (``formula="paper"``).
* `negative_distribution`: negatives are drawn from the unigram distribution
  raised to the power 3/4, ``P(w) ~ count(w) ** 0.75``.
* `make_skipgram_dataset`: one epoch of (word, context + negatives) batches
  in tf.data: subsample, pair every kept word with the kept words within its
  window (a window drawn from 1..``window`` per word when it is dynamic, as
  in word2vec.c), shuffle, batch, draw the negatives. Every random number
  comes from stateless ops seeded by (seed, epoch), so a seed gives the same
  batches in every run.
* `build_skipgram`: the Keras model: two `keras.layers.Embedding` tables, a
  dot product, sigmoid cross-entropy; trained with ``jit_compile=True``.
* `train_word2vec`: all of the above, returning `WordVectors`, which answer
  nearest-neighbour and analogy (3CosAdd) queries.

Reference:
    Mikolov, Sutskever, Chen, Corrado and Dean, "Distributed representations
    of words and phrases and their compositionality", NeurIPS 2013.
    Levy and Goldberg, "Linguistic regularities in sparse and explicit word
    representations", CoNLL 2014 (3CosAdd).
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Iterable, Sequence

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import ZooError
from zoo.representations.documents import normalize_rows
from zoo.text import SPECIAL_TOKENS, WordTokenizer

FORMULAS = ("word2vec", "paper")
# Seeds of the stateless random ops: (seed, stream) with one stream per use.
_SUBSAMPLE, _WINDOW, _SHUFFLE, _NEGATIVES = range(4)


def word_tokens(text: str, *, lowercase: bool = True) -> list[str]:
    """The words of `text`, as zoo's `WordTokenizer` splits them.

    Spaces in front of words, whitespace runs and punctuation marks are
    dropped; each Chinese character stays a word of its own.

    Example:
        >>> word_tokens("To be, or not to be.")
        ['to', 'be', 'or', 'not', 'to', 'be']
    """
    if not isinstance(text, str):
        raise ZooError(f"word_tokens() takes a string, got {type(text).__name__}")
    splitter = WordTokenizer(list(SPECIAL_TOKENS), lowercase=lowercase)
    words = (t.strip() for t in splitter.split(text))
    return [w for w in words if any(ch.isalnum() for ch in w)]


def build_vocabulary(
    sentences: Sequence[Sequence[str]], *, min_count: int = 5
) -> tuple[list[str], np.ndarray]:
    """Words seen at least `min_count` times, most frequent first.

    Args:
        sentences: lists of words.
        min_count: rarer words are dropped from the text (as gensim does),
            not mapped to an unknown word.

    Returns:
        ``(words, counts)``: the words, by falling count (ties by the word),
        and their counts as an int64 array.
    """
    if min_count < 1:
        raise ZooError(f"min_count must be >= 1, got {min_count}")
    counts = collections.Counter()
    for sentence in sentences:
        counts.update(sentence)
    words = sorted((w for w, n in counts.items() if n >= min_count),
                   key=lambda w: (-counts[w], w))  # fmt: skip
    if len(words) < 2:
        raise ZooError(
            f"only {len(words)} word(s) occur at least min_count={min_count} times; "
            "use more text or a smaller min_count"
        )
    return words, np.array([counts[w] for w in words], dtype=np.int64)


def keep_probabilities(
    counts, *, sample: float = 1e-3, formula: str = "word2vec"
) -> np.ndarray:
    """The probability of keeping each occurrence of each word (subsampling).

    With f = count / total and t = `sample`:

    * ``"word2vec"`` (word2vec.c, gensim): ``min(1, (sqrt(f/t) + 1) * t/f)``;
    * ``"paper"`` (Mikolov et al. 2013, section 2.3): discard with probability
      ``1 - sqrt(t/f)``, i.e. keep with ``min(1, sqrt(t/f))``.

    Both keep rare words always and the most frequent ones seldom.

    Args:
        counts: each word's count in the text.
        sample: the threshold t; 0 turns subsampling off (keep everything).
        formula: ``"word2vec"`` or ``"paper"``.

    Returns:
        A float64 array of probabilities in (0, 1], one per word.
    """
    if formula not in FORMULAS:
        raise ZooError(f"formula must be one of {FORMULAS}, got {formula!r}")
    if sample < 0:
        raise ZooError(f"sample must be >= 0, got {sample}")
    counts = np.asarray(counts, dtype=np.float64)
    if sample == 0:
        return np.ones_like(counts)
    f = counts / counts.sum()
    if formula == "paper":
        keep = np.sqrt(sample / f)
    else:
        keep = (np.sqrt(f / sample) + 1) * sample / f
    return np.minimum(keep, 1.0)


def negative_distribution(counts, *, power: float = 0.75) -> np.ndarray:
    """The noise distribution of negative samples: ``count ** power``, normalised."""
    weights = np.asarray(counts, dtype=np.float64) ** power
    return weights / weights.sum()


def skipgram_pairs(
    ids,
    *,
    window: int,
    keep_prob,
    dynamic_window: bool = True,
    sentence_ids=None,
    seed: int = 0,
    epoch: int = 0,
) -> tuple[tf.Tensor, tf.Tensor]:
    """One epoch's (word, context) pairs, shuffled.

    Args:
        ids: (N,) word ids of the text, sentences one after the other.
        window: the largest distance between a word and its context.
        keep_prob: (V,) subsampling keep probabilities (`keep_probabilities`).
        dynamic_window: draw each word's window from 1..`window` (uniformly),
            so near words are paired more often than far ones (word2vec.c).
        sentence_ids: (N,) sentence number of each word; a window never
            crosses into another sentence. None: the text is one sentence.
        seed: the random seed.
        epoch: the epoch number, mixed into the seed (each epoch subsamples
            and shuffles anew).

    Returns:
        ``(words, contexts)``, two int32 tensors of shape (P,).
    """
    if window < 1:
        raise ZooError(f"window must be >= 1, got {window}")
    ids = tf.convert_to_tensor(np.asarray(ids, dtype=np.int32))
    if sentence_ids is None:
        sentences = tf.zeros_like(ids)
    else:
        sentences = tf.convert_to_tensor(np.asarray(sentence_ids, dtype=np.int32))
    keep_prob = tf.constant(np.asarray(keep_prob, dtype=np.float32))

    def stream(kind):
        return tf.constant([seed, epoch * 4 + kind], dtype=tf.int64)

    # Subsample: each occurrence is kept with its word's probability; the
    # window then runs over the words that are left (as in word2vec.c).
    u = tf.random.stateless_uniform(tf.shape(ids), seed=stream(_SUBSAMPLE))
    kept = u < tf.gather(keep_prob, ids)
    ids = tf.boolean_mask(ids, kept)  # (N',)
    sentences = tf.boolean_mask(sentences, kept)
    n = tf.shape(ids)[0]
    if dynamic_window:
        reach = tf.random.stateless_uniform(
            [n], seed=stream(_WINDOW), minval=1, maxval=window + 1, dtype=tf.int32
        )
    else:
        reach = tf.fill([n], window)
    words, contexts = [], []
    for offset in [o for o in range(-window, window + 1) if o != 0]:
        lo, hi = max(0, -offset), max(0, offset)  # word i pairs with i + offset
        centre = tf.range(lo, tf.maximum(lo, n - hi))  # empty if the text is short
        other = centre + offset
        ok = (abs(offset) <= tf.gather(reach, centre)) & (
            tf.gather(sentences, centre) == tf.gather(sentences, other)
        )
        words.append(tf.gather(ids, tf.boolean_mask(centre, ok)))
        contexts.append(tf.gather(ids, tf.boolean_mask(other, ok)))
    words, contexts = tf.concat(words, 0), tf.concat(contexts, 0)  # (P,)
    order = tf.random.experimental.stateless_shuffle(
        tf.range(tf.shape(words)[0]), seed=stream(_SHUFFLE)
    )
    return tf.gather(words, order), tf.gather(contexts, order)


def sample_negatives(probs, shape, *, seed) -> tf.Tensor:
    """Draw word ids from `probs` (inverse CDF of stateless uniforms).

    Args:
        probs: (V,) a distribution over word ids (`negative_distribution`).
        shape: the shape of the result.
        seed: a stateless seed, shape (2,).

    Returns:
        int32 ids of the given shape.
    """
    cdf = tf.constant(np.cumsum(np.asarray(probs, dtype=np.float64)), tf.float64)
    u = tf.random.stateless_uniform(shape, seed=seed, dtype=tf.float64) * cdf[-1]
    flat = tf.searchsorted(cdf, tf.reshape(u, [-1]), side="right")
    ids = tf.minimum(flat, tf.shape(cdf, out_type=flat.dtype)[0] - 1)
    return tf.reshape(tf.cast(ids, tf.int32), shape)


def make_skipgram_dataset(
    ids,
    counts,
    *,
    window: int = 5,
    negatives: int = 5,
    batch_size: int = 1024,
    sample: float = 1e-3,
    dynamic_window: bool = True,
    power: float = 0.75,
    sentence_ids=None,
    seed: int = 0,
    epoch: int = 0,
) -> tf.data.Dataset:
    """One epoch of skip-gram batches with negatives.

    Args:
        ids: (N,) word ids of the text (`build_vocabulary`'s order).
        counts: (V,) each word's count: it sets the subsampling and the
            negatives' distribution.
        window, dynamic_window, sentence_ids: see `skipgram_pairs`.
        negatives: K, the negatives drawn per (word, context) pair.
        batch_size: B pairs per batch; the last partial batch is dropped, so
            every batch has the same shape and the step compiles once.
        sample: the subsampling threshold (`keep_probabilities`; 0 = off).
        power: the negatives are drawn from ``count ** power``.
        seed: the random seed; with `epoch`, it fixes every batch.
        epoch: the epoch number.

    Returns:
        A `tf.data.Dataset` of ``({"words": (B,), "contexts": (B, 1 + K)},
        labels (B, 1 + K))``, the inputs of `build_skipgram`: column 0 of
        ``contexts`` is the real context (label 1), the other K columns are
        negatives (label 0).

    Example:
        >>> ds = make_skipgram_dataset(ids, counts, window=2, negatives=3,
        ...                            batch_size=4)
        >>> x, labels = next(iter(ds))
        >>> x["words"].shape, x["contexts"].shape, labels.shape
        (TensorShape([4]), TensorShape([4, 4]), TensorShape([4, 4]))
    """
    if negatives < 1 or batch_size < 1:
        raise ZooError(
            f"negatives and batch_size must be >= 1, got {negatives}, {batch_size}"
        )
    counts = np.asarray(counts)
    words, contexts = skipgram_pairs(
        ids,
        window=window,
        keep_prob=keep_probabilities(counts, sample=sample),
        dynamic_window=dynamic_window,
        sentence_ids=sentence_ids,
        seed=seed,
        epoch=epoch,
    )
    if int(tf.shape(words)[0]) < batch_size:
        raise ZooError(
            f"the text gives only {int(tf.shape(words)[0])} (word, context) pairs, "
            f"fewer than one batch of {batch_size}; use more text or a smaller "
            "batch_size"
        )
    probs = negative_distribution(counts, power=power)
    labels = tf.constant([[1.0] + [0.0] * negatives] * batch_size)  # (B, 1 + K)

    def add_negatives(step, batch):
        word, context = batch  # (B,), (B,)
        noise_seed = tf.stack(
            [tf.constant(seed, tf.int64), (epoch * 4 + _NEGATIVES) * 2**32 + step]
        )
        noise = sample_negatives(probs, [batch_size, negatives], seed=noise_seed)
        both = tf.concat([context[:, None], noise], axis=1)  # (B, 1 + K)
        return {"words": word, "contexts": both}, labels

    ds = tf.data.Dataset.from_tensor_slices((words, contexts))
    ds = ds.batch(batch_size, drop_remainder=True).enumerate()
    ds = ds.map(add_negatives, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def build_skipgram(
    vocab_size: int,
    *,
    embedding_dim: int = 100,
    negatives: int = 5,
    learning_rate=2e-3,
    seed: int = 0,
    compile: bool = True,
    name: str = "skipgram",
) -> keras.Model:
    """The skip-gram model with negative sampling, as a Keras model (logits out).

    Mirrors: document 001 section 2 (Word2Vec, one of the input
    representations it names); the model of Mikolov et al. 2013.
    Defaults from: gensim's `Word2Vec` (100 dimensions, 5 negatives); the
    learning rate is zoo's, for Adam on batches (word2vec.c's SGD takes one
    pair at a time).

    ::

        words     (B,)        -> word_embedding    -> (B, E)
        contexts  (B, 1 + K)  -> context_embedding -> (B, 1 + K, E)
        dot over E                                 -> (B, 1 + K) logits

    The loss is sigmoid cross-entropy against labels (1, 0, ..., 0): the real
    context should score high, the K negatives low. Keras averages it over
    the 1 + K columns where the paper sums them, a constant factor that Adam
    does not see.

    Args:
        vocab_size: V, the number of words.
        embedding_dim: E, the size of each word vector.
        negatives: K, negatives per pair (the model's input is 1 + K wide).
        learning_rate: Adam's step size: a float or a schedule.
        seed: seeds the word vectors' initializer (uniform in ±0.5 / E, as
            in word2vec.c; the context vectors start at zero).
        compile: compile with Adam, the loss and ``jit_compile=True``.
        name: the model's name.

    Returns:
        A `keras.Model` with layers ``word_embedding`` (the vectors kept) and
        ``context_embedding``.
    """
    for arg, value in (("vocab_size", vocab_size), ("embedding_dim", embedding_dim),
                       ("negatives", negatives)):  # fmt: skip
        if not isinstance(value, int) or value < 1:
            raise ZooError(f"{arg} must be a positive integer, got {value!r}")
    words = keras.Input(shape=(), dtype="int32", name="words")  # (B,)
    contexts = keras.Input(shape=(1 + negatives,), dtype="int32", name="contexts")
    scale = 0.5 / embedding_dim
    v = keras.layers.Embedding(
        vocab_size,
        embedding_dim,
        embeddings_initializer=keras.initializers.RandomUniform(-scale, scale, seed),
        name="word_embedding",
    )(words)  # (B, E)
    u = keras.layers.Embedding(
        vocab_size,
        embedding_dim,
        embeddings_initializer="zeros",
        name="context_embedding",
    )(contexts)  # fmt: skip  (B, 1 + K, E)
    logits = keras.layers.Dot(axes=(2, 1), name="dot")([u, v])  # (B, 1 + K)
    model = keras.Model({"words": words, "contexts": contexts}, logits, name=name)
    if compile:
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss=keras.losses.BinaryCrossentropy(from_logits=True),
            jit_compile=True,
        )
        if not model.jit_compile:
            raise ZooError(f"Keras turned XLA off for model {model.name!r}")
    return model


class WordVectors:
    """Word vectors with nearest-neighbour and analogy queries.

    Args:
        vectors: (V, E) one row per word.
        vocab: the V words, in row order.
        counts: optional (V,) counts of the words in the training text.

    Attributes:
        vectors: the (V, E) float32 matrix.
        vocab: the words.
        model, history, seconds: set by `train_word2vec` (the Keras model,
            the loss per epoch, the training wall time).

    Example:
        >>> wv = WordVectors(np.eye(3), ["a", "b", "c"])
        >>> wv.most_similar("a", k=1)
        [('b', 0.0)]
    """

    def __init__(self, vectors, vocab: Sequence[str], counts=None):
        vectors = np.asarray(vectors, dtype=np.float32)
        vocab = [str(w) for w in vocab]
        if vectors.ndim != 2 or vectors.shape[0] != len(vocab):
            raise ZooError(
                f"vectors of shape {vectors.shape} do not fit {len(vocab)} words"
            )
        if len(set(vocab)) != len(vocab):
            dupes = [w for w, n in collections.Counter(vocab).items() if n > 1]
            raise ZooError(f"the vocabulary has duplicate words: {dupes[:10]}")
        self.vectors = vectors
        self.vocab = vocab
        self.counts = None if counts is None else np.asarray(counts)
        self.index = {w: i for i, w in enumerate(vocab)}
        self._unit = normalize_rows(vectors)
        self.model = None
        self.history = None
        self.seconds = None

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.vocab)

    def __contains__(self, word) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self._id(word)]

    def _id(self, word: str) -> int:
        if word not in self.index:
            raise ZooError(f"{word!r} is not in the vocabulary ({len(self)} words)")
        return self.index[word]

    def similarity(self, a: str, b: str) -> float:
        """The cosine similarity of two words' vectors."""
        return float(self._unit[self._id(a)] @ self._unit[self._id(b)])

    def most_similar(self, word: str, k: int = 10) -> list[tuple[str, float]]:
        """The `k` words whose vectors are closest (by cosine) to `word`'s.

        Returns:
            ``[(word, cosine), ...]``, closest first, `word` itself left out.
        """
        return self._nearest(self._unit[self._id(word)], k, exclude=[word])

    def analogy(self, a: str, b: str, c: str, *, k: int = 1) -> list[tuple[str, float]]:
        """ "`a` is to `b` as `c` is to ?", by 3CosAdd.

        The answer x maximises ``cos(x, b) - cos(x, a) + cos(x, c)``, the same
        x as ``cos(x, b^ - a^ + c^)`` with unit vectors ^ (Levy and Goldberg
        2014); a, b and c themselves are left out. ``analogy("man", "king",
        "woman")`` should answer "queen".

        Returns:
            ``[(word, cos(x, b^ - a^ + c^)), ...]``, best first.
        """
        unit = self._unit
        target = unit[self._id(b)] - unit[self._id(a)] + unit[self._id(c)]
        return self._nearest(target / np.linalg.norm(target), k, exclude=[a, b, c])

    def _nearest(self, target, k: int, exclude) -> list[tuple[str, float]]:
        if not isinstance(k, int) or k < 1:
            raise ZooError(f"k must be a positive integer, got {k!r}")
        scores = self._unit @ target  # (V,)
        scores[[self.index[w] for w in exclude]] = -np.inf
        k = min(k, len(self) - len(set(exclude)))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.lexsort((best, -scores[best]))]  # by score, ties by id
        return [(self.vocab[i], float(scores[i])) for i in best]

    def __repr__(self) -> str:
        return f"WordVectors({len(self)} words, dim={self.dim})"


def _sentences(corpus_or_tokens, lowercase: bool) -> list[list[str]]:
    """A Corpus, a text, a list of words or a list of sentences -> sentences."""
    source = getattr(corpus_or_tokens, "train", corpus_or_tokens)  # a Corpus
    if isinstance(source, str):
        return [word_tokens(source, lowercase=lowercase)]
    source = list(source)
    if source and all(isinstance(t, str) for t in source):
        return [source]
    if all(isinstance(s, Iterable) and not isinstance(s, str) for s in source) and all(
        isinstance(t, str) for s in source for t in s
    ):
        return [list(s) for s in source]
    raise ZooError(
        "train_word2vec takes a Corpus, a text, a list of words or a list of "
        "sentences (lists of words)"
    )


def train_word2vec(
    corpus_or_tokens,
    *,
    embedding_dim: int = 100,
    window: int = 5,
    negatives: int = 5,
    epochs: int = 5,
    min_count: int = 5,
    sample: float = 1e-3,
    dynamic_window: bool = True,
    batch_size: int = 1024,
    learning_rate: float = 2e-3,
    lowercase: bool = True,
    seed: int = 0,
    verbose: int = 0,
) -> WordVectors:
    """Train skip-gram Word2Vec with negative sampling.

    Args:
        corpus_or_tokens: a `zoo.data.Corpus` (its training text), a text (its
            `word_tokens`), a list of words, or a list of sentences (lists of
            words; windows stay inside a sentence).
        embedding_dim: E, the size of the vectors (gensim's ``vector_size``).
        window: the largest distance from a word to its contexts.
        negatives: K, negatives per (word, context) pair.
        epochs: passes over the text, each subsampled and shuffled anew.
        min_count: rarer words are dropped from the text.
        sample: the subsampling threshold t (`keep_probabilities`; 0 = off).
        dynamic_window: draw each word's window from 1..`window`.
        batch_size: pairs per training step.
        learning_rate: Adam's first step size; it decays linearly to 1e-4 of
            itself over the run, as word2vec.c's does.
        lowercase: fold case when tokenizing a text.
        seed: fixes the initial vectors and every random draw of the data.
        verbose: Keras's `fit` verbosity.

    Returns:
        `WordVectors` of the `word_embedding` table, with ``.model``,
        ``.history`` (mean loss per epoch) and ``.seconds`` set.

    Example:
        >>> wv = train_word2vec(load_corpus("shakespeare"), epochs=1)
        >>> wv.most_similar("king", k=3)
    """
    sentences = _sentences(corpus_or_tokens, lowercase)
    vocab, counts = build_vocabulary(sentences, min_count=min_count)
    index = {w: i for i, w in enumerate(vocab)}
    ids, sentence_ids = [], []
    for s, sentence in enumerate(sentences):
        kept = [index[w] for w in sentence if w in index]
        ids.extend(kept)
        sentence_ids.extend([s] * len(kept))
    ids = np.asarray(ids, dtype=np.int32)
    sentence_ids = np.asarray(sentence_ids, dtype=np.int32)
    if epochs < 1:
        raise ZooError(f"epochs must be >= 1, got {epochs}")
    # The expected number of steps, for the learning-rate decay: each kept
    # word has on average (window + 1) / 2 contexts per side when dynamic.
    kept = float((counts * keep_probabilities(counts, sample=sample)).sum())
    per_side = (window + 1) / 2 if dynamic_window else window
    steps = max(1, int(epochs * kept * 2 * per_side / batch_size))
    schedule = keras.optimizers.schedules.PolynomialDecay(
        learning_rate, steps, end_learning_rate=learning_rate * 1e-4
    )
    model = build_skipgram(
        len(vocab),
        embedding_dim=embedding_dim,
        negatives=negatives,
        learning_rate=schedule,
        seed=seed,
    )
    history = []
    start = time.perf_counter()
    for epoch in range(epochs):
        ds = make_skipgram_dataset(
            ids,
            counts,
            window=window,
            negatives=negatives,
            batch_size=batch_size,
            sample=sample,
            dynamic_window=dynamic_window,
            sentence_ids=sentence_ids,
            seed=seed,
            epoch=epoch,
        )
        fit = model.fit(
            ds,
            initial_epoch=epoch,
            epochs=epoch + 1,
            shuffle=False,  # the pairs are shuffled already
            verbose=verbose,
        )
        loss = fit.history["loss"][-1]
        if not math.isfinite(loss):
            raise ZooError(
                f"the loss is {loss} in epoch {epoch + 1}; lower learning_rate"
            )
        history.append(loss)
    vectors = model.get_layer("word_embedding").embeddings.numpy()
    wv = WordVectors(vectors, vocab, counts)
    wv.model, wv.history = model, history
    wv.seconds = time.perf_counter() - start
    return wv
