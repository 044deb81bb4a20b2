"""The benchmarks' references compute what zoo computes.

``benchmarks/torch_reference.py`` rewrites zoo's recurrent models and its GPT
in PyTorch, and ``benchmarks/ngram_vs_nltk.py`` fits zoo's Kneser-Ney model
and nltk's on the same n-grams. A speed comparison means something only if
the two sides are the same model, so these tests check exactly that:
parameter counts, logits with copied weights, cached decoding, and equal
perplexities. No timing is asserted, only that the timers return numbers.

PyTorch is a benchmark-only dependency: its tests are skipped without it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

V = 20  # 5 reserved ids + 15 tokens
SMALL = {  # every family shrunk; GPT context 16 < the 20 tokens generated below
    "embedding_dim": 16,
    "units": 32,
    "width": 32,
    "num_heads": 2,
    "num_layers": 2,
    "context": 16,
}
FAMILIES = ("simple_rnn", "lstm", "gru", "gpt")


@pytest.fixture(scope="module")
def ref():
    """benchmarks.torch_reference, or a skip where PyTorch is not installed."""
    pytest.importorskip("torch")
    from benchmarks import torch_reference

    return torch_reference


def _batch(rng, batch=3, length=12):
    x = rng.integers(0, V, size=(batch, length))
    return x, np.roll(x, -1, axis=1)  # (B, T) inputs and next-token targets


def test_parameter_counts_equal_zoo(ref):
    counts = ref.check_param_counts(V, **SMALL)
    assert set(counts) == set(FAMILIES)
    for family, c in counts.items():
        assert c["torch"] == c["zoo"] > 0, family
    # Keras's GRU (reset_after=True) has two biases, as PyTorch's does; its
    # SimpleRNN and LSTM have one, so the reference freezes bias_hh.
    E, U = SMALL["embedding_dim"], SMALL["units"]  # two layers: inputs E, then U
    ends = V * E + U * V + V  # embedding and output layer
    assert counts["gru"]["zoo"] == ends + 3 * U * (E + U + 2) + 3 * U * (2 * U + 2)
    assert counts["lstm"]["zoo"] == ends + 4 * U * (E + U + 1) + 4 * U * (2 * U + 1)


@pytest.mark.parametrize("family", FAMILIES)
def test_same_logits_as_zoo_with_copied_weights(ref, family):
    """The reference is the same architecture: copied weights, same logits."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    model = ref.zoo_model(family, V, **SMALL)
    # Random weights everywhere (biases and LayerNorms included), so that a
    # weight copied to the wrong place cannot go unnoticed.
    model.set_weights(
        [rng.normal(0, 0.3, w.shape).astype("float32") for w in model.get_weights()]
    )
    module = ref.copy_keras_weights(ref.build(family, V, **SMALL), model).eval()
    x, _ = _batch(rng, length=SMALL["context"])
    expected = np.asarray(model(x.astype("int32")))  # (B, T, V)
    with torch.no_grad():
        logits, _ = module(torch.from_numpy(x))
    assert expected.std() > 0.1  # logits that say something
    np.testing.assert_allclose(logits.numpy(), expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("family", FAMILIES)
def test_cached_decoding_equals_full_forward(ref, family):
    """One token at a time with a state or a key/value cache, the logits are
    those of one pass over the whole sequence."""
    torch = pytest.importorskip("torch")
    module = ref.build(family, V, seed=1, **SMALL).eval()
    x = torch.from_numpy(_batch(np.random.default_rng(1), length=10)[0])
    with torch.no_grad():
        full, _ = module(x)  # (B, T, V)
        prompt = 4  # read in one call, then one token per call
        if family == "gpt":
            cache = module.new_cache(x.shape[0])
            steps = [module(x[:, :prompt], cache, 0)[0]]
            steps += [module(x[:, t : t + 1], cache, t)[0] for t in range(prompt, 10)]
        else:
            out, state = module(x[:, :prompt])
            steps = [out]
            for t in range(prompt, 10):
                out, state = module(x[:, t : t + 1], state)
                steps.append(out)
    np.testing.assert_allclose(torch.cat(steps, 1).numpy(), full.numpy(), atol=1e-5)


def test_sliding_window_generates_every_token(ref):
    torch = pytest.importorskip("torch")
    module = ref.build("gpt", V, **SMALL).eval()
    prompt = torch.full((2, 4), 7)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        out = ref._generate_gpt(module, prompt, 40, generator)  # 40 > context 16
    assert out.shape == (2, 4 + 40)
    assert (out[:, :4] == 7).all()


@pytest.mark.parametrize("family", FAMILIES)
def test_timers_return_positive_numbers(ref, family):
    x, y = _batch(np.random.default_rng(2), batch=2, length=8)
    train = ref.train_throughput(family, V, x, y, warmup=1, repeats=2, **SMALL)
    assert len(train["step_seconds"]) == 2
    for key in ("median_step_s", "tokens_per_s", "first_step_s"):
        assert math.isfinite(train[key]) and train[key] > 0, key
    for timer in (ref.generate_throughput, ref.naive_generate_throughput):
        gen = timer(family, V, batch=2, new_tokens=20, prompt_len=4, **SMALL)
        assert gen["seconds"] > 0 and math.isfinite(gen["tokens_per_s"])
        assert gen["tokens_per_s"] == pytest.approx(2 * 20 / gen["seconds"])


def test_train_to_loss_stops_at_target_or_time(ref):
    rng = np.random.default_rng(3)
    batches = [_batch(rng, batch=2, length=8) for _ in range(3)]  # cycled
    valid = [_batch(rng, batch=2, length=8)]
    easy = ref.train_to_loss(
        "gru", V, batches, valid, target_loss=100.0, max_seconds=60, eval_every=2
    )
    assert easy["reached"] and easy["steps"] == 2
    assert easy["curve"] == [(easy["seconds"], 2, easy["val_loss"])]
    assert 0 < easy["val_loss"] < 100
    hard = ref.train_to_loss(
        "gru", V, iter(batches), valid, target_loss=0.0, max_seconds=60
    )  # an iterator: stops when it ends, after 3 steps, and is evaluated then
    assert not hard["reached"] and hard["steps"] == 3
    assert hard["curve"][-1][1] == 3 and math.isfinite(hard["val_loss"])


def test_ngram_perplexity_equals_nltk():
    pytest.importorskip("nltk.lm")
    from benchmarks.ngram_vs_nltk import run

    # The test split's first 300 characters all occur in the first 50,000 of
    # the training split, so both perplexities are finite.
    result = run(split="test", max_tokens=50_000, eval_tokens=300, whole_split=False)
    assert result["tokens_eval"] == 300 and result["order"] == 5
    zoo, nltk = result["zoo"]["perplexity"], result["nltk"]["perplexity"]
    assert math.isfinite(zoo) and 1 < zoo < 83  # 83 characters to guess from
    assert zoo == pytest.approx(nltk, rel=1e-6)
    for side in ("zoo", "nltk"):
        assert result[side]["fit_s"] > 0 and result[side]["eval_s"] > 0
