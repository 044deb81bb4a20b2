"""Build the bundled "classics" corpus: the Classic of Poetry and the Analects.

The chinese-poetry collection (MIT licence) stores the Classic of Poetry (诗经,
305 poems) and the Analects (论语, 20 chapters) as JSON. This script reads
those two files, unmodified, checks them against their sha256 sums, cleans
every field exactly as the Tang build does (`build_tang.clean_field`: OpenCC
``t2s`` to simplified characters, full-width punctuation, editorial marks
removed), drops incomplete and duplicate documents, splits by **whole
documents** into train / valid / test, and writes::

    data/classics/train.txt.gz   one document after another, a blank line
    data/classics/valid.txt.gz   between two: its title line, the line naming
    data/classics/test.txt.gz    its book (and section), then its lines
    data/classics/splits.json    which sections and chapters are in which split
    data/classics/LICENSE        the collection's MIT licence, as in the source
    data/classics/SHA256SUMS     sha256 of the files above

A document is one poem of the Classic of Poetry (one stanza a line) or one
chapter (篇) of the Analects (one passage, 章, a line)::

    关雎
    诗经　国风　周南
    关关雎鸠，在河之洲。窈窕淑女，君子好逑。
    ...

    学而篇
    论语
    子曰：“学而时习之，不亦说乎？有朋自远方来，不亦乐乎？人不知而不愠，不亦君子乎？”
    ...

The output is byte-for-byte reproducible, written atomically, SHA256SUMS last,
with the Tang build's own functions (`build_tang.gzip_bytes`, `build_tang.write`).

Usage::

    pip install opencc-python-reimplemented==0.1.7   # for this script only
    git clone https://github.com/chinese-poetry/chinese-poetry
    git -C chinese-poetry checkout 99ebbef7e1345c0985c44b9fd96a3f9e776f117b
    python -m zoo._bundled.build_classics --source chinese-poetry
    python -m zoo._bundled.build_classics --source chinese-poetry --check

`--check` rebuilds into a temporary folder and compares the bytes with the
files in place (exit status 1 on any difference).

This file is ``data/build_classics.py`` in the repository and the module
``zoo._bundled.build_classics`` once zoo is installed. `--out` defaults to the
``classics/`` folder next to it. OpenCC is needed by this script only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

from zoo._bundled import build_tang as tang
from zoo.errors import ZooError

REPOSITORY = tang.REPOSITORY
COMMIT = tang.COMMIT
# The files read, in this order, with their sha256 at COMMIT.
SHIJING = "诗经/shijing.json"
LUNYU = "论语/lunyu.json"
SOURCES = {
    SHIJING: "3c7ca54d59424542ada99adfcc85420287fbbd5c8a511e9baf705cb2b04051e7",
    LUNYU: "bc336a3839706377892719db44c48a09794a493190535a42bf1c7d4c4233e96c",
}
LICENSE = tang.LICENSE
REBUILD_COMMAND = (
    f"pip install {tang.OPENCC_PIN} && git clone {REPOSITORY} && "
    f"git -C chinese-poetry checkout {COMMIT} && "
    "python -m zoo._bundled.build_classics --source chinese-poetry"
)

SPLITS = tang.SPLITS
SEPARATOR = tang.POEM_SEPARATOR  # one blank line between two documents
# The split rule, for each book on its own: its groups (a section of the
# Classic of Poetry, such as 国风 周南, with all its poems; a chapter of the
# Analects) in the order of the sha256 of SPLIT_SALT + the group's name, a
# fixed shuffle; a group goes to valid if that brings valid closer to HELD_OUT
# of the book's characters, else to test by the same test, else to train.
# Groups that share a line (by its ideographs) are joined first, so no line
# of a held-out split is also training text.
HELD_OUT = 0.05
SPLIT_SALT = "zoo-classics:"


def verify_source(source: str | os.PathLike) -> dict[str, bytes]:
    """Read the source files and check their sha256 sums first.

    Args:
        source: the chinese-poetry folder (a clone of the repository, or a
            folder with the same layout holding at least the files of
            `SOURCES` and LICENSE, optionally with a SHA256SUMS file in
            ``sha256sum -c`` format, every file of which is checked too).

    Returns:
        Source path (e.g. "诗经/shijing.json") -> raw bytes, in the order of
        `SOURCES`, then "LICENSE".

    Example:
        >>> list(verify_source("chinese-poetry"))  # doctest: +SKIP
        ['诗经/shijing.json', '论语/lunyu.json', 'LICENSE']
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


def _fields(name: str, entry: dict) -> tuple[str, list[str], list[str]]:
    """(title, book line's words, raw lines) of one source entry."""
    if name == SHIJING:  # {"title", "chapter": "国风", "section": "周南", "content"}
        words = ["诗经", entry.get("chapter", ""), entry.get("section", "")]
        return entry.get("title", ""), words, list(entry.get("content", []))
    # 论语: {"chapter": "学而篇", "paragraphs"}
    return entry.get("chapter", ""), ["论语"], list(entry.get("paragraphs", []))


def read_documents(files: dict[str, bytes], convert) -> tuple[list[dict], dict]:
    """Every complete document, cleaned, in source order, without duplicates.

    Args:
        files: `SOURCES` path -> raw bytes (`verify_source`, LICENSE removed).
        convert: traditional -> simplified (`build_tang.converter().convert`).

    Returns:
        (documents, dropped): documents as {"title", "book", "group",
        "lines", "source"}, where "book" is the second line ("诗经　国风　周南"
        or "论语") and "group" the unit of the split (the poem's section, the
        chapter itself); and the counts of documents left out
        ({"incomplete", "empty", "duplicate"}), as in `build_tang.read_poems`.
    """
    documents: list[dict] = []
    dropped = {"incomplete": 0, "empty": 0, "duplicate": 0}
    seen: set[str] = set()
    for name, data in files.items():
        try:
            entries = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ZooError(f"{name}: not UTF-8 JSON ({err})") from err
        if not isinstance(entries, list):
            raise ZooError(f"{name}: expected a JSON list of documents")
        for index, entry in enumerate(entries):
            where = f"{name}[{index}]"
            title, words, raw_lines = _fields(name, entry)
            fields = [title, *words, *raw_lines]
            if any(mark in s for s in fields for mark in tang.INCOMPLETE):
                dropped["incomplete"] += 1
                continue
            title = tang.clean_field(title, convert, where=where, spaces=True)
            book = tang.clean_field(" ".join(words), convert, where=where, spaces=True)
            lines = [tang.clean_field(s, convert, where=where) for s in raw_lines]
            lines = [line for line in lines if line]
            if not lines or not title or not all(words):
                dropped["empty"] += 1
                continue
            key = ideographs("".join(lines))
            if key in seen:
                dropped["duplicate"] += 1
                continue
            seen.add(key)
            # A poem is split with its whole section; a chapter is its own group.
            group = book if name == SHIJING else f"{book}{tang.TITLE_SPACE}{title}"
            documents.append(
                {
                    "title": title,
                    "book": book,
                    "group": group,
                    "lines": lines,
                    "source": name,
                }
            )
    return documents, dropped


def ideographs(text: str) -> str:
    """The CJK ideographs of `text`, in order (punctuation removed)."""
    return "".join(ch for ch in text if tang.is_ideograph(ch))


def document_text(document: dict) -> str:
    """A document's block: title line, book line, its lines; ends in "\\n"."""
    head = [document["title"], document["book"]]
    return "".join(line + "\n" for line in head + document["lines"])


def join_groups(documents: list[dict]) -> dict[str, str]:
    """Group -> the key of its joined group: groups that share a line (the same
    ideographs, punctuation aside) are joined, so the split keeps them
    together. The key is their names, sorted, joined by "、".
    """
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name

    first: dict[str, str] = {}  # a line's ideographs -> the first group with it
    for document in documents:
        for line in document["lines"]:
            other = first.setdefault(ideographs(line), document["group"])
            a, b = sorted((root(other), root(document["group"])))
            if a != b:
                parent[b] = a
    members: dict[str, set[str]] = {}
    for document in documents:
        members.setdefault(root(document["group"]), set()).add(document["group"])
    return {
        document["group"]: "、".join(sorted(members[root(document["group"])]))
        for document in documents
    }


def assign_splits(documents: list[dict]) -> dict[str, str]:
    """Group -> split, by the rule stated at `HELD_OUT` (whole groups).

    A joined group counts towards the book of its first document.
    """
    joined = join_groups(documents)
    size: dict[str, dict[str, int]] = {}  # source -> joined group -> characters
    book_of: dict[str, str] = {}
    for document in documents:
        key = joined[document["group"]]
        book = size.setdefault(book_of.setdefault(key, document["source"]), {})
        book[key] = book.get(key, 0) + len(document_text(document))
    split_of: dict[str, str] = {}
    for groups in size.values():
        target = HELD_OUT * sum(groups.values())
        order = sorted(
            groups,
            key=lambda g: hashlib.sha256((SPLIT_SALT + g).encode()).hexdigest(),
        )
        filled = {"valid": 0, "test": 0}
        for key in order:
            split_of[key] = "train"
            for split in ("valid", "test"):
                # Closer to the target with the group than without it.
                if filled[split] + groups[key] / 2 < target:
                    split_of[key] = split
                    filled[split] += groups[key]
                    break
    return {group: split_of[key] for group, key in joined.items()}


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
        convert = tang.converter().convert
    documents, dropped = read_documents(files, convert)
    split_of = assign_splits(documents)
    texts: dict[str, list[str]] = {split: [] for split in SPLITS}
    groups: dict[str, dict[str, int]] = {split: {} for split in SPLITS}
    per_source: dict[str, dict[str, int]] = {name: {} for name in files}
    for document in documents:
        split = split_of[document["group"]]
        texts[split].append(document_text(document))
        group = document["group"]
        groups[split][group] = groups[split].get(group, 0) + 1
        counts = per_source[document["source"]]
        counts[split] = counts.get(split, 0) + 1
    out: dict[str, bytes] = {}
    stats = {}
    for split in SPLITS:
        text = SEPARATOR.join(texts[split])
        out[f"{split}.txt.gz"] = tang.gzip_bytes(text.encode("utf-8"))
        stats[split] = {
            "documents": len(texts[split]),
            "poems": per_source[SHIJING].get(split, 0),
            "chapters": per_source[LUNYU].get(split, 0),
            "characters": len(text),
            "ideographs": len(ideographs(text)),
            "lines": text.count("\n"),
            "bytes_gz": len(out[f"{split}.txt.gz"]),
        }
    info = {
        "corpus": "classics",
        "source": f"{REPOSITORY} at commit {COMMIT}, MIT licence (see LICENSE)",
        "files": [
            {
                "path": name,
                "sha256": SOURCES[name],
                "kept": {split: per_source[name].get(split, 0) for split in SPLITS},
            }
            for name in files
        ],
        "conversion": f"{tang.OPENCC_PIN}, config {tang.OPENCC_CONFIG} "
        "(traditional to simplified); punctuation made full-width "
        "(build_tang.clean_field)",
        "layout": (
            "documents separated by one blank line; each document is its title "
            "line, the line naming its book (诗经 with its part and section, or "
            "论语), then its lines as in the source (a stanza of a poem, a "
            "passage of a chapter), each ending in a newline"
        ),
        "split_rule": (
            "for each book on its own, whole groups: a section of 诗经 with all "
            "its poems, a chapter of 论语; groups sharing a line (by its "
            f"ideographs) joined; in the order of sha256({SPLIT_SALT!r} + "
            "name), a group goes to valid if that brings valid closer to "
            f"{HELD_OUT:.0%} of the book's characters, else to test by the same "
            "test, else to train"
        ),
        "dropped": dropped,
        "counts": stats,
        "groups": {split: dict(sorted(groups[split].items())) for split in SPLITS},
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


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status.

    Returns:
        0 on success, 1 when `--check` finds a difference, 2 on bad input.

    Example:
        >>> main(["--source", "chinese-poetry", "--check"])  # doctest: +SKIP
        0
    """
    parser = argparse.ArgumentParser(
        prog="python -m zoo._bundled.build_classics",
        description="Build zoo's bundled classics corpus (诗经 and 论语) from the "
        f"chinese-poetry JSON files ({REPOSITORY}, commit {COMMIT}); needs "
        f"`pip install {tang.OPENCC_PIN}`.",
    )
    parser.add_argument(
        "--source", required=True, help="the chinese-poetry folder (a clone)"
    )
    parser.add_argument(
        "--out",
        default=str(Path(__file__).resolve().parent / "classics"),
        help="output folder (default: the classics/ folder next to this script)",
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
    note = tang.opencc_note()
    if note:
        print(note, file=sys.stderr)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            tang.write(files, tmp)
            problems = tang.compare(Path(tmp), out_dir)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            return 1
        print(f"{out_dir}: all {len(files)} files match a fresh build")
        return 0
    tang.write(files, out_dir)
    for name, data in files.items():
        print(f"wrote {out_dir / name} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
