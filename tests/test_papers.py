"""benchmarks/papers.py: the rows that set zoo beside published results.

The real Penn Treebank and tiny-shakespeare are not shipped, so the fast
tests check the pieces (the data cuts, the stand-ins, the rows' arguments,
what a missing folder says, and that Zaremba's step is the one zoo's settings
take); the slow one runs every row end to end on tiny stand-ins.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import papers  # noqa: E402  (benchmarks/ is not a package)


def test_nanogpt_split_is_a_90_10_cut_with_test_equal_to_validation(tmp_path):
    from zoo.data import load_corpus

    text = "".join(f"line {i}\n" for i in range(1000))
    corpus = load_corpus(papers.nanogpt_split(text, tmp_path / "cut"))
    cut = int(len(text) * 0.9)
    # (zoo's reader ends every file with a line end)
    assert corpus.train.rstrip("\n") == text[:cut].rstrip("\n")
    assert corpus.valid == corpus.test == text[cut:]
    assert not corpus.tokenized


def test_ptb_sentences_follow_mikolovs_preparation():
    sentences = papers._ptb_sentences("In 1599, the Globe's stage! Enter HAMLET.\n")
    assert sentences == [["in", "N", "the", "globe's", "stage"], ["enter", "hamlet"]]


def test_ptb_stand_in_is_a_tokenized_folder_with_a_capped_vocabulary(tmp_path):
    from zoo.data import load_corpus

    folder = papers.ptb_stand_in(tmp_path / "ptb", tiny=True)
    assert sorted(p.name for p in folder.iterdir()) == [
        "ptb.test.txt",
        "ptb.train.txt",
        "ptb.valid.txt",
    ]
    corpus = load_corpus(folder)
    assert corpus.tokenized
    words = set(corpus.train.split())
    assert len(words) <= papers.PTB_VOCABULARY
    assert all(w.islower() or w in ("N", "<unk>") or not w.isalpha() for w in words)


def test_rows_have_a_published_number_and_a_zoo_command():
    assert {"kn3", "kn5", "zaremba-small", "nanogpt-cpu"} <= set(papers.ROWS)
    assert papers.ROWS["kn5"].published < papers.ROWS["kn3"].published
    for row in papers.ROWS.values():
        args = papers.row_args(row, "/data/x")
        assert "/data/x" in args and "{data}" not in args
        tiny = papers.row_args(row, "/data/x", tiny=True)
        for flag, value in row.tiny.items():
            assert tiny[tiny.index(flag) + 1] == value


def test_the_rows_commands_are_valid_zoo_train_arguments():
    """Each row's command parses with zoo's own parser and its option checks."""
    from zoo import cli

    parser = cli._parser()
    for row in papers.ROWS.values():
        args = parser.parse_args(["train", *papers.row_args(row, "shakespeare")])
        cli._resolve_train_args(parser.commands["train"], args)
    zaremba = parser.parse_args(
        ["train", *papers.row_args(papers.ROWS["zaremba-small"], "shakespeare")]
    )
    cli._resolve_train_args(parser.commands["train"], zaremba)
    assert zaremba.steps_per_epoch is None  # a stateful epoch is one pass


def test_missing_data_is_named_and_nothing_is_trained(tmp_path, capsys):
    out = tmp_path / "papers.json"
    results = papers.main(["--rows", "kn3", "nanogpt-cpu", "--out", str(out)])
    printed = capsys.readouterr().out
    assert [r["key"] for r in results] == ["kn3", "nanogpt-cpu"]
    assert all("zoo" not in r for r in results)
    assert "pass --ptb DIR" in printed and "ptb.train.txt" in printed
    assert "pass --shakespeare FILE" in printed
    assert json.loads(out.read_text())["rows"] == results


def test_zarembas_summed_loss_step_is_zoos_mean_loss_step_at_20_and_0_25():
    """SGD at 1 on the loss summed over 20 steps, clipped at norm 5 (Zaremba),
    moves the weights exactly as zoo's mean loss at learning rate 20 clipped
    at 0.25: the row's settings are Zaremba's, not merely alike."""
    import keras
    import tensorflow as tf

    from zoo import build_lstm

    steps, batch, vocab = 20, 3, 11
    rng = np.random.default_rng(0)
    x = rng.integers(5, vocab, (batch, steps)).astype("int32")
    y = rng.integers(5, vocab, (batch, steps)).astype("int32")
    keras.utils.set_random_seed(0)
    ours = build_lstm(
        vocab,
        embedding_dim=4,
        units=6,
        optimizer="sgd",
        learning_rate=20.0,
        global_clipnorm=0.25,
        jit_compile=False,
    )
    theirs = build_lstm(vocab, embedding_dim=4, units=6, compile=False)
    theirs.set_weights([w * 30 for w in ours.get_weights()])  # big: clipping bites
    ours.set_weights(theirs.get_weights())

    with tf.GradientTape() as tape:
        logits = theirs(x)
        per_token = keras.losses.sparse_categorical_crossentropy(
            y, logits, from_logits=True
        )
        summed = tf.reduce_sum(tf.reduce_mean(per_token, axis=0))  # sum over time
    grads = [
        tf.convert_to_tensor(g)  # the embedding's gradient comes as slices
        for g in tape.gradient(summed, theirs.trainable_weights)
    ]
    assert float(tf.linalg.global_norm(grads)) > 5  # the clip is exercised
    grads, _ = tf.clip_by_global_norm(grads, 5.0)
    expected = [
        w.numpy() - g.numpy()
        for w, g in zip(theirs.trainable_weights, grads, strict=True)
    ]

    ours.train_on_batch(x, y)
    for got, want in zip(ours.trainable_weights, expected, strict=True):
        np.testing.assert_allclose(got.numpy(), want, rtol=2e-4, atol=2e-5)


@pytest.mark.slow  # eight `zoo` processes on tiny stand-ins: about two minutes
def test_every_row_runs_end_to_end_on_tiny_stand_ins(tmp_path):
    out = tmp_path / "papers.json"
    results = papers.main(["--stand-in", "--tiny", "--out", str(out)])
    assert [r["key"] for r in results] == list(papers.ROWS)
    for r in results:
        assert math.isfinite(r["zoo"]) and r["zoo"] > 0
        assert r["ratio"] == pytest.approx(r["zoo"] / r["published"], abs=1e-3)
        assert r["command"].startswith("zoo train ") and r["stand_in"]
        assert "{data}" not in r["command"] and str(tmp_path) not in r["command"]
    by_key = {r["key"]: r for r in results}
    # The validation loss of a character model starts near ln(vocabulary).
    gpt = by_key["nanogpt-cpu"]
    assert gpt["zoo"] < math.log(gpt["vocabulary"]) + 0.5
    saved = json.loads(out.read_text())
    assert saved["meta"]["tiny"] is True and len(saved["rows"]) == len(results)
