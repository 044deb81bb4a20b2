"""Stateful truncated backpropagation through time (Zaremba et al. 2014).

The text is read as B contiguous streams (`make_stream_dataset`), and a
recurrent model built with ``stateful=True`` carries each row's state into
the next batch: reading a stream T tokens at a time must then give exactly
what reading it in one call gives, and `zoo.training` must reset the state
at every epoch and before every evaluation.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import EMBED, UNITS, VOCAB, token_ids

import zoo
from zoo.data.pipeline import make_stream_dataset
from zoo.errors import ZooError
from zoo.models.rnn import stateful_copy
from zoo.text import PAD_ID
from zoo.training import compile_model, evaluate, reset_states, train

FACTORIES = ["build_simple_rnn", "build_lstm", "build_gru"]
STREAMS, STEPS = 3, 8  # B, T


def _stateful(factory, **kwargs):
    """A stateful tiny model with its weights scaled up, so that its outputs
    (and loss) depend clearly on the state it starts from."""
    model = getattr(zoo, factory)(
        VOCAB,
        embedding_dim=EMBED,
        units=UNITS,
        stateful=True,
        batch_size=STREAMS,
        compile=False,
        **kwargs,
    )
    model.set_weights([3.0 * w for w in model.get_weights()])
    return model


def test_streams_are_contiguous_rows_in_order():
    ids = np.arange(5, 5 + 3 * 20 + 1)  # 61 ids: 60 targets, 20 per stream
    ds = make_stream_dataset(ids, seq_len=4, batch_size=3)
    xs = np.concatenate([x.numpy() for x, _ in ds], axis=1)  # (B, 5 T)
    ys = np.concatenate([y.numpy() for _, y in ds], axis=1)
    for b in range(3):
        np.testing.assert_array_equal(xs[b], ids[b * 20 : b * 20 + 20])
        np.testing.assert_array_equal(ys[b], ids[b * 20 + 1 : b * 20 + 21])
    assert all(x.shape == (3, 4) for x, _ in ds)  # a fixed shape for XLA


def test_evaluation_streams_score_every_token_once():
    ids = token_ids((101,))
    ds = make_stream_dataset(ids, seq_len=7, batch_size=4, training=False)
    ys = np.concatenate([y.numpy() for _, y in ds], axis=1)
    xs = np.concatenate([x.numpy() for x, _ in ds], axis=1)
    real = ys != PAD_ID
    assert real.sum() == len(ids) - 1  # every target but none twice
    for b in range(4):  # each row still reads its stream in order
        n = real[b].sum()
        start = b * 25
        np.testing.assert_array_equal(ys[b, :n], ids[start + 1 : start + 1 + n])
        np.testing.assert_array_equal(xs[b, :n], ids[start : start + n])


def test_a_too_short_stream_text_says_what_to_change():
    with pytest.raises(ZooError, match="too short.*--seq-len"):
        make_stream_dataset(np.arange(5, 20), seq_len=8, batch_size=4)
    with pytest.raises(ZooError, match="seq_len and batch_size"):
        make_stream_dataset(np.arange(5, 200), seq_len=0, batch_size=4)


@pytest.mark.parametrize("factory", FACTORIES)
def test_carried_state_equals_reading_the_stream_in_one_call(factory, keras_seed):
    model = _stateful(factory)
    whole = stateful_copy(model, batch_size=None)  # same weights, no state
    ids = token_ids((STREAMS * 5 * STEPS + 1,))
    ds = make_stream_dataset(ids, seq_len=STEPS, batch_size=STREAMS)
    reset_states(model)
    pieces = np.concatenate([model(x).numpy() for x, _ in ds], axis=1)
    x_all = np.concatenate([x.numpy() for x, _ in ds], axis=1)  # (B, 5 T)
    np.testing.assert_allclose(pieces, whole(x_all).numpy(), atol=1e-5)
    # Without the carried state every batch would start from zeros instead.
    cold = np.concatenate([whole(x).numpy() for x, _ in ds], axis=1)
    assert np.abs(cold[:, STEPS:] - pieces[:, STEPS:]).max() > 1e-3
    np.testing.assert_allclose(cold[:, :STEPS], pieces[:, :STEPS], atol=1e-5)


def test_the_elman_cell_carries_its_state_too(keras_seed):
    model = _stateful("build_simple_rnn", from_equations=True)
    ids = token_ids((STREAMS * 3 * STEPS + 1,))
    ds = make_stream_dataset(ids, seq_len=STEPS, batch_size=STREAMS)
    reset_states(model)
    pieces = np.concatenate([model(x).numpy() for x, _ in ds], axis=1)
    x_all = np.concatenate([x.numpy() for x, _ in ds], axis=1)
    whole = stateful_copy(model, batch_size=None)
    np.testing.assert_allclose(pieces, whole(x_all).numpy(), atol=1e-5)


@pytest.mark.parametrize("factory", ["build_lstm", "build_gru"])
def test_xla_training_carries_the_state_and_resets_it_every_epoch(factory, keras_seed):
    """At a learning rate too small to move the weights, each epoch's training
    loss is the carried-state loss of the whole stream, as `evaluate` gives it
    on the same batches; an epoch starting from the last one's state, or
    batches starting from zeros, would give other numbers."""
    model = _stateful(factory)
    compile_model(model, optimizer="sgd", learning_rate=1e-30, jit_compile=True)
    ids = token_ids((STREAMS * 6 * STEPS + 1,))
    ds = make_stream_dataset(ids, seq_len=STEPS, batch_size=STREAMS)
    history = train(model, ds, epochs=2, verbose=0)
    carried = evaluate(model, ds)
    np.testing.assert_allclose(history["loss"], [carried["nll"]] * 2, rtol=1e-5)
    cold = evaluate(stateful_copy(model, batch_size=None), ds)
    assert abs(cold["nll"] - carried["nll"]) > 1e-4


def test_stateful_needs_a_fixed_batch_size():
    with pytest.raises(ZooError, match="fixed batch_size"):
        zoo.build_lstm(VOCAB, stateful=True)
    with pytest.raises(ZooError, match="batch_size"):
        zoo.build_gru(VOCAB, stateful=True, batch_size=0)
    with pytest.raises(ZooError, match="Sequential"):
        stateful_copy(zoo.build_gpt(VOCAB, num_layers=1), batch_size=2)


@pytest.mark.slow
def test_recipe_trains_stateful_saves_stateless_and_evaluates_as_streams(tmp_path):
    from zoo.data.corpora import Corpus
    from zoo.recipes.language_model import (
        evaluate_language_model,
        train_language_model,
    )

    rng = np.random.default_rng(0)
    text = "".join(rng.choice(list("abcde \n"), 6000))
    corpus = Corpus("made", text, text[:1500], text[:1500])
    run = train_language_model(
        "gru",
        corpus,
        stateful=True,
        epochs=2,
        steps_per_epoch=None,
        seq_len=10,
        batch_size=4,
        embedding_dim=EMBED,
        units=UNITS,
        optimizer="sgd",
        learning_rate=1.0,
        schedule="step",
        decay_after=1,
        out_dir=tmp_path / "run",
        verbose=0,
        log=lambda line: None,
    )
    assert run.summary["stateful"] and run.summary["batch_size"] == 4
    bundle = zoo.load(run.path)
    assert not any(getattr(layer, "stateful", False) for layer in bundle.model.layers)
    scores = evaluate_language_model(bundle, corpus.valid)
    assert scores["tokens"] == len(bundle.tokenizer.encode(corpus.valid)) - 1
    assert scores["perplexity"] == pytest.approx(
        run.summary["val_perplexity"], rel=1e-4
    )
    text = zoo.generate(bundle.model, bundle.tokenizer, "ab", max_new_tokens=5)
    assert text.startswith("ab")
    with pytest.raises(ZooError, match="recurrent"):
        train_language_model("gpt", corpus, stateful=True, log=lambda line: None)
