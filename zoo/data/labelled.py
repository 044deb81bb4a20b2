"""Labelled data for the downstream tasks, built offline from the bundled corpora.

The source texts list what language models are for: 文本分类 and 情感分析
(document 003 section 6, document 001 section 6), 命名实体识别 (document 001
section 6), 语义搜索 (document 000 section 5). No sentiment or NER data ships
with zoo, so the tasks are built from the bundled plays and poems, with labels
that come from the sources themselves, never typed in:

* **passages** (`play_passages`): the spoken lines of each play, grouped into
  passages of at least `PASSAGE_CHARS` characters (whole lines; the speaker
  headings, act and scene lines and stage directions left out). The splits are
  the corpus's own, whole plays: a held-out passage comes from a play the
  model never saw.
* **"genre"** (`load_labelled`): each passage labelled comedy, history or
  tragedy, the genre of its play (``data/shakespeare/splits.json``; the four
  romances are left out, as no held-out play is one). Held-out plays: one of
  each genre in valid, one of each in test.
* **"tang-forms"**: each Tang poem labelled by its form, read from its shape:
  五言绝句 / 七言绝句 (four lines of five / seven characters), 五言律诗 /
  七言律诗 (eight), or 其他 (anything else). Split by whole poets.
* a **TSV file** of ``text<TAB>label`` lines: a user's own task, split at random
  (seed 0) by distinct text (`zoo.data.pairs.load_pairs`).
* **"names"** (`load_tagged`): the character names in each passage, tagged
  per character with BIO tags (``B-PER``, ``I-PER``, ``O``). A play's names
  are the words of its speaker headings and its list of persons, kept when
  the word is capitalised in the play's speeches and never written in lower
  case anywhere in the plays ("Bertram" is a name; "King" and "Clown" are not,
  as "king" and "clown" occur). Plays whose speaker headings are not on lines
  of their own (fewer than `MIN_HEADINGS`) are left out of this task.

    >>> corpus = load_labelled("genre")
    >>> corpus.labels
    ('comedy', 'history', 'tragedy')
    >>> text, label = corpus.test[0]
    >>> tagged = load_tagged("names")
    >>> text, tags = tagged.train[0]; len(text) == len(tags)
    True
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

from zoo.errors import ZooError

# A passage holds whole lines until it has at least this many characters (so
# most are 120-190 characters: a few lines of verse, or one or two speeches).
PASSAGE_CHARS = 120
# The labelled sets zoo builds, and the tagged one.
LABELLED = ("genre", "tang-forms")
TAGGED = ("names",)
GENRES = ("comedy", "history", "tragedy")
TANG_FORMS = ("五言绝句", "七言绝句", "五言律诗", "七言律诗", "其他")
# BIO tags, per character; id 0 is padding (ignored by zoo's loss, like PAD_ID).
TAGS = ("[PAD]", "O", "B-PER", "I-PER")
# A play needs this many speaker headings on lines of their own for its names
# to be read reliably (two plays of the bundled text write them inline).
MIN_HEADINGS = 200

_HEADING = re.compile(r"[A-Z][A-Za-z' .,&-]{0,40}\.")
_ACT_OR_SCENE = re.compile(r"(ACT|SCENE|Scene|Act)\b")
# Where the play begins: its first act, or the prologue before it (the title,
# the list of persons and the setting come first and are not spoken).
_FIRST_ACT = re.compile(r"(?:ACT|Act) (?:I|1|FIRST)\.?|(?:THE )?PROLOGUE\.?")
_PERSONS = re.compile(r"(PERSONS REPRESENTED|DRAMATIS PERSONAE)", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z]+")
# "DUKE OF VENICE", "ANTIPHOLUS OF SYRACUSE": the word after "of" is a place.
_after_of = re.compile(r"\b(?:of|OF|Of)\s+[A-Za-z]+")
_VERSE_BREAK = re.compile(r"[，。？！；、\n]")


@dataclass(frozen=True)
class Passage:
    """A few lines spoken in a play."""

    play: str  # the play's id in data/shakespeare/splits.json
    genre: str
    text: str


@dataclass(frozen=True)
class LabelledCorpus:
    """Texts with one label each, in train, valid and test splits.

    Attributes:
        name: "genre", "tang-forms" or the TSV file's name.
        labels: the class names; a label's id is its index here.
        train, valid, test: lists of (text, label name).
    """

    name: str
    labels: tuple[str, ...]
    train: list
    valid: list
    test: list

    @property
    def splits(self) -> dict[str, list]:
        return {"train": self.train, "valid": self.valid, "test": self.test}

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k} {len(v):,}" for k, v in self.splits.items())
        return f"LabelledCorpus({self.name!r}, {len(self.labels)} labels; {sizes})"


@dataclass(frozen=True)
class TaggedCorpus:
    """Texts with one tag per character, in train, valid and test splits.

    Attributes:
        name: "names".
        tags: the tag names (`TAGS`); a tag's id is its index here.
        train, valid, test: lists of (text, tags), ``len(tags) == len(text)``.
    """

    name: str
    tags: tuple[str, ...]
    train: list
    valid: list
    test: list

    @property
    def splits(self) -> dict[str, list]:
        return {"train": self.train, "valid": self.valid, "test": self.test}

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k} {len(v):,}" for k, v in self.splits.items())
        return f"TaggedCorpus({self.name!r}, tags {'/'.join(self.tags[1:])}; {sizes})"


# ------------------------------------------------------------ the plays


def _speeches(text: str) -> tuple[list[list[str]], list[str], list[str]]:
    """A play's spoken lines, by scene; its speaker headings; its persons.

    A speaker heading is a short line ending in a full stop, between a blank
    line and a spoken line ("COUNTESS.", "Romeo.", "KING HENRY.").
    """
    lines = text.split("\n")
    persons, start = [], 0
    for i, line in enumerate(lines):
        if _PERSONS.search(line):
            for entry in lines[i + 1 :]:
                if _ACT_OR_SCENE.match(entry) or entry.startswith("SCENE"):
                    break
                persons.append(entry.split(",")[0])
        if _FIRST_ACT.fullmatch(line.strip()):
            start = i
            break
    scenes, headings, in_direction = [[]], [], False
    for i in range(start, len(lines)):
        line = lines[i].strip()
        if in_direction:
            in_direction = "]" not in line
            continue
        if not line:
            continue
        if line.startswith("["):
            in_direction = "]" not in line
            continue
        if _ACT_OR_SCENE.match(line):
            scenes.append([])
            continue
        before = lines[i - 1].strip() if i else ""
        after = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if not before and _HEADING.fullmatch(line) and after and after[0] != "[":
            headings.append(line[:-1])
            continue
        scenes[-1].append(line)
    # A heading seen once between blank lines is one wherever it stands
    # (some speeches follow another's last line without a blank line).
    known = {f"{heading}." for heading in headings}
    scenes = [[line for line in scene if line not in known] for scene in scenes]
    return [s for s in scenes if s], headings, persons


@functools.lru_cache(maxsize=1)
def _plays() -> dict[str, list[dict]]:
    """The bundled plays by split, each with its passages, headings, persons."""
    from zoo.data.corpora import _shakespeare_plays

    plays = {}
    for split, entries in _shakespeare_plays().items():
        plays[split] = []
        for entry in entries:
            scenes, headings, persons = _speeches(entry["text"])
            passages = []
            for scene in scenes:
                current: list[str] = []
                for line in scene:
                    current.append(line)
                    if sum(map(len, current)) + len(current) - 1 >= PASSAGE_CHARS:
                        passages.append("\n".join(current))
                        current = []
                # A scene's last lines, if too short for a passage, are dropped.
            plays[split].append(
                {
                    **entry,
                    "passages": passages,
                    "headings": headings,
                    "persons": persons,
                }
            )
    return plays


def play_passages(split: str = "train") -> list[Passage]:
    """The passages of every bundled play of `split` ("train", "valid", "test").

    Example:
        >>> play_passages("test")[0].play
        'as_you_like_it'
    """
    _check_split(split)
    return [
        Passage(play["id"], play["genre"], text)
        for play in _plays()[split]
        for text in play["passages"]
    ]


@functools.lru_cache(maxsize=1)
def _lower_case_words() -> frozenset[str]:
    """Every word that occurs in lower case somewhere in the bundled plays."""
    from zoo.data.corpora import _load_shakespeare

    corpus = _load_shakespeare()
    words = set()
    for text in corpus.splits.values():
        words.update(w for w in _WORD.findall(text) if w.islower())
    return frozenset(words)


def speaker_names(play: str) -> frozenset[str]:
    """The character names of a bundled play, as its speeches write them.

    The capitalised words of its speaker headings and of the names in its
    list of persons (but a word after "of", a place: "Duke of Venice"; and
    not a longer description), in title case
    ("Bertram"), kept when the play's speeches write them so and the plays
    never write them in lower case.

    Example:
        >>> sorted(speaker_names("romeo_and_juliet"))[:3]  # doctest: +SKIP
        ['Abraham', 'Balthasar', 'Benvolio']
    """
    entry = _find_play(play)
    lower = _lower_case_words()
    spoken = {w for p in entry["passages"] for w in _WORD.findall(p)}
    candidates = set()
    for source in (*entry["headings"], *entry["persons"]):
        words = [w.strip(".,'") for w in _after_of.sub("", source).split()]
        if len(words) > 3 and not source.isupper():
            continue  # "Several young French Lords": a description, not a name
        for word in words:
            if len(word) >= 3 and word.isalpha() and word[0].isupper():
                candidates.add(word.capitalize())
    return frozenset(w for w in candidates if w in spoken and w.lower() not in lower)


def name_spans(text: str, names) -> list[tuple[int, int]]:
    """(start, end) of each run of `names` in `text`, adjacent names joined by
    one space ("Antipholus of Syracuse" is two runs; "Don Pedro" one, when
    both are names).

    Example:
        >>> name_spans("O Romeo, Romeo!", {"Romeo"})
        [(2, 7), (9, 14)]
    """
    spans: list[list[int]] = []
    for match in _WORD.finditer(text):
        if match.group() not in names:
            continue
        if spans and text[spans[-1][1] : match.start()] == " ":
            spans[-1][1] = match.end()
        else:
            spans.append([match.start(), match.end()])
    return [tuple(s) for s in spans]


def bio_tags(text: str, spans) -> list[str]:
    """One BIO tag per character of `text`: B- at a span's first character,
    I- inside it, O elsewhere.

    Example:
        >>> "".join(t[0] for t in bio_tags("O Romeo", [(2, 7)]))
        'OOBIIII'
    """
    tags = ["O"] * len(text)
    for start, end in spans:
        tags[start] = "B-PER"
        for i in range(start + 1, end):
            tags[i] = "I-PER"
    return tags


def _find_play(play: str) -> dict:
    for entries in _plays().values():
        for entry in entries:
            if entry["id"] == play:
                return entry
    known = ", ".join(e["id"] for es in _plays().values() for e in es)
    raise ZooError(f"no bundled play {play!r}; the plays are: {known}")


def _check_split(split: str) -> None:
    if split not in ("train", "valid", "test"):
        raise ZooError(f"unknown split {split!r}; use train, valid or test")


# ------------------------------------------------------------ the tasks


def tang_form(poem: str) -> str:
    """The form of a Tang poem, read from its shape (`TANG_FORMS`).

    Example:
        >>> tang_form("床前明月光，疑是地上霜。\\n举头望明月，低头思故乡。\\n")
        '五言绝句'
    """
    verses = [v for v in _VERSE_BREAK.split(poem) if v]
    lengths = {len(v) for v in verses}
    if len(lengths) == 1 and lengths <= {5, 7} and len(verses) in (4, 8):
        chars = lengths.pop()
        return TANG_FORMS[(chars == 7) + 2 * (len(verses) == 8)]
    return TANG_FORMS[-1]


def load_labelled(name_or_path: str | os.PathLike = "genre") -> LabelledCorpus:
    """A text-classification task: "genre", "tang-forms" or a TSV file.

    Args:
        name_or_path: one of `LABELLED`, or a UTF-8 file of ``text<TAB>label``
            lines (split 90/5/5 at random, seed 0, by distinct text).

    Example:
        >>> load_labelled("tang-forms").labels[0]
        '五言绝句'
    """
    if name_or_path == "genre":
        splits = {
            split: [
                (p.text, p.genre) for p in play_passages(split) if p.genre in GENRES
            ]
            for split in ("train", "valid", "test")
        }
        return LabelledCorpus("genre", GENRES, **splits)
    if name_or_path == "tang-forms":
        from zoo.data.corpora import _tang_poems

        splits = {
            split: [(p["text"], tang_form(p["text"])) for p in poems]
            for split, poems in _tang_poems().items()
        }
        return LabelledCorpus("tang-forms", TANG_FORMS, **splits)
    path = Path(name_or_path)
    if not path.is_file():
        raise ZooError(
            f"unknown labelled data {str(name_or_path)!r}: use "
            f"{' or '.join(LABELLED)}, or a UTF-8 file of text<TAB>label lines"
        )
    from zoo.data.pairs import load_pairs

    pairs = load_pairs(path)
    labels = tuple(sorted({label for _, label in pairs.train}))
    for split, rows in (("valid", pairs.valid), ("test", pairs.test)):
        unseen = sorted({label for _, label in rows} - set(labels))
        if unseen:
            raise ZooError(
                f"{path}: label(s) {', '.join(map(repr, unseen))} occur in the "
                f"{split} split but never in train; give every label more lines"
            )
    if len(labels) < 2:
        raise ZooError(f"{path}: a classifier needs at least 2 labels, found {labels}")
    return LabelledCorpus(path.name, labels, pairs.train, pairs.valid, pairs.test)


def load_tagged(name: str = "names") -> TaggedCorpus:
    """A token-tagging task: "names", the character names of the plays (BIO
    tags per character, `TAGS`).

    Example:
        >>> text, tags = load_tagged().valid[0]
    """
    if name not in TAGGED:
        raise ZooError(f"unknown tagged data {name!r}; use {' or '.join(TAGGED)}")
    splits = {}
    for split, plays in _plays().items():
        rows = []
        for play in plays:
            if len(play["headings"]) < MIN_HEADINGS:
                continue
            names = speaker_names(play["id"])
            for text in play["passages"]:
                rows.append((text, bio_tags(text, name_spans(text, names))))
        splits[split] = rows
    return TaggedCorpus(name, TAGS, **splits)
