"""Semantic search: sentence vectors, an exact nearest-neighbour index, and a
retrieval task to score them on.

Mirrors: document 000 section 5 (实际应用场景), "语义搜索：大规模语言模型可以帮助
搜索引擎理解用户查询的意图，从而提供更精确的搜索结果", and section 2's sentence-pair
task, judging "两个句子是否相似" (whether two sentences are similar).

A search engine of this kind turns every text into one vector and answers a
query with the texts whose vectors point the same way (cosine similarity).
Three ways to make the vectors, behind one small interface (`fit(texts)`
learns what the representation needs, `encode(texts)` gives an (N, D) float32
matrix, one row per text):

* `TfidfEncoder`: TF-IDF (`zoo.representations.DocumentVectorizer`): which
  words a text uses, rare words weighing most. No meaning, only words.
* `Word2VecEncoder`: the mean of the Word2Vec vectors of a text's known
  words (`zoo.representations.train_word2vec`); a text with none gets the
  zero vector, which is similar to nothing.
* `BertEncoder`: the mean over the real (non-PAD) tokens of the last encoder
  block's output of a zoo BERT model (masked LM, classifier or tagger;
  `zoo.models.bert`), as Sentence-BERT pools (Reimers and Gurevych, 2019).

`SearchIndex` holds the documents' unit vectors and finds, for each query,
the k of largest cosine exactly (a matrix product and `np.argpartition`).
`retrieval_scores` scores an encoder on a task built offline from the
held-out plays: each passage is cut in two (`half_split`), the first half is
the query, and the second halves of all the passages are the documents; the
right answer is the query's own second half. `search_passages` is what
``zoo search`` runs.

    >>> encoder = BertEncoder.from_file("runs/bert/model.keras")  # doctest: +SKIP
    >>> retrieval_scores(encoder, play_passages("test"))  # doctest: +SKIP
    {'recall@1': ..., 'recall@10': ..., 'mrr': ..., 'queries': 2868, ...}
    >>> rows = search_passages("runs/bert/model.keras", "a horse")  # doctest: +SKIP
    >>> print(format_results(rows))  # doctest: +SKIP

Where it sits: beside the recipes; it imports the representations, the BERT
models, the data and `zoo.saving`, and nothing imports it but the command.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.errors import ZooError, ZooWarning

# Queries are scored against the index this many at a time, so that the
# (queries x documents) score matrix stays small (1,024 x 30,000 floats: 120 MB).
QUERY_CHUNK = 1024
# The bundled corpora `search_passages` searches besides a text file.
SEARCH_DATA = ("shakespeare", "tang")
# More than this share of <unk> tokens: the model's tokenizer does not fit the
# texts (a Shakespeare model on Chinese poems, say), and `search_passages` warns.
UNKNOWN_WARNING = 0.5


# ------------------------------------------------------------ sentence vectors


def _texts(texts) -> list[str]:
    if isinstance(texts, str):
        raise ZooError("encode() takes a list of texts, not one string")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ZooError(f"text {i} is a {type(text).__name__}, not a string")
    return texts


class TfidfEncoder:
    """TF-IDF vectors of texts (`DocumentVectorizer`), as sentence vectors.

    Args:
        max_tokens: the vocabulary's size, the ``[UNK]`` column included
            (None: every word). The vectors are dense, so this bounds their
            memory: N texts take N x `max_tokens` x 4 bytes.
        **vectorizer_kwargs: passed to `DocumentVectorizer` (``standardize``,
            ``split``: ``"character"`` for Chinese).

    Example:
        >>> encoder = TfidfEncoder().fit(["the cat sat", "a dog ran"])
        >>> encoder.encode(["the dog"]).shape
        (1, 7)
    """

    name = "tf-idf"

    def __init__(self, *, max_tokens: int | None = 20_000, **vectorizer_kwargs):
        from zoo.representations import DocumentVectorizer

        self.vectorizer = DocumentVectorizer(
            output_mode="tf_idf", max_tokens=max_tokens, **vectorizer_kwargs
        )

    def fit(self, texts) -> TfidfEncoder:
        """Learn the vocabulary and its document frequencies from `texts`."""
        self.vectorizer.fit(_texts(texts))
        return self

    def encode(self, texts) -> np.ndarray:
        """(N, V) TF-IDF rows; a text of unknown words only has weight at [UNK]."""
        texts = _texts(texts)
        if not texts:
            return np.zeros((0, len(self.vectorizer.vocabulary)), np.float32)
        return self.vectorizer.transform(texts)

    def __repr__(self) -> str:
        return f"TfidfEncoder({self.vectorizer!r})"


class Word2VecEncoder:
    """The mean of the Word2Vec vectors of a text's known words.

    Args:
        vectors: trained `WordVectors`; None: `fit` trains them.
        **train_kwargs: passed to `train_word2vec` by `fit` (``epochs``,
            ``embedding_dim``, ``min_count``, ``seed``...).

    Words are `zoo.representations.word_tokens` (lower case), as
    `train_word2vec` reads a text. A text with no known word gets the zero
    vector: `SearchIndex` gives it cosine 0 with everything.

    Example:
        >>> from zoo.representations import WordVectors
        >>> wv = WordVectors(np.eye(3), ["a", "b", "c"])
        >>> Word2VecEncoder(wv).encode(["a b", "zzz"])
        array([[0.5, 0.5, 0. ],
               [0. , 0. , 0. ]], dtype=float32)
    """

    name = "word2vec"

    def __init__(self, vectors=None, **train_kwargs):
        self.vectors = vectors
        self.train_kwargs = train_kwargs

    def fit(self, texts) -> Word2VecEncoder:
        """Train Word2Vec on `texts`, each text a sentence (windows stay in it)."""
        from zoo.representations import train_word2vec, word_tokens

        sentences = [word_tokens(t) for t in _texts(texts)]
        self.vectors = train_word2vec([s for s in sentences if s], **self.train_kwargs)
        return self

    def encode(self, texts) -> np.ndarray:
        """(N, E): row i is the mean of the vectors of text i's known words."""
        from zoo.representations import word_tokens

        if self.vectors is None:
            raise ZooError("the Word2Vec encoder has no vectors: call fit(texts)")
        texts = _texts(texts)
        out = np.zeros((len(texts), self.vectors.dim), np.float32)
        index = self.vectors.index
        for i, text in enumerate(texts):
            rows = [index[w] for w in word_tokens(text) if w in index]
            if rows:
                out[i] = self.vectors.vectors[rows].mean(axis=0)
        return out

    def __repr__(self) -> str:
        return f"Word2VecEncoder({self.vectors!r})"


class BertEncoder:
    """Mean-pooled sentence vectors from the encoder of a zoo BERT model.

    A text is encoded with the model's tokenizer, cut to its context length,
    and run through the encoder (dropout off); its vector is the mean of the
    last encoder block's (B, T, C) output over its real tokens. Padding never
    changes it: the encoder does not attend to `PAD_ID`, and the mean leaves
    the padded positions out. Texts are encoded in batches of similar length
    (sorted by length, padded to a multiple of 16 tokens).

    Args:
        model: a BERT model of zoo's (`build_bert_mlm`, `build_bert_classifier`,
            `build_bert_tagger`), trained or not.
        tokenizer: its tokenizer.
        batch_size: texts per forward pass.

    Attributes:
        context_length: the longest input, in tokens.
        truncated: how many texts of the last `encode` were cut.
        unknown_share: the share of `<unk>` among the last `encode`'s tokens.

    Example:
        >>> from zoo.models.bert import build_bert_mlm
        >>> from zoo.text import CharTokenizer
        >>> tokenizer = CharTokenizer.fit("To be, or not to be")
        >>> model = build_bert_mlm(tokenizer.vocab_size, compile=False)
        >>> BertEncoder(model, tokenizer).encode(["To be", "or not"]).shape
        (2, 128)
        >>> BertEncoder.from_file("runs/bert/model.keras")  # doctest: +SKIP
    """

    name = "bert"

    def __init__(self, model, tokenizer, *, batch_size: int = 64):
        import keras
        import tensorflow as tf

        from zoo.text import PAD_ID

        sizes = bert_encoder_sizes(model)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ZooError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.context_length = sizes["context_length"]
        self.dim = sizes["embedding_dim"]
        self.layer = f"encoder_{sizes['num_layers']}"
        self.truncated = 0
        self.unknown_share = 0.0
        encoder = keras.Model(
            model.input, model.get_layer(self.layer).output, name="sentence_encoder"
        )
        self.encoder = encoder  # (B, T) ids -> (B, T, C)

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
        def pooled(ids):  # (B, T) -> (B, C)
            x = tf.cast(encoder(ids, training=False), tf.float32)  # (B, T, C)
            real = tf.cast(tf.not_equal(ids, PAD_ID), tf.float32)[..., None]
            count = tf.maximum(tf.reduce_sum(real, axis=1), 1.0)  # (B, 1)
            return tf.reduce_sum(x * real, axis=1) / count  # (B, C)

        self._pooled = pooled

    @classmethod
    def from_file(cls, path, **kwargs) -> BertEncoder:
        """The encoder of the zoo BERT model saved at `path` (`zoo.save`)."""
        from zoo.saving import load

        bundle = load(path)
        try:
            return cls(bundle.model, bundle.tokenizer, **kwargs)
        except ZooError as err:
            raise ZooError(f"{path}: {err}") from None

    def fit(self, texts) -> BertEncoder:
        """Nothing to learn: the model is trained (or not) already."""
        return self

    def token_ids(self, texts) -> list[np.ndarray]:
        """Each text's ids, cut to the context length; sets `truncated`."""
        ids = [self.tokenizer.encode(t) for t in _texts(texts)]
        self.truncated = sum(len(i) > self.context_length for i in ids)
        ids = [i[: self.context_length] for i in ids]
        tokens = sum(len(i) for i in ids)
        unknown = sum(int((i == self.tokenizer.unk_id).sum()) for i in ids)
        self.unknown_share = unknown / tokens if tokens else 0.0
        return ids

    def encode(self, texts) -> np.ndarray:
        """(N, C) mean-pooled vectors; an empty text's is the zero vector."""
        ids = self.token_ids(texts)
        out = np.zeros((len(ids), self.dim), np.float32)
        order = np.argsort([len(i) for i in ids], kind="stable")
        order = order[[len(ids[j]) > 0 for j in order]]  # empty texts stay zero
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = -(-max(len(ids[j]) for j in rows) // 16) * 16  # few shapes
            width = min(width, self.context_length)
            batch = np.zeros((len(rows), width), np.int32)  # PAD_ID = 0
            for r, j in enumerate(rows):
                batch[r, : len(ids[j])] = ids[j]
            out[rows] = self._pooled(batch).numpy()
        return out

    def __repr__(self) -> str:
        return (
            f"BertEncoder({self.model.name!r}, {self.layer}, "
            f"context {self.context_length}, width {self.dim})"
        )


def bert_encoder_sizes(model) -> dict:
    """`zoo.models.bert.encoder_sizes` of `model`, or a `ZooError` saying that
    it is not one of zoo's BERT models (a GPT, an LSTM, an n-gram model...)."""
    import keras

    from zoo.models.bert import encoder_sizes

    if not isinstance(model, keras.Model):
        raise ZooError(
            f"a {type(model).__name__} is not a BERT model; semantic search needs "
            "one of zoo's BERT models (zoo train bert)"
        )
    try:
        sizes = encoder_sizes(model)
        model.get_layer(f"encoder_{sizes['num_layers']}")
    except (ZooError, ValueError, AttributeError):
        raise ZooError(
            f"model {model.name!r} is not one of zoo's BERT models (masked LM, "
            "classifier or tagger); semantic search needs one (zoo train bert)"
        ) from None
    return sizes


# ------------------------------------------------------------ the index


class SearchIndex:
    """Exact cosine nearest neighbours over unit-normalised vectors.

    `search` is one matrix product of the unit query vectors with the unit
    document vectors, then `np.argpartition` for the k largest per query
    (O(N) rather than a full sort), sorted. Exact search is enough here:
    at the bundled plays' size (30,469 passages, vectors of 128 floats,
    14.9 MB) one query takes 0.2 ms and a batch of 1,000 queries 118 ms on a
    2-core CPU, while embedding the passages took 23 s (``query_time`` in
    ``benchmarks/results/retrieval.json``, measured by
    ``benchmarks/retrieval.py``; `tests/test_search.py` checks these figures
    against that file). Approximate indexes (faiss, usearch, HNSW
    graphs) trade exactness for speed and pay off at millions of vectors,
    not at tens of thousands.

    Args:
        vectors: (N, D) document vectors; each row is divided by its length
            (a zero row stays zero: cosine 0 with every query).

    Example:
        >>> index = SearchIndex([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
        >>> scores, indices = index.search([[0.0, 1.0]], k=2)
        >>> indices, scores.round(3)
        (array([[1, 2]]), array([[1.   , 0.707]], dtype=float32))
    """

    def __init__(self, vectors):
        from zoo.representations import normalize_rows

        vectors = np.asarray(vectors)
        if vectors.ndim != 2 or vectors.shape[0] == 0:
            raise ZooError(
                f"SearchIndex needs an (N, D) matrix of N >= 1 vectors, got shape "
                f"{vectors.shape}"
            )
        if not np.isfinite(vectors).all():
            raise ZooError("the document vectors hold NaN or infinite values")
        self.vectors = normalize_rows(vectors).astype(np.float32)  # (N, D)

    def __len__(self) -> int:
        return self.vectors.shape[0]

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def scores(self, query_vectors) -> np.ndarray:
        """(Q, N) cosine of every query with every document."""
        from zoo.representations import normalize_rows

        queries = np.atleast_2d(np.asarray(query_vectors))
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ZooError(
                f"query vectors of shape {np.shape(query_vectors)} do not fit an "
                f"index of {self.dim}-dimensional vectors"
            )
        return normalize_rows(queries).astype(np.float32) @ self.vectors.T

    def search(self, query_vectors, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The `k` documents of largest cosine for each query.

        Args:
            query_vectors: (Q, D), or one vector (D,).
            k: neighbours per query, at most ``len(index)``.

        Returns:
            ``(scores, indices)``, both (Q, k): best first, ties by the
            smaller index (as a stable sort of the scores would order them).
        """
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ZooError(f"k must be a positive integer, got {k!r}")
        if k > len(self):
            raise ZooError(f"k={k} is more than the {len(self)} documents indexed")
        queries = np.atleast_2d(np.asarray(query_vectors))
        all_scores, all_indices = [], []
        for start in range(0, max(1, len(queries)), QUERY_CHUNK):
            sims = self.scores(queries[start : start + QUERY_CHUNK])  # (q, N)
            if k < len(self):
                top = np.argpartition(-sims, k - 1, axis=1)[:, :k]  # (q, k), unsorted
            else:
                top = np.broadcast_to(np.arange(len(self)), sims.shape)
            top_scores = np.take_along_axis(sims, top, axis=1)
            order = np.lexsort((top, -top_scores), axis=1)  # by score, then index
            all_indices.append(np.take_along_axis(top, order, axis=1))
            all_scores.append(np.take_along_axis(top_scores, order, axis=1))
        return np.concatenate(all_scores), np.concatenate(all_indices)

    def __repr__(self) -> str:
        return f"SearchIndex({len(self):,} vectors of {self.dim})"


# ------------------------------------------------------------ the retrieval task


def half_split(text: str) -> tuple[str, str]:
    """Cut a text in two near its middle: at the line break nearest the
    middle, or, for a single line, at the space nearest it, or (Chinese, no
    spaces) at the middle character.

    Example:
        >>> half_split("To be, or not to be:\\nthat is the question.")
        ('To be, or not to be:', 'that is the question.')
        >>> half_split("one two three four")
        ('one two', 'three four')
    """
    if not isinstance(text, str):
        raise ZooError(f"half_split() takes a string, got {type(text).__name__}")
    text = text.strip()
    middle = len(text) / 2
    for gap in ("\n", " "):
        cuts = [m.start() for m in re.finditer(re.escape(gap), text)]
        if cuts:
            cut = min(cuts, key=lambda c: (abs(c - middle), c))
            first, second = text[:cut].strip(), text[cut + 1 :].strip()
            if first and second:
                return first, second
    if len(text) < 2:
        raise ZooError(f"cannot cut {text!r} in two: it has fewer than 2 characters")
    cut = len(text) // 2
    return text[:cut], text[cut:]


def retrieval_scores(encoder, passages, ks: Sequence[int] = (1, 10)) -> dict:
    """Recall@k and mean reciprocal rank of finding each passage's second
    half from its first half, among the second halves of all `passages`.

    Each passage is cut by `half_split`; query i's answer is document i. The
    rank of the answer counts the documents that score at least as high
    (ties count against it, so an encoder that gives every text the same
    vector ranks every answer last, not first).

    Args:
        encoder: a fitted encoder (`TfidfEncoder`, `Word2VecEncoder`,
            `BertEncoder`, or any object with ``encode(texts)``).
        passages: `zoo.data.labelled.Passage` objects or strings; at least 2.
        ks: the k of each recall@k.

    Returns:
        ``{"recall@k": ... for each k, "mrr", "queries", "seconds"}``:
        "seconds" is the time to encode both halves and rank.

    Example:
        >>> encoder = TfidfEncoder().fit(texts)  # doctest: +SKIP
        >>> retrieval_scores(encoder, play_passages("test"))  # doctest: +SKIP
        {'recall@1': ..., 'recall@10': ..., 'mrr': ..., 'queries': 2868, ...}
    """
    texts = [getattr(p, "text", p) for p in passages]
    if len(texts) < 2:
        raise ZooError(f"retrieval needs at least 2 passages, got {len(texts)}")
    ks = tuple(ks)
    if not ks or any(not isinstance(k, int) or k < 1 for k in ks):
        raise ZooError(f"ks must be positive integers, got {ks!r}")
    queries, documents = zip(*(half_split(t) for t in texts), strict=True)
    start = time.perf_counter()
    index = SearchIndex(encoder.encode(list(documents)))
    query_vectors = encoder.encode(list(queries))
    ranks = np.empty(len(texts), np.int64)
    for lo in range(0, len(texts), QUERY_CHUNK):
        sims = index.scores(query_vectors[lo : lo + QUERY_CHUNK])  # (q, N)
        rows = np.arange(sims.shape[0])
        answer = sims[rows, lo + rows][:, None]  # (q, 1)
        ranks[lo : lo + len(rows)] = (sims >= answer).sum(axis=1)  # itself included
    seconds = time.perf_counter() - start
    scores = {f"recall@{k}": float(np.mean(ranks <= k)) for k in ks}
    scores["mrr"] = float(np.mean(1.0 / ranks))
    scores["queries"] = len(texts)
    scores["seconds"] = seconds
    return scores


# ------------------------------------------------------------ `zoo search`


@dataclass(frozen=True)
class SearchResult:
    """One row of `search_passages`: the cosine, where the text is from, the text."""

    score: float
    source: str
    text: str


def load_documents(data="shakespeare") -> list[tuple[str, str]]:
    """The texts `search_passages` searches, as (where from, text) pairs.

    Args:
        data: "shakespeare" (the passages of every bundled play, all splits;
            where from: the play's id), "tang" (every bundled Tang poem; its
            title and author), or a UTF-8 text file (its blocks separated by
            blank lines; its name and the block's first line number).

    Example:
        >>> load_documents("tang")[0][0]  # doctest: +SKIP
        '帝京篇十首 一 (太宗皇帝)'
    """
    if data == "shakespeare":
        from zoo.data.labelled import play_passages

        return [
            (p.play, p.text)
            for split in ("train", "valid", "test")
            for p in play_passages(split)
        ]
    if data == "tang":
        from zoo.data.corpora import _tang_poems

        return [
            (f"{poem['title']} ({poem['author']})", poem["text"].strip())
            for poems in _tang_poems().values()
            for poem in poems
        ]
    path = Path(data)
    if not path.is_file():
        raise ZooError(
            f"unknown data {str(data)!r}: use {' or '.join(SEARCH_DATA)}, or a UTF-8 "
            "text file whose blank lines separate the texts to search"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ZooError(
            f"{path} is not UTF-8 text ({err.reason} at byte {err.start})"
        ) from None
    documents = []
    line = 1
    for block in re.split(r"(\n[ \t]*\n)", text):
        if block.strip() and not re.fullmatch(r"\n[ \t]*\n", block):
            leading = len(block) - len(block.lstrip("\n"))
            documents.append((f"{path.name}:{line + leading}", block.strip()))
        line += block.count("\n")
    if not documents:
        raise ZooError(f"{path} holds no text to search")
    return documents


def search_passages(
    model_file, query: str, *, data="shakespeare", top_k: int = 5
) -> list[SearchResult]:
    """Search a corpus with a zoo BERT model: what ``zoo search`` runs.

    Loads the model file, embeds every text of `data` and the query with its
    pooled encoder (`BertEncoder`), and returns the `top_k` texts of largest
    cosine with the query (`SearchIndex`).

    Args:
        model_file: a BERT model saved by zoo (``zoo train bert``; a
            classifier or tagger fine-tuned from one works too).
        query: the text to search for.
        data: what to search (`load_documents`): "shakespeare", "tang" or a
            UTF-8 text file of blank-line-separated texts.
        top_k: how many rows; at most the number of texts.

    Returns:
        `SearchResult` rows (score, source, text), best first.

    Raises:
        ZooError: an empty query, a missing file, a model that is not a zoo
            BERT model, unknown data, or `top_k` out of range.

    Example:
        >>> rows = search_passages("runs/bert/model.keras", "a horse")  # doctest: +SKIP
        >>> print(format_results(rows))  # doctest: +SKIP
    """
    if not isinstance(query, str) or not query.strip():
        raise ZooError("the query is empty: give the text to search for")
    if not isinstance(top_k, int) or top_k < 1:
        raise ZooError(f"top_k must be a positive integer, got {top_k!r}")
    if not Path(model_file).is_file():
        raise ZooError(f"no such model file: {model_file}")
    documents = load_documents(data)
    if top_k > len(documents):
        raise ZooError(f"top_k={top_k} is more than the {len(documents)} texts")
    encoder = BertEncoder.from_file(model_file)
    vectors = encoder.encode([text for _, text in documents])
    if encoder.unknown_share > UNKNOWN_WARNING:
        warnings.warn(
            ZooWarning(
                f"{encoder.unknown_share:.0%} of the tokens of {data} are <unk> to "
                f"{model_file}'s tokenizer: the model was trained on other text"
            ),
            stacklevel=2,
        )
    query_vector = encoder.encode([query.strip()])
    scores, indices = SearchIndex(vectors).search(query_vector, k=top_k)
    return [
        SearchResult(float(s), *documents[i])
        for s, i in zip(scores[0], indices[0], strict=True)
    ]


def format_results(rows: Sequence[SearchResult], *, width: int = 88) -> str:
    """The rows of `search_passages` as text: rank, cosine and source on one
    line, the text under it, indented.

    Example:
        >>> print(format_results([SearchResult(0.91, "hamlet", "To be,\\nor not")]))
         1  0.910  hamlet
            To be,
            or not
    """
    if not rows:
        return "no results"
    lines = []
    for rank, row in enumerate(rows, 1):
        lines.append(f"{rank:>2}  {row.score:.3f}  {row.source}")
        for line in row.text.splitlines():
            line = line.strip()
            if len(line) > width - 4:
                line = line[: width - 7] + "..."
            lines.append(f"    {line}")
    return "\n".join(lines)
