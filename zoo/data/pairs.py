"""Sentence pairs for sequence-to-sequence models: corpora, arrays, tf.data.

Three small tasks that zoo generates itself, offline, the same for the same
seed, and one loader for your own pairs:

| name         | source                              | target             |
|--------------|-------------------------------------|--------------------|
| "dates"      | "Tuesday, 3 Mar 1998", "03/03/98"   | "1998-03-03"       |
| "numbers"    | "three hundred and forty-two        | "342007"           |
|              | thousand and seven"                 |                    |
| "numbers-zh" | (the same English words)            | "三十四万二千零七" |
| a file path  | "Go.<TAB>Va !<TAB>CC-BY 2.0 ..."    | (Anki / Tatoeba)   |

They are small, need no download, and each target character depends on a few
source characters (the year's digits on the year, a Chinese 万 on the word
"thousand"), so a plot of a model's attention weights is easy to read.

Splits never share a source string, so a validation or test score is never
earned by memorising a training pair.

The usual path from pairs to a model, with one character per token:

    >>> from zoo.text import CharTokenizer
    >>> corpus = make_dates(2_000)
    >>> source_tokenizer = CharTokenizer.fit(s for s, _ in corpus.train)
    >>> target_tokenizer = CharTokenizer.fit(t for _, t in corpus.train)
    >>> S, T = corpus.max_lengths
    >>> arrays = encode_pairs(
    ...     corpus.train, source_tokenizer, target_tokenizer,
    ...     source_len=S, target_len=T + 1,  # + 1 for <eos>
    ... )
    >>> ds = make_pair_dataset(arrays, batch_size=32)  # ((enc, dec_in), dec_tgt)
"""

from __future__ import annotations

import datetime
import os
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.errors import ZooError
from zoo.text import BOS_ID, EOS_ID, PAD_ID, Tokenizer

Pair = tuple[str, str]
GENERATED = ("dates", "numbers", "numbers-zh")
ARRAY_KEYS = ("encoder_inputs", "decoder_inputs", "decoder_targets")


@dataclass(frozen=True)
class PairCorpus:
    """(source, target) sentence pairs in three disjoint splits.

    Args:
        name: a short name ("dates", "numbers", a file name).
        train: the training pairs.
        valid: the validation pairs (choose settings, stop early).
        test: the test pairs (report once, at the end).

    Example:
        >>> c = PairCorpus("demo", [("hi", "你好"), ("bye", "再见")],
        ...                [("thanks", "谢谢")], [("yes", "是")])
        >>> c
        PairCorpus('demo', train=2 pairs, valid=1 pairs, test=1 pairs)
        >>> c.max_lengths
        (6, 2)
    """

    name: str
    train: list[Pair]
    valid: list[Pair]
    test: list[Pair]

    @property
    def splits(self) -> dict[str, list[Pair]]:
        """The three lists by split name: {"train": ..., "valid": ..., "test": ...}."""
        return {"train": self.train, "valid": self.valid, "test": self.test}

    @property
    def max_lengths(self) -> tuple[int, int]:
        """(longest source, longest target) in characters, over all splits.

        With a `CharTokenizer` these are token counts: use them as
        ``source_len`` and ``target_len - 1`` (one more for ``<eos>``) in
        `encode_pairs`.
        """
        pairs = [pair for split in self.splits.values() for pair in split]
        return max(len(s) for s, _ in pairs), max(len(t) for _, t in pairs)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v):,} pairs" for k, v in self.splits.items())
        return f"PairCorpus({self.name!r}, {sizes})"


def load_translation(name_or_path: str | os.PathLike, **kwargs) -> PairCorpus:
    """Load a translation task by name, or sentence pairs from a file.

    Args:
        name_or_path: "dates" (`make_dates`), "numbers" (`make_numbers`,
            digits), "numbers-zh" (`make_numbers` with Chinese numerals), or
            the path of a tab-separated file (`load_pairs`). To load a file
            called "dates", pass ``"./dates"`` or a `Path`.
        **kwargs: passed to the function above, e.g. ``n=5_000, seed=1``.

    Returns:
        A `PairCorpus`.

    Example:
        >>> load_translation("numbers-zh", n=100).test[0][1]  # doctest: +SKIP
        '七万三千零二十'
    """
    if isinstance(name_or_path, str) and name_or_path in GENERATED:
        if name_or_path == "dates":
            return make_dates(**kwargs)
        if name_or_path == "numbers-zh":
            return make_numbers(**{"target": "chinese", **kwargs})
        return make_numbers(**kwargs)
    path = Path(name_or_path)
    if not path.exists():
        raise ZooError(
            f"{str(name_or_path)!r} is neither a translation task nor an existing "
            f"file; choose one of {list(GENERATED)} or give the path to a UTF-8 "
            "file of source<TAB>target lines"
        )
    return load_pairs(path, **kwargs)


# ------------------------------------------------------------------- dates

# Spelled out here, not taken from the locale, so the data is the same on
# every computer (a Chinese-locale strftime("%B") would give "三月").
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
WEEKDAYS = (
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
)  # fmt: skip

# Dates cover 100 years, so a two-digit year names exactly one of them: 69-99
# are 1969-1999 and 00-68 are 2000-2068, the rule of Python's strptime("%y").
FIRST_DATE = datetime.date(1969, 1, 1)
LAST_DATE = datetime.date(2068, 12, 31)

# Slashes put the month first (American), dots the day first (European), as
# people write them; within one separator the order never changes, so every
# source has exactly one correct target.
DATE_FORMATS = (
    "{d} {Month} {yyyy}",  # 3 March 1998
    "{Month} {d}, {yyyy}",  # March 3, 1998
    "{mm}/{dd}/{yy}",  # 03/03/98
    "{Weekday}, {d} {Mon} {yyyy}",  # Tuesday, 3 Mar 1998
    "{d}.{m}.{yyyy}",  # 3.3.1998
    "{Wkd} {Month} {dth}, {yyyy}",  # Tue March 3rd, 1998
    "{dth} of {Month} {yyyy}",  # 3rd of March 1998
    "{d}-{Mon}-{yy}",  # 3-Mar-98
    "{Mon} {d} {yyyy}",  # Mar 3 1998
    "{yyyy}年{m}月{d}日",  # 1998年3月3日
)
MAX_DATES = 200_000


def write_date(date: datetime.date, fmt: str, *, case: str = "as written") -> str:
    """Write a date the way a person might, in one of the `DATE_FORMATS`.

    Args:
        date: the date.
        fmt: a template with the fields d, dd, dth, m, mm, Month, Mon,
            Weekday, Wkd, yyyy, yy (see `DATE_FORMATS`).
        case: "as written", "lower" or "upper".

    Returns:
        The date as text.

    Example:
        >>> write_date(datetime.date(1998, 3, 3), "{Wkd} {Month} {dth}, {yyyy}")
        'Tue March 3rd, 1998'
        >>> write_date(datetime.date(2001, 12, 22), "{d}-{Mon}-{yy}", case="lower")
        '22-dec-01'
    """
    d = date.day
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    if d in (11, 12, 13):
        suffix = "th"
    month, weekday = MONTHS[date.month - 1], WEEKDAYS[date.weekday()]
    text = fmt.format(
        d=d,
        dd=f"{d:02d}",
        dth=f"{d}{suffix}",
        m=date.month,
        mm=f"{date.month:02d}",
        Month=month,
        Mon=month[:3],
        Weekday=weekday,
        Wkd=weekday[:3],
        yyyy=date.year,
        yy=f"{date.year % 100:02d}",
    )
    cases = {"as written": text, "lower": text.lower(), "upper": text.upper()}
    if case not in cases:
        raise ZooError(f"case must be one of {list(cases)}, got {case!r}")
    return cases[case]


def make_dates(
    n: int = 20_000,
    *,
    seed: int = 0,
    valid_fraction: float = 0.05,
    test_fraction: float = 0.05,
) -> PairCorpus:
    """Dates as people write them -> ISO 8601 ("1998-03-03").

    Each pair takes a random day from 1969-01-01 to 2068-12-31, a random
    format from `DATE_FORMATS` and, for formats with words, a random case
    (60% as written, 30% lower case, 10% upper case). The ISO target comes
    from Python's `datetime`, so it is always a real date and the weekday
    always matches. The same date may appear in two splits in different
    formats, but a source string never does.

    Args:
        n: number of pairs in all (distinct sources), at most 200,000.
        seed: the same seed gives the same corpus.
        valid_fraction: share of the pairs for validation (at least one).
        test_fraction: share of the pairs for testing (at least one).

    Returns:
        A `PairCorpus` named "dates". With the defaults: 18,000 / 1,000 /
        1,000 pairs, sources of up to 24 characters, targets of 10.

    Example:
        >>> corpus = make_dates(1_000, seed=0)
        >>> corpus
        PairCorpus('dates', train=900 pairs, valid=50 pairs, test=50 pairs)
        >>> all(len(target) == 10 for _, target in corpus.train)
        True
    """
    _check_split_args(n, valid_fraction, test_fraction)
    if n > MAX_DATES:
        raise ZooError(f"make_dates makes at most {MAX_DATES:,} pairs, got n={n:,}")
    rng = random.Random(seed)
    days = (LAST_DATE - FIRST_DATE).days + 1
    pairs: dict[str, str] = {}  # source -> target; a source is never repeated
    while len(pairs) < n:
        date = FIRST_DATE + datetime.timedelta(days=rng.randrange(days))
        fmt = rng.choice(DATE_FORMATS)
        draw = rng.random()
        case = "as written" if draw < 0.6 else "lower" if draw < 0.9 else "upper"
        pairs.setdefault(write_date(date, fmt, case=case), date.isoformat())
    return PairCorpus(
        "dates", *_cut(list(pairs.items()), rng, valid_fraction, test_fraction)
    )


# ----------------------------------------------------------------- numbers

MAX_NUMBER = 999_999_999
_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
    "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
    "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
_TENS = (
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
    "ninety",
)  # fmt: skip
_ZH_DIGITS = "零一二三四五六七八九"
_ZH_UNITS = ("", "十", "百", "千")  # inside a group of four digits
_ZH_GROUPS = ("", "万", "亿")  # one per group of four digits


def number_to_words(number: int) -> str:
    """An integer in words, British style ("and" before the last tens).

    Args:
        number: 0 to 999,999,999.

    Returns:
        Lower-case words; tens and ones are joined by a hyphen.

    Example:
        >>> number_to_words(342_007)
        'three hundred and forty-two thousand and seven'
        >>> number_to_words(1_100)
        'one thousand one hundred'
    """
    _check_number(number)
    if number < 20:
        return _ONES[number]
    if number < 100:
        tens, ones = divmod(number, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        words = f"{_ONES[hundreds]} hundred"
        return words + (f" and {number_to_words(rest)}" if rest else "")
    for size, name in ((1_000_000, "million"), (1_000, "thousand")):
        if number >= size:
            high, rest = divmod(number, size)
            words = f"{number_to_words(high)} {name}"
            if rest == 0:
                return words
            # "one thousand and seven", but "one thousand one hundred".
            return words + (" and " if rest < 100 else " ") + number_to_words(rest)
    raise AssertionError("unreachable")


def number_to_chinese(number: int) -> str:
    """An integer in Chinese numerals (小写数字), as written in modern usage.

    The rules, applied to groups of four digits (个, 万, 亿):

    * a run of zeros inside the number is read as one 零 (1005 -> 一千零五);
      zeros at the end of a group are not read (10100 -> 一万零一百, but
      101000 -> 十万一千);
    * 十 at the very start has no 一 (10 -> 十, 100000 -> 十万), but 一十
      elsewhere (110 -> 一百一十, 10010 -> 一万零一十);
    * 二 everywhere, as numbers are written out in maths books (2000 ->
      二千); speech often prefers 两千.

    Args:
        number: 0 to 999,999,999.

    Returns:
        The numeral, e.g. "三十四万二千零七".

    Example:
        >>> number_to_chinese(342_007), number_to_chinese(10_010)
        ('三十四万二千零七', '一万零一十')
    """
    _check_number(number)
    if number == 0:
        return _ZH_DIGITS[0]
    groups = []  # groups of four digits, lowest first
    while number:
        number, group = divmod(number, 10_000)
        groups.append(group)
    parts: list[str] = []
    zeros_skipped = False  # an all-zero group between two written groups
    for unit, group in reversed(list(zip(_ZH_GROUPS, groups, strict=False))):
        if group == 0:
            zeros_skipped = True
            continue
        # 零 when zeros stand between this group and the last written digit.
        if parts and (zeros_skipped or group < 1000):
            parts.append("零")
        parts.append(_chinese_group(group, first=not parts) + unit)
        zeros_skipped = False
    return "".join(parts)


def _chinese_group(group: int, *, first: bool) -> str:
    """1..9999 in Chinese, without its leading zeros (the caller writes 零)."""
    out: list[str] = []
    zero = False  # zeros after a written digit, read only if a digit follows
    for power in (3, 2, 1, 0):
        digit = group // 10**power % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        if not (digit == 1 and power == 1 and first and not out):  # 十, not 一十
            out.append(_ZH_DIGITS[digit])
        out.append(_ZH_UNITS[power])
    return "".join(out)


def make_numbers(
    n: int = 20_000,
    *,
    target: str = "digits",
    max_value: int = 999_999,
    seed: int = 0,
    valid_fraction: float = 0.05,
    test_fraction: float = 0.05,
) -> PairCorpus:
    """English number words -> digits ("342007") or Chinese ("三十四万二千零七").

    Numbers are distinct and drawn so that every length in digits is equally
    common while numbers of that length last: drawn uniformly from 0 to
    999,999, 90% would have six digits and a model would never see "seven".

    Args:
        n: number of pairs (distinct numbers), at most ``max_value + 1``.
        target: "digits" or "chinese" (see `number_to_chinese`).
        max_value: the largest number, up to 999,999,999.
        seed: the same seed gives the same corpus.
        valid_fraction: share of the pairs for validation (at least one).
        test_fraction: share of the pairs for testing (at least one).

    Returns:
        A `PairCorpus` named "numbers" (digits) or "numbers-zh" (Chinese).
        With the defaults: 18,000 / 1,000 / 1,000 pairs, sources of up to 72
        characters, targets of up to 6 digits or 11 Chinese characters.

    Example:
        >>> corpus = make_numbers(1_000, target="chinese")
        >>> corpus.name, len(corpus.train)
        ('numbers-zh', 900)
    """
    writers = {"digits": str, "chinese": number_to_chinese}
    if target not in writers:
        raise ZooError(f"target must be one of {list(writers)}, got {target!r}")
    _check_number(max_value, "max_value")
    _check_split_args(n, valid_fraction, test_fraction)
    if n > max_value + 1:
        raise ZooError(
            f"n={n:,} distinct numbers do not fit in 0..{max_value:,}; "
            "lower n or raise max_value"
        )
    rng = random.Random(seed)
    # One stratum per length in digits: 0-9, 10-99, ..., up to max_value.
    strata = []
    for digits in range(1, len(str(max_value)) + 1):
        low, high = (0 if digits == 1 else 10 ** (digits - 1)), 10**digits - 1
        values = range(low, min(high, max_value) + 1)
        strata.append(rng.sample(values, min(n, len(values))))
    numbers = []
    while len(numbers) < n:
        stratum = rng.choice([s for s in strata if s])
        numbers.append(stratum.pop())
    write = writers[target]
    pairs = [(number_to_words(x), write(x)) for x in numbers]
    name = "numbers" if target == "digits" else "numbers-zh"
    return PairCorpus(name, *_cut(pairs, rng, valid_fraction, test_fraction))


# ---------------------------------------------------------- your own pairs


def load_pairs(
    path: str | os.PathLike,
    *,
    valid_fraction: float = 0.05,
    test_fraction: float = 0.05,
    seed: int = 0,
    max_pairs: int | None = None,
) -> PairCorpus:
    """Load tab-separated sentence pairs (the Anki / Tatoeba layout).

    One pair per line: ``source<TAB>target``, optionally followed by more
    tab-separated columns (Tatoeba's attribution), which are ignored.
    Spaces around each side are removed; blank lines are skipped; Windows
    line ends and a UTF-8 byte-order mark are fine.

    The split is random but fixed by `seed`: the distinct sources are
    shuffled and cut, and every pair goes with its source, so a sentence
    with several translations ("Go." -> "Va !", "Bouge !") never sits in two
    splits. The fractions therefore count distinct sources.

    Args:
        path: a UTF-8 text file.
        valid_fraction: share of the sources for validation (at least one).
        test_fraction: share of the sources for testing (at least one).
        seed: the same seed gives the same split.
        max_pairs: keep only the first pairs of the file (Anki files go from
            short to long sentences, so this keeps the short ones); the rest
            of the file is not read.

    Returns:
        A `PairCorpus` named after the file.

    Example:
        >>> corpus = load_pairs("fra.txt", max_pairs=20_000)  # doctest: +SKIP
        >>> corpus.train[0]  # doctest: +SKIP
        ('Run!', 'Cours\u202f!')
    """
    _check_fractions(valid_fraction, test_fraction)
    if max_pairs is not None and max_pairs < 3:
        raise ZooError(f"max_pairs must be at least 3 (one per split), got {max_pairs}")
    path = Path(path)
    if not path.is_file():
        what = "a folder, not a file" if path.is_dir() else "no such file"
        raise ZooError(f"{path}: {what}; expected a file of source<TAB>target lines")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ZooError(
            f"{path}: not valid UTF-8 (first bad byte at offset {err.start}, line "
            f"{line}); the file must be UTF-8. Convert it first, e.g. for Chinese "
            f"saved as GBK: iconv -f GBK -t UTF-8 {path.name} > utf8_{path.name}"
        ) from None

    by_source: dict[str, list[Pair]] = {}  # in file order
    count = 0
    for number, line in enumerate(text.removeprefix("\ufeff").split("\n"), 1):
        if max_pairs is not None and count == max_pairs:
            break
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) < 2:
            raise ZooError(
                f"{path}, line {number}: no tab; each line must be "
                f"source<TAB>target[<TAB>more columns]. The line: {_show(line)}"
            )
        source, target = columns[0].strip(), columns[1].strip()
        for side, value in (("source (1st column)", source), ("target", target)):
            if not value:
                raise ZooError(
                    f"{path}, line {number}: the {side} is empty. "
                    f"The line: {_show(line)}"
                )
        by_source.setdefault(source, []).append((source, target))
        count += 1
    if not by_source:
        raise ZooError(f"{path}: no sentence pairs (the file is empty or blank)")
    if len(by_source) < 3:
        raise ZooError(
            f"{path}: {len(by_source)} distinct source(s) are too few for a train, "
            "valid and test split; add pairs"
        )
    sources = _cut(
        list(by_source),
        random.Random(seed),
        valid_fraction,
        test_fraction,
        what="distinct sources",
    )
    train, valid, test = (
        [pair for source in part for pair in by_source[source]] for part in sources
    )
    return PairCorpus(path.name, train, valid, test)


# ------------------------------------------------------ pairs -> arrays


def encode_pairs(
    pairs: Iterable[Pair],
    source_tokenizer: Tokenizer,
    target_tokenizer: Tokenizer,
    *,
    source_len: int,
    target_len: int,
    truncate: bool = False,
) -> dict[str, np.ndarray]:
    """Turn (source, target) pairs into the three arrays a seq2seq model needs.

    With the target written as ``<bos> y1 ... yn <eos>``, the decoder reads
    all but the last token and learns to predict all but the first (teacher
    forcing)::

        encoder_inputs   x1  x2  x3  <pad> ...        (N, S)
        decoder_inputs   <bos> y1  y2  y3  <pad> ...  (N, T)
        decoder_targets  y1  y2  y3  <eos> <pad> ...  (N, T)

    Padding is `PAD_ID` (0) at the end, ignored by zoo's loss and metrics.

    Args:
        pairs: (source, target) strings, e.g. ``corpus.train``.
        source_tokenizer: encodes the sources (usually a `CharTokenizer`).
        target_tokenizer: encodes the targets.
        source_len: S, the length of `encoder_inputs`.
        target_len: T, the length of the decoder arrays; a target of n tokens
            needs ``T >= n + 1`` for its ``<eos>``.
        truncate: cut what does not fit instead of raising an error. A cut
            target loses its ``<eos>``, so the model is never taught to stop
            early.

    Returns:
        {"encoder_inputs": (N, S), "decoder_inputs": (N, T),
        "decoder_targets": (N, T)}, int32 NumPy arrays.

    Example:
        >>> from zoo.text import CharTokenizer
        >>> src, tgt = CharTokenizer.fit("abc"), CharTokenizer.fit("xyz")
        >>> a = encode_pairs([("ab", "xyz")], src, tgt, source_len=3, target_len=4)
        >>> src.decode(a["encoder_inputs"][0]), a["decoder_targets"][0].tolist()
        ('ab', [5, 6, 7, 3])
    """
    pairs = list(pairs)
    if not pairs:
        raise ZooError("encode_pairs() got no pairs")
    if source_len < 1 or target_len < 2:
        raise ZooError(
            f"source_len must be >= 1 and target_len >= 2 (a token and <eos>), "
            f"got {source_len} and {target_len}"
        )
    for pair in pairs[:1]:
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise ZooError(f"pairs must be (source, target) strings, got {pair!r}")
    sources = [source_tokenizer.encode(s) for s, _ in pairs]
    targets = [target_tokenizer.encode(t) for _, t in pairs]
    too_long = sum(
        len(s) > source_len or len(t) + 1 > target_len
        for s, t in zip(sources, targets, strict=True)
    )
    if too_long and not truncate:
        longest_source = max(len(s) for s in sources)
        longest_target = max(len(t) for t in targets) + 1
        raise ZooError(
            f"{too_long:,} of {len(pairs):,} pairs do not fit: the longest source "
            f"has {longest_source} tokens (source_len={source_len}) and the longest "
            f"target {longest_target} with its <eos> (target_len={target_len}). "
            f"Pass source_len={longest_source}, target_len={longest_target}, or "
            "truncate=True to cut them"
        )
    n = len(pairs)
    encoder_inputs = np.full((n, source_len), PAD_ID, np.int32)  # (N, S)
    decoder_inputs = np.full((n, target_len), PAD_ID, np.int32)  # (N, T)
    decoder_targets = np.full((n, target_len), PAD_ID, np.int32)  # (N, T)
    for i, (source, target) in enumerate(zip(sources, targets, strict=True)):
        source = source[:source_len]
        encoder_inputs[i, : len(source)] = source
        full = np.concatenate([[BOS_ID], target, [EOS_ID]])  # <bos> y1..yn <eos>
        shifted_in, shifted_out = full[:-1][:target_len], full[1:][:target_len]
        decoder_inputs[i, : len(shifted_in)] = shifted_in
        decoder_targets[i, : len(shifted_out)] = shifted_out
    return {
        "encoder_inputs": encoder_inputs,
        "decoder_inputs": decoder_inputs,
        "decoder_targets": decoder_targets,
    }


def make_pair_dataset(
    arrays: dict[str, np.ndarray],
    *,
    batch_size: int,
    training: bool = True,
    seed: int | None = 0,
):
    """Batch the arrays of `encode_pairs` for ``model.fit`` / ``evaluate``.

    Every batch has the same shape, so an XLA-compiled step compiles once
    (docs/pitfalls.md #12). Training shuffles (seeded, anew each epoch) and drops the
    ragged tail. Evaluation keeps the order and pads the last batch with
    all-`PAD_ID` rows whose targets are all padding too: the loss and metrics
    ignore them, so every real pair is scored exactly once.

    Args:
        arrays: {"encoder_inputs": (N, S), "decoder_inputs": (N, T),
            "decoder_targets": (N, T)}.
        batch_size: B.
        training: shuffle and drop the tail; otherwise keep order and pad.
        seed: shuffling seed; the same seed gives the same batches.

    Returns:
        A `tf.data.Dataset` of int32 ``((encoder_inputs, decoder_inputs),
        decoder_targets)`` batches of shapes ``((B, S), (B, T)), (B, T)``.

    Example:
        >>> a = {"encoder_inputs": np.ones((10, 5), "int32"),
        ...      "decoder_inputs": np.ones((10, 4), "int32"),
        ...      "decoder_targets": np.ones((10, 4), "int32")}
        >>> ds = make_pair_dataset(a, batch_size=4, training=False)
        >>> [int(y.shape[0]) for _, y in ds], int(list(ds)[-1][1][2:].numpy().sum())
        ([4, 4, 4], 0)
    """
    import tensorflow as tf  # here, so generating or loading pairs stays light

    missing = [k for k in ARRAY_KEYS if k not in arrays]
    if missing:
        raise ZooError(f"arrays is missing {missing}; make it with encode_pairs()")
    encoder_inputs, decoder_inputs, decoder_targets = (
        np.asarray(arrays[k], dtype=np.int32) for k in ARRAY_KEYS
    )
    shapes = {k: np.shape(arrays[k]) for k in ARRAY_KEYS}
    n = len(encoder_inputs)
    if (
        any(len(shape) != 2 or shape[0] != n for shape in shapes.values())
        or decoder_inputs.shape != decoder_targets.shape
    ):
        raise ZooError(
            "arrays must be (N, S), (N, T), (N, T) with the same N; got "
            + ", ".join(f"{k} {s}" for k, s in shapes.items())
        )
    if batch_size < 1:
        raise ZooError(f"batch_size must be >= 1, got {batch_size}")
    if n == 0:
        raise ZooError("arrays hold no pairs")
    if training and n < batch_size:
        raise ZooError(
            f"only {n} pairs for batch_size={batch_size}; training drops the "
            "incomplete last batch, so nothing would be left. Lower batch_size"
        )
    if not training and n % batch_size:
        n_pad = batch_size - n % batch_size  # all-PAD rows: ignored when scored
        encoder_inputs, decoder_inputs, decoder_targets = (
            np.concatenate([a, np.full((n_pad, a.shape[1]), PAD_ID, np.int32)])
            for a in (encoder_inputs, decoder_inputs, decoder_targets)
        )
    ds = tf.data.Dataset.from_tensor_slices(
        ((encoder_inputs, decoder_inputs), decoder_targets)
    )
    if training:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=True)
    return ds.prefetch(tf.data.AUTOTUNE)


# ---------------------------------------------------------------- internals


def _check_number(number, label: str = "number") -> None:
    if not isinstance(number, int | np.integer) or isinstance(number, bool):
        raise ZooError(f"{label} must be an integer, got {type(number).__name__}")
    if not 0 <= number <= MAX_NUMBER:
        raise ZooError(f"{label} must lie in 0..{MAX_NUMBER:,}, got {number:,}")


def _check_fractions(valid_fraction: float, test_fraction: float) -> None:
    for label, fraction in (
        ("valid_fraction", valid_fraction),
        ("test_fraction", test_fraction),
    ):
        if not 0 < fraction < 1:
            raise ZooError(f"{label} must lie strictly between 0 and 1, got {fraction}")
    if valid_fraction + test_fraction >= 1:
        raise ZooError(
            f"valid_fraction + test_fraction must be below 1, "
            f"got {valid_fraction} + {test_fraction}"
        )


def _check_split_args(n: int, valid_fraction: float, test_fraction: float) -> None:
    _check_fractions(valid_fraction, test_fraction)
    if not isinstance(n, int) or n < 3:
        raise ZooError(f"n must be an integer >= 3 (one pair per split), got {n!r}")


def _cut(
    items: list,
    rng: random.Random,
    valid_fraction: float,
    test_fraction: float,
    what: str = "pairs",
) -> tuple[list, list, list]:
    """Shuffle, then cut into train, valid, test (at least one each)."""
    items = list(items)
    rng.shuffle(items)
    n = len(items)
    n_valid = max(1, round(n * valid_fraction))
    n_test = max(1, round(n * test_fraction))
    n_train = n - n_valid - n_test
    if n_train < 1:
        raise ZooError(
            f"{n} {what} are too few for valid_fraction={valid_fraction} and "
            f"test_fraction={test_fraction}; lower them or add data"
        )
    return items[:n_train], items[n_train : n_train + n_valid], items[-n_test:]


def _show(line: str, width: int = 60) -> str:
    """A line for an error message: quoted (tabs visible), cut to `width`."""
    return repr(line if len(line) <= width else line[:width] + "...")
