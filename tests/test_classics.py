"""The bundled classics corpus (诗经 and 论语): `load_corpus("classics")`, its
build script and `zoo train ... --data classics`."""

from __future__ import annotations

import configparser
import fnmatch
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zoo._bundled import build_classics as build
from zoo._bundled import build_tang
from zoo.data import corpora, load_corpus
from zoo.errors import ZooError

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = Path(build.__file__).parent / "classics"
# The chinese-poetry folder, for the byte-for-byte rebuild (skipped when
# unset): a clone of the repository at build_classics.COMMIT (test_tang.py's).
SOURCE_ENV = "ZOO_CHINESE_POETRY"
SPACE = build_tang.TITLE_SPACE
# Traditional characters of the source files and the simplified forms OpenCC
# gives them, then common traditional characters the text must not have.
SOURCE_TRADITIONAL = "穀駉旂玁蹻於鮀輗"
SOURCE_SIMPLIFIED = "谷𬳶旗𤞤𫏋于𬶍𫐐"
TRADITIONAL = "說國為學門馬雲風長東書車見來時語詩間開關歲與從過還當後無愛萬鄉離聽歸夢"


@pytest.fixture
def fresh_cache():
    """Clear the bundled corpus cache before and after a test that swaps files."""
    corpora._load_classics.cache_clear()
    yield
    corpora._load_classics.cache_clear()


@pytest.fixture
def bundled_copy(tmp_path, monkeypatch, fresh_cache):
    """A copy of the bundled files that the loader reads instead of the real ones."""
    copy = tmp_path / "classics"
    shutil.copytree(BUNDLED, copy)
    monkeypatch.setattr(corpora, "_classics_dir", lambda: copy)
    return copy


def splits_json() -> dict:
    return json.loads((BUNDLED / "splits.json").read_text("utf-8"))


def documents(text: str) -> list[dict]:
    """A split's text cut into {"title", "book", "lines", "group"} documents."""
    out = []
    for block in text.split("\n\n"):
        title, book, *lines = block.strip("\n").split("\n")
        group = book if book.startswith("诗经") else f"{book}{SPACE}{title}"
        out.append({"title": title, "book": book, "lines": lines, "group": group})
    return out


def corpus_documents() -> dict[str, list[dict]]:
    return {s: documents(t) for s, t in load_corpus("classics").splits.items()}


def readme_section() -> str:
    """The classics section of data/README.md (as installed: zoo._bundled's)."""
    text = (BUNDLED.parent / "README.md").read_text("utf-8")
    start = text.index("# Bundled corpus: the classics")
    end = text.find("\n# ", start + 1)
    return text[start : None if end == -1 else end]


def says(text: str, *phrases) -> None:
    """Every phrase appears in `text` (whitespace aside), and a number at either
    end of it is not part of a longer number there: "57" is not "157"."""
    flat = re.sub(r"\s+", " ", text)
    for phrase in phrases:
        written = f"{phrase:,}" if isinstance(phrase, int) else phrase
        pattern = re.escape(written)
        if written[0].isdigit():
            pattern = r"(?<![\d,.])" + pattern
        if written[-1].isdigit():
            pattern += r"(?![\d,]\d|\.\d|\d)"
        assert re.search(pattern, flat), written


# ------------------------------------------------------------ bundled corpus


def test_loads_offline_matches_splits_json_and_is_cached():
    corpus = load_corpus("classics")
    counts = splits_json()["counts"]
    assert corpus.name == "classics"
    assert load_corpus("classics") is corpus  # lru_cache
    for split, text in corpus.splits.items():
        assert len(text) == counts[split]["characters"]
        assert text.count("\n") == counts[split]["lines"]
        assert text.endswith("\n") and not text.startswith("\n")
        assert "\n\n\n" not in text
        docs = documents(text)
        assert len(docs) == counts[split]["documents"]
        books = [d["book"].split(SPACE)[0] for d in docs]
        assert books.count("诗经") == counts[split]["poems"]
        assert books.count("论语") == counts[split]["chapters"]
        assert counts[split]["poems"] and counts[split]["chapters"]  # both books
        for doc in docs:
            assert doc["title"] and doc["lines"]
            assert doc["book"] == "论语" or len(doc["book"].split(SPACE)) == 3
    # The held-out splits are about 5% each (whole groups: not exactly).
    total = sum(c["characters"] for c in counts.values())
    for split in ("valid", "test"):
        assert 0.04 < counts[split]["characters"] / total < 0.065


def test_every_file_is_checksummed():
    sums = dict(
        reversed(line.split("  "))
        for line in (BUNDLED / "SHA256SUMS").read_text().splitlines()
    )
    on_disk = {p.name for p in BUNDLED.iterdir()} - {"SHA256SUMS"}
    assert set(sums) == on_disk
    for name, digest in sums.items():
        assert hashlib.sha256((BUNDLED / name).read_bytes()).hexdigest() == digest
    assert "MIT License" in (BUNDLED / "LICENSE").read_text("utf-8")
    assert (BUNDLED / "LICENSE").read_bytes() == (
        BUNDLED.parent / "tang" / "LICENSE"
    ).read_bytes()


def test_every_file_is_packaged():
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    patterns = [
        p.strip() for p in config["options.package_data"]["zoo._bundled"].split(",")
    ]
    for name in [p.name for p in BUNDLED.iterdir()]:
        assert any(fnmatch.fnmatch(f"classics/{name}", p) for p in patterns), name


def test_corrupted_file_names_file_and_rebuild_command(bundled_copy):
    data = bytearray((bundled_copy / "test.txt.gz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bundled_copy / "test.txt.gz").write_bytes(bytes(data))
    with pytest.raises(ZooError) as err:
        load_corpus("classics")
    message = str(err.value)
    assert "test.txt.gz" in message and "corrupted" in message
    assert "python -m zoo._bundled.build_classics --source" in message
    assert "opencc-python-reimplemented==0.1.7" in message
    assert corpora.CLASSICS_REBUILD == build.REBUILD_COMMAND


def test_missing_checksums_file(bundled_copy):
    (bundled_copy / "SHA256SUMS").unlink()
    with pytest.raises(ZooError, match="SHA256SUMS.*build_classics"):
        load_corpus("classics")


def test_unknown_name_lists_classics():
    with pytest.raises(ZooError, match="'classics'"):
        load_corpus("classic")


def test_splits_are_disjoint_by_section_and_chapter():
    docs = corpus_documents()
    groups = {s: {d["group"] for d in docs[s]} for s in docs}
    for a, b in (("train", "valid"), ("train", "test"), ("valid", "test")):
        assert not groups[a] & groups[b], (a, b, sorted(groups[a] & groups[b]))
    info = splits_json()["groups"]
    for split in docs:
        assert info[split] == {
            g: sum(d["group"] == g for d in docs[split]) for g in sorted(groups[split])
        }
    # 30 sections and 20 chapters in all; every chapter is one document.
    every = set().union(*groups.values())
    assert sum(g.startswith("诗经") for g in every) == 30
    assert sum(g.startswith("论语") for g in every) == 20
    assert all(n == 1 for s in info for g, n in info[s].items() if "论语" in g)
    # The two chapters that share a passage stay together.
    together = {
        s for s in groups for g in groups[s] if g.endswith(("学而篇", "阳货篇"))
    }
    assert len(together) == 1


def test_no_document_and_no_line_in_two_splits():
    docs = corpus_documents()
    keys = [build.ideographs("".join(d["lines"])) for s in docs.values() for d in s]
    assert len(keys) == len(set(keys))
    lines = {
        s: {build.ideographs(ln) for d in docs[s] for ln in d["lines"]} for s in docs
    }
    for a, b in (("train", "valid"), ("train", "test"), ("valid", "test")):
        assert not lines[a] & lines[b], (a, b, sorted(lines[a] & lines[b])[:3])


def test_text_is_simplified():
    text = "".join(load_corpus("classics").splits.values())
    assert len(SOURCE_TRADITIONAL) == len(SOURCE_SIMPLIFIED)
    for old in SOURCE_TRADITIONAL + TRADITIONAL:
        assert old not in text, old
    for new in SOURCE_SIMPLIFIED:
        assert new in text, new


def test_punctuation_is_full_width_only():
    corpus = load_corpus("classics")
    for text in corpus.splits.values():
        assert all(ord(ch) > 127 or ch == "\n" for ch in text)  # no ASCII at all
        for doc in documents(text):
            for line in doc["lines"]:
                for ch in line:
                    assert build_tang.is_ideograph(ch) or ch in build_tang.PUNCTUATION
            for ch in doc["title"] + doc["book"]:
                assert build_tang.is_ideograph(ch) or ch == SPACE, doc["title"]
            for pair in ("“”", "‘’", "《》"):
                for line in doc["lines"]:
                    assert line.count(pair[0]) == line.count(pair[1]), line
    text = "".join(corpus.splits.values())
    assert text.count("，") > 5_000 and text.count("。") > 3_000
    assert text.count("“") > 500  # the Analects' quoted speech
    for half in ",.?!:;()[]{}/□":
        assert half not in text


def test_data_readme_states_the_corpus_as_it_is():
    """Every figure of data/README.md's classics section, measured here."""
    from zoo import CharTokenizer

    section, info = readme_section(), splits_json()
    counts, corpus = info["counts"], load_corpus("classics")
    keys = ("documents", "poems", "chapters", "characters", "ideographs", "lines")
    total = {k: sum(c[k] for c in counts.values()) for k in counts["train"]}
    # The sizes table, row by row, and its total.
    for split, c in (*counts.items(), ("total", total)):
        cells = [f"{c[k]:,}" for k in (*keys, "bytes_gz")]
        assert f"| {split} | " + " | ".join(cells) + " |" in section, split
    # The files table.
    for split in build.SPLITS:
        c = counts[split]
        chapters = "chapter" if c["chapters"] == 1 else "chapters"
        says(
            section,
            f"{c['documents']} documents: {c['poems']} poems and "
            f"{c['chapters']} {chapters}",
        )
    says(section, f"{total['poems']} poems)", f"{total['chapters']} chapters)")
    says(section, f"corpus of {total['documents']} documents")
    docs = corpus_documents()
    groups = {s: {d["group"] for d in docs[s]} for s in docs}
    every = set().union(*groups.values())
    sections = sum(g.startswith("诗经") for g in every)
    says(section, f"({sections} sections)", f"({total['chapters']} chapters)")
    # The split rule's numbers and the shares it gives.
    says(section, f"closer to {build.HELD_OUT:.0%} of the book's characters")
    says(section, f'"{build.SPLIT_SALT}"')
    share = {s: counts[s]["characters"] / total["characters"] for s in counts}
    says(
        section,
        f"validation holds {share['valid']:.1%} of the characters, "
        f"test {share['test']:.1%}",
    )
    # The split table: held-out sections and chapters, and how many are left.
    table = section.split("| split | 诗经 sections | 论语 chapters |", 1)[1]
    for split in ("valid", "test"):
        row = next(ln for ln in table.splitlines() if ln.startswith(f"| {split} |"))
        named = set(re.findall(r"[^\s|;,、]+", row.split("|", 2)[2]))
        words = {w for group in groups[split] for w in group.split(SPACE)[1:]}
        assert named == words, split
    train_sections = sum(g.startswith("诗经") for g in groups["train"])
    train_chapters = sum(g.startswith("论语") for g in groups["train"])
    says(section, f"the other {train_sections} sections")
    says(section, f"the other {train_chapters} chapters")
    # What was dropped: nothing, in these files.
    assert set(info["dropped"].values()) == {0}
    says(section, "(none are, in these files)")
    # Characters and the vocabulary.
    text = "".join(corpus.splits.values())
    tokenizer = CharTokenizer.fit(corpus.train)
    says(
        section,
        f"{len(set(text) - {chr(10)}):,} distinct characters",
        f"{len(set(corpus.train) - {chr(10)}):,} of them",
        f"{tokenizer.vocab_size:,} entries",
        f"{len(tokenizer.unknown_tokens(corpus.valid))} characters of the validation",
        f"{len(tokenizer.unknown_tokens(corpus.test))} of the test",
    )
    tang = sum(len(t) for t in load_corpus("tang").splits.values())
    ratio = {12: "a twelfth", 13: "a thirteenth", 14: "a fourteenth"}
    says(section, f"about {ratio[round(tang / total['characters'])]} of the Tang")
    # The checksums block is the SHA256SUMS file; the rebuild command is named.
    assert (BUNDLED / "SHA256SUMS").read_text("ascii") in section
    assert build.REBUILD_COMMAND.split(" && ")[0] in section
    assert f"checkout {build.COMMIT}" in section
    assert "python -m zoo._bundled.build_classics --source chinese-poetry" in section


def test_corpora_docstring_counts():
    counts = splits_json()["counts"]
    poems = sum(c["poems"] for c in counts.values())
    chapters = sum(c["chapters"] for c in counts.values())
    for doc in (corpora.__doc__, build.__doc__):
        says(doc, f"诗经, {poems} poems", f"论语, {chapters} chapters")


# ----------------------------------------------------------------- the build


def fake_source(folder: Path, monkeypatch, extra: str = "") -> Path:
    """A chinese-poetry folder in the real layout with a few documents, and
    the build's expected sha256 sums patched to match it."""
    sections = "甲乙丙丁戊己庚辛"
    poems = [  # eight sections of two poems each, all of one size
        {
            "title": f"詩{s}{n}",
            "chapter": "國風",
            "section": f"{s}風",
            "content": [
                f"{s}{n}山水長流，雲風不見。",
                f"{n}{s}明月{extra or '照'}人。",
            ],
        }
        for s in sections
        for n in "一二"
    ]
    poems.append(dict(poems[0], title="重出"))  # a duplicate
    poems.append(dict(poems[1], title="殘", content=["□□山水，明月照。"]))
    chapters = [  # eight chapters of one size; 六 and 七 share a passage
        {"chapter": f"{c}篇", "paragraphs": [f"子曰:“{c}而時習之.”", f"{c}問學於子。"]}
        for c in "一二三四五六七八"
    ]
    chapters[6]["paragraphs"][1] = "六問學于子！"  # the same characters as 六's
    files = {
        build.SHIJING: json.dumps(poems, ensure_ascii=False),
        build.LUNYU: json.dumps(chapters, ensure_ascii=False),
        "LICENSE": "The MIT License (MIT)\n",
    }
    sums = {}
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        sums[name] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    (folder / "SHA256SUMS").write_text(
        "".join(f"{d}  {n}\n" for n, d in sums.items()), encoding="utf-8"
    )
    license_digest = sums.pop("LICENSE")
    monkeypatch.setattr(build, "SOURCES", sums)
    monkeypatch.setattr(build, "LICENSE", ("LICENSE", license_digest))
    # Eight groups of equal size per book: one each for valid and test.
    monkeypatch.setattr(build, "HELD_OUT", 0.1)
    return folder


def simplify(text: str) -> str:
    """A stand-in for OpenCC's t2s on the fake documents' characters."""
    return text.translate(
        str.maketrans("長雲風見詩國殘時習於問學", "长云风见诗国残时习于问学")
    )


def test_build_is_deterministic_clean_and_split_by_group(tmp_path, monkeypatch):
    source = fake_source(tmp_path / "src", monkeypatch)
    first = build.build(source, convert=simplify)
    assert first == build.build(source, convert=simplify)
    assert list(first) == [*(f"{s}.txt.gz" for s in build.SPLITS), "LICENSE"] + [
        "splits.json",
        "SHA256SUMS",
    ]  # SHA256SUMS written last
    gz = first["valid.txt.gz"]
    assert gz[4:8] == b"\0\0\0\0"  # mtime 0
    assert not gz[3] & 0x08  # no file name in the header
    info = json.loads(first["splits.json"])
    assert info["dropped"] == {"incomplete": 1, "empty": 0, "duplicate": 1}
    texts = {s: gzip.decompress(first[f"{s}.txt.gz"]).decode() for s in build.SPLITS}
    docs = {s: documents(t) for s, t in texts.items()}
    assert sum(len(d) for d in docs.values()) == 16 + 8
    for split, text in texts.items():
        assert info["counts"][split]["characters"] == len(text)
        assert "長" not in text and ":" not in text and "□" not in text
        assert {d["group"] for d in docs[split]} == set(info["groups"][split])
    for split in ("valid", "test"):  # one section (two poems) and one chapter each
        assert info["counts"][split]["poems"] == 2
        assert info["counts"][split]["chapters"] == 1
        assert len({d["book"] for d in docs[split] if "诗经" in d["book"]}) == 1
    # The chapters sharing a passage are joined, too big to be held out here.
    assert {"论语\u3000六篇", "论语\u3000七篇"} <= set(info["groups"]["train"])
    first_poem = next(d for s in docs.values() for d in s if d["title"] == "诗甲一")
    assert first_poem == {
        "title": "诗甲一",
        "book": "诗经\u3000国风\u3000甲风",
        "lines": ["甲一山水长流，云风不见。", "一甲明月照人。"],
        "group": "诗经\u3000国风\u3000甲风",
    }
    chapter = next(d for s in docs.values() for d in s if d["title"] == "一篇")
    assert chapter["book"] == "论语"
    assert chapter["lines"] == ["子曰：“一而时习之。”", "一问学于子。"]
    assert first["LICENSE"] == b"The MIT License (MIT)\n"


def test_join_groups_keeps_groups_with_a_shared_line_together():
    def doc(group, *lines):
        return {"group": group, "lines": list(lines), "source": "x"}

    joined = build.join_groups(
        [
            doc("甲", "一二三。"),
            doc("乙", "四五。"),
            doc("丙", "一二三！"),
            doc("丁", "六。"),
        ]
    )
    assert joined == {"甲": "丙、甲", "丙": "丙、甲", "乙": "乙", "丁": "丁"}


def test_assign_splits_brings_each_held_out_split_closest_to_its_share(monkeypatch):
    # Twenty groups of one book, sizes 1..20 characters times 10.
    docs = [
        {"title": "题", "book": "书", "group": f"组{i}", "source": "x",
         "lines": ["字" * (10 * i - 5)]}
        for i in range(1, 21)
    ]  # fmt: skip
    size = {d["group"]: len(build.document_text(d)) for d in docs}
    total = sum(size.values())
    split_of = build.assign_splits(docs)
    for split in ("valid", "test"):
        held = sum(size[g] for g, s in split_of.items() if s == split)
        assert held > 0
        # Never more than half of its largest group over the target.
        biggest = max(size[g] for g, s in split_of.items() if s == split)
        assert held < build.HELD_OUT * total + biggest / 2
    # Re-deriving the rule: in hash order, each group's split.
    order = sorted(
        size, key=lambda g: hashlib.sha256((build.SPLIT_SALT + g).encode()).hexdigest()
    )
    filled = {"valid": 0, "test": 0}
    for group in order:
        expected = "train"
        for split in ("valid", "test"):
            if filled[split] + size[group] / 2 < build.HELD_OUT * total:
                expected = split
                filled[split] += size[group]
                break
        assert split_of[group] == expected, group


def test_build_checks_source_sums_before_reading(tmp_path, monkeypatch):
    source = fake_source(tmp_path / "src", monkeypatch)
    (source / build.LUNYU).write_text("[]", encoding="utf-8")
    with pytest.raises(ZooError, match="lunyu.json: does not match"):
        build.build(source, convert=simplify)
    (source / "SHA256SUMS").unlink()  # a plain clone: the built-in sums apply
    with pytest.raises(ZooError, match="sha256 .* expected"):
        build.build(source, convert=simplify)
    (source / build.LUNYU).unlink()
    with pytest.raises(ZooError, match="lunyu.json: missing"):
        build.build(source, convert=simplify)
    with pytest.raises(ZooError, match="no such folder"):
        build.build(tmp_path / "nowhere", convert=simplify)


def test_main_writes_atomically_and_check_finds_differences(
    tmp_path, monkeypatch, capsys
):
    source, out = fake_source(tmp_path / "src", monkeypatch), tmp_path / "out"
    monkeypatch.setattr(
        build_tang, "converter", lambda: type("C", (), {"convert": simplify})
    )
    assert build.main(["--source", str(source), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        build.build(source, convert=simplify)
    )
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert build.main(["--source", str(source), "--out", str(out), "--check"]) == 0
    other = fake_source(tmp_path / "other", monkeypatch, extra="！")
    assert build.main(["--source", str(other), "--out", str(out), "--check"]) == 1
    assert "differs from a fresh build" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # untouched
    assert not list(out.glob(".*.tmp"))
    assert build.main(["--source", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_rebuild_from_the_real_source_is_byte_for_byte():
    source = os.environ.get(SOURCE_ENV)
    if not source or not Path(source).is_dir():
        pytest.skip(
            f"set {SOURCE_ENV} to a chinese-poetry folder (git clone "
            f"{build.REPOSITORY}, commit {build.COMMIT}) to run this test"
        )
    pytest.importorskip(
        "opencc", reason=f"the build needs OpenCC: pip install {build_tang.OPENCC_PIN}"
    )
    built = build.build(source)
    for name, data in built.items():
        assert data == (BUNDLED / name).read_bytes(), name
    assert build.main(["--source", source, "--out", str(BUNDLED), "--check"]) == 0
    # The Tang corpus, built by the functions this build borrows, is unchanged.
    tang_dir = BUNDLED.parent / "tang"
    for name, data in build_tang.build(source).items():
        assert data == (tang_dir / name).read_bytes(), name
    # data/README.md's account of the cleaning, from the source itself: the
    # Analects has ASCII punctuation, and the passages that lose their quotes.
    files = build.verify_source(source)
    raw = json.loads(files[build.LUNYU])
    passages = [p for chapter in raw for p in chapter["paragraphs"]]
    assert any(mark in p for p in passages for mark in ",:?")
    unpaired = [p for p in passages if p.count("“") != p.count("”")]
    assert unpaired
    text = "".join(load_corpus("classics").splits.values())
    for passage in unpaired:
        cleaned = build_tang.clean_field(
            passage, build_tang.converter().convert, where="t"
        )
        assert "“" not in cleaned and "”" not in cleaned and cleaned in text


# ------------------------------------------------------------- the command


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["train", "ngram", "--data", "classics"], {"level": "char", "min_freq": 1}),
        (["train", "gru", "--data", "classics"], {"level": "char", "data": "classics"}),
        (["train", "gru", "--data", "classics", "--level", "word"], {"level": "word"}),
        (["train", "gru", "--data", "tang"], {"level": "char"}),
    ],
)
def test_classics_reads_characters_by_default(argv, expected):
    from zoo.cli import _parser, _resolve_train_args

    parser = _parser()
    args = parser.parse_args(argv)
    _resolve_train_args(parser.commands["train"], args)
    assert {k: getattr(args, k) for k in expected} == expected


@pytest.mark.slow
def test_zoo_train_gru_on_classics_then_evaluate(tmp_path):
    def zoo(*args):
        proc = subprocess.run(
            [sys.executable, "-m", "zoo", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout

    run = tmp_path / "run"
    out = zoo(
        "train", "gru", "--data", "classics", "--epochs", 1, "--steps-per-epoch", 5,
        "--seq-len", 16, "--batch-size", 4, "--units", 16, "--embedding-dim", 8,
        "--out", run,
    )  # fmt: skip
    corpus = load_corpus("classics")
    assert f"data: {corpus!r}; char-level vocabulary of" in out
    assert "validation perplexity" in out
    sample = out.split("sample:\n", 1)[1]
    assert sample.startswith(corpus.valid[:40])  # the prompt: unseen text
    assert (run / "model.keras").stat().st_size > 0
    # The model file remembers its data; --data classics says it again.
    for extra in ([], ["--data", "classics"]):
        ev = zoo("evaluate", run / "model.keras", *extra)
        assert "test perplexity" in ev and "(classics)" in ev
