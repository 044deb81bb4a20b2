"""Test set-up shared by every test file.

The environment variables are set before TensorFlow is first imported, so the
test log shows TensorFlow's warnings and errors but not its INFO lines. The
repository root goes on ``sys.path`` so that plain ``pytest`` finds ``zoo``
without installing it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "slow: starts Python subprocesses or compiles many models; still run in CI",
    )


@pytest.fixture
def keras_seed():
    """Seed Python, NumPy and Keras, so random weights are the same every run."""
    import keras

    keras.utils.set_random_seed(1234)
    yield 1234


@pytest.fixture
def seeds_dir():
    """The source texts (documents 000-004); the test is skipped without them."""
    from helpers import SEEDS_DIR

    if not SEEDS_DIR.is_dir() or not any(SEEDS_DIR.glob("*.txt")):
        pytest.skip(f"the source texts are not at {SEEDS_DIR}")
    return SEEDS_DIR
