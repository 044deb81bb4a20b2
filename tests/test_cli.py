"""The `zoo` command, run as a user would: in a subprocess, or through
`zoo.cli.main` in this process where a subprocess would only add TensorFlow's
start-up time (the new models' train -> generate -> evaluate round trips)."""

import re
import subprocess
import sys
import warnings

import pytest

CORPUS = "\n".join(
    f"Line {i}: to be or not to be, that is the question {i % 7}." for i in range(400)
)


def zoo(*args, cwd=None, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "zoo", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_import_zoo_prints_nothing():
    proc = subprocess.run(
        [sys.executable, "-c", "import zoo"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0
    assert proc.stdout == "" and proc.stderr == ""


def test_tensorflow_start_up_lines_are_shown_once():
    from zoo._tensorflow import dedupe_log

    log = (
        "WARNING: All log messages before absl::InitializeLog() ...\n"
        "I0000 00:00:1795963864.186214   11837 cudart_stub.cc:31] no cuda\n"
        "a line of its own\n"
        "WARNING: All log messages before absl::InitializeLog() ...\n"
        "I0000 00:00:1795963865.923611   11837 cudart_stub.cc:31] no cuda\n"
        "E0000 00:00:1795963866.000001   11837 other.cc:1] a new error\n"
    )
    kept = dedupe_log(log).splitlines()
    assert kept == [log.splitlines()[i] for i in (0, 1, 2, 5)]
    # A real command: whatever TensorFlow prints while it loads (on a machine
    # without a GPU, a CUDA notice), no line twice.
    stderr = zoo("list").stderr
    assert dedupe_log(stderr) == stderr, stderr


def main(capsys, *args, status=0):
    """Run `zoo.cli.main` here; return (stdout, stderr). Restores the warning
    filters and handler that `main` sets for the command line."""
    from zoo.cli import main as zoo_main

    with warnings.catch_warnings():
        code = zoo_main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert code == status, err[-3000:]
    return out, err


def test_list_shows_every_model_and_listing():
    from zoo import listings
    from zoo.registry import FAMILIES

    out = zoo("list").stdout
    table = out.split("\n\n")[0].splitlines()  # the model table, then the listings
    rows = {line.split()[0]: line for line in table}
    assert set(rows) == {"MODEL", *FAMILIES}
    for name, family in FAMILIES.items():
        assert family.factory in rows[name] and family.mirrors in rows[name]
        ids = [entry.id for entry in listings.for_family(name)]
        assert rows[name].endswith(", ".join(ids) or "-"), rows[name]
    assert rows["transformer"].endswith("004-4.2")
    assert rows["bert"].endswith("001-s5")
    for entry in listings.LISTINGS.values():
        assert entry.id in out and entry.zoo_call in out


def test_train_help_gives_every_models_options():
    from zoo.registry import FAMILIES

    out = zoo("train", "--help").stdout
    epilog = out[out.index("options and defaults per model") :]
    for name in FAMILIES:
        assert re.search(rf"\b{name}\b[^:]*:", epilog), name
    assert "--preset laptop" in epilog and "refuse --units" in epilog
    assert "--data dates" in epilog


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            ["train", "gpt"],
            {"preset": "laptop", "context_length": 64, "seq_len": 64, "units": None},
        ),
        (["train", "gpt", "--preset", "tiny"], {"context_length": 16, "seq_len": 16}),
        (["train", "gpt", "--seq-len", "32"], {"context_length": 64, "seq_len": 32}),
        (["train", "bert"], {"seq_len": 64, "context_length": 64, "level": "char"}),
        (
            ["train", "transformer"],
            {"data": "dates", "steps_per_epoch": None, "level": None, "xla": True},
        ),
        (["train", "seq2seq", "--data", "numbers"], {"data": "numbers", "units": 128}),
        (["train", "lstm"], {"data": "shakespeare", "units": 256, "min_freq": 1}),
        (["train", "ngram"], {"level": "word", "min_freq": 2, "epochs": None}),
    ],
)
def test_train_defaults_depend_on_the_model(argv, expected):
    from zoo.cli import _parser, _resolve_train_args

    parser = _parser()
    args = parser.parse_args(argv)
    _resolve_train_args(parser.commands["train"], args)
    assert {k: getattr(args, k) for k in expected} == expected


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "transformerx"], "invalid choice"),
        (["train", "lstm", "--epochs", "0"], "positive integer"),
        (["frobnicate"], "invalid choice"),
        (["generate", "missing.keras"], "--prompt"),
        (["train", "gpt", "--units", "64"], "--units does not apply to gpt"),
        (["train", "gpt", "--preset", "tiny", "--seq-len", "32"], "context of 16"),
        (["train", "gpt", "--preset", "huge"], "invalid choice"),
        (["train", "bert", "--seq-len", "80", "--context-length", "64"], "context"),
        (["train", "transformer", "--level", "word"], "--level does not apply"),
        (["train", "transformer", "--units", "8"], "--embedding-dim"),
        (["train", "seq2seq", "--num-heads", "2"], "seq2seq takes --data"),
        (["train", "ngram", "--epochs", "2"], "--epochs does not apply to ngram"),
        (["train", "lstm", "--ff-dim", "8"], "--ff-dim does not apply to lstm"),
        (["train", "gru", "--dropout", "1.5"], "--dropout must be in [0, 1)"),
        (["train", "gpt", "--learning-rate", "0"], "--learning-rate must be > 0"),
        (["evaluate", "m.keras", "--beam-width", "0"], "positive integer"),
        (["train", "gpt", "--stateful"], "--stateful does not apply to gpt"),
        (["train", "lstm", "--clipnorm", "0"], "--clipnorm must be > 0"),
        (["train", "gru", "--decay-after", "0"], "positive integer"),
    ],
)
def test_bad_arguments_give_usage_not_traceback(args, message):
    proc = zoo(*args, check=False)
    assert proc.returncode == 2
    assert "usage:" in proc.stderr and message in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow  # four `zoo` processes: about 15 s
def test_errors_are_one_line(tmp_path):
    not_a_model = tmp_path / "notes.keras"
    not_a_model.write_text("hello")
    for args, message in [
        (["generate", tmp_path / "missing.keras", "--prompt", "a"], "no such model"),
        (["generate", not_a_model, "--prompt", "a"], "not a zoo model"),
        (["train", "lstm", "--data", tmp_path / "nothing.txt"], "nothing.txt"),
        (["train", "seq2seq", "--data", tmp_path / "none.tsv"], "none.tsv"),
    ]:
        proc = zoo(*args, check=False)
        assert proc.returncode == 2, proc.stderr
        assert "zoo: error:" in proc.stderr and message in proc.stderr
        assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_train_generate_evaluate_roundtrip(tmp_path):
    data = tmp_path / "tiny.txt"
    data.write_text(CORPUS, encoding="utf-8")
    run = tmp_path / "run"
    out = zoo(
        "train",
        "gru",
        "--data",
        data,
        "--epochs",
        2,
        "--steps-per-epoch",
        3,
        "--seq-len",
        16,
        "--batch-size",
        4,
        "--units",
        16,
        "--embedding-dim",
        8,
        "--out",
        run,
    ).stdout
    assert "validation perplexity" in out
    for name in ("model.keras", "loss.png", "history.csv"):
        assert (run / name).stat().st_size > 0, name
    gen = zoo(
        "generate",
        run / "model.keras",
        "--prompt",
        "Line 3",
        "--max-new-tokens",
        20,
        "--seed",
        1,
    ).stdout
    assert gen.startswith("Line 3") and len(gen.rstrip("\n")) == len("Line 3") + 20
    again = zoo(
        "generate",
        run / "model.keras",
        "--prompt",
        "Line 3",
        "--max-new-tokens",
        20,
        "--seed",
        1,
    ).stdout
    assert gen == again
    ev = zoo("evaluate", run / "model.keras", "--data", data).stdout
    assert "test perplexity" in ev


@pytest.mark.slow
def test_ngram_train_generate_evaluate(tmp_path):
    data = tmp_path / "tiny.txt"
    data.write_text(CORPUS, encoding="utf-8")
    run = tmp_path / "ngram"
    out = zoo("train", "ngram", "--data", data, "--order", 3, "--out", run).stdout
    assert "validation perplexity" in out
    model = run / "model.ngram.zip"
    gen = zoo(
        "generate", model, "--prompt", "to be", "--max-new-tokens", 5, "--seed", 0
    ).stdout
    assert gen.startswith("to be")
    assert "test perplexity" in zoo("evaluate", model, "--data", data).stdout


# --- gpt, bert, transformer, seq2seq: train -> files -> generate -> evaluate ----------

TINY_TRANSFORMER = ["--embedding-dim", 16, "--num-heads", 2, "--ff-dim", 32]
QUICK = ["--epochs", 1, "--steps-per-epoch", 3, "--batch-size", 4]


def write_pairs(path, n=60):
    """A small TSV of English number words -> digits (load_pairs's layout)."""
    from zoo.data.pairs import number_to_words

    lines = [f"{number_to_words(i * 7 + 3)}\t{i * 7 + 3}\tCC-BY" for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_gpt_train_generate_evaluate(tmp_path, capsys):
    from zoo.models.gpt import GPT_PRESETS, count_gpt_params

    data = tmp_path / "tiny.txt"
    data.write_text(CORPUS, encoding="utf-8")
    run = tmp_path / "gpt"
    args = ["train", "gpt", "--preset", "tiny", "--data", data, *QUICK]
    out, _ = main(capsys, *args, "--out", run, "--prompt", "Line")
    vocab = int(re.search(r"vocabulary of (\d+)", out)[1])
    params = int(re.search(r"([\d,]+) parameters", out)[1].replace(",", ""))
    assert params == count_gpt_params(vocab, **GPT_PRESETS["tiny"])
    assert "validation perplexity" in out and "sample:\nLine" in out
    for name in ("model.keras", "loss.png", "history.csv"):
        assert (run / name).stat().st_size > 0, name

    model = run / "model.keras"
    gen = ["generate", model, "--prompt", "Line 3", "--max-new-tokens", 8]
    text, _ = main(capsys, *gen, "--seed", 1)
    assert text.startswith("Line 3") and len(text) == len("Line 3") + 8 + 1  # "\n"
    assert main(capsys, *gen, "--seed", 1)[0] == text
    # Past the context of 16, generation slides a window: 40 new characters.
    long, _ = main(capsys, *gen[:4], "--max-new-tokens", 40, "--seed", 1)
    assert long.startswith("Line 3") and len(long) == len("Line 3") + 40 + 1  # "\n"
    # Beam search needs one window: a clear error, not a crash.
    beams = ["--max-new-tokens", 16, "--beam-width", 2]
    _, err = main(capsys, *gen[:4], *beams, status=2)
    assert "zoo: error:" in err and "context of 16" in err
    # The model remembers its data: evaluate needs no --data.
    out, _ = main(capsys, "evaluate", model)
    assert "test perplexity" in out and f"({data})" in out


@pytest.mark.slow
def test_bert_train_fill_mask_evaluate(tmp_path, capsys):
    data = tmp_path / "tiny.txt"
    data.write_text(CORPUS, encoding="utf-8")
    run = tmp_path / "bert"
    sizes = [*TINY_TRANSFORMER, "--num-layers", 1, "--seq-len", 16]
    out, _ = main(capsys, "train", "bert", "--data", data, *QUICK, *sizes, "--out", run)
    assert "validation masked-token perplexity" in out and "[MASK] 1:" in out
    for name in ("model.keras", "loss.png", "history.csv"):
        assert (run / name).stat().st_size > 0, name

    model = run / "model.keras"
    out, _ = main(capsys, "generate", model, "--prompt", "to b[MASK] or n[MASK]t")
    rows = [line for line in out.splitlines() if line.startswith("[MASK] ")]
    assert len(rows) == 2 and all(row.count("'") == 2 * 5 for row in rows), out
    assert out.splitlines()[1].startswith("-> to b")
    out, _ = main(capsys, "generate", model, "--prompt", "to [MASK]e", "--top-k", 2)
    assert out.splitlines()[-1].count("'") == 2 * 2
    _, err = main(capsys, "generate", model, "--prompt", "no mask", status=2)
    assert "[MASK]" in err and "Traceback" not in err
    _, err = main(
        capsys, "generate", model, "--prompt", "[MASK]", "--seed", 1, status=2
    )
    assert "--seed" in err

    out, _ = main(capsys, "evaluate", model, "--data", data, "--split", "valid")
    accuracy = float(re.search(r"valid masked-token accuracy ([\d.]+)", out)[1])
    assert 0.0 <= accuracy <= 1.0 and "masked-token perplexity" in out


@pytest.mark.slow
@pytest.mark.parametrize(
    "model, sizes",
    [
        ("transformer", [*TINY_TRANSFORMER, "--num-layers", 1]),
        ("seq2seq", ["--embedding-dim", 8, "--units", 16]),
    ],
)
def test_translation_train_generate_evaluate(
    tmp_path, capsys, monkeypatch, model, sizes
):
    import zoo

    monkeypatch.chdir(tmp_path)
    write_pairs(tmp_path / "pairs.tsv")
    run = tmp_path / model
    out, _ = main(
        capsys, "train", model, "--data", "pairs.tsv", *QUICK, *sizes, "--out", run
    )
    match = re.search(r"validation exact match ([\d.]+), BLEU ([\d.]+)", out)
    assert match and 0 <= float(match[1]) <= 1 and 0 <= float(match[2]) <= 100
    for name in ("model.keras", "loss.png", "history.csv", "summary.json"):
        assert (run / name).stat().st_size > 0, name
    bundle = zoo.load(run / "model.keras")
    pairs = str((tmp_path / "pairs.tsv").resolve())
    assert bundle.source_tokenizer is not None and bundle.info["data"] == pairs

    digits = set("0123456789")
    out, _ = main(capsys, "generate", run / "model.keras", "--prompt", "forty-two")
    assert out.endswith("\n") and out.count("\n") == 1 and set(out[:-1]) <= digits
    beam = ["--beam-width", 2, "--max-new-tokens", 3]
    out, _ = main(capsys, "generate", run / "model.keras", "--prompt", "ten", *beam)
    assert len(out) <= 4 and set(out[:-1]) <= digits

    # Without --data the model's own data file is found again (from another
    # folder too) and split as in training: 3 of the 60 sources are the test split.
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    out, _ = main(capsys, "evaluate", run / "model.keras")
    assert re.search(r"test exact match [\d.]+, BLEU [\d.]+, .* over 3 pairs", out)
    (tmp_path / "pairs.tsv").unlink()
    _, err = main(capsys, "evaluate", run / "model.keras", status=2)
    assert "--data" in err and "pairs.tsv" in err


def _ptb_folder(tmp_path):
    """A small folder in Mikolov's Penn Treebank layout: pre-tokenized words
    with dotted abbreviations and contractions, <unk> already in the text."""
    folder = tmp_path / "ptb"
    folder.mkdir()
    train = [
        "the u.s. economy grew N N in the third quarter",
        "mr. smith said the company 's shares rose",
        "the s.e.c. did n't comment on the <unk> filing",
        "shares of u.s. companies fell",
    ]
    valid = ["the u.s. company said shares rose", "mr. <unk> did n't comment"]
    test = ["the s.e.c. said u.s. shares fell N N", "the <unk> rose", "mr. smith 's"]
    for name, lines in (("train", train), ("valid", valid), ("test", test)):
        text = "".join(f" {line} \n" for line in lines)  # PTB's own spacing
        (folder / f"ptb.{name}.txt").write_text(text, encoding="utf-8")
    words = {w for line in train for w in line.split()}
    tokens = sum(len(line.split()) + 1 for line in test)  # one <eos> per line
    return folder, words, tokens


def test_penn_treebank_folder_keeps_its_own_tokens(tmp_path, capsys):
    """A PTB folder is read as whitespace tokens: "u.s." and "n't" stay one
    token each, <unk> is the corpus's own word, one <eos> per sentence; the
    vocabulary is the corpus's word types (with <eos>), and `zoo evaluate`
    scores exactly the test split's tokens and says how many."""
    from zoo.recipes import prepare_text
    from zoo.text import EOS_ID, UNK_ID, WhitespaceTokenizer

    folder, words, tokens = _ptb_folder(tmp_path)
    corpus, tokenizer, ids = prepare_text(folder, level="word")
    assert isinstance(tokenizer, WhitespaceTokenizer)
    real = set(tokenizer.vocabulary[5:])
    assert real == words - {"<unk>"}  # <unk> and <eos> are the reserved ids
    assert {"u.s.", "s.e.c.", "n't", "mr.", "'s"} <= real
    assert len(ids["test"]) == tokens
    assert (ids["test"] == EOS_ID).sum() == 3 and (ids["train"] == UNK_ID).sum() == 1
    assert tokenizer.decode(ids["valid"]) == corpus.valid
    run = tmp_path / "ngram"
    out, _ = main(
        capsys, "train", "ngram", "--data", folder, "--order", 2, "--out", run
    )
    assert f"word-level vocabulary of {len(words - {'<unk>'}) + 5}" in out
    out, _ = main(capsys, "evaluate", run / "model.ngram.zip")
    assert f"over {tokens:,} tokens ({folder})" in out


def test_weight_decay_without_adamw_is_a_usage_error():
    proc = zoo("train", "lstm", "--weight-decay", "0.1", check=False)
    assert proc.returncode == 2 and "--optimizer adamw" in proc.stderr


@pytest.mark.slow
def test_train_with_adamw_cosine_warmup_and_early_stopping(tmp_path, capsys):
    from zoo.registry import get

    data = tmp_path / "tiny.txt"
    data.write_text(CORPUS, encoding="utf-8")
    run = tmp_path / "lstm"
    tiny = get("lstm").tiny
    args = [
        "train", "lstm", "--data", data, *QUICK, "--out", run,
        "--embedding-dim", tiny["embedding_dim"], "--units", tiny["units"],
        "--optimizer", "adamw", "--weight-decay", "0.1", "--schedule", "cosine",
        "--warmup-steps", "2", "--early-stopping", "1",
    ]  # fmt: skip
    out, _ = main(capsys, *args)
    assert "validation perplexity" in out
    import zoo as zoo_package

    bundle = zoo_package.load(run / "model.keras")
    assert bundle.info["family"] == "lstm"


@pytest.mark.slow
def test_stateful_training_on_a_ptb_folder_with_zarembas_schedule(tmp_path, capsys):
    """Truncated BPTT from the command line: streams, SGD, a step schedule
    that starts late and a gradient clip; `zoo evaluate` scores the test split
    as streams with the state carried, every token after the first once."""
    folder, _, tokens = _ptb_folder(tmp_path)
    run = tmp_path / "lstm"
    args = [
        "train", "lstm", "--data", folder, "--level", "word", "--stateful",
        "--batch-size", "2", "--seq-len", "3", "--steps-per-epoch", "2",
        "--epochs", "2", "--optimizer", "sgd", "--learning-rate", "1",
        "--schedule", "step", "--decay-after", "1", "--clipnorm", "0.25",
        "--embedding-dim", "8", "--units", "8", "--out", run,
    ]  # fmt: skip
    out, _ = main(capsys, *args)
    assert "validation perplexity" in out
    out, _ = main(capsys, "evaluate", run / "model.keras")
    assert f"over {tokens - 1:,} tokens ({folder})" in out
