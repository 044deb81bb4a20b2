"""The `zoo` command, run as a user would: in a subprocess."""

import subprocess
import sys

import pytest

CORPUS = "\n".join(
    f"Line {i}: to be or not to be, that is the question {i % 7}." for i in range(400)
)


def zoo(*args, cwd=None, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "zoo", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, timeout=600,
    )
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_import_zoo_prints_nothing():
    proc = subprocess.run([sys.executable, "-c", "import zoo"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0
    assert proc.stdout == "" and proc.stderr == ""


def test_list_shows_every_model_and_listing():
    from zoo import listings
    from zoo.cli import MODELS

    out = zoo("list").stdout
    for name in MODELS:
        assert name in out
    for entry in listings.LISTINGS.values():
        assert entry.id in out and entry.zoo_call in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "transformerx"], "invalid choice"),
        (["train", "lstm", "--epochs", "0"], "positive integer"),
        (["frobnicate"], "invalid choice"),
        (["generate", "missing.keras"], "--prompt"),
    ],
)
def test_bad_arguments_give_usage_not_traceback(args, message):
    proc = zoo(*args, check=False)
    assert proc.returncode == 2
    assert "usage:" in proc.stderr and message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_errors_are_one_line(tmp_path):
    not_a_model = tmp_path / "notes.keras"
    not_a_model.write_text("hello")
    for args, message in [
        (["generate", tmp_path / "missing.keras", "--prompt", "a"], "no such model"),
        (["generate", not_a_model, "--prompt", "a"], "not a zoo model"),
        (["train", "lstm", "--data", tmp_path / "nothing.txt"], "nothing.txt"),
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
    out = zoo("train", "gru", "--data", data, "--epochs", 2, "--steps-per-epoch", 3,
              "--seq-len", 16, "--batch-size", 4, "--units", 16, "--embedding-dim",
              8, "--out", run).stdout
    assert "validation perplexity" in out
    for name in ("model.keras", "loss.png", "history.csv"):
        assert (run / name).stat().st_size > 0, name
    gen = zoo("generate", run / "model.keras", "--prompt", "Line 3",
              "--max-new-tokens", 20, "--seed", 1).stdout
    assert gen.startswith("Line 3") and len(gen.rstrip("\n")) == len("Line 3") + 20
    again = zoo("generate", run / "model.keras", "--prompt", "Line 3",
                "--max-new-tokens", 20, "--seed", 1).stdout
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
    gen = zoo("generate", model, "--prompt", "to be", "--max-new-tokens", 5,
              "--seed", 0).stdout
    assert gen.startswith("to be")
    assert "test perplexity" in zoo("evaluate", model, "--data", data).stdout
