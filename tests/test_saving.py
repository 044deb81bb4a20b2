"""Tests for zoo.saving: one file holds the model and its tokenizer."""

from __future__ import annotations

import json
import zipfile

import keras
import numpy as np
import pytest
from helpers import EMBED, UNITS, logits_of, token_ids

import zoo
from zoo.errors import ZooError
from zoo.saving import read_meta
from zoo.text import CharTokenizer, WordTokenizer

pytestmark = pytest.mark.usefixtures("keras_seed")


@pytest.fixture
def tokenizer():
    return CharTokenizer.fit("to be or not to be: 生存还是毁灭")


@pytest.fixture
def model(tokenizer):
    return zoo.build_lstm(
        tokenizer.vocab_size,
        embedding_dim=EMBED,
        units=UNITS,
        num_layers=2,
        compile=False,
    )


def _ids(tokenizer):
    return token_ids(vocab_size=tokenizer.vocab_size, seed=4)


# --- atomic saves ----------------------------------------------------------------


def _broken_save(path, *args, **kwargs):
    with open(path, "wb") as f:  # half a file, then the crash
        f.write(b"PK\x03\x04 half written")
    raise RuntimeError("disk full")


def test_a_failed_save_leaves_no_file(tmp_path, model, tokenizer, monkeypatch):
    monkeypatch.setattr(model, "save", _broken_save)
    target = tmp_path / "model.keras"
    with pytest.raises(RuntimeError, match="disk full"):
        zoo.save(target, model, tokenizer)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_save_keeps_the_old_file(tmp_path, model, tokenizer, monkeypatch):
    target = tmp_path / "model.keras"
    zoo.save(target, model, tokenizer, info={"epochs": 1})
    old = target.read_bytes()
    monkeypatch.setattr(model, "save", _broken_save)
    with pytest.raises(RuntimeError):
        zoo.save(target, model, tokenizer, info={"epochs": 2})
    assert target.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]
    assert zoo.load(target).info == {"epochs": 1}


def test_save_makes_missing_folders_and_needs_the_keras_suffix(
    tmp_path, model, tokenizer
):
    target = tmp_path / "runs" / "lstm" / "model.keras"
    assert zoo.save(target, model, tokenizer) == target
    assert target.is_file()
    with pytest.raises(ZooError, match=r"\.keras"):
        zoo.save(tmp_path / "model.h5", model, tokenizer)
    assert not (tmp_path / "model.h5").exists()


# --- round trip


def test_round_trip_keeps_model_tokenizer_and_settings(tmp_path, model, tokenizer):
    path = zoo.save(
        tmp_path / "m.keras",
        model,
        tokenizer,
        generation={"temperature": 0.8, "top_k": 5},
        info={"data": "诗经", "perplexity": 12.5},
    )
    bundle = zoo.load(path)
    assert type(bundle.tokenizer) is CharTokenizer
    assert bundle.tokenizer.vocabulary == tokenizer.vocabulary
    assert bundle.tokenizer.decode(bundle.tokenizer.encode("not 毁灭")) == "not 毁灭"
    assert bundle.generation == {"temperature": 0.8, "top_k": 5}
    assert bundle.info == {"data": "诗经", "perplexity": 12.5}
    ids = _ids(tokenizer)
    np.testing.assert_allclose(
        logits_of(bundle.model, ids), logits_of(model, ids), atol=1e-6
    )
    assert not bundle.model.compiled  # documented: compile again to train


def test_word_tokenizer_settings_survive(tmp_path):
    words = WordTokenizer.fit("The cat sat. the Cat sat!", lowercase=True)
    model = zoo.build_gru(
        words.vocab_size, embedding_dim=EMBED, units=UNITS, compile=False
    )
    bundle = zoo.load(zoo.save(tmp_path / "w.keras", model, words))
    assert type(bundle.tokenizer) is WordTokenizer
    assert bundle.tokenizer.lowercase is True
    assert bundle.tokenizer.vocabulary == words.vocabulary
    assert bundle.tokenizer.kind == "word"


def test_zoo_file_is_a_plain_keras_file_too(tmp_path, model, tokenizer):
    path = zoo.save(tmp_path / "m.keras", model, tokenizer)
    plain = keras.saving.load_model(path, safe_mode=True, compile=False)
    ids = _ids(tokenizer)
    np.testing.assert_allclose(logits_of(plain, ids), logits_of(model, ids), atol=1e-6)
    meta = read_meta(path)
    assert meta["kind"] == "keras"
    assert meta["tokenizer"]["vocabulary"] == tokenizer.vocabulary


def test_compiled_model_saves_and_reloads(tmp_path, tokenizer):
    model = zoo.build_simple_rnn(
        tokenizer.vocab_size, embedding_dim=EMBED, units=UNITS, from_equations=True
    )
    bundle = zoo.load(zoo.save(tmp_path / "m.keras", model, tokenizer))
    ids = _ids(tokenizer)
    np.testing.assert_allclose(
        logits_of(bundle.model, ids), logits_of(model, ids), atol=1e-6
    )


# --- not a zoo file -------------------------------------------------------------------


def test_a_text_file_is_not_a_zoo_model(tmp_path):
    path = tmp_path / "notes.keras"
    path.write_text("hello")
    with pytest.raises(ZooError, match="not a zoo model"):
        zoo.load(path)


def test_a_zip_without_zoo_json_is_not_a_zoo_model(tmp_path):
    path = tmp_path / "other.keras"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", json.dumps({"a": 1}))
    with pytest.raises(ZooError, match="not a zoo model"):
        zoo.load(path)


def test_a_plain_keras_file_is_not_a_zoo_model(tmp_path, model):
    path = tmp_path / "plain.keras"
    model.save(path)
    with pytest.raises(ZooError, match="not a zoo model.*keras.saving.load_model"):
        zoo.load(path)


def test_a_missing_file_raises(tmp_path):
    path = tmp_path / "nowhere.keras"
    with pytest.raises(ZooError, match="nowhere.keras"):
        zoo.load(path)


def test_an_unknown_format_raises(tmp_path, model, tokenizer):
    path = zoo.save(tmp_path / "m.keras", model, tokenizer)
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    meta = json.loads(members["zoo.json"])
    meta["format"] = "zoo-model/999"
    members["zoo.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(ZooError, match="format"):
        zoo.load(path)


def test_import_zoo_registers_every_module_with_keras_serializables():
    """``import zoo`` registers each module that registers layers (once Keras is
    imported), so a saved model loads with nothing imported but zoo and Keras.
    A new such module must be listed."""
    from pathlib import Path

    from zoo import SERIALIZABLE_MODULES

    package = Path(zoo.__file__).parent
    registering = {
        ".".join(path.relative_to(package.parent).with_suffix("").parts)
        for path in package.rglob("*.py")
        if "register_keras_serializable" in path.read_text(encoding="utf-8")
    }
    registering = {m.removesuffix(".__init__") for m in registering}
    listed = set(SERIALIZABLE_MODULES)
    missing = {
        m
        for m in registering
        if not any(m == p or m.startswith(p + ".") for p in listed)
    }
    assert not missing, f"add to zoo.SERIALIZABLE_MODULES: {sorted(missing)}"


@pytest.mark.parametrize("first", ["zoo", "keras"])
def test_plain_keras_loads_a_zoo_model_after_import_zoo(first, tmp_path, keras_seed):
    """The standard Keras workflow: save with ``model.save``, then in a fresh
    process ``import zoo`` (before or after Keras) and
    ``keras.saving.load_model(..., safe_mode=True)`` gives the same logits."""
    from helpers import run_python

    model = zoo.build_lstm(11, embedding_dim=EMBED, units=UNITS, compile=False)
    ids = token_ids((2, 6), vocab_size=11)
    path = tmp_path / "lstm.keras"
    model.save(path)
    np.save(tmp_path / "ids.npy", ids)
    second = "keras" if first == "zoo" else "zoo"
    run_python(
        f"""
        import sys
        import numpy as np
        import {first}
        import {second}
        model = keras.saving.load_model(sys.argv[1], safe_mode=True)
        np.save(sys.argv[2], np.asarray(model(np.load(sys.argv[3]))))
        """,
        path,
        tmp_path / "out.npy",
        tmp_path / "ids.npy",
    )
    np.testing.assert_allclose(
        np.load(tmp_path / "out.npy"), logits_of(model, ids), atol=1e-6
    )
