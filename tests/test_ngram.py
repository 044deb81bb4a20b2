"""Tests for zoo.models.ngram.NGramLM: counts, smoothing, perplexity, saving."""

import collections
import json
import math

import numpy as np
import pytest

from zoo.errors import ZooError
from zoo.models.ngram import NEG_LOGIT, SMOOTHINGS, NGramLM
from zoo.text import (
    BOS_ID,
    EOS_ID,
    MASK_ID,
    PAD_ID,
    UNK_ID,
    CharTokenizer,
    WordTokenizer,
)

# One stream, so the counts are easy to do by hand (WordTokenizer keeps the
# space before a word: "the" opens the text, " the" is every later one).
TEXT = "the cat sat on the mat the dog sat on the log"
RESERVED = [PAD_ID, BOS_ID, MASK_ID]


@pytest.fixture(scope="module")
def tiny():
    tok = WordTokenizer.fit(TEXT)
    ids = tok.encode(TEXT)
    # w["The"] is the first "the" of the text; w["the"] is " the", and so on.
    w = {word.strip(): tok.token_to_id(word) for word in tok.vocabulary[5:]}
    w["The"], w["the"] = tok.token_to_id("the"), tok.token_to_id(" the")
    return tok, ids, w


def random_sentences(rng, vocab_size, count, max_len=8):
    return [
        np.append(rng.integers(5, vocab_size, size=rng.integers(1, max_len)), EOS_ID)
        for _ in range(count)
    ]


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_probabilities_sum_to_one(order, smoothing):
    rng = np.random.default_rng(order)
    V = 15
    lm = NGramLM(order, smoothing=smoothing).fit(
        random_sentences(rng, V, 30), vocab_size=V
    )
    for _ in range(25):
        context = rng.integers(0, V, size=rng.integers(0, 7))
        probs = lm.next_token_probs(context)
        assert probs.shape == (V,) and probs.dtype == np.float64
        assert probs[RESERVED].sum() == 0.0
        assert probs.min() >= 0.0
        np.testing.assert_allclose(probs.sum(), 1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
@pytest.mark.parametrize("order", [1, 2, 4])
def test_log_prob_agrees_with_next_token_probs(order, smoothing):
    """The vectorised scorer and the one-context distribution are one model."""
    rng = np.random.default_rng(10 + order)
    V = 12
    lm = NGramLM(order, smoothing=smoothing).fit(
        random_sentences(rng, V, 25), vocab_size=V
    )
    held_out = random_sentences(rng, V, 4)
    expected = 0.0
    for sentence in held_out:
        for i, token in enumerate(sentence):
            with np.errstate(divide="ignore"):
                expected += np.log(lm.next_token_probs(sentence[:i])[token])
    total, count = lm.log_prob(held_out)
    assert count == sum(len(s) for s in held_out)
    if np.isinf(expected):
        assert total == expected
    else:
        np.testing.assert_allclose(total, expected, rtol=1e-12)


def test_mle_equals_counts(tiny):
    tok, ids, w = tiny
    bigram = NGramLM(2, smoothing="mle").fit(ids, vocab_size=tok.vocab_size)
    trigram = NGramLM(3, smoothing="mle").fit(ids, vocab_size=tok.vocab_size)
    pairs = collections.Counter(zip(ids[:-1].tolist(), ids[1:].tolist(), strict=True))
    assert bigram.count([w["the"], w["mat"]]) == pairs[w["the"], w["mat"]] == 1
    assert bigram.count([w["sat"], w["on"]]) == 2
    assert bigram.count([BOS_ID, w["The"]]) == 1
    assert bigram.count([w["the"]]) == 3
    # " the" is followed by " mat", " dog", " log": one third each.
    probs = bigram.next_token_probs([w["on"], w["the"]])
    for word in ("mat", "dog", "log"):
        assert probs[w[word]] == pytest.approx(1 / 3)
    assert probs[w["cat"]] == 0.0
    assert bigram.next_token_probs([w["sat"]])[w["on"]] == 1.0
    assert bigram.next_token_probs([])[w["The"]] == 1.0  # only BOS -> "the"
    # Trigram: after " on the" come " mat" and " log".
    assert trigram.next_token_probs([w["on"], w["the"]])[w["mat"]] == pytest.approx(
        1 / 2
    )
    # A context never seen uses its longest seen suffix (here " the").
    unseen = trigram.next_token_probs([w["cat"], w["the"]])
    assert unseen[w["dog"]] == pytest.approx(1 / 3)
    unigram = NGramLM(1, smoothing="mle").fit(ids, vocab_size=tok.vocab_size)
    assert unigram.next_token_probs([w["sat"]])[w["the"]] == pytest.approx(3 / 12)


def test_add_k_hand_value(tiny):
    tok, ids, w = tiny
    assert tok.vocab_size == 13  # 5 reserved + 8 words; 10 can be predicted
    laplace = NGramLM(2, smoothing="add_k", k=1.0).fit(ids, vocab_size=13)
    probs = laplace.next_token_probs([w["the"]])
    assert probs[w["mat"]] == pytest.approx((1 + 1) / (3 + 10))
    assert probs[w["cat"]] == pytest.approx((0 + 1) / (3 + 10))
    assert probs[UNK_ID] == pytest.approx(1 / 13)
    half = NGramLM(2, smoothing="add_k", k=0.5).fit(ids, vocab_size=13)
    assert half.next_token_probs([w["the"]])[w["mat"]] == pytest.approx(1.5 / 8)
    # " log" ends the text, so as a context it was never seen: k / (k |V|).
    assert half.next_token_probs([w["log"]])[w["cat"]] == pytest.approx(1 / 10)


def test_kneser_ney_hand_values(tiny):
    """One discount (``kneser_ney_single``), worked by hand for D = 0.75 (see
    the comments for each number).

    Continuation counts N1+(• y): the, mat, dog, log, on, cat: 1; sat, the: 2
    ("The" at the start: 1, after BOS); 10 distinct bigrams, 8 words seen.
    Unigram with the uniform floor over the 10 predictable ids:
    P1(y) = max(N1+(• y) - 0.75, 0) / 10 + 0.75 * 8 / 10 / 10.
    """
    tok, ids, w = tiny
    p1_the = (2 - 0.75) / 10 + 0.06  # 0.185
    p1_mat = (1 - 0.75) / 10 + 0.06  # 0.085

    bigram = NGramLM(2, smoothing="kneser_ney_single", discount=0.75).fit(
        ids, vocab_size=tok.vocab_size
    )
    # Highest order uses counts: c(" on the") = 2, c(" on" •) = 2, one type.
    expected = (2 - 0.75) / 2 + 0.75 * 1 / 2 * p1_the
    assert expected == pytest.approx(0.694375)
    assert bigram.next_token_probs([w["on"]])[w["the"]] == pytest.approx(
        expected, abs=1e-14
    )

    trigram = NGramLM(3, smoothing="kneser_ney_single", discount=0.75).fit(
        ids, vocab_size=tok.vocab_size
    )
    # P(" the" | " sat on"): trigram count 2 of 2; the bigram level uses the
    # continuation count N1+(• " on the") = 1 (only " sat" precedes it), not 2.
    p2 = (1 - 0.75) / 1 + 0.75 * 1 / 1 * p1_the
    expected = (2 - 0.75) / 2 + 0.75 * 1 / 2 * p2
    assert expected == pytest.approx(0.77078125)
    probs = trigram.next_token_probs([w["sat"], w["on"]])
    assert probs[w["the"]] == pytest.approx(expected, abs=1e-14)
    # P(" mat" | " on the"): 1 of 2 trigrams; " the" has 3 continuations.
    p2 = (1 - 0.75) / 3 + 0.75 * 3 / 3 * p1_mat
    expected = (1 - 0.75) / 2 + 0.75 * 2 / 2 * p2
    assert expected == pytest.approx(0.2353125)
    probs = trigram.next_token_probs([w["on"], w["the"]])
    assert probs[w["mat"]] == pytest.approx(expected, abs=1e-14)
    # Never seen in training, yet above zero thanks to the uniform floor.
    assert probs[UNK_ID] > 0 and probs[EOS_ID] > 0


def test_uniform_model_perplexity_is_vocab_size():
    V = 9
    predictable = [i for i in range(V) if i not in RESERVED]
    uniform = NGramLM(1, smoothing="mle").fit(predictable, vocab_size=V)
    rng = np.random.default_rng(0)
    text = rng.choice(predictable, size=50)
    assert uniform.perplexity(text) == pytest.approx(len(predictable))


def test_perplexity_is_token_weighted(tiny):
    tok, ids, w = tiny
    lm = NGramLM(2).fit(ids, vocab_size=tok.vocab_size)
    short = tok.encode("the cat")
    long = tok.encode(" the dog sat on the mat the")
    (lp_short, n_short), (lp_long, n_long) = lm.log_prob(short), lm.log_prob(long)
    assert (n_short, n_long) == (2, 7)
    combined = lm.perplexity([short, long])
    assert combined == pytest.approx(math.exp(-(lp_short + lp_long) / 9))
    per_sequence = (lm.perplexity(short) + lm.perplexity(long)) / 2
    assert abs(combined - per_sequence) > 0.01  # averaging per batch is wrong


def test_padding_is_never_scored(tiny):
    tok, ids, w = tiny
    lm = NGramLM(3).fit(ids, vocab_size=tok.vocab_size)
    sentence = tok.encode("the cat sat")
    padded = np.concatenate([sentence, [PAD_ID] * 4])
    assert lm.log_prob(padded) == lm.log_prob(sentence)
    batch = np.stack([padded, np.concatenate([tok.encode("the dog"), [PAD_ID] * 5])])
    total, count = lm.log_prob(batch)
    assert count == 5
    assert total == pytest.approx(
        lm.log_prob(sentence)[0] + lm.log_prob(batch[1, :2])[0]
    )


def test_mle_perplexity_is_inf_on_unseen_event(tiny):
    tok, ids, w = tiny
    lm = NGramLM(2, smoothing="mle").fit(ids, vocab_size=tok.vocab_size)
    assert np.isfinite(lm.perplexity(tok.encode("the cat sat on the log")))
    total, count = lm.log_prob(tok.encode("the cat sat on the cat"))  # " the cat"
    assert total == -np.inf and count == 6
    assert lm.perplexity(tok.encode("the cat sat on the cat")) == np.inf
    for smoothing in ("add_k", "kneser_ney"):
        smooth = NGramLM(2, smoothing=smoothing).fit(ids, vocab_size=tok.vocab_size)
        assert np.isfinite(smooth.perplexity(tok.encode("the cat sat on the cat")))


def test_next_token_logits_are_finite(tiny):
    tok, ids, w = tiny
    lm = NGramLM(2, smoothing="mle").fit(ids, vocab_size=tok.vocab_size)
    logits = lm.next_token_logits([w["the"]])
    probs = lm.next_token_probs([w["the"]])
    assert logits.dtype == np.float32 and logits.shape == (tok.vocab_size,)
    assert np.isfinite(logits).all()
    assert (logits[probs == 0] == np.float32(NEG_LOGIT)).all()
    np.testing.assert_allclose(logits[probs > 0], np.log(probs[probs > 0]), rtol=1e-6)
    batch = lm.next_token_logits(np.array([[w["sat"], w["on"]], [w["on"], w["the"]]]))
    assert batch.shape == (2, tok.vocab_size)
    np.testing.assert_array_equal(batch[1], logits)


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_save_load_round_trip(tmp_path, smoothing):
    rng = np.random.default_rng(3)
    V = 20
    lm = NGramLM(4, smoothing=smoothing, discount=0.6, k=0.3)
    lm.fit(random_sentences(rng, V, 40), vocab_size=V)
    path = tmp_path / "model.ngram"
    lm.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.ngram"]  # no leftovers
    loaded = NGramLM.load(path)
    assert loaded.get_config() == lm.get_config()
    for _ in range(10):
        context = rng.integers(5, V, size=rng.integers(0, 5))
        np.testing.assert_array_equal(
            loaded.next_token_probs(context), lm.next_token_probs(context)
        )
    held_out = random_sentences(rng, V, 5)
    assert loaded.log_prob(held_out) == lm.log_prob(held_out)


def test_loading_other_files_raises(tmp_path):
    garbage = tmp_path / "garbage.npz"
    garbage.write_text("not a model")
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.zeros(3))
    array = tmp_path / "array.npy"
    np.save(array, np.zeros(3))
    for path in (garbage, other, array):
        with pytest.raises(ZooError, match="not a zoo n-gram"):
            NGramLM.load(path)
    with pytest.raises(ZooError, match="no such"):
        NGramLM.load(tmp_path / "missing.npz")
    with pytest.raises(ZooError, match="not fitted"):
        NGramLM(2).save(tmp_path / "unfitted.npz")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"order": 0}, "order"),
        ({"order": 2.5}, "order"),
        ({"order": True}, "order"),
        ({"smoothing": "laplace"}, "smoothing"),
        ({"discount": 0.0}, "discount"),
        ({"discount": 1.0}, "discount"),
        ({"k": 0.0}, "k must"),
        ({"k": -1}, "k must"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ZooError, match=message):
        NGramLM(**kwargs)


def test_bad_input_raises(tiny):
    tok, ids, w = tiny
    lm = NGramLM(2)
    with pytest.raises(ZooError, match="not fitted"):
        lm.next_token_probs([w["the"]])
    with pytest.raises(ZooError, match="not fitted"):
        lm.perplexity(ids)
    with pytest.raises(ZooError, match=r"\[0, 13\)"):
        lm.fit(np.append(ids, 13), vocab_size=13)
    with pytest.raises(ZooError, match=r"\[0, 13\)"):
        lm.fit(np.append(ids, -1), vocab_size=13)
    with pytest.raises(ZooError, match="integer"):
        lm.fit(ids.astype(float), vocab_size=13)
    with pytest.raises(ZooError, match="MASK"):
        lm.fit(np.append(ids, MASK_ID), vocab_size=13)
    with pytest.raises(ZooError, match="at least one token"):
        lm.fit([PAD_ID, BOS_ID], vocab_size=13)
    lm.fit(ids, vocab_size=13)
    with pytest.raises(ZooError, match=r"\[0, 13\)"):
        lm.next_token_probs([20])
    with pytest.raises(ZooError, match=r"\[0, 13\)"):
        lm.log_prob([w["the"], 13])
    with pytest.raises(ZooError, match="at least one token"):
        lm.perplexity([PAD_ID])


def test_unk_is_an_ordinary_token():
    tok = WordTokenizer.fit("a b a c a b", min_freq=2)  # " c" becomes <unk>
    ids = tok.encode("a b a c a b")
    assert UNK_ID in ids.tolist()
    lm = NGramLM(2, smoothing="mle").fit(ids, vocab_size=tok.vocab_size)
    # The first "a" (no space before it) is rare too: ids are <unk> b a <unk> a b.
    assert lm.next_token_probs(tok.encode(" a"))[UNK_ID] == pytest.approx(1 / 2)
    assert lm.next_token_probs([UNK_ID])[tok.token_to_id(" b")] == pytest.approx(1 / 2)


def test_chinese_character_model():
    text = (
        "概率语言模型是一种基于概率论的语言模型，它可以计算给定条件下句子的概率。"
        "我们将以N-gram模型为例进行解释。"
        "我们可以使用最大似然估计来估计N-gram模型的参数。"
    )
    tok = CharTokenizer.fit(text)
    lm = NGramLM(3).fit(tok.encode(text), vocab_size=tok.vocab_size)
    probs = lm.next_token_probs(tok.encode("语言模"))
    assert tok.vocabulary[int(np.argmax(probs))] == "型"
    assert probs.sum() == pytest.approx(1.0)
    held_out = tok.encode("语言模型的参数")
    ppl = lm.perplexity(held_out)
    predictable = tok.vocab_size - len(RESERVED)
    assert 1.0 < ppl < predictable  # better than guessing uniformly
    assert ppl < lm.perplexity(held_out[::-1])  # backwards reads worse


def test_nltk_kneser_ney_parity():
    """Same perplexity as nltk.lm.KneserNeyInterpolated, given the same n-grams.

    nltk's `padded_everygram_pipeline` also counts n-grams of padding alone
    (``<s> <s>``) and pads the end with ``</s>``; zoo counts the n-grams that
    end at a real token, after ``order - 1`` BOS. So nltk is fed exactly those
    (every suffix of every left-padded n-gram), the sentences carry their EOS
    as a real token, and zoo uses nltk's lowest order (``uniform_floor=False``).
    """
    nltk_lm = pytest.importorskip("nltk.lm")
    from nltk.util import ngrams

    rng = np.random.default_rng(7)
    V = 14
    train = random_sentences(rng, V, 60)
    seen = set(np.concatenate(train).tolist())
    test = [s for s in random_sentences(rng, V, 40) if set(s.tolist()) <= seen][:8]

    def padded(sentence, order):
        return ["<s>"] * (order - 1) + [str(t) for t in sentence.tolist()]

    for order in (2, 3, 4):
        theirs = nltk_lm.KneserNeyInterpolated(order, discount=0.75)
        theirs.fit(
            [
                [
                    gram[i:]
                    for gram in ngrams(padded(s, order), order)
                    for i in range(order)
                ]
                for s in train
            ],
            vocabulary_text=["<s>"] + [str(i) for i in range(V)],
        )
        test_grams = [g for s in test for g in ngrams(padded(s, order), order)]
        expected = theirs.perplexity(test_grams)  # 2 ** mean of -log2 p
        assert np.isfinite(expected)
        ours = NGramLM(
            order, smoothing="kneser_ney_single", discount=0.75, uniform_floor=False
        ).fit(train, vocab_size=V)
        assert ours.perplexity(test) == pytest.approx(expected, rel=1e-9)
        # With the uniform floor (the default) the numbers differ a little.
        floored = NGramLM(order, smoothing="kneser_ney_single", discount=0.75)
        floored = floored.fit(train, vocab_size=V)
        assert floored.perplexity(test) != pytest.approx(expected, rel=1e-6)


def test_generate_with_an_ngram_model(tiny):
    zoo = pytest.importorskip("zoo")
    tok, ids, w = tiny
    lm = NGramLM(3, smoothing="mle").fit(ids, vocab_size=tok.vocab_size)
    text = zoo.generate(lm, tok, "the cat", max_new_tokens=3, temperature=0.0, seed=0)
    assert text == "the cat sat on the"


# --- modified Kneser-Ney ---------------------------------------------------------


def test_modified_kneser_ney_discounts_from_counts_of_counts():
    """n1=4, n2=2, n3=1, n4=1: Y = 4 / (4 + 4) = 0.5, and
    D1 = 1 - 2*0.5*2/4 = 0.5, D2 = 2 - 3*0.5*1/2 = 1.25, D3 = 3 - 4*0.5*1/1 = 1."""
    lm = NGramLM(2)  # the default is modified Kneser-Ney
    assert lm.smoothing == "kneser_ney"
    counts = np.array([0, 1, 1, 1, 1, 2, 2, 3, 4], np.float64)
    np.testing.assert_allclose(lm._discounts(counts), [0.0, 0.5, 1.25, 1.0])
    # An estimate that falls outside (0, k), or is undefined, uses `discount`.
    no_twos = np.array([1, 1, 3], np.float64)
    np.testing.assert_allclose(lm._discounts(no_twos), [0.0, 0.75, 0.75, 0.75])
    single = NGramLM(2, smoothing="kneser_ney_single", discount=0.6)
    np.testing.assert_allclose(single._discounts(counts), [0.0, 0.6, 0.6, 0.6])


def _reference_modified_kneser_ney(sentences, order, vocab_size):
    """Interpolated modified Kneser-Ney written out with dictionaries, as in
    Chen & Goodman (1998): counts at the highest order, continuation counts
    below, three discounts per order, the uniform distribution at the bottom."""
    grams = [collections.Counter() for _ in range(order + 1)]
    for sentence in sentences:
        seq = [BOS_ID] * (order - 1) + list(sentence)
        for t in range(order - 1, len(seq)):
            for m in range(1, order + 1):
                grams[m][tuple(seq[t - m + 1 : t + 1])] += 1
    used = [None]
    for m in range(1, order + 1):
        if m == order:
            used.append(dict(grams[m]))
        else:
            cont = collections.Counter(g[1:] for g in grams[m + 1])
            used.append(dict(cont))

    def discounts(counts):
        n = [sum(1 for c in counts.values() if c == k) for k in range(5)]
        out = [0.0, 0.75, 0.75, 0.75]
        if n[1] and n[2]:
            y = n[1] / (n[1] + 2 * n[2])
            for k in (1, 2, 3):
                if n[k]:
                    d = k - (k + 1) * y * n[k + 1] / n[k]
                    if 0 < d < k:
                        out[k] = d
        return out

    ds = [None] + [discounts(used[m]) for m in range(1, order + 1)]
    predictable = [w for w in range(vocab_size) if w not in (PAD_ID, BOS_ID, MASK_ID)]

    def prob(w, context, m):
        if m == 0:
            return 1.0 / len(predictable) if w in predictable else 0.0
        c = tuple(context[len(context) - (m - 1) :]) if m > 1 else ()
        following = {g[-1]: n for g, n in used[m].items() if g[:-1] == c}
        total = sum(following.values())
        lower = prob(w, context, m - 1)
        if total == 0:
            return lower
        d = ds[m]
        alpha = max(following.get(w, 0) - d[min(following.get(w, 0), 3)], 0) / total
        gamma = sum(d[min(n, 3)] for n in following.values()) / total
        return alpha + gamma * lower

    def distribution(context):
        context = ([BOS_ID] * (order - 1) + list(context))[-(order - 1) :]
        context = context if order > 1 else []
        return np.array([prob(w, context, order) for w in range(vocab_size)])

    return distribution


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_modified_kneser_ney_equals_the_textbook_recursion(order):
    rng = np.random.default_rng(order)
    vocab_size = 12
    sentences = [
        rng.integers(5, vocab_size, size=rng.integers(3, 15)) for _ in range(40)
    ]
    lm = NGramLM(order, smoothing="kneser_ney").fit(sentences, vocab_size=vocab_size)
    reference = _reference_modified_kneser_ney(sentences, order, vocab_size)
    for context in ([], [5], [6, 7], [11, 5, 9], [8, 8, 8]):
        probs = lm.next_token_probs(np.array(context, np.int64))
        np.testing.assert_allclose(probs, reference(context), atol=1e-12)
        assert abs(probs.sum() - 1.0) < 1e-12


def test_modified_kneser_ney_beats_one_discount_on_held_out_text():
    """On text with a long tail (a Zipf-like draw), three discounts per order
    fit held-out text at least as well as one."""
    rng = np.random.default_rng(0)
    vocab_size = 400
    weights = 1.0 / np.arange(1, vocab_size - 4)
    p = weights / weights.sum()

    def draw(n):
        return rng.choice(np.arange(5, vocab_size), size=n, p=p)

    train, held_out = draw(30_000), draw(5_000)
    scores = {
        name: NGramLM(3, smoothing=name)
        .fit(train, vocab_size=vocab_size)
        .perplexity(held_out)
        for name in ("kneser_ney_single", "kneser_ney")
    }
    assert scores["kneser_ney"] <= scores["kneser_ney_single"], scores


def test_a_version_1_file_keeps_its_one_discount(tmp_path):
    """Before format 2, "kneser_ney" meant one discount: such a file still
    loads as that model, under its new name."""
    rng = np.random.default_rng(5)
    V = 20
    single = NGramLM(3, smoothing="kneser_ney_single", discount=0.6)
    single.fit(random_sentences(rng, V, 40), vocab_size=V)
    single.save(tmp_path / "new.ngram")
    with np.load(tmp_path / "new.ngram") as data:
        arrays = {name: data[name] for name in data.files}
    config = json.loads(str(arrays["config"]))
    arrays["config"] = np.array(json.dumps({**config, "smoothing": "kneser_ney"}))
    arrays["format_version"] = np.array(1)
    with open(tmp_path / "old.ngram", "wb") as fh:
        np.savez_compressed(fh, **arrays)
    old = NGramLM.load(tmp_path / "old.ngram")
    assert old.smoothing == "kneser_ney_single"
    np.testing.assert_array_equal(
        old.next_token_probs([6, 7]), single.next_token_probs([6, 7])
    )
