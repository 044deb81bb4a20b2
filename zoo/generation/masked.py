"""Using a masked language model: fill each "[MASK]" of a text.

A masked LM (`zoo.models.bert.build_bert_mlm`) reads a whole sentence, both
directions at once, so it cannot generate text left to right
(`zoo.generation.stepper_for` refuses it). It predicts hidden tokens
instead: `encode_masked` turns every `MASK_TOKEN` ("[MASK]") of a text into
one `MASK_ID`, and `fill_mask` reads the model's logits at those positions.

Shape letters: T text length, M number of [MASK]s, V vocabulary.
"""

from __future__ import annotations

import numpy as np

from zoo.errors import ZooError
from zoo.text import FIRST_REAL_ID, MASK_ID, MASK_TOKEN


def encode_masked(tokenizer, text: str) -> tuple[np.ndarray, np.ndarray]:
    """Encode text with "[MASK]" holes: (ids, positions of the holes).

    Each "[MASK]" becomes one `MASK_ID`; the rest is encoded by the tokenizer
    (a character tokenizer therefore hides one character per [MASK]).

    Args:
        tokenizer: the masked LM's tokenizer.
        text: text with at least one "[MASK]".

    Returns:
        ``(ids, positions)``: int32 (T,) ids and int (M,) indices where
        ``ids == MASK_ID``.

    Example:
        >>> ids, positions = encode_masked(tokenizer, "to b[MASK]")
        >>> positions.tolist(), int(ids[positions[0]]) == MASK_ID
        ([4], True)
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
