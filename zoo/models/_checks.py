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


# The keywords of `zoo.training.compile_model`, spelled out so that the checks
# need no TensorFlow (a test keeps them equal).
COMPILE_KEYWORDS = (
    "optimizer",
    "learning_rate",
    "global_clipnorm",
    "weight_decay",
    "beta_2",
    "pad_id",
    "jit_compile",
    "steps_per_execution",
)


def check_compile_kwargs(factory: str, compile: bool, compile_kwargs: dict) -> None:
    """A factory's extra keywords go to `compile_model`: refuse any other (a
    misspelt size would otherwise vanish), and any at all with compile=False."""
    unknown = sorted(set(compile_kwargs) - set(COMPILE_KEYWORDS))
    if unknown:
        raise ZooError(
            f"{factory}() got unexpected keyword argument(s) {', '.join(unknown)}; "
            f"besides its own, it takes compile_model's: {', '.join(COMPILE_KEYWORDS)}"
        )
    if compile_kwargs and not compile:
        raise ZooError(
            f"{factory}(compile=False) got compile_model keyword(s) "
            f"{', '.join(sorted(compile_kwargs))}; pass them to compile_model instead"
        )
