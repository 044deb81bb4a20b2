"""Fine-tuning a BERT encoder: classification and tagging (zoo.recipes.fine_tuning).

The scores are checked against the reference libraries (scikit-learn's
confusion matrix and macro-F1, seqeval's entity F1); the recipes learn tasks
whose answer is known; the pretrained encoder is really copied; the command
line trains, evaluates and labels.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import run_zoo

from zoo.data.labelled import TAGS, LabelledCorpus, TaggedCorpus
from zoo.errors import ZooError
from zoo.evaluation import bio_entities, confusion_matrix, entity_scores, macro_f1

TINY = {"embedding_dim": 16, "num_heads": 2, "num_layers": 1, "ff_dim": 32}


# --- the scores, against the reference libraries ------------------------------


def test_confusion_and_macro_f1_match_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    for trial in range(20):
        k = int(rng.integers(2, 6))
        truth = rng.integers(0, k, 200)
        guess = np.where(rng.random(200) < 0.6, truth, rng.integers(0, k, 200))
        if trial % 5 == 0:
            guess[guess == k - 1] = 0  # a label never predicted
        matrix = confusion_matrix(truth, guess, k)
        expected = metrics.confusion_matrix(truth, guess, labels=range(k))
        np.testing.assert_array_equal(matrix, expected)
        present = sorted(set(truth) | set(guess))
        reference = metrics.f1_score(truth, guess, average="macro", labels=present)
        assert macro_f1(matrix) == pytest.approx(reference, abs=1e-12)


def _random_bio(rng, n):
    tags, previous = [], "O"
    for _ in range(n):
        r = rng.random()
        tag = "O" if r < 0.6 else "B-PER" if r < 0.8 else "I-PER"
        if rng.random() < 0.1:
            tag = "I-LOC" if previous == "O" else "B-LOC"  # strays, for the edges
        tags.append(tag)
        previous = tag
    return tags


def test_entity_scores_match_seqeval():
    seqeval = pytest.importorskip("seqeval.metrics")
    rng = np.random.default_rng(1)
    truth = [_random_bio(rng, int(rng.integers(1, 30))) for _ in range(300)]
    guess = [
        [t if rng.random() < 0.8 else _random_bio(rng, 1)[0] for t in seq]
        for seq in truth
    ]
    ours = entity_scores(truth, guess)
    assert ours["precision"] == pytest.approx(seqeval.precision_score(truth, guess))
    assert ours["recall"] == pytest.approx(seqeval.recall_score(truth, guess))
    assert ours["f1"] == pytest.approx(seqeval.f1_score(truth, guess))
    assert 0 < ours["f1"] < 1


def test_bio_entities_edges():
    assert bio_entities([]) == set()
    assert bio_entities(["B-PER", "B-PER"]) == {("PER", 0, 1), ("PER", 1, 2)}
    assert bio_entities(["B-PER", "I-LOC"]) == {("PER", 0, 1), ("LOC", 1, 2)}
    with pytest.raises(ZooError, match="sequence 0: 2 tags but 1 predicted"):
        entity_scores([["O", "O"]], [["O"]])


def test_a_tagger_learns_each_words_first_character():
    from zoo.data.labelled import bio_tags, name_spans
    from zoo.recipes.fine_tuning import tag_units, unit_targets

    text = "Good Don Pedro, come."
    tags = bio_tags(text, name_spans(text, {"Don", "Pedro"}))
    index = {tag: i for i, tag in enumerate(TAGS)}
    (targets,), (weights,) = unit_targets([(text, tags)], index, entity_weight=5.0)
    starts = [start for start, _ in tag_units(text)]
    assert starts == [0, 5, 9, 14, 16, 20]
    assert [TAGS[t] for t in targets if t] == ["O", "B-PER", "I-PER", "O", "O", "O"]
    assert all(targets[i] == 0 for i in range(len(text)) if i not in starts)
    assert [weights[i] for i in starts] == [1.0, 5.0, 5.0, 1.0, 1.0, 1.0]
    broken = ["O"] * len(text)
    broken[6] = "B-PER"  # inside "Don"
    with pytest.raises(ZooError, match=r"text 0: the tags change inside 'Don'"):
        unit_targets([(text, broken)], index, entity_weight=5.0)


def test_predicted_first_characters_spread_over_their_words():
    from zoo.recipes.fine_tuning import _spread

    text = "O Don Pedro, Romeo"
    first = ["O"] * len(text)
    first[2], first[6], first[13] = "B-PER", "I-PER", "I-PER"
    tags = _spread(text, first)
    assert bio_entities(tags) == {("PER", 2, 11), ("PER", 13, 18)}
    assert tags[5] == "I-PER" and tags[11] == "O"  # the joining space; the comma


# --- the models --------------------------------------------------------------


def test_transfer_encoder_copies_the_pretrained_encoder(keras_seed):
    import keras

    from zoo.models.bert import (
        build_bert_classifier,
        build_bert_mlm,
        build_bert_tagger,
        encoder_sizes,
        transfer_encoder,
    )

    sizes = {"context_length": 16, **TINY}
    mlm = build_bert_mlm(30, **sizes)
    ids = np.random.default_rng(0).integers(5, 30, (2, 12)).astype("int32")
    for target in (
        build_bert_classifier(30, num_classes=3, **sizes),
        build_bert_tagger(30, num_tags=4, **sizes),
    ):
        assert encoder_sizes(target) == encoder_sizes(mlm)

        def encoded(model):
            return keras.Model(model.input, model.get_layer("encoder_1").output)(ids)

        assert np.abs(encoded(target) - encoded(mlm)).max() > 1e-4  # before
        names = transfer_encoder(mlm, target)
        assert names == ["embedding", "embedding_norm", "encoder_1"]
        np.testing.assert_allclose(encoded(target), encoded(mlm), atol=1e-6)
    wider = build_bert_classifier(30, num_classes=3, **{**sizes, "ff_dim": 64})
    with pytest.raises(ZooError, match="ff_dim 32 vs 64"):
        transfer_encoder(mlm, wider)
    other = build_bert_classifier(31, num_classes=3, **sizes)
    with pytest.raises(ZooError, match="30 token ids and the new one 31"):
        transfer_encoder(mlm, other)


def test_factories_refuse_bad_sizes():
    from zoo.models.bert import build_bert_classifier, build_bert_tagger

    with pytest.raises(ZooError, match="num_classes"):
        build_bert_classifier(30, num_classes=0)
    with pytest.raises(ZooError, match="num_tags"):
        build_bert_tagger(30, num_tags=0)


# --- the recipes, on tasks whose answer is known --------------------------------


def _vowel_task(n=240, seed=0):
    """Texts of vowels or of consonants: a label any classifier can learn."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        letters = "aeiou" if i % 2 else "bcdfg"
        text = "".join(rng.choice(list(letters), int(rng.integers(8, 20))))
        rows.append((text, "vowels" if i % 2 else "consonants"))
    cut = int(n * 0.8)
    return LabelledCorpus(
        "vowels",
        ("consonants", "vowels"),
        rows[:cut],
        rows[cut : cut + n // 10],
        rows[cut + n // 10 :],
    )


def _capitals_task(n=200, seed=0):
    """Lower-case words with names among them (a capital, then letters no
    other word has), tagged BIO."""
    from zoo.data.labelled import bio_tags

    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        words = [
            "".join(rng.choice(list("abcdefgh"), 4))
            if rng.random() < 0.7
            else rng.choice(list("XYZ")) + "".join(rng.choice(list("pqr"), 3))
            for _ in range(5)
        ]
        text = " ".join(words)
        spans, at = [], 0
        for word in words:
            if word[0].isupper():
                spans.append((at, at + len(word)))
            at += len(word) + 1
        rows.append((text, bio_tags(text, spans)))
    cut, mid = int(n * 0.8), int(n * 0.9)
    return TaggedCorpus("capitals", TAGS, rows[:cut], rows[cut:mid], rows[mid:])


@pytest.mark.slow
def test_classifier_learns_saves_and_fine_tunes(tmp_path):
    import zoo
    from zoo.recipes import (
        classify,
        evaluate_classifier,
        quiet,
        train_classifier,
        train_masked_lm,
    )

    corpus = _vowel_task()
    run = train_classifier(
        corpus,
        epochs=4,
        seq_len=16,
        learning_rate=2e-3,
        out_dir=tmp_path / "scratch",
        verbose=0,
        log=quiet,
        **TINY,
    )
    assert run.summary["val_accuracy"] > 0.9
    bundle = zoo.load(run.path)
    assert bundle.info["labels"] == ["consonants", "vowels"]
    scores = evaluate_classifier(bundle, corpus.test)
    assert scores["accuracy"] > 0.9 and scores["macro_f1"] > 0.9
    assert np.asarray(scores["confusion"]).sum() == len(corpus.test)
    ((label, p), _) = classify(bundle, ["aeiouaeiouaa"])[0]
    assert label == "vowels" and p > 0.5
    # From a pretrained masked LM: its tokenizer and sizes are the start.
    text = "".join(t for t, _ in corpus.train) * 4
    letters = zoo.data.Corpus("letters", text, text[:400], text[:400])
    mlm_dir = tmp_path / "mlm"
    train_masked_lm(
        letters,
        epochs=1,
        steps_per_epoch=5,
        seq_len=16,
        out_dir=mlm_dir,
        verbose=0,
        log=quiet,
        **TINY,
    )
    tuned = train_classifier(
        corpus,
        pretrained=mlm_dir / "model.keras",
        epochs=4,
        seq_len=16,
        learning_rate=2e-3,
        verbose=0,
        log=quiet,
    )
    assert tuned.summary["pretrained"].endswith("model.keras")
    assert tuned.summary["val_accuracy"] > 0.9
    assert (
        tuned.tokenizer.get_config()
        == zoo.load(mlm_dir / "model.keras").tokenizer.get_config()
    )
    with pytest.raises(ZooError, match="sizes are fixed: embedding_dim=32"):
        train_classifier(corpus, pretrained=mlm_dir / "model.keras", embedding_dim=32)
    with pytest.raises(ZooError, match="seq_len 32 is longer than the encoder's 16"):
        train_classifier(corpus, pretrained=mlm_dir / "model.keras", seq_len=32)
    with pytest.raises(ZooError, match="not a BERT model"):
        lm = zoo.recipes.train_language_model(
            "gru", letters, epochs=1, steps_per_epoch=1, seq_len=8, units=8,
            embedding_dim=8, out_dir=tmp_path / "gru", verbose=0, log=quiet,
        )  # fmt: skip
        train_classifier(corpus, pretrained=lm.path)


@pytest.mark.slow
def test_tagger_learns_and_tags_long_texts(tmp_path):
    import zoo
    from zoo.recipes import evaluate_tagger, find_names, quiet, train_tagger
    from zoo.recipes.fine_tuning import predict_tags

    corpus = _capitals_task(800)
    run = train_tagger(
        corpus,
        epochs=10,
        seq_len=32,
        learning_rate=5e-3,
        out_dir=tmp_path / "tagger",
        verbose=0,
        log=quiet,
        **TINY,
    )
    assert run.summary["val_entity_f1"] > 0.8
    bundle = zoo.load(run.path)
    scores = evaluate_tagger(bundle, corpus.test)
    assert scores["f1"] > 0.8 and scores["tag_accuracy"] > 0.9
    long_text = " ".join(t for t, _ in corpus.test[:4])  # longer than seq_len
    (tags,) = predict_tags(
        bundle.model, bundle.tokenizer, [long_text], tags=TAGS, seq_len=32
    )
    assert len(tags) == len(long_text) and "[PAD]" not in tags
    found = find_names(bundle, "abcd Xpqr hhgg Yrrp")
    assert found == ["Xpqr", "Yrrp"]


def test_a_tagger_needs_characters():
    from zoo.recipes import train_tagger

    with pytest.raises(ZooError, match="a tagger reads characters"):
        train_tagger(_capitals_task(20), level="word")


# --- the command line ----------------------------------------------------------


def test_pretrained_fixes_the_sizes_on_the_command_line():
    result = run_zoo(
        "train", "classifier", "--pretrained", "x.keras", "--embedding-dim", "64"
    )
    assert result.returncode == 2
    assert "--embedding-dim: fixed by the --pretrained model" in result.stderr
    result = run_zoo("train", "tagger", "--beam-width", "3")
    assert (
        result.returncode == 2
        and "--beam-width does not apply to tagger" in result.stderr
    )


@pytest.mark.slow
def test_command_line_trains_evaluates_and_labels_a_tsv_file(tmp_path):
    rows = _vowel_task(120).splits
    lines = [f"{t}\t{label}" for split in rows.values() for t, label in split]
    data = tmp_path / "mine.tsv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    size = ["--embedding-dim", "16", "--num-heads", "2", "--num-layers", "1"]
    result = run_zoo(
        "train", "classifier", "--data", str(data), "--epochs", "3", "--seq-len",
        "16", "--ff-dim", "32", "--learning-rate", "0.002", "--out", str(out),
        "--prompt", "aeiouaeiou", *size,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "validation accuracy" in result.stdout and "from scratch" in result.stdout
    assert (out / "model.keras").is_file() and (out / "loss.png").is_file()
    model = str(out / "model.keras")
    result = run_zoo("evaluate", model)
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout and "confusion" in result.stdout
    assert "vowels" in result.stdout.splitlines()[-1]
    result = run_zoo("generate", model, "--prompt", "aeiouaeiou", "--top-k", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("vowels ")
    result = run_zoo("generate", model, "--prompt", "x", "--temperature", "0.5")
    assert result.returncode == 2 and "--temperature" in result.stderr


@pytest.mark.slow
def test_command_line_fine_tunes_a_pretrained_masked_lm(tmp_path):
    """`zoo train classifier --pretrained` takes the masked LM's positions when
    no --seq-len is given, and its tokenizer."""
    import zoo

    rows = _vowel_task(120).splits
    data = tmp_path / "mine.tsv"
    data.write_text(
        "".join(f"{t}\t{label}\n" for split in rows.values() for t, label in split),
        encoding="utf-8",
    )
    text = tmp_path / "letters.txt"
    text.write_text("".join(t + "\n" for t, _ in rows["train"]) * 3, encoding="utf-8")
    size = ["--embedding-dim", "16", "--num-heads", "2", "--num-layers", "1"]
    result = run_zoo(
        "train", "bert", "--data", str(text), "--epochs", "1", "--steps-per-epoch",
        "3", "--seq-len", "16", "--ff-dim", "32", "--out", str(tmp_path / "mlm"),
        *size,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    mlm = tmp_path / "mlm" / "model.keras"
    result = run_zoo(
        "train", "classifier", "--data", str(data), "--pretrained", str(mlm),
        "--epochs", "1", "--out", str(tmp_path / "tuned"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"from {mlm}" in result.stdout
    bundle = zoo.load(tmp_path / "tuned" / "model.keras")
    assert bundle.info["seq_len"] == 16
    assert bundle.tokenizer.get_config() == zoo.load(mlm).tokenizer.get_config()
