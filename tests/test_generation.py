"""Tests for zoo.generation: steppers, stepping, sampling, and generate()."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import EMBED, RECURRENT_CONFIGS, UNITS, VOCAB, logits_of, token_ids

import zoo
from zoo import listings
from zoo.errors import ZooError, ZooWarning
from zoo.generation import (
    NEVER_SAMPLED,
    STEPPERS,
    GPTStepper,
    PrefillStepper,
    RecurrentStepper,
    Sampling,
    Stepper,
    decoding,
    filter_logits,
    generate,
    generate_ids,
    sample_logits,
    step_logits,
    stepper_for,
)
from zoo.models.gpt import GPT_PRESETS, build_gpt_preset
from zoo.text import EOS_ID, PAD_ID, CharTokenizer

pytestmark = pytest.mark.usefixtures("keras_seed")

TEXT = "to be or not to be, that is the question"
POEM = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
NEG = np.finfo(np.float32).min


@pytest.fixture(scope="module")
def tokenizer():
    return CharTokenizer.fit(TEXT)


@pytest.fixture(scope="module")
def lstm(tokenizer):
    """One small random LSTM shared by the sampling tests (its compiled decode
    steps are cached on it, so each sampling setting compiles once)."""
    keras.utils.set_random_seed(7)
    return zoo.build_lstm(
        tokenizer.vocab_size,
        embedding_dim=EMBED,
        units=UNITS,
        num_layers=2,
        compile=False,
    )


def _kept(filtered) -> np.ndarray:
    """Which entries of filtered logits survived (removed ones are ~ -3.4e38)."""
    return np.asarray(filtered) > NEG / 2


def _samplable(vocab_size) -> list[int]:
    return [i for i in range(vocab_size) if i not in NEVER_SAMPLED]


# --- step-by-step decoding equals the full-prefix model (docs/pitfalls.md #9) ---


@pytest.mark.parametrize("config", RECURRENT_CONFIGS, ids=lambda c: c.id)
def test_step_logits_equal_the_full_model(config):
    model = config.build(compile=False)
    ids = token_ids(seed=5)
    stepped = step_logits(model, ids)
    assert stepped.shape == (*ids.shape, model.output_shape[-1])
    full = logits_of(model, ids)
    if config.output == "sequence":
        np.testing.assert_allclose(stepped, full, rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_allclose(stepped[:, -1], full, rtol=1e-5, atol=1e-5)
        # ...and every shorter prefix matches the model run on that prefix.
        np.testing.assert_allclose(
            stepped[:, 2], logits_of(model, ids[:, :3]), rtol=1e-5, atol=1e-5
        )


# --- the steppers ------------------------------------------------------------------


def test_stepper_for_asks_each_stepper_in_order(lstm):
    """Each class says by structure whether it decodes a model; the first
    that does is used, and every one follows the `Stepper` protocol."""
    assert STEPPERS[-1] is RecurrentStepper  # the least specific, last
    claims = [cls for cls in STEPPERS if cls.can_decode(lstm)]
    assert claims == [RecurrentStepper]
    stepper = stepper_for(lstm)
    assert type(stepper) is RecurrentStepper
    assert isinstance(stepper, Stepper) and stepper.max_length is None
    assert not isinstance(stepper, PrefillStepper)  # reads a prompt step by step
    gpt = build_gpt_preset(30, preset="tiny", compile=False)
    assert [cls for cls in STEPPERS if cls.can_decode(gpt)] == [GPTStepper]
    assert isinstance(stepper_for(gpt), PrefillStepper)


def test_a_model_no_stepper_decodes_is_refused_with_the_reason():
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(VOCAB, 4)(inputs)
    x = keras.layers.Conv1D(4, 3, padding="causal", name="conv")(x)
    model = keras.Model(inputs, keras.layers.Dense(VOCAB)(x))
    assert not any(cls.can_decode(model) for cls in STEPPERS)
    with pytest.raises(ZooError, match="cannot step layer 'conv'"):
        stepper_for(model)


# --- generate() -----------------------------------------------------------------


def test_generate_is_seeded(lstm, tokenizer, monkeypatch):
    def no_predict(*args, **kwargs):
        raise AssertionError("generate() must not call model.predict in its loop")

    monkeypatch.setattr(lstm, "predict", no_predict)
    first = generate(lstm, tokenizer, "to be", max_new_tokens=30, seed=1)
    again = generate(lstm, tokenizer, "to be", max_new_tokens=30, seed=1)
    other = generate(lstm, tokenizer, "to be", max_new_tokens=30, seed=2)
    assert first.startswith("to be") and len(first) > len("to be")
    assert first == again
    assert first != other


def test_generate_ids_shape_and_prompt_kept(lstm, tokenizer):
    prompt = np.stack([tokenizer.encode("to be"), tokenizer.encode("not t")])
    out = generate_ids(lstm, prompt, max_new_tokens=7, seed=0)
    assert out.shape == (2, 5 + 7) and out.dtype == np.int32
    np.testing.assert_array_equal(out[:, :5], prompt)
    assert not np.isin(out[:, 5:], [*NEVER_SAMPLED, EOS_ID]).any()
    assert (out < tokenizer.vocab_size).all()


def _greedy_by_hand(model, prompt, steps):
    seq = np.asarray(prompt, dtype=np.int32)
    for _ in range(steps):
        logits = step_logits(model, seq)[:, -1].copy()  # (B, V)
        logits[:, [*NEVER_SAMPLED, EOS_ID]] = -np.inf  # text: no end token
        seq = np.concatenate([seq, logits.argmax(-1)[:, None].astype("int32")], 1)
    return seq


def test_temperature_zero_is_the_argmax_chain(lstm, tokenizer):
    prompt = np.stack([tokenizer.encode("to be"), tokenizer.encode("the q")])
    greedy = generate_ids(lstm, prompt, max_new_tokens=8, temperature=0, seed=0)
    np.testing.assert_array_equal(greedy, _greedy_by_hand(lstm, prompt, 8))
    # The seed does not matter when nothing is sampled.
    again = generate_ids(lstm, prompt, max_new_tokens=8, temperature=0, seed=99)
    np.testing.assert_array_equal(again, greedy)


def test_top_k_one_is_greedy(lstm, tokenizer):
    prompt = tokenizer.encode("or not")[None, :]
    greedy = generate_ids(lstm, prompt, max_new_tokens=10, temperature=0)
    top1 = generate_ids(
        lstm, prompt, max_new_tokens=10, temperature=1.0, top_k=1, seed=3
    )
    np.testing.assert_array_equal(top1, greedy)


def test_out_of_vocabulary_prompt_warns_and_still_generates(lstm, tokenizer):
    with pytest.warns(ZooWarning, match="Z"):
        text = generate(lstm, tokenizer, "to Zee", max_new_tokens=5, seed=0)
    assert text.startswith("to Zee") and len(text) > len("to Zee")


@pytest.mark.parametrize("prompt", ["", None])
def test_empty_prompt_raises(lstm, tokenizer, prompt):
    with pytest.raises(ZooError, match="prompt"):
        generate(lstm, tokenizer, prompt, max_new_tokens=3)


def test_bidirectional_listing_refuses_to_generate(tokenizer):
    with pytest.warns(ZooWarning):
        model = listings.get("003-s5").build_as_written(
            vocab_size=tokenizer.vocab_size, embedding_dim=EMBED, rnn_units=UNITS
        )
    model(token_ids(vocab_size=tokenizer.vocab_size))  # built, and it runs
    with pytest.raises(ZooError, match="bidirectional"):
        generate(model, tokenizer, "to be", max_new_tokens=3, seed=0)


def test_embeddings_input_model_refuses_to_generate(tokenizer):
    model = zoo.build_lstm(
        tokenizer.vocab_size,
        embedding_dim=EMBED,
        units=UNITS,
        inputs="embeddings",
        compile=False,
    )
    with pytest.raises(ZooError, match="Embedding"):
        generate(model, tokenizer, "to be", max_new_tokens=3, seed=0)


def test_chinese_char_model_generates():
    tokenizer = CharTokenizer.fit(POEM)
    model = zoo.build_gru(
        tokenizer.vocab_size, embedding_dim=EMBED, units=UNITS, compile=False
    )
    text = generate(model, tokenizer, "明月", max_new_tokens=12, seed=0)
    assert text.startswith("明月")
    new_ids = generate_ids(
        model, tokenizer.encode("明月")[None, :], max_new_tokens=12, seed=0
    )[0, 2:]
    assert text == "明月" + tokenizer.decode(new_ids)
    continuation = text[2:]
    assert continuation
    assert set(continuation) <= set(tokenizer.vocabulary)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in continuation)


def test_sampling_loop_is_traced_once_per_bucket(tokenizer):
    model = zoo.build_simple_rnn(
        tokenizer.vocab_size, embedding_dim=EMBED, units=UNITS, compile=False
    )
    # New prompt lengths and token counts: the lengths are tensors and the
    # buffer has 64 columns for all of them, so one trace.
    for seed, (prompt, n) in enumerate([("to", 6), ("to be", 9), ("or not to", 40)]):
        generate(model, tokenizer, prompt, max_new_tokens=n, top_k=5, seed=seed)
    cache = model._zoo_decoders
    assert len(cache) == 1
    (decoder,) = cache.values()
    assert decoder.loop.experimental_get_tracing_count() == 1
    # No per-token function is called from Python (only beam search uses it).
    assert decoder.step.experimental_get_tracing_count() == 0
    # Longer runs use a 128-column buffer: a second trace, then none.
    for n in (70, 100):
        generate(model, tokenizer, "to", max_new_tokens=n, top_k=5, seed=0)
    assert decoder.loop.experimental_get_tracing_count() == 2
    # A different sampling setting is a different compiled loop.
    generate(model, tokenizer, "to", max_new_tokens=2, temperature=0)
    assert len(model._zoo_decoders) == 2
    assert decoder.loop.experimental_get_tracing_count() == 2


def test_decoding_stops_once_every_row_has_emitted_eos(lstm, tokenizer, monkeypatch):
    prompt = np.stack([tokenizer.encode("to be"), tokenizer.encode("or no")])
    # The same sampling (EOS drawable), and an eos_id that is never drawn.
    greedy = generate_ids(lstm, prompt, max_new_tokens=12, temperature=0, eos_id=PAD_ID)
    new = greedy[:, 5:]
    eos = int(new[0, 2])  # a token row 0 emits third: call it the end
    firsts = [int(np.argmax(row == eos)) if (row == eos).any() else 12 for row in new]
    key = Sampling(0, eos=True)
    decoder = lstm._zoo_decoders[key]
    positions = []

    def counted(*args):
        ids, steps = decoder.loop(*args)
        positions.append(int(steps))
        return ids, steps

    monkeypatch.setitem(
        lstm._zoo_decoders, key, dataclasses.replace(decoder, loop=counted)
    )
    out = generate_ids(lstm, prompt, max_new_tokens=12, temperature=0, eos_id=eos)
    assert out.shape == greedy.shape
    for row, first in enumerate(firsts):
        np.testing.assert_array_equal(
            out[row, : 5 + first + 1], greedy[row, : 5 + first + 1]
        )
        assert (out[row, 5 + first + 1 :] == PAD_ID).all()
    # The prompt is read (5 positions, the last one samples), then one position
    # per new token until the last row to finish has emitted eos.
    assert positions == [4 + min(max(firsts) + 1, 12)]


# --- the compiled loop draws what a per-token Python loop draws ------------------


def _per_token_loop(decoder, state, prompt_ids, max_new_tokens, seed, eos_id=None):
    """The reference: `_sample_loop` as a Python loop over the one-token step,
    with the same keys, ``[seed, w * W + t]`` at position t of window w. A
    model with a context of W tokens starts a new window, from the empty
    state and the last W // 2 tokens, once its context is full."""
    window = decoder.stepper.max_length
    batch, prompt_len = prompt_ids.shape
    total = prompt_len + max_new_tokens
    out = [tf.constant(prompt_ids[:, t]) for t in range(prompt_len)]
    finished = np.zeros(batch, dtype=bool)
    begin, context, w = 0, prompt_len, 0
    while len(out) < total and not finished.all():
        end = total if window is None else min(begin + window, total)
        now = state
        for t in range(end - 1 - begin):
            key = tf.constant([seed, w * (window or 0) + t], tf.int32)  # (2,)
            position = tf.constant(t, tf.int32)
            nxt, now, _ = decoder.step(out[begin + t], now, position, key)
            if t + 1 >= context:
                out.append(nxt)
                if eos_id is not None:
                    finished |= nxt.numpy() == eos_id
                    if finished.all():
                        break
        if window is None:  # a recurrent model: one window
            break
        begin, context, w = end - window // 2, window // 2, w + 1
    ids = tf.stack(out, axis=1).numpy()
    missing = total - ids.shape[1]
    return np.pad(ids, ((0, 0), (0, missing)), constant_values=PAD_ID)


@pytest.fixture(scope="module")
def gpt(tokenizer):
    """A tiny random GPT: context 16, so 40 new tokens slide the window."""
    keras.utils.set_random_seed(11)
    return build_gpt_preset(tokenizer.vocab_size, preset="tiny", compile=False)


@pytest.mark.slow  # four XLA-compiled decoding loops: about 21 s
@pytest.mark.parametrize("family", ["lstm", "gpt"])
@pytest.mark.parametrize(
    "sampling", [{"temperature": 0}, {"temperature": 1.0, "top_k": 8}], ids=str
)
def test_compiled_loop_equals_the_per_token_loop(
    request, family, sampling, tokenizer, monkeypatch
):
    model = request.getfixturevalue(family)
    n = 40  # past the GPT's context of 16: several windows
    for texts in (["to be"], ["to be", "or no", "the q"]):
        prompt = np.stack([tokenizer.encode(text) for text in texts])
        for eos in (False, True):
            kw = {"max_new_tokens": n, "seed": 5, **sampling}
            with monkeypatch.context() as patch:
                patch.setattr(decoding, "_sample_loop", _per_token_loop)
                if eos:  # a token the first row draws third (PAD_ID never is)
                    drawn = generate_ids(model, prompt, eos_id=PAD_ID, **kw)
                    kw["eos_id"] = int(drawn[0, prompt.shape[1] + 2])
                want = generate_ids(model, prompt, **kw)
            got = generate_ids(model, prompt, **kw)
            assert got.shape == (len(texts), prompt.shape[1] + n)
            np.testing.assert_array_equal(got, want)
            if eos:  # the first row stopped at its first eos (<= third token)
                first = int(np.argmax(drawn[0, prompt.shape[1] :] == kw["eos_id"]))
                assert got[0, prompt.shape[1] + first] == kw["eos_id"]
                assert (got[0, prompt.shape[1] + first + 1 :] == PAD_ID).all()


# --- a GPT reads each window's context in one pass (prefill) ---------------------


def _greedy_windows_by_hand(model, prompt, steps, context):
    """Greedy decoding without a cache: run the model on the whole window for
    every new token; a full window restarts from its last `context` // 2
    tokens, as `generate_ids` slides it."""
    keep = context // 2
    seq = np.asarray(prompt, dtype=np.int32)[:, -keep:]
    start, window = seq.shape[1], 0  # where the new tokens, the window begin
    while seq.shape[1] - start < steps:
        if seq.shape[1] - window == context:
            window = seq.shape[1] - keep
        logits = logits_of(model, seq[:, window:])[:, -1].copy()  # (B, V)
        logits[:, [*NEVER_SAMPLED, EOS_ID]] = -np.inf  # text: no end token
        seq = np.concatenate([seq, logits.argmax(-1)[:, None].astype("int32")], 1)
    return seq


@pytest.fixture(scope="module")
def sharp_gpt(tokenizer):
    """The tiny GPT with its weights tripled. At its initial scale a random
    GPT greedily repeats one or two tokens whatever came before, so a window
    begun a column too early would go unseen; sharper, each greedy token
    depends on its context and on the positions it is read at."""
    keras.utils.set_random_seed(11)
    model = build_gpt_preset(tokenizer.vocab_size, preset="tiny", compile=False)
    model.set_weights([3.0 * w for w in model.get_weights()])
    return model


@pytest.mark.parametrize(
    "texts, n",
    [
        (["to be"], 40),  # batch 1, the window slides four times
        (["to be", "or no", "the q"], 40),
        (["to be"], 16),  # as many new tokens as the context: one slide
        (["to be or not to"], 40),  # a prompt longer than half a context
    ],
    ids=str,
)
def test_greedy_gpt_equals_full_window_decoding(sharp_gpt, tokenizer, texts, n):
    """Cached decoding (one compiled loop: prefill, one step per token, the
    windows sliding inside it) gives exactly the ids of naive decoding, which
    runs the model on the whole window for every new token."""
    prompt = np.stack([tokenizer.encode(text) for text in texts])
    context = GPT_PRESETS["tiny"]["context_length"]  # 16
    got = generate_ids(sharp_gpt, prompt, max_new_tokens=n, temperature=0)
    want = _greedy_windows_by_hand(sharp_gpt, prompt, n, context)
    assert len(np.unique(want[:, -n:])) > 1  # not one token over and over
    np.testing.assert_array_equal(got, want)


def test_gpt_prompt_is_prefilled_once_per_bucket(tokenizer, monkeypatch):
    """The prompt (or a sliding window's context) is read by one `prefill`,
    padded to 8, 16... columns, so prompts of new lengths do not recompile."""
    from zoo.generation import GPTStepper

    widths = []
    prefill = GPTStepper.prefill

    def recorded(self, tokens, state, length):
        widths.append(tokens.shape[1])  # called when the loop is traced
        return prefill(self, tokens, state, length)

    monkeypatch.setattr(GPTStepper, "prefill", recorded)
    keras.utils.set_random_seed(3)
    model = build_gpt_preset(tokenizer.vocab_size, preset="tiny", compile=False)
    for seed, (prompt, n) in enumerate([("to", 6), ("to be", 9), ("or not", 4)]):
        generate(model, tokenizer, prompt, max_new_tokens=n, top_k=5, seed=seed)
    (decoder,) = model._zoo_decoders.values()
    assert decoder.loop.experimental_get_tracing_count() == 1
    assert widths == [8]
    # 9 to 16 tokens: a 16-column block, one more trace, then none.
    for prompt in ("to be or n", "to be or not t"):
        generate(model, tokenizer, prompt, max_new_tokens=2, top_k=5, seed=0)
    assert decoder.loop.experimental_get_tracing_count() == 2
    assert widths == [8, 16]
    # Sliding past the context: each window re-reads its last 8 tokens in the
    # 8-column block already compiled.
    (key,) = model._zoo_decoders
    calls = []

    def counted(*args):
        calls.append(args)
        return decoder.loop(*args)

    monkeypatch.setitem(
        model._zoo_decoders, key, dataclasses.replace(decoder, loop=counted)
    )
    out = generate_ids(
        model, tokenizer.encode("to")[None], max_new_tokens=40, top_k=5, seed=0
    )
    assert out.shape == (1, 2 + 40)
    assert len(calls) == 1  # the windows slide inside the one compiled loop
    assert decoder.loop.experimental_get_tracing_count() == 2
    assert widths == [8, 16]


# --- filter_logits and sample_logits ------------------------------------------------


def test_top_k_keeps_exactly_k():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 16)).astype("float32")
    samplable = _samplable(16)
    for k in (1, 3, 7):
        kept = _kept(filter_logits(logits, Sampling(top_k=k)))
        assert (kept.sum(axis=1) == k).all()
        for row, mask in zip(logits, kept, strict=True):
            best = sorted(samplable, key=lambda i, row=row: -row[i])[:k]
            assert set(np.flatnonzero(mask)) == set(best)


def test_top_p_keeps_the_smallest_set_reaching_p():
    samplable = _samplable(len(NEVER_SAMPLED) + 5)
    vocab = len(samplable) + len(NEVER_SAMPLED)
    probs = [0.4, 0.3, 0.15, 0.1, 0.05]
    logits = np.full((1, vocab), 10.0, "float32")  # reserved ids: big on purpose
    logits[0, samplable] = np.log(probs)
    for top_p, n_kept in [
        (0.35, 1),
        (0.65, 2),
        (0.71, 3),
        (0.9, 4),
        (0.96, 5),
        (1.0, 5),
    ]:
        kept = _kept(filter_logits(logits, Sampling(top_p=top_p)))[0]
        assert set(np.flatnonzero(kept)) == set(samplable[:n_kept]), top_p


def test_temperature_scales_the_distribution():
    logits = np.array([[0.0] * len(NEVER_SAMPLED) + [1.0, 2.0, 4.0]], "float32")
    samplable = _samplable(logits.shape[1])
    for temperature in (0.5, 2.0):
        hot = np.asarray(filter_logits(logits, Sampling(temperature=temperature)))
        got = np.asarray(tf.nn.softmax(hot))[0]
        want = np.exp(logits[0, samplable] / temperature)
        np.testing.assert_allclose(got[samplable], want / want.sum(), rtol=1e-5)
        assert got[list(NEVER_SAMPLED)].max() == 0.0


@pytest.mark.parametrize(
    "sampling",
    [
        Sampling(),
        Sampling(temperature=0),
        Sampling(top_k=3),
        Sampling(top_p=0.9),
        Sampling(temperature=0.5, top_k=4, top_p=0.8),
    ],
    ids=repr,
)
def test_reserved_ids_are_never_sampled(sampling):
    vocab = 12
    logits = np.zeros((400, vocab), "float32")
    logits[:, list(NEVER_SAMPLED)] = 20.0  # the model "prefers" them
    ids = np.asarray(sample_logits(logits, sampling, tf.constant([3, 4])))
    assert ids.shape == (400,)
    assert not np.isin(ids, NEVER_SAMPLED).any()
    assert ((ids >= 0) & (ids < vocab)).all()
    # Every samplable id is reachable (they are tied), unless filtered away.
    if sampling == Sampling():
        assert set(ids) == set(_samplable(vocab))


def test_eos_is_drawn_only_when_allowed():
    logits = np.zeros((200, 12), "float32")
    logits[:, EOS_ID] = 20.0
    key = tf.constant([3, 4])
    assert (np.asarray(sample_logits(logits, Sampling(), key)) == EOS_ID).all()
    text_only = np.asarray(sample_logits(logits, Sampling(eos=False), key))
    assert not np.isin(text_only, [*NEVER_SAMPLED, EOS_ID]).any()


@pytest.mark.parametrize(
    ("sampling", "fill"),
    [
        pytest.param(
            sampling,
            fill,
            id=f"{sampling!r}-{name}",
        )
        for sampling in (
            Sampling(),
            Sampling(top_k=2),
            Sampling(top_p=0.5),
            Sampling(temperature=0.1),
        )
        for name, fill in (("-inf", -np.inf), ("min", NEG), ("zeros", 0.0))
    ],
)
def test_no_nan_when_everything_is_filtered(sampling, fill):
    logits = np.full((3, 10), fill, "float32")
    filtered = np.asarray(filter_logits(logits, sampling))
    assert not np.isnan(filtered).any()
    assert not np.isnan(np.asarray(tf.nn.softmax(filtered))).any()
    ids = np.asarray(sample_logits(logits, sampling, tf.constant([1, 2])))
    assert ((ids >= 0) & (ids < 10)).all()


def test_tiny_temperature_is_greedy_and_in_range():
    logits = np.tile(np.arange(10, dtype="float32"), (4, 1))
    ids = np.asarray(
        sample_logits(logits, Sampling(temperature=1e-38), tf.constant([1, 2]))
    )
    np.testing.assert_array_equal(ids, np.full(4, 9))


@pytest.mark.parametrize(
    "kwargs", [{"temperature": -1.0}, {"top_k": 0}, {"top_p": 0.0}, {"top_p": 1.5}]
)
def test_bad_sampling_settings_raise(kwargs):
    with pytest.raises(ZooError):
        Sampling(**kwargs)
