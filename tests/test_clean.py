"""`zoo clean` (zoo.cleaning): every rule on documents made here, the files it
reads and writes, and the command line.

Planted duplicates are found and a near duplicate below the threshold is kept;
each noise filter and each masking pattern fires, and dates and ordinary
numbers are left alone; cleaning a cleaned file changes nothing; bad input
gets the one-line errors of `zoo train`.
"""

from __future__ import annotations

import doctest
import hashlib
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from zoo import cleaning
from zoo.cleaning import (
    clean,
    clean_documents,
    is_mojibake,
    is_resident_id,
    jaccard,
    mask_personal_data,
    normalize,
    shingle_hashes,
)
from zoo.errors import ZooError

ROOT = Path(__file__).resolve().parents[1]

HAMLET = (
    "To be, or not to be, that is the question:\n"
    "Whether 'tis nobler in the mind to suffer\n"
    "The slings and arrows of outrageous fortune,\n"
    "Or to take arms against a sea of troubles"
)
POEM = "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。"
SONNET = (
    "Shall I compare thee to a summer's day?\n"
    "Thou art more lovely and more temperate:\n"
    "Rough winds do shake the darling buds of May"
)
CHUNJIANG = "春江潮水连海平，海上明月共潮生。\n滟滟随波千万里，何处春江无月明。"


def zoo(*args, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "zoo", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def resident_id(first17: str) -> str:
    """A resident ID with its check character, computed as GB 11643 writes it."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


def removed(cleaned, rule: str) -> int:
    return cleaned.report["removed"][rule]["documents"]


def digest(path: Path) -> dict[str, str]:
    """sha256 of a file, or of every file in a folder (hidden ones too)."""
    files = [path] if path.is_file() else sorted(path.rglob("*"))
    files = [p for p in files if p.is_file()]
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


# ------------------------------------------------------------ normalisation


def test_normalize_nfkc_width_whitespace_and_chinese_punctuation():
    assert normalize("Ｈｅｌｌｏ　ｗｏｒｌｄ １２３ ＠") == "Hello world 123 @"
    assert normalize("ｶﾀｶﾅ") == "カタカナ"  # half-width kana become full width
    assert normalize("  a \t b  \n\n   \n c\u200b d\u00ad\x07 ") == "a b\nc d"
    # NFKC alone would give "你好,世界!"; Chinese text keeps its punctuation,
    # English text gets ASCII punctuation.
    assert normalize("你好,世界!") == "你好，世界！"
    assert normalize("Hello， world！") == "Hello, world!"
    assert normalize("时间：12:30（北京）") == "时间：12:30（北京）"
    assert normalize("f(x) = 1") == "f(x) = 1"
    assert normalize("a\r\nb\u2028c") == "a\nb\nc"


def test_normalize_keeps_paragraphs_of_a_whole_file():
    text = "One.\n\n\n\nTwo.  \n   \nThree.\n"
    assert normalize(text, blank_lines=True) == "One.\n\nTwo.\n\nThree."
    assert normalize(text) == "One.\nTwo.\nThree."


def test_to_simplified():
    assert normalize("漢字與數據清洗", to_simplified=True) == "汉字与数据清洗"
    assert normalize("漢字與數據清洗") == "漢字與數據清洗"


def test_normalize_is_idempotent_on_random_text():
    pool = (
        "abcXYZ019 ,.!?:;()@\t\n\u3000\u00a0\u200b\ufeff\x00\x1f\r"
        "ＡＢＣ１２３，。！？：；（）＠ｶﾞ①ﬁ²"
        "汉字數據清洗床前明月光"
    )
    rng = random.Random(0)
    for _ in range(500):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 40)))
        for blank_lines in (False, True):
            once = normalize(text, blank_lines=blank_lines)
            assert normalize(once, blank_lines=blank_lines) == once, repr(text)


# ------------------------------------------------------------------ masking


def test_resident_id_check_digit():
    assert is_resident_id("11010519491231002X")  # GB 11643's own example
    assert is_resident_id("11010519491231002x")
    valid = resident_id("44030419900307123")
    assert is_resident_id(valid)
    wrong = valid[:17] + ("0" if valid[17] != "0" else "1")
    assert not is_resident_id(wrong)
    assert not is_resident_id(resident_id("44030419901307123"))  # month 13
    assert not is_resident_id(resident_id("04030419900307123"))  # region 0...
    # About one random 18-digit number in eleven has the right check digit;
    # the check turns almost all the others away.
    rng = random.Random(0)
    numbers = [
        "".join(rng.choice("0123456789") for _ in range(18)) for _ in range(2000)
    ]
    assert sum(map(is_resident_id, numbers)) < 40


@pytest.mark.parametrize(
    "text, masked",
    [
        ("write to li.lei+zoo@mail.example.edu.cn today", "write to <EMAIL> today"),
        ("邮箱：zhang_san@163.com。", "邮箱：<EMAIL>。"),
        ("手机 13800138000", "手机 <PHONE>"),
        ("手机：138-0013-8000 或 139 1234 5678", "手机：<PHONE> 或 <PHONE>"),
        ("call +86 13800138000 now", "call <PHONE> now"),
        ("call 0086-13800138000", "call <PHONE>"),
        ("电话 010-62345678，传真 (0755) 8888 6666", "电话 <PHONE>，传真 <PHONE>"),
        ("London +44 20 7946 0958.", "London <PHONE>."),
        ("US: +1 (415) 555-2671", "US: <PHONE>"),
        ("Berlin +49 30 901820", "Berlin <PHONE>"),
        ("身份证 11010519491231002X 已核对", "身份证 <ID> 已核对"),
    ],
)
def test_masking_patterns(text, masked):
    out, counts = mask_personal_data(text)
    assert out == masked
    assert sum(counts.values()) == masked.count("<")


@pytest.mark.parametrize(
    "text",
    [
        "会议定于 2024-05-01 举行，截止 2024年5月1日。",
        "Dated 17/05/2023 and 05.17.2023, at 12:30:45.",
        "pi = 3.14159265358979 and e = 2.718281828459045",
        "population 1,234,567,890 and 12345678901234567890 grains",
        "order no. 440304199003071230 (an 18-digit number, wrong check digit)",
        "ISBN 978-7-111-54742-6, 2 + 3 = 5, 5 +10 20 30",
        "room 0101, year 1998, tel ext. 1234",
        "版本 v1.13.8 和 1.3800138000 都不是电话",
    ],
)
def test_dates_and_ordinary_numbers_are_not_masked(text):
    assert mask_personal_data(text) == (text, {"email": 0, "phone": 0, "id": 0})


def test_an_id_of_the_right_form_but_a_wrong_check_digit_stays():
    valid = resident_id("32010219850615461")
    wrong = valid[:17] + str((int(valid[17]) + 1) % 10 if valid[17] != "X" else 0)
    out, counts = mask_personal_data(f"证件 {valid}，另一个 {wrong}")
    assert out == f"证件 <ID>，另一个 {wrong}"
    assert counts["id"] == 1


def test_masking_after_normalising_catches_full_width_digits():
    cleaned = clean_documents(
        ["电话：１３８００１３８０００，邮箱ａ＠ｂ．ｃｎ，请联系。"], min_chars=5
    )
    assert cleaned.documents == ["电话：<PHONE>，邮箱<EMAIL>，请联系。"]


# ------------------------------------------------------------------ filters


def test_each_noise_filter():
    docs = {
        "too_short": "Exit.",
        "too_long": "All the world's a stage. " * 20,
        "symbols": "1234 5678 9012 3456 -- ## $$ %% 2024/05/01 !!!",
        "repeated_lines": "Buy now!\nBuy now!\nBuy now!\nBest price.",
        "mojibake": "The Mona Lisa doesnÃ¢â‚¬â„¢t have eyebrows at all.",
    }
    keep = [HAMLET, POEM, "Crème brûlée, naïve café, Zürich: façade of the œuvre."]
    cleaned = clean_documents([*docs.values(), *keep], max_chars=300, min_chars=10)
    assert cleaned.documents == [normalize(t) for t in keep]
    for rule in docs:
        assert removed(cleaned, rule) == 1, (rule, cleaned.report["removed"][rule])


def test_mojibake_detection():
    chinese = "数据清洗是训练语言模型之前的重要一步。"
    assert not is_mojibake(chinese) and not is_mojibake(CHUNJIANG)
    assert is_mojibake(chinese.encode("utf-8").decode("gbk", errors="replace"))
    assert is_mojibake(chinese.encode("utf-8").decode("latin-1"))
    assert is_mojibake("数据\ufffd\ufffd清洗") and is_mojibake("锟斤拷烫烫烫")
    assert not is_mojibake("Crème brûlée, naïve café")


def test_no_bundled_text_is_taken_for_mojibake():
    from zoo.data import load_corpus

    for name in ("shakespeare", "tang"):
        text = load_corpus(name).valid
        blocks = [b for b in text.split("\n\n") if b.strip()]
        flagged = [b for b in blocks if is_mojibake(b)]
        assert not flagged, (name, flagged[:3])


# ------------------------------------------------------------- duplicates


def test_exact_duplicates_after_normalising():
    variants = [HAMLET, HAMLET.replace(" ", "  "), HAMLET.replace("T", "Ｔ"), SONNET]
    cleaned = clean_documents(variants)
    assert cleaned.kept == [0, 3]
    assert removed(cleaned, "exact_duplicate") == 2
    assert cleaned.report["removed"]["exact_duplicate"]["examples"][0]["of"] == 0


def test_near_duplicates_found_and_one_below_the_threshold_kept():
    near = HAMLET.replace("outrageous", "outragious")  # one letter
    far = HAMLET.replace("slings and arrows", "stones and spears").replace(
        "sea of troubles", "host of sorrows"
    )
    similarity = {
        name: jaccard(shingle_hashes(HAMLET), shingle_hashes(text))
        for name, text in (("near", near), ("far", far))
    }
    assert similarity["near"] > 0.9 and 0.5 < similarity["far"] < 0.8, similarity
    cleaned = clean_documents([HAMLET, SONNET, near, far])
    assert cleaned.kept == [0, 1, 3]
    (example,) = cleaned.report["removed"]["near_duplicate"]["examples"]
    assert example["of"] == 0
    assert example["jaccard"] == pytest.approx(similarity["near"], abs=1e-3)
    # A threshold below the far copy's similarity removes it too.
    lower = clean_documents([HAMLET, SONNET, near, far], threshold=0.5)
    assert lower.kept == [0, 1]


def test_near_duplicates_in_chinese_by_character_shingles():
    near = CHUNJIANG.replace("千万里", "千万重")
    cleaned = clean_documents([CHUNJIANG, POEM, near], shingle_size=3, min_chars=10)
    assert cleaned.kept == [0, 1]
    assert removed(cleaned, "near_duplicate") == 1


def test_many_planted_near_duplicates_are_found():
    from zoo.data import load_corpus

    blocks = [b for b in load_corpus("shakespeare").valid.split("\n\n") if len(b) > 200]
    originals = blocks[:100]
    rng = random.Random(0)
    copies = []
    for text in originals:  # one word changed: Jaccard about 0.9 or more
        words = text.split(" ")
        words[rng.randrange(len(words))] = "zounds"
        copies.append(" ".join(words))
    cleaned = clean_documents(originals + copies, threshold=0.8)
    expected = [
        jaccard(shingle_hashes(a), shingle_hashes(b)) >= 0.8
        for a, b in zip(originals, copies, strict=True)
    ]
    found = removed(cleaned, "near_duplicate") + removed(cleaned, "exact_duplicate")
    # LSH may miss a pair just above the threshold; it misses almost none.
    assert found >= 0.97 * sum(expected), (found, sum(expected))
    assert all(i in cleaned.kept for i in range(len(originals)))


def test_deterministic():
    docs = [HAMLET, SONNET, HAMLET.replace("sea", "see"), POEM, CHUNJIANG]
    assert clean_documents(docs).report == clean_documents(docs).report


# ------------------------------------------------------------------ files


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def corpus_text() -> str:
    """A small corpus with a bit of everything, as blank-line blocks."""
    valid_id = resident_id("11010820001231123")
    blocks = [
        HAMLET,
        SONNET,
        HAMLET,  # exact duplicate
        HAMLET.replace("outrageous", "outragious"),  # near duplicate
        POEM,
        CHUNJIANG,
        "Exit.",  # too short
        f"联系人：王小明，电话 13800138000，邮箱 wxm@example.com，身份证 {valid_id}。",
        "Ｆｕｌｌ－ｗｉｄｔｈ  text， with\tspaces   to normalise.",
        "Buy now!\nBuy now!\nBuy now!\nBest price.",
    ]
    return "\n\n\n".join(blocks) + "\n"


def test_clean_a_file_and_report(tmp_path):
    source = write(tmp_path / "raw.txt", corpus_text())
    before = digest(source)
    report = clean(source, tmp_path / "out.txt", report=tmp_path / "report.json")
    assert digest(source) == before  # the input is never changed
    text = (tmp_path / "out.txt").read_text(encoding="utf-8")
    assert text.endswith("\n") and "\n\n\n" not in text
    documents = text.rstrip("\n").split("\n\n")
    assert len(documents) == report["after"]["documents"] == 6
    assert report["before"] == {
        "documents": 10,
        "characters": report["before"]["characters"],
    }
    assert report["after"]["characters"] == sum(map(len, documents))
    counts = {rule: entry["documents"] for rule, entry in report["removed"].items()}
    assert counts == {
        "mojibake": 0,
        "too_short": 1,
        "too_long": 0,
        "symbols": 0,
        "repeated_lines": 1,
        "exact_duplicate": 1,
        "near_duplicate": 1,
    }
    assert {k: v["matches"] for k, v in report["masked"].items()} == {
        "email": 1,
        "phone": 1,
        "id": 1,
    }
    assert "联系人：王小明，电话 <PHONE>，邮箱 <EMAIL>，身份证 <ID>。" in documents
    assert "Full-width text, with spaces to normalise." in documents
    saved = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert saved == json.loads(json.dumps(report, ensure_ascii=False))
    # The report shows masked text only: no personal data in it.
    raw_report = (tmp_path / "report.json").read_text(encoding="utf-8")
    assert "13800138000" not in raw_report and "wxm@example.com" not in raw_report


def test_cleaning_a_cleaned_file_changes_nothing(tmp_path):
    source = write(tmp_path / "raw.txt", corpus_text())
    clean(source, tmp_path / "once.txt")
    report = clean(tmp_path / "once.txt", tmp_path / "twice.txt")
    once = (tmp_path / "once.txt").read_bytes()
    assert (tmp_path / "twice.txt").read_bytes() == once
    assert report["before"] == report["after"]
    assert not any(entry["documents"] for entry in report["removed"].values())
    assert not any(entry["matches"] for entry in report["masked"].values())
    assert report["normalized"]["documents"] == 0


def test_a_folder_gives_a_folder_that_mirrors_it(tmp_path):
    source = tmp_path / "docs"
    source.mkdir()
    write(source / "a.txt", HAMLET + "\n\n\n" + SONNET + "\n")
    write(source / "b.txt", HAMLET + "\n\n" + SONNET)  # the same, normalised
    write(source / "c.txt", "电话 13800138000。" + CHUNJIANG)
    write(source / "d.txt", "   \n")  # empty: skipped, as by zoo train
    write(source / "notes.md", "not a document")
    (source / "sub").mkdir()
    write(source / "sub" / "e.txt", "a subfolder is not read")
    before = digest(source)
    out = tmp_path / "clean"
    report = clean(source, out)
    assert digest(source) == before
    assert sorted(p.name for p in out.glob("*.txt")) == ["a.txt", "c.txt"]
    # A whole file keeps its paragraphs (one blank line between them).
    assert (out / "a.txt").read_text(
        encoding="utf-8"
    ) == HAMLET + "\n\n" + SONNET + "\n"
    assert (out / "c.txt").read_text(encoding="utf-8").startswith("电话 <PHONE>。")
    assert report["removed"]["exact_duplicate"]["documents"] == 1
    # Cleaning again over the earlier output is allowed and changes nothing;
    # cleaning the output gives the output.
    first = digest(out)
    clean(source, out)
    assert digest(out) == first
    clean(out, tmp_path / "again")
    texts = {Path(k).name: v for k, v in first.items() if k.endswith(".txt")}
    again = digest(tmp_path / "again").items()
    assert {Path(k).name: v for k, v in again if k.endswith(".txt")} == texts


def test_a_folder_output_never_replaces_someone_elses_folder(tmp_path):
    source = tmp_path / "docs"
    source.mkdir()
    write(source / "a.txt", HAMLET)
    mine = tmp_path / "mine"
    mine.mkdir()
    write(mine / "thesis.txt", "years of work")
    with pytest.raises(ZooError, match="not an earlier zoo clean output"):
        clean(source, mine)
    assert (mine / "thesis.txt").read_text() == "years of work"
    with pytest.raises(ZooError, match="the input is a folder"):
        clean(source, write(tmp_path / "file.txt", "x"))


@pytest.mark.parametrize("where", ["same", "inside", "around", "report"])
def test_refuses_to_overwrite_its_own_input(tmp_path, where):
    folder = tmp_path / "docs"
    folder.mkdir()
    source = write(folder / "a.txt", HAMLET)
    before = digest(tmp_path)
    if where == "same":
        args = (source, source)
    elif where == "inside":
        args = (folder, folder / "clean")
    elif where == "around":
        args = (folder, tmp_path)
    else:
        args = (source, tmp_path / "out.txt")
    kwargs = {"report": source} if where == "report" else {}
    with pytest.raises(ZooError, match="would overwrite the input"):
        clean(*args, **kwargs)
    assert digest(tmp_path) == before


def test_bad_input_gets_the_errors_of_zoo_train(tmp_path):
    from zoo.data import load_text

    cases = {
        "missing": tmp_path / "missing.txt",
        "not_utf8": tmp_path / "gbk.txt",
        "empty": tmp_path / "empty.txt",
        "empty_folder": tmp_path / "folder",
    }
    cases["not_utf8"].write_bytes("数据清洗".encode("gbk"))
    write(cases["empty"], " \n\n ")
    cases["empty_folder"].mkdir()
    for name, path in cases.items():
        with pytest.raises(ZooError) as theirs:
            load_text(path)
        with pytest.raises(ZooError) as ours:
            clean(path, tmp_path / f"{name}.out")
        assert str(ours.value) == str(theirs.value), name
        assert "\n" not in str(ours.value)
    assert not list(tmp_path.glob("*.out"))


def test_nothing_half_written(tmp_path, monkeypatch):
    source = write(tmp_path / "raw.txt", corpus_text())
    out = write(tmp_path / "out.txt", "an earlier output\n")

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(cleaning.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        clean(source, out)
    monkeypatch.undo()
    assert out.read_text() == "an earlier output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt", "raw.txt"]
    # Everything removed: an error, and no output at all.
    with pytest.raises(ZooError, match="every document was removed"):
        clean(source, tmp_path / "none.txt", min_chars=10_000, max_chars=20_000)
    assert not (tmp_path / "none.txt").exists()


def test_bad_options():
    with pytest.raises(ZooError, match="--threshold"):
        clean_documents([HAMLET], threshold=1.5)
    with pytest.raises(ZooError, match="--max-chars"):
        clean_documents([HAMLET], min_chars=50, max_chars=10)


def test_optional_libraries_are_imported_only_when_needed(monkeypatch):
    code = (
        "import sys, zoo.cleaning as c; c.normalize('x'); c.mask_personal_data('x');"
        "print(sorted({'datasketch', 'ftfy', 'opencc'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert out.stdout.strip() == "[]", out.stderr
    monkeypatch.setitem(sys.modules, "datasketch", None)  # as if not installed
    with pytest.raises(ZooError, match=r'datasketch.*pip install "zoo\[clean\]"'):
        clean_documents([HAMLET])
    monkeypatch.setitem(sys.modules, "opencc", None)
    with pytest.raises(ZooError, match=r'opencc.*pip install "zoo\[clean\]"'):
        normalize("漢字", to_simplified=True)


def test_docstring_examples():
    result = doctest.testmod(cleaning, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8 and result.failed == 0, result


# ----------------------------------------------------------- command line


def test_the_command(tmp_path):
    source = write(tmp_path / "raw.txt", corpus_text())
    out, report = tmp_path / "out.txt", tmp_path / "report.json"
    proc = zoo("clean", source, "--out", out, "--report", report)
    sizes = json.loads(report.read_text(encoding="utf-8"))
    before, after = sizes["before"]["characters"], sizes["after"]["characters"]
    assert proc.stdout.splitlines() == [
        f"kept 6 of 10 documents ({after:,} of {before:,} characters)",
        "removed: too_short 1, repeated_lines 1, exact_duplicate 1, near_duplicate 1",
        "masked: email 1, phone 1, id 1",
        f"wrote {out} and {report}",
    ]
    # A different hash seed gives the same bytes (nothing depends on hash()).
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    subprocess.run(
        [sys.executable, "-m", "zoo", "clean", source, "--out", tmp_path / "b.txt"],
        check=True,
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert (tmp_path / "b.txt").read_bytes() == out.read_bytes()
    # --threshold: a looser threshold removes more.
    proc = zoo("clean", source, "--out", tmp_path / "c.txt", "--threshold", "0.3")
    assert "near_duplicate" in proc.stdout
    assert "clean" in zoo("--help").stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.txt", "--out", "x.txt"], "missing.txt: no such file or folder"),
        (["raw.txt", "--out", "raw.txt"], "would overwrite the input"),
        (["raw.txt", "--out", "x.txt", "--threshold", "2"], "--threshold"),
    ],
)
def test_the_command_fails_in_one_line(tmp_path, args, message):
    write(tmp_path / "raw.txt", HAMLET)
    proc = subprocess.run(
        [sys.executable, "-m", "zoo", "clean", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zoo: error: "), proc.stderr
    assert message in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw.txt"]


@pytest.mark.slow
def test_zoo_train_reads_the_cleaned_file(tmp_path):
    from zoo.data import load_corpus

    source = write(tmp_path / "raw.txt", load_corpus("shakespeare").valid[:60_000])
    zoo("clean", source, "--out", tmp_path / "cleaned.txt")
    proc = zoo(
        "train",
        "ngram",
        "--data",
        tmp_path / "cleaned.txt",
        "--order",
        "3",
        "--out",
        tmp_path / "run",
    )
    saved = re.search(r"^saved (.+)$", proc.stdout, re.MULTILINE)
    assert saved and Path(saved.group(1)).is_file(), proc.stdout
    proc = zoo("evaluate", saved.group(1), "--split", "valid")
    assert re.search(r"valid perplexity \d+\.\d+", proc.stdout), proc.stdout


# -------------------------------------------------------------- benchmark


def test_the_benchmark_runs_on_a_slice():
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks.clean_throughput import run
    finally:
        sys.path.remove(str(ROOT))
    result = run(chars=20_000, repeats=2)
    assert result["documents_per_s"] > 0 and result["mb_per_s"] > 0
    assert len(result["seconds"]) == 2
    assert result["report"]["before"]["characters"] <= 20_000
