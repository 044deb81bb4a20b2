"""One `generate()` for every zoo model: greedy, temperature, top-k, top-p, beam.

The package, read in this order:

* `zoo.generation.sampling`: how the next token is picked from logits
  (`Sampling`, `filter_logits`, `sample_logits`), the same for every model.
* `zoo.generation.steppers`: how each model family is run one token at a
  time, behind one interface (`Stepper`; `stepper_for` finds a model's).
* `zoo.generation.decoding`: the loops on top of them (`generate`,
  `translate`, `generate_ids`, beam search, `step_logits`), written once.
* `zoo.generation.masked`: a masked LM fills gaps instead (`fill_mask`).

Every public name is importable from here:

    >>> from zoo.generation import generate, fill_mask, stepper_for
"""

from zoo.generation.decoding import generate, generate_ids, step_logits, translate
from zoo.generation.masked import encode_masked, fill_mask
from zoo.generation.sampling import (
    NEVER_SAMPLED,
    Sampling,
    filter_logits,
    sample_logits,
)
from zoo.generation.steppers import (
    STEPPERS,
    GPTStepper,
    PrefillStepper,
    RecurrentStepper,
    Seq2SeqStepper,
    Stepper,
    TransformerStepper,
    stepper_for,
)

__all__ = [
    "GPTStepper",
    "NEVER_SAMPLED",
    "PrefillStepper",
    "RecurrentStepper",
    "STEPPERS",
    "Sampling",
    "Seq2SeqStepper",
    "Stepper",
    "TransformerStepper",
    "encode_masked",
    "fill_mask",
    "filter_logits",
    "generate",
    "generate_ids",
    "sample_logits",
    "step_logits",
    "stepper_for",
    "translate",
]
