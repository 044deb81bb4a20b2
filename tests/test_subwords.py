"""Subword tokenizers trained on the corpus: GPT-2's byte-level BPE and BERT's
WordPiece (zoo.text), through training, saving, evaluation and the command."""

from __future__ import annotations

import hashlib
import json
import math
import re
import warnings

import numpy as np
import pytest
from helpers import run_python, subprocess_env

from zoo.data import load_corpus
from zoo.data.corpora import NAMED_CORPORA
from zoo.errors import ZooError
from zoo.text import (
    BERT_SPECIALS,
    BOS_ID,
    BYTE_ALPHABET,
    EOS_ID,
    FIRST_REAL_ID,
    MASK_ID,
    PAD_ID,
    SPECIAL_TOKENS,
    SUBWORD_LEVELS,
    UNK_ID,
    BPETokenizer,
    Tokenizer,
    WordPieceTokenizer,
    build_tokenizer,
)

pytest.importorskip("tokenizers")

MIXED = (
    "  To be, or not to be:\tthat's 生存还是毁灭 🙂🐼 — naïve café\r\n\n"
    "<eos> [MASK] [CLS] <pad> 3.14 ｆｕｌｌ\x00\x07 end"
)
# A tiny corpus for the command: English and Chinese, 400 lines.
CORPUS = "\n".join(
    f"Line {i}: to be or not to be, that is the question {i % 7}. 生存还是毁灭。"
    for i in range(400)
)
QUICK = ["--epochs", 1, "--steps-per-epoch", 3, "--batch-size", 4]


@pytest.fixture(scope="module")
def shakespeare():
    return load_corpus("shakespeare")


@pytest.fixture(scope="module")
def tang():
    if "tang" not in NAMED_CORPORA:
        pytest.skip("this tree has no bundled Tang poems")
    return load_corpus("tang")


@pytest.fixture(scope="module")
def bpe(shakespeare):
    """Byte-level BPE trained on the Shakespeare training split only."""
    return BPETokenizer.fit(shakespeare.train[:300_000], max_tokens=1000)


@pytest.fixture(scope="module")
def wordpiece(shakespeare, tang):
    """WordPiece trained on English and Chinese training text."""
    text = shakespeare.train[:300_000] + tang.train[:100_000]
    return WordPieceTokenizer.fit(text, max_tokens=4000)


# --- round trips -----------------------------------------------------------------


def test_bpe_decodes_any_text_back_byte_for_byte(bpe, shakespeare, tang):
    # Shakespeare's own held-out text, Chinese it never saw, and mixed text
    # with emoji, control characters, CRLF and the special names as text.
    for text in (shakespeare.valid, tang.valid[:20_000], MIXED, "", " ", "\n\n"):
        ids = bpe.encode(text)
        assert ids.dtype == np.int32
        assert bpe.decode(ids) == text
        assert bpe.unknown_tokens(text) == []
        # Text never encodes to a reserved id: "<eos>" in a play is text.
        assert (ids >= FIRST_REAL_ID).all()
    assert bpe.normalize(MIXED) == MIXED


def test_bpe_compresses_what_it_was_trained_on(bpe, shakespeare, tang):
    valid = shakespeare.valid
    assert len(bpe.encode(valid)) < len(valid) / 2  # merges: > 2 characters a token
    # Chinese unseen in training is spelt in bytes: 3 tokens per character.
    assert len(bpe.encode("生存还是毁灭")) == len("生存还是毁灭".encode())
    chinese = BPETokenizer.fit(tang.train[:200_000], max_tokens=1000)
    poem = tang.valid[:5_000]
    assert len(chinese.encode(poem)) < len(poem.encode()) / 2
    assert chinese.decode(chinese.encode(poem)) == poem


def test_encoding_in_pieces_is_encoding_the_whole(bpe, wordpiece, shakespeare):
    """Long texts are encoded in pieces cut where the pre-tokenizers cut anyway
    (zoo.text._pieces): the ids are those of the whole text at once."""
    text = shakespeare.valid[:100_000]
    for tok in (bpe, wordpiece):
        whole = tok.backend.encode(text).ids
        np.testing.assert_array_equal(tok.encode(text), whole)


def test_wordpiece_round_trips_up_to_bert_normalisation(wordpiece, tang):
    text = "To be,  or\n\nnot\tto be: 生存还是毁灭"
    # What is lost is the whitespace: one space between words, a space on
    # each side of punctuation and of each Chinese character.
    normalized = "To be , or not to be : 生 存 还 是 毁 灭"
    assert wordpiece.normalize(text) == normalized
    assert wordpiece.decode(wordpiece.encode(text)) == normalized
    assert wordpiece.normalize("a  b\nc\t d ") == "a b c d"
    poems = tang.valid[:3_000]
    if wordpiece.unknown_tokens(poems):  # rare characters: [UNK] as a whole
        poems = "".join(ch for ch in poems if not wordpiece.unknown_tokens(ch))
    assert wordpiece.decode(wordpiece.encode(poems)) == wordpiece.normalize(poems)
    assert wordpiece.decode(wordpiece.encode(poems)).split() == [
        w for w in re.split(r"\s+|(?<=\S)(?=\S)", poems) if w
    ]  # every Chinese character and punctuation mark stands alone


def test_wordpiece_shakespeare_round_trip(wordpiece, shakespeare):
    lines = shakespeare.valid[:50_000].splitlines(keepends=True)
    spelt = [line for line in lines if not wordpiece.unknown_tokens(line)]
    assert len(spelt) > 0.9 * len(lines)
    text = "".join(spelt)
    decoded = wordpiece.decode(wordpiece.encode(text))
    assert decoded == wordpiece.normalize(text)
    # Only whitespace is lost: the non-space characters are all there, in order.
    assert decoded.replace(" ", "") == re.sub(r"\s", "", text)


def test_wordpiece_spells_unknown_words_as_one_unk(wordpiece):
    text = "to be 🐙 or not"
    ids = wordpiece.encode(text)
    assert (ids == UNK_ID).sum() == 1
    assert wordpiece.unknown_tokens(text) == ["🐙"]
    assert wordpiece.decode(ids) == "to be [UNK] or not"
    assert "##" in " ".join(wordpiece.split("questioningly unfathomable"))


# --- reserved ids ----------------------------------------------------------------


@pytest.mark.parametrize("kind", SUBWORD_LEVELS)
def test_specials_have_zoos_ids(kind, bpe, wordpiece):
    tok = bpe if kind == "bpe" else wordpiece
    assert tok.vocabulary[: len(SPECIAL_TOKENS)] == list(SPECIAL_TOKENS)
    assert (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id, tok.mask_id) == (
        PAD_ID,
        UNK_ID,
        BOS_ID,
        EOS_ID,
        MASK_ID,
    )
    names = SPECIAL_TOKENS if kind == "bpe" else BERT_SPECIALS
    for i, name in enumerate(names):
        assert tok.backend.token_to_id(name) == i
    assert tok.token_to_id("<mask>") == MASK_ID
    # The special names written in text are text, never a reserved id.
    ids = tok.encode("<pad> <unk> <bos> <eos> <mask> [PAD] [CLS] [SEP] [MASK]")
    assert not np.isin(ids, [PAD_ID, BOS_ID, EOS_ID, MASK_ID]).any()
    word = tok.encode(" be")
    wrapped = np.concatenate([[BOS_ID], word, [EOS_ID, MASK_ID, PAD_ID]])
    assert tok.decode(wrapped) == tok.decode(word)
    shown = tok.decode(wrapped, skip_special=False)
    assert (
        shown == "<bos> be<eos><mask>"
        if kind == "bpe"
        else shown == "[CLS] be [SEP] [MASK]"
    )
    with pytest.raises(ZooError, match=r"ids must lie in \[0, "):
        tok.decode([tok.vocab_size])


def test_bert_names_map_onto_zoos_reserved_ids():
    assert dict(zip(BERT_SPECIALS, SPECIAL_TOKENS, strict=True)) == {
        "[PAD]": "<pad>",
        "[UNK]": "<unk>",
        "[CLS]": "<bos>",
        "[SEP]": "<eos>",
        "[MASK]": "<mask>",
    }


def test_mask_in_a_fill_mask_prompt_is_one_mask_id(wordpiece):
    """ "[MASK]" in a fill-mask prompt is one MASK_ID, whatever BERT's
    pre-tokenizer would make of its brackets (zoo.generation.encode_masked)."""
    from zoo.generation.masked import encode_masked

    ids, positions = encode_masked(wordpiece, "To be, or not to [MASK].")
    assert positions.tolist() == [int(np.flatnonzero(ids == MASK_ID)[0])]
    assert wordpiece.decode(ids[: positions[0]]) == "To be , or not to"
    assert (np.delete(ids, positions) >= FIRST_REAL_ID).all()


# --- training -------------------------------------------------------------------


@pytest.mark.parametrize("kind", SUBWORD_LEVELS)
@pytest.mark.parametrize("size", [400, 900])
def test_vocab_size_is_respected(kind, size, shakespeare):
    tok = build_tokenizer(shakespeare.train[:200_000], level=kind, max_tokens=size)
    assert tok.vocab_size == size == len(tok.vocabulary)
    assert tok.backend.get_vocab_size() == size
    assert len(set(tok.vocabulary)) == size


def test_a_small_text_gives_fewer_ids_than_asked():
    tok = BPETokenizer.fit("to be or not to be", max_tokens=2000)
    assert len(SPECIAL_TOKENS) + BYTE_ALPHABET < tok.vocab_size < 300


def test_default_vocab_size(shakespeare):
    from zoo.text import SUBWORD_VOCAB_SIZE

    tok = build_tokenizer(shakespeare.train[:300_000], level="bpe")
    assert tok.vocab_size == SUBWORD_VOCAB_SIZE == 2000


@pytest.mark.parametrize(
    ("kind", "size", "message"),
    [
        ("bpe", 260, "at least 261"),
        ("bpe", 5, "at least 261"),
        ("wordpiece", 5, "at least 6"),
        ("wordpiece", 20, "too small for WordPiece on this text"),
        ("bpe", 300.0, "must be an integer"),
    ],
)
def test_too_small_a_vocabulary_is_a_one_line_error(kind, size, message):
    with pytest.raises(ZooError, match=message) as err:
        build_tokenizer(
            "To be, or not to be: that is the question.", level=kind, max_tokens=size
        )
    assert "\n" not in str(err.value)


def test_bad_training_input_is_a_one_line_error():
    with pytest.raises(ZooError, match="empty text"):
        BPETokenizer.fit("")
    with pytest.raises(ZooError, match="min_freq"):
        WordPieceTokenizer.fit("to be", min_freq=0)
    with pytest.raises(ZooError, match="string"):
        BPETokenizer.fit([b"bytes"])
    with pytest.raises(ZooError, match="level must be one of char, word, bpe"):
        build_tokenizer("to be", level="sentencepiece")
    with pytest.raises(ZooError, match="encode\\(\\) takes a string"):
        BPETokenizer.fit("to be").encode(b"to be")


def test_levels_are_the_registrys():
    from zoo import registry

    assert ("char", "word", *SUBWORD_LEVELS) == registry.LEVELS
    for level in registry.LEVELS:
        assert build_tokenizer("to be or not", level=level).vocab_size > 5


_TRAIN_SCRIPT = """
    import hashlib, sys
    from zoo.data import load_corpus
    from zoo.text import build_tokenizer

    text = load_corpus("shakespeare").train[:400_000]
    for level in ("bpe", "wordpiece"):
        tok = build_tokenizer(text, level=level, max_tokens=1500)
        print(hashlib.sha256(tok.backend.to_str().encode()).hexdigest())
"""


def test_training_is_deterministic_across_processes(shakespeare):
    """The same text gives the same vocabulary and merges in every process
    (Hugging Face's WordPiece trainer alone does not: see zoo.text)."""
    text = shakespeare.train[:400_000]
    here = [
        hashlib.sha256(
            build_tokenizer(text, level=level, max_tokens=1500)
            .backend.to_str()
            .encode()
        ).hexdigest()
        for level in ("bpe", "wordpiece")
    ]
    for _ in range(2):  # fresh processes: other hash seeds
        assert run_python(_TRAIN_SCRIPT).stdout.split() == here


# --- saving ---------------------------------------------------------------------


def test_config_round_trip_keeps_everything(bpe, wordpiece):
    for tok in (bpe, wordpiece):
        config = json.loads(json.dumps(tok.get_config()))  # as zoo.json holds it
        again = Tokenizer.from_config(config)
        assert type(again) is type(tok)
        assert again.vocabulary == tok.vocabulary
        assert again.backend.to_str() == tok.backend.to_str()
        np.testing.assert_array_equal(again.encode(MIXED), tok.encode(MIXED))
    with pytest.raises(ZooError, match="not a tokenizers JSON"):
        BPETokenizer({"model": "nonsense"})
    with pytest.raises(ZooError, match=r"must have \('\[PAD\]'"):
        WordPieceTokenizer(bpe.get_config()["tokenizer"])


@pytest.mark.slow
def test_saved_in_the_keras_file_and_identical_in_a_fresh_process(
    tmp_path, bpe, wordpiece, keras_seed
):
    import zoo
    from zoo.saving import read_meta

    paths = []
    for tok, build in ((bpe, zoo.build_gpt), (wordpiece, zoo.build_bert_mlm)):
        model = build(
            tok.vocab_size,
            context_length=16,
            embedding_dim=16,
            num_heads=2,
            num_layers=1,
            ff_dim=32,
            compile=False,
        )
        paths.append(zoo.save(tmp_path / f"{tok.kind}.keras", model, tok))
        meta = read_meta(paths[-1])["tokenizer"]  # zoo.json in the .keras file
        assert meta["kind"] == tok.kind
        assert (
            meta["tokenizer"]["model"]["type"]
            == {
                "bpe": "BPE",
                "wordpiece": "WordPiece",
            }[tok.kind]
        )
    (tmp_path / "text.txt").write_text(MIXED, encoding="utf-8", newline="")
    out = run_python(
        """
        import json, sys
        import zoo

        text = open(sys.argv[1], encoding="utf-8", newline="").read()
        for path in sys.argv[2:]:
            tok = zoo.load(path).tokenizer
            print(json.dumps({
                "kind": type(tok).__name__,
                "vocabulary": tok.vocabulary,
                "json": tok.backend.to_str(),
                "ids": tok.encode(text).tolist(),
                "decoded": tok.decode(tok.encode(text)),
            }))
        """,
        tmp_path / "text.txt",
        *paths,
    ).stdout.splitlines()
    for tok, line in zip((bpe, wordpiece), out, strict=True):
        got = json.loads(line)
        assert got["kind"] == type(tok).__name__
        assert got["vocabulary"] == tok.vocabulary
        assert got["json"] == tok.backend.to_str()
        assert got["ids"] == tok.encode(MIXED).tolist()
        assert got["decoded"] == tok.decode(tok.encode(MIXED))
    assert json.loads(out[0])["decoded"] == MIXED


def test_zoo_imports_and_explains_without_the_library(tmp_path, bpe):
    """zoo's core needs no `tokenizers`; using a subword level without it is
    one line naming the extra to install."""
    config = tmp_path / "bpe.json"
    config.write_text(json.dumps(bpe.get_config()), encoding="utf-8")
    run_python(
        """
        import json, sys
        sys.modules["tokenizers"] = None  # as if it were not installed
        import zoo, zoo.cli, zoo.registry, zoo.saving
        from zoo.errors import ZooError
        from zoo.text import Tokenizer, build_tokenizer

        assert build_tokenizer("to be", level="char").vocab_size == 10
        for attempt in (
            lambda: build_tokenizer("to be", level="bpe"),
            lambda: build_tokenizer("to be", level="wordpiece"),
            lambda: Tokenizer.from_config(json.load(open(sys.argv[1]))),
        ):
            try:
                attempt()
            except ZooError as err:
                assert 'pip install "zoo[subwords]"' in str(err), err
                assert "\\n" not in str(err)
            else:
                raise AssertionError("no error")
        """,
        config,
        env=subprocess_env(),
    )


# --- evaluation: bits per character ----------------------------------------------


def test_bits_per_character_helper():
    from zoo.evaluation import bits_per_character

    assert bits_per_character(10 * math.log(2), 10) == pytest.approx(1.0)
    assert bits_per_character(0.0, 3) == 0.0
    with pytest.raises(ZooError, match="characters must be a positive integer"):
        bits_per_character(1.0, 0)
    with pytest.raises(ZooError, match="total_nats"):
        bits_per_character(float("nan"), 3)


def test_bits_per_character_is_the_texts_bits_over_its_characters(bpe, keras_seed):
    """evaluate_language_model's bits per character, against the log-probabilities
    of every token summed by hand (one window) and divided by the characters."""
    import zoo
    from zoo.recipes import evaluate_language_model
    from zoo.saving import Bundle

    text = "To be, or not to be: 生存 🙂"
    ids = bpe.encode(text)
    assert len(ids) > len(text) / 3 and len(ids) <= 32
    model = zoo.build_gpt(
        bpe.vocab_size,
        context_length=32,
        embedding_dim=16,
        num_heads=2,
        num_layers=1,
        ff_dim=32,
        compile=False,
    )
    logits = np.asarray(model(ids[None, :-1]), np.float64)[0]  # (T-1, V)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    total_nats = -log_probs[np.arange(len(ids) - 1), ids[1:]].sum()
    bundle = Bundle(model, bpe, info={"seq_len": len(ids) - 1})  # one window
    scores = evaluate_language_model(bundle, text, batch_size=1)
    assert scores["tokens"] == len(ids) - 1  # the first token is given
    assert scores["characters"] == len(text)
    expected = total_nats / math.log(2) / len(text)
    assert scores["bits_per_character"] == pytest.approx(expected, rel=1e-4)
    # Per character, not per token: a BPE token is more than one character.
    assert scores["bits_per_character"] < math.log2(scores["perplexity"])


# --- the command ----------------------------------------------------------------


def main(capsys, *args, status=0):
    """Run `zoo.cli.main` here; return (stdout, stderr)."""
    from zoo.cli import main as zoo_main

    with warnings.catch_warnings():
        code = zoo_main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert code == status, err[-3000:]
    return out, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["gpt", "--level", "bpe", "--vocab-size", "100"], "at least 261"),
        (["bert", "--level", "wordpiece", "--vocab-size", "5"], "at least 6"),
        (["gpt", "--vocab-size", "0"], "expected a positive integer"),
        (["gpt", "--level", "sentencepiece"], "invalid choice"),
        (["transformer", "--vocab-size", "300"], "--vocab-size does not apply"),
    ],
)
def test_bad_subword_options_are_usage_errors(capsys, args, message):
    with pytest.raises(SystemExit) as exit_:
        main(capsys, "train", *args)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err.strip().splitlines()[-1], err


def test_a_wordpiece_vocabulary_too_small_for_the_text(tmp_path, capsys):
    data = tmp_path / "tiny.txt"
    data.write_text(CORPUS, encoding="utf-8")
    args = ["train", "bert", "--level", "wordpiece", "--vocab-size", 20, "--data"]
    _, err = main(capsys, *args, data, "--out", tmp_path / "run", status=2)
    assert err.strip().splitlines()[-1].startswith("zoo: error: a vocabulary size")
    assert not (tmp_path / "run" / "model.keras").exists()


def test_mask_one_hides_a_word_for_subwords():
    from zoo.cli import _mask_one

    text = "To be, or not to be"
    assert _mask_one(text, level="wordpiece") == "To be, or [MASK] to be"
    assert _mask_one(text, level="bpe") == "To be, or[MASK] to be"
    assert _mask_one(text, level="char").count("[MASK]") == 1
    assert len(_mask_one(text, level="char")) == len(text) + len("[MASK]") - 1


def test_ngram_counts_bpe_tokens(tmp_path, capsys):
    data = tmp_path / "tiny.txt"
    data.write_text(CORPUS, encoding="utf-8")
    run = tmp_path / "ngram"
    args = ["train", "ngram", "--level", "bpe", "--vocab-size", 300, "--order", 3]
    out, _ = main(capsys, *args, "--data", data, "--out", run, "--prompt", "Line")
    assert "bpe-level vocabulary of 300" in out
    out, _ = main(capsys, "evaluate", run / "model.ngram.zip")
    bits = float(re.search(r"([\d.]+) bits per character", out)[1])
    ppl = float(re.search(r"perplexity ([\d.]+)", out)[1])
    tokens = int(re.search(r"over ([\d,]+) tokens", out)[1].replace(",", ""))
    chars = int(re.search(r"over ([\d,]+) characters", out)[1].replace(",", ""))
    assert chars == len(load_corpus(str(data)).test) and tokens < chars
    assert bits == pytest.approx(math.log2(ppl) * tokens / chars, abs=2e-3)


@pytest.mark.slow
def test_gpt_bpe_train_evaluate_generate(tmp_path, capsys):
    import zoo

    data = tmp_path / "tiny.txt"
    data.write_text(CORPUS, encoding="utf-8")
    run = tmp_path / "gpt"
    args = ["train", "gpt", "--level", "bpe", "--vocab-size", 300, "--preset", "tiny"]
    out, _ = main(capsys, *args, "--data", data, *QUICK, "--out", run)
    assert "bpe-level vocabulary of 300" in out and "sample:" in out
    bundle = zoo.load(run / "model.keras")
    assert isinstance(bundle.tokenizer, BPETokenizer)
    assert bundle.tokenizer.vocab_size == 300 and bundle.info["level"] == "bpe"
    test = load_corpus(str(data)).test
    assert bundle.tokenizer.decode(bundle.tokenizer.encode(test)) == test

    out, _ = main(capsys, "evaluate", run / "model.keras")
    bits = float(re.search(r"([\d.]+) bits per character", out)[1])
    ppl = float(re.search(r"perplexity ([\d.]+)", out)[1])
    tokens = int(re.search(r"over ([\d,]+) tokens", out)[1].replace(",", ""))
    assert f"over {len(test):,} characters" in out
    assert tokens == len(bundle.tokenizer.encode(test)) - 1
    assert bits == pytest.approx(math.log2(ppl) * tokens / len(test), abs=2e-3)

    prompt = "Line 3 生存 🙂"
    gen = ["generate", run / "model.keras", "--prompt", prompt, "--seed", 1]
    text, _ = main(capsys, *gen, "--max-new-tokens", 6)
    assert text.startswith(prompt)
    assert main(capsys, *gen, "--max-new-tokens", 6)[0] == text  # seeded


@pytest.mark.slow
def test_bert_wordpiece_train_evaluate_fill_mask(tmp_path, capsys):
    import zoo

    data = tmp_path / "tiny.txt"
    data.write_text(CORPUS, encoding="utf-8")
    run = tmp_path / "bert"
    sizes = ["--embedding-dim", 16, "--num-heads", 2, "--ff-dim", 32]
    sizes += ["--num-layers", 1, "--seq-len", 16]
    args = ["train", "bert", "--level", "wordpiece", "--vocab-size", 200]
    out, _ = main(capsys, *args, "--data", data, *QUICK, *sizes, "--out", run)
    assert "wordpiece-level vocabulary of" in out and "[MASK] 1:" in out
    bundle = zoo.load(run / "model.keras")
    assert isinstance(bundle.tokenizer, WordPieceTokenizer)
    assert bundle.tokenizer.vocab_size <= 200

    out, _ = main(capsys, "evaluate", run / "model.keras")
    assert "masked-token accuracy" in out
    bits = float(re.search(r"([\d.]+) bits per character", out)[1])
    ppl = float(re.search(r"masked-token perplexity ([\d.]+)", out)[1])
    test = load_corpus(str(data)).test
    ratio = len(bundle.tokenizer.encode(test)) / len(test)
    assert bits == pytest.approx(math.log2(ppl) * ratio, abs=2e-3)

    out, _ = main(
        capsys, "generate", run / "model.keras", "--prompt", "to be or [MASK] to be"
    )
    candidates = re.search(r"\[MASK\] 1: (.*)", out)[1]
    assert len(re.findall(r"'[^']*' 0\.\d{3}", candidates)) == 5
