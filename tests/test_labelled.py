"""The labelled data built from the bundled corpora (zoo.data.labelled)."""

from __future__ import annotations

import re

import pytest

from zoo.data import labelled
from zoo.data.labelled import (
    GENRES,
    PASSAGE_CHARS,
    TAGS,
    TANG_FORMS,
    bio_tags,
    load_labelled,
    load_tagged,
    name_spans,
    play_passages,
    speaker_names,
    tang_form,
)
from zoo.errors import ZooError


@pytest.fixture(scope="module")
def genre():
    return load_labelled("genre")


def test_genre_splits_are_whole_plays_of_three_genres(genre):
    plays = {split: {p.play for p in play_passages(split)} for split in genre.splits}
    assert not plays["train"] & plays["valid"]
    assert not plays["train"] & plays["test"]
    assert not plays["valid"] & plays["test"]
    assert genre.labels == GENRES
    for split, rows in genre.splits.items():
        # Every held-out split has one play of each genre; train has them all.
        assert {label for _, label in rows} == set(GENRES), split
    # The romances are left out: no passage of The Tempest.
    assert "tempest" in plays["train"]
    tempest = {p.text for p in play_passages("train") if p.play == "tempest"}
    assert not tempest & {text for text, _ in genre.train}


def test_passages_are_whole_spoken_lines(genre):
    passages = play_passages("test")
    assert len(passages) == len(genre.test)
    for passage in passages[:500]:
        assert len(passage.text) >= PASSAGE_CHARS
        lines = passage.text.split("\n")
        # Without their last line, too short: a passage stops once it is long
        # enough.
        assert sum(map(len, lines[:-1])) + len(lines) - 2 < PASSAGE_CHARS
        for line in lines:
            assert line and not line.startswith("[")  # no stage direction
            assert not re.fullmatch(r"(ACT|SCENE|Scene)\b.*", line)
    # No speaker heading sits alone on a line of a passage.
    headings = {f"{name.upper()}." for name in speaker_names("othello")}
    othello = [p.text for p in passages if p.play == "othello"]
    assert not any(line in headings for text in othello for line in text.split("\n"))


def test_speaker_names_are_names_not_titles():
    names = speaker_names("romeo_and_juliet")
    assert {"Romeo", "Juliet", "Tybalt", "Mercutio"} <= names
    othello = speaker_names("othello")
    assert {"Othello", "Iago", "Desdemona", "Cassio"} <= othello
    for title in ("King", "Duke", "Clown", "Nurse", "Venice", "Lord"):
        assert title not in names | othello
    with pytest.raises(ZooError, match="no bundled play 'hamlett'"):
        speaker_names("hamlett")


def test_name_spans_and_bio_tags():
    text = "Good Don Pedro, and Romeo.\nRomeo Montague"
    spans = name_spans(text, {"Romeo", "Pedro", "Don", "Montague"})
    assert [text[a:b] for a, b in spans] == [
        "Don Pedro",
        "Romeo",
        "Romeo Montague",
    ]  # a newline ends a name
    tags = bio_tags(text, spans)
    assert len(tags) == len(text)
    assert tags[5:14] == ["B-PER"] + ["I-PER"] * 8
    assert tags[4] == "O" and tags[14] == "O"


def test_tagged_names_match_their_plays():
    tagged = load_tagged("names")
    assert tagged.tags == TAGS
    for split, rows in tagged.splits.items():
        assert rows, split
        entities = 0
        for text, tags in rows:
            assert len(tags) == len(text)
            assert set(tags) <= set(TAGS[1:])
            for i, tag in enumerate(tags):
                if tag == "I-PER":
                    assert tags[i - 1] in ("B-PER", "I-PER")
            entities += tags.count("B-PER")
        assert entities > 100, split
    # Othello's passages tag "Iago" wherever it is written.
    text, tags = next((t, g) for t, g in tagged.test if "Iago" in t.split()[0:50])
    start = text.index("Iago")
    assert tags[start : start + 4] == ["B-PER", "I-PER", "I-PER", "I-PER"]


def test_plays_with_inline_headings_are_left_out_of_tagging():
    kept = {p["id"] for p in labelled._plays()["train"] if len(p["headings"]) >= 200}
    assert "midsummer_nights_dream" not in kept and "hamlet" in kept
    rows = load_tagged().train
    dream = {
        p.text for p in play_passages("train") if p.play == "midsummer_nights_dream"
    }
    assert not dream & {text for text, _ in rows}


def test_tang_forms():
    assert (
        tang_form("床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n") == "五言绝句"
    )
    seven = "朝辞白帝彩云间，千里江陵一日还。\n两岸猿声啼不住，轻舟已过万重山。\n"
    assert tang_form(seven) == "七言绝句"
    assert tang_form(seven * 2) == "七言律诗"
    assert tang_form("床前明月光，疑是地上霜。\n") == "其他"
    corpus = load_labelled("tang-forms")
    assert corpus.labels == TANG_FORMS
    for rows in corpus.splits.values():
        assert {label for _, label in rows} == set(TANG_FORMS)


def test_a_tsv_file_of_labels(tmp_path):
    lines = [f"text number {i}\t{'ab'[i % 2]}" for i in range(60)]
    path = tmp_path / "mine.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    corpus = load_labelled(path)
    assert corpus.name == "mine.tsv" and corpus.labels == ("a", "b")
    assert sum(len(r) for r in corpus.splits.values()) == 60
    one = tmp_path / "one.tsv"
    one.write_text("".join(f"t{i}\tsame\n" for i in range(10)), encoding="utf-8")
    with pytest.raises(ZooError, match="at least 2 labels"):
        load_labelled(one)
    with pytest.raises(ZooError, match="unknown labelled data 'nope'"):
        load_labelled("nope")
    with pytest.raises(ZooError, match="unknown tagged data"):
        load_tagged("genre")
    with pytest.raises(ZooError, match="unknown split"):
        play_passages("dev")
