"""What every encoder-decoder model must do: build_seq2seq and build_transformer.

The same checks for both factories, over several configurations of each:
logits over the target vocabulary, a causal decoder, padding that changes
nothing and is never read (the *source* padding mask on cross-attention,
docs/pitfalls.md #7), a config round trip, step-by-step decoding equal to the full
model, each stepper claiming only its own family; and, on a small model of
each trained on dates with XLA (the tests marked slow), translation, beam
search and a fresh-process load. What only one family has is tested in
test_seq2seq.py and test_transformer.py, with the family specs below.

Sizes are tiny: only the slow tests compile a training step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
import pytest
from helpers import (
    check_beam_width_one_is_greedy,
    check_translation_loads_in_a_fresh_process,
)

import zoo
from zoo.generation import (
    Seq2SeqStepper,
    Stepper,
    TransformerStepper,
    step_logits,
    stepper_for,
)
from zoo.models.seq2seq import build_seq2seq
from zoo.models.transformer import build_transformer
from zoo.text import BOS_ID, PAD_ID, CharTokenizer
from zoo.training import check_emits_logits

pytestmark = pytest.mark.usefixtures("keras_seed")

B, S, T = 3, 9, 6  # batch, source and target length: S != T on purpose


@dataclass(frozen=True)
class EncoderDecoder:
    """One encoder-decoder family, as the shared tests see it.

    Attributes:
        name: the registry name ("seq2seq", "transformer").
        factory: the model factory.
        source_vocab, target_vocab: V_src and V_tgt of the tiny models.
        sizes: factory keywords of the tiny models.
        configs: named variants, each factory keywords on top of `sizes`.
        stepper: the stepper class that decodes it.
        layer_names: layers every model of the family has.
        padding: (source, target) columns of padding to append, within the
            position tables.
        step_atol: how close step-by-step logits are to the full model's.
        source_table: model -> the source token `keras.layers.Embedding`.
        trained: keywords for `build_translation_model` on dates.
        epochs, loss_ratio, exact_match, bleu: the training run on dates and
            what it must reach (last loss below ``loss_ratio`` x the first).
        max_new_tokens: target tokens generated for a date.
    """

    name: str
    factory: Callable[..., keras.Model]
    source_vocab: int
    target_vocab: int
    sizes: dict
    configs: dict
    stepper: type[Stepper]
    layer_names: frozenset
    padding: tuple[int, int]
    step_atol: float
    source_table: Callable[[keras.Model], keras.layers.Embedding]
    trained: dict = field(default_factory=dict)
    epochs: int = 4
    loss_ratio: float = 0.5
    exact_match: float = 0.0
    bleu: float = 0.0
    max_new_tokens: int = 10

    def build(self, **overrides) -> keras.Model:
        """An uncompiled tiny model; `overrides` replace `sizes`."""
        return self.factory(
            self.source_vocab,
            target_vocab_size=self.target_vocab,
            compile=False,
            **{**self.sizes, **overrides},
        )


SEQ2SEQ = EncoderDecoder(
    name="seq2seq",
    factory=build_seq2seq,
    source_vocab=30,
    target_vocab=17,
    sizes={"embedding_dim": 8, "units": 12},
    configs={
        "gru-additive-bidirectional": {},
        "lstm-dot-forward": {
            "cell": "lstm",
            "attention": "dot",
            "bidirectional_encoder": False,
        },
        "lstm-additive-bidirectional": {"cell": "lstm"},
        "gru-no-attention": {"attention": None},
    },
    stepper=Seq2SeqStepper,
    layer_names=frozenset(
        {"source_padding_mask", "source_embedding", "encoder", "decoder"}
    ),
    padding=(4, 4),  # a recurrent model has no position table
    step_atol=1e-5,
    source_table=lambda model: model.get_layer("source_embedding"),
    trained={"embedding_dim": 32, "units": 64, "learning_rate": 5e-3},
    epochs=4,
    loss_ratio=0.2,
    # Chance is ~0; 4 epochs (224 steps) reach about 0.8.
    exact_match=0.4,
    bleu=70,
    max_new_tokens=11,
)

TRANSFORMER_SOURCE = CharTokenizer.fit("abcdefghijklmnopqrstuvwxyz 0123456789,")
TRANSFORMER_TARGET = CharTokenizer.fit("0123456789-")
S_MAX, T_MAX = 12, 8  # the position tables: room for 3 and 2 more columns
TRANSFORMER = EncoderDecoder(
    name="transformer",
    factory=build_transformer,
    source_vocab=TRANSFORMER_SOURCE.vocab_size,
    target_vocab=TRANSFORMER_TARGET.vocab_size,
    sizes={
        "max_source_length": S_MAX,
        "max_target_length": T_MAX,
        "embedding_dim": 16,
        "num_heads": 2,
        "ff_dim": 32,
        "num_layers": 2,
        "dropout": 0.0,
    },
    configs={
        "post-norm": {},
        "pre-norm-learned": {"norm_first": True, "positional": "learned"},
    },
    stepper=TransformerStepper,
    layer_names=frozenset(
        {"source_padding_mask", "encoder_block_2", "decoder_block_2"}
    ),
    padding=(S_MAX - S, T_MAX - T),
    step_atol=1e-4,
    source_table=lambda model: model.get_layer("source_embedding").token_embedding,
    trained={
        "embedding_dim": 32,
        "num_heads": 2,
        "ff_dim": 64,
        "num_layers": 1,
        "dropout": 0.0,
        "learning_rate": 3e-3,
    },
    epochs=7,  # about 400 steps
    loss_ratio=0.5,
    # Chance is ~0: a date has 3,650,000 possible answers. 400 steps get ~0.6.
    exact_match=0.25,
    bleu=60,
    max_new_tokens=10,
)

FAMILIES = (SEQ2SEQ, TRANSFORMER)
OTHER = {SEQ2SEQ.name: TRANSFORMER, TRANSFORMER.name: SEQ2SEQ}
CASES = [(family, config) for family in FAMILIES for config in family.configs]


def batch(family: EncoderDecoder, seed=0):
    """Source ids with padding in the first sentence; decoder ids from <bos>."""
    rng = np.random.default_rng(seed)
    source = rng.integers(5, family.source_vocab, size=(B, S)).astype("int32")
    source[0, 5:] = PAD_ID  # sentence 0 has 5 real tokens
    decoder = rng.integers(5, family.target_vocab, size=(B, T)).astype("int32")
    decoder[:, 0] = BOS_ID
    return source, decoder


def logits_of(model, source, decoder) -> np.ndarray:
    return np.asarray(model([source, decoder], training=False))


@pytest.fixture(params=CASES, ids=[f"{f.name}-{c}" for f, c in CASES], scope="module")
def built(request):
    """(family, an uncompiled tiny model of one of its configurations)."""
    family, config = request.param
    keras.utils.set_random_seed(0)
    return family, family.build(**family.configs[config])


# --- the model -----------------------------------------------------------------


def test_output_is_logits_over_the_target_vocabulary(built):
    family, model = built
    source, decoder = batch(family)
    logits = logits_of(model, source, decoder)
    assert logits.shape == (B, T, family.target_vocab)  # (B, T, V_tgt), S != T
    assert logits.dtype == np.float32 and np.isfinite(logits).all()
    check_emits_logits(model)
    assert model.layers[-1].name == "logits"
    assert [x.name for x in model.inputs] == ["encoder_inputs", "decoder_inputs"]
    assert family.layer_names <= {layer.name for layer in model.layers}


def test_decoder_never_sees_later_target_tokens(built):
    family, model = built
    source, decoder = batch(family)
    base = logits_of(model, source, decoder)
    for t in range(1, T):
        changed = decoder.copy()
        changed[:, t:] = 5 + (decoder[:, t:] - 5 + 1) % (family.target_vocab - 5)
        moved = logits_of(model, source, changed)
        np.testing.assert_allclose(moved[:, :t], base[:, :t], rtol=0, atol=1e-5)
        assert np.abs(moved[:, t:] - base[:, t:]).max() > 1e-6


def test_appended_padding_changes_nothing(built):
    """Source padding is masked (and a recurrent encoder skips it); target
    padding sits after the real tokens, which the causal decoder never lets
    them see."""
    family, model = built
    source, decoder = batch(family)
    base = logits_of(model, source, decoder)
    source_pad, target_pad = family.padding
    pad = np.zeros((B, max(family.padding)), "int32")
    longer_source = np.concatenate([source, pad[:, :source_pad]], 1)
    np.testing.assert_allclose(
        logits_of(model, longer_source, decoder), base, rtol=0, atol=1e-5
    )
    longer_target = np.concatenate([decoder, pad[:, :target_pad]], 1)
    np.testing.assert_allclose(
        logits_of(model, source, longer_target)[:, :T], base, rtol=0, atol=1e-5
    )


def test_source_padding_vectors_are_never_read(built):
    """Whatever vector the padding gets, nothing moves (S != T): the encoder's
    padding mask, not the decoder's, masks the cross-attention (docs/pitfalls.md #7)."""
    family, model = built
    source, decoder = batch(family)
    base = logits_of(model, source, decoder)
    embedding = family.source_table(model)
    table = embedding.embeddings.numpy()
    try:
        noisy = table.copy()
        noisy[PAD_ID] = np.random.default_rng(3).normal(0, 5, table.shape[1])
        embedding.embeddings.assign(noisy)
        np.testing.assert_allclose(
            logits_of(model, source, decoder), base, rtol=0, atol=1e-5
        )
    finally:
        embedding.embeddings.assign(table)
    # The control: a real source token does reach every target position.
    changed = source.copy()
    changed[0, 4] = 5 + (source[0, 4] - 5 + 1) % (family.source_vocab - 5)
    moved = logits_of(model, changed, decoder)
    assert (np.abs(moved[0] - base[0]).max(axis=-1) > 1e-6).all()


def test_config_round_trip(built):
    family, model = built
    source, decoder = batch(family)
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    assert clone.get_config() == model.get_config()
    np.testing.assert_allclose(
        logits_of(clone, source, decoder),
        logits_of(model, source, decoder),
        atol=1e-6,
    )


# --- decoding -------------------------------------------------------------------


def test_step_by_step_decoding_equals_the_full_model(built):
    family, model = built
    source, decoder = batch(family)
    stepped = step_logits(model, decoder, source_ids=source)  # one token at a time
    np.testing.assert_allclose(
        stepped, logits_of(model, source, decoder), rtol=0, atol=family.step_atol
    )
    assert isinstance(stepper_for(model), family.stepper)


def test_each_stepper_claims_only_its_own_models(built):
    family, model = built
    other = OTHER[family.name].build()
    lm = zoo.build_gru(family.source_vocab, embedding_dim=4, units=4, compile=False)
    assert family.stepper.can_decode(model)
    assert isinstance(family.stepper(model), family.stepper)
    assert not family.stepper.can_decode(other)
    assert not family.stepper.can_decode(lm)
    assert not OTHER[family.name].stepper.can_decode(model)


# --- trained on dates (XLA) ------------------------------------------------------


@pytest.fixture(params=FAMILIES, ids=[f.name for f in FAMILIES], scope="module")
def trained(request):
    """A small model of the family trained on 1,800 dates with XLA."""
    from zoo.data.pairs import make_dates
    from zoo.recipes.translation import build_translation_model, prepare_pairs
    from zoo.training import train

    family = request.param
    keras.utils.set_random_seed(0)
    corpus = make_dates(2_000)
    prepared = prepare_pairs(corpus)
    model = build_translation_model(family.name, prepared, **family.trained)
    before = [w.copy() for w in model.get_weights()]
    history = train(
        model,
        prepared.dataset("train", batch_size=32),
        epochs=family.epochs,
        verbose=0,
    )
    return family, corpus, prepared, model, before, history


@pytest.mark.slow
def test_trains_with_xla_and_translates_dates(trained):
    from zoo.recipes.translation import score_translations

    family, corpus, prepared, model, before, history = trained
    assert model.jit_compile is True  # XLA stayed on through fit
    after = model.get_weights()
    assert all(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    assert history["loss"][-1] < family.loss_ratio * history["loss"][0]
    scores = score_translations(
        model,
        prepared.source_tokenizer,
        prepared.target_tokenizer,
        corpus.valid,
    )
    assert scores["exact_match"] > family.exact_match, scores
    assert scores["bleu"] > family.bleu, scores


@pytest.mark.slow
def test_beam_width_one_is_greedy(trained):
    family, corpus, prepared, model, *_ = trained
    check_beam_width_one_is_greedy(
        model, corpus, prepared, max_new_tokens=family.max_new_tokens
    )


@pytest.mark.slow
def test_saved_model_loads_in_a_fresh_process(trained, tmp_path):
    family, corpus, prepared, model, *_ = trained
    check_translation_loads_in_a_fresh_process(
        model, corpus, prepared, tmp_path, max_new_tokens=family.max_new_tokens
    )
