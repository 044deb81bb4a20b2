"""Cleaning general text before training: ``zoo clean``.

Document 004 section 1.2 (通用数据) says that general data "具有较高的重复率和
噪声程度，需要经过严格的数据清洗和预处理". This module is that cleaning, one
document at a time, in this order:

1. **Normalisation** (`normalize`): invisible and control characters removed,
   Unicode NFKC (full-width letters and digits become ASCII, half-width kana
   full width), Chinese punctuation kept full width after a Chinese character,
   optionally traditional to simplified Chinese (OpenCC ``t2s``), whitespace
   collapsed inside lines and trimmed at their ends.
2. **Masking** of personal data (`mask_personal_data`, 数据脱敏): e-mail
   addresses, phone numbers (Chinese mobile and landline, international
   ``+NN``) and Chinese resident ID numbers (check digit verified) become
   ``<EMAIL>``, ``<PHONE>`` and ``<ID>``. Dates and ordinary numbers stay.
3. **Noise filters**: mojibake (ftfy's detection, U+FFFD, and UTF-8 read as
   GBK), too short, too long, mostly symbols or digits, too many repeated
   lines.
4. **Exact deduplication** of the normalised, masked text.
5. **Near-duplicate removal**: MinHash signatures of character shingles (so
   Chinese works without word segmentation) in a locality-sensitive hashing
   index (datasketch) propose candidates; a document is dropped when its exact
   Jaccard similarity with an earlier kept one reaches the threshold.

The first of two duplicates is kept. A document removed is counted under the
first rule that removes it. Every step is deterministic (the MinHash seed is
fixed) and cleaning a cleaned text changes nothing.

    >>> docs = [
    ...     "联系我：test@example.com 或 13800138000。",
    ...     "会议定于 2024年5月1日，预计 1234 人参加。",
    ...     "联系我：ｔｅｓｔ＠ｅｘａｍｐｌｅ．ｃｏｍ 或 13800138000。",
    ... ]
    >>> cleaned = clean_documents(docs, min_chars=5)
    >>> cleaned.documents
    ['联系我：<EMAIL> 或 <PHONE>。', '会议定于 2024年5月1日，预计 1234 人参加。']
    >>> cleaned.report["removed"]["exact_duplicate"]["documents"]
    1

The optional libraries (``pip install "zoo[clean]"``) are imported only by the
steps that need them: datasketch (near duplicates), ftfy (mojibake) and OpenCC
(traditional to simplified).
"""

from __future__ import annotations

import datetime
import hashlib
import importlib
import json
import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zoo.errors import ZooError

# Removal rules in the order they are tried; masks by tag.
RULES = (
    "mojibake",
    "too_short",
    "too_long",
    "symbols",
    "repeated_lines",
    "exact_duplicate",
    "near_duplicate",
)
TAGS = {"email": "<EMAIL>", "phone": "<PHONE>", "id": "<ID>"}
DEFAULTS = {
    "threshold": 0.8,
    "min_chars": 20,
    "max_chars": 100_000,
    "max_symbol_ratio": 0.5,
    "max_repeated_lines": 0.3,
    "to_simplified": False,
    "mask": True,
    "shingle_size": 5,
    "num_perm": 128,
    "seed": 0,
}
EXAMPLES = 3  # examples per rule in the report
EXAMPLE_CHARS = 80
# A folder written by `clean` holds this file: only such a folder (or an empty
# one) is ever replaced, so --out can never wipe a folder of someone's files.
MARKER = ".zoo-clean.json"
INSTALL = 'pip install "zoo[clean]"'

# ------------------------------------------------------------ normalisation

# Zero-width spaces and joiners, word joiner, byte-order mark, soft hyphen.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_CJK = _HAN + r"\u3000-\u303f\u3040-\u30ff\uff00-\uffef"
_FULL_WIDTH = str.maketrans(",!?:;()", "，！？：；（）")
# NFKC makes "，" an ASCII ","; next to a Chinese character (or Chinese
# punctuation) it goes back, so Chinese text keeps its own punctuation.
_CJK_PUNCTUATION = re.compile(
    rf"(?<=[{_CJK}])[,!?:;]+|[,!?:;]+(?=[{_CJK}])|\((?=[{_HAN}])|(?<=[{_HAN}])\)"
)
_SPACES = re.compile(r"[^\S\n]+")  # whitespace other than the newline
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # category Cc but \t \n


def normalize(
    text: str, *, to_simplified: bool = False, blank_lines: bool = False
) -> str:
    """Normalise one document.

    Removes zero-width and control characters, applies Unicode NFKC (full-width
    ``ＡＢＣ１２３`` becomes ``ABC123``, ``＠`` ``@``, the ideographic space a
    space, half-width ``ｶ`` full-width ``カ``), gives Chinese punctuation back
    its full-width form next to a Chinese character (NFKC would leave
    ``你好,``),
    converts traditional to simplified Chinese if asked, collapses runs of
    spaces and tabs to one space and trims every line.

    Args:
        text: the document.
        to_simplified: convert traditional Chinese to simplified (OpenCC
            ``t2s``, needs ``pip install "zoo[clean]"``).
        blank_lines: keep one blank line where the text had one or more
            (paragraphs of a document that is a whole file); otherwise empty
            lines are dropped (a document that is a block of lines).

    Returns:
        The normalised text; ``normalize(normalize(t)) == normalize(t)``.

    Example:
        >>> normalize("Ｈｅｌｌｏ，　ｗｏｒｌｄ！\\t 你好,世界!")
        'Hello, world! 你好，世界！'
    """
    text = text.translate(_INVISIBLE)
    text = _CONTROL.sub(" ", "\n".join(text.splitlines()))
    text = unicodedata.normalize("NFKC", text)
    if to_simplified:
        text = _opencc_t2s().convert(text)
    text = _CJK_PUNCTUATION.sub(lambda m: m.group().translate(_FULL_WIDTH), text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    if not blank_lines:
        return "\n".join(line for line in lines if line)
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text.strip("\n")


def _opencc_t2s():
    opencc = _require("opencc", "opencc-python-reimplemented", "--to-simplified")
    return opencc.OpenCC("t2s")


# ------------------------------------------------------------------ masking

# Not inside a longer number: no digit (or digit and "." / ",") on either side.
_NUMBER_START = r"(?<![\d])(?<!\d[.,])"
_NUMBER_END = r"(?![\d])(?![.,]\d)"
EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]*[A-Za-z0-9_%+-])?"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
    r"(?![\w-])",
    re.ASCII,
)
# 18 characters: 6-digit region, birth date YYYYMMDD, 3-digit sequence, check.
RESIDENT_ID = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}\d{4}\d{3}[\dXx](?![0-9A-Za-z])"
)
PHONE = re.compile(
    _NUMBER_START
    + r"(?:"
    # Chinese mobile: 1[3-9]X XXXX XXXX, maybe after +86 / 0086 / (+86).
    + r"(?:(?:\+|00)86[ -]?|\(\+86\)\s?)?1[3-9]\d(?:[ -]?\d{4}){2}"
    # Chinese landline: (0AA[A]) or 0AA[A]- then a 7 or 8 digit local number.
    + r"|(?:\(0\d{2,3}\)\s?|0\d{2,3}-)[2-9]\d{2,3}[ -]?\d{4}"
    # International: +CC then groups of digits, maybe one in parentheses.
    + r"|(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}"
    + r")"
    + _NUMBER_END
)
# ISO 7064 MOD 11-2: weights 2^(17-i) mod 11, check characters by remainder.
_ID_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
_ID_CHECK = "10X98765432"


def is_resident_id(number: str) -> bool:
    """Whether `number` is a valid 18-character Chinese resident ID number.

    Checks the form (17 digits then a digit or X), the birth date (a real day
    from 1800 to today) and the ISO 7064 MOD 11-2 check character, so that a
    random 18-digit number is almost never taken for one.

    Args:
        number: the candidate, e.g. ``"11010519491231002X"``.

    Returns:
        True if all three checks pass.

    Example:
        >>> is_resident_id("11010519491231002X"), is_resident_id("110105194912310021")
        (True, False)

    Reference:
        GB 11643-1999, Citizen identification number; ISO 7064:1983, MOD 11-2.
    """
    if not re.fullmatch(r"[1-9]\d{16}[\dXx]", number):
        return False
    try:
        born = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if not datetime.date(1800, 1, 1) <= born <= datetime.date.today():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def _is_phone(match: str) -> bool:
    digits = sum(ch.isdigit() for ch in match)
    # E.164 numbers have at most 15 digits; fewer than 8 is a short number
    # (or arithmetic such as "+1 2 3"), not a phone number.
    return 8 <= digits <= 15 if match.startswith("+") else True


def mask_personal_data(text: str) -> tuple[str, dict[str, int]]:
    """Replace e-mail addresses, phone numbers and resident ID numbers by tags.

    E-mail addresses become ``<EMAIL>``; Chinese resident ID numbers that pass
    `is_resident_id` ``<ID>``; Chinese mobile numbers (``13800138000``,
    ``+86 138-0013-8000``), landlines (``010-62345678``, ``(0755) 8888 6666``)
    and international numbers (``+44 20 7946 0958``, ``+1 (415) 555-2671``)
    ``<PHONE>``. Dates (``2024-05-01``, ``2024年5月1日``) and other numbers
    (``3.14159265358979``, ``1,234,567``, an 18-digit number whose check digit
    is wrong) stay. Run it on normalised text (`normalize`): full-width digits
    and ``＠`` are ASCII there.

    Args:
        text: the text.

    Returns:
        The masked text and the number of replacements per kind
        (``{"email": 1, "phone": 0, "id": 2}``).

    Example:
        >>> mask_personal_data("Mail a.b@example.org or call +1 (415) 555-2671.")
        ('Mail <EMAIL> or call <PHONE>.', {'email': 1, 'phone': 1, 'id': 0})
    """
    counts = dict.fromkeys(TAGS, 0)

    def replace(kind, check=None):
        def sub(match):
            if check is not None and not check(match.group()):
                return match.group()
            counts[kind] += 1
            return TAGS[kind]

        return sub

    # E-mails first (their digits are not phone numbers), then IDs (a phone
    # pattern never looks inside an 18-digit run), then phones.
    text = EMAIL.sub(replace("email"), text)
    text = RESIDENT_ID.sub(replace("id", is_resident_id), text)
    text = PHONE.sub(replace("phone", _is_phone), text)
    return text, counts


# ------------------------------------------------------------------ filters


def symbol_ratio(text: str) -> float:
    """The share of non-space characters that are not letters (digits,
    punctuation, symbols); Chinese characters are letters. 0 for no text.

    Example:
        >>> symbol_ratio("abc 123"), symbol_ratio("数据 2024")
        (0.5, 0.6666666666666667)
    """
    visible = len(text) - _SPACE.subn("", text)[1]
    if not visible:
        return 0.0
    return 1 - _LETTER.subn("", text)[1] / visible


# Letters of any script (word characters that are not digits or "_").
_LETTER = re.compile(r"[^\W\d_]")
_SPACE = re.compile(r"\s")


def repeated_line_ratio(text: str) -> float:
    """The share of non-empty lines that repeat an earlier line of `text`."""
    lines = [line for line in text.split("\n") if line.strip()]
    return (len(lines) - len(set(lines))) / len(lines) if lines else 0.0


def is_mojibake(text: str) -> bool:
    """Whether `text` looks like text decoded with the wrong encoding.

    Three signs: ftfy's detector (UTF-8 read as Latin-1 or Windows-1252,
    ``cafÃ©``); the replacement character U+FFFD (or its famous GBK form
    ``锟斤拷``), left where bytes could not be decoded; and UTF-8 read as GBK
    (``鏁版嵁娓呮礂``), which ftfy misses: encoding the text back to GBK then
    gives valid UTF-8 Chinese for a large share of it, while real Chinese text
    gives almost none.

    Args:
        text: the text (ftfy needs ``pip install "zoo[clean]"``).

    Returns:
        True if any sign is found.

    Example:
        >>> is_mojibake("数据清洗"), is_mojibake("数据清洗".encode().decode("gbk"))
        (False, True)
    """
    if "\ufffd" in text or "锟斤拷" in text:
        return True
    if _gbk_mojibake(text):
        return True
    badness = _require("ftfy.badness", "ftfy", "the mojibake filter")
    return bool(badness.is_bad(text))


_HAN_CHAR = re.compile(f"[{_HAN}]")


def _gbk_mojibake(text: str) -> bool:
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    if non_ascii < 3:
        return False
    try:
        raw = text.encode("gb18030")
    except UnicodeEncodeError:
        return False
    recovered = len(_HAN_CHAR.findall(raw.decode("utf-8", errors="replace")))
    # Real Chinese: at most ~0.1 (measured on the bundled Tang poems);
    # mojibake: 0.35 or more.
    return recovered >= 3 and recovered >= 0.25 * non_ascii


# --------------------------------------------------------- near duplicates

_MULTIPLIER = np.uint64(0x100000001B3)  # the 64-bit FNV prime


def shingle_hashes(text: str, size: int = 5) -> np.ndarray:
    """The distinct character `size`-grams of `text`, as sorted 64-bit hashes.

    The text is lower-cased and its whitespace collapsed to single spaces
    first, so layout does not count. Characters, not words, so Chinese needs
    no word segmentation. A text shorter than `size` is one shingle.

    Args:
        text: the text.
        size: characters per shingle.

    Returns:
        A sorted ``uint64`` array of distinct hashes (a set of shingles).

    Example:
        >>> len(shingle_hashes("abcabc", 3))  # abc, bca, cab
        3
    """
    text = " ".join(text.lower().split())
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if codes.size == 0:
        return codes
    size = min(size, codes.size)
    n = codes.size - size + 1
    hashes = np.zeros(n, dtype=np.uint64)
    for j in range(size):  # a polynomial hash of each window (wraps mod 2^64)
        hashes = hashes * _MULTIPLIER + codes[j : j + n] + np.uint64(1)
    # splitmix64's finaliser spreads the bits, for MinHash.
    hashes ^= hashes >> np.uint64(30)
    hashes *= np.uint64(0xBF58476D1CE4E5B9)
    hashes ^= hashes >> np.uint64(27)
    hashes *= np.uint64(0x94D049BB133111EB)
    hashes ^= hashes >> np.uint64(31)
    return np.unique(hashes)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity |A ∩ B| / |A ∪ B| of two `shingle_hashes` sets."""
    if a.size == 0 and b.size == 0:
        return 1.0
    common = np.intersect1d(a, b, assume_unique=True).size
    return common / (a.size + b.size - common)


class _NearDuplicates:
    """Kept documents' MinHash signatures in an LSH index, and their shingles.

    LSH proposes the earlier documents that probably share many shingles; the
    exact Jaccard similarity decides. Its bands are chosen to miss few pairs
    above the threshold (false positives only cost one exact comparison).
    """

    def __init__(self, threshold, *, num_perm, seed, shingle_size):
        datasketch = _require("datasketch", "datasketch", "near-duplicate removal")
        self.datasketch = datasketch
        self.threshold = threshold
        self.num_perm = num_perm
        self.seed = seed
        self.shingle_size = shingle_size
        self.lsh = datasketch.MinHashLSH(
            threshold=threshold, num_perm=num_perm, weights=(0.2, 0.8)
        )
        self.shingles = {}
        self.empty = datasketch.MinHash(num_perm=num_perm, seed=seed, hashfunc=int)

    def find(self, key: int, text: str) -> tuple[int, float] | None:
        """The earlier kept document that `text` nearly duplicates (its key and
        the Jaccard similarity), or None, in which case `text` is kept."""
        shingles = shingle_hashes(text, self.shingle_size)
        signature = self.empty.copy()  # copies the permutations, not re-drawn
        signature.update_batch((shingles >> np.uint64(32)).tolist())  # 32-bit
        best = None
        for other in sorted(self.lsh.query(signature)):
            similarity = jaccard(shingles, self.shingles[other])
            if similarity >= self.threshold and (best is None or similarity > best[1]):
                best = (other, similarity)
        if best is None:
            self.lsh.insert(key, signature)
            self.shingles[key] = shingles
        return best


# ----------------------------------------------------------------- pipeline


@dataclass
class Cleaned:
    """What `clean_documents` returns.

    Attributes:
        documents: the kept documents, cleaned, in input order.
        kept: the index in the input of each kept document.
        report: JSON-able counts: ``before`` and ``after`` sizes, ``removed``
            per rule and ``masked`` per tag, each with a few examples (taken
            from masked text, so the report holds no personal data),
            ``normalized`` and the ``options`` used.
    """

    documents: list[str]
    kept: list[int]
    report: dict = field(default_factory=dict)


def clean_documents(
    documents,
    *,
    threshold: float = DEFAULTS["threshold"],
    min_chars: int = DEFAULTS["min_chars"],
    max_chars: int = DEFAULTS["max_chars"],
    max_symbol_ratio: float = DEFAULTS["max_symbol_ratio"],
    max_repeated_lines: float = DEFAULTS["max_repeated_lines"],
    to_simplified: bool = DEFAULTS["to_simplified"],
    mask: bool = DEFAULTS["mask"],
    shingle_size: int = DEFAULTS["shingle_size"],
    num_perm: int = DEFAULTS["num_perm"],
    seed: int = DEFAULTS["seed"],
    blank_lines: bool = False,
) -> Cleaned:
    """Clean a list of documents (the pipeline of this module's docstring).

    Args:
        documents: the texts.
        threshold: Jaccard similarity of character shingles at or above which
            a document is a near duplicate of an earlier one; 1 keeps every
            document that differs in at least one shingle.
        min_chars: documents with fewer characters (after normalising and
            masking) are removed as too short.
        max_chars: documents with more characters are removed as too long.
        max_symbol_ratio: documents whose non-space characters are more than
            this share digits, punctuation or symbols are removed.
        max_repeated_lines: documents in which more than this share of the
            lines repeat an earlier line are removed.
        to_simplified: convert traditional Chinese to simplified.
        mask: replace personal data by tags (`mask_personal_data`).
        shingle_size: characters per shingle for near duplicates.
        num_perm: MinHash permutations (more: fewer missed near duplicates).
        seed: the MinHash seed.
        blank_lines: documents keep their paragraph breaks (whole files);
            see `normalize`.

    Returns:
        A `Cleaned`: the kept documents, their input indices and the report.

    Example:
        >>> line = "To be, or not to be, that is the question: whether 'tis nobler"
        >>> near = line.replace("be, that", "be: that")
        >>> cleaned = clean_documents([line, line, near])
        >>> cleaned.kept, cleaned.report["removed"]["exact_duplicate"]["documents"]
        ([0], 1)
        >>> cleaned.report["removed"]["near_duplicate"]["examples"][0]["jaccard"]
        0.867
    """
    options = {
        "threshold": threshold,
        "min_chars": min_chars,
        "max_chars": max_chars,
        "max_symbol_ratio": max_symbol_ratio,
        "max_repeated_lines": max_repeated_lines,
        "to_simplified": to_simplified,
        "mask": mask,
        "shingle_size": shingle_size,
        "num_perm": num_perm,
        "seed": seed,
    }
    _check_options(options)
    documents = list(documents)
    near = _NearDuplicates(
        threshold, num_perm=num_perm, seed=seed, shingle_size=shingle_size
    )
    removed = {
        rule: {"documents": 0, "characters": 0, "examples": []} for rule in RULES
    }
    masked = {kind: {"matches": 0, "documents": 0, "examples": []} for kind in TAGS}
    normalized = {"documents": 0, "examples": []}
    seen = {}  # sha256 of a text that reached deduplication -> its index
    kept_docs, kept = [], []
    for index, raw in enumerate(documents):
        text = normalize(raw, to_simplified=to_simplified, blank_lines=blank_lines)
        if text != raw:
            normalized["documents"] += 1
            _example(normalized, {"before": _short(raw), "after": _short(text)})
        if mask:
            text, counts = mask_personal_data(text)
            for kind, count in counts.items():
                if count:
                    masked[kind]["matches"] += count
                    masked[kind]["documents"] += 1
                    _example(masked[kind], _around(text, TAGS[kind]))
        rule, detail = _first_rule(raw, text, options, seen, near, index)
        if rule is not None:
            removed[rule]["documents"] += 1
            removed[rule]["characters"] += len(raw)
            _example(removed[rule], {"text": _short(text), **detail})
            continue
        kept_docs.append(text)
        kept.append(index)
    report = {
        "before": _sizes(documents),
        "after": _sizes(kept_docs),
        "removed": removed,
        "masked": masked,
        "normalized": normalized,
        "options": options,
    }
    return Cleaned(kept_docs, kept, report)


def _first_rule(raw, text, options, seen, near, index):
    """The first rule that removes `text` (and details for the report)."""
    if is_mojibake(text) or (raw != text and is_mojibake(raw)):
        return "mojibake", {}
    if len(text) < options["min_chars"]:
        return "too_short", {"characters": len(text)}
    if len(text) > options["max_chars"]:
        return "too_long", {"characters": len(text)}
    ratio = symbol_ratio(text)
    if ratio > options["max_symbol_ratio"]:
        return "symbols", {"ratio": round(ratio, 3)}
    ratio = repeated_line_ratio(text)
    if ratio > options["max_repeated_lines"]:
        return "repeated_lines", {"ratio": round(ratio, 3)}
    digest = _digest(text)
    if digest in seen:
        return "exact_duplicate", {"of": seen[digest]}
    seen[digest] = index  # a copy of a near duplicate is an exact one too
    found = near.find(index, text)
    if found is not None:
        return "near_duplicate", {"of": found[0], "jaccard": round(found[1], 3)}
    return None, {}


def _check_options(options: dict) -> None:
    if not 0 < options["threshold"] <= 1:
        raise ZooError(
            f"--threshold is a Jaccard similarity in (0, 1], got {options['threshold']}"
        )
    if options["min_chars"] < 1:
        raise ZooError(f"--min-chars must be at least 1, got {options['min_chars']}")
    if options["max_chars"] < options["min_chars"]:
        raise ZooError(
            f"--max-chars ({options['max_chars']}) is below --min-chars "
            f"({options['min_chars']}): every document would be removed"
        )
    for key in ("max_symbol_ratio", "max_repeated_lines"):
        if not 0 <= options[key] <= 1:
            raise ZooError(f"{key} is a share in [0, 1], got {options[key]}")
    for key in ("shingle_size", "num_perm"):
        if options[key] < 1:
            raise ZooError(f"{key} must be at least 1, got {options[key]}")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sizes(documents) -> dict:
    return {"documents": len(documents), "characters": sum(map(len, documents))}


def _short(text: str) -> str:
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 3] + "..."


def _around(text: str, tag: str) -> str:
    """The masked text around the first `tag`: what the mask looks like."""
    at = text.index(tag)
    start = max(0, at - EXAMPLE_CHARS // 2)
    return _short(text[start:])


def _example(entry: dict, example) -> None:
    if len(entry["examples"]) < EXAMPLES:
        entry["examples"].append(example)


def _require(module: str, package: str, what: str):
    """Import an optional library, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ZooError(
            f"{what} needs {package}, which is not installed; {INSTALL}"
        ) from None


# ---------------------------------------------------------------- files


def read_documents(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Read the documents of a UTF-8 file or folder, as (name, text) pairs.

    A file: each block of lines between blank lines (lines of only
    whitespace count as blank) is a document, named by its number. A folder:
    each ``.txt`` file in it, in name order, is a document named by its file
    name (subfolders and other files are not read; empty files are skipped).
    The errors are `zoo train`'s (`zoo.data.load_text`).

    Args:
        path: the file or folder.

    Returns:
        The (name, text) pairs.
    """
    from zoo.data.corpora import _read_text

    path = Path(path)
    if not path.exists():
        raise ZooError(f"{path}: no such file or folder")
    if path.is_file():
        text = _read_text(path)
        if not text.strip():
            raise ZooError(f"{path}: the file is empty (or only whitespace)")
        blocks = (b for b in re.split(r"\n\s*\n", text) if b.strip())
        return [(str(i), block.strip("\n")) for i, block in enumerate(blocks)]
    files = sorted(p for p in path.glob("*.txt") if p.is_file())
    if not files:
        raise ZooError(f"{path}: the folder has no .txt files")
    texts = [(f.name, _read_text(f)) for f in files]
    texts = [(name, text) for name, text in texts if text.strip()]
    if not texts:
        raise ZooError(f"{path}: every .txt file in the folder is empty")
    return texts


def clean(
    source: str | os.PathLike,
    out: str | os.PathLike,
    *,
    report: str | os.PathLike | None = None,
    **options,
) -> dict:
    """Clean a file or folder of documents into `out` (``zoo clean``).

    A file gives a file: the kept documents, cleaned, one blank line between
    two, which ``zoo train --data OUT`` reads directly. A folder gives a folder
    that mirrors it: each kept ``.txt`` file, cleaned, under its own name; an
    existing `out` folder is replaced only if it is empty or an earlier output
    of `clean`. The input is never changed, and `out` and `report` may not be
    (or lie inside) the input. Both are written atomically: to a temporary
    name beside them, then renamed, so a failure leaves nothing half-written.

    Args:
        source: a UTF-8 file or a folder of ``.txt`` files.
        out: where the cleaned file or folder goes.
        report: if given, a JSON file for the report.
        **options: `clean_documents`'s keyword arguments.

    Returns:
        The report (`Cleaned.report`, with ``input`` and ``output``).

    Example:
        >>> report = clean("raw.txt", "clean.txt", report="r.json")  # doctest: +SKIP
        >>> list(report["removed"]) == list(RULES)  # doctest: +SKIP
        True
    """
    source, out = Path(source), Path(out)
    folder = source.is_dir()
    _check_paths(source, out, None if report is None else Path(report), folder)
    named = read_documents(source)
    cleaned = clean_documents(
        [text for _, text in named], blank_lines=folder, **options
    )
    if not cleaned.documents:
        raise ZooError(
            f"{source}: every document was removed ({_removed_summary(cleaned.report)}"
            "); nothing was written. Loosen the filters (--min-chars, --threshold)"
        )
    result = {"input": str(source), "output": str(out), **cleaned.report}
    if folder:
        files = {
            named[i][0]: text + "\n"
            for i, text in zip(cleaned.kept, cleaned.documents, strict=True)
        }
        _write_folder(out, files, {"input": str(source), **cleaned.report["after"]})
    else:
        _write_file(out, "\n\n".join(cleaned.documents) + "\n")
    if report is not None:
        text = json.dumps(result, ensure_ascii=False, indent=1) + "\n"
        _write_file(Path(report), text)
    return result


def _removed_summary(report: dict) -> str:
    counts = [f"{k} {v['documents']}" for k, v in report["removed"].items()]
    return ", ".join(c for c in counts if not c.endswith(" 0"))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _check_paths(source: Path, out: Path, report: Path | None, folder: bool) -> None:
    """Refuse outputs that would change the input (before any work is done)."""
    if not source.exists():
        raise ZooError(f"{source}: no such file or folder")
    src = source.resolve()
    targets = [("--out", out)] + ([("--report", report)] if report else [])
    for flag, target in targets:
        where = target.resolve()
        same = target.exists() and os.path.samefile(target, source)
        if same or (folder and (_inside(where, src) or _inside(src, where))):
            raise ZooError(
                f"{target}: {flag} would overwrite the input {source}; zoo clean "
                f"never changes its input, choose another {flag}"
            )
    if report is not None and report.resolve() == out.resolve():
        raise ZooError(f"{report}: --report and --out are the same path")
    if report is not None and folder and _inside(report.resolve(), out.resolve()):
        raise ZooError(
            f"{report}: --report lies inside the --out folder, which is replaced "
            "on every run; write it beside the folder"
        )
    if report is not None and report.is_dir():
        raise ZooError(f"{report}: --report is a folder; give a file name")
    if folder:
        if out.exists() and not out.is_dir():
            raise ZooError(
                f"{out}: is a file, but the input is a folder; give --out a "
                "folder name (the output mirrors the input folder)"
            )
        if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
            raise ZooError(
                f"{out}: the folder exists and is not an earlier zoo clean "
                "output; choose a new or empty folder for --out"
            )
    elif out.is_dir():
        raise ZooError(
            f"{out}: is a folder, but the input is a file; give --out a file name"
        )


def _write_file(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (temporary file, then os.replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_folder(path: Path, files: dict[str, str], marker: dict) -> None:
    """Write a folder of files atomically: build it beside `path`, then swap."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    old = None
    try:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8", newline="\n")
        (tmp / MARKER).write_text(json.dumps(marker, ensure_ascii=False) + "\n")
        if path.exists():  # an earlier output (checked): moved aside, then deleted
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old."))
            os.replace(path, old / path.name)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not path.exists():
            os.replace(old / path.name, path)  # put the earlier output back
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
