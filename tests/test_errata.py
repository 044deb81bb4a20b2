"""Tests for zoo.errata: every correction of the texts' prose and formulas is
demonstrated on zoo's own models, and every quote is verbatim.

One test per erratum (named by the erratum's `shown_by`) shows what is true on
a tiny zoo model and fails if the correction were wrong about it; the others
check the registry itself. Sizes are tiny (two CPU cores).
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo import errata
from zoo.errors import ZooError
from zoo.generation import generate_ids
from zoo.layers.transformer import TransformerEncoderBlock
from zoo.models.gpt import build_gpt_preset
from zoo.models.ngram import NGramLM
from zoo.representations import DocumentVectorizer, cosine_similarity
from zoo.text import BOS_ID, FIRST_REAL_ID, MASK_ID, PAD_ID, CharTokenizer

ENTRIES = list(errata.ERRATA.values())


def _logsumexp(x, axis=-1):
    top = x.max(axis=axis, keepdims=True)
    return (top + np.log(np.exp(x - top).sum(axis=axis, keepdims=True))).squeeze(axis)


# --- 000-2: generative models model p(x), not the similarity of two sentences


def test_000_2_a_generative_model_gives_p_of_x():
    text = "abba abab bab aab baa"
    tok = CharTokenizer.fit(text)
    lm = NGramLM(order=2).fit(tok.encode(text), vocab_size=tok.vocab_size)
    # Every id the model can emit (all but PAD, BOS and MASK).
    ids = [i for i in range(tok.vocab_size) if i not in (PAD_ID, BOS_ID, MASK_ID)]

    # p(x) is a distribution over sentences: over all sentences of 3 tokens
    # the probabilities sum to one.
    total = sum(
        np.exp(lm.log_prob(np.array(x))[0]) for x in itertools.product(ids, repeat=3)
    )
    assert total == pytest.approx(1.0, abs=1e-9)

    # The chain rule: log p(x) = sum_t log p(x_t | x_<t), one sentence alone.
    x = tok.encode("bab")
    chain = sum(np.log(lm.next_token_probs(x[:t])[x[t]]) for t in range(len(x)))
    assert lm.log_prob(x)[0] == pytest.approx(chain, abs=1e-12)

    # p(y | x), the discriminative quantity, from generative p(x | y) p(y):
    # Bayes' rule turns two class-conditional models into a classifier.
    classes = {"a": "aab aaba aaab", "b": "bba bbab babb"}
    by_class = {
        y: NGramLM(order=2).fit(tok.encode(t), vocab_size=tok.vocab_size)
        for y, t in classes.items()
    }
    x = tok.encode("aaab")
    log_joint = np.array([m.log_prob(x)[0] + np.log(0.5) for m in by_class.values()])
    posterior = np.exp(log_joint - _logsumexp(log_joint))
    assert posterior.sum() == pytest.approx(1.0)
    assert posterior[0] > 0.9  # "aaab" is class a's

    # Similarity is a score of a pair: two sentences with the same characters
    # in another order have cosine 1, while the model tells them apart.
    first, second = "ab ab", "ba ba"
    vectorizer = DocumentVectorizer(
        output_mode="count", split="character", standardize=None
    ).fit([first, second])
    vectors = vectorizer.transform([first, second])
    assert cosine_similarity(vectors[0], vectors[1])[0, 0] == pytest.approx(1.0)
    log_p = [lm.log_prob(tok.encode(s))[0] for s in (first, second)]
    assert abs(log_p[0] - log_p[1]) > 0.1


# --- 000-3.1: the RNN state is tanh(W x_t + U h_{t-1} + b), no sum of outputs


def test_000_3_1_the_rnn_state_is_tanh_of_input_and_state(keras_seed):
    vocab, units = 10, 6
    model = zoo.build_simple_rnn(
        vocab, embedding_dim=4, units=units, from_equations=True, compile=False
    )
    rnn = model.get_layer("simple_rnn_1")
    cell = rnn.cell
    rng = np.random.default_rng(0)
    cell.b.assign(rng.normal(size=units).astype("float32"))  # b is zeros at init
    states = keras.Model(model.inputs[0], rnn.output)  # (B, T, units)

    ids = rng.integers(FIRST_REAL_ID, vocab, size=(2, 7)).astype("int32")  # (B, T)
    E = model.get_layer("embedding").embeddings.numpy()
    W, U, b = cell.W.numpy(), cell.U.numpy(), cell.b.numpy()

    def equations(ids):
        h, out = np.zeros((ids.shape[0], units)), []
        for t in range(ids.shape[1]):
            h = np.tanh(E[ids[:, t]] @ W + h @ U + b)  # h_t
            out.append(h)
        return np.stack(out, axis=1)

    h = np.asarray(states(ids))
    np.testing.assert_allclose(h, equations(ids), atol=1e-5)
    assert np.abs(h).max() < 1.0  # tanh keeps the state bounded
    # The output is read from the state: o_t = V h_t + c, the logits.
    dense = model.get_layer("logits")
    V, c = (w.numpy() for w in dense.weights)
    np.testing.assert_allclose(np.asarray(model(ids)), h @ V + c, atol=1e-5)

    # The text's state, "this step's output added to the previous one's": a
    # running sum of per-step outputs tanh(W x_t + b). Not what an RNN computes,
    # and blind to word order, which the real state is not.
    def added(ids):
        return np.cumsum(np.tanh(E[ids] @ W + b), axis=1)

    assert np.abs(h - added(ids)).max() > 0.1
    reordered = ids[:, ::-1]
    np.testing.assert_allclose(added(reordered)[:, -1], added(ids)[:, -1], atol=1e-6)
    final = np.asarray(states(reordered))[:, -1]
    assert np.abs(final - h[:, -1]).max() > 1e-3  # float noise is ~1e-7


# --- 001-2: beam search is a decoding algorithm over one network's outputs


def test_001_2_beam_search_is_a_search_over_one_network(keras_seed):
    vocab, new = 9, 3
    real = np.arange(FIRST_REAL_ID, vocab)  # what decoding may emit: 4 tokens
    model = zoo.build_simple_rnn(vocab, embedding_dim=8, units=16, compile=False)
    weights = [w.copy() for w in model.get_weights()]
    prompts = np.array(list(itertools.product(real, repeat=2)), np.int32)  # (16, 2)
    start = prompts.shape[1]

    greedy = generate_ids(model, prompts, max_new_tokens=new, temperature=0.0)
    width_1 = generate_ids(model, prompts, max_new_tokens=new, beam_width=1)
    # len(real) ** (new - 1) beams keep every prefix: an exact search.
    exact = generate_ids(
        model, prompts, max_new_tokens=new, beam_width=len(real) ** (new - 1)
    )

    def log_prob(seqs):
        """Summed log p of the new tokens, from one forward pass of the model."""
        logits = np.asarray(model(seqs))[:, start - 1 : -1][..., real]  # (B, N, 4)
        logp = logits - _logsumexp(logits)[..., None]
        picked = np.searchsorted(real, seqs[:, start:])[..., None]
        return np.take_along_axis(logp, picked, axis=-1)[..., 0].sum(-1)

    every = np.array(list(itertools.product(real, repeat=new)), np.int32)  # (64, 3)
    best = np.array(
        [
            log_prob(np.hstack([np.repeat([p], len(every), 0), every])).max()
            for p in prompts
        ]
    )

    np.testing.assert_array_equal(width_1, greedy)  # width 1 is greedy decoding
    np.testing.assert_allclose(log_prob(exact), best, atol=1e-5)
    assert (log_prob(exact) >= log_prob(greedy) - 1e-6).all()
    assert (log_prob(exact) > log_prob(greedy) + 1e-4).any()  # greedy misses some
    # Decoding read the network and changed nothing in it.
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


# --- 001-3: residual connections carry the gradient; no activation after norm


def _sublayers(block):
    """(LayerNorm, sub-layer) pairs of a zoo encoder block, in order."""
    return [
        (block.self_attention_norm, lambda y: block.self_attention(y, y)),
        (
            block.feed_forward_norm,
            lambda y: block.feed_forward_output(block.feed_forward_inner(y)),
        ),
    ]


def _check_no_activation_after_the_norm():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 8)).astype("float32")  # (B, T, C)

    post = TransformerEncoderBlock(num_heads=2, ff_dim=16)  # the paper's layout
    y = np.asarray(post(x))
    # sub-layer -> (dropout) -> add -> LayerNorm, and nothing after it:
    by_hand = x
    for norm, sublayer in _sublayers(post):
        by_hand = norm(by_hand + sublayer(by_hand))
    np.testing.assert_allclose(y, np.asarray(by_hand), atol=1e-5)
    # LayerNorm's output (gain 1, bias 0 at init): mean 0, variance 1 per
    # position, about half of it negative; a ReLU after it would leave none.
    np.testing.assert_allclose(y.mean(-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.var(-1), 1.0, rtol=1e-3)
    assert 0.25 < (y < 0).mean() < 0.75

    pre = TransformerEncoderBlock(num_heads=2, ff_dim=16, norm_first=True)  # GPT-2
    y = np.asarray(pre(x))
    by_hand = x
    for norm, sublayer in _sublayers(pre):
        by_hand = by_hand + sublayer(norm(by_hand))  # LayerNorm -> sub-layer -> add
    np.testing.assert_allclose(y, np.asarray(by_hand), atol=1e-5)


def _stack(blocks, x, *, residual=True, norm=True, cut=False):
    """Run pre-norm blocks with or without their residual connections and
    LayerNorms (the same weights either way), for the loss sum(output * r).

    With `cut`, no gradient flows through the sub-layers (only through the
    residual path). Returns the output, r, the gradient at the input, and the
    norm of the first block's sub-layer weight gradient over the last one's.
    """
    x = tf.constant(x)
    r = tf.constant(np.random.default_rng(1).normal(size=x.shape), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x
        for block in blocks:
            if residual and norm and not cut:
                y = block(y)  # zoo's block itself
                continue
            for layer_norm, sublayer in _sublayers(block):
                z = sublayer(layer_norm(y) if norm else y)
                z = tf.stop_gradient(z) if cut else z
                y = y + z if residual else z
        loss = tf.reduce_sum(y * r)

    def sublayer_weights(block):
        return [
            *block.self_attention.trainable_weights,
            *block.feed_forward_inner.trainable_weights,
            *block.feed_forward_output.trainable_weights,
        ]

    grad_x, first, last = tape.gradient(
        loss, [x, sublayer_weights(blocks[0]), sublayer_weights(blocks[-1])]
    )
    ratio = None
    if not cut:
        ratio = float(tf.linalg.global_norm(first) / tf.linalg.global_norm(last))
    return y.numpy(), r.numpy(), grad_x.numpy(), ratio


def _check_the_residual_path_carries_the_gradient(depth=48):
    blocks = [
        TransformerEncoderBlock(num_heads=2, ff_dim=32, norm_first=True)
        for _ in range(depth)
    ]
    x = np.random.default_rng(0).normal(size=(2, 6, 16)).astype("float32")
    for block in blocks:
        block.build(x.shape)

    # The residual path alone: with the sub-layers cut out of the gradient,
    # y = x + (constants), so the output's gradient r reaches the input whole.
    _, r, grad_x, _ = _stack(blocks, x, cut=True)
    np.testing.assert_array_equal(grad_x, r)

    y, _, grad_x, with_residuals = _stack(blocks, x)
    _, _, _, norm_only = _stack(blocks, x, residual=False)
    y_res, _, grad_x_res, _ = _stack(blocks, x, norm=False)
    # With residual connections the first block gets as much gradient as the
    # last; remove them, keep every LayerNorm, and it vanishes on the way down.
    assert with_residuals > 0.5
    assert norm_only < 0.1 * min(with_residuals, 1.0)
    # Residual connections without LayerNorm still carry the gradient (more
    # than enough), but the activations grow with depth: the norm's job is
    # their scale.
    assert np.linalg.norm(grad_x_res) > np.linalg.norm(grad_x)
    assert y_res.std() > 10 * y.std()


def test_001_3_residuals_carry_the_gradient_no_activation(keras_seed):
    _check_no_activation_after_the_norm()
    _check_the_residual_path_carries_the_gradient()


# --- 003-4: Z depends on the whole context, h_t is the state at position t


def test_003_4_the_normaliser_depends_on_the_whole_context(keras_seed):
    vocab, t = 12, 5
    model = build_gpt_preset(vocab, preset="tiny", compile=False)
    hidden = keras.Model(model.input, model.get_layer("final_norm").output)
    W_E = model.get_layer("embedding").token_embedding.embeddings.numpy()  # (V, C)
    ids = np.array([[5, 6, 7, 8, 9, 10, 11, 5]], np.int32)  # (1, T)

    def h_and_z(ids):
        h = np.asarray(hidden(ids))[0]  # (T, C)
        return h, _logsumexp(np.asarray(model(ids))[0])  # (T,)

    h, z = h_and_z(ids)
    # s(w, h_t) = w^T h_t: the logits are h_t W_E^T, so Z is a sum over the
    # vocabulary, Z(h_t) = sum_w exp(w^T h_t), a function of h_t.
    np.testing.assert_allclose(np.asarray(model(ids))[0], h @ W_E.T, atol=1e-5)
    np.testing.assert_allclose(z, _logsumexp(h @ W_E.T), atol=1e-5)

    # An earlier token changes, w_t stays: h_t and Z move (Z is not Z(w_t)).
    earlier = ids.copy()
    earlier[0, 2] = 9
    h_e, z_e = h_and_z(earlier)
    assert earlier[0, t] == ids[0, t]
    assert np.abs(h_e[t] - h[t]).max() > 1e-3
    assert abs(z_e[t] - z[t]) > 1e-5
    # w_t itself changes: h_t moves (the state at t includes w_t).
    current = ids.copy()
    current[0, t] = 6
    assert np.abs(h_and_z(current)[0][t] - h[t]).max() > 1e-3
    # Later tokens change: h_t and Z stay (the state at t is the context up to t).
    later = ids.copy()
    later[0, t + 1 :] = 7
    h_l, z_l = h_and_z(later)
    np.testing.assert_allclose(h_l[: t + 1], h[: t + 1], atol=1e-6)
    np.testing.assert_allclose(z_l[: t + 1], z[: t + 1], atol=1e-6)


# --- the registry


def _document(seeds_dir, number):
    paths = sorted(seeds_dir.glob(f"{number}_*.txt"))
    assert len(paths) == 1, paths
    return paths[0].read_text(encoding="utf-8")


def _heading_before(text, position):
    """The last markdown heading before `position`, outside code fences."""
    heading, fenced, offset = None, False, 0
    for line in text.splitlines(keepends=True):
        if offset >= position:
            break
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            heading = line.lstrip("#").strip()
        offset += len(line)
    return heading


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_quote_is_verbatim_under_its_section(entry, seeds_dir):
    text = _document(seeds_dir, entry.document)
    assert entry.quote in text, f"erratum {entry.id}: quote not verbatim"
    assert _heading_before(text, text.index(entry.quote)) == entry.section


def test_ids_are_unique_and_start_with_their_document():
    assert list(errata.ERRATA) == [e.id for e in ENTRIES]
    assert all(e.id.startswith(e.document + "-") for e in ENTRIES)
    with pytest.raises(ZooError, match="used twice"):
        errata._registry([ENTRIES[0], ENTRIES[0]])
    with pytest.raises(ZooError, match="must start with its document"):
        errata._registry([errata.Erratum(**{**vars(ENTRIES[0]), "id": "002-2"})])


def test_every_shown_by_is_a_test_of_this_file():
    names = {
        node.name
        for node in ast.walk(ast.parse(Path(__file__).read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef)
    }
    for entry in ENTRIES:
        path, _, name = entry.shown_by.partition("::")
        assert path == "tests/test_errata.py" and name in names, entry.shown_by


def test_get_and_for_document():
    assert errata.get("001-3").document == "001"
    with pytest.raises(ZooError, match="no erratum '9-9'; known: 000-2, 000-3.1"):
        errata.get("9-9")
    assert [e.id for e in errata.for_document("001")] == ["001-2", "001-3"]
    assert errata.for_document(3) == errata.for_document("003")
    assert errata.for_document("004") == []
    with pytest.raises(ZooError, match="no source document '005'"):
        errata.for_document("005")


def test_show_prints_quote_claim_and_correction(capsys):
    errata.show("003-4")
    out = capsys.readouterr().out
    entry = errata.get("003-4")
    assert out.startswith("003-4: document 003, 4. 数学模型和公式详细讲解举例说明\n")
    for line in entry.quote.splitlines():
        assert line in out
    flat = " ".join(out.split())
    assert " ".join(entry.correction.split()) in flat
    assert " ".join(entry.claim.split()) in flat
    assert entry.shown_by in out
    errata.show(errata.get("000-2"))
    assert "判断两个句子是否相似" in capsys.readouterr().out
    with pytest.raises(ZooError, match="takes an erratum id"):
        errata.show(3)
