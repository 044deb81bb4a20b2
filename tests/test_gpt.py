"""Tests for zoo.models.gpt: a causal Transformer LM whose output is its embedding.

Sizes are the "tiny" preset (two blocks of width 16); the model is XLA-compiled
twice in the whole file (one training run, one decoding step), so the file
stays quick on two CPU cores.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import (
    VOCAB,
    bigram_model,
    logits_of,
    run_python,
    token_ids,
)

from zoo.data.pipeline import make_dataset
from zoo.errors import ZooError, ZooWarning
from zoo.generation import (
    GPTStepper,
    generate,
    generate_ids,
    step_logits,
    stepper_for,
)
from zoo.layers.embedding import TiedEmbedding
from zoo.models.gpt import GPT_PRESETS, build_gpt, build_gpt_preset, count_gpt_params
from zoo.text import PAD_ID, CharTokenizer

TINY = GPT_PRESETS["tiny"]
CONTEXT = TINY["context_length"]  # 16


@pytest.fixture(scope="module")
def gpt():
    """An uncompiled tiny GPT (eager checks only: nothing compiles)."""
    keras.utils.set_random_seed(7)
    return build_gpt_preset(VOCAB, preset="tiny", compile=False)


@pytest.fixture(scope="module")
def tokenizer():
    return CharTokenizer.fit("abcdefghijklmnopqrs")  # a=5, b=6, ..., s=23


@pytest.fixture(scope="module")
def trained(tokenizer):
    """A tiny GPT trained 100 XLA steps on a repetitive text, and its history."""
    keras.utils.set_random_seed(3)
    text = "abcdefghij" * 300
    ids = tokenizer.encode(text)
    model = build_gpt_preset(tokenizer.vocab_size, preset="tiny", learning_rate=3e-3)
    before = [w.copy() for w in model.get_weights()]
    ds = make_dataset(ids, seq_len=CONTEXT, batch_size=8, seed=0).repeat()
    history = model.fit(ds, epochs=5, steps_per_epoch=20, verbose=0)
    return model, before, history.history


# --- the model ---------------------------------------------------------------
# Output shape, causality, padding and the config round trip of this tiny GPT
# are checked by tests/test_battery.py, on the registry's tiny size:


def test_the_battery_builds_this_preset():
    from zoo import registry

    assert dict(registry.get("gpt").tiny) == TINY


def test_parameter_count_matches_the_formula(gpt):
    assert gpt.count_params() == count_gpt_params(VOCAB, **TINY)
    untied = build_gpt_preset(VOCAB, preset="tiny", tie_embeddings=False, compile=False)
    extra = TINY["embedding_dim"] * VOCAB  # the (C, V) output matrix
    assert untied.count_params() == gpt.count_params() + extra
    sinusoidal = build_gpt_preset(
        VOCAB, preset="tiny", positional="sinusoidal", compile=False
    )
    assert sinusoidal.count_params() == gpt.count_params() - CONTEXT * 16
    # GPT-2 small, from the published sizes: the well-known 124,439,808.
    assert count_gpt_params(50257, **GPT_PRESETS["gpt2_small"]) == 124_439_808


def test_laptop_preset_is_the_default():
    assert GPT_PRESETS["laptop"] == {
        "context_length": 64,
        "embedding_dim": 128,
        "num_heads": 4,
        "num_layers": 4,
        "ff_dim": 512,
    }
    import inspect

    defaults = inspect.signature(build_gpt).parameters
    for key, value in GPT_PRESETS["laptop"].items():
        assert defaults[key].default == value


def test_input_longer_than_the_context_is_refused(gpt):
    logits_of(gpt, token_ids((1, CONTEXT)))  # exactly the context: fine
    with pytest.raises(ZooError, match=f"longer than max_length={CONTEXT}"):
        logits_of(gpt, token_ids((1, CONTEXT + 1)))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"embedding_dim": 10, "num_heads": 4}, "divisible"),
        ({"num_layers": 0}, "num_layers"),
        ({"dropout": 1.0}, "dropout"),
        ({"positional": "rotary"}, "positional"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ZooError, match=message):
        build_gpt(VOCAB, compile=False, **kwargs)


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ZooError, match="laptop"):
        build_gpt_preset(VOCAB, preset="huge")


def test_vocab_size_is_the_one_positional_argument_of_the_preset():
    import inspect

    params = inspect.signature(build_gpt_preset).parameters
    assert list(params)[:2] == ["vocab_size", "preset"]
    assert params["preset"].kind is inspect.Parameter.KEYWORD_ONLY
    with pytest.raises(TypeError):
        build_gpt_preset(VOCAB, "tiny")  # the old order would be read wrong


# --- the tied output layer ---------------------------------------------------


def test_output_layer_is_the_token_embedding(gpt):
    (embedding,) = [lay for lay in gpt.layers if isinstance(lay, TiedEmbedding)]
    table = embedding.token_embedding.embeddings
    # One (V, C) matrix, and no (C, V) output matrix anywhere.
    shapes = [tuple(w.shape) for w in gpt.weights]
    assert shapes.count((VOCAB, TINY["embedding_dim"])) == 1
    assert (TINY["embedding_dim"], VOCAB) not in shapes
    # The logits are h W_E^T: rebuild them by hand from the final hidden states.
    ids = token_ids((2, 5))
    hidden = keras.Model(gpt.input, gpt.get_layer("final_norm").output)(ids)
    want = np.asarray(hidden) @ np.asarray(table).T  # (B, T, C) (C, V)
    np.testing.assert_allclose(logits_of(gpt, ids), want, rtol=1e-5, atol=1e-5)


def test_the_output_sends_gradients_into_the_embedding(gpt):
    ids = np.full((1, 4), 7, np.int32)  # only token 7 is read
    table = gpt.get_layer("embedding").token_embedding.embeddings
    with tf.GradientTape() as tape:
        logits = gpt(ids, training=True)
        loss = keras.losses.sparse_categorical_crossentropy(
            np.full((1, 4), 9), logits, from_logits=True
        )
    grad = tf.convert_to_tensor(tape.gradient(loss, table))  # (V, C)
    # Rows of tokens never read still get gradients: through the output layer.
    assert np.abs(grad.numpy()[9]).sum() > 0
    assert np.abs(grad.numpy()[12]).sum() > 0


# --- training ----------------------------------------------------------------


# Every test of the `trained` fixture (100 XLA steps, about 7 s) is slow.
@pytest.mark.slow
def test_training_with_xla_lowers_the_loss(trained):
    model, before, history = trained
    assert model.jit_compile is True  # Keras did not quietly turn XLA off
    for variable, old in zip(model.weights, before, strict=True):
        assert not np.array_equal(variable.numpy(), old), variable.path
    loss = history["loss"]
    assert np.isfinite(loss).all()
    # The text repeats every 10 characters: 100 steps learn most of it.
    assert loss[-1] < 0.5 * loss[0], loss
    assert history["perplexity"][-1] < 3.0, history["perplexity"]


# --- decoding ----------------------------------------------------------------


def test_the_gpt_stepper_recognises_only_gpt_models(gpt):
    assert GPTStepper.can_decode(gpt)
    assert isinstance(stepper_for(gpt), GPTStepper)
    assert not GPTStepper.can_decode(bigram_model(compile=False))
    # Found by structure, not by name: a renamed copy is still a GPT.
    clone = keras.Model.from_config({**gpt.get_config(), "name": "my_model"})
    assert GPTStepper.can_decode(clone)
    assert isinstance(stepper_for(clone), GPTStepper)


def test_a_masked_lm_refuses_to_generate():
    from zoo.models.bert import build_bert_mlm

    bert = build_bert_mlm(
        VOCAB, context_length=8, embedding_dim=8, num_heads=2, num_layers=1,
        ff_dim=8, compile=False,
    )  # fmt: skip
    assert not GPTStepper.can_decode(bert)
    with pytest.raises(ZooError, match="left to right"):
        stepper_for(bert)


def test_cache_has_static_shapes(gpt):
    stepper = GPTStepper(gpt)
    assert stepper.max_length == CONTEXT
    state = stepper.initial_state(3)
    heads = TINY["num_heads"]
    head_size = TINY["embedding_dim"] // heads
    # Per block: keys and values, heads first, as the attention reads them.
    shapes = [tuple(s.shape) for s in tf.nest.flatten(state)]
    assert len(state) == TINY["num_layers"]
    assert shapes == [(3, heads, CONTEXT, head_size)] * 2 * TINY["num_layers"]
    _, new = stepper.step(tf.constant([5, 6, 7]), state, tf.constant(0))
    assert tf.nest.map_structure(lambda s: tuple(s.shape), new) == (
        tf.nest.map_structure(lambda s: tuple(s.shape), state)
    )
    _, new = stepper.prefill(tf.constant(token_ids((3, 8))), state, tf.constant(5))
    assert [tuple(s.shape) for s in tf.nest.flatten(new)] == shapes


@pytest.mark.parametrize("positional", ["learned", "sinusoidal"])
def test_cached_steps_equal_the_full_model(gpt, positional):
    model = gpt
    if positional == "sinusoidal":
        keras.utils.set_random_seed(1)
        model = build_gpt_preset(
            VOCAB, preset="tiny", positional=positional, compile=False
        )
    ids = token_ids((2, CONTEXT), seed=4)
    np.testing.assert_allclose(
        step_logits(model, ids), logits_of(model, ids), rtol=0, atol=1e-4
    )


@pytest.mark.parametrize("length", [1, 6, CONTEXT])
def test_prefill_logits_equal_the_full_model(gpt, length):
    """One pass over a padded prompt: the logits after it and the cache it
    leaves are the model's own, as if the prompt had been read token by
    token."""
    ids = token_ids((2, CONTEXT), seed=6)
    full = logits_of(gpt, ids)  # (B, T, V)
    stepper = GPTStepper(gpt)
    block = ids.copy()
    block[:, length:] = PAD_ID  # the padding after the prompt is never read
    prefill = tf.function(stepper.prefill, jit_compile=True)  # as in generation
    logits, state = prefill(
        tf.constant(block), stepper.initial_state(2), tf.constant(length)
    )
    np.testing.assert_allclose(logits, full[:, length - 1], rtol=0, atol=1e-5)
    # The steps after it continue from the cache it filled.
    for t in range(length, CONTEXT):
        logits, state = stepper.step(tf.constant(ids[:, t]), state, tf.constant(t))
        np.testing.assert_allclose(logits, full[:, t], rtol=0, atol=1e-4)


@pytest.mark.slow
def test_beam_width_one_is_greedy(trained):
    model = trained[0]
    prompt = np.array([[5, 6, 7]], np.int32)
    greedy = generate_ids(model, prompt, max_new_tokens=8, temperature=0.0)
    beam = generate_ids(model, prompt, max_new_tokens=8, temperature=0.0, beam_width=1)
    np.testing.assert_array_equal(beam, greedy)
    # And greedy continues the pattern it was trained on: "abc" -> "defghijabc".
    assert greedy[0].tolist() == [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 5]


@pytest.mark.slow
def test_a_prompt_longer_than_the_context_is_cropped(trained, tokenizer):
    model = trained[0]
    prompt = tokenizer.encode("abcdefghij" * 3)[None, :]  # 30 tokens, context 16
    with pytest.warns(ZooWarning, match="keeping the last 12"):
        out = generate_ids(model, prompt, max_new_tokens=4, temperature=0)
    assert out.shape == (1, 12 + 4)  # the last 12 of the prompt, 4 new tokens
    np.testing.assert_array_equal(out[:, :12], prompt[:, -12:])
    assert tokenizer.decode(out[0, 12:]) == "abcd"
    with pytest.raises(ZooError, match="does not fit"):  # beams need one window
        generate_ids(
            model, prompt[:, :3], max_new_tokens=CONTEXT, temperature=0, beam_width=2
        )


@pytest.mark.slow
def test_generation_slides_past_the_context(trained, tokenizer):
    model = trained[0]
    prompt = tokenizer.encode("abcdefghij" * 3)[None, :]  # 30 tokens, context 16
    n = 3 * CONTEXT + 5
    out = generate_ids(model, prompt, max_new_tokens=n, temperature=0)
    keep = CONTEXT // 2  # each window restarts from the last half context
    assert out.shape == (1, keep + n)
    np.testing.assert_array_equal(out[:, :keep], prompt[:, -keep:])
    # Greedy keeps the pattern going across every window boundary.
    text = tokenizer.decode(out[0])
    assert text == ("abcdefghij" * 10)[2 : 2 + keep + n]
    # Sampling is seeded across windows too.
    a = generate_ids(model, prompt, max_new_tokens=n, temperature=1.0, seed=3)
    b = generate_ids(model, prompt, max_new_tokens=n, temperature=1.0, seed=3)
    np.testing.assert_array_equal(a, b)
    assert generate(model, tokenizer, "abc", max_new_tokens=n, temperature=0) == (
        "abc" + ("defghijabc" * 10)[:n]
    )


@pytest.mark.slow
def test_generate_text_after_cropping(trained, tokenizer):
    prompt = "abcdefghij" * 3
    with pytest.warns(ZooWarning, match="keeping the last 12"):
        text = generate(trained[0], tokenizer, prompt, max_new_tokens=4, temperature=0)
    assert text == prompt + "abcd"


# --- saving ------------------------------------------------------------------

_LOAD_SCRIPT = """
    import sys

    import numpy as np

    import zoo
    from zoo.generation import step_logits

    ids = np.load(sys.argv[1])
    # What a user does: nothing imported but zoo (zoo.load registers the rest).
    for path in sys.argv[2:]:
        bundle = zoo.load(path, safe_mode=True)
        logits = np.asarray(bundle.model(ids, training=False))
        np.save(path + ".logits.npy", logits)
        np.save(path + ".steps.npy", step_logits(bundle.model, ids))
        table = bundle.model.get_layer("embedding").token_embedding.embeddings
        shapes = [tuple(w.shape) for w in bundle.model.weights]
        print(path, shapes.count(tuple(table.shape)))
"""


@pytest.mark.slow
def test_save_and_load_in_a_fresh_process(trained, tokenizer, tmp_path):
    import zoo

    keras.utils.set_random_seed(2)
    models = {
        "trained": trained[0],
        "untied": build_gpt_preset(
            tokenizer.vocab_size, preset="tiny", tie_embeddings=False, compile=False
        ),
    }
    ids = token_ids((2, 9), vocab_size=tokenizer.vocab_size)
    np.save(tmp_path / "ids.npy", ids)
    paths = []
    for name, model in models.items():
        paths.append(tmp_path / f"{name}.keras")
        zoo.save(paths[-1], model, tokenizer)
    out = run_python(_LOAD_SCRIPT, tmp_path / "ids.npy", *paths).stdout
    for path, model in zip(paths, models.values(), strict=True):
        want = logits_of(model, ids)
        got = np.load(f"{path}.logits.npy")
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        # The reloaded model is still recognised and decodes with its cache.
        steps = np.load(f"{path}.steps.npy")
        np.testing.assert_allclose(steps, want, rtol=0, atol=1e-4)
        assert f"{path} 1" in out  # still one embedding matrix after loading
