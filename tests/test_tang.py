"""The bundled Tang poetry corpus: `load_corpus("tang")`, its build script,
its TFDS builder and `zoo train ... --data tang`."""

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

from zoo._bundled import build_tang as build
from zoo.data import corpora, load_corpus
from zoo.errors import ZooError

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = Path(build.__file__).parent / "tang"
# The chinese-poetry folder, for the byte-for-byte rebuild (skipped when
# unset): a clone of the repository at build_tang.COMMIT.
SOURCE_ENV = "ZOO_CHINESE_POETRY"
# Traditional characters and their simplified forms, all common in the poems.
TRADITIONAL = "說國為學門馬雲風長東書車見來時語詩間開關歲與從過還當後無愛萬鄉離聽歸夢"
SIMPLIFIED = "说国为学门马云风长东书车见来时语诗间开关岁与从过还当后无爱万乡离听归梦"


@pytest.fixture
def fresh_cache():
    """Clear the bundled corpus cache before and after a test that swaps files."""
    corpora._load_tang.cache_clear()
    yield
    corpora._load_tang.cache_clear()


@pytest.fixture
def bundled_copy(tmp_path, monkeypatch, fresh_cache):
    """A copy of the bundled files that the loader reads instead of the real ones."""
    copy = tmp_path / "tang"
    shutil.copytree(BUNDLED, copy)
    monkeypatch.setattr(corpora, "_tang_dir", lambda: copy)
    return copy


def splits_json() -> dict:
    return json.loads((BUNDLED / "splits.json").read_text("utf-8"))


def ideographs(text: str) -> str:
    return "".join(ch for ch in text if build.is_ideograph(ch))


def readme_section() -> str:
    """The Tang section of data/README.md (as installed: zoo._bundled's)."""
    text = (BUNDLED.parent / "README.md").read_text("utf-8")
    start = text.index("# Bundled corpus: Tang poems")
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


# A five-character quatrain as the corpus writes it: two couplet lines.
WUJUE = re.compile(r"([\u4e00-\u9fff]{5}，[\u4e00-\u9fff]{5}。\n){2}")


# ------------------------------------------------------------ bundled corpus


def test_loads_offline_matches_splits_json_and_is_cached():
    corpus = load_corpus("tang")
    counts = splits_json()["counts"]
    assert corpus.name == "tang"
    assert load_corpus("tang") is corpus  # lru_cache
    for split, text in corpus.splits.items():
        assert len(text) == counts[split]["characters"]
        assert text.count("\n") == counts[split]["lines"]
        assert text.endswith("。\n") and not text.startswith("\n")
        assert "\n\n\n" not in text
    poems = corpora._tang_poems()
    for split, text in corpus.splits.items():
        assert len(poems[split]) == counts[split]["poems"]
        blocks = (f"{p['title']}\n{p['author']}\n{p['text']}" for p in poems[split])
        assert "\n".join(blocks) == text
        for poem in poems[split]:
            assert poem["title"] and poem["author"] and poem["text"].endswith("\n")
            assert "\n\n" not in poem["text"]
    # The held-out splits are about 5% each (whole authors: not exactly).
    total = sum(c["characters"] for c in counts.values())
    for split in ("valid", "test"):
        assert 0.04 < counts[split]["characters"] / total < 0.06


def test_every_file_is_checksummed_and_packaged():
    sums = dict(
        reversed(line.split("  "))
        for line in (BUNDLED / "SHA256SUMS").read_text().splitlines()
    )
    on_disk = {p.name for p in BUNDLED.iterdir()} - {"SHA256SUMS"}
    assert set(sums) == on_disk
    for name, digest in sums.items():
        assert hashlib.sha256((BUNDLED / name).read_bytes()).hexdigest() == digest
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    patterns = [
        p.strip() for p in config["options.package_data"]["zoo._bundled"].split(",")
    ]
    for name in on_disk | {"SHA256SUMS"}:
        assert any(fnmatch.fnmatch(f"tang/{name}", p) for p in patterns), name
    assert "MIT License" in (BUNDLED / "LICENSE").read_text("utf-8")


def test_corrupted_file_names_file_and_rebuild_command(bundled_copy):
    data = bytearray((bundled_copy / "valid.txt.gz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bundled_copy / "valid.txt.gz").write_bytes(bytes(data))
    with pytest.raises(ZooError) as err:
        load_corpus("tang")
    message = str(err.value)
    assert "valid.txt.gz" in message and "corrupted" in message
    assert "python -m zoo._bundled.build_tang --source" in message
    assert "opencc-python-reimplemented==0.1.7" in message
    assert corpora.TANG_REBUILD == build.REBUILD_COMMAND


def test_missing_checksums_file(bundled_copy):
    (bundled_copy / "SHA256SUMS").unlink()
    with pytest.raises(ZooError, match="SHA256SUMS.*build_tang"):
        load_corpus("tang")


def test_unknown_name_lists_tang():
    with pytest.raises(ZooError, match="'tang'"):
        load_corpus("tan")


def test_splits_are_disjoint_by_author():
    poems = corpora._tang_poems()
    authors = {s: {p["author"] for p in poems[s]} for s in poems}
    # Co-authors ("魏征、褚亮") count as each of their names.
    names = {s: {n for a in authors[s] for n in a.split("、")} for s in authors}
    for a, b in (("train", "valid"), ("train", "test"), ("valid", "test")):
        assert not names[a] & names[b], (a, b, sorted(names[a] & names[b])[:5])
    info = splits_json()["authors"]
    for split in poems:
        assert info[split] == {
            a: sum(p["author"] == a for p in poems[split])
            for a in sorted(authors[split])
        }
    # The big poets stay in training.
    assert {"李白", "王维", "不详"} <= names["train"]


def test_no_poem_and_no_line_in_two_splits():
    poems = corpora._tang_poems()
    keys = [ideographs(p["text"]) for split in poems.values() for p in split]
    assert len(keys) == len(set(keys))  # no duplicates at all, across splits too
    lines = {s: {ln for p in poems[s] for ln in p["text"].splitlines()} for s in poems}
    for a, b in (("train", "valid"), ("train", "test"), ("valid", "test")):
        assert not lines[a] & lines[b], (a, b, sorted(lines[a] & lines[b])[:3])
    assert splits_json()["dropped"]["duplicate"] > 0  # the source has some


def test_text_is_simplified():
    text = "".join(load_corpus("tang").splits.values())
    assert len(TRADITIONAL) == len(SIMPLIFIED)
    for old in TRADITIONAL + "們":
        assert old not in text, old
    for new in SIMPLIFIED:
        assert new in text, new


def test_punctuation_is_full_width_only():
    corpus = load_corpus("tang")
    for text in corpus.splits.values():
        assert all(ord(ch) > 127 or ch == "\n" for ch in text)  # no ASCII at all
        for block in text.split("\n\n"):
            title, author, *lines = block.strip("\n").split("\n")
            assert lines, block[:40]
            for line in [author, *lines]:
                for ch in line:
                    assert build.is_ideograph(ch) or ch in build.PUNCTUATION, line
            for ch in title:
                assert (
                    build.is_ideograph(ch)
                    or ch in build.PUNCTUATION + build.TITLE_SPACE
                ), title
    text = "".join(corpus.splits.values())
    assert text.count("，") > 50_000 and text.count("。") > 50_000
    for half in ",.?!:;()[]{}/□":
        assert half not in text


def test_data_readme_states_the_corpus_as_it_is():
    """Every figure of data/README.md's Tang section, measured here."""
    from zoo import CharTokenizer

    section, info = readme_section(), splits_json()
    counts, corpus = info["counts"], load_corpus("tang")
    total = {k: sum(c[k] for c in counts.values()) for k in counts["train"]}
    # The sizes table, row by row, and its total.
    for split, c in (*counts.items(), ("total", total)):
        cells = [f"{c[k]:,}" for k in ("poems", "authors", "characters")]
        cells += [f"{c[k]:,}" for k in ("ideographs", "lines", "bytes_gz")]
        assert f"| {split} | " + " | ".join(cells) + " |" in section, split
    for split in build.SPLITS:
        says(section, f"{counts[split]['poems']:,} poems by {counts[split]['authors']}")
    says(section, f"{total['poems']:,} Tang poems", f"by {total['authors']} authors")
    says(section, f"{total['bytes_gz'] / 1e6:.1f} MB compressed")
    # What was dropped, and the split rule's numbers.
    dropped = info["dropped"]
    says(section, f"{dropped['incomplete']} incomplete", f"{dropped['empty']} left")
    says(section, f"{dropped['duplicate']} duplicates")
    says(section, f"({dropped['shared_line']} poems)", f"{build.HELD_OUT:.0%} of the")
    says(section, f"more than {build.BIG_AUTHOR:.0%} of the characters")
    share = {s: counts[s]["characters"] / total["characters"] for s in counts}
    says(
        section,
        f"Validation holds {share['valid']:.1%} of the characters, "
        f"test {share['test']:.1%}",
    )
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
    # The five-character quatrains.
    poems = corpora._tang_poems()
    wujue = {s: sum(bool(WUJUE.fullmatch(p["text"])) for p in poems[s]) for s in poems}
    says(section, f"{sum(wujue.values()):,} poems", f"({wujue['train']:,} of them")
    # The checksums block is the SHA256SUMS file.
    assert (BUNDLED / "SHA256SUMS").read_text("ascii") in section
    assert build.REBUILD_COMMAND.split(" && ")[0] in section
    assert f"checkout {build.COMMIT}" in section


# ----------------------------------------------------------------- the build


def test_clean_field_makes_punctuation_full_width_and_drops_notes():
    same = str  # no conversion: test the cleaning alone

    def clean(text, **kw):
        return build.clean_field(text, same, where="t", **kw)

    assert clean("[爽]節在重九, 物華新雨餘.") == "爽節在重九，物華新雨餘。"
    assert clean("邏人（一作「叉」）橫鳥道，江祖出魚梁。") == "邏人橫鳥道，江祖出魚梁。"
    assert clean("拭淚聽猿嗁/。") == "拭淚聽猿嗁。"
    assert clean("帝京篇十首 一", spaces=True) == "帝京篇十首\u3000一"
    assert clean("帝京篇十首 一") == "帝京篇十首一"
    assert clean("靈隱寺”") == "靈隱寺"  # an unpaired quotation mark
    assert clean("童子解吟「長恨曲」？") == "童子解吟“長恨曲”？"
    with pytest.raises(ZooError, match="neither ideographs"):
        clean("abc，")
    converted = build.clean_field("說", lambda s: s.replace("說", "说"), where="t")
    assert converted == "说"


def test_author_groups_join_co_authors():
    groups = build.author_groups(
        {"魏征、褚亮", "褚亮", "魏征", "李白", "甲、乙", "乙、丙"}
    )
    assert groups["褚亮"] == groups["魏征、褚亮"] == groups["魏征"] == "褚亮、魏征"
    assert groups["甲、乙"] == groups["乙、丙"] == "丙、乙、甲"
    assert groups["李白"] == "李白"


def fake_source(folder: Path, monkeypatch, extra: str = "") -> Path:
    """A chinese-poetry folder in the real layout with a few poems, and the
    build's expected sha256 sums patched to match it."""
    poems = [  # eight authors, five poems each
        {
            "author": f"詩人{a}",
            "title": f"題 {a}{b}",
            "paragraphs": [f"{a}{b}山水長流去，{b}{a}雲風不見來。"],
        }
        for a in "春夏秋冬東南西北"
        for b in "一二三四五"
    ]
    poems.append(dict(poems[0], title="重出"))  # a duplicate, punctuation aside
    poems[-1]["paragraphs"] = [poems[0]["paragraphs"][0].replace("，", ",")]
    poems.append({"author": "缺名", "title": "殘", "paragraphs": ["□□山水，明月照。"]})
    three_hundred = [
        {"author": "詩人夏", "title": "別題", "paragraphs": [f"高樓望遠天{extra}。"]}
    ]
    files = {
        "全唐诗/poet.tang.0.json": json.dumps(poems, ensure_ascii=False),
        "全唐诗/唐诗三百首.json": json.dumps(three_hundred, ensure_ascii=False),
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
    # Eight authors of equal size: one each for valid and test.
    monkeypatch.setattr(build, "HELD_OUT", 0.1)
    monkeypatch.setattr(build, "BIG_AUTHOR", 0.5)
    return folder


def simplify(text: str) -> str:
    """A stand-in for OpenCC's t2s on the fake poems' characters."""
    return text.translate(
        str.maketrans("長雲風見來題詩別樓遠殘", "长云风见来题诗别楼远残")
    )


def test_build_is_deterministic_clean_and_split_by_author(tmp_path, monkeypatch):
    source = fake_source(tmp_path / "src", monkeypatch)
    first = build.build(source, convert=simplify)
    assert first == build.build(source, convert=simplify)
    assert list(first)[-1] == "SHA256SUMS"  # written last
    gz = first["valid.txt.gz"]
    assert gz[4:8] == b"\0\0\0\0"  # mtime 0
    assert not gz[3] & 0x08  # no file name in the header
    info = json.loads(first["splits.json"])
    assert info["dropped"] == {
        "incomplete": 1,
        "empty": 0,
        "duplicate": 1,
        "shared_line": 0,
    }
    texts = {s: gzip.decompress(first[f"{s}.txt.gz"]).decode() for s in build.SPLITS}
    assert sum(info["counts"][s]["poems"] for s in texts) == 41
    for split, text in texts.items():
        assert info["counts"][split]["characters"] == len(text)
        assert "長" not in text and "," not in text and "□" not in text
        authors = {b.split("\n")[1] for b in text.strip().split("\n\n")}
        assert authors == set(info["authors"][split])
    assert texts["valid"] and texts["test"]
    assert not set(info["authors"]["valid"]) & set(info["authors"]["train"])
    first_poem = texts[next(s for s in texts if "诗人春" in info["authors"][s])].split(
        "\n\n"
    )[0]
    assert first_poem == "题\u3000春一\n诗人春\n春一山水长流去，一春云风不见来。"
    assert first["LICENSE"] == b"The MIT License (MIT)\n"


def test_build_checks_source_sums_before_reading(tmp_path, monkeypatch):
    source = fake_source(tmp_path / "src", monkeypatch)
    (source / "全唐诗/唐诗三百首.json").write_text("[]", encoding="utf-8")
    with pytest.raises(ZooError, match="唐诗三百首.json: does not match"):
        build.build(source, convert=simplify)
    (source / "SHA256SUMS").unlink()  # a plain clone: the built-in sums apply
    with pytest.raises(ZooError, match="sha256 .* expected"):
        build.build(source, convert=simplify)
    with pytest.raises(ZooError, match="no such folder"):
        build.build(tmp_path / "nowhere", convert=simplify)


def test_main_writes_atomically_and_check_finds_differences(
    tmp_path, monkeypatch, capsys
):
    source, out = fake_source(tmp_path / "src", monkeypatch), tmp_path / "out"
    monkeypatch.setattr(
        build, "converter", lambda: type("C", (), {"convert": simplify})
    )
    assert build.main(["--source", str(source), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        build.build(source, convert=simplify)
    )
    assert build.main(["--source", str(source), "--out", str(out), "--check"]) == 0
    other = fake_source(tmp_path / "other", monkeypatch, extra="！")
    assert build.main(["--source", str(other), "--out", str(out), "--check"]) == 1
    assert "differs from a fresh build" in capsys.readouterr().err
    assert not list(out.glob(".*.tmp"))


@pytest.mark.slow  # two builds: about 13 s
def test_rebuild_from_the_real_source_is_byte_for_byte():
    source = os.environ.get(SOURCE_ENV)
    if not source or not Path(source).is_dir():
        pytest.skip(
            f"set {SOURCE_ENV} to a chinese-poetry folder (git clone "
            f"{build.REPOSITORY}, commit {build.COMMIT}) to run this test"
        )
    pytest.importorskip(
        "opencc", reason=f"the build needs OpenCC: pip install {build.OPENCC_PIN}"
    )
    built = build.build(source)
    for name, data in built.items():
        assert data == (BUNDLED / name).read_bytes(), name
    assert build.main(["--source", source, "--out", str(BUNDLED), "--check"]) == 0
    # data/README.md's account of the duplicates, from the source itself:
    # those within the 全唐诗 files, then 唐诗三百首's own repeats and its
    # copies of poems already read from 全唐诗.
    files = build.verify_source(source)
    del files[build.LICENSE[0]]
    convert = build.converter().convert
    three_hundred = "全唐诗/唐诗三百首.json"
    raw = files.pop(three_hundred)
    poems, dropped = build.read_poems(files, convert)
    in_qts = {ideographs("".join(p["lines"])) for p in poems}
    alone, alone_dropped = build.read_poems({three_hundred: raw}, convert)
    copies = sum(ideographs("".join(p["lines"])) in in_qts for p in alone)
    from_300 = splits_json()["dropped"]["duplicate"] - dropped["duplicate"]
    assert from_300 == copies + alone_dropped["duplicate"]
    says(
        readme_section(),
        f"{dropped['duplicate']} duplicates lie within the 全唐诗",
        f"{from_300} of 唐诗三百首's {len(json.loads(raw))} poems",
        f"{copies} as copies",
        f"{alone_dropped['duplicate']} repeated within",
    )


# ------------------------------------------------------------ TFDS, offline


def test_tfds_builder_matches_bundled_corpus(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    import zoo.data.tfds_tang  # noqa: F401  (registers the builder)

    splits = tfds.load("zoo_tang", data_dir=tmp_path)
    assert set(splits) == {"train", "validation", "test"}
    corpus, counts = load_corpus("tang"), splits_json()["counts"]
    for tfds_name, split in (("validation", "valid"), ("test", "test")):
        poems = list(tfds.as_numpy(splits[tfds_name]))
        assert len(poems) == counts[split]["poems"]
        blocks = (
            "\n".join(p[k].decode("utf-8") for k in ("title", "author", "text"))
            for p in poems
        )
        assert "\n".join(blocks) == corpus.splits[split]
    assert splits["train"].cardinality().numpy() == counts["train"]["poems"]
    # The counts its description and release notes state are the corpus's.
    builder = tfds.builder("zoo_tang", data_dir=tmp_path)
    total = sum(c["poems"] for c in counts.values())
    words = {"train": "train", "valid": "validation", "test": "test"}
    says(
        builder.info.description,
        f"{total:,} Tang poems",
        *(f"{counts[s]['poems']:,} {words[s]}" for s in words),
    )
    notes = " ".join(builder.RELEASE_NOTES.values())
    says(
        notes,
        *(
            f"{counts[s]['poems']:,} {w}"
            for s, w in (
                ("train", "training"),
                ("valid", "validation"),
                ("test", "test"),
            )
        ),
    )


# ------------------------------------------------------------- the command


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["train", "ngram", "--data", "tang"], {"level": "char", "min_freq": 1}),
        (["train", "ngram", "--data", "tang", "--level", "word"], {"level": "word"}),
        (["train", "ngram"], {"level": "word", "min_freq": 2}),
        (["train", "gru", "--data", "tang"], {"level": "char", "data": "tang"}),
    ],
)
def test_tang_reads_characters_by_default(argv, expected):
    from zoo.cli import _parser, _resolve_train_args

    parser = _parser()
    args = parser.parse_args(argv)
    _resolve_train_args(parser.commands["train"], args)
    assert {k: getattr(args, k) for k in expected} == expected


@pytest.mark.slow
def test_zoo_train_gru_on_tang_then_evaluate(tmp_path):
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
        "train", "gru", "--data", "tang", "--epochs", 1, "--steps-per-epoch", 3,
        "--seq-len", 16, "--batch-size", 4, "--units", 16, "--embedding-dim", 8,
        "--out", run,
    )  # fmt: skip
    corpus = load_corpus("tang")
    assert f"data: {corpus!r}; char-level vocabulary of" in out
    assert "validation perplexity" in out
    sample = out.split("sample:\n", 1)[1]
    assert sample.startswith(corpus.valid[:40])  # the prompt: unseen text
    assert (run / "model.keras").stat().st_size > 0
    # The model file remembers its data; --data tang says it again.
    for extra in ([], ["--data", "tang"]):
        ev = zoo("evaluate", run / "model.keras", *extra)
        assert "test perplexity" in ev and "(tang)" in ev
