"""Tests for zoo.data.pairs: generated tasks, the TSV loader, arrays."""

from __future__ import annotations

import datetime
import re

import numpy as np
import pytest

from zoo.data.pairs import (
    DATE_FORMATS,
    PairCorpus,
    encode_pairs,
    load_pairs,
    load_translation,
    make_dates,
    make_numbers,
    make_pair_dataset,
    number_to_chinese,
    number_to_words,
    write_date,
)
from zoo.errors import ZooError
from zoo.text import BOS_ID, EOS_ID, PAD_ID, CharTokenizer

# Checked by hand: English words (British "and"), digits, Chinese numerals.
NUMBERS = [
    (0, "zero", "零"),
    (7, "seven", "七"),
    (10, "ten", "十"),
    (11, "eleven", "十一"),
    (15, "fifteen", "十五"),
    (20, "twenty", "二十"),
    (21, "twenty-one", "二十一"),
    (99, "ninety-nine", "九十九"),
    (100, "one hundred", "一百"),
    (101, "one hundred and one", "一百零一"),
    (110, "one hundred and ten", "一百一十"),
    (111, "one hundred and eleven", "一百一十一"),
    (200, "two hundred", "二百"),
    (305, "three hundred and five", "三百零五"),
    (1000, "one thousand", "一千"),
    (1001, "one thousand and one", "一千零一"),
    (1010, "one thousand and ten", "一千零一十"),
    (1100, "one thousand one hundred", "一千一百"),
    (1005, "one thousand and five", "一千零五"),
    (2019, "two thousand and nineteen", "二千零一十九"),
    (9999, "nine thousand nine hundred and ninety-nine", "九千九百九十九"),
    (10000, "ten thousand", "一万"),
    (10001, "ten thousand and one", "一万零一"),
    (10010, "ten thousand and ten", "一万零一十"),
    (10100, "ten thousand one hundred", "一万零一百"),
    (11000, "eleven thousand", "一万一千"),
    (15000, "fifteen thousand", "一万五千"),
    (20020, "twenty thousand and twenty", "二万零二十"),
    (100000, "one hundred thousand", "十万"),
    (100001, "one hundred thousand and one", "十万零一"),
    (101000, "one hundred and one thousand", "十万一千"),
    (110000, "one hundred and ten thousand", "十一万"),
    (120005, "one hundred and twenty thousand and five", "十二万零五"),
    (
        342007,
        "three hundred and forty-two thousand and seven",
        "三十四万二千零七",
    ),
    (
        999999,
        "nine hundred and ninety-nine thousand nine hundred and ninety-nine",
        "九十九万九千九百九十九",
    ),
    (1_000_000, "one million", "一百万"),
    (1_000_100, "one million one hundred", "一百万零一百"),
    (10_001_000, "ten million one thousand", "一千万一千"),
    (100_000_000, "one hundred million", "一亿"),
    (100_000_001, "one hundred million and one", "一亿零一"),
    (100_001_000, "one hundred million one thousand", "一亿零一千"),
    (100_100_000, "one hundred million one hundred thousand", "一亿零一十万"),
    (
        123_456_789,
        "one hundred and twenty-three million four hundred and fifty-six "
        "thousand seven hundred and eighty-nine",
        "一亿二千三百四十五万六千七百八十九",
    ),
]

WEEKDAYS = (
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
)  # fmt: skip
# The formats of DATE_FORMATS as strptime writes them (ordinals removed first).
STRPTIME_FORMATS = [
    "%d %B %Y",
    "%B %d, %Y",
    "%m/%d/%y",
    "%A, %d %b %Y",
    "%d.%m.%Y",
    "%a %B %d, %Y",
    "%d of %B %Y",
    "%d-%b-%y",
    "%b %d %Y",
    "%Y年%m月%d日",
]


def parse_words(text: str) -> int:
    """English number words -> int, written independently of zoo."""
    small = {w: i for i, w in enumerate(number_to_words(i) for i in range(20))}
    tens = {number_to_words(10 * i): 10 * i for i in range(2, 10)}
    total = current = 0
    for word in text.replace("-", " ").split():
        if word in small:
            current += small[word]
        elif word in tens:
            current += tens[word]
        elif word == "hundred":
            current *= 100
        elif word in ("thousand", "million"):
            total += current * (1000 if word == "thousand" else 1_000_000)
            current = 0
        else:
            assert word == "and", word
    return total + current


def parse_chinese(text: str) -> int:
    """Chinese numerals -> int, written independently of zoo."""
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")}
    units = {"十": 10, "百": 100, "千": 1000}
    total = section = 0
    digit = None
    for char in text:
        if char in digits:
            digit = digits[char]
        elif char in units:
            section += (1 if digit is None else digit) * units[char]
            digit = None
        elif char == "万":
            total += (section + (digit or 0)) * 10_000
            section, digit = 0, None
        else:
            assert char == "亿", char
            total = (total + section + (digit or 0)) * 100_000_000
            section, digit = 0, None
    return total + section + (digit or 0)


def all_pairs(corpus: PairCorpus):
    return [pair for split in corpus.splits.values() for pair in split]


def assert_disjoint(corpus: PairCorpus):
    sources = {name: {s for s, _ in pairs} for name, pairs in corpus.splits.items()}
    assert not sources["train"] & sources["valid"]
    assert not sources["train"] & sources["test"]
    assert not sources["valid"] & sources["test"]


# ------------------------------------------------------------------ numbers


@pytest.mark.parametrize(("number", "words", "chinese"), NUMBERS)
def test_number_conversions_match_hand_checked_values(number, words, chinese):
    assert number_to_words(number) == words
    assert number_to_chinese(number) == chinese
    assert parse_words(words) == number
    assert parse_chinese(chinese) == number


def test_chinese_numerals_follow_the_zero_and_ten_rules_everywhere():
    for number in [*range(0, 20_000), *range(90_000, 120_000, 7)]:
        text = number_to_chinese(number)
        assert parse_chinese(text) == number, number
        assert "零零" not in text, number
        assert number == 0 or not text.endswith("零"), number
        assert not text.startswith("一十"), number
        assert "两" not in text


@pytest.mark.parametrize("bad", [-1, 1_000_000_000, 3.0, True, "7"])
def test_number_conversions_reject_bad_input(bad):
    for convert in (number_to_words, number_to_chinese):
        with pytest.raises(ZooError, match="number must"):
            convert(bad)


@pytest.mark.parametrize("target", ["digits", "chinese"])
def test_every_generated_number_pair_is_correct(target):
    corpus = make_numbers(3_000, target=target, seed=3)
    parse = int if target == "digits" else parse_chinese
    for source, written in all_pairs(corpus):
        number = parse_words(source)
        assert parse(written) == number
        assert source == number_to_words(number)
    assert_disjoint(corpus)


def test_make_numbers_default_sizes_and_every_length_is_common():
    digits, chinese = make_numbers(), make_numbers(target="chinese")
    assert (digits.name, chinese.name) == ("numbers", "numbers-zh")
    for corpus in (digits, chinese):
        assert [len(p) for p in corpus.splits.values()] == [18_000, 1_000, 1_000]
    assert digits.max_lengths == (72, 6)  # as the docstring says
    assert chinese.max_lengths == (72, 11)
    # The same numbers in the same order: only the target differs.
    assert [s for s, _ in digits.train] == [s for s, _ in chinese.train]
    lengths = np.bincount([len(t) for _, t in all_pairs(digits)])
    assert lengths[1:4].tolist() == [10, 90, 900]  # all short numbers are in
    assert min(lengths[4:]) > 6_000  # and the long ones share the rest evenly
    assert len({s for s, _ in all_pairs(digits)}) == 20_000


def test_make_numbers_is_deterministic_and_respects_max_value():
    a, b = make_numbers(500, seed=5), make_numbers(500, seed=5)
    assert a == b
    assert make_numbers(500, seed=6) != a
    small = make_numbers(101, max_value=100)  # every number 0..100, once each
    assert sorted(int(t) for _, t in all_pairs(small)) == list(range(101))


def test_make_numbers_errors():
    with pytest.raises(ZooError, match="do not fit in 0..100"):
        make_numbers(102, max_value=100)
    with pytest.raises(ZooError, match="target must be one of"):
        make_numbers(100, target="roman")
    with pytest.raises(ZooError, match="max_value must lie in"):
        make_numbers(100, max_value=10**9)
    with pytest.raises(ZooError, match="valid_fraction"):
        make_numbers(100, valid_fraction=0)
    with pytest.raises(ZooError, match="must be below 1"):
        make_numbers(100, valid_fraction=0.5, test_fraction=0.5)
    with pytest.raises(ZooError, match="n must be"):
        make_numbers(2)


# -------------------------------------------------------------------- dates


def test_every_generated_date_pair_parses_back_to_its_target():
    corpus = make_dates(3_000, seed=1)
    for source, target in all_pairs(corpus):
        plain = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", source, flags=re.IGNORECASE)
        parsed = set()
        for fmt in STRPTIME_FORMATS:
            try:
                parsed.add(datetime.datetime.strptime(plain, fmt).date())
            except ValueError:
                continue
        assert parsed == {datetime.date.fromisoformat(target)}, source
        date = parsed.pop()
        assert date.isoformat() == target
        weekday = WEEKDAYS[date.weekday()]
        named = [w for w in WEEKDAYS if w[:3] in source.lower()]
        assert named in ([], [weekday]), source  # a weekday, if any, is right
        assert datetime.date(1969, 1, 1) <= date <= datetime.date(2068, 12, 31)
    assert_disjoint(corpus)


def test_dates_use_every_format_and_case():
    sources = [s for s, _ in all_pairs(make_dates(2_000))]
    assert any(s.islower() for s in sources)
    assert any(s.isupper() for s in sources)
    assert any(re.fullmatch(r"\d\d/\d\d/\d\d", s) for s in sources)
    assert any("年" in s for s in sources)
    for fmt in DATE_FORMATS:  # each format occurs: words and numbers as wildcards
        probe = re.escape(write_date(datetime.date(2000, 11, 22), fmt))
        shape = re.sub(r"\d+", r"\\d+", re.sub("[A-Za-z]+", "[A-Za-z]+", probe))
        assert any(re.fullmatch(shape, s) for s in sources), fmt


def test_write_date_examples():
    day = datetime.date(1998, 3, 3)
    assert write_date(day, "{d} {Month} {yyyy}") == "3 March 1998"
    assert write_date(day, "{mm}/{dd}/{yy}") == "03/03/98"
    assert write_date(day, "{Weekday}, {d} {Mon} {yyyy}") == "Tuesday, 3 Mar 1998"
    assert write_date(day, "{d}.{m}.{yyyy}", case="lower") == "3.3.1998"
    assert write_date(day, "{yyyy}年{m}月{d}日") == "1998年3月3日"
    ordinals = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th"}
    ordinals |= {13: "13th", 21: "21st", 22: "22nd", 23: "23rd", 31: "31st"}
    for d, expected in ordinals.items():
        assert write_date(datetime.date(2000, 1, d), "{dth}") == expected
    assert write_date(day, "{Mon} {d}", case="upper") == "MAR 3"
    with pytest.raises(ZooError, match="case must be"):
        write_date(day, "{d}", case="title")


def test_make_dates_is_deterministic_with_default_sizes():
    corpus = make_dates()
    assert repr(corpus) == (
        "PairCorpus('dates', train=18,000 pairs, valid=1,000 pairs, test=1,000 pairs)"
    )
    assert corpus.max_lengths == (24, 10)  # as the docstring says
    assert_disjoint(corpus)
    assert make_dates(300, seed=2) == make_dates(300, seed=2)
    assert make_dates(300, seed=2) != make_dates(300, seed=3)
    with pytest.raises(ZooError, match="at most 200,000"):
        make_dates(200_001)


# ---------------------------------------------------------------- TSV files


def write_tsv(tmp_path, text, name="pairs.tsv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_load_pairs_reads_the_anki_layout(tmp_path):
    lines = [
        f"s{i}\tt{i}\tCC-BY 2.0 (France) Attribution: tatoeba.org" for i in range(40)
    ]
    lines[5:5] = ["", "   ", "Go.\tVa !", "Go.\tMarche.", " Go. \t Bouge ! "]
    path = write_tsv(tmp_path, "\ufeff" + "\r\n".join(lines) + "\r\n")
    corpus = load_pairs(path, valid_fraction=0.1, test_fraction=0.1, seed=0)
    assert corpus.name == "pairs.tsv"
    assert_disjoint(corpus)
    pairs = all_pairs(corpus)
    assert len(pairs) == 43  # blank lines skipped, attribution column ignored
    assert sorted(pairs) == sorted(
        [(f"s{i}", f"t{i}") for i in range(40)]
        + [("Go.", "Va !"), ("Go.", "Marche."), ("Go.", "Bouge !")]
    )
    # The three translations of "Go." stay together, in file order.
    for split in corpus.splits.values():
        go = [t for s, t in split if s == "Go."]
        assert go in ([], ["Va !", "Marche.", "Bouge !"])
    # 41 distinct sources: 4 + 4 held out, the rest for training.
    assert len({s for s, _ in corpus.valid}) == len({s for s, _ in corpus.test}) == 4
    assert load_pairs(path, seed=0) == load_pairs(path, seed=0)
    assert load_pairs(path, seed=0) != load_pairs(path, seed=1)
    first = load_pairs(path, max_pairs=10)
    assert len(all_pairs(first)) == 10
    assert {s for s, _ in all_pairs(first)} == {f"s{i}" for i in range(7)} | {"Go."}


def test_load_pairs_reads_chinese(tmp_path):
    text = "Hi.\t嗨。\nRun!\t你用跑的。\nWait!\t等等！\nHello!\t你好。\n"
    corpus = load_pairs(write_tsv(tmp_path, text))
    assert sorted(all_pairs(corpus))[0] == ("Hello!", "你好。")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a\tb\nc d\ne\tf\n", r"pairs.tsv, line 2: no tab.*'c d'"),
        ("a\tb\n\n\tf\n", r"pairs.tsv, line 3: the source \(1st column\) is empty"),
        ("a\tb\nc\t \n", r"pairs.tsv, line 2: the target is empty.*'c\\t '"),
        ("", r"pairs.tsv: no sentence pairs"),
        ("\n  \n\n", r"pairs.tsv: no sentence pairs"),
        ("a\tb\na\tc\nd\te\n", r"2 distinct source\(s\) are too few"),
    ],
)
def test_load_pairs_errors_name_the_file_and_line(tmp_path, text, message):
    with pytest.raises(ZooError, match=message):
        load_pairs(write_tsv(tmp_path, text))


def test_load_pairs_shows_long_bad_lines_truncated(tmp_path):
    long_line = "word " * 100
    with pytest.raises(ZooError, match=r"line 1: no tab") as err:
        load_pairs(write_tsv(tmp_path, long_line + "\na\tb\n"))
    assert "word word" in str(err.value)
    assert len(str(err.value)) < 300 and "...'" in str(err.value)


def test_load_pairs_requires_utf8_and_a_file(tmp_path):
    path = write_tsv(tmp_path, "你好\thello\n再见\tbye\n", encoding="gbk")
    with pytest.raises(ZooError, match=r"not valid UTF-8 \(first bad byte at offset"):
        load_pairs(path)
    with pytest.raises(ZooError, match="no such file"):
        load_pairs(tmp_path / "missing.tsv")
    with pytest.raises(ZooError, match="a folder, not a file"):
        load_pairs(tmp_path)
    with pytest.raises(ZooError, match="max_pairs must be at least 3"):
        load_pairs(path, max_pairs=2)


def test_load_translation_by_name_or_path(tmp_path):
    assert load_translation("dates", n=100) == make_dates(100)
    assert load_translation("numbers", n=100, seed=4) == make_numbers(100, seed=4)
    zh = load_translation("numbers-zh", n=100)
    assert zh == make_numbers(100, target="chinese")
    path = write_tsv(tmp_path, "a\tb\nc\td\ne\tf\n")
    assert load_translation(path) == load_translation(str(path)) == load_pairs(path)
    with pytest.raises(ZooError, match="neither a translation task"):
        load_translation("nonsense")


# ------------------------------------------------------- arrays and batches

PAIRS = [("3 March 1998", "1998-03-03"), ("march 4, 98", "1998-03-04"), ("x", "1")]


def tokenizers():
    return (
        CharTokenizer.fit(s for s, _ in PAIRS),
        CharTokenizer.fit(t for _, t in PAIRS),
    )


def test_encode_pairs_places_bos_eos_and_padding():
    source_tok, target_tok = tokenizers()
    a = encode_pairs(PAIRS, source_tok, target_tok, source_len=14, target_len=12)
    assert a["encoder_inputs"].shape == (3, 14)
    assert a["decoder_inputs"].shape == a["decoder_targets"].shape == (3, 12)
    assert all(v.dtype == np.int32 for v in a.values())
    assert (a["decoder_inputs"][:, 0] == BOS_ID).all()
    # Teacher forcing: the inputs are the targets shifted right by one (<eos>,
    # the last target, is never an input).
    targets = a["decoder_targets"]
    shifted = np.where(targets == EOS_ID, PAD_ID, targets)[:, :-1]
    assert (a["decoder_inputs"][:, 1:] == shifted).all()
    for i, (source, target) in enumerate(PAIRS):
        enc, dec_in, dec_out = (a[k][i] for k in a)
        assert source_tok.decode(enc) == source
        assert target_tok.decode(dec_in) == target_tok.decode(dec_out) == target
        assert (enc[len(source) :] == PAD_ID).all() and PAD_ID not in enc[: len(source)]
        assert dec_out[len(target)] == EOS_ID
        assert (dec_out[len(target) + 1 :] == PAD_ID).all()
        assert (dec_in[len(target) + 1 :] == PAD_ID).all()
        assert EOS_ID not in dec_in


def test_encode_pairs_refuses_or_truncates_long_pairs():
    source_tok, target_tok = tokenizers()
    with pytest.raises(ZooError) as err:
        encode_pairs(PAIRS, source_tok, target_tok, source_len=11, target_len=10)
    message = str(err.value)
    assert "2 of 3 pairs do not fit" in message
    assert "longest source has 12 tokens (source_len=11)" in message
    assert "longest target 11 with its <eos> (target_len=10)" in message
    a = encode_pairs(
        PAIRS, source_tok, target_tok, source_len=4, target_len=10, truncate=True
    )
    assert source_tok.decode(a["encoder_inputs"][0]) == "3 Ma"
    assert target_tok.decode(a["decoder_targets"][0]) == "1998-03-03"
    assert EOS_ID not in a["decoder_targets"][0]  # cut: not taught to stop
    assert a["decoder_targets"][2].tolist()[:2] == [target_tok.encode("1")[0], EOS_ID]
    with pytest.raises(ZooError, match="no pairs"):
        encode_pairs([], source_tok, target_tok, source_len=4, target_len=4)
    with pytest.raises(ZooError, match="must be \\(source, target\\)"):
        encode_pairs(["abc"], source_tok, target_tok, source_len=4, target_len=4)


def test_corpus_to_arrays_round_trip():
    corpus = make_numbers(300, target="chinese")
    source_tok = CharTokenizer.fit(s for s, _ in corpus.train)
    target_tok = CharTokenizer.fit(t for _, t in corpus.train)
    S, T = corpus.max_lengths
    a = encode_pairs(
        corpus.test, source_tok, target_tok, source_len=S, target_len=T + 1
    )
    decoded = [target_tok.decode(row) for row in a["decoder_targets"]]
    assert decoded == [t for _, t in corpus.test]


def test_make_pair_dataset_has_fixed_shapes_and_pads_evaluation():
    rng = np.random.default_rng(0)
    n, S, T = 10, 6, 5
    arrays = {
        "encoder_inputs": rng.integers(5, 20, (n, S)).astype(np.int32),
        "decoder_inputs": rng.integers(5, 20, (n, T)).astype(np.int32),
        "decoder_targets": rng.integers(5, 20, (n, T)).astype(np.int32),
    }
    train = make_pair_dataset(arrays, batch_size=4, seed=1)
    batches = list(train.as_numpy_iterator())
    assert len(batches) == 2  # the ragged 2 left over are dropped
    for (enc, dec_in), dec_out in batches:
        assert enc.shape == (4, S) and dec_in.shape == dec_out.shape == (4, T)
        assert enc.dtype == np.int32
    spec = train.element_spec
    assert spec[0][0].shape == (4, S) and spec[1].shape == (4, T)

    evaluation = make_pair_dataset(arrays, batch_size=4, training=False)
    batches = list(evaluation.as_numpy_iterator())
    assert [b[1].shape for b in batches] == [(4, T)] * 3
    enc = np.concatenate([b[0][0] for b in batches])
    dec_out = np.concatenate([b[1] for b in batches])
    assert (enc[:n] == arrays["encoder_inputs"]).all()  # in order, each once
    assert (dec_out[:n] == arrays["decoder_targets"]).all()
    assert (enc[n:] == PAD_ID).all() and (dec_out[n:] == PAD_ID).all()


def test_make_pair_dataset_errors():
    arrays = {
        k: np.ones((3, 4), np.int32) for k in ("encoder_inputs", "decoder_inputs")
    }
    with pytest.raises(ZooError, match="missing \\['decoder_targets'\\]"):
        make_pair_dataset(arrays, batch_size=2)
    arrays["decoder_targets"] = np.ones((3, 5), np.int32)
    with pytest.raises(ZooError, match="same N"):
        make_pair_dataset(arrays, batch_size=2)
    arrays["decoder_targets"] = np.ones((3, 4), np.int32)
    with pytest.raises(ZooError, match="only 3 pairs for batch_size=8"):
        make_pair_dataset(arrays, batch_size=8)
    assert len(list(make_pair_dataset(arrays, batch_size=8, training=False))) == 1
