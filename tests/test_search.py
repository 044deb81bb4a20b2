"""Semantic search (zoo.search): the exact index against a brute-force sort,
the pooled BERT encoder against the encoder's own output, the half split, the
retrieval scores on cases whose answer is known, and `search_passages` on a
tiny BERT model saved in a temporary folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import zoo
from zoo import search
from zoo.errors import ZooError, ZooWarning
from zoo.models.bert import build_bert_classifier, build_bert_mlm, build_bert_tagger
from zoo.representations import WordVectors
from zoo.search import (
    BertEncoder,
    SearchIndex,
    SearchResult,
    TfidfEncoder,
    Word2VecEncoder,
    format_results,
    half_split,
    load_documents,
    retrieval_scores,
    search_passages,
)
from zoo.text import PAD_ID, CharTokenizer

ROOT = Path(__file__).resolve().parents[1]
TEXT = (
    "To be, or not to be, that is the question:\n"
    "Whether 'tis nobler in the mind to suffer\n"
    "The slings and arrows of outrageous fortune,\n"
    "Or to take arms against a sea of troubles"
)
SIZES = {"embedding_dim": 16, "num_heads": 2, "num_layers": 2, "ff_dim": 32}


@pytest.fixture(scope="module")
def tokenizer():
    return CharTokenizer.fit(TEXT + "0123456789")


@pytest.fixture(scope="module")
def mlm(tokenizer):
    keras.utils.set_random_seed(7)
    return build_bert_mlm(
        tokenizer.vocab_size, context_length=40, dropout=0.1, compile=False, **SIZES
    )


# ------------------------------------------------------------ the index


def test_exact_top_k_equals_a_brute_force_sort():
    rng = np.random.default_rng(0)
    docs, queries = rng.normal(size=(300, 12)), rng.normal(size=(9, 12))
    scores, indices = SearchIndex(docs).search(queries, k=10)
    unit = docs / np.linalg.norm(docs, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    brute = q @ unit.T  # (Q, N)
    expected = np.argsort(-brute, axis=1, kind="stable")[:, :10]
    np.testing.assert_array_equal(indices, expected)
    np.testing.assert_allclose(
        scores, np.take_along_axis(brute, expected, 1), atol=1e-5
    )
    assert (np.diff(scores, axis=1) <= 0).all()  # best first


def test_query_chunks_give_the_same_answer(monkeypatch):
    rng = np.random.default_rng(1)
    index = SearchIndex(rng.normal(size=(50, 4)))
    queries = rng.normal(size=(7, 4))
    whole = index.search(queries, k=5)
    monkeypatch.setattr(search, "QUERY_CHUNK", 3)
    chunked = index.search(queries, k=5)
    np.testing.assert_array_equal(whole[1], chunked[1])  # the same documents
    np.testing.assert_allclose(whole[0], chunked[0], atol=1e-6)  # BLAS rounding


def test_cosine_normalisation_length_does_not_count():
    docs = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    index = SearchIndex(docs)
    np.testing.assert_allclose(np.linalg.norm(index.vectors, axis=1), [1, 1, 1, 0])
    # A long vector along the query beats a short one at an angle; a zero row
    # scores 0 with everything.
    scores, indices = index.search([[10.0, 0.1]], k=4)
    assert indices[0].tolist() == [0, 2, 1, 3]
    assert scores[0, -1] == 0.0
    scaled = SearchIndex(docs * [[100.0], [0.01], [3.0], [1.0]])
    np.testing.assert_allclose(scaled.search([[2.0, 1.0]], k=4)[0], index.search(
        [[2.0, 1.0]], k=4)[0], atol=1e-6)  # fmt: skip
    same, _ = index.search([[5.0, 5.0]], k=1)
    assert same[0, 0] == pytest.approx(1.0, abs=1e-6)


def test_k_equal_to_n_sorts_everything_ties_by_index():
    index = SearchIndex([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    scores, indices = index.search([1.0, 0.0], k=3)  # one vector: one row
    assert indices.tolist() == [[0, 1, 2]] and scores.shape == (1, 3)


def test_index_refuses_bad_input():
    index = SearchIndex(np.eye(3))
    with pytest.raises(ZooError, match="more than the 3 documents"):
        index.search(np.eye(3), k=4)
    with pytest.raises(ZooError, match="positive integer"):
        index.search(np.eye(3), k=0)
    with pytest.raises(ZooError, match="do not fit"):
        index.search(np.ones((1, 5)), k=1)
    with pytest.raises(ZooError, match=r"\(N, D\) matrix"):
        SearchIndex(np.zeros((0, 3)))
    with pytest.raises(ZooError, match="NaN"):
        SearchIndex([[np.nan, 1.0]])


# ------------------------------------------------------------ the encoders


def test_padding_does_not_change_a_texts_vector(mlm, tokenizer):
    encoder = BertEncoder(mlm, tokenizer, batch_size=8)
    short, long = "To be", TEXT[:38]
    alone = encoder.encode([short])
    batched = encoder.encode([long, short, "Or to take arms"])
    # Alone it is padded to 16 tokens; beside `long`, to 38 (cut at 40).
    np.testing.assert_allclose(batched[1], alone[0], atol=1e-5)
    np.testing.assert_allclose(encoder.encode([short] * 3), np.repeat(alone, 3, 0),
                               atol=1e-5)  # fmt: skip


def test_vector_is_the_mean_of_the_last_block_over_real_tokens(mlm, tokenizer):
    encoder = BertEncoder(mlm, tokenizer)
    assert encoder.layer == "encoder_2" and encoder.dim == 16
    texts = ["To be, or not", "the question"]
    ids = [tokenizer.encode(t) for t in texts]
    width = 20
    batch = np.zeros((2, width), np.int32)
    for r, row in enumerate(ids):
        batch[r, : len(row)] = row
    blocks = keras.Model(mlm.input, mlm.get_layer("encoder_2").output)
    out = np.asarray(blocks(batch, training=False))  # (B, T, C)
    real = batch != PAD_ID
    manual = (out * real[..., None]).sum(1) / real.sum(1, keepdims=True)
    np.testing.assert_allclose(encoder.encode(texts), manual, atol=1e-5)
    # Dropout is off: the same text gives the same vector every time.
    np.testing.assert_array_equal(encoder.encode(texts), encoder.encode(texts))


def test_classifier_and_tagger_give_their_encoders_vectors(tokenizer):
    keras.utils.set_random_seed(3)
    classifier = build_bert_classifier(
        tokenizer.vocab_size, num_classes=3, context_length=40, **SIZES
    )
    texts = ["To be, or not to be", "arms"]
    pooled = keras.Model(classifier.input, classifier.get_layer("mean_pool").output)
    ids = np.zeros((2, 19), np.int32)
    for r, t in enumerate(texts):
        ids[r, : len(t)] = tokenizer.encode(t)
    np.testing.assert_allclose(
        BertEncoder(classifier, tokenizer).encode(texts),
        np.asarray(pooled(ids, training=False)),
        atol=1e-5,
    )
    tagger = build_bert_tagger(tokenizer.vocab_size, num_tags=4, context_length=40)
    assert BertEncoder(tagger, tokenizer).encode(texts).shape == (2, 128)


def test_long_texts_are_cut_to_the_context_length(mlm, tokenizer):
    encoder = BertEncoder(mlm, tokenizer)
    vectors = encoder.encode([TEXT, TEXT[:40], ""])
    assert encoder.truncated == 1
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)
    assert not vectors[2].any()  # an empty text: the zero vector


def test_bert_encoder_refuses_other_models(tokenizer):
    gpt = zoo.build_gpt(tokenizer.vocab_size, context_length=16, embedding_dim=8,
                        num_heads=2, num_layers=1, ff_dim=16)  # fmt: skip
    with pytest.raises(ZooError, match="not one of zoo's BERT models"):
        BertEncoder(gpt, tokenizer)
    with pytest.raises(ZooError, match="not a BERT model"):
        BertEncoder(object(), tokenizer)


def test_word2vec_encoder_is_the_mean_of_known_words():
    wv = WordVectors(np.array([[1.0, 0.0], [0.0, 2.0], [4.0, 4.0]]), ["to", "be", "or"])
    vectors = Word2VecEncoder(wv).encode(["To be, or not", "not", "be be"])
    np.testing.assert_allclose(vectors[0], [5 / 3, 2.0])  # "not" is unknown
    assert not vectors[1].any()  # no known word: the zero vector
    np.testing.assert_allclose(vectors[2], [0.0, 2.0])
    with pytest.raises(ZooError, match="call fit"):
        Word2VecEncoder().encode(["to be"])


def test_tfidf_encoder_and_one_string_refused():
    encoder = TfidfEncoder().fit(["the cat sat", "the dog ran"])
    vectors = encoder.encode(["cat cat", "zebra"])
    vocab = encoder.vectorizer.vocabulary
    assert vectors.shape == (2, len(vocab))
    assert vectors[0].argmax() == vocab.index("cat") and vectors[1].argmax() == 0
    with pytest.raises(ZooError, match="not one string"):
        encoder.encode("the cat")


# ------------------------------------------------------------ the task


def test_half_split_cuts_at_the_line_nearest_the_middle():
    assert half_split("a\nbb\ncc\nd") == ("a\nbb", "cc\nd")
    assert half_split("long first line here\nx\ny") == ("long first line here", "x\ny")
    assert half_split("one two three four") == ("one two", "three four")
    assert half_split("床前明月光疑是地上霜") == ("床前明月光", "疑是地上霜")
    with pytest.raises(ZooError, match="fewer than 2"):
        half_split(" x ")


def test_every_held_out_passage_splits_into_two_halves():
    from zoo.data.labelled import play_passages

    for passage in play_passages("test"):
        first, second = half_split(passage.text)
        assert first and second
        assert len(first) + len(second) + 1 == len(passage.text.strip())


class _Table:
    """An encoder that looks each text's vector up in a table."""

    def __init__(self, table):
        self.table = table

    def encode(self, texts):
        return np.array([self.table[t] for t in texts], dtype=np.float32)


def test_identical_halves_are_found_first():
    lines = ["the king is dead", "a horse a horse", "out damned spot",
             "to sleep perchance", "the rest is silence"]  # fmt: skip
    passages = [f"{line}\n{line}" for line in lines]
    encoder = TfidfEncoder().fit(passages)
    scores = retrieval_scores(encoder, passages, ks=(1, 3))
    assert scores["recall@1"] == 1.0 and scores["mrr"] == 1.0
    assert scores["queries"] == 5


def test_recall_and_mrr_on_known_ranks():
    # Query i's answer, document i, ranks i + 1 (by hand: q1 = e2 scores d2
    # 0.99 > d1 0.58 > d0 0; q2 = e3 scores d1 0.58 > d0 0.20 > d2 0.11).
    table = {"q0": [1, 0, 0], "q1": [0, 1, 0], "q2": [0, 0, 1],
             "d0": [1, 0, 0.2], "d1": [0.5, 0.5, 0.5], "d2": [0, 0.9, 0.1]}  # fmt: skip
    passages = ["q0\nd0", "q1\nd1", "q2\nd2"]
    scores = retrieval_scores(_Table(table), passages, ks=(1, 2, 3))
    assert scores["recall@1"] == pytest.approx(1 / 3)
    assert scores["recall@2"] == pytest.approx(2 / 3)
    assert scores["recall@3"] == 1.0
    assert scores["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)


def test_ties_count_against_the_answer():
    # The same vector for every text: every answer ties with every document.
    constant = _Table({t: [1.0, 1.0] for t in ["a", "b", "c", "d", "e", "f"]})
    scores = retrieval_scores(constant, ["a\nb", "c\nd", "e\nf"], ks=(1, 2))
    assert scores["recall@1"] == scores["recall@2"] == 0.0
    assert scores["mrr"] == pytest.approx(1 / 3)


def test_retrieval_refuses_too_few_passages():
    with pytest.raises(ZooError, match="at least 2"):
        retrieval_scores(TfidfEncoder(), ["a b"])


# ------------------------------------------------------------ `zoo search`


@pytest.fixture(scope="module")
def saved_bert(tmp_path_factory, mlm, tokenizer):
    return zoo.save(tmp_path_factory.mktemp("bert") / "bert.keras", mlm, tokenizer)


@pytest.fixture
def blocks_file(tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text(
        "To be, or not to be\nthat is the question\n\n\n"
        "The slings and arrows\n  \nOr to take arms\n\nagainst a sea of troubles\n",
        encoding="utf-8",
    )
    return path


def test_load_documents_from_a_file_by_blocks(blocks_file):
    assert load_documents(blocks_file) == [
        ("texts.txt:1", "To be, or not to be\nthat is the question"),
        ("texts.txt:5", "The slings and arrows"),
        ("texts.txt:7", "Or to take arms"),
        ("texts.txt:9", "against a sea of troubles"),
    ]


def test_load_documents_of_the_bundled_corpora():
    from zoo.data.corpora import _tang_poems
    from zoo.data.labelled import play_passages

    plays = load_documents("shakespeare")
    splits = [play_passages(s) for s in ("train", "valid", "test")]
    assert len(plays) == sum(map(len, splits))
    assert {source for source, _ in plays} == {p.play for s in splits for p in s}
    poems = load_documents("tang")
    assert len(poems) == sum(map(len, _tang_poems().values()))
    assert poems[0][0].endswith(")") and "，" in poems[0][1]


def test_search_passages_finds_the_query_itself(saved_bert, blocks_file):
    rows = search_passages(saved_bert, "The slings and arrows", data=blocks_file,
                           top_k=3)  # fmt: skip
    assert len(rows) == 3 and all(isinstance(r, SearchResult) for r in rows)
    assert rows[0].source == "texts.txt:5" and rows[0].score == pytest.approx(1.0)
    assert rows[0].score >= rows[1].score >= rows[2].score
    text = format_results(rows)
    assert text.splitlines()[0].startswith(" 1  1.000  texts.txt:5")
    assert "    The slings and arrows" in text


def test_search_passages_bad_inputs(saved_bert, blocks_file, tmp_path, tokenizer):
    with pytest.raises(ZooError, match="query is empty"):
        search_passages(saved_bert, "  ", data=blocks_file)
    with pytest.raises(ZooError, match="no such model file"):
        search_passages(tmp_path / "missing.keras", "to be", data=blocks_file)
    with pytest.raises(ZooError, match="more than the 4 texts"):
        search_passages(saved_bert, "to be", data=blocks_file, top_k=5)
    with pytest.raises(ZooError, match="positive integer"):
        search_passages(saved_bert, "to be", data=blocks_file, top_k=0)
    with pytest.raises(ZooError, match="unknown data"):
        search_passages(saved_bert, "to be", data=tmp_path / "nowhere.txt")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(ZooError, match="not UTF-8"):
        search_passages(saved_bert, "to be", data=latin1)
    lstm = zoo.build_lstm(tokenizer.vocab_size, embedding_dim=4, units=4)
    lstm_file = zoo.save(tmp_path / "lstm.keras", lstm, tokenizer)
    with pytest.raises(ZooError, match="lstm.keras: .*not one of zoo's BERT"):
        search_passages(lstm_file, "to be", data=blocks_file, top_k=1)


def test_search_passages_warns_when_the_tokenizer_does_not_fit(saved_bert, tmp_path):
    chinese = tmp_path / "poems.txt"
    chinese.write_text("床前明月光\n\n疑是地上霜\n", encoding="utf-8")
    with pytest.warns(ZooWarning, match="<unk>"):
        search_passages(saved_bert, "明月", data=chinese, top_k=1)


def test_format_results_of_nothing():
    assert format_results([]) == "no results"


def test_the_docstring_examples_run():
    import doctest

    result = doctest.testmod(search, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 10 and result.failed == 0


# ------------------------------------------------------------ the benchmark


@pytest.mark.slow  # trains a masked LM for 3 steps and Word2Vec for an epoch
def test_benchmark_tiny_run(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import retrieval  # noqa: E402  (benchmarks/ is not a package)

    out = tmp_path / "retrieval.json"
    report = retrieval.main(["--tiny", "--out", str(out)])
    assert json.loads(out.read_text(encoding="utf-8")) == report
    names = [r["representation"] for r in report["rows"]]
    assert len(names) == 5 and any("untrained" in n for n in names)
    for row in report["rows"]:
        assert 0 <= row["recall@1"] <= row["recall@10"] <= 1
        assert 0 < row["mrr"] <= 1 and row["queries"] == 120
    timing = report["query_time"]
    assert timing["documents"] == 1500 and timing["single_query_ms"] > 0
    table = retrieval.markdown(report)
    assert table.count("\n| ") == 5 and "ms per query" in table


def test_what_the_readme_says_of_the_retrieval_results():
    """The README's table is the benchmark's output for the committed results,
    and its sentence on their order holds."""
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "benchmarks"))
    import retrieval

    report = json.loads((root / "benchmarks/results/retrieval.json").read_text())
    assert report["meta"]["tiny"] is False
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert retrieval.markdown(report) in readme
    at10 = [row["recall@10"] for row in report["rows"]]
    tfidf, tfidf_searched, word2vec, bert, untrained = at10
    assert min(tfidf, tfidf_searched) > word2vec > bert > untrained


def test_the_index_docstring_quotes_the_benchmark_file():
    """SearchIndex's case for exact search quotes the committed query time."""
    report = json.loads((ROOT / "benchmarks/results/retrieval.json").read_text())
    t = report["query_time"]
    doc = " ".join(SearchIndex.__doc__.split())
    assert f"{t['documents']:,} passages" in doc
    assert f"vectors of {t['dim']} floats" in doc
    assert f"{t['index_megabytes']} MB" in doc
    assert f"one query takes {t['single_query_ms']:.1f} ms" in doc
    assert f"a batch of {t['batch_queries']:,} queries {t['batch_ms']:.0f} ms" in doc
    assert f"embedding the passages took {t['embed_seconds']:.0f} s" in doc
