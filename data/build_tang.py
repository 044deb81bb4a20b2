"""Build the bundled Tang poetry corpus from the chinese-poetry JSON files.

The chinese-poetry collection (MIT licence) stores the Complete Tang Poems
(全唐诗) and the Three Hundred Tang Poems (唐诗三百首) as JSON in traditional
characters. This script reads the first ten files of 全唐诗 and 唐诗三百首,
unmodified, checks them against their sha256 sums, converts them to
simplified characters with OpenCC (``t2s``), makes every punctuation mark
full-width, drops incomplete and duplicate poems, splits by **author** into
train / valid / test, and writes::

    data/tang/train.txt.gz   one poem after another, a blank line between two:
    data/tang/valid.txt.gz   its title line, its author line, then its lines
    data/tang/test.txt.gz    as in the source (mostly one couplet a line)
    data/tang/splits.json    which authors are in which split, counts, sources
    data/tang/LICENSE        the collection's MIT licence, as in the source
    data/tang/SHA256SUMS     sha256 of the files above

One poem, as written::

    辋川集　鹿柴
    王维
    空山不见人，但闻人语响。
    返景入深林，复照青苔上。

The output is byte-for-byte reproducible: sources read in a fixed order, gzip
with a fixed level, no file name and a zero time stamp. Every file is written
to a temporary file in the same folder and then renamed, SHA256SUMS last, so a
crash never leaves a half-written file that the loader would accept.

Usage::

    pip install opencc-python-reimplemented==0.1.7   # for this script only
    git clone https://github.com/chinese-poetry/chinese-poetry
    git -C chinese-poetry checkout 99ebbef7e1345c0985c44b9fd96a3f9e776f117b
    python -m zoo._bundled.build_tang --source chinese-poetry
    python -m zoo._bundled.build_tang --source chinese-poetry --check

`--check` rebuilds into a temporary folder and compares the bytes with the
files in place (exit status 1 on any difference).

This file is ``data/build_tang.py`` in the repository and the module
``zoo._bundled.build_tang`` once zoo is installed (setup.cfg maps the folder
into the package). `--out` defaults to the ``tang/`` folder next to it.
OpenCC is needed by this script only, never by zoo at run time.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.metadata
import io
import json
import os
import re
import sys
import tempfile
from pathlib import Path

from zoo.errors import ZooError

REPOSITORY = "https://github.com/chinese-poetry/chinese-poetry"
COMMIT = "99ebbef7e1345c0985c44b9fd96a3f9e776f117b"
# The files read, in this order, with their sha256 at COMMIT. A source folder
# that also has a SHA256SUMS file (`sha256sum -c` format) is checked against it
# too, every file it lists.
SOURCES = {
    **{
        f"全唐诗/poet.tang.{n}.json": digest
        for n, digest in (
            (0, "4f88f429938082523cdc72a1612bd7a7c3e3f7a33f8192c61ae51340efc3c92d"),
            (1000, "6e703b8d8dcedbd6110f6d48d043665ca2131db2035a5bfcef5e59a19aeb6d75"),
            (2000, "ec28efa7e2ae9cdbbba09f0ed186e32ccae47a325ad1e5816b7ad56071c1665a"),
            (3000, "9e4ba2323752b6b9fbdba875cdbc6a26636fe0cabc85fd066370d4915952001f"),
            (4000, "b8a7946c879b9658a6c667a4c55f776fae7e5e00a17789ab06b274c1429afc66"),
            (5000, "a0306e6962cff01639ad9a00b042a201b8dec1f30fa5d768a7b112589887861e"),
            (6000, "982a21d2b15922b406911f1c825785054314c686da86b2155d7aebb362d22771"),
            (7000, "a6fb69d7b4343c904dc56ae5aae34facc2478d196b51c37ceba9d1e2f171b342"),
            (8000, "ac3848e95b02736168003863795de4474838c2d6a71a24ca2a4a280ea5177773"),
            (9000, "b99d6596e3a1fe1a661652383083f92d196b8baf4e461d087081d5e1e1b7a51f"),
        )
    },
    "全唐诗/唐诗三百首.json": (
        "d77a145f7470da2ed2f79515944563c062ffc43fceda07f195a36ead66b7e5c7"
    ),
}
# The collection's MIT licence, copied into the corpus folder as its terms ask.
LICENSE = (
    "LICENSE",
    "c195319aeaa3ffcbe16aa5d26eec19eae5a42f84337dd2b3dc3c9d5ccbbd6507",
)
# The converter the bundled files were built with: a pure-Python wheel, so it
# installs anywhere; on these files its t2s output equals the official
# OpenCC 1.1.9's.
OPENCC = "opencc-python-reimplemented"
OPENCC_VERSION = "0.1.7"
OPENCC_PIN = f"{OPENCC}=={OPENCC_VERSION}"
OPENCC_CONFIG = "t2s"
REBUILD_COMMAND = (
    f"pip install {OPENCC_PIN} && git clone {REPOSITORY} && "
    f"git -C chinese-poetry checkout {COMMIT} && "
    "python -m zoo._bundled.build_tang --source chinese-poetry"
)

SPLITS = ("train", "valid", "test")
COMPRESSLEVEL = 9
POEM_SEPARATOR = "\n"  # each poem ends in "\n", so this leaves one blank line
# The split rule: authors (co-authors such as "魏征、褚亮" grouped with each
# of their names) in the order of the sha256 of SPLIT_SALT + their name, a
# fixed shuffle, each group whole; valid takes groups until it holds HELD_OUT
# of the characters, then test does; every other group is training text. A
# group with more than BIG_AUTHOR of the characters (李白, or 不详: the poems
# of unknown authorship) always stays in training, so neither held-out split
# overshoots by much. Then a held-out poem that repeats a whole line of an
# earlier split (train, then valid) is left out (`drop_shared_lines`).
HELD_OUT = 0.05
BIG_AUTHOR = 0.01
SPLIT_SALT = "zoo-tang:"

# Full-width punctuation, the only kind the corpus keeps.
PUNCTUATION = "，。？！：；、“”‘’《》"
TITLE_SPACE = "\u3000"  # the ideographic space: only inside titles
# ASCII and half-width marks -> full width; corner brackets -> the quotation
# marks used with simplified characters.
WIDTH = str.maketrans(
    {
        ",": "，",
        ".": "。",
        "?": "？",
        "!": "！",
        ":": "：",
        ";": "；",
        "(": "（",
        ")": "）",
        "\uff61": "。",  # HALFWIDTH IDEOGRAPHIC FULL STOP
        "\uff64": "、",  # HALFWIDTH IDEOGRAPHIC COMMA
        "「": "“",
        "」": "”",
        "『": "‘",
        "』": "’",
    }
)
# An editor's note on a variant reading, e.g. 邏人（一作「叉」）橫鳥道.
VARIANT_NOTE = re.compile(r"（[^（）]*）")
# Editorial marks: [爽] is an emendation (keep the character), and a "/" is
# left over from a variant note.
EDITORIAL = str.maketrans("", "", "[]/")
# A poem with a lost character (□) or a character described by its parts
# ({臨/手}, not in Unicode) is incomplete and left out.
INCOMPLETE = ("□", "{", "}")
# CJK ideographs: URO, Ext A, compatibility, Ext B-H (a fixed table, so the
# check does not depend on the Python's Unicode version); 〇 counts as one.
IDEOGRAPHS = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x323AF),
)


def is_ideograph(ch: str) -> bool:
    """Whether `ch` is a CJK ideograph (or 〇)."""
    code = ord(ch)
    return ch == "〇" or any(lo <= code <= hi for lo, hi in IDEOGRAPHS)


def verify_source(source: str | os.PathLike) -> dict[str, bytes]:
    """Read the source files and check their sha256 sums first.

    Args:
        source: the chinese-poetry folder (a clone of the repository, or a
            folder with the same layout holding at least the files of
            `SOURCES`, optionally with a SHA256SUMS file).

    Returns:
        Source path (e.g. "全唐诗/poet.tang.0.json") -> raw bytes, in the
        order of `SOURCES`, then "LICENSE".

    Example:
        >>> files = verify_source("chinese-poetry")  # doctest: +SKIP
        >>> len(files)  # doctest: +SKIP
        11
    """
    folder = Path(source)
    if not folder.is_dir():
        raise ZooError(
            f"{folder}: no such folder; get the source with `git clone "
            f"{REPOSITORY}` (commit {COMMIT})"
        )
    sums_file = folder / "SHA256SUMS"
    listed: dict[str, str] = {}
    if sums_file.is_file():
        for line in sums_file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                digest, _, name = line.partition(" ")
                listed[name.strip().lstrip("*")] = digest
        for name, digest in sorted(listed.items()):
            path = folder / name
            if not path.is_file():
                raise ZooError(f"{path}: listed in {sums_file} but missing")
            if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                raise ZooError(f"{path}: does not match {sums_file}")
    files: dict[str, bytes] = {}
    for name, digest in (*SOURCES.items(), LICENSE):
        path = folder / name
        if not path.is_file():
            raise ZooError(
                f"{path}: missing; is {folder} the chinese-poetry repository "
                f"(commit {COMMIT})?"
            )
        data = path.read_bytes()
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest or listed.get(name, digest) != digest:
            raise ZooError(
                f"{path}: sha256 {actual[:12]}..., expected {digest[:12]}... "
                f"(the file at commit {COMMIT}); this build reads only those files"
            )
        files[name] = data
    return files


def converter():
    """OpenCC's traditional -> simplified converter (`OPENCC_CONFIG`)."""
    try:
        from opencc import OpenCC
    except ImportError as err:
        raise ZooError(
            f"OpenCC is not installed; `pip install {OPENCC_PIN}` (needed to "
            "build the corpus only)"
        ) from err
    return OpenCC(OPENCC_CONFIG)


def opencc_note() -> str | None:
    """A note when the installed converter is not the pinned one."""
    try:
        version = importlib.metadata.version(OPENCC)
    except importlib.metadata.PackageNotFoundError:
        version = None
    if version == OPENCC_VERSION:
        return None
    return (
        f"note: the bundled files were built with {OPENCC_PIN}; "
        f"{OPENCC} {version or 'is not installed (another opencc is)'}: "
        "another dictionary may convert some characters differently"
    )


def clean_field(text: str, convert, *, where: str, spaces: bool = False) -> str:
    """One title, author or poem line: simplified, full-width punctuation only.

    Args:
        text: the field as in the source.
        convert: the traditional -> simplified function (`converter().convert`).
        where: names the field in error messages.
        spaces: keep inner spaces as one ideographic space each (titles);
            otherwise whitespace is removed.

    Returns:
        The cleaned field; ZooError if a character is neither an ideograph nor
        one of `PUNCTUATION` (nor the title space).

    Example:
        >>> clean_field("[爽]節在重九, 物華新雨餘.", lambda s: s, where="x")
        '爽節在重九，物華新雨餘。'
    """
    text = convert(text).translate(WIDTH)
    text = VARIANT_NOTE.sub("", text).translate(EDITORIAL)
    words = text.split()
    text = (TITLE_SPACE if spaces else "").join(words)
    for left, right in ("“”", "‘’", "《》"):
        if text.count(left) != text.count(right):  # a stray quote: drop the pair
            text = text.replace(left, "").replace(right, "")
    allowed = PUNCTUATION + (TITLE_SPACE if spaces else "")
    bad = sorted({ch for ch in text if not (is_ideograph(ch) or ch in allowed)})
    if bad:
        raise ZooError(
            f"{where}: characters that are neither ideographs nor full-width "
            f"punctuation: {bad} in {text!r}; extend the cleaning in build_tang.py"
        )
    return text


def read_poems(files: dict[str, bytes], convert) -> tuple[list[dict], dict]:
    """Every complete poem, cleaned, in source order, without duplicates.

    Returns:
        (poems, dropped): poems as {"title", "author", "lines", "source"}, and
        the counts of poems left out ({"incomplete", "empty", "duplicate"}).
        A duplicate has the same characters as an earlier poem once the
        punctuation is removed; the first one is kept.
    """
    poems: list[dict] = []
    dropped = {"incomplete": 0, "empty": 0, "duplicate": 0}
    seen: set[str] = set()
    for name, data in files.items():
        try:
            entries = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ZooError(f"{name}: not UTF-8 JSON ({err})") from err
        for index, entry in enumerate(entries):
            where = f"{name}[{index}]"
            fields = [entry.get("title", ""), entry.get("author", "")]
            raw_lines = list(entry.get("paragraphs", []))
            if any(mark in s for s in fields + raw_lines for mark in INCOMPLETE):
                dropped["incomplete"] += 1
                continue
            title = clean_field(fields[0], convert, where=where, spaces=True)
            author = clean_field(fields[1], convert, where=where) or "不详"
            lines = [clean_field(s, convert, where=where) for s in raw_lines]
            lines = [line for line in lines if line]
            if not lines or not title:
                dropped["empty"] += 1
                continue
            key = "".join(ch for line in lines for ch in line if is_ideograph(ch))
            if key in seen:
                dropped["duplicate"] += 1
                continue
            seen.add(key)
            poems.append(
                {"title": title, "author": author, "lines": lines, "source": name}
            )
    return poems, dropped


def poem_text(poem: dict) -> str:
    """A poem's block: title line, author line, its lines; ends in "\\n"."""
    return "".join(
        line + "\n" for line in [poem["title"], poem["author"]] + poem["lines"]
    )


def author_groups(authors) -> dict[str, str]:
    """Author -> the key of its group: co-authors ("魏征、褚亮") join the
    groups of each of their names, so a split by group keeps every poet whole.
    """
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name

    for author in sorted(authors):
        names = author.split("、")
        for name in names[1:]:
            a, b = sorted((root(names[0]), root(name)))
            parent[b] = a
    members: dict[str, set[str]] = {}
    for author in authors:
        for name in author.split("、"):
            members.setdefault(root(name), set()).add(name)
    return {
        author: "、".join(sorted(members[root(author.split("、")[0])]))
        for author in authors
    }


def assign_splits(poems: list[dict]) -> dict[str, str]:
    """Author -> split, by the rule stated at `HELD_OUT` (whole author groups)."""
    group_of = author_groups({poem["author"] for poem in poems})
    size: dict[str, int] = {}
    for poem in poems:
        group = group_of[poem["author"]]
        size[group] = size.get(group, 0) + len(poem_text(poem))
    total = sum(size.values())
    order = sorted(
        size, key=lambda g: hashlib.sha256((SPLIT_SALT + g).encode()).hexdigest()
    )
    split_of = dict.fromkeys(order, "train")
    filled = {"valid": 0, "test": 0}
    for group in order:
        if size[group] > BIG_AUTHOR * total:
            continue
        for split in ("valid", "test"):
            if filled[split] < HELD_OUT * total:
                split_of[group] = split
                filled[split] += size[group]
                break
    return {author: split_of[group] for author, group in group_of.items()}


def drop_shared_lines(poems: list[dict], split_of: dict[str, str]) -> list[dict]:
    """Held-out poems that repeat a whole line of an earlier split, left out.

    The same poem is sometimes given to two poets, with a character or two
    changed, and court hymns repeat their formulas; such a poem in valid
    (test) that shares a line with train (train or valid) would leak it.
    """
    earlier: set[str] = set()
    kept = []
    for split in SPLITS:
        mine = [p for p in poems if split_of[p["author"]] == split]
        mine = [p for p in mine if not earlier.intersection(p["lines"])]
        earlier.update(line for p in mine for line in p["lines"])
        kept += mine
    position = {id(p): i for i, p in enumerate(poems)}
    return sorted(kept, key=lambda p: position[id(p)])


def gzip_bytes(data: bytes) -> bytes:
    """Gzip with no file name, time stamp 0 and a fixed level: reproducible."""
    buffer = io.BytesIO()
    with gzip.GzipFile(
        filename="", mode="wb", fileobj=buffer, compresslevel=COMPRESSLEVEL, mtime=0
    ) as f:
        f.write(data)
    return buffer.getvalue()


def build(source: str | os.PathLike, *, convert=None) -> dict[str, bytes]:
    """Build the corpus files in memory.

    Args:
        source: see `verify_source`.
        convert: traditional -> simplified (default: OpenCC's t2s).

    Returns:
        Output file name -> bytes, in the order they must be written
        (SHA256SUMS last).

    Example:
        >>> list(build("chinese-poetry"))  # doctest: +SKIP
        ['train.txt.gz', 'valid.txt.gz', 'test.txt.gz', 'LICENSE', 'splits.json',
         'SHA256SUMS']
    """
    files = verify_source(source)
    licence = files.pop(LICENSE[0])
    if convert is None:
        convert = converter().convert
    poems, dropped = read_poems(files, convert)
    split_of = assign_splits(poems)
    kept = drop_shared_lines(poems, split_of)
    dropped["shared_line"] = len(poems) - len(kept)
    poems = kept
    texts: dict[str, list[str]] = {split: [] for split in SPLITS}
    authors: dict[str, dict[str, int]] = {split: {} for split in SPLITS}
    per_source: dict[str, dict[str, int]] = {name: {} for name in files}
    for poem in poems:
        split = split_of[poem["author"]]
        texts[split].append(poem_text(poem))
        authors[split][poem["author"]] = authors[split].get(poem["author"], 0) + 1
        counts = per_source[poem["source"]]
        counts[split] = counts.get(split, 0) + 1
    out: dict[str, bytes] = {}
    stats = {}
    for split in SPLITS:
        text = POEM_SEPARATOR.join(texts[split])
        out[f"{split}.txt.gz"] = gzip_bytes(text.encode("utf-8"))
        stats[split] = {
            "poems": len(texts[split]),
            "authors": len(authors[split]),
            "characters": len(text),
            "ideographs": sum(map(is_ideograph, text)),
            "lines": text.count("\n"),
            "bytes_gz": len(out[f"{split}.txt.gz"]),
        }
    info = {
        "corpus": "tang",
        "source": f"{REPOSITORY} at commit {COMMIT}, MIT licence (see LICENSE)",
        "files": [
            {
                "path": name,
                "sha256": SOURCES[name],
                "kept": {split: per_source[name].get(split, 0) for split in SPLITS},
            }
            for name in files
        ],
        "conversion": f"{OPENCC_PIN}, config {OPENCC_CONFIG} (traditional to "
        "simplified); punctuation made full-width",
        "layout": (
            "poems separated by one blank line; each poem is its title line, "
            "its author line, then its lines as in the source (mostly one "
            "couplet a line, e.g. 空山不见人，但闻人语响。), each ending in a newline"
        ),
        "split_rule": (
            "whole authors, co-authors grouped with each of their names: in the "
            f"order of sha256({SPLIT_SALT!r} + name), valid takes groups until "
            f"it holds {HELD_OUT:.0%} of the characters, then test does; groups "
            f"with more than {BIG_AUTHOR:.0%} of the characters, and all others, "
            "are train; a valid (test) poem that repeats a whole line of train "
            "(train or valid) is left out"
        ),
        "dropped": dropped,
        "counts": stats,
        "authors": {split: dict(sorted(authors[split].items())) for split in SPLITS},
    }
    out["LICENSE"] = licence
    out["splits.json"] = (json.dumps(info, ensure_ascii=False, indent=1) + "\n").encode(
        "utf-8"
    )
    sums = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n"
        for name, data in sorted(out.items())
    )
    out["SHA256SUMS"] = sums.encode("ascii")
    return out


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and `os.replace`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0o600; data files are for everyone
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write(files: dict[str, bytes], out_dir: str | os.PathLike) -> None:
    """Write the built files into `out_dir`, each atomically, in the given order.

    Example:
        >>> write(build("chinese-poetry"), "data/tang")  # doctest: +SKIP
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        write_atomic(out / name, data)


def compare(built_dir: Path, out_dir: Path) -> list[str]:
    """Differences between a fresh build and the files in `out_dir`."""
    problems = []
    for built in sorted(built_dir.iterdir()):
        target = out_dir / built.name
        if not target.is_file():
            problems.append(f"{target}: missing")
            continue
        new, old = built.read_bytes(), target.read_bytes()
        if new == old:
            continue
        note = ""
        if built.suffix == ".gz":
            try:
                if gzip.decompress(new) == gzip.decompress(old):
                    note = " (same text, different compression: another zlib?)"
            except (OSError, EOFError):
                note = " (not a valid gzip file)"
        problems.append(f"{target}: differs from a fresh build{note}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status.

    Returns:
        0 on success, 1 when `--check` finds a difference, 2 on bad input.

    Example:
        >>> main(["--source", "chinese-poetry", "--check"])  # doctest: +SKIP
        0
    """
    parser = argparse.ArgumentParser(
        prog="python -m zoo._bundled.build_tang",
        description="Build zoo's bundled Tang poetry corpus from the "
        f"chinese-poetry JSON files ({REPOSITORY}, commit {COMMIT}); needs "
        f"`pip install {OPENCC_PIN}`.",
    )
    parser.add_argument(
        "--source", required=True, help="the chinese-poetry folder (a clone)"
    )
    parser.add_argument(
        "--out",
        default=str(Path(__file__).resolve().parent / "tang"),
        help="output folder (default: the tang/ folder next to this script)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="rebuild into a temporary folder and compare with --out; "
        "exit 1 on any difference",
    )
    args = parser.parse_args(argv)
    out_dir = Path(args.out)
    try:
        files = build(args.source)
    except ZooError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    note = opencc_note()
    if note:
        print(note, file=sys.stderr)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            write(files, tmp)
            problems = compare(Path(tmp), out_dir)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            return 1
        print(f"{out_dir}: all {len(files)} files match a fresh build")
        return 0
    write(files, out_dir)
    for name, data in files.items():
        print(f"wrote {out_dir / name} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
