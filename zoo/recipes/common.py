"""What every recipe shares: the result of a run, seeding, building in scope.

A recipe is the whole of one task's training, written once: ``zoo train``, the
notebooks and the README call the same function (`zoo.recipes`).
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from zoo.text import Tokenizer


@dataclass
class Run:
    """What a recipe returns.

    Attributes:
        model: the trained model (a Keras model, or an `NGramLM`).
        tokenizer: its tokenizer (the target side's, for translation).
        history: metric -> per-epoch values (empty for an n-gram).
        summary: JSON-able facts: data, sizes, validation scores, seconds.
        path: the saved model file, or None when nothing was written.
        source_tokenizer: an encoder-decoder model's source-side tokenizer.
    """

    model: object
    tokenizer: Tokenizer
    history: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    path: Path | None = None
    source_tokenizer: Tokenizer | None = None


def quiet(message: str) -> None:
    """A `log` that prints nothing."""


@contextlib.contextmanager
def building(strategy: str | None, policy: str):
    """Where a model is built: a `tf.distribute` strategy's scope (or none) and
    a dtype policy. Yields the strategy object (None without one).

    Layers take their precision, and variables their devices, when they are
    created, so both must be set around the factory call (`zoo.distribute`).
    """
    from zoo.distribute import make_strategy, precision

    made = make_strategy(strategy) if strategy else None
    with made.scope() if made else contextlib.nullcontext(), precision(policy):
        yield made


def resume_note(out: Path | None, fresh: bool, log) -> None:
    """Drop the run folder's checkpoint if `fresh`; say whether a run resumes."""
    if out is None:
        return
    backup = Path(out) / "backup"
    if fresh and backup.exists():
        shutil.rmtree(backup)
    if backup.exists():
        log(
            f"resuming from the checkpoint in {backup} (--epochs counts the epochs "
            "already done; --fresh starts over)"
        )
    else:
        log(f"run folder {out}: rerun the same command to resume if interrupted")


# nanoGPT warms up over 100 of its 2000 steps.
WARMUP_FRACTION = 0.05


def learning_rate_for(
    learning_rate: float,
    *,
    schedule: str,
    warmup_steps: int | None,
    min_learning_rate: float | None,
    epochs: int,
    steps_per_epoch: int | None,
    train_ds,
    decay_after: int = 1,
):
    """The learning rate (or schedule) of a run of `epochs` epochs.

    The cosine ends at the run's last step; the step schedule multiplies the
    rate by 0.5 once per epoch, the first time after `decay_after` epochs
    (`zoo.training.make_schedule`). `warmup_steps` None means the first
    `WARMUP_FRACTION` of the steps, and `min_learning_rate` None a tenth of
    `learning_rate` (nanoGPT's choices).
    """
    from zoo.training import make_schedule

    steps = steps_per_epoch or int(train_ds.cardinality())
    total = epochs * steps
    if warmup_steps is None:
        warmup_steps = round(WARMUP_FRACTION * total)
    if min_learning_rate is None:
        min_learning_rate = learning_rate / 10
    return make_schedule(
        learning_rate,
        schedule=schedule,
        total_steps=total,
        warmup_steps=warmup_steps,
        min_learning_rate=min_learning_rate,
        step_every=steps,
        first_step=decay_after * steps,
    )
