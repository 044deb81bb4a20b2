"""Tests for zoo.models.seq2seq that only the recurrent encoder-decoder has: its
attention weights, its bidirectional encoder and its argument checks.

What it shares with the Transformer (logits, causality, padding, the config
round trip, step-by-step decoding, training on dates) is tested in
test_encoder_decoder.py, on the configurations of `SEQ2SEQ` there. The two
attention layers are tested in test_attention.py.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from test_encoder_decoder import SEQ2SEQ, B, S, T, batch, logits_of

import zoo
from zoo.errors import ZooError
from zoo.models.seq2seq import attention_model, attention_weights

pytestmark = pytest.mark.usefixtures("keras_seed")


@pytest.fixture(params=list(SEQ2SEQ.configs), scope="module")
def model(request):
    keras.utils.set_random_seed(0)
    return SEQ2SEQ.build(**SEQ2SEQ.configs[request.param])


# --- what only the recurrent encoder-decoder has -------------------------------


def test_attention_weights_are_a_distribution_over_real_tokens(model):
    source, decoder = batch(SEQ2SEQ)
    if "attention" not in {layer.name for layer in model.layers}:
        with pytest.raises(ZooError, match="no attention"):
            attention_model(model)
        return
    both = attention_model(model)
    logits, weights = (np.asarray(a) for a in both([source, decoder]))
    np.testing.assert_allclose(logits, logits_of(model, source, decoder), atol=1e-6)
    assert weights.shape == (B, T, S)  # (B, T, S)
    assert (weights[0, :, 5:] == 0).all()  # padding
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(attention_weights(model, source, decoder), weights)


def test_the_encoder_may_be_bidirectional_but_a_language_model_may_not():
    model = SEQ2SEQ.build()
    assert isinstance(model.get_layer("encoder"), keras.layers.Bidirectional)
    assert not isinstance(model.get_layer("decoder"), keras.layers.Bidirectional)
    with pytest.raises(ZooError, match="future"):
        zoo.build_gru(SEQ2SEQ.source_vocab, bidirectional=True)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"cell": "rnn"}, "cell"),
        ({"attention": "luong"}, "attention"),
        ({"units": 0}, "units"),
        ({"dropout": -0.1}, "dropout"),
    ],
)
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(ZooError, match=match):
        SEQ2SEQ.build(**kwargs)
