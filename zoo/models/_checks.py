"""Argument checks shared by the model factories: one message for each mistake."""

from __future__ import annotations

from zoo.errors import ZooError


def check_positive(**values) -> None:
    """Each value must be a positive int (not a bool, not a float)."""
    for arg, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ZooError(f"{arg} must be a positive integer, got {value!r}")


def check_dropout(dropout: float) -> None:
    if not 0.0 <= dropout < 1.0:
        raise ZooError(f"dropout must be in [0, 1), got {dropout}")


def check_heads(embedding_dim: int, num_heads: int) -> None:
    """Multi-head attention splits the width evenly between the heads."""
    if embedding_dim % num_heads:
        raise ZooError(
            f"embedding_dim={embedding_dim} is not divisible by num_heads="
            f"{num_heads}: each head gets embedding_dim // num_heads channels"
        )
