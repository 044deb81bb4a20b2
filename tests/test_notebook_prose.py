"""What the notebooks say, held by tests: their prompts, prose and numbers.

A notebook's words can rot as quietly as its code. These tests read the
jupytext ``.py`` side of notebooks 01-09 (the one that is reviewed) and check
the claims that do not show in a cell's output:

* every prompt is text of the corpus the notebook trains on (the bundled
  plays write a speaker as "Romeo.", never tiny-shakespeare's "ROMEO:"), and
  every prompt has a name (``PROMPT``, ``..._PROMPT`` or ``..._PROMPTS``)
  rather than being typed into a ``generate`` call;
* what notebook 06 says BLEU's default tokenizer does to an ISO date;
* which layers the default recurrent factories build (notebooks 02 and 04);
* no speed ratio typed into prose, and the benchmark fields that the cells
  computing the ratios read;
* loss curves and errata come from the library (`zoo.plotting.plot_history`),
  not from a helper each notebook writes for itself.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import re
from pathlib import Path

import jupytext
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("0[1-9]_*.py"))
RESULTS = REPO_ROOT / "benchmarks" / "results"
NUMBER_WORDS = {3: "three", 4: "four", 5: "five", 6: "six"}


def _notebook(stem: str) -> Path:
    return next(path for path in NOTEBOOKS if path.stem == stem)


def _prose(path: Path) -> str:
    """The notebook's markdown cells, whitespace collapsed to single spaces."""
    cells = jupytext.read(path).cells
    text = " ".join(c.source for c in cells if c.cell_type == "markdown")
    return re.sub(r"\s+", " ", text)


def _module_constants(path: Path) -> dict[str, object]:
    """Top-level ``NAME = <literal>`` assignments of the notebook's code."""
    constants = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                with contextlib.suppress(ValueError):  # a computed value
                    constants[target.id] = ast.literal_eval(node.value)
    return constants


def _prompts(path: Path) -> list[str]:
    """Every string the notebook names PROMPT, *_PROMPT or *_PROMPTS."""
    prompts = []
    for name, value in _module_constants(path).items():
        if name == "PROMPT" or name.endswith(("_PROMPT", "_PROMPTS")):
            values = [value] if isinstance(value, str) else value
            assert isinstance(values, list | tuple), (path.name, name, value)
            prompts += values
    return prompts


def _corpus_name(path: Path) -> str:
    """The corpus of the notebook's first ``load_corpus("...")`` call."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None))
            == "load_corpus"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            return node.args[0].value
    raise AssertionError(f"{path.name} has prompts but never calls load_corpus")


@functools.cache
def _corpus(name: str):
    from zoo import load_corpus

    return load_corpus(name)


PROMPTED = [path for path in NOTEBOOKS if _prompts(path)]


def test_the_notebooks_with_prompts_are_found():
    assert len(NOTEBOOKS) == 9, NOTEBOOKS
    found = {path.stem for path in PROMPTED}
    assert {"01_ngram", "02_simple_rnn", "03_lstm", "04_gru", "08_gpt"} <= found
    assert "09_bert" in found  # its refused prompt and its [MASK] lines


@pytest.mark.parametrize("path", PROMPTED, ids=lambda p: p.stem)
def test_every_prompt_is_text_of_the_training_corpus(path):
    from zoo.text import MASK_TOKEN

    corpus = _corpus(_corpus_name(path))
    for prompt in _prompts(path):
        # A [MASK] hides one character of the line: any character matches it.
        pattern = re.escape(prompt).replace(re.escape(MASK_TOKEN), ".")
        assert re.search(pattern, corpus.train), (
            f"{path.name}: the prompt {prompt!r} does not occur in the training "
            f"text of {corpus.name!r}; take prompts from the corpus"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_prompts_are_named_not_typed_into_calls(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", None))
        if name in ("generate", "fill_mask") and len(node.args) >= 3:
            prompt = node.args[2]
            assert not isinstance(prompt, ast.Constant), (
                f"{path.name} line {node.lineno}: {name}() gets the literal "
                f"{prompt.value!r}; name it PROMPT in the Configuration cell"
            )


def test_the_plays_write_romeo_with_a_full_stop_never_tiny_shakespeares_colon():
    # Notebook 02's exercise 4 says so; notebooks 02-04, 08 and 09 prompt with it.
    corpus = _corpus("shakespeare")
    assert "\nRomeo.\n" in corpus.train
    assert not any("ROMEO:" in text for text in corpus.splits.values())
    prose = _prose(_notebook("02_simple_rnn"))
    assert "`ROMEO:`, which never occurs in the bundled plays" in prose
    for stem in ("02_simple_rnn", "03_lstm", "04_gru", "08_gpt"):
        assert _module_constants(_notebook(stem))["PROMPT"] == "Romeo.\n", stem


def test_bleus_default_tokenizer_splits_an_iso_date_as_notebook_06_says():
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    from zoo.data.pairs import make_dates
    from zoo.evaluation import corpus_bleu

    tokenize = Tokenizer13a()
    dates = [target for _, target in make_dates(200, seed=0).train]
    counts = {len(tokenize(date).split()) for date in dates}
    assert counts == {5}, counts  # year, "-", month, "-", day
    assert tokenize("1998-03-03").split() == ["1998", "-", "03", "-", "03"]

    prose = _prose(_notebook("06_seq2seq"))
    assert 'one "word"' not in prose and "one word" not in prose
    assert f"into {NUMBER_WORDS[counts.pop()]} tokens" in prose

    # "a correct date scores 100": with the default tokenizer, no warning.
    assert corpus_bleu(dates[:20], dates[:20]) == pytest.approx(100.0)
    # "one wrong digit costs its whole ... token": characters give more credit.
    wrong = ["1998-03-04"]
    by_token = corpus_bleu(wrong, ["1998-03-03"])
    by_char = corpus_bleu(wrong, ["1998-03-03"], tokenize="char")
    assert 0 < by_token < by_char < 100


def test_the_default_recurrent_layers_are_the_fused_ones_the_prose_names():
    import keras

    from zoo import build_gru, build_simple_rnn
    from zoo.layers.fused import FusedGRU, FusedSimpleRNN

    sizes = dict(embedding_dim=4, units=6, compile=False)
    default = build_simple_rnn(12, **sizes).get_layer("simple_rnn_1")
    stock = build_simple_rnn(12, fused=False, **sizes).get_layer("simple_rnn_1")
    assert type(default) is FusedSimpleRNN
    assert isinstance(default, keras.layers.SimpleRNN)
    assert type(stock) is keras.layers.SimpleRNN
    gru = build_gru(12, **sizes).get_layer("gru_1")
    assert type(gru) is FusedGRU and gru.cell.reset_after  # Keras's default form

    prose_02 = _prose(_notebook("02_simple_rnn"))
    assert "(which uses `SimpleRNN`)" not in prose_02
    assert "zoo's default model builds `FusedSimpleRNN`" in prose_02
    prose_04 = _prose(_notebook("04_gru"))
    assert "`build_gru` builds `FusedGRU`" in prose_04
    assert "**`reset_after=True`** (Keras's default" in prose_04


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_speed_ratio_is_typed_into_a_notebook(path):
    # Ratios such as "~4x the SimpleRNN time" come from a cell that reads the
    # benchmark files, never from the prose or a comment.
    source = path.read_text(encoding="utf-8")
    typed = re.findall(r"~?\b\d+(?:\.\d+)?x\b", source)
    assert not typed, f"{path.name} types the ratio(s) {typed}; compute them"


def test_the_benchmark_fields_that_notebooks_03_and_04_read_exist():
    import json

    rows = json.loads((RESULTS / "readme_table.json").read_text())["rows"]
    epoch = {
        r["model"]: r["epoch_seconds_median"]
        for r in rows
        if "epoch_seconds_median" in r
    }
    speed = json.loads((RESULTS / "speed.json").read_text())["training"]
    for name in ("simple_rnn", "lstm", "gru"):
        assert epoch[name] > 0
        assert speed[name]["tokens_per_s"]["zoo"] > 0
    for stem in ("03_lstm", "04_gru"):
        code = _notebook(stem).read_text(encoding="utf-8")
        assert '"readme_table.json"' in code and '"speed.json"' in code, stem


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_loss_curves_and_errata_come_from_the_library(path):
    code = path.read_text(encoding="utf-8")
    assert "def show_errata" not in code, f"{path.name} writes its own show_errata"
    trains = re.search(
        r"\b(train_language_model|train_translation|train_masked_lm|zoo\.train)\(",
        code,
    )
    if trains:
        assert "plot_history(" in code, f"{path.name} trains but draws no plot_history"
        hand_drawn = re.search(r"\.plot\([^)]*\[\"(val_)?loss\"\]", code)
        assert not hand_drawn, f"{path.name} draws a loss curve by hand"
