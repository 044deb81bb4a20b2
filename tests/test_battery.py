"""The model battery: every family of `zoo.registry` goes through the same checks.

Each check is parametrized over `zoo.registry.FAMILIES`, so a family added to
the registry is tested here without a line of test code (docs/architecture.md).
Every model is the family's `Family.tiny` size, built once per file. The checks
(docs/architecture.md, "Tests") are in ``helpers.py``:

* output: logits (B, T, V), float32, finite; translation (B, T, V_tgt);
* causality, where ``family.causal``: changing later tokens never moves the
  logits before them (translation: on the decoder side, the source fixed);
  the others (BERT): a later token does move them;
* padding: PAD_ID appended at the end (translation: to the source and to the
  decoder ids), or filling the end of one short sentence beside full ones,
  never moves the logits of real positions;
* config round trip: ``from_config(get_config())`` with the weights copied
  gives the same logits;
* one training step with XLA forced on, checked to have run: the step writes
  an XLA HLO module (``--xla_dump_to``, the mechanism of ``test_xla.py``,
  whose control shows that a fit without XLA writes none), ``jit_compile`` is
  still True after it, and every trainable weight moved;
* a saved file loaded in a fresh process, twice: with `zoo.load`, and with
  plain ``keras.saving.load_model(path, safe_mode=True)`` after ``import zoo``
  alone. Both give the same logits as here.

The n-gram model (``family.keras`` False) has no Keras graph. It goes through
the checks that apply to it, called through `helpers.NGramLogits` (position
t's logits are its next-token logits after ``ids[:, :t + 1]``): output shape,
causality (true by construction, and checked all the same), padding, and the
`zoo.save` / `zoo.load` round trip in a fresh process. The Keras-only checks
(config round trip, XLA step, plain Keras load) are parametrized over the Keras
families only, so the n-gram is not listed there rather than skipped; its own
``get_config`` and file format are tested in ``test_ngram.py``.

The two subprocess checks run every family in ONE new process each (a module
fixture), and are marked slow.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import (
    build_family,
    check_config_round_trip,
    check_family_causal,
    check_family_output,
    check_family_padding,
    check_family_sees_later_tokens,
    family_inputs,
    family_vocab,
    run_family_fresh_loads,
    run_family_xla_steps,
)

from zoo import registry

FAMILIES = list(registry.FAMILIES.values())
KERAS_FAMILIES = [f for f in FAMILIES if f.keras]


def _ids(families):
    return {"argvalues": families, "ids": [f.name for f in families]}


@pytest.fixture(scope="module")
def tiny_model():
    """``tiny_model(family)``: the family's tiny model, built once per file."""
    cache = {}

    def get(family):
        if family.name not in cache:
            cache[family.name] = build_family(family)
        return cache[family.name]

    return get


def test_every_family_is_tested():
    assert {f.name for f in FAMILIES} == set(registry.FAMILIES)
    assert len(FAMILIES) >= 9
    assert [f.name for f in FAMILIES if not f.keras] == ["ngram"]


@pytest.mark.parametrize("family", **_ids(FAMILIES))
def test_output_is_logits(family, tiny_model):
    check_family_output(family, tiny_model(family), family_inputs(family))


@pytest.mark.parametrize("family", **_ids([f for f in FAMILIES if f.causal]))
def test_causal(family, tiny_model):
    check_family_causal(family, tiny_model(family), family_inputs(family))


@pytest.mark.parametrize("family", **_ids([f for f in FAMILIES if not f.causal]))
def test_bidirectional_sees_later_tokens(family, tiny_model):
    check_family_sees_later_tokens(family, tiny_model(family), family_inputs(family))


@pytest.mark.parametrize("family", **_ids(FAMILIES))
def test_padding_changes_no_real_position(family, tiny_model):
    check_family_padding(family, tiny_model(family), family_inputs(family))


@pytest.mark.parametrize("family", **_ids(KERAS_FAMILIES))
def test_config_round_trip(family, tiny_model):
    check_config_round_trip(tiny_model(family), family_inputs(family))


# --- one XLA training step per family, all in one process -----------------------


@pytest.fixture(scope="module")
def xla_steps(tmp_path_factory):
    return run_family_xla_steps(KERAS_FAMILIES, tmp_path_factory.mktemp("xla"))


@pytest.mark.slow
@pytest.mark.parametrize("family", **_ids(KERAS_FAMILIES))
def test_one_training_step_runs_under_xla(family, xla_steps):
    result = xla_steps[family.name]
    assert "error" not in result, result.get("error")
    assert result["jit"] == [True, True]  # Keras did not quietly turn XLA off
    assert result["iterations"] == 1
    assert result["unchanged"] == []  # every trainable weight moved
    assert result["history"]["loss"] and np.isfinite(result["history"]["loss"]).all()
    for name, values in result["history"].items():
        assert len(values) == 1 and np.isfinite(values[0]), name
    # The step was compiled by XLA: it wrote HLO modules, fed the (B, T) ids
    # (translation: the (B, S) source ids too).
    modules = result["modules"]
    assert modules and all(m["hlo"] for m in modules), modules
    inputs = family_inputs(family)
    shapes = set().union(*(m["s32"] for m in modules))
    for ids in inputs if isinstance(inputs, list) else [inputs]:
        assert f"s32[{','.join(map(str, ids.shape))}]" in shapes, shapes


# --- a .keras file loaded in a fresh process, every family in one ----------------


@pytest.fixture(scope="module")
def fresh_loads(tmp_path_factory, tiny_model):
    models = {family: tiny_model(family) for family in FAMILIES}
    return run_family_fresh_loads(models, tmp_path_factory.mktemp("fresh"))


def _loaded_logits(entry, how):
    assert entry["error"][how] is None, entry["error"][how]
    return np.load(f"{entry['path']}.{how}.npy")


@pytest.mark.slow
@pytest.mark.parametrize("family", **_ids(FAMILIES))
def test_zoo_load_in_a_fresh_process(family, fresh_loads):
    entry = fresh_loads[family.name]
    got = _loaded_logits(entry, "zoo")
    np.testing.assert_allclose(got, entry["expected"], rtol=1e-5, atol=1e-6)
    loaded = json.loads(Path(entry["path"] + ".tokenizers.json").read_text())
    assert loaded == entry["tokenizers"]  # target, and source for translation
    assert (loaded[1] is None) == (family.task != "translation")


@pytest.mark.slow
@pytest.mark.parametrize("family", **_ids(KERAS_FAMILIES))
def test_plain_keras_load_in_a_fresh_process(family, fresh_loads):
    entry = fresh_loads[family.name]
    got = _loaded_logits(entry, "keras")
    np.testing.assert_allclose(got, entry["expected"], rtol=1e-5, atol=1e-6)
    assert got.shape[-1] == family_vocab(family)[1]
