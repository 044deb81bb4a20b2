"""Tests for zoo.text: character and word tokenizers (docs/pitfalls.md #14, #21)."""

from __future__ import annotations

import collections
import random

import numpy as np
import pytest

from zoo.errors import ZooError
from zoo.text import (
    BOS_ID,
    EOS_ID,
    FIRST_REAL_ID,
    MASK_ID,
    MASK_TOKEN,
    PAD_ID,
    SPECIAL_TOKENS,
    UNK_ID,
    CharTokenizer,
    Tokenizer,
    WordTokenizer,
    build_tokenizer,
)

ENGLISH = "To be, or not to be: that is the question.\nWhether 'tis nobler...\n"
CHINESE = "大规模语言模型从理论到实践。\n循环神经网络（RNN）能处理序列！"
MIXED = (
    "  Hello,   world!\n\n\t你好，世界。 It's 3.14 o'clock —  ok?\r\n"
    "GPT-2 说：“语言模型”\u3000全角空格  \n   trailing   "
)
TEXTS = {"english": ENGLISH, "chinese": CHINESE, "mixed": MIXED}
TOKENIZERS = [CharTokenizer, WordTokenizer]


@pytest.mark.parametrize("cls", TOKENIZERS)
@pytest.mark.parametrize("name", sorted(TEXTS))
def test_exact_round_trip(cls, name):
    text = TEXTS[name]
    tok = cls.fit(text)
    ids = tok.encode(text)
    assert ids.dtype == np.int32
    assert UNK_ID not in ids
    assert tok.decode(ids) == text
    assert "".join(tok.split(text)) == text  # splitting loses nothing


def test_word_tokens_keep_their_space_and_cjk_stands_alone():
    tok = WordTokenizer(list(SPECIAL_TOKENS))
    assert tok.split("To be, or not") == ["To", " be", ",", " or", " not"]
    assert tok.split("语言模型") == ["语", "言", "模", "型"]
    assert tok.split("it's") == ["it's"]


@pytest.mark.parametrize("cls", TOKENIZERS)
def test_reserved_ids_come_first(cls):
    tok = cls.fit(ENGLISH)
    assert tuple(tok.vocabulary[:5]) == SPECIAL_TOKENS
    assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID, MASK_ID) == (0, 1, 2, 3, 4)
    ids = (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id, tok.mask_id)
    assert ids == (0, 1, 2, 3, 4)
    assert [tok.token_to_id(t) for t in SPECIAL_TOKENS] == [0, 1, 2, 3, 4]
    assert tok.token_to_id(tok.vocabulary[FIRST_REAL_ID]) == FIRST_REAL_ID == 5


def test_a_written_mask_is_not_the_mask_token():
    """A written [MASK] is a hole for `zoo.generation.encode_masked`; the
    tokenizer itself reads it as ordinary characters, never as MASK_ID."""
    tok = CharTokenizer.fit("abc[MASK]")
    assert MASK_TOKEN == "[MASK]" and SPECIAL_TOKENS[MASK_ID] == "<mask>"
    assert MASK_ID not in tok.encode(f"a{MASK_TOKEN}b").tolist()


def test_vocabulary_is_by_falling_frequency_then_token():
    text = "bbbaaacccd e"
    tok = CharTokenizer.fit(text)
    counts = collections.Counter(text)
    want = sorted(counts, key=lambda ch: (-counts[ch], ch))
    assert tok.vocabulary[5:] == want
    assert tok.vocabulary[5:8] == ["a", "b", "c"]  # ties broken by the token


@pytest.mark.parametrize("cls", TOKENIZERS)
def test_vocabulary_is_deterministic(cls):
    lines = MIXED.splitlines(keepends=True) + ENGLISH.splitlines(keepends=True)
    shuffled = lines[:]
    random.Random(0).shuffle(shuffled)
    assert shuffled != lines
    assert cls.fit(lines).vocabulary == cls.fit(shuffled).vocabulary
    assert cls.fit("".join(lines)).vocabulary == cls.fit("".join(lines)).vocabulary


@pytest.mark.parametrize("cls", TOKENIZERS)
def test_min_freq_cut_off(cls):
    text = "aaa bb c 中中中 文"
    tok = cls.fit(text, min_freq=2)
    counts = collections.Counter(tok.split(text))
    kept = set(tok.vocabulary[5:])
    assert kept == {t for t, n in counts.items() if n >= 2}
    rare = [t for t, n in counts.items() if n < 2]
    assert rare
    assert all(tok.token_to_id(t) == UNK_ID for t in rare)
    assert all(tok.token_to_id(t) > MASK_ID for t in kept)


def test_max_tokens_keeps_the_most_frequent():
    text = "eeeee dddd ccc bb a"
    tok = CharTokenizer.fit(text, max_tokens=5 + 3)
    assert tok.vocab_size == 8
    assert tok.vocabulary[5:] == ["e", " ", "d"]  # 5 e, 4 spaces, 4 d
    assert list(tok.encode("ea")) == [5, UNK_ID]


@pytest.mark.parametrize("kwargs", [{"min_freq": 0}, {"max_tokens": 5}])
def test_bad_cut_offs_raise(kwargs):
    with pytest.raises(ZooError):
        CharTokenizer.fit(ENGLISH, **kwargs)


def test_empty_text_raises():
    with pytest.raises(ZooError, match="empty"):
        CharTokenizer.fit("")


@pytest.mark.parametrize(
    ("cls", "unknown"),
    [(CharTokenizer, ["z", "中"]), (WordTokenizer, ["abz", " 中", " z"])],
)
def test_unknown_tokens_become_unk(cls, unknown):
    tok = cls.fit("abc abc")
    assert tok.unknown_tokens("abz 中 z") == unknown
    ids = tok.encode("abz 中 z")
    assert list(ids).count(UNK_ID) == sum(t in unknown for t in tok.split("abz 中 z"))
    assert tok.decode(ids).count("<unk>") == list(ids).count(UNK_ID) > 0


def test_char_unknowns_in_order_and_unique():
    tok = CharTokenizer.fit("abc")
    assert tok.unknown_tokens("xaybxz") == ["x", "y", "z"]
    assert list(tok.encode("xa")) == [UNK_ID, tok.token_to_id("a")]
    # A code point beyond every known one is unknown too, not an IndexError.
    assert list(tok.encode("\U0001f600")) == [UNK_ID]


@pytest.mark.parametrize("cls", TOKENIZERS)
def test_decode_out_of_range_raises(cls):
    tok = cls.fit(ENGLISH)
    for bad in ([-1], [tok.vocab_size], [5, tok.vocab_size + 10]):
        with pytest.raises(ZooError, match="ids must lie"):
            tok.decode(bad)


def test_decode_drops_padding_and_specials():
    tok = CharTokenizer.fit("ab")
    a, b = tok.token_to_id("a"), tok.token_to_id("b")
    ids = [BOS_ID, a, PAD_ID, b, UNK_ID, EOS_ID, MASK_ID]
    assert tok.decode(ids) == "ab<unk>"
    assert tok.decode(ids, skip_special=False) == "<bos>ab<unk><eos><mask>"
    assert tok.decode(np.array([[a, b], [b, a]])) == "abba"  # any shape


@pytest.mark.parametrize("cls", TOKENIZERS)
def test_config_round_trip(cls):
    tok = cls.fit(MIXED)
    config = tok.get_config()
    clone = Tokenizer.from_config(config)
    assert type(clone) is cls
    assert clone.vocabulary == tok.vocabulary
    assert clone.get_config() == config
    np.testing.assert_array_equal(clone.encode(MIXED), tok.encode(MIXED))


def test_word_config_keeps_lowercase():
    tok = WordTokenizer.fit("The THE the", lowercase=True)
    assert tok.vocabulary[5:] == [" the", "the"]
    clone = Tokenizer.from_config(tok.get_config())
    assert clone.lowercase is True
    assert list(clone.encode("THE The")) == list(tok.encode("the the"))


def test_unknown_kind_raises():
    with pytest.raises(ZooError, match="kind"):
        Tokenizer.from_config({"kind": "unigram", "vocabulary": list(SPECIAL_TOKENS)})


def test_a_config_of_the_wrong_shape_raises_naming_its_keys():
    with pytest.raises(ZooError, match=r"'bpe' tokenizer's config has keys"):
        Tokenizer.from_config({"kind": "bpe", "vocabulary": list(SPECIAL_TOKENS)})


@pytest.mark.parametrize(
    "vocabulary",
    [["a", "b"], [*SPECIAL_TOKENS, "a", "a"], [*reversed(SPECIAL_TOKENS), "a"]],
)
def test_bad_vocabularies_raise(vocabulary):
    with pytest.raises(ZooError):
        CharTokenizer(vocabulary)


def test_char_tokens_must_be_one_character():
    with pytest.raises(ZooError, match="one character"):
        CharTokenizer([*SPECIAL_TOKENS, "ab"])


def test_encode_needs_a_string():
    tok = CharTokenizer.fit("abc")
    with pytest.raises(ZooError, match="string"):
        tok.encode(["a", "b"])
    with pytest.raises(ZooError, match="string"):
        WordTokenizer.fit("abc").encode(b"abc")


@pytest.mark.parametrize("cls", TOKENIZERS)
def test_a_megabyte_of_text(cls):
    text = (ENGLISH + CHINESE + MIXED) * (1_000_000 // len(ENGLISH + CHINESE + MIXED))
    assert len(text.encode("utf-8")) > 1_000_000
    tok = cls.fit(text)
    ids = tok.encode(text)
    assert len(ids) == len(tok.split(text))
    assert tok.decode(ids) == text


@pytest.mark.parametrize("cls", TOKENIZERS)
@pytest.mark.parametrize(
    "line", ["the <unk> sat\n", "<unk> sat on the <unk>\n", " the <unk> <eos> sat\n"]
)
def test_penn_treebank_line_round_trips(cls, line):
    tok = cls.fit(line)
    assert tok.decode(tok.encode(line)) == line
    corpus = " the cat sat\n" + line + " a <unk> ran\n"
    tok = cls.fit(corpus)
    assert tok.decode(tok.encode(line)) == line
    assert tok.decode(tok.encode(corpus)) == corpus


def test_penn_treebank_unk_is_one_word():
    tok = WordTokenizer.fit(" the <unk> sat\n")
    assert tok.split(" the <unk> sat\n") == [" the", " <unk>", " sat", "\n"]
    assert " <unk>" in tok.vocabulary


def test_build_tokenizer_by_level():
    assert type(build_tokenizer(ENGLISH, level="char")) is CharTokenizer
    assert type(build_tokenizer(ENGLISH, level="word")) is WordTokenizer
    with pytest.raises(ZooError, match="level"):
        build_tokenizer(ENGLISH, level="unigram")


def test_whitespace_tokenizer_splits_at_spaces_only_and_round_trips():
    from zoo.text import EOS_ID, UNK_ID, Tokenizer, WhitespaceTokenizer

    text = " the u.s. said it 's <unk>\n mr. smith did n't\n"
    tok = WhitespaceTokenizer.fit(text)
    assert tok.split(" u.s. n't\n") == ["u.s.", "n't", "<eos>"]
    ids = tok.encode(text)
    assert ids.tolist().count(EOS_ID) == 2 and ids.tolist().count(UNK_ID) == 1
    assert tok.decode(ids) == text
    again = Tokenizer.from_config(tok.get_config())
    assert isinstance(again, WhitespaceTokenizer)
    assert again.encode(text).tolist() == ids.tolist()
    assert tok.vocab_size == 5 + len(set(text.split()) - {"<unk>"})
