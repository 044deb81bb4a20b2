"""Tests for zoo.evaluation: exact match and corpus BLEU (through sacreBLEU)."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.errors import ZooError, ZooWarning
from zoo.evaluation import corpus_bleu, exact_match

sacrebleu = pytest.importorskip("sacrebleu")

# sacreBLEU's own README example: two reference streams.
HYPOTHESES = [
    "The dog bit the man.",
    "It wasn't surprising.",
    "The man had just bitten him.",
]
STREAMS = [
    ["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
    [
        "The dog had bit the man.",
        "No one was surprised.",
        "The man had bitten the dog.",
    ],
]


def test_exact_match_counts():
    predictions = ["1998-03-03", "2001-12-2", "342007", "三十四万二千零七"]
    references = ["1998-03-03", "2001-12-22", "342007", "三十四万二千零七 "]
    assert exact_match(predictions, references) == 0.5
    assert exact_match(references, references) == 1.0
    assert exact_match(["a"], ["b"]) == 0.0


def test_identical_texts_score_100():
    texts = ["the cat sat on the mat", "a dog barked at the moon all night"]
    assert corpus_bleu(texts, texts) == pytest.approx(100.0)
    chinese = ["今天天气很好", "我们明天去公园散步"]
    assert corpus_bleu(chinese, chinese) == pytest.approx(100.0)


def test_bleu_matches_sacrebleu_on_its_readme_example():
    one_ref = corpus_bleu(HYPOTHESES, STREAMS[0])
    assert one_ref == pytest.approx(
        sacrebleu.corpus_bleu(HYPOTHESES, STREAMS[:1]).score
    )
    per_example = [list(refs) for refs in zip(*STREAMS, strict=True)]
    two_refs = corpus_bleu(HYPOTHESES, per_example)
    assert two_refs == pytest.approx(sacrebleu.corpus_bleu(HYPOTHESES, STREAMS).score)
    assert two_refs == pytest.approx(48.530827, abs=1e-5)  # the README's figure
    assert two_refs > one_ref


def test_a_varying_number_of_references():
    references = [
        ["The dog bit the man.", "The dog had bit the man."],
        ["No one was surprised."],
    ]
    hypotheses = HYPOTHESES[:2]
    streams = [
        ["The dog bit the man.", "No one was surprised."],
        ["The dog had bit the man.", None],
    ]
    expected = sacrebleu.corpus_bleu(hypotheses, streams).score
    assert corpus_bleu(hypotheses, references) == pytest.approx(expected)


def test_chinese_references_are_split_into_characters():
    hypotheses, references = ["今天天气很好"], ["今天天气不错"]
    score = corpus_bleu(hypotheses, references)
    expected = sacrebleu.corpus_bleu(hypotheses, [references], tokenize="zh").score
    assert score == pytest.approx(expected)
    assert score == pytest.approx(100 * (4 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25)
    # Without "zh" each sentence would be one word and score 0.
    with pytest.warns(ZooWarning):
        assert corpus_bleu(hypotheses, references, tokenize="13a") == 0.0


def test_char_tokenize_for_digit_strings():
    predictions, references = ["342007", "1998-03-04"], ["342017", "1998-03-03"]
    score = corpus_bleu(predictions, references, tokenize="char")
    expected = sacrebleu.corpus_bleu(predictions, [references], tokenize="char").score
    assert score == pytest.approx(expected)
    assert 0 < score < 100
    # One word per output: no bigrams, BLEU 0 even when all are right. zoo warns.
    with pytest.warns(ZooWarning, match='tokenize="char"'):
        assert corpus_bleu(["342007", "12"], ["342007", "12"]) == 0.0
    assert corpus_bleu(["342007", "12"], ["342007", "12"], tokenize="char") == (
        pytest.approx(100.0)
    )
    # Already char-level and still too short: the advice is exact_match alone.
    with pytest.warns(ZooWarning, match="tokenize='char'") as caught:
        corpus_bleu(["7", "1"], ["7", "1"], tokenize="char")
    message = str(caught[0].message)
    assert "exact_match()" in message and 'tokenize="char"' not in message


def test_errors():
    for score in (exact_match, corpus_bleu):
        with pytest.raises(ZooError, match="2 predictions but 1 references"):
            score(["a b", "c d"], ["a b"])
        with pytest.raises(ZooError, match="predictions is empty"):
            score([], [])
        with pytest.raises(ZooError, match="decode generated ids to text first"):
            score([np.array([5, 6, 7])], ["abc"])
        with pytest.raises(ZooError, match="got one string"):
            score("abc", "abc")
    with pytest.raises(ZooError, match="tokenize must be one of"):
        corpus_bleu(["a"], ["a"], tokenize="words")
    with pytest.raises(ZooError, match=r"references\[1\] must be a string"):
        corpus_bleu(["a", "b"], ["a", []])
