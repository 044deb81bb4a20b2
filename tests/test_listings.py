"""Tests for zoo.listings: each listing is rebuilt as written, faithfully, and
its zoo replacement does the job right.

The listing's own code is the reference: it is parsed with `ast`, its layer
calls are evaluated with the listing's `sizes`, and the model that
`build_as_written()` returns must have the same layers with the same settings,
and be compiled the same way.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import keras
import numpy as np
import pytest
from helpers import EMBED, UNITS, check_causal, logits_of, token_ids

import zoo
from zoo import listings
from zoo.errors import ZooError, ZooWarning
from zoo.generation import RecurrentStepper
from zoo.training import check_emits_logits

pytestmark = pytest.mark.usefixtures("keras_seed")

ENTRIES = list(listings.LISTINGS.values())
RECURRENT = ("SimpleRNN", "LSTM", "GRU")
# The recurrent Keras listings; 001-s5 (BERT, PyTorch) and 004-4.2 (the
# Transformer) have their own tests in test_bert.py and test_transformer.py.
RECURRENT_ENTRIES = [
    e for e in ENTRIES if re.search(r"\b(SimpleRNN|LSTM|GRU)\(", e.code)
]
KERAS_ENTRIES = [e for e in ENTRIES if e.framework == "keras"]
LAYER_CALLS = {
    *RECURRENT,
    "Embedding",
    "Bidirectional",
    "Dense",
    "Input",
    "Dropout",
    "Softmax",
    "Activation",
}
# Positional parameters of the layer classes, in order.
POSITIONAL = {
    "Embedding": ("input_dim", "output_dim"),
    "SimpleRNN": ("units",),
    "LSTM": ("units",),
    "GRU": ("units",),
    "Dense": ("units",),
    "Input": ("shape",),
    "Bidirectional": ("layer",),
}
# What each layer is compared on, with Keras's default where the call is silent.
COMPARED = {
    "Embedding": {"input_dim": None, "output_dim": None},
    "SimpleRNN": {"units": None, "return_sequences": False},
    "LSTM": {"units": None, "return_sequences": False},
    "GRU": {"units": None, "return_sequences": False},
    "Dense": {"units": None, "activation": None},
    "Input": {"shape": None},
    "Bidirectional": {},
}
SMALL = {"vocab_size": 30, "embedding_dim": EMBED}


def _param(entry):
    return pytest.param(entry, id=entry.id)


# --- reading a listing with ast


@dataclass
class LayerCall:
    cls: str
    args: dict


def _callee(func) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _value(node, sizes):
    if isinstance(node, ast.Name):
        assert node.id in sizes, f"the listing uses {node.id!r}, not in its sizes"
        return sizes[node.id]
    if isinstance(node, ast.Tuple):
        return tuple(_value(e, sizes) for e in node.elts)
    if isinstance(node, ast.List):
        return [_value(e, sizes) for e in node.elts]
    if isinstance(node, ast.Call):
        return _callee(node.func)  # a nested layer: listed on its own
    return ast.literal_eval(node)


def layer_calls(code: str, sizes: dict) -> list[LayerCall]:
    """The keras layer constructions of a listing, in source order."""
    calls = [
        node
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Call) and _callee(node.func) in LAYER_CALLS
    ]
    calls.sort(key=lambda node: (node.lineno, node.col_offset))
    out = []
    for node in calls:
        cls = _callee(node.func)
        names = POSITIONAL.get(cls, ())
        assert len(node.args) <= len(names), ast.unparse(node)
        args = {
            name: _value(a, sizes) for name, a in zip(names, node.args, strict=False)
        }
        args.update({kw.arg: _value(kw.value, sizes) for kw in node.keywords})
        out.append(LayerCall(cls, args))
    return out


def compile_args(code: str) -> dict:
    """The keyword arguments of the listing's ``model.compile(...)``."""
    found = [
        node
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "compile"
    ]
    assert len(found) == 1
    return {kw.arg: ast.literal_eval(kw.value) for kw in found[0].keywords}


def model_layers(model) -> list:
    """The model's layers in order, a Bidirectional's inner layer after it."""
    out = []
    for layer in model.layers:
        out.append(layer)
        if isinstance(layer, keras.layers.Bidirectional):
            out.append(layer.forward_layer)
    return out


def _class_name(layer) -> str:
    name = type(layer).__name__
    return "Input" if name == "InputLayer" else name


def _setting(layer, name):
    if name == "activation":
        return layer.activation.__name__
    if name == "shape":
        return tuple(layer.batch_shape[1:])
    return getattr(layer, name)


def _as_written(entry, **sizes):
    if entry.id in ("003-s5", "004-4.2"):
        with pytest.warns(ZooWarning):
            return entry.build_as_written(**sizes)
    return entry.build_as_written(**sizes)


# --- every listing ---------------------------------------------------------------


def test_the_listings_are_the_seven_of_the_texts():
    documents = [e.document for e in ENTRIES]
    assert documents == ["000", "000", "001", "002", "003", "004", "004"]
    assert [e.id for e in RECURRENT_ENTRIES] == [
        "000-4.1",
        "000-4.2",
        "002",
        "003-s5",
        "004-4.1",
    ]
    assert [e.id for e in ENTRIES if e.framework != "keras"] == ["001-s5"]
    assert len({e.id for e in ENTRIES}) == len(ENTRIES)
    for entry in ENTRIES:
        assert listings.get(entry.id) is entry
    with pytest.raises(ZooError, match="003-s5"):
        listings.get("999")


@pytest.mark.parametrize("entry", [_param(e) for e in RECURRENT_ENTRIES])
def test_built_as_written_matches_the_code(entry):
    calls = layer_calls(entry.code, entry.sizes)
    model = _as_written(entry)
    layers = model_layers(model)
    assert [c.cls for c in calls] == [_class_name(lay) for lay in layers]
    for call, layer in zip(calls, layers, strict=True):
        for name, default in COMPARED[call.cls].items():
            want = call.args.get(name, default)
            if name == "activation":
                want = want or "linear"
            assert _setting(layer, name) == want, f"{layer.name}.{name}"
    written = compile_args(entry.code)
    assert type(model.optimizer) is type(keras.optimizers.get(written["optimizer"]))
    assert model.loss == written["loss"]
    assert model.get_compile_config()["metrics"] == written["metrics"]


@pytest.mark.parametrize("entry", [_param(e) for e in RECURRENT_ENTRIES])
def test_zoo_version_keeps_the_recurrent_layers_and_emits_logits(entry):
    calls = layer_calls(entry.code, entry.sizes)
    model = entry.build_zoo()
    # zoo's fused layers are the stock Keras layers with a faster loop: compare
    # the Keras class each one is.
    recurrent = [
        next(c.__name__ for c in type(lay).__mro__ if c.__module__.startswith("keras"))
        for lay in model.layers
        if isinstance(lay, keras.layers.RNN)
    ]
    assert recurrent == [c.cls for c in calls if c.cls in RECURRENT]
    # ...with the listing's own widths.
    widths = [lay.units for lay in model.layers if isinstance(lay, keras.layers.RNN)]
    assert widths == [c.args["units"] for c in calls if c.cls in RECURRENT]
    assert not any(isinstance(lay, keras.layers.Bidirectional) for lay in model.layers)
    last = model.layers[-1]
    assert isinstance(last, keras.layers.Dense)
    assert last.activation.__name__ == "linear"
    check_emits_logits(model)
    assert last.units == entry.sizes["vocab_size"]
    assert model.output_shape[-1] == entry.sizes["vocab_size"]
    assert model.compiled and model.jit_compile is True
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    assert model.loss.get_config()["from_logits"] is True


@pytest.mark.parametrize("entry", [_param(e) for e in ENTRIES])
def test_zoo_call_names_the_factory(entry):
    call = ast.parse(entry.zoo_call, mode="eval").body
    assert isinstance(call, ast.Call)
    assert _callee(call.func) == entry.factory
    assert [ast.unparse(a) for a in call.args] == ["vocab_size"]
    assert {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords} == (
        entry.zoo_kwargs
    )
    assert callable(getattr(zoo, entry.factory))
    assert entry in listings.for_factory(entry.factory)


@pytest.mark.parametrize("entry", [_param(e) for e in ENTRIES])
def test_every_listing_has_errata_and_checks_its_sizes(entry):
    assert entry.errata and all(isinstance(e, str) and e for e in entry.errata)
    with pytest.raises(ZooError, match="no size"):
        entry.build_as_written(hidden_size=3)


@pytest.mark.parametrize("entry", [_param(e) for e in RECURRENT_ENTRIES])
def test_sizes_are_overridable(entry):
    small = {**SMALL, **{k: UNITS for k in entry.sizes if k not in SMALL}}
    model = _as_written(entry, **small)
    assert model.layers[-1].units == 30


def test_the_pytorch_listing_is_refused_with_the_zoo_way():
    entry = listings.get("001-s5")
    with pytest.raises(ZooError, match="offline") as caught:
        entry.build_as_written()
    assert "train_masked_lm" in str(caught.value) and "fill_mask" in str(caught.value)


# --- the listings against their documents --------------------------------------------


def _lines(text):
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def _document(seeds_dir, number):
    paths = sorted(seeds_dir.glob(f"{number}_*.txt"))
    assert len(paths) == 1, paths
    return paths[0].read_text(encoding="utf-8")


def _headings(doc_lines):
    """(line index, heading text) of the markdown headings outside code fences."""
    out, fenced = [], False
    for i, line in enumerate(doc_lines):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            out.append((i, line.lstrip("#").strip()))
    return out


@pytest.mark.parametrize("entry", [_param(e) for e in ENTRIES])
def test_code_is_verbatim_in_its_document_section(entry, seeds_dir):
    doc = _lines(_document(seeds_dir, entry.document))
    code = _lines(entry.code)
    starts = [
        i for i in range(len(doc) - len(code) + 1) if doc[i : i + len(code)] == code
    ]
    assert len(starts) == 1, f"listing {entry.id} is not verbatim in its document"
    before = [text for i, text in _headings(doc) if i < starts[0]]
    assert before and before[-1] == entry.section


def test_every_recurrent_keras_listing_is_covered(seeds_dir):
    blocks = []
    for path in sorted(seeds_dir.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
            if re.search(r"\b(SimpleRNN|LSTM|GRU)\(", block):
                blocks.append(_lines(block))
    assert blocks
    covered = [_lines(e.code) for e in ENTRIES]
    for block in blocks:
        assert block in covered


def test_every_model_listing_of_the_texts_is_covered(seeds_dir):
    """Every Python block that builds a model (Keras or PyTorch) has an entry;
    the only other block is the `!pip install tensorflow` line of 003."""
    covered = [_lines(e.code) for e in ENTRIES]
    others = []
    for path in sorted(seeds_dir.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
            if _lines(block) not in covered:
                others.append(_lines(block))
    assert others == [["!pip install tensorflow"]]
    assert len(covered) == len(ENTRIES) == 7


# --- 003-s5: the bidirectional "GPT-2" ------------------------------------------------

GPT2 = listings.get("003-s5")


def test_003_as_written_warns():
    with pytest.warns(ZooWarning, match="future"):
        GPT2.build_as_written(vocab_size=30, embedding_dim=EMBED, rnn_units=UNITS)


def test_003_as_written_sees_the_future():
    model = _as_written(GPT2, vocab_size=30, embedding_dim=EMBED, rnn_units=UNITS)
    ids = token_ids(vocab_size=30)
    changed = ids.copy()
    changed[:, 5] = 5 + (ids[:, 5] - 5 + 1) % 25
    base, moved = logits_of(model, ids), logits_of(model, changed)
    # The prediction at step 0 moves when token 5 changes: it cheats.
    assert np.abs(moved[:, :5] - base[:, :5]).max() > 1e-4
    with pytest.raises(ZooError, match="bidirectional"):
        RecurrentStepper(model)


def test_003_zoo_version_is_causal():
    model = GPT2.build_zoo(30, embedding_dim=EMBED, units=UNITS)
    check_causal(model, token_ids(vocab_size=30), vocab_size=30)


def test_003_as_written_loss_is_not_the_nll():
    model = _as_written(GPT2, vocab_size=30, embedding_dim=EMBED, rnn_units=UNITS)
    x, y = token_ids(vocab_size=30, seed=1), token_ids(vocab_size=30, seed=2)
    logits = logits_of(model, x).astype("float64")
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    true_nll = -np.take_along_axis(log_probs, y[..., None], -1).mean()
    as_written = model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)
    # Logits fed to a loss that expects probabilities: a different number.
    assert abs(as_written["loss"] - true_nll) > 0.1
    # The same loss told the truth (from_logits=True) agrees with the NLL.
    fixed = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert float(fixed(y, logits)) == pytest.approx(true_nll, rel=1e-5)


# --- 004-4.1: one-hot targets

RNN_004 = listings.get("004-4.1")


def test_004_as_written_needs_one_hot_targets():
    model = RNN_004.build_as_written(vocab_size=30, embedding_dim=EMBED, units=UNITS)
    assert model.loss == "categorical_crossentropy"
    x, y = token_ids(vocab_size=30, seed=1), token_ids((3,), vocab_size=30, seed=2)
    probs = logits_of(model, x)  # (B, V): softmax output, last step only
    assert probs.shape == (3, 30)
    loss = keras.losses.get(model.loss)
    with pytest.raises(ValueError):
        loss(y, probs)  # sparse targets do not fit
    one_hot = keras.utils.to_categorical(y, 30)  # (B, V): V floats per target
    want = -np.log(probs[np.arange(3), y]).mean()
    assert float(np.mean(loss(one_hot, probs))) == pytest.approx(want, rel=1e-5)


def test_004_zoo_version_takes_sparse_targets():
    model = RNN_004.build_zoo(30, embedding_dim=EMBED, units=UNITS)
    assert isinstance(model.optimizer, keras.optimizers.RMSprop)  # as the listing
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    x, y = token_ids(vocab_size=30, seed=1), token_ids((3,), vocab_size=30, seed=2)
    logits = logits_of(model, x).astype("float64")
    assert logits.shape == (3, 30)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    want = -log_probs[np.arange(3), y].mean()
    assert float(model.loss(y, logits)) == pytest.approx(want, rel=1e-5)
