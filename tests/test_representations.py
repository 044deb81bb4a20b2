"""Input representations: bag of words, TF-IDF, Word2Vec, pretrained vectors.

The TF-IDF vectors are checked against scikit-learn's on the same tokens,
Word2Vec's sampling against its formulas (statistically, where it draws at
random), its vectors on a made corpus whose answer is known, its queries
against gensim's `KeyedVectors`, and the vectors files against files the
tests write.
"""

from __future__ import annotations

import collections
import math

import keras
import numpy as np
import pytest

from zoo.errors import ZooError
from zoo.representations import (
    DocumentVectorizer,
    WordVectors,
    build_skipgram,
    build_vocabulary,
    cosine_similarity,
    keep_probabilities,
    load_vectors,
    make_skipgram_dataset,
    negative_distribution,
    read_vectors,
    sample_negatives,
    skipgram_pairs,
    train_word2vec,
    word_tokens,
)

DOCS = [
    "the cat sat on the mat",
    "the dog sat on the log",
    "a cat and a dog",
    "the king and the queen",
    "a queen rules",
]


# --- bag of words and TF-IDF ---------------------------------------------------


def test_count_vectors_are_word_counts():
    vectorizer = DocumentVectorizer(output_mode="count").fit(DOCS)
    matrix = vectorizer.transform(DOCS + ["The CAT, the unseen word!"])
    vocab = vectorizer.vocabulary
    assert vocab[0] == "[UNK]" and matrix.shape == (len(DOCS) + 1, len(vocab))
    for row, doc in zip(matrix, DOCS, strict=False):
        counts = collections.Counter(doc.split())
        assert {vocab[j]: row[j] for j in np.flatnonzero(row)} == counts
    # Lower-cased, punctuation stripped, two words out of the vocabulary.
    last = dict(zip(vocab, matrix[-1], strict=True))
    assert last["the"] == 2 and last["cat"] == 1 and last["[UNK]"] == 2


def test_multi_hot_is_the_set_of_words():
    matrix = DocumentVectorizer(output_mode="multi_hot").fit_transform(DOCS)
    counts = DocumentVectorizer(output_mode="count").fit_transform(DOCS)
    np.testing.assert_array_equal(matrix, (counts > 0).astype("float32"))


def test_tf_idf_is_keras_formula_on_scikit_learn_counts():
    """Keras: tf * ln(1 + N / (1 + df)), raw counts; checked on sklearn's tf and df."""
    sklearn_text = pytest.importorskip("sklearn.feature_extraction.text")
    vectorizer = DocumentVectorizer(output_mode="tf_idf", standardize=None)
    ours = vectorizer.fit_transform(DOCS)
    vocab = vectorizer.vocabulary

    same_tokens = {"tokenizer": str.split, "token_pattern": None, "lowercase": False}
    counts = sklearn_text.CountVectorizer(**same_tokens).fit(DOCS)
    tf = counts.transform(DOCS).toarray()
    # sklearn's unsmoothed idf is ln(N / df) + 1, so it gives df back exactly.
    plain = sklearn_text.TfidfVectorizer(smooth_idf=False, norm=None, **same_tokens)
    plain.fit(DOCS)
    n = len(DOCS)
    df = n / np.exp(plain.idf_ - 1)
    assert np.allclose(df, (tf > 0).sum(axis=0))  # it is the document frequency
    keras_idf = np.log(1 + n / (1 + df))
    columns = [vocab.index(w) for w in counts.get_feature_names_out()]
    assert sorted(columns) == list(range(1, len(vocab)))  # the same words
    np.testing.assert_allclose(ours[:, columns], tf * keras_idf, rtol=1e-6)
    np.testing.assert_allclose(vectorizer.idf[columns], keras_idf, rtol=1e-6)
    # The out-of-vocabulary column gets the mean idf.
    oov = vectorizer.transform(["zebra zebra"])[0]
    assert oov[0] == pytest.approx(2 * keras_idf.mean(), rel=1e-6)
    assert vectorizer.idf[0] == pytest.approx(keras_idf.mean(), rel=1e-6)

    # And it is not sklearn's default idf, ln((1 + N) / (1 + df)) + 1.
    default = sklearn_text.TfidfVectorizer(norm=None, **same_tokens).fit(DOCS)
    assert not np.allclose(default.idf_, keras_idf, rtol=1e-3)


def test_tf_idf_weighs_down_common_words():
    vectorizer = DocumentVectorizer(output_mode="tf_idf").fit(DOCS)
    idf = dict(zip(vectorizer.vocabulary, vectorizer.idf, strict=True))
    assert idf["the"] < idf["cat"] < idf["rules"]  # df 3 > 2 > 1


def test_cosine_similarity_matches_scikit_learn_and_ranks_documents():
    pairwise = pytest.importorskip("sklearn.metrics.pairwise")
    matrix = DocumentVectorizer(output_mode="tf_idf").fit_transform(DOCS)
    ours = cosine_similarity(matrix)
    np.testing.assert_allclose(ours, pairwise.cosine_similarity(matrix), atol=1e-6)
    np.testing.assert_allclose(np.diag(ours), 1.0, atol=1e-6)
    # The cat-on-the-mat document is closest to the dog-on-the-log one.
    assert np.argsort(-ours[0])[1] == 1
    # A document with no known word: similarity 0, never NaN.
    zero = cosine_similarity(np.zeros(matrix.shape[1]), matrix)
    assert zero.shape == (1, len(DOCS)) and np.all(zero == 0)


def test_chinese_documents_by_character():
    docs = ["我爱北京", "北京很大", "我爱你"]
    vectorizer = DocumentVectorizer(output_mode="count", split="character").fit(docs)
    assert set(vectorizer.vocabulary[1:]) == set("我爱北京很大你")
    counts = vectorizer.transform(["北京北京"])[0]
    row = dict(zip(vectorizer.vocabulary, counts, strict=True))
    assert row["北"] == 2 and row["京"] == 2 and row["我"] == 0
    tfidf = DocumentVectorizer(split="character").fit(docs)
    idf = dict(zip(tfidf.vocabulary, tfidf.idf, strict=True))
    assert idf["北"] == pytest.approx(np.log(1 + 3 / 3))  # in 2 of 3 documents
    assert idf["很"] == pytest.approx(np.log(1 + 3 / 2))  # in 1


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: DocumentVectorizer(output_mode="one_hot"), "output_mode"),
        (lambda: DocumentVectorizer().fit("one string"), "list of strings"),
        (lambda: DocumentVectorizer().fit([]), "no documents"),
        (lambda: DocumentVectorizer().fit(["ok", 3]), "document 1 is a int"),
        (lambda: DocumentVectorizer().transform(["x"]), "not fitted"),
        (lambda: DocumentVectorizer(output_mode="count").fit(DOCS).idf, "tf_idf"),
        (lambda: cosine_similarity(np.ones((2, 3)), np.ones((2, 4))), "columns"),
    ],
)
def test_document_errors(call, message):
    with pytest.raises(ZooError, match=message):
        call()


# --- Word2Vec: the data ----------------------------------------------------------


def test_word_tokens_drop_spaces_and_punctuation():
    assert word_tokens("To be, or not to be.\n") == [
        "to",
        "be",
        "or",
        "not",
        "to",
        "be",
    ]
    assert word_tokens("O Romeo!", lowercase=False) == ["O", "Romeo"]
    assert word_tokens("我爱你。") == ["我", "爱", "你"]


def test_vocabulary_by_count_with_min_count():
    words, counts = build_vocabulary([["b", "a", "b"], ["c", "b", "a"]], min_count=2)
    assert words == ["b", "a"] and counts.tolist() == [3, 2]
    with pytest.raises(ZooError, match="min_count"):
        build_vocabulary([["a", "b"]], min_count=2)


def test_keep_probabilities_are_the_formulas():
    counts = np.array([10_000, 1_000, 100, 10, 1])
    f = counts / counts.sum()
    t = 1e-3
    word2vec = keep_probabilities(counts, sample=t)
    expected = np.minimum(1.0, (np.sqrt(f / t) + 1) * t / f)
    np.testing.assert_allclose(word2vec, expected)
    paper = keep_probabilities(counts, sample=t, formula="paper")
    np.testing.assert_allclose(paper, np.minimum(1.0, np.sqrt(t / f)))
    assert word2vec[0] < 0.05 and word2vec[-1] == 1.0  # frequent words dropped
    assert np.all(np.diff(word2vec) >= 0) and np.all(paper <= word2vec)
    np.testing.assert_array_equal(keep_probabilities(counts, sample=0), 1.0)
    with pytest.raises(ZooError, match="formula"):
        keep_probabilities(counts, formula="gensim")


def test_subsampling_keeps_each_word_at_its_rate():
    """Window 1: every kept word in the middle of the text is in 2 pairs."""
    rng = np.random.default_rng(0)
    counts = np.array([60_000, 20_000, 10_000, 5_000, 2_000])
    ids = rng.permutation(np.repeat(np.arange(5), counts)).astype("int32")
    keep = keep_probabilities(counts, sample=0.05)
    assert 0.2 < keep[0] < 0.6 and keep[-1] == 1.0
    words, _ = skipgram_pairs(ids, window=1, keep_prob=keep, dynamic_window=False)
    kept = np.bincount(words.numpy(), minlength=5) / 2  # ends count 1/2: noise
    rate = kept / counts
    sigma = np.sqrt(keep * (1 - keep) / counts) + 1e-3
    assert np.all(np.abs(rate - keep) < 5 * sigma), (rate, keep)


def test_pairs_of_a_fixed_window_and_sentences():
    ids = np.array([5, 6, 7, 8, 9])
    sentence = np.array([0, 0, 0, 1, 1])
    words, contexts = skipgram_pairs(
        ids,
        window=2,
        keep_prob=np.ones(10),
        dynamic_window=False,
        sentence_ids=sentence,
    )
    pairs = zip(words.numpy().tolist(), contexts.numpy().tolist(), strict=True)
    got = collections.Counter(pairs)
    # Within (5 6 7): all ordered pairs at distance <= 2; within (8 9): both.
    expected = [(5, 6), (6, 5), (6, 7), (7, 6), (5, 7), (7, 5), (8, 9), (9, 8)]
    assert got == collections.Counter(expected)


def test_dynamic_window_favours_near_words():
    """Window w drawn from 1..5: a pair at distance d occurs with weight 6 - d."""
    ids = np.arange(50_000)
    words, contexts = skipgram_pairs(ids, window=5, keep_prob=np.ones(50_000))
    distance = np.abs(contexts.numpy() - words.numpy())
    share = np.bincount(distance, minlength=6)[1:] / distance.size
    expected = np.array([5, 4, 3, 2, 1]) / 15
    np.testing.assert_allclose(share, expected, atol=0.01)
    fixed, _ = skipgram_pairs(
        ids[:100], window=5, keep_prob=np.ones(100), dynamic_window=False
    )
    assert fixed.shape[0] == 2 * sum(100 - d for d in range(1, 6))


def test_negatives_follow_unigram_to_the_three_quarters():
    stats = pytest.importorskip("scipy.stats")
    counts = np.array([5000, 1000, 500, 100, 50, 10, 1])
    probs = negative_distribution(counts)
    np.testing.assert_allclose(probs, counts**0.75 / (counts**0.75).sum())
    draws = sample_negatives(probs, [400, 500], seed=[1, 2]).numpy()
    assert draws.shape == (400, 500) and draws.dtype == np.int32
    observed = np.bincount(draws.ravel(), minlength=len(counts))
    n = draws.size
    assert stats.chisquare(observed, probs * n).pvalue > 1e-3
    unigram = counts / counts.sum()
    assert stats.chisquare(observed, unigram * n).pvalue < 1e-12  # it is not 1.0


def test_skipgram_dataset_shapes_labels_and_seed():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 20, 3000).astype("int32")
    counts = np.bincount(ids, minlength=20)
    kwargs = {"window": 2, "negatives": 3, "batch_size": 64}
    ds = make_skipgram_dataset(ids, counts, seed=7, **kwargs)
    x, labels = next(iter(ds))
    assert x["words"].shape == (64,) and x["contexts"].shape == (64, 4)
    np.testing.assert_array_equal(labels.numpy(), [[1, 0, 0, 0]] * 64)
    batches = list(ds)
    assert all(b[0]["contexts"].shape == (64, 4) for b in batches)  # no ragged tail
    again = list(make_skipgram_dataset(ids, counts, seed=7, **kwargs))
    other = list(make_skipgram_dataset(ids, counts, seed=7, epoch=1, **kwargs))
    for a, b in zip(batches, again, strict=True):
        np.testing.assert_array_equal(a[0]["contexts"], b[0]["contexts"])
    assert not np.array_equal(batches[0][0]["contexts"], other[0][0]["contexts"])
    with pytest.raises(ZooError, match="fewer than one batch"):
        make_skipgram_dataset(ids[:10], counts, batch_size=1000)


# --- Word2Vec: the model ---------------------------------------------------------


def test_skipgram_model_is_logits_under_xla_and_saves(tmp_path):
    model = build_skipgram(30, embedding_dim=8, negatives=3)
    assert model.jit_compile is True
    names = {layer.name for layer in model.layers}
    assert {"word_embedding", "context_embedding", "dot"} <= names
    rng = np.random.default_rng(0)
    x = {
        "words": rng.integers(0, 30, 16).astype("int32"),
        "contexts": rng.integers(0, 30, (16, 4)).astype("int32"),
    }
    v = model.get_layer("word_embedding").embeddings.numpy()
    u = rng.normal(size=(30, 8)).astype("float32")
    model.get_layer("context_embedding").embeddings.assign(u)
    logits = np.asarray(model(x))  # (B, 1 + K) = u[contexts] . v[words]
    expected = np.einsum("bke,be->bk", u[x["contexts"]], v[x["words"]])
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)
    y = np.tile([1.0, 0, 0, 0], (16, 1)).astype("float32")
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=5, verbose=0)
    assert model.evaluate(x, y, verbose=0) < first
    path = tmp_path / "skipgram.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(np.asarray(restored(x)), np.asarray(model(x)), atol=1e-6)


def _cluster_corpus(seed=0, sentences=600):
    """Two word clusters that never share a sentence: a0..a7 and b0..b7."""
    rng = np.random.default_rng(seed)
    clusters = [[f"a{i}" for i in range(8)], [f"b{i}" for i in range(8)]]
    return [list(rng.choice(clusters[s % 2], size=8)) for s in range(sentences)]


CLUSTER_CONFIG = {
    "embedding_dim": 16,
    "window": 3,
    "negatives": 4,
    "epochs": 3,
    "min_count": 1,
    "sample": 0,
    "batch_size": 256,
    "learning_rate": 0.01,
}


@pytest.fixture(scope="module")
def cluster_vectors():
    return train_word2vec(_cluster_corpus(), seed=3, **CLUSTER_CONFIG)


def test_word2vec_neighbours_share_contexts(cluster_vectors):
    wv = cluster_vectors
    assert len(wv) == 16 and wv.vectors.shape == (16, 16)
    assert len(wv.history) == 3 and wv.history[-1] < wv.history[0]
    for word in wv.vocab:
        neighbours = [w for w, _ in wv.most_similar(word, k=7)]
        assert all(w[0] == word[0] for w in neighbours), (word, neighbours)
    assert wv.similarity("a0", "a1") > wv.similarity("a0", "b1") + 0.5


def test_word2vec_is_reproducible_with_a_seed(cluster_vectors):
    again = train_word2vec(_cluster_corpus(), seed=3, **CLUSTER_CONFIG)
    assert again.vocab == cluster_vectors.vocab
    np.testing.assert_allclose(again.vectors, cluster_vectors.vectors, atol=1e-6)
    # Another seed: other initial vectors (and, as the dataset test shows,
    # other subsampling, windows, order and negatives).
    first, other = (
        build_skipgram(16, embedding_dim=4, seed=s, compile=False)
        .get_layer("word_embedding")
        .embeddings.numpy()
        for s in (3, 4)
    )
    assert not np.allclose(first, other)


def test_neighbours_and_analogies_agree_with_gensim():
    models = pytest.importorskip("gensim.models")
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(200)]
    vectors = rng.normal(size=(200, 12)).astype("float32")
    ours = WordVectors(vectors, vocab)
    theirs = models.KeyedVectors(vector_size=12)
    theirs.add_vectors(vocab, vectors)
    for word in vocab[:20]:
        got = ours.most_similar(word, k=5)
        want = theirs.most_similar(word, topn=5)
        assert [w for w, _ in got] == [w for w, _ in want]
        np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-5)
    for a, b, c in [("w1", "w2", "w3"), ("w10", "w4", "w7"), ("w0", "w9", "w99")]:
        got = ours.analogy(a, b, c, k=5)
        want = theirs.most_similar(positive=[b, c], negative=[a], topn=5)
        assert [w for w, _ in got] == [w for w, _ in want]


def test_analogy_on_planted_vectors():
    """king - man + woman lands on queen when the offsets are built in."""
    rng = np.random.default_rng(1)
    base = {w: rng.normal(size=20) for w in ["king", "man", "apple", "dog", "tree"]}
    female = rng.normal(size=20)
    base["woman"] = base["man"] + female
    base["queen"] = base["king"] + female + rng.normal(scale=0.05, size=20)
    wv = WordVectors(np.array(list(base.values())), list(base))
    assert wv.analogy("man", "king", "woman")[0][0] == "queen"
    assert "man" in wv and "zebra" not in wv
    np.testing.assert_allclose(wv["man"], base["man"].astype("float32"))
    with pytest.raises(ZooError, match="'zebra' is not in the vocabulary"):
        wv.most_similar("zebra")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: train_word2vec([1, 2, 3]), "takes a Corpus"),
        (lambda: train_word2vec(["a", "b"] * 10, epochs=0, min_count=1), "epochs"),
        (lambda: build_skipgram(0), "vocab_size"),
        (lambda: skipgram_pairs([1, 2], window=0, keep_prob=[1, 1, 1]), "window"),
        (lambda: WordVectors(np.ones((2, 3)), ["a"]), "do not fit"),
        (lambda: WordVectors(np.ones((2, 3)), ["a", "a"]), "duplicate"),
        (lambda: WordVectors(np.eye(3), "abc").most_similar("a", k=0), "k must"),
    ],
)
def test_word2vec_errors(call, message):
    with pytest.raises(ZooError, match=message):
        call()


# --- pretrained vectors ----------------------------------------------------------

FILE_WORDS = {
    "king": [0.5, -1.0, 2.0],
    "queen": [0.4, -1.1, 2.1],
    "the": [0.0, 0.1, -0.1],
    "cat": [1.5, 0.0, -2.0],
}
VOCAB = ["<pad>", "<unk>", "<bos>", "<eos>", "<mask>", " the", " King", "queen", "zyx"]


def _write(path, header: bool, words=FILE_WORDS):
    lines = [f"{w} " + " ".join(str(x) for x in v) for w, v in words.items()]
    if header:
        lines.insert(0, f"{len(words)} 3")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("header", [True, False], ids=["word2vec", "glove"])
def test_load_vectors_fills_found_rows_and_counts_missing(tmp_path, header):
    path = _write(tmp_path / "vectors.txt", header)
    before = path.read_bytes()
    pretrained = load_vectors(path, VOCAB, seed=0)
    assert path.read_bytes() == before  # the input is never modified
    m = pretrained.matrix
    assert m.shape == (len(VOCAB), 3) and m.dtype == np.float32
    np.testing.assert_allclose(m[VOCAB.index(" the")], FILE_WORDS["the"])
    np.testing.assert_allclose(m[VOCAB.index(" King")], FILE_WORDS["king"])
    np.testing.assert_allclose(m[VOCAB.index("queen")], FILE_WORDS["queen"])
    np.testing.assert_array_equal(m[0], 0.0)  # <pad>
    assert pretrained.found == 3 and pretrained.file_words == 4
    assert pretrained.missing == ["<unk>", "<bos>", "<eos>", "<mask>", "zyx"]
    assert pretrained.coverage == pytest.approx(3 / len(VOCAB))
    values = np.array(list(FILE_WORDS.values()))
    assert pretrained.mean == pytest.approx(values.mean(), rel=1e-6)
    assert pretrained.std == pytest.approx(values.std(), rel=1e-6)


def test_missing_rows_are_at_the_files_scale(tmp_path):
    rng = np.random.default_rng(0)
    words = {f"w{i}": rng.normal(2.0, 0.1, 3) for i in range(50)}
    path = _write(tmp_path / "v.txt", header=False, words=words)
    vocabulary = [f"w{i}" for i in range(10)] + [f"new{i}" for i in range(2000)]
    pretrained = load_vectors(path, vocabulary, seed=1)
    new = pretrained.matrix[10:]
    assert len(pretrained.missing) == 2000 and pretrained.found == 10
    # Mean and spread of all the file's numbers (2.0 and ~0.1).
    assert new.mean() == pytest.approx(pretrained.mean, abs=0.01)
    assert new.std() == pytest.approx(pretrained.std, rel=0.05)
    again = load_vectors(path, vocabulary, seed=1).matrix
    np.testing.assert_array_equal(again, pretrained.matrix)


@pytest.mark.parametrize("trainable", [False, True])
def test_pretrained_embedding_frozen_or_fine_tuned(tmp_path, trainable):
    pretrained = load_vectors(_write(tmp_path / "v.txt", True), VOCAB)
    inputs = keras.Input(shape=(4,), dtype="int32")
    embedding = pretrained.embedding(trainable=trainable)
    hidden = keras.layers.GlobalAveragePooling1D()(embedding(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse", jit_compile=True)
    x = np.array([[5, 6, 7, 8]] * 8, dtype="int32")
    model.fit(x, np.ones((8, 1)), epochs=2, verbose=0)
    moved = not np.allclose(embedding.embeddings.numpy(), pretrained.matrix)
    assert moved == trainable


def test_assign_to_a_zoo_language_model(tmp_path):
    import zoo

    pretrained = load_vectors(_write(tmp_path / "v.txt", False), VOCAB)
    model = zoo.build_lstm(len(VOCAB), embedding_dim=3, units=4, compile=False)
    pretrained.assign_to(model, trainable=False)
    layer = model.get_layer("embedding")
    np.testing.assert_array_equal(layer.embeddings.numpy(), pretrained.matrix)
    assert not layer.trainable
    small = zoo.build_lstm(len(VOCAB), embedding_dim=4, units=4, compile=False)
    with pytest.raises(ZooError, match="embedding_dim=3"):
        pretrained.assign_to(small)
    with pytest.raises(ZooError, match="no layer named 'emb'"):
        pretrained.assign_to(model, layer="emb")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "holds no vectors"),
        (b"\n\n", "holds no vectors"),
        (b"2 3\n", "holds no vectors"),
        (b"king 1 2 3\nqueen 1 2\n", "line 2 has 2 numbers, expected 3"),
        (b"2 3\nking 1 2 3\nqueen 1 2 3 4\n", "line 3 has 4 numbers, expected 3"),
        (b"king 1 2 3\nqu\xe9en 1 2 3\n", "not UTF-8 text .* line 2"),
        (b"king 1 x 3\n", "line 1: 'x' is not a number"),
        (b"king 1 nan 3\n", "line 1 has a value that is not finite"),
        (b"3 3\nking 1 2 3\nqueen 1 2 3\n", "header says 3 vectors, the file holds 2"),
        (b"king\n", "line 1 has a word but no numbers"),
    ],
)
def test_bad_vectors_files_get_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ZooError, match=message) as error:
        load_vectors(path, VOCAB)
    assert "\n" not in str(error.value)


def test_read_vectors_errors_and_filter(tmp_path):
    with pytest.raises(ZooError, match="no vectors file at"):
        read_vectors(tmp_path / "missing.txt")
    path = _write(tmp_path / "v.txt", header=True)
    vectors, dim, n, _, _ = read_vectors(path, words={"cat", "dog"})
    assert list(vectors) == ["cat"] and dim == 3 and n == 4
    with pytest.raises(ZooError, match="non-empty list of strings"):
        load_vectors(path, [])


# --- the benchmark against gensim --------------------------------------------------


def test_benchmark_compares_with_gensim_on_a_tiny_corpus():
    pytest.importorskip("gensim")
    pytest.importorskip("scipy")
    from benchmarks import word2vec_vs_gensim as bench

    sentences = _cluster_corpus(sentences=400)
    tokens = [w for s in sentences for w in s]
    result = bench.compare(
        tokens,
        embedding_dim=16,
        window=3,
        negatives=4,
        epochs=2,
        min_count=1,
        sample=0,
        repeats=2,
        top_words=16,
        k=3,
        pairs=100,
        workers=1,
    )
    assert result["corpus"]["vocabulary"] == 16
    for library in ("zoo", "gensim"):
        seconds = result["seconds"][library]
        assert len(seconds["runs"]) == 2 and seconds["median"] > 0
    for name, measures in result["similarity"].items():
        assert 0 <= measures["neighbour_overlap"] <= 1, name
        assert -1 <= measures["spearman"] <= 1 and not math.isnan(measures["spearman"])
    table = bench.table(result)
    assert "zoo vs gensim" in table and "gensim" in table


def test_benchmark_measures_on_planted_clusters():
    """Neighbour overlap and Spearman where the answer is known by hand."""
    pytest.importorskip("scipy")
    from benchmarks import word2vec_vs_gensim as bench

    words = [f"a{i}" for i in range(5)] + [f"b{i}" for i in range(5)]
    rng = np.random.default_rng(0)

    def planted(first_cluster):
        centres = np.eye(2)[[0 if w in first_cluster else 1 for w in words]]
        return WordVectors(centres + rng.normal(scale=0.01, size=(10, 2)), words)

    a = planted(words[:5])
    same = planted(words[:5])  # the same clusters, other noise
    regrouped = planted(["a0", "a1", "a2", "b3", "b4"])
    assert bench.neighbour_overlap(a, same, words, k=4) == 1.0
    # a0-a2, b0-b2 keep 2 of their 4 cluster-mates, a3, a4, b3, b4 keep 1.
    assert bench.neighbour_overlap(a, regrouped, words, k=4) == pytest.approx(0.4)
    pairs = [(x, y) for x in words for y in words if x < y]
    assert bench.spearman(a, a, pairs) == pytest.approx(1.0)
    assert bench.spearman(a, same, pairs) > 0.6  # two levels, noise within each
    assert bench.spearman(a, regrouped, pairs) < bench.spearman(a, same, pairs) - 0.3
    assert bench.sentences_of(list("abcde"), 2) == [["a", "b"], ["c", "d"], ["e"]]
