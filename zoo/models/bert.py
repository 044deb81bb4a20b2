"""BERT: a bidirectional Transformer encoder trained as a masked language model.

Mirrors: document 001, section 5 (项目实践：代码实例和详细解释说明): "双向编码器"
(a bidirectional encoder: every position reads the whole sentence, left and
right) and "masked LM"
(BERT通过遮蔽某些位置的词来进行预训练。模型的目标是预测被遮蔽的词).

A causal model (GPT, `zoo.models.gpt`) predicts the next token from the ones
before it. A masked LM instead hides some tokens and predicts them from both
sides, so it cannot generate text left to right; it fills gaps (`fill_mask`).

    token_ids (B, T), some replaced by MASK_ID         (`mask_tokens`)
    -> embedding: token + learned position, LayerNorm       (B, T, C)
    -> num_layers x TransformerEncoderBlock (padding mask)  (B, T, C)
    -> MLM head: Dense + GELU + LayerNorm                   (B, T, C)
    -> embedding run backwards + bias: h W_E^T + b          (B, T, V) logits

Targets are `PAD_ID` everywhere except at the selected positions, so zoo's
loss (which ignores PAD targets) scores only the hidden tokens, and the
perplexity it reports is the masked-token perplexity.

Shape letters: B batch, T length, C model width (= E), V vocabulary,
M number of [MASK]s in a text.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import ZooError
from zoo.layers.masks import padding_mask
from zoo.layers.transformer import TransformerEncoderBlock
from zoo.models._checks import check_dropout, check_heads, check_positive
from zoo.models.gpt import TiedEmbedding
from zoo.text import MASK_ID, PAD_ID, SPECIAL_TOKENS

# How document 001's listing (and BERT's own vocabulary) writes a hidden word.
MASK_TOKEN = "[MASK]"
# Ids below this are reserved (PAD, UNK, BOS, EOS, MASK): never selected for
# masking, never drawn as random replacements, never proposed by `fill_mask`.
FIRST_REAL_ID = len(SPECIAL_TOKENS)


def build_bert_mlm(
    vocab_size: int,
    *,
    max_length: int = 128,
    embedding_dim: int = 128,
    num_heads: int = 4,
    num_layers: int = 2,
    ff_dim: int = 512,
    dropout: float = 0.1,
    compile: bool = True,
    name: str = "bert_mlm",
    **compile_kwargs,
) -> keras.Model:
    """Build a BERT-style masked language model (bidirectional; logits out).

    Mirrors: document 001, section 5 (项目实践): 双向编码器 and masked LM;
    its listing loads ``BertForMaskedLM`` (see `zoo.listings.get("001-s5")`).
    Defaults from: a laptop-CPU size (2 layers, 4 heads, width 128, feed-forward
    512; BERT-base is 12 layers, 12 heads, width 768, feed-forward 3072); the
    layout (post-norm blocks, GELU, embedding LayerNorm, a Dense + GELU +
    LayerNorm MLM head with the output tied to the embedding plus a bias) from
    BERT (Devlin et al., 2019).

    Every position attends to every real (non-`PAD_ID`) position, before and
    after it; padding is never attended, so padding added at the end does not
    change the logits of the real tokens.

    Args:
        vocab_size: V, number of token ids, reserved ones included.
        max_length: the longest input (the position table's size).
        embedding_dim: C, the model width; divisible by ``num_heads``.
        num_heads: attention heads per block.
        num_layers: encoder blocks.
        ff_dim: hidden width of each block's feed-forward network.
        dropout: on embeddings, attention weights and sub-layer outputs.
        compile: compile with `zoo.training.compile_model`; ``compile=False``
            returns the bare graph.
        name: the model's name.
        **compile_kwargs: passed to `compile_model` (learning_rate, ...).

    Returns:
        A functional `keras.Model`: (B, T) ids -> (B, T, V) logits.

    Example:
        >>> model = build_bert_mlm(70)
        >>> model(np.full((2, 12), 7, "int32")).shape  # (B, T, V)
        TensorShape([2, 12, 70])

    Reference:
        Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers
        for Language Understanding" (2019), sections 3.1 and A.1.
    """
    check_positive(
        vocab_size=vocab_size,
        max_length=max_length,
        embedding_dim=embedding_dim,
        num_heads=num_heads,
        num_layers=num_layers,
        ff_dim=ff_dim,
    )
    if vocab_size <= FIRST_REAL_ID:
        raise ZooError(
            f"vocab_size={vocab_size} leaves no real tokens after the "
            f"{FIRST_REAL_ID} reserved ids"
        )
    check_heads(embedding_dim, num_heads)
    check_dropout(dropout)
    init = keras.initializers.TruncatedNormal(stddev=0.02)  # BERT's initialisation

    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")  # (B, T)
    real = padding_mask(token_ids, PAD_ID)  # (B, T), True at real tokens
    embedding = TiedEmbedding(
        vocab_size,
        max_length,
        embedding_dim,
        positional="learned",
        scale_embeddings=False,
        output_bias=True,  # BERT's MLM output has a bias per token
        embeddings_initializer=init,
        name="embedding",
    )
    x = embedding(token_ids)  # (B, T, C)
    x = keras.layers.LayerNormalization(epsilon=1e-12, name="embedding_norm")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    for i in range(num_layers):
        x = TransformerEncoderBlock(
            num_heads,
            ff_dim,
            dropout=dropout,
            norm_first=False,  # BERT is post-norm, like the original Transformer
            layer_norm_epsilon=1e-12,
            activation="gelu",
            kernel_initializer=init,
            name=f"encoder_{i + 1}",
        )(x, padding_mask=real)  # (B, T, C): both directions, never padding
    x = keras.layers.Dense(
        embedding_dim, activation="gelu", kernel_initializer=init, name="mlm_dense"
    )(x)  # (B, T, C)
    x = keras.layers.LayerNormalization(epsilon=1e-12, name="mlm_norm")(x)
    logits = embedding(x, reverse=True)  # h W_E^T + b: (B, T, V)
    model = keras.Model(token_ids, logits, name=name)
    if compile:
        from zoo.training import compile_model

        compile_model(model, **compile_kwargs)
    return model


# --- masking -------------------------------------------------------------------------


def _check_masking(rate, mask_fraction, random_fraction, vocab_size):
    if not 0.0 < rate < 1.0:
        raise ZooError(f"rate must be in (0, 1), got {rate}")
    if mask_fraction < 0 or random_fraction < 0 or mask_fraction + random_fraction > 1:
        raise ZooError(
            "mask_fraction and random_fraction must be >= 0 and add up to at most "
            f"1 (the rest is kept unchanged); got {mask_fraction} + {random_fraction}"
        )
    if not isinstance(vocab_size, int) or vocab_size <= FIRST_REAL_ID:
        raise ZooError(
            f"vocab_size must be an integer above the {FIRST_REAL_ID} reserved ids "
            f"(random replacements are drawn from the real ones), got {vocab_size!r}"
        )


def _mask_with_seed(ids, seed, *, rate, mask_fraction, random_fraction, vocab_size):
    """The masking of `mask_tokens` on an int32 tensor; `seed` is a (2,) tensor."""
    ids = tf.cast(ids, tf.int32)  # (B, T) or any shape
    shape = tf.shape(ids)
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 3)
    draw = tf.random.stateless_uniform(shape, seeds[0])  # who is selected
    action = tf.random.stateless_uniform(shape, seeds[1])  # what happens to them
    random_ids = tf.random.stateless_uniform(
        shape, seeds[2], minval=FIRST_REAL_ID, maxval=vocab_size, dtype=tf.int32
    )
    selected = (draw < rate) & (ids >= FIRST_REAL_ID)  # never PAD or reserved
    to_mask = selected & (action < mask_fraction)
    to_random = selected & ~to_mask & (action < mask_fraction + random_fraction)
    inputs = tf.where(to_mask, MASK_ID, tf.where(to_random, random_ids, ids))
    targets = tf.where(selected, ids, PAD_ID)  # PAD = not scored by the loss
    return inputs, targets


def mask_tokens(
    ids,
    *,
    rate: float = 0.15,
    mask_fraction: float = 0.8,
    random_fraction: float = 0.1,
    vocab_size: int,
    seed: int = 0,
):
    """Hide tokens for masked-LM training, BERT's 80/10/10 way.

    Mirrors: document 001, section 5: "BERT通过遮蔽某些位置的词来进行预训练。
    模型的目标是预测被遮蔽的词".

    Each real token (id >= 5; never `PAD_ID` or another reserved id) is
    selected with probability ``rate``. A selected token becomes `MASK_ID`
    with probability ``mask_fraction``, a random real token with probability
    ``random_fraction``, and otherwise stays as it is: the model cannot rely
    on [MASK] to tell it where to look, so it learns a good vector for every
    token, also for text without a [MASK] in it. The target is the original
    token at the selected positions and `PAD_ID` (ignored by zoo's loss)
    everywhere else.

    Args:
        ids: integer token ids, any shape, e.g. (B, T).
        rate: fraction of real tokens selected (15% in BERT).
        mask_fraction: of the selected, the fraction replaced by MASK_ID.
        random_fraction: of the selected, the fraction replaced by a random
            real token; the rest are kept.
        vocab_size: V; random tokens are drawn from ids 5..V-1.
        seed: the same seed gives the same masks.

    Returns:
        ``(inputs, targets)``, int32 NumPy arrays of the shape of ``ids``.

    Example:
        >>> x, y = mask_tokens(np.arange(5, 25)[None], vocab_size=30, seed=1)
        >>> bool(((y == 0) | (y == np.arange(5, 25))).all())  # PAD or the truth
        True

    Reference:
        Devlin et al. (2019), section 3.1, "Task #1: Masked LM", and appendix
        C.2 (why 80/10/10).
    """
    _check_masking(rate, mask_fraction, random_fraction, vocab_size)
    inputs, targets = _mask_with_seed(
        np.asarray(ids),
        tf.constant([seed, 0], tf.int64),
        rate=rate,
        mask_fraction=mask_fraction,
        random_fraction=random_fraction,
        vocab_size=vocab_size,
    )
    return inputs.numpy(), targets.numpy()


def make_mlm_dataset(
    ids,
    *,
    seq_len: int,
    batch_size: int,
    vocab_size: int,
    seed: int = 0,
    training: bool = True,
    rate: float = 0.15,
    mask_fraction: float = 0.8,
    random_fraction: float = 0.1,
) -> tf.data.Dataset:
    """Batches of ``(masked inputs, targets)`` from a 1-D array of token ids.

    The windows are those of `zoo.data.pipeline.make_dataset` (T tokens each,
    shuffled when training); the masks are drawn inside the pipeline from a
    seeded random stream. When training, every pass over the data draws
    fresh masks (the same seed gives the same sequence of masks); otherwise
    every pass has the same masks, so validation scores are comparable.

    Args:
        ids: 1-D integer array (a tokenised text).
        seq_len: T, tokens per sequence (at most the model's ``max_length``).
        batch_size: B.
        vocab_size: V (for random replacements).
        seed: seeds both the shuffling and the masks.
        training: shuffle, and new masks every epoch; else fixed order, fixed
            masks, and a last batch padded with PAD (never selected, ignored).
        rate, mask_fraction, random_fraction: as in `mask_tokens`.

    Returns:
        A `tf.data.Dataset` of int32 ``(inputs, targets)``, each (B, T).

    Example:
        >>> ds = make_mlm_dataset(ids, seq_len=64, batch_size=32, vocab_size=70)
        >>> x, y = next(iter(ds))  # x has MASK_ID holes; y is PAD except there
    """
    from zoo.data.pipeline import make_dataset

    _check_masking(rate, mask_fraction, random_fraction, vocab_size)
    windows = make_dataset(
        ids, seq_len=seq_len, batch_size=batch_size, training=training, seed=seed
    ).map(lambda x, y: x)  # (B, T): the inputs; targets come from the masking
    seeds = tf.data.Dataset.random(
        seed=seed, rerandomize_each_iteration=training
    )  # one int64 per batch, new ones each epoch when training

    def hide(batch, batch_seed):
        return _mask_with_seed(
            batch,
            tf.stack([batch_seed, tf.constant(seed, tf.int64)]),
            rate=rate,
            mask_fraction=mask_fraction,
            random_fraction=random_fraction,
            vocab_size=vocab_size,
        )  # (B, T), (B, T)

    ds = tf.data.Dataset.zip((windows, seeds)).map(
        hide, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    return ds.prefetch(tf.data.AUTOTUNE)


# --- using the model ------------------------------------------------------------------


def encode_masked(tokenizer, text: str) -> tuple[np.ndarray, np.ndarray]:
    """Encode text with "[MASK]" holes: (ids, positions of the holes).

    Each "[MASK]" becomes one `MASK_ID`; the rest is encoded by the tokenizer
    (a character tokenizer therefore hides one character per [MASK]).

    Returns:
        ``(ids, positions)``: int32 (T,) ids and int (M,) indices where
        ``ids == MASK_ID``.
    """
    if not isinstance(text, str) or MASK_TOKEN not in text:
        raise ZooError(f"the text must contain {MASK_TOKEN} where a token is hidden")
    pieces = text.split(MASK_TOKEN)
    parts = []
    for i, piece in enumerate(pieces):
        parts.append(tokenizer.encode(piece))
        if i < len(pieces) - 1:
            parts.append(np.array([MASK_ID], np.int32))
    ids = np.concatenate(parts).astype(np.int32)  # (T,)
    return ids, np.flatnonzero(ids == MASK_ID)


def fill_mask(model, tokenizer, text: str, *, top_k: int = 5):
    """The most likely tokens for each "[MASK]" in `text`, with probabilities.

    Mirrors: document 001, section 5's listing (``"The capital of France is
    [MASK]."``), done right: the prediction is read **at the mask's
    position**, ``logits[0, mask_position]``, not taken as an argmax over
    every position of the sentence (the listing's error, see
    `zoo.listings.get("001-s5")`).

    Args:
        model: a masked LM, (B, T) ids -> (B, T, V) logits
            (`build_bert_mlm`, or any model of that shape).
        tokenizer: the tokenizer it was trained with.
        text: text with one or more "[MASK]"; all are predicted in one pass,
            each from the others still hidden.
        top_k: candidates per mask.

    Returns:
        One list per [MASK], in text order, of ``(token, probability)``
        pairs, most likely first. Probabilities are the softmax over the real
        tokens (the reserved ids are never proposed).

    Example:
        >>> fill_mask(model, tokenizer, "To be, or not to b[MASK]")
        [[('e', 0.93), ('y', 0.02), ...]]
    """
    if not isinstance(top_k, int) or top_k < 1:
        raise ZooError(f"top_k must be a positive integer, got {top_k!r}")
    ids, positions = encode_masked(tokenizer, text)  # (T,), (M,)
    logits = np.asarray(model(ids[None, :], training=False), np.float64)  # (1, T, V)
    at_masks = logits[0, positions]  # (M, V): the rows of the hidden tokens only
    at_masks[:, :FIRST_REAL_ID] = -np.inf  # never propose a reserved id
    at_masks -= at_masks.max(axis=-1, keepdims=True)
    probs = np.exp(at_masks)
    probs /= probs.sum(axis=-1, keepdims=True)  # (M, V): softmax per mask
    k = min(top_k, probs.shape[-1] - FIRST_REAL_ID)
    results = []
    for row in probs:
        best = np.argsort(-row, kind="stable")[:k]
        results.append([(tokenizer.vocabulary[i], float(row[i])) for i in best])
    return results


def train_mlm(
    corpus="shakespeare",
    *,
    tokenizer=None,
    level: str = "char",
    seq_len: int = 64,
    batch_size: int = 32,
    epochs: int = 1,
    steps_per_epoch: int | None = 200,
    train_chars: int | None = None,
    valid_chars: int | None = None,
    learning_rate: float = 1e-3,
    seed: int = 0,
    run_dir=None,
    verbose="auto",
    **model_kwargs,
):
    """Train `build_bert_mlm` on a corpus: the recipe of the notebook and CLI.

    By default a **character-level** model on the bundled Shakespeare plays
    (offline; a [MASK] hides one character). BERT itself works on word
    pieces; ``level="word"`` gives whole words.

    Args:
        corpus: a `zoo.data.Corpus`, or a name or path for `load_corpus`.
        tokenizer: a fitted tokenizer; default: fitted on the training text.
        level: "char" or "word", when the tokenizer is fitted here.
        seq_len: T, tokens per training sequence; the model's ``max_length``
            defaults to it.
        batch_size: B.
        epochs: passes of ``steps_per_epoch`` batches.
        steps_per_epoch: batches per epoch (None: one pass over the text).
        train_chars: use only the first this many characters of the training
            text (None: all of it).
        valid_chars: the same for the validation text.
        learning_rate: Adam's step size.
        seed: seeds the weights, shuffling and masks.
        run_dir: checkpoint and CSV log folder (see `zoo.training.train`).
        verbose: passed to ``fit``.
        **model_kwargs: passed to `build_bert_mlm` (sizes, dropout...).

    Returns:
        ``(model, tokenizer, history)``; history holds the masked-token loss
        and perplexity per epoch (``val_`` ones on the validation text).

    Example:
        >>> model, tokenizer, history = train_mlm(epochs=2)
        >>> fill_mask(model, tokenizer, "ROMEO:\\nO, she doth teach the t[MASK]rches")
    """
    from zoo.data.corpora import Corpus, load_corpus
    from zoo.text import build_tokenizer
    from zoo.training import train

    if not isinstance(corpus, Corpus):
        corpus = load_corpus(corpus)
    train_text = corpus.train[:train_chars]
    valid_text = corpus.valid[:valid_chars]
    if tokenizer is None:
        tokenizer = build_tokenizer(corpus.train, level=level)
    keras.utils.set_random_seed(seed)
    model = build_bert_mlm(
        tokenizer.vocab_size,
        **{"max_length": seq_len, **model_kwargs},
        compile=True,
        learning_rate=learning_rate,
    )
    batches = {
        "seq_len": seq_len,
        "batch_size": batch_size,
        "vocab_size": tokenizer.vocab_size,
    }
    train_ds = make_mlm_dataset(tokenizer.encode(train_text), seed=seed, **batches)
    valid_ds = make_mlm_dataset(
        tokenizer.encode(valid_text), seed=seed, training=False, **batches
    )
    history = train(
        model,
        train_ds,
        valid_ds=valid_ds,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        run_dir=run_dir,
        verbose=verbose,
    )
    return model, tokenizer, history
