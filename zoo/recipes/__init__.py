"""Training recipes, one per task: what ``zoo train``, the notebooks and the
README call alike.

* `train_language_model` (next token: simple_rnn, elman_rnn, lstm, gru, gpt)
  and `train_ngram` (counts), scored by `evaluate_language_model`;
* `train_masked_lm` (BERT), scored by `evaluate_masked_lm`;
* `train_translation` (transformer, seq2seq), scored by `evaluate_translation`;
* `train_classifier` and `train_tagger` (a BERT encoder fine-tuned, from
  scratch or from a masked LM), scored by `evaluate_classifier` and
  `evaluate_tagger`; used by `classify` and `find_names`.

Each returns a `Run` (model, tokenizer, history, summary, saved path). Which
family uses which recipe is written in `zoo.registry`.
"""

from zoo.recipes.common import Run, quiet
from zoo.recipes.fine_tuning import (
    classify,
    evaluate_classifier,
    evaluate_tagger,
    find_names,
    train_classifier,
    train_tagger,
)
from zoo.recipes.language_model import (
    build_language_model,
    evaluate_language_model,
    prepare_text,
    train_language_model,
    train_ngram,
)
from zoo.recipes.masked_lm import evaluate_masked_lm, train_masked_lm
from zoo.recipes.translation import (
    attention_map,
    evaluate_translation,
    prepare_pairs,
    score_translations,
    train_translation,
)

__all__ = [
    "Run",
    "attention_map",
    "classify",
    "evaluate_classifier",
    "evaluate_tagger",
    "find_names",
    "train_classifier",
    "train_tagger",
    "build_language_model",
    "evaluate_language_model",
    "evaluate_masked_lm",
    "evaluate_translation",
    "prepare_pairs",
    "prepare_text",
    "quiet",
    "score_translations",
    "train_language_model",
    "train_masked_lm",
    "train_ngram",
    "train_translation",
]
