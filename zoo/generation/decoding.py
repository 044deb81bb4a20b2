"""The decoding loops: `generate`, `translate`, `generate_ids`, beam search.

Recurrent models decode with their state: each new token costs one cell step,
the prefix is never re-run, and no ``model.predict`` sits in the loop
(docs/pitfalls.md #9). The whole sampling loop (read the prompt, then sample and feed
back each token) is one XLA program: Python is not called once per token, and
the program is compiled once per sampling setting, batch size and length
bucket (docs/pitfalls.md #12). A GPT reads its prompt in one forward pass, its
"prefill", and then one token per step.

Every neural model decodes through its `zoo.generation.steppers.Stepper`,
found by `stepper_for`; the picking of each token is `zoo.generation.
sampling`. Sampling, beam search, prompt cropping and seeding are written
once, here, for every model family.

Shape letters: B batch, P prompt length, L token buffer columns, K beams,
V vocabulary.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import ZooError, ZooWarning
from zoo.generation.sampling import Sampling, filter_logits, sample_logits
from zoo.generation.steppers import PrefillStepper, Stepper, stepper_for
from zoo.text import BOS_ID, EOS_ID, PAD_ID


def _prompt_ids(tokenizer, prompt: str) -> np.ndarray:
    if not isinstance(prompt, str) or not prompt:
        raise ZooError("the prompt must be a non-empty string")
    unknown = tokenizer.unknown_tokens(prompt)
    if unknown:
        warnings.warn(
            f"the prompt has tokens outside the model's vocabulary: {unknown[:10]}; "
            "they are read as <unk>",
            ZooWarning,
            stacklevel=3,
        )
    return tokenizer.encode(prompt)


def generate(
    model,
    tokenizer,
    prompt: str,
    *,
    max_new_tokens: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    beam_width: int | None = None,
    seed: int | None = None,
    **context,
) -> str:
    """Continue `prompt` with `max_new_tokens` tokens from `model`.

    Args:
        model: a zoo Keras language model or an `NGramLM`.
        tokenizer: the tokenizer the model was trained with.
        prompt: text to continue. Tokens outside the vocabulary become <unk>
            (with a `ZooWarning` naming them). A prompt longer than the model's
            context is cropped to its end, with a warning.
        max_new_tokens: how many tokens to add.
        temperature: 0 = greedy; see `Sampling`.
        top_k: keep the k most likely tokens.
        top_p: nucleus sampling threshold.
        beam_width: if set, beam search with this many beams (deterministic;
            temperature, top_k and top_p are then ignored).
        seed: the same seed gives the same text.
        **context: extra inputs for the stepper (e.g. ``source_ids``).

    Returns:
        The prompt followed by the generated text.

    Example:
        >>> generate(model, tokenizer, "ROMEO:", max_new_tokens=50, seed=0)
    """
    ids = _prompt_ids(tokenizer, prompt)
    out = generate_ids(
        model,
        ids[None, :],
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        beam_width=beam_width,
        seed=seed,
        **context,
    )
    # `out` is (1, P' + max_new_tokens), P' <= len(ids) if the prompt was
    # cropped to the model's context: the new tokens are the last ones.
    return prompt + tokenizer.decode(out[0, out.shape[1] - max_new_tokens :])


def translate(
    model,
    source_tokenizer,
    target_tokenizer,
    sources: list[str],
    *,
    max_new_tokens: int | None = None,
    beam_width: int | None = None,
    temperature: float = 0.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = 0,
    batch_size: int = 256,
) -> list[str]:
    """Decode an encoder-decoder model: source sentences -> target sentences.

    The decoder starts from `BOS_ID` and stops at `EOS_ID` (or after
    `max_new_tokens`). Greedy by default; `beam_width` for beam search.
    Sources are decoded `batch_size` at a time, so every chunk but the last
    has the same shape (one compiled program).

    Args:
        model: a zoo encoder-decoder model (its stepper takes ``source_ids``).
        source_tokenizer: tokenizer of the source side.
        target_tokenizer: tokenizer of the target side.
        sources: the sentences to translate (any number, any lengths).
        max_new_tokens: most target tokens per sentence; None: what the
            model's position table allows (a Transformer reads at most
            max_target_length tokens, ``<bos>`` included), else 64.
        beam_width: beams for beam search (None: sample or greedy).
        temperature, top_k, top_p, seed: as in `generate` (each chunk draws
            with the seed plus its first row's index).
        batch_size: sentences decoded at once.

    Returns:
        One decoded string per source sentence.

    Example:
        >>> translate(model, src_tok, tgt_tok, ["3 March 1998"])
        ['1998-03-03']
    """
    if isinstance(sources, str):
        raise ZooError("translate() takes a list of sentences, not one string")
    if not sources:
        raise ZooError("translate() needs at least one sentence")
    if batch_size < 1:
        raise ZooError(f"batch_size must be >= 1, got {batch_size}")
    if max_new_tokens is None:
        max_length = stepper_for(model).max_length
        max_new_tokens = 64 if max_length is None else max_length - 1
    if len(sources) > batch_size:
        return [
            target
            for start in range(0, len(sources), batch_size)
            for target in translate(
                model,
                source_tokenizer,
                target_tokenizer,
                list(sources[start : start + batch_size]),
                max_new_tokens=max_new_tokens,
                beam_width=beam_width,
                temperature=temperature,
                top_k=top_k,
                top_p=top_p,
                seed=None if seed is None else seed + start,
                batch_size=batch_size,
            )
        ]
    encoded = [_prompt_ids(source_tokenizer, s) for s in sources]
    source_ids = np.full((len(encoded), max(map(len, encoded))), PAD_ID, np.int32)
    for i, ids in enumerate(encoded):
        source_ids[i, : len(ids)] = ids
    out = generate_ids(
        model,
        np.full((len(sources), 1), BOS_ID, np.int32),
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        beam_width=beam_width,
        eos_id=EOS_ID,
        seed=seed,
        source_ids=source_ids,
    )
    return [target_tokenizer.decode(row[1:]) for row in out]


def generate_ids(
    model,
    prompt_ids,
    *,
    max_new_tokens: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    beam_width: int | None = None,
    eos_id: int | None = None,
    seed: int | None = None,
    **context,
) -> np.ndarray:
    """Like `generate`, on ids: (B, P) prompt ids -> (B, P' + max_new_tokens).

    P' is P, or less if the prompt was cropped to fit the model's context.
    With `eos_id`, tokens after a row's first `eos_id` are set to `PAD_ID`.
    """
    sampling = Sampling(temperature, top_k, top_p, eos=eos_id is not None)
    prompt_ids = np.asarray(prompt_ids, dtype=np.int32)
    if prompt_ids.ndim != 2 or prompt_ids.shape[1] == 0:
        raise ZooError(f"prompt_ids must be (batch, length>0), got {prompt_ids.shape}")
    if max_new_tokens < 0:
        raise ZooError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    if beam_width is not None and beam_width < 1:
        raise ZooError(f"beam_width must be >= 1, got {beam_width}")
    seed = np.random.SeedSequence().entropy % 2**31 if seed is None else seed
    if hasattr(model, "next_token_logits"):  # an n-gram model: numpy, eager
        if beam_width is not None:
            raise ZooError("beam search is for neural models; n-grams sample")
        out = _generate_ngram(model, prompt_ids, max_new_tokens, sampling, seed)
    else:
        decoder = _decoder_for(model, sampling)
        stepper = decoder.stepper
        window = stepper.max_length
        if (
            window is not None
            and beam_width is None
            and not context
            and max_new_tokens >= window
        ):
            # A decoder-only model asked for more than its context holds.
            return _sliding_window(decoder, prompt_ids, max_new_tokens, seed, eos_id)
        prompt_ids = _fit_context(prompt_ids, max_new_tokens, window)
        state = stepper.initial_state(prompt_ids.shape[0], **context)
        if beam_width is None:
            out = _sample_loop(decoder, state, prompt_ids, max_new_tokens, seed, eos_id)
        else:
            out = _beam_search(
                stepper,
                decoder.step,
                state,
                prompt_ids,
                max_new_tokens,
                beam_width,
                eos_id,
            )
    return _pad_after_eos(out, prompt_ids.shape[1], eos_id)


def _sliding_window(decoder, prompt_ids, max_new_tokens, seed, eos_id):
    """Sample more tokens than the context holds, a window at a time.

    Each window starts from the last ``max_length // 2`` tokens so far (the
    prompt's end at first), read afresh, and adds tokens until the context is
    full: every new token sees at least half a context of text. The windows
    follow one another inside the one compiled loop (`_sample_loop`), so
    sliding costs no extra call from Python. Returns (B, P' + max_new_tokens),
    P' = min(P, max_length // 2).
    """
    if decoder.stepper.max_length < 2:
        raise ZooError("a context of one token cannot slide: it has no room to grow")
    keep = decoder.stepper.max_length // 2
    out = _sample_loop(
        decoder,
        decoder.stepper.initial_state(prompt_ids.shape[0]),
        prompt_ids[:, -keep:],
        max_new_tokens,
        seed,
        eos_id,
    )
    return _pad_after_eos(out, min(prompt_ids.shape[1], keep), eos_id)


def _pad_after_eos(out, start: int, eos_id):
    """Set the tokens after each row's first `eos_id` (from column `start` on)
    to `PAD_ID`, in place; returns `out`."""
    if eos_id is not None:
        generated = out[:, start:]
        after_eos = np.cumsum(generated == eos_id, axis=1) - (generated == eos_id) > 0
        generated[after_eos] = PAD_ID
    return out


def _fit_context(prompt_ids, max_new_tokens, max_length):
    """Crop the prompt's start so prompt + new tokens fit (docs/pitfalls.md #11)."""
    if max_length is None or prompt_ids.shape[1] + max_new_tokens <= max_length:
        return prompt_ids
    if max_new_tokens >= max_length:
        raise ZooError(
            f"max_new_tokens={max_new_tokens} does not fit the model's context of "
            f"{max_length} tokens (the prompt needs at least one); ask for fewer"
        )
    keep = max_length - max_new_tokens
    warnings.warn(
        f"the prompt has {prompt_ids.shape[1]} tokens, but with {max_new_tokens} "
        f"new ones only {keep} fit the model's context of {max_length}: keeping "
        f"the last {keep}",
        ZooWarning,
        stacklevel=4,
    )
    return prompt_ids[:, -keep:]


def _generate_ngram(lm, prompt_ids, max_new_tokens, sampling, seed):
    rows = []
    for b, row in enumerate(prompt_ids):
        seq = list(row)
        for t in range(max_new_tokens):
            logits = lm.next_token_logits(np.asarray(seq))[None, :]  # (1, V)
            key = tf.constant([seed, b * max_new_tokens + t], tf.int32)
            seq.append(int(sample_logits(logits, sampling, key)[0]))
        rows.append(seq)
    return np.asarray(rows, dtype=np.int32)


@dataclass(frozen=True)
class _Decoder:
    """A model's stepper and its compiled programs for one `Sampling`.

    Attributes:
        stepper: the model's `Stepper`.
        step: one token, ``(tokens, state, position, key) -> (ids, state,
            logits)``; beam search calls it from Python once per token.
        loop: a whole sampling run, one XLA program (see `_sample_loop`).
    """

    stepper: Stepper
    step: tf.types.experimental.PolymorphicFunction
    loop: tf.types.experimental.PolymorphicFunction


def _decoder_for(model, sampling: Sampling) -> _Decoder:
    """The compiled decoding programs for (model, sampling), cached on the
    model, so repeated `generate` calls trace and compile them once
    (docs/pitfalls.md #12)."""
    cache = model.__dict__.setdefault("_zoo_decoders", {})
    if sampling not in cache:
        stepper = stepper_for(model)

        def step(tokens, state, position, key):
            logits, state = stepper.step(tokens, state, position)  # (B, V)
            return sample_logits(logits, sampling, key), state, logits

        window = stepper.max_length  # W columns at most per window; None: one
        keep = None if window is None else max(1, window // 2)
        stride = window or 0  # keys per window
        put = keras.ops.slice_update

        def loop(ids, state, prompt_len, total_len, seed, eos_id, prefill):
            """Sample columns `prompt_len`..`total_len` - 1 of (B, L) `ids`.

            The run is cut into windows of at most W = ``stepper.max_length``
            columns (one window if it fits, or if W is None). Window w starts
            at column `begin` from `state`, the empty state, and reads its
            first `context` columns as its prompt: the prompt itself in
            window 0, the last W // 2 columns so far in the others. Its
            position t reads column begin + t and draws column begin + t + 1
            with the key ``[seed, w * W + t]``. While t + 1 < `context` the
            draw is discarded (the prompt is read, teacher forcing); after
            that it is written into `ids` and read at the next position. A
            window ends when it holds W columns; the run ends at `total_len`,
            or early once every row has drawn `eos_id` (-1: never). Returns
            the ids and the last column drawn.

            With `prefill` (a Python int, so a static width: 0 = none) the
            stepper reads each window's context, padded to `prefill` columns,
            in one pass and draws column begin + context with the key it
            would have drawn it with one token at a time; the window's loop
            starts after it.
            """

            def run_window(w, begin, context, ids, finished):
                end = total_len  # the window's end: W columns, or the run's
                if window is not None:
                    end = tf.minimum(begin + window, total_len)
                window_state, start = state, tf.constant(0)
                if prefill:
                    tokens = tf.slice(ids, [0, begin], [-1, prefill])  # (B, prefill)
                    logits, window_state = stepper.prefill(tokens, state, context)
                    key = tf.stack([seed, w * stride + context - 1])  # (2,)
                    drawn = sample_logits(logits, sampling, key)  # (B,)
                    ids = put(ids, [0, begin + context], drawn[:, None])
                    finished = finished | (drawn == eos_id)
                    start = context

                def more(t, ids, finished, now):
                    return (begin + t < end - 1) & ~tf.reduce_all(finished)

                def advance(t, ids, finished, now):
                    key = tf.stack([seed, w * stride + t])  # (2,)
                    drawn, after, _ = step(ids[:, begin + t], now, t, key)  # (B,)
                    # The loop needs the state nested exactly as it came in.
                    after = tf.nest.pack_sequence_as(now, tf.nest.flatten(after))
                    sampled = t + 1 >= context  # past the window's prompt
                    column = tf.where(sampled, drawn, ids[:, begin + t + 1])  # (B,)
                    ids = put(ids, [0, begin + t + 1], column[:, None])
                    finished = finished | (sampled & (drawn == eos_id))
                    return t + 1, ids, finished, after

                t, ids, finished, _ = tf.while_loop(
                    more, advance, (start, ids, finished, window_state)
                )
                return begin + t, ids, finished

            finished = tf.zeros(tf.shape(ids)[:1], tf.bool)  # (B,)
            if window is None:  # one window: a recurrent model has no limit
                last, ids, _ = run_window(0, 0, prompt_len, ids, finished)
                return ids, last

            def more_windows(w, last, ids, finished):
                return (last < total_len - 1) & ~tf.reduce_all(finished)

            def next_window(w, last, ids, finished):
                first = w == 0
                begin = tf.where(first, 0, last + 1 - keep)
                context = tf.where(first, prompt_len, keep)
                last, ids, finished = run_window(w, begin, context, ids, finished)
                return w + 1, last, ids, finished

            first = (tf.constant(0), prompt_len - 1, ids, finished)  # w, last, ...
            _, last, ids, _ = tf.while_loop(more_windows, next_window, first)
            return ids, last

        cache[sampling] = _Decoder(
            stepper,
            tf.function(step, jit_compile=True, reduce_retracing=True),
            tf.function(loop, jit_compile=True, reduce_retracing=True),
        )
    return cache[sampling]


def _bucket(length: int, smallest: int = 64) -> int:
    """Columns of the token buffer for `length` tokens: the next power of two,
    at least `smallest`, so calls of nearby lengths share one compiled loop."""
    return max(smallest, 1 << (length - 1).bit_length())


def _sample_loop(decoder, state, prompt_ids, max_new_tokens, seed, eos_id=None):
    """(B, P) prompt -> (B, P + max_new_tokens). With `eos_id`, stops as soon
    as every row has emitted it; the columns not generated are `PAD_ID`.

    One call of the compiled `decoder.loop`: the lengths go in as tensors and
    the buffer is padded to `_bucket` columns, so a new prompt length or
    `max_new_tokens` does not recompile it. A stepper with a ``prefill``
    reads the prompt padded to a bucket too (8, 16, 32... columns, at most
    the context), so each bucket compiles once. A run longer than the
    context slides its window in the loop (`_sliding_window`): its prompt
    is at most half a context, and every window reads half a context, so
    all windows share one prefill width.
    """
    batch, prompt_len = prompt_ids.shape
    total = prompt_len + max_new_tokens
    if max_new_tokens == 0:
        return np.array(prompt_ids, dtype=np.int32)
    ids = np.full((batch, _bucket(total)), PAD_ID, np.int32)  # (B, L)
    ids[:, :prompt_len] = prompt_ids
    prefill = 0  # read the prompt one step at a time
    if isinstance(decoder.stepper, PrefillStepper):
        window = decoder.stepper.max_length
        prefill = _bucket(prompt_len, smallest=8)
        if window is not None and total > window:  # slides: P <= W // 2
            prefill = window // 2
        elif window is not None:
            prefill = min(prefill, window)
    ids, _ = decoder.loop(
        tf.constant(ids),
        state,
        tf.constant(prompt_len, tf.int32),
        tf.constant(total, tf.int32),
        tf.constant(seed, tf.int32),
        tf.constant(-1 if eos_id is None else eos_id, tf.int32),
        prefill,
    )
    return ids.numpy()[:, :total]


def _beam_search(
    stepper,
    decode_step,
    state,
    prompt_ids,
    max_new_tokens,
    width,
    eos_id,
    length_penalty: float = 1.0,
):
    """Beam search over the stepper, one prompt row at a time.

    Keeps the `width` best partial sequences by summed log-probability; a beam
    that emitted `eos_id` is finished and stops growing. Finished and
    unfinished beams are compared by score / length**length_penalty.
    """
    rows = []
    key = tf.zeros(2, tf.int32)  # unused: beam search does not sample
    greedy = Sampling(0.0, eos=eos_id is not None)  # the reserved ids masked
    for b in range(prompt_ids.shape[0]):
        row_state = tf.nest.map_structure(
            lambda s, b=b: tf.repeat(s[b : b + 1], width, axis=0), state
        )
        prompt = prompt_ids[b]
        for t in range(len(prompt) - 1):  # read the prompt, all beams alike
            tokens = tf.fill((width,), int(prompt[t]))
            _, row_state, _ = decode_step(tokens, row_state, tf.constant(t), key)
        seqs = np.repeat(prompt[None, :], width, axis=0)  # (K, P)
        scores = np.full(width, -np.inf)
        scores[0] = 0.0  # one live beam at first, so beams do not repeat
        finished = np.zeros(width, bool)
        for t in range(len(prompt) - 1, len(prompt) - 1 + max_new_tokens):
            _, row_state, logits = decode_step(
                tf.constant(seqs[:, -1]), row_state, tf.constant(t), key
            )
            logp = tf.nn.log_softmax(filter_logits(logits, greedy)).numpy()
            if eos_id is not None:  # a finished beam only extends with padding
                logp[finished] = -np.inf
                logp[finished, PAD_ID] = 0.0
            total = (scores[:, None] + logp).reshape(-1)  # (K * V,)
            best = np.argsort(-total, kind="stable")[:width]
            beam, token = np.divmod(best, logp.shape[1])
            seqs = np.concatenate([seqs[beam], token[:, None]], axis=1)
            scores, finished = total[best], finished[beam]
            if eos_id is not None:
                finished = finished | (token == eos_id)
            row_state = tf.nest.map_structure(
                lambda s, beam=beam: tf.gather(s, beam, axis=0), row_state
            )
            if finished.all():
                break
        lengths = (seqs[:, len(prompt) :] != PAD_ID).sum(axis=1).clip(min=1)
        rows.append(seqs[np.argmax(scores / lengths**length_penalty)])
    # Rows that all finished early are shorter: pad them to P + max_new_tokens.
    out = np.full((len(rows), prompt_ids.shape[1] + max_new_tokens), PAD_ID, np.int32)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def step_logits(model, ids, **context) -> np.ndarray:
    """Logits for every position of (B, T) ids, computed one step at a time.

    Equal to ``model(ids)`` for a per-step model (tested); it is what
    `generate` computes, exposed for checking and teaching.
    """
    stepper = stepper_for(model)
    ids = np.asarray(ids, dtype=np.int32)
    state = stepper.initial_state(ids.shape[0], **context)
    logits = []
    for t in range(ids.shape[1]):
        step_out, state = stepper.step(
            tf.constant(ids[:, t]), state, tf.constant(t, tf.int32)
        )
        logits.append(step_out)
    return tf.stack(logits, axis=1).numpy()  # (B, T, V)
