"""The registry of model families is the one table the rest reads."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import zoo
from zoo import registry
from zoo.errors import ZooError

FAMILIES = list(registry.FAMILIES.values())


def test_registry_loads_without_tensorflow():
    code = "import sys, zoo.registry, zoo.cli; print('tensorflow' in sys.modules)"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_every_family_names_a_real_factory_task_and_recipe(family):
    assert family.factory in zoo.__all__
    assert callable(family.factory_fn)
    assert family.task in registry.TASKS
    recipe = family.recipe_fn
    assert callable(recipe) and recipe.__module__.startswith("zoo.recipes")
    evaluator = getattr(zoo.recipes, family.task_info.evaluator)
    assert callable(evaluator)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_options_are_the_commands_and_tiny_sizes_are_the_factorys(family):
    from zoo.cli import _parser

    train = _parser().commands["train"]
    dests = {action.dest for action in train._actions}
    assert set(family.options) <= dests, set(family.options) - dests
    assert set(family.hints) <= dests
    assert not set(family.options) & set(registry.ALWAYS)
    # Every tiny size is a keyword of the factory (the n-gram: its order).
    params = inspect.signature(family.factory_fn).parameters
    assert set(family.tiny) | set(family.factory_kwargs) <= set(params)


def test_command_defaults_are_the_factorys_or_say_why():
    """A `zoo train` default that differs from its factory's has a comment in
    the registry's source saying why (the laptop sizes of the translation
    models, BERT's position table)."""
    source = inspect.getsource(registry)
    for family in FAMILIES:
        if not family.keras:
            continue
        params = inspect.signature(family.factory_fn).parameters
        differs = [
            k
            for k, v in family.options.items()
            if k in params
            and v is not None
            and params[k].default != v
            # The recurrent factories take batch_size only to fix it for
            # stateful=True; the command's is the training batch, the same B.
            and k != "batch_size"
        ]
        if differs:
            entry = source[source.index(f'"{family.name}",\n') :]
            entry = entry[: entry.index("tiny=")]
            assert "#" in entry[: entry.index("options=") + 200], (family.name, differs)


def test_unknown_family_is_a_one_line_error():
    with pytest.raises(ZooError, match="unknown model family 'lstmm'.*lstm"):
        registry.get("lstmm")


def test_tasks_group_the_families():
    assert {f.name for f in registry.of_task("translation")} == {
        "transformer",
        "seq2seq",
    }
    assert [f.name for f in registry.of_task("mlm")] == ["bert"]


def test_factories_refuse_unknown_keywords():
    """A misspelt size is an error, not silently dropped (compile=False) or
    handed to compile_model."""
    import inspect as _inspect

    from zoo.models._checks import COMPILE_KEYWORDS
    from zoo.training import compile_model

    compile_params = set(_inspect.signature(compile_model).parameters) - {"model"}
    assert set(COMPILE_KEYWORDS) == compile_params
    for family in FAMILIES:
        if not family.keras:
            continue
        for compile in (True, False):
            with pytest.raises(ZooError, match="embeding_dim"):
                family.build(30, **family.tiny, embeding_dim=8, compile=compile)
        with pytest.raises(ZooError, match="compile=False"):
            family.build(30, **family.tiny, learning_rate=0.1, compile=False)


def test_optimizer_and_schedule_names_are_trainings():
    from zoo import training

    assert registry.OPTIMIZERS == training.OPTIMIZERS
    assert registry.SCHEDULES == training.SCHEDULES
