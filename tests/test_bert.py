"""Tests for zoo.models.bert: a bidirectional encoder trained as a masked LM.

Also BERT's data (`zoo.data.pipeline.mask_tokens`, `make_mlm_dataset`) and
its use (`zoo.generation.fill_mask`). The one XLA compilation of the file is
`zoo.recipes.train_masked_lm` on a repetitive text; the rest runs eagerly on
tiny models, or on NumPy.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from helpers import VOCAB, logits_of, run_python, token_ids

from zoo import listings
from zoo.data.corpora import Corpus
from zoo.data.pipeline import make_mlm_dataset, mask_tokens
from zoo.errors import ZooError
from zoo.generation import encode_masked, fill_mask
from zoo.models.bert import build_bert_mlm, is_masked_lm
from zoo.recipes import quiet, train_masked_lm
from zoo.text import FIRST_REAL_ID, MASK_ID, MASK_TOKEN, PAD_ID, CharTokenizer

TINY = {"context_length": 16, "embedding_dim": 16, "num_heads": 2, "ff_dim": 32}


@pytest.fixture(scope="module")
def bert():
    """An uncompiled tiny BERT without dropout (eager checks only)."""
    keras.utils.set_random_seed(5)
    return build_bert_mlm(VOCAB, **TINY, dropout=0.0, compile=False)


@pytest.fixture(scope="module")
def tokenizer():
    return CharTokenizer.fit("abcdefghijklmnopqrs")  # a=5, b=6, ..., s=23


@pytest.fixture(scope="module")
def trained(tokenizer):
    """train_masked_lm on a text that repeats every 10 characters."""
    text = "abcdefghij" * 200 + "\n"
    corpus = Corpus("abc", train=text * 2, valid=text, test=text)
    run = train_masked_lm(
        corpus,
        tokenizer=tokenizer,
        seq_len=16,
        batch_size=16,
        epochs=4,
        steps_per_epoch=150,
        learning_rate=5e-3,
        verbose=0,
        # Tried with seeds 0-3: all reach val perplexity < 1.2 (10 s).
        embedding_dim=32,
        num_heads=2,
        num_layers=1,
        ff_dim=64,
        dropout=0.0,
        log=quiet,
    )
    return run.model, run.tokenizer, run.history


def _controlled_model(answer: int, runner_up: int, *, bait=False, vocab_size=VOCAB):
    """Logits we choose: a real token predicts itself; MASK predicts `answer`.

    An Embedding(V, V) whose rows are the logits: position t's logits depend
    only on the token at t, so the right answer is known for every position.
    """
    table = 10.0 * np.eye(vocab_size, dtype="float32")
    table[MASK_ID] = 0.0
    table[MASK_ID, answer] = 10.0
    table[MASK_ID, runner_up] = 8.0
    if bait:
        table[MASK_ID, PAD_ID] = 50.0  # a reserved id: must never be proposed
    return keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(
                vocab_size,
                vocab_size,
                embeddings_initializer=keras.initializers.Constant(table),
            ),
        ]
    )


# --- the model ---------------------------------------------------------------
# Output shape and the config round trip are checked by tests/test_battery.py.


def test_bidirectional_a_later_token_changes_earlier_outputs(bert):
    ids = token_ids((2, 10))
    changed = ids.copy()
    changed[:, 7] = 5 + (ids[:, 7] - 5 + 3) % (VOCAB - 5)
    base, moved = logits_of(bert, ids), logits_of(bert, changed)
    # Correct for an encoder (and what a causal model must never do).
    # Small at initialisation (the weights are small), but far above float noise:
    # the same ids give bit-identical logits.
    assert np.abs(moved[:, :7] - base[:, :7]).max() > 1e-6
    assert np.array_equal(logits_of(bert, ids), base)


def test_padding_is_never_attended(bert):
    ids = token_ids((2, 6))
    padded = np.concatenate([ids, np.full((2, 5), PAD_ID, np.int32)], axis=1)
    np.testing.assert_allclose(
        logits_of(bert, padded)[:, :6], logits_of(bert, ids), rtol=0, atol=1e-5
    )
    # A short row padded beside a long row reads the same as alone.
    batch = np.stack([padded[0], token_ids((11,), seed=3)])
    np.testing.assert_allclose(
        logits_of(bert, batch)[0, :6], logits_of(bert, ids[:1])[0], atol=1e-5
    )


def test_output_is_tied_to_the_embedding(bert):
    table = bert.get_layer("embedding").token_embedding.embeddings
    shapes = [tuple(w.shape) for w in bert.weights]
    assert shapes.count(tuple(table.shape)) == 1
    assert (TINY["embedding_dim"], VOCAB) not in shapes
    assert (VOCAB,) in shapes  # the output bias, BERT's only output weight


def test_input_longer_than_max_length_is_refused(bert):
    with pytest.raises(ZooError, match="max_length=16"):
        logits_of(bert, token_ids((1, 17)))


def test_bad_arguments_raise():
    with pytest.raises(ZooError, match="divisible"):
        build_bert_mlm(VOCAB, embedding_dim=10, num_heads=4, compile=False)
    with pytest.raises(ZooError, match="reserved"):
        build_bert_mlm(FIRST_REAL_ID, compile=False)


def test_is_masked_lm_by_structure_not_by_name(bert):
    from zoo.models.gpt import build_gpt

    assert is_masked_lm(bert)
    renamed = keras.Model.from_config({**bert.get_config(), "name": "my_model"})
    assert is_masked_lm(renamed)
    gpt = build_gpt(
        VOCAB, context_length=8, embedding_dim=8, num_heads=2, num_layers=1,
        ff_dim=8, compile=False,
    )  # fmt: skip
    assert not is_masked_lm(gpt)
    assert not is_masked_lm(object())


# --- masking -----------------------------------------------------------------


def test_mask_tokens_80_10_10_on_a_large_sample():
    vocab_size = 1005  # random replacements rarely equal the original
    rng = np.random.default_rng(0)
    ids = rng.integers(5, vocab_size, size=(400, 250)).astype(np.int32)
    ids[:, 200:] = PAD_ID  # padding at the end of every row
    ids[rng.random(ids.shape) < 0.05] = 1  # some <unk>: reserved as well
    inputs, targets = mask_tokens(ids, vocab_size=vocab_size, seed=0)
    assert inputs.shape == targets.shape == ids.shape
    real = ids >= 5
    selected = targets != PAD_ID
    # PAD and reserved positions are never selected, and stay as they were.
    assert not selected[~real].any()
    np.testing.assert_array_equal(inputs[~real], ids[~real])
    # 15% of the real tokens, their targets the original tokens.
    assert abs(selected[real].mean() - 0.15) < 0.005
    np.testing.assert_array_equal(targets[selected], ids[selected])
    chosen_in, chosen_id = inputs[selected], ids[selected]
    masked = chosen_in == MASK_ID
    randomised = ~masked & (chosen_in != chosen_id)
    kept = chosen_in == chosen_id
    assert abs(masked.mean() - 0.8) < 0.01
    assert abs(randomised.mean() - 0.1) < 0.01
    assert abs(kept.mean() - 0.1) < 0.01
    assert (chosen_in[randomised] >= 5).all()  # random tokens are real tokens
    # Unselected tokens are untouched.
    np.testing.assert_array_equal(inputs[~selected], ids[~selected])


def test_mask_tokens_is_seeded():
    ids = token_ids((4, 50))
    a = mask_tokens(ids, vocab_size=VOCAB, seed=1)
    b = mask_tokens(ids, vocab_size=VOCAB, seed=1)
    c = mask_tokens(ids, vocab_size=VOCAB, seed=2)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[1], c[1])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate": 0.0},
        {"rate": 1.0},
        {"mask_fraction": 0.9, "random_fraction": 0.2},
        {"random_fraction": -0.1},
        {"vocab_size": 5},
    ],
)
def test_mask_tokens_refuses_bad_settings(kwargs):
    with pytest.raises(ZooError):
        mask_tokens(token_ids(), **{"vocab_size": VOCAB, **kwargs})


def test_mlm_dataset_draws_fresh_masks_each_epoch():
    ids = np.tile(np.arange(5, 21, dtype=np.int32), 40)  # every window the same
    ds = make_mlm_dataset(ids, seq_len=16, batch_size=4, vocab_size=VOCAB, seed=3)
    first = [(x.numpy(), y.numpy()) for x, y in ds]
    second = [(x.numpy(), y.numpy()) for x, y in ds]
    x, y = first[0]
    assert x.shape == y.shape == (4, 16) and x.dtype == np.int32
    window = np.arange(5, 21)
    for x, y in first:
        selected = y != PAD_ID
        np.testing.assert_array_equal(
            y[selected], np.broadcast_to(window, y.shape)[selected]
        )
        np.testing.assert_array_equal(
            x[~selected], np.broadcast_to(window, x.shape)[~selected]
        )
    pairs = zip(first, second, strict=True)
    assert not all(np.array_equal(a[1], b[1]) for a, b in pairs)
    # The same seed gives the same sequence of masks.
    again = make_mlm_dataset(ids, seq_len=16, batch_size=4, vocab_size=VOCAB, seed=3)
    np.testing.assert_array_equal(next(iter(again))[1], first[0][1])


def test_mlm_validation_masks_are_fixed():
    ids = np.tile(np.arange(5, 21, dtype=np.int32), 10)
    ds = make_mlm_dataset(
        ids, seq_len=16, batch_size=4, vocab_size=VOCAB, seed=3, training=False
    )
    first = [y.numpy() for _, y in ds]
    second = [y.numpy() for _, y in ds]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


# --- fill_mask ---------------------------------------------------------------


def test_encode_masked(tokenizer):
    ids, positions = encode_masked(tokenizer, f"ab{MASK_TOKEN}d{MASK_TOKEN}")
    assert ids.tolist() == [5, 6, MASK_ID, 8, MASK_ID]
    assert positions.tolist() == [2, 4]
    with pytest.raises(ZooError, match=r"\[MASK\]"):
        encode_masked(tokenizer, "no hole here")


def test_fill_mask_reads_the_mask_position(tokenizer):
    q, r = tokenizer.token_to_id("q"), tokenizer.token_to_id("r")
    model = _controlled_model(answer=q, runner_up=r)
    text = "abc[MASK]efg"
    (candidates,) = fill_mask(model, tokenizer, text, top_k=3)
    assert [token for token, _ in candidates[:2]] == ["q", "r"]
    # Probabilities: the softmax over the real tokens of the MASK row.
    others = tokenizer.vocab_size - 5 - 2  # real tokens with logit 0
    z = np.exp(10.0) + np.exp(8.0) + others
    assert candidates[0][1] == pytest.approx(np.exp(10.0) / z)
    assert candidates[1][1] == pytest.approx(np.exp(8.0) / z)
    assert candidates[0][1] > candidates[1][1] > candidates[2][1]
    # The listing's way: argmax over every position gives T ids, not one...
    ids, _ = encode_masked(tokenizer, text)
    per_position = np.argmax(logits_of(model, ids[None]), axis=-1)  # (1, T)
    assert per_position.shape == (1, 7)
    with pytest.raises(ValueError):
        per_position.item()  # ...and .item() cannot make one of them
    # ...and the tokens at the other positions are the sentence's own.
    assert tokenizer.decode(per_position[0]) == "abcqefg"


def test_fill_mask_several_masks_and_top_k(tokenizer):
    q, r = tokenizer.token_to_id("q"), tokenizer.token_to_id("r")
    model = _controlled_model(answer=q, runner_up=r, bait=True)
    results = fill_mask(model, tokenizer, "[MASK]a[MASK]", top_k=4)
    assert len(results) == 2 and all(len(c) == 4 for c in results)
    for candidates in results:
        assert candidates[0][0] == "q"
        assert all(token not in ("<pad>", "<mask>") for token, _ in candidates)
    with pytest.raises(ZooError, match="top_k"):
        fill_mask(model, tokenizer, "a[MASK]", top_k=0)


# --- training, saving --------------------------------------------------------


@pytest.mark.slow  # trains 600 XLA steps (the `trained` fixture): about 7 s
def test_train_masked_lm_learns_and_fills_the_gap(trained, tokenizer):
    model, tok, history = trained
    assert tok is tokenizer
    assert model.jit_compile is True
    loss = history["loss"]
    assert np.isfinite(loss).all() and loss[-1] < 0.5 * loss[0], loss
    assert history["val_perplexity"][-1] < 2.0, history["val_perplexity"]
    (candidates,) = fill_mask(model, tokenizer, "abcd[MASK]fghij")
    assert candidates[0][0] == "e" and candidates[0][1] > 0.5, candidates


_LOAD_SCRIPT = """
    import sys

    import numpy as np

    import zoo

    ids, path = np.load(sys.argv[1]), sys.argv[2]
    # What a user does: nothing imported but zoo (zoo.load registers the rest).
    bundle = zoo.load(path, safe_mode=True)
    np.save(path + ".logits.npy", np.asarray(bundle.model(ids, training=False)))
    from zoo.generation import fill_mask

    print(fill_mask(bundle.model, bundle.tokenizer, "abcd[MASK]fghij")[0][0][0])
"""


@pytest.mark.slow
def test_save_and_load_in_a_fresh_process(trained, tokenizer, tmp_path):
    import zoo

    model = trained[0]
    ids = token_ids((2, 9))
    np.save(tmp_path / "ids.npy", ids)
    path = zoo.save(tmp_path / "bert.keras", model, tokenizer)
    out = run_python(_LOAD_SCRIPT, tmp_path / "ids.npy", path).stdout
    got = np.load(f"{path}.logits.npy")
    np.testing.assert_allclose(got, logits_of(model, ids), rtol=1e-5, atol=1e-6)
    assert out.strip().splitlines()[-1] == "e"


# --- listing 001 -------------------------------------------------------------


def test_listing_001_cannot_run_offline_and_points_to_zoo():
    entry = listings.get("001-s5")
    assert entry.framework == "pytorch"
    assert "predicted_index = torch.argmax(predictions, dim=-1).item()" in entry.code
    with pytest.raises(ZooError, match="fill_mask"):
        entry.build_as_written()
    assert any(".item()" in erratum for erratum in entry.errata)
    model = entry.build_zoo(VOCAB, **TINY, compile=False)
    assert logits_of(model, token_ids((1, 5))).shape == (1, 5, VOCAB)
