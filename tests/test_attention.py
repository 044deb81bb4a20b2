"""Attention, masks, positions and Transformer blocks: what they compute.

The layer contract (config, saving, XLA) is checked in test_layers.py; here:

* masks: causal triangle with offset, padding combinations, True = may attend
  (checked against keras.layers.MultiHeadAttention);
* scaled_dot_product_attention against a NumPy version of document 001's
  formula, and no NaN for a fully masked row (docs/pitfalls.md #8);
* zoo MultiHeadAttention against keras.layers.MultiHeadAttention with copied
  weights (self, cross with T != S, padding, causal, scores);
* cached decoding equals full-sequence decoding; causality of the decoder
  block (docs/pitfalls.md #6); cross-attention ignores padded encoder positions
  (docs/pitfalls.md #7);
* document 004's printed formula: its weights do not sum to one;
* sinusoidal positions match the formula; a too-long input is refused
  (docs/pitfalls.md #11);
* AdditiveAttention weights: one over real source positions, zero on padding;
  LuongAttention is the scaled "general" score, and loads under its old name.
"""

from __future__ import annotations

import math
import warnings
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from zoo.errors import ZooError
from zoo.layers.attention import (
    AdditiveAttention,
    DotProductAttention,
    LuongAttention,
    MultiHeadAttention,
    scaled_dot_product_attention,
    wrong_attention_004,
)
from zoo.layers.embedding import TokenAndPositionEmbedding
from zoo.layers.masks import attention_mask, causal_mask, padding_mask
from zoo.layers.positional import SinusoidalPositionalEncoding
from zoo.layers.transformer import TransformerDecoderBlock, TransformerEncoderBlock

B, T, S, C, H = 2, 5, 7, 8, 2  # batch, target, source, width, heads
D = C // H
PARITY_ATOL = 1e-5


def _normal(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def np_attention(q, k, v, mask=None):
    """softmax(Q K^T / sqrt(d_k)) V in NumPy (document 001, section 4)."""
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
    return weights @ v, weights


# --- masks --------------------------------------------------------------------


def test_causal_mask_is_lower_triangular_with_offset():
    np.testing.assert_array_equal(causal_mask(4), np.tril(np.ones((4, 4), bool)))
    # Two new queries at positions 2 and 3 of a 5-slot cache.
    np.testing.assert_array_equal(
        causal_mask(2, 5, offset=2), np.tril(np.ones((2, 5), bool), k=2)
    )
    np.testing.assert_array_equal(
        causal_mask(1, 4, offset=ops.convert_to_tensor(1)), [[True, True, False, False]]
    )


def test_padding_mask_is_true_at_real_tokens():
    ids = np.array([[5, 7, 0, 0], [3, 0, 0, 0]])
    np.testing.assert_array_equal(
        padding_mask(ids), [[True, True, False, False], [True, False, False, False]]
    )
    np.testing.assert_array_equal(padding_mask(ids, pad_id=3)[1], [False] + [True] * 3)


def test_attention_mask_combines_padding_and_causal():
    query_pad = np.array([[1, 1, 0], [1, 1, 1]], bool)  # (B, T)
    key_pad = np.array([[1, 1, 1, 0], [1, 0, 1, 1]], bool)  # (B, S)
    triangle = np.tril(np.ones((3, 4), bool), k=1)  # offset 1
    want = query_pad[:, :, None] & key_pad[:, None, :] & triangle  # (B, T, S)
    got = attention_mask(
        key_padding=key_pad, query_padding=query_pad, causal=True, offset=1
    )
    assert got.shape == (2, 3, 4)
    np.testing.assert_array_equal(got, want)
    only_keys = attention_mask(key_padding=key_pad, query_len=3)
    np.testing.assert_array_equal(
        only_keys, np.broadcast_to(key_pad[:, None], (2, 3, 4))
    )
    assert attention_mask(causal=True, query_len=3).shape == (1, 3, 3)
    assert attention_mask() is None
    with pytest.raises(ZooError, match="query_len"):
        attention_mask(causal=True)


def test_mask_convention_true_means_attend_as_in_keras():
    """Keras's MHA reads the mask as True = attend; so does zoo
    (docs/pitfalls.md #5)."""
    q, v = _normal(B, T, C), _normal(B, S, C, seed=1)
    key_padding = np.broadcast_to(np.arange(S) < 4, (B, S))  # keys 4.. are padding
    mask = attention_mask(key_padding=key_padding, query_len=T)  # (B, T, S)
    reference = keras.layers.MultiHeadAttention(H, D)
    _, keras_weights = reference(
        q, v, attention_mask=mask, return_attention_scores=True
    )
    assert np.all(np.asarray(keras_weights)[..., 4:] == 0)  # Keras: False = blocked
    zoo_mha = MultiHeadAttention(H, D)
    zoo_mha(q, v)
    zoo_mha.set_weights(reference.get_weights())
    _, weights = zoo_mha(q, v, attention_mask=mask, return_attention_scores=True)
    assert np.all(np.asarray(weights)[..., 4:] == 0)
    np.testing.assert_allclose(np.asarray(weights).sum(-1), 1.0, atol=1e-6)


# --- scaled dot-product attention -----------------------------------------------


@pytest.mark.parametrize("heads", [True, False], ids=["BHTD", "BTD"])
def test_scaled_dot_product_attention_matches_numpy(heads):
    lead = (B, H) if heads else (B,)
    q, k, v = _normal(*lead, T, D), _normal(*lead, S, D, seed=1), _normal(*lead, S, 3)
    mask = np.random.default_rng(2).random((B, T, S)) > 0.3
    mask[..., 0] = True  # no fully masked row here
    np_mask = mask[:, None] if heads else mask
    for m, np_m in [(None, None), (mask, np_mask)]:
        out, weights = scaled_dot_product_attention(q, k, v, mask=m)
        want_out, want_weights = np_attention(q, k, v, np_m)
        np.testing.assert_allclose(weights, want_weights, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out, want_out, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_fully_masked_row_gives_zero_weights_not_nan(dtype):
    q, k, v = (_normal(B, H, T, D, seed=i).astype(dtype) for i in range(3))
    mask = np.tril(np.ones((T, T), bool))
    mask[2] = False  # query 2 may attend nothing (a padded query)
    with tf.GradientTape() as tape:
        q = tf.convert_to_tensor(q)
        tape.watch(q)
        out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
        loss = ops.sum(ops.cast(out, "float32"))
    grad = tape.gradient(loss, q)
    out, weights = np.asarray(out, "float32"), np.asarray(weights, "float32")
    assert np.isfinite(out).all() and np.isfinite(weights).all()
    assert np.isfinite(np.asarray(grad, "float32")).all()
    np.testing.assert_array_equal(weights[:, :, 2], 0.0)  # documented: zeros
    np.testing.assert_array_equal(out[:, :, 2], 0.0)
    other_rows = np.delete(weights, 2, axis=2).sum(-1)
    np.testing.assert_allclose(
        other_rows, 1.0, atol=1e-3 if dtype == "float16" else 1e-6
    )


def test_one_key_gets_weight_one_without_a_warning():
    from zoo.layers.attention import masked_softmax

    scores = np.array([[[3.0], [-2.0]]], "float32")  # (1, T=2, S=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weights = np.asarray(masked_softmax(scores))
        masked = np.asarray(masked_softmax(scores, np.array([[[True], [False]]])))
    np.testing.assert_array_equal(weights, np.ones_like(scores))
    np.testing.assert_array_equal(masked, np.array([[[1.0], [0.0]]], "float32"))


def test_dropout_only_while_training():
    q = k = v = _normal(B, T, D)
    seeds = keras.random.SeedGenerator(0)
    kwargs = dict(dropout_rate=0.5, seed_generator=seeds)
    out, _ = scaled_dot_product_attention(q, k, v, training=False, **kwargs)
    np.testing.assert_allclose(out, np_attention(q, k, v)[0], rtol=1e-5, atol=1e-5)
    dropped, weights = scaled_dot_product_attention(q, k, v, training=True, **kwargs)
    assert np.abs(np.asarray(dropped) - np.asarray(out)).max() > 1e-3
    np.testing.assert_allclose(np.asarray(weights).sum(-1), 1.0, atol=1e-6)


def test_dot_product_attention_layer_is_the_formula():
    x = _normal(B, T, D)
    out, weights = DotProductAttention()(
        x, x, use_causal_mask=True, return_attention_scores=True
    )
    want_out, want_weights = np_attention(x, x, x, np.tril(np.ones((T, T), bool)))
    np.testing.assert_allclose(weights, want_weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, want_out, rtol=1e-5, atol=1e-5)


# --- parity with keras.layers.MultiHeadAttention ----------------------------------

QUERY_PAD = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], bool)  # (B, T)
SOURCE_PAD = np.array([[1] * 7, [1, 1, 1, 1, 0, 0, 0]], bool)  # (B, S)

PARITY = {
    "self": dict(source_len=T),
    "cross_T5_S7": dict(source_len=S),
    "cross_key_padding": dict(source_len=S, key_padding=SOURCE_PAD),
    "cross_query_and_key_padding": dict(
        source_len=S, key_padding=SOURCE_PAD, query_padding=QUERY_PAD
    ),
    "self_causal": dict(source_len=T, causal=True),
    "self_causal_padding": dict(source_len=T, causal=True, key_padding=QUERY_PAD),
    "cross_value_dim_output_dim_no_bias": dict(
        source_len=S, layer=dict(value_dim=3, use_bias=False), output_dim=6
    ),
}


@pytest.mark.parametrize("spec", PARITY.values(), ids=PARITY.keys())
def test_multi_head_attention_matches_keras(spec, keras_seed):
    q = _normal(B, T, C)
    v = q if spec["source_len"] == T else _normal(B, spec["source_len"], C, seed=1)
    output_dim = spec.get("output_dim")
    reference = keras.layers.MultiHeadAttention(
        H, D, output_shape=output_dim, **spec.get("layer", {})
    )
    zoo_mha = MultiHeadAttention(H, D, output_dim=output_dim, **spec.get("layer", {}))
    mask = attention_mask(
        key_padding=spec.get("key_padding"),
        query_padding=spec.get("query_padding"),
        query_len=T,
    )
    kwargs = dict(
        attention_mask=mask,
        use_causal_mask=spec.get("causal", False),
        return_attention_scores=True,
    )
    want, want_weights = reference(q, v, **kwargs)
    before, _ = zoo_mha(q, v, **kwargs)
    assert np.abs(np.asarray(before) - np.asarray(want)).max() > 1e-3  # can fail
    zoo_mha.set_weights(reference.get_weights())
    got, weights = zoo_mha(q, v, **kwargs)
    assert got.shape == want.shape and weights.shape == want_weights.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=PARITY_ATOL)
    np.testing.assert_allclose(weights, want_weights, rtol=0, atol=PARITY_ATOL)
    assert np.isfinite(np.asarray(got)).all()


# --- cached decoding ------------------------------------------------------------


@pytest.mark.parametrize("value_dim", [None, 3], ids=["D_v=D", "D_v!=D"])
def test_multi_head_attention_cache_equals_causal_full_sequence(value_dim, keras_seed):
    x = _normal(B, T, C)
    mha = MultiHeadAttention(H, D, value_dim=value_dim)
    full = np.asarray(mha(x, x, use_causal_mask=True))
    cache = mha.initial_cache(B, T + 2)  # two slots more than needed
    d_v = value_dim or D
    assert [tuple(c.shape) for c in cache] == [(B, H, T + 2, D), (B, H, T + 2, d_v)]
    # A two-token prompt in one call, then one token per call.
    out, cache = mha(x[:, :2], x[:, :2], cache=cache, cache_index=0)
    steps = [np.asarray(out)]
    for t in range(2, T):
        out, cache = mha(x[:, t : t + 1], x[:, t : t + 1], cache=cache, cache_index=t)
        steps.append(np.asarray(out))
    np.testing.assert_allclose(np.concatenate(steps, 1), full, rtol=0, atol=1e-5)
    # The cache holds every position's keys and values, heads first.
    keys, values = (np.asarray(c)[:, :, :T] for c in cache)  # (B, H, T, D)
    for held, dense in ((keys, mha.key_dense), (values, mha.value_dense)):
        want = np.asarray(dense(x)).transpose(0, 2, 1, 3)  # (B, T, H, D) -> heads first
        np.testing.assert_allclose(held, want, rtol=0, atol=1e-6)
    with pytest.raises(ZooError, match="cache_index"):
        mha(x, x, cache=cache)
    with pytest.raises(ZooError, match="before initial_cache"):  # sizes unknown
        MultiHeadAttention(H).initial_cache(B, T)


DECODERS = {
    "post_norm_cross": dict(),
    "pre_norm_decoder_only": dict(norm_first=True, cross_attention=False),
}


def _decoder_kwargs(block, memory=None):
    if not block.cross_attention:
        return {}
    return dict(encoder_outputs=memory, encoder_padding_mask=SOURCE_PAD)


@pytest.mark.parametrize("options", DECODERS.values(), ids=DECODERS.keys())
def test_decoder_block_cached_decoding_equals_full_sequence(options, keras_seed):
    x, memory = _normal(B, T, C), _normal(B, S, C, seed=1)
    block = TransformerDecoderBlock(H, 16, **options)
    extra = _decoder_kwargs(block, memory)
    full = np.asarray(block(x, **extra))
    # A prompt of 2 tokens in one call, then one token per call.
    cache = block.initial_cache(B, T)
    out, cache = block(x[:, :2], cache=cache, cache_index=0, **extra)
    steps = [np.asarray(out)]
    for t in range(2, T):
        out, cache = block(x[:, t : t + 1], cache=cache, cache_index=t, **extra)
        steps.append(np.asarray(out))
    np.testing.assert_allclose(np.concatenate(steps, 1), full, rtol=0, atol=1e-5)


def test_decoder_block_cached_step_compiles_with_xla(keras_seed):
    """One decoding step under XLA, the cache index a tensor (as in a loop)."""
    x, memory = _normal(B, T, C), _normal(B, S, C, seed=1)
    block = TransformerDecoderBlock(H, 16)
    full = np.asarray(block(x, encoder_outputs=memory))

    @tf.function(jit_compile=True)
    def step(token, cache, index):
        return block(token, encoder_outputs=memory, cache=cache, cache_index=index)

    cache = block.initial_cache(B, T)
    outs = []
    for t in range(T):
        out, cache = step(x[:, t : t + 1], cache, tf.constant(t))
        outs.append(np.asarray(out))
    np.testing.assert_allclose(np.concatenate(outs, 1), full, rtol=0, atol=1e-5)
    assert step.experimental_get_tracing_count() == 1  # no retracing per step


# --- causality and masks in the blocks --------------------------------------------


@pytest.mark.parametrize("options", DECODERS.values(), ids=DECODERS.keys())
def test_decoder_block_is_causal(options, keras_seed):
    x, memory = _normal(B, T, C), _normal(B, S, C, seed=1)
    block = TransformerDecoderBlock(H, 16, **options)
    extra = _decoder_kwargs(block, memory)
    base = np.asarray(block(x, **extra))
    for t in range(1, T):
        changed = x.copy()
        changed[:, t:] += 1.0
        moved = np.asarray(block(changed, **extra))
        np.testing.assert_allclose(moved[:, :t], base[:, :t], rtol=0, atol=1e-6)
        assert np.abs(moved[:, t:] - base[:, t:]).max() > 1e-3


def test_cross_attention_ignores_padded_encoder_positions(keras_seed):
    """T=5 targets, S=7 sources; source 4..6 of example 1 are padding (#7)."""
    x, memory = _normal(B, T, C), _normal(B, S, C, seed=1)
    block = TransformerDecoderBlock(H, 16)
    kwargs = dict(encoder_padding_mask=SOURCE_PAD, return_attention_scores=True)
    base, scores = block(x, encoder_outputs=memory, **kwargs)
    assert scores["cross"].shape == (B, H, T, S)
    assert np.all(np.asarray(scores["cross"])[1, :, :, 4:] == 0)
    changed = memory.copy()
    changed[1, 4:] = 100.0  # padded positions
    out, _ = block(x, encoder_outputs=changed, **kwargs)
    np.testing.assert_allclose(out, base, rtol=0, atol=1e-6)
    changed[1, 3] = 100.0  # a real position: must matter
    out, _ = block(x, encoder_outputs=changed, **kwargs)
    assert np.abs(np.asarray(out)[1] - np.asarray(base)[1]).max() > 1e-3


def test_decoder_block_refuses_missing_or_unexpected_encoder_outputs():
    x = _normal(B, T, C)
    with pytest.raises(ZooError, match="encoder_outputs"):
        TransformerDecoderBlock(H, 16)(x)
    with pytest.raises(ZooError, match="cross_attention=False"):
        TransformerDecoderBlock(H, 16, cross_attention=False)(x, encoder_outputs=x)


def test_encoder_block_ignores_padded_positions(keras_seed):
    x = _normal(B, T, C)
    block = TransformerEncoderBlock(H, 16)
    base = np.asarray(block(x, padding_mask=QUERY_PAD))
    changed = x.copy()
    changed[1, 3:] = 50.0  # example 1's padding
    out = np.asarray(block(changed, padding_mask=QUERY_PAD))
    np.testing.assert_allclose(out[1, :3], base[1, :3], rtol=0, atol=1e-6)
    np.testing.assert_allclose(out[0], base[0], rtol=0, atol=1e-6)
    # Not causal: changing the last real token moves the first output.
    changed[0, 4] += 1.0
    assert (
        np.abs(
            np.asarray(block(changed, padding_mask=QUERY_PAD))[0, 0] - base[0, 0]
        ).max()
        > 1e-4
    )


# --- document 004's formula (erratum) ----------------------------------------------


def test_document_004_formula_weights_do_not_sum_to_one():
    q, k, v = _normal(B, T, D), _normal(B, S, D, seed=1), _normal(B, S, D, seed=2)
    _, wrong = wrong_attention_004(q, k, v)
    wrong_sums = np.asarray(wrong).sum(-1)  # (B, T)
    assert np.abs(wrong_sums - 1.0).min() > 0.05, wrong_sums
    _, right = scaled_dot_product_attention(q, k, v)
    np.testing.assert_allclose(np.asarray(right).sum(-1), 1.0, atol=1e-6)


# --- positions --------------------------------------------------------------------


def test_sinusoidal_encoding_matches_the_formula():
    width, layer = 6, SinusoidalPositionalEncoding(32)
    zeros = np.zeros((1, 10, width), "float32")
    table = np.asarray(layer(zeros))[0]  # (T, C): zeros + PE
    shifted = np.asarray(layer(zeros[:, :2], position_offset=7))[0]
    for pos in (0, 1, 7, 9):
        for i in range(width // 2):
            angle = pos / 10000 ** (2 * i / width)
            assert table[pos, 2 * i] == pytest.approx(math.sin(angle), abs=1e-5)
            assert table[pos, 2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-5)
    np.testing.assert_allclose(shifted, table[7:9], atol=1e-5)
    x = _normal(2, 10, width)
    np.testing.assert_allclose(layer(x), x + table, atol=1e-5)  # it adds


@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
def test_too_long_input_raises_naming_both_lengths(positional):
    layer = TokenAndPositionEmbedding(11, 6, 4, positional=positional)
    layer(np.ones((1, 6), "int32"))  # exactly max_length is fine
    with pytest.raises(ZooError, match=r"length 7 .*max_length=6"):
        layer(np.ones((1, 7), "int32"))
    with pytest.raises(
        ZooError, match=r"length 2 starting at position 5.*max_length=6"
    ):
        layer(np.ones((1, 2), "int32"), position_offset=5)
    with pytest.raises(ZooError, match=r"length 9 .*max_length=6"):
        SinusoidalPositionalEncoding(6)(np.zeros((1, 9, 4), "float32"))


def test_token_and_position_embedding_sums_scaled_tokens_and_positions():
    ids = np.array([[3, 1, 4, 1]], "int32")
    layer = TokenAndPositionEmbedding(11, 8, 4, positional="learned")
    out = np.asarray(layer(ids, position_offset=2))
    tokens = np.asarray(layer.token_embedding.embeddings)[ids[0]]
    positions = np.asarray(layer.position_embedding.embeddings)[2:6]
    np.testing.assert_allclose(out[0], tokens * 2.0 + positions, atol=1e-6)  # sqrt(4)
    assert layer.compute_mask(ids) is None  # masks are passed explicitly
    sinusoidal = TokenAndPositionEmbedding(11, 8, 4, scale_embeddings=False)
    out = np.asarray(sinusoidal(ids))
    tokens = np.asarray(sinusoidal.token_embedding.embeddings)[ids[0]]
    table = np.asarray(SinusoidalPositionalEncoding(8)(np.zeros((1, 4, 4), "float32")))
    np.testing.assert_allclose(out[0], tokens + table[0], atol=1e-6)


# --- additive (Bahdanau) attention ---------------------------------------------------


def test_additive_attention_weights_and_formula():
    s, h = _normal(B, T, C), _normal(B, S, 6, seed=1)
    layer = AdditiveAttention(4)
    context, weights = layer(s, h, padding_mask=SOURCE_PAD)
    weights = np.asarray(weights)
    assert context.shape == (B, T, 6) and weights.shape == (B, T, S)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(weights[1, :, 4:], 0.0)
    assert (weights[1, :, :4] > 0).all()
    np.testing.assert_allclose(context, weights @ h, atol=1e-5)
    # e = v^T tanh(W1 s + W2 h), softmax over the real source positions.
    W1, W2 = np.asarray(layer.query_dense.kernel), np.asarray(layer.value_dense.kernel)
    v = np.asarray(layer.score_dense.kernel)[:, 0]
    e = np.tanh((s @ W1)[:, :, None] + (h @ W2)[:, None]) @ v  # (B, T, S)
    e = np.where(SOURCE_PAD[:, None], e, -np.inf)
    want = np.exp(e - e.max(-1, keepdims=True))
    np.testing.assert_allclose(weights, want / want.sum(-1, keepdims=True), atol=1e-6)
    # One decoder step: (B, C) query -> (B, C_h) context, (B, S) weights.
    step_context, step_weights = layer(s[:, 0], h, padding_mask=SOURCE_PAD)
    assert step_context.shape == (B, 6) and step_weights.shape == (B, S)
    np.testing.assert_allclose(step_weights, weights[:, 0], atol=1e-6)


# --- the two seq2seq scores: additive and Luong's -------------------------------------


@pytest.mark.parametrize("layer_cls", [AdditiveAttention, LuongAttention])
def test_one_step_attention_equals_a_row_of_the_sequence(layer_cls):
    layer = layer_cls(12) if layer_cls is AdditiveAttention else layer_cls()
    rng = np.random.default_rng(0)
    query = rng.normal(size=(2, 4, 6)).astype("float32")  # (B, T, U)
    value = rng.normal(size=(2, 5, 10)).astype("float32")  # (B, S, d)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    context, weights = layer(query, value, padding_mask=mask)
    one_context, one_weights = layer(query[:, 2], value, padding_mask=mask)
    np.testing.assert_allclose(one_context, np.asarray(context)[:, 2], atol=1e-6)
    np.testing.assert_allclose(one_weights, np.asarray(weights)[:, 2], atol=1e-6)
    assert (np.asarray(weights)[0, :, 3:] == 0).all()


def test_luong_attention_is_the_scaled_general_score():
    """e = s W_a h^T / sqrt(d) (document 001's formula with Q = s W_a)."""
    layer = LuongAttention()
    rng = np.random.default_rng(1)
    query = rng.normal(size=(1, 3, 6)).astype("float32")
    value = rng.normal(size=(1, 4, 8)).astype("float32")
    context, weights = layer(query, value)
    q = query[0] @ layer.query_dense.kernel.numpy()  # s W_a: (T, d)
    scores = q @ value[0].T / np.sqrt(8)  # (T, S)
    expected = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    np.testing.assert_allclose(np.asarray(weights)[0], expected, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(context)[0], expected @ value[0], rtol=1e-5)


def test_luong_attention_loads_under_its_old_name(tmp_path):
    """Models saved before the rename name the layer "zoo>DotAttention"."""
    s, h = keras.Input((4, 6)), keras.Input((5, 8))
    context, _ = LuongAttention(name="attention")(s, h)
    model = keras.Model([s, h], context)
    model.save(tmp_path / "new.keras")
    with zipfile.ZipFile(tmp_path / "new.keras") as new:
        files = {name: new.read(name) for name in new.namelist()}
    config = files["config.json"].decode("utf-8")
    assert '"zoo>LuongAttention"' in config
    files["config.json"] = config.replace("LuongAttention", "DotAttention").encode()
    with zipfile.ZipFile(tmp_path / "old.keras", "w") as old:
        for name, data in files.items():
            old.writestr(name, data)
    loaded = keras.saving.load_model(tmp_path / "old.keras", safe_mode=True)
    assert type(loaded.get_layer("attention")) is LuongAttention
    x = [_normal(1, 4, 6), _normal(1, 5, 8, seed=1)]
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)
