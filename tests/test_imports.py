"""zoo imports Keras 3 as `keras` only, never `tf.keras` (docs/pitfalls.md #18).

The listings of the source texts quote ``tf.keras`` verbatim, but as strings:
this reads the code itself (its syntax tree), so quoted text does not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    p
    for folder in ("zoo", "benchmarks", "tests", "notebooks")
    for p in (ROOT / folder).rglob("*.py")
)


def _keras_2_uses(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [
                a.name
                for a in node.names
                if a.name.startswith(("tensorflow.keras", "tf_keras"))
            ]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(("tensorflow.keras", "tf_keras")) or (
                node.module == "tensorflow"
                and any(a.name == "keras" for a in node.names)
            ):
                found.append(node.module)
        elif (
            isinstance(node, ast.Attribute)
            and node.attr == "keras"
            and isinstance(node.value, ast.Name)
            and node.value.id in ("tf", "tensorflow")
        ):
            found.append(f"{node.value.id}.keras (line {node.lineno})")
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_keras_2_in_the_code(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert not _keras_2_uses(tree), _keras_2_uses(tree)


def test_the_check_finds_keras_2():
    code = (
        "import tensorflow as tf\nfrom tensorflow.keras import layers\ntf.keras.Model\n"
    )
    assert len(_keras_2_uses(ast.parse(code))) == 2
    assert not _keras_2_uses(ast.parse('CODE = "from tensorflow.keras import x"'))
