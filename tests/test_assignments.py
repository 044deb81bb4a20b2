"""The classroom assignments (assignments/) are graded right by the real nbgrader.

Fast tier:

* every assignment's jupytext pair is in sync and committed without outputs,
  its nbgrader metadata passes nbgrader's own validator, its grade ids are
  unique, it quotes its section of the source texts by its Chinese heading,
  and the sections of the zoo notebook it follows are headings there;
* run in this process, the notebooks' own solutions pass every check of
  `zoo.classroom` (zoo's own masking and the solutions also on other
  seeds), and each typical wrong answer (`WRONG_ANSWERS`, at least one for
  every message a check can give) fails exactly the checks it should, with
  the message that names its mistake in English and in Chinese;
* the teacher's guides show the times of ``assignments/timings.json``, give
  the commands the slow tier runs, and quote a message as the check says it.

Slow tier (`test_nbgrader_*`): in a temporary copy of the course, the guides'
commands generate and release the student versions (no solutions, no hidden
tests), one student fetches, answers right and submits through nbgrader's
exchange, and one ``nbgrader autograde`` run grades them all: that student
and the instructor's solutions get full marks, the blank student versions
zero with the checks' messages in their outputs and feedback, and each wrong
answer of `NBGRADER_WRONG_ANSWERS` (one student each, on top of otherwise
right answers) loses exactly the points of the checks it fails, with the
message that names its mistake.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import doctest
import getpass
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

from zoo import classroom

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "assignments"
SOURCE = COURSE / "source"
ASSIGNMENTS = sorted(p.name for p in SOURCE.iterdir() if p.is_dir())

# assignment -> (document, the heading of the section it follows, in Chinese).
SECTIONS = {
    "01_ngram": ("000", "4.1 概率语言模型"),
    "02_rnn_cell": ("002", "数学模型和公式详细讲解举例说明"),
    "03_perplexity": ("003", "9. 附录：常见问题与解答"),
    "04_attention": ("001", "4. 数学模型和公式详细讲解举例说明"),
    "05_multi_head": ("001", "3. 核心算法原理具体操作步骤"),
    "06_beam_search": ("001", "2. 核心概念与联系"),
    "07_bert_masking": ("001", "5. 项目实践：代码实例和详细解释说明"),
}
CELL_KEYS = {"grade", "grade_id", "locked", "schema_version", "solution", "task"}

# The commands the teacher's guides give, which the slow tier runs as written
# (the teacher's in the course folder, the student's in a folder of their
# own): $EXCHANGE is the folder that nbgrader's exchange uses, one that every
# student can write to.
EXCHANGED = "04_attention"
GUIDE_STEPS = {
    "generate": 'nbgrader generate_assignment "*"',
    "release": 'nbgrader release_assignment 04_attention --Exchange.root="$EXCHANGE"',
    "fetch": (
        "nbgrader fetch_assignment 04_attention --course=zoo "
        '--Exchange.root="$EXCHANGE"'
    ),
    "submit": 'nbgrader submit 04_attention --course=zoo --Exchange.root="$EXCHANGE"',
    "collect": 'nbgrader collect 04_attention --Exchange.root="$EXCHANGE"',
    "autograde": 'nbgrader autograde "*"',
    "feedback": "nbgrader generate_feedback 04_attention",
    "release_feedback": (
        'nbgrader release_feedback 04_attention --Exchange.root="$EXCHANGE"'
    ),
    "fetch_feedback": (
        'nbgrader fetch_feedback 04_attention --course=zoo --Exchange.root="$EXCHANGE"'
    ),
    "export": "nbgrader export",
}


@dataclasses.dataclass(frozen=True)
class WrongAnswer:
    """A typical mistake: one solution cell replaced, and what it must fail.

    Attributes:
        name: also the student id of its submission.
        assignment: the assignment it is a wrong answer to.
        cell: grade_id of the solution cell it replaces.
        source: the wrong cell.
        fails: grade_id of each test cell that must fail -> the code (in
            `zoo.classroom.MESSAGES`) of the message it must show.
        nbgrader: also handed in to the real nbgrader in the slow tier (the
            mistakes the issue lists, and at least one per assignment); every
            wrong answer runs through the same checks in the fast tier.
    """

    name: str
    assignment: str
    cell: str
    source: str
    fails: dict
    nbgrader: bool = False


def _bert_masking(chosen: str, action: str = "rng.random(ids.shape)", **lines) -> str:
    """A mask_tokens cell: the solution with some of its lines changed."""
    body = {
        "rng": "rng = np.random.default_rng(seed)",
        "chosen": f"chosen = {chosen}",
        "action": f"action = {action}",
        "to_mask": "to_mask = chosen & (action < mask_fraction)",
        "to_random": (
            "to_random = chosen & ~to_mask & (action < mask_fraction + random_fraction)"
        ),
        "random_ids": "random_ids = rng.integers(FIRST_REAL_ID, vocab_size, ids.shape)",
        "inputs": (
            "inputs = np.where(to_mask, MASK_ID, np.where(to_random, random_ids, ids))"
        ),
        "targets": "targets = np.where(chosen, ids, PAD_ID)",
    }
    body.update(lines)
    return (
        "def mask_tokens(\n"
        "    ids, *, vocab_size, seed, rate=0.15, mask_fraction=0.8, "
        "random_fraction=0.1\n"
        "):\n"
        "    ids = np.asarray(ids)\n"
        + "".join(f"    {line}\n" for line in body.values())
        + "    return inputs, targets\n"
    )


REAL_CHOSEN = "(rng.random(ids.shape) < rate) & (ids >= FIRST_REAL_ID)"

WRONG_ANSWERS = [
    # ------------------------------------------------------------ 01 n-grams
    WrongAnswer(
        "no-bos-padding",
        "01_ngram",
        "count_ngrams",
        """def count_ngrams(ids, n):
    return Counter(tuple(ids[i : i + n]) for i in range(len(ids) - n + 1))
""",
        # mle_probs and kneser_ney_probs use count_ngrams: the contexts that
        # start with BOS were never counted, so they divide by zero there.
        {
            "test_count_ngrams": "no_bos",
            "test_mle_probs": "not_finite",
            "test_kneser_ney_probs": "not_finite",
        },
    ),
    WrongAnswer(
        "mle-divided-by-tokens",
        "01_ngram",
        "mle_probs",
        """def mle_probs(ids, context, n, vocab_size):
    probs = np.zeros(vocab_size)
    for gram, count in count_ngrams(ids, n).items():
        if gram[:-1] == tuple(context):
            probs[gram[-1]] += count
    return probs / len(ids)
""",
        {"test_mle_probs": "divided_by_tokens"},
    ),
    WrongAnswer(
        "mle-ignores-context",
        "01_ngram",
        "mle_probs",
        """def mle_probs(ids, context, n, vocab_size):
    return np.bincount(ids, minlength=vocab_size) / len(ids)
""",
        {"test_mle_probs": "ignores_context"},
    ),
    WrongAnswer(
        "kneser-ney-without-discount",
        "01_ngram",
        "kneser_ney_probs",
        """def kneser_ney_probs(ids, previous, vocab_size, discount=0.75):
    after = np.zeros(vocab_size)
    for (v, w), count in count_ngrams(ids, 2).items():
        if v == previous:
            after[w] += count
    return after / after.sum()
""",
        {"test_kneser_ney_probs": "no_discount"},
    ),
    WrongAnswer(
        "kneser-ney-mass-lost",
        "01_ngram",
        "kneser_ney_probs",
        """def kneser_ney_probs(ids, previous, vocab_size, discount=0.75):
    after = np.zeros(vocab_size)
    for (v, w), count in count_ngrams(ids, 2).items():
        if v == previous:
            after[w] += count
    return np.maximum(after - discount, 0.0) / after.sum()
""",
        {"test_kneser_ney_probs": "no_backoff_mass"},
    ),
    WrongAnswer(
        "frequency-not-continuation",
        "01_ngram",
        "kneser_ney_probs",
        """def kneser_ney_probs(ids, previous, vocab_size, discount=0.75):
    after = np.zeros(vocab_size)
    for (v, w), count in count_ngrams(ids, 2).items():
        if v == previous:
            after[w] += count
    frequency = np.bincount(ids, minlength=vocab_size) / len(ids)
    weight = discount * np.count_nonzero(after) / after.sum()
    return np.maximum(after - discount, 0.0) / after.sum() + weight * frequency
""",
        {"test_kneser_ney_probs": "not_continuation"},
        nbgrader=True,
    ),
    WrongAnswer(
        "an-end-token-counted-too",
        "01_ngram",
        "count_ngrams",
        """def count_ngrams(ids, n):
    padded = [BOS_ID] * (n - 1) + list(ids) + [BOS_ID]
    return Counter(tuple(padded[i : i + n]) for i in range(len(padded) - n + 1))
""",
        {
            "test_count_ngrams": "count_total",
            "test_mle_probs": "differs",
            "test_kneser_ney_probs": "differs",
        },
    ),
    WrongAnswer(
        "n-grams-read-backwards",
        "01_ngram",
        "count_ngrams",
        """def count_ngrams(ids, n):
    padded = [BOS_ID] * (n - 1) + list(ids)
    return Counter(tuple(padded[i : i + n])[::-1] for i in range(len(ids)))
""",
        {
            "test_count_ngrams": "count_differs",
            "test_mle_probs": "not_finite",
            "test_kneser_ney_probs": "not_finite",
        },
    ),
    WrongAnswer(
        "n-grams-listed-not-counted",
        "01_ngram",
        "count_ngrams",
        """def count_ngrams(ids, n):
    padded = [BOS_ID] * (n - 1) + list(ids)
    return [tuple(padded[i : i + n]) for i in range(len(ids))]
""",
        {
            "test_count_ngrams": "wrong_type",
            "test_mle_probs": "raised",
            "test_kneser_ney_probs": "raised",
        },
    ),
    # ----------------------------------------------------------- 02 RNN cell
    WrongAnswer(
        "rnn-step-without-tanh",
        "02_rnn_cell",
        "rnn_step",
        """def rnn_step(x_t, h_prev, W, U, b):
    return x_t @ W + h_prev @ U + b
""",
        {"test_rnn_step": "no_tanh", "test_rnn_forward": "differs"},
    ),
    WrongAnswer(
        "state-dropped",
        "02_rnn_cell",
        "rnn_forward",
        """def rnn_forward(xs, h0, W, U, b):
    states = [rnn_step(xs[:, t], h0, W, U, b) for t in range(xs.shape[1])]
    return np.stack(states, axis=1), states[-1]
""",
        {"test_rnn_forward": "state_dropped"},
        nbgrader=True,
    ),
    WrongAnswer(
        "rnn-starts-from-zeros",
        "02_rnn_cell",
        "rnn_forward",
        """def rnn_forward(xs, h0, W, U, b):
    h = np.zeros_like(h0)
    states = []
    for t in range(xs.shape[1]):
        h = rnn_step(xs[:, t], h, W, U, b)
        states.append(h)
    return np.stack(states, axis=1), h
""",
        {"test_rnn_forward": "ignores_h0"},
    ),
    WrongAnswer(
        "rnn-time-major",
        "02_rnn_cell",
        "rnn_forward",
        """def rnn_forward(xs, h0, W, U, b):
    h = h0
    states = []
    for t in range(xs.shape[1]):
        h = rnn_step(xs[:, t], h, W, U, b)
        states.append(h)
    return np.stack(states), h
""",
        {"test_rnn_forward": "time_major"},
    ),
    WrongAnswer(
        "softmax-over-the-whole-batch",
        "02_rnn_cell",
        "rnn_output",
        """def rnn_output(h, V, c):
    e = np.exp(h @ V + c)
    return e / e.sum()
""",
        {"test_rnn_output": "rows_not_one"},
    ),
    WrongAnswer(
        "softmax-over-the-batch-axis",
        "02_rnn_cell",
        "rnn_output",
        """def rnn_output(h, V, c):
    e = np.exp(h @ V + c)
    return e / e.sum(axis=0, keepdims=True)
""",
        {"test_rnn_output": "wrong_axis"},
    ),
    WrongAnswer(
        "rnn-output-logits",
        "02_rnn_cell",
        "rnn_output",
        """def rnn_output(h, V, c):
    return h @ V + c
""",
        {"test_rnn_output": "no_softmax"},
    ),
    WrongAnswer(
        "rnn-step-without-bias",
        "02_rnn_cell",
        "rnn_step",
        """def rnn_step(x_t, h_prev, W, U, b):
    return np.tanh(x_t @ W + h_prev @ U)
""",
        {"test_rnn_step": "no_bias", "test_rnn_forward": "differs"},
    ),
    WrongAnswer(
        "rnn-step-without-state",
        "02_rnn_cell",
        "rnn_step",
        """def rnn_step(x_t, h_prev, W, U, b):
    return np.tanh(x_t @ W + b)
""",
        {"test_rnn_step": "ignores_state", "test_rnn_forward": "ignores_h0"},
    ),
    WrongAnswer(
        "first-input-at-every-step",
        "02_rnn_cell",
        "rnn_forward",
        """def rnn_forward(xs, h0, W, U, b):
    h = h0
    states = []
    for t in range(xs.shape[1]):
        h = rnn_step(xs[:, 0], h, W, U, b)
        states.append(h)
    return np.stack(states, axis=1), h
""",
        {"test_rnn_forward": "step_differs"},
    ),
    WrongAnswer(
        "first-state-returned-as-last",
        "02_rnn_cell",
        "rnn_forward",
        """def rnn_forward(xs, h0, W, U, b):
    h = h0
    states = []
    for t in range(xs.shape[1]):
        h = rnn_step(xs[:, t], h, W, U, b)
        states.append(h)
    return np.stack(states, axis=1), states[0]
""",
        {"test_rnn_forward": "last_state"},
    ),
    # --------------------------------------------------------- 03 perplexity
    WrongAnswer(
        "log-sum-exp-overflows",
        "03_perplexity",
        "token_losses",
        """def token_losses(logits, targets):
    log_z = np.log(np.exp(logits).sum(axis=-1))
    picked = np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
    return log_z - picked
""",
        {"test_token_losses": "unstable"},
    ),
    WrongAnswer(
        "losses-keep-the-vocabulary-axis",
        "03_perplexity",
        "token_losses",
        """def token_losses(logits, targets):
    m = logits.max(axis=-1, keepdims=True)
    log_z = m + np.log(np.exp(logits - m).sum(axis=-1, keepdims=True))
    return log_z - np.take_along_axis(logits, targets[..., None], axis=-1)
""",
        {"test_token_losses": "wrong_shape"},
    ),
    WrongAnswer(
        "loss-from-the-raw-logit",
        "03_perplexity",
        "token_losses",
        """def token_losses(logits, targets):
    return -np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
""",
        {"test_token_losses": "not_normalised"},
    ),
    WrongAnswer(
        "padding-counted",
        "03_perplexity",
        "perplexity",
        """def perplexity(losses, targets, pad_id=PAD_ID):
    return float(np.exp(losses.mean()))
""",
        {"test_perplexity": "padding_counted"},
        nbgrader=True,
    ),
    WrongAnswer(
        "perplexity-without-exp",
        "03_perplexity",
        "perplexity",
        """def perplexity(losses, targets, pad_id=PAD_ID):
    real = targets != pad_id
    return float(losses[real].mean())
""",
        {"test_perplexity": "no_exp"},
    ),
    WrongAnswer(
        "mean-of-batch-perplexities",
        "03_perplexity",
        "corpus_perplexity",
        """def corpus_perplexity(batches, pad_id=PAD_ID):
    return float(np.mean([perplexity(ls, ts, pad_id) for ls, ts in batches]))
""",
        {"test_corpus_perplexity": "batch_mean"},
    ),
    WrongAnswer(
        "corpus-padding-counted",
        "03_perplexity",
        "corpus_perplexity",
        """def corpus_perplexity(batches, pad_id=PAD_ID):
    losses = np.concatenate([ls.ravel() for ls, _ in batches])
    return float(np.exp(losses.mean()))
""",
        {"test_corpus_perplexity": "padding_counted"},
    ),
    WrongAnswer(
        "loss-sign-flipped",
        "03_perplexity",
        "token_losses",
        """def token_losses(logits, targets):
    m = logits.max(axis=-1, keepdims=True)
    log_z = m[..., 0] + np.log(np.exp(logits - m).sum(axis=-1))
    picked = np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
    return picked - log_z
""",
        {"test_token_losses": "negative_loss"},
    ),
    WrongAnswer(
        "perplexity-in-base-2",
        "03_perplexity",
        "perplexity",
        """def perplexity(losses, targets, pad_id=PAD_ID):
    real = targets != pad_id
    return float(2 ** (losses[real].sum() / real.sum()))
""",
        {"test_perplexity": "base_2"},
    ),
    WrongAnswer(
        "mean-of-sequence-perplexities",
        "03_perplexity",
        "perplexity",
        """def perplexity(losses, targets, pad_id=PAD_ID):
    real = targets != pad_id
    return float(np.mean([np.exp(ls[r].mean()) for ls, r in zip(losses, real)]))
""",
        {"test_perplexity": "per_sequence"},
    ),
    WrongAnswer(
        "mean-of-batch-losses",
        "03_perplexity",
        "corpus_perplexity",
        """def corpus_perplexity(batches, pad_id=PAD_ID):
    means = [ls[ts != pad_id].mean() for ls, ts in batches]
    return float(np.exp(np.mean(means)))
""",
        {"test_corpus_perplexity": "batch_mean_loss"},
    ),
    # ---------------------------------------------------------- 04 attention
    WrongAnswer(
        "inverted-causal-mask",
        "04_attention",
        "causal_mask",
        '''def causal_mask(T):
    """True where attention is blocked (the PyTorch way round)."""
    return np.triu(np.ones((T, T), dtype=bool), k=1)
''',
        {
            "test_causal_mask": "inverted_mask",
            "test_causal_attention": "attends_future",
        },
        nbgrader=True,
    ),
    WrongAnswer(
        "causal-mask-without-diagonal",
        "04_attention",
        "causal_mask",
        """def causal_mask(T):
    return np.tril(np.ones((T, T), dtype=bool), k=-1)
""",
        # The first query may attend nothing: the -1e9 everywhere makes its
        # weights uniform over all the keys, the future included.
        {"test_causal_mask": "no_self", "test_causal_attention": "attends_future"},
    ),
    WrongAnswer(
        "no-sqrt-dk",
        "04_attention",
        "attention",
        """def attention(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2)
    if mask is not None:
        scores = np.where(mask, scores, -1e9)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=-1, keepdims=True)
    return weights @ v, weights
""",
        {"test_attention": "no_scale", "test_causal_attention": "no_scale"},
        nbgrader=True,
    ),
    WrongAnswer(
        "divided-by-dk",
        "04_attention",
        "attention",
        """def attention(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / q.shape[-1]
    if mask is not None:
        scores = np.where(mask, scores, -1e9)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=-1, keepdims=True)
    return weights @ v, weights
""",
        {"test_attention": "scale_d", "test_causal_attention": "scale_d"},
    ),
    WrongAnswer(
        "softmax-wrong-axis",
        "04_attention",
        "attention",
        """def attention(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -1e9)
    scores = scores - scores.max(axis=-2, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=-2, keepdims=True)
    return weights @ v, weights
""",
        # Normalising over the queries mixes later queries into earlier rows.
        {"test_attention": "wrong_axis", "test_causal_attention": "attends_future"},
        nbgrader=True,
    ),
    WrongAnswer(
        "mask-ignored",
        "04_attention",
        "attention",
        """def attention(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=-1, keepdims=True)
    return weights @ v, weights
""",
        {"test_attention": "mask_ignored", "test_causal_attention": "attends_future"},
    ),
    WrongAnswer(
        "causal-attention-without-the-mask",
        "04_attention",
        "causal_attention",
        """def causal_attention(x):
    output, _ = attention(x, x, x)
    return output
""",
        {"test_causal_attention": "attends_future"},
    ),
    WrongAnswer(
        "causal-mask-only-itself",
        "04_attention",
        "causal_mask",
        """def causal_mask(T):
    return np.eye(T, dtype=bool)
""",
        {"test_causal_mask": "past_blocked", "test_causal_attention": "differs"},
    ),
    WrongAnswer(
        "mask-read-backwards",
        "04_attention",
        "attention",
        """def attention(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, -1e9, scores)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=-1, keepdims=True)
    return weights @ v, weights
""",
        {"test_attention": "mask_inverted", "test_causal_attention": "attends_future"},
    ),
    WrongAnswer(
        "masked-scores-set-to-zero",
        "04_attention",
        "attention",
        """def attention(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores * mask
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=-1, keepdims=True)
    return weights @ v, weights
""",
        {"test_attention": "masked_weight", "test_causal_attention": "attends_future"},
    ),
    WrongAnswer(
        "output-from-the-unmasked-weights",
        "04_attention",
        "attention",
        """def attention(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
    output = weights @ v
    if mask is not None:
        weights = np.where(mask, weights, 0.0)
        weights = weights / weights.sum(axis=-1, keepdims=True)
    return output, weights
""",
        {
            "test_attention": "output_differs",
            "test_causal_attention": "attends_future",
        },
    ),
    # ----------------------------------------------- 05 multi-head attention
    WrongAnswer(
        "heads-by-reshape-only",
        "05_multi_head",
        "split_heads",
        """def split_heads(x, num_heads):
    B, T, C = x.shape
    return x.reshape(B, num_heads, T, C // num_heads)
""",
        {
            "test_split_heads": "reshape_only",
            "test_multi_head_attention": "reshape_only",
        },
    ),
    WrongAnswer(
        "heads-after-time",
        "05_multi_head",
        "split_heads",
        """def split_heads(x, num_heads):
    B, T, C = x.shape
    return x.reshape(B, T, num_heads, C // num_heads)
""",
        # merge_heads then gets (B, T, H, D) and builds a tensor of the
        # wrong width, so the output projection cannot be applied.
        {"test_split_heads": "heads_last", "test_multi_head_attention": "raised"},
    ),
    WrongAnswer(
        "no-output-projection",
        "05_multi_head",
        "multi_head_attention",
        """def multi_head_attention(x, Wq, Wk, Wv, Wo, num_heads, causal=False):
    q, k, v = (split_heads(x @ W, num_heads) for W in (Wq, Wk, Wv))
    mask = np.asarray(causal_mask(x.shape[1])) if causal else None
    heads, _ = scaled_dot_product_attention(q, k, v, mask=mask)
    return merge_heads(np.asarray(heads))
""",
        {"test_multi_head_attention": "no_output_projection"},
    ),
    WrongAnswer(
        "one-head",
        "05_multi_head",
        "multi_head_attention",
        """def multi_head_attention(x, Wq, Wk, Wv, Wo, num_heads, causal=False):
    q, k, v = (split_heads(x @ W, 1) for W in (Wq, Wk, Wv))
    mask = np.asarray(causal_mask(x.shape[1])) if causal else None
    heads, _ = scaled_dot_product_attention(q, k, v, mask=mask)
    return merge_heads(np.asarray(heads)) @ Wo
""",
        {"test_multi_head_attention": "one_head"},
        nbgrader=True,
    ),
    WrongAnswer(
        "causal-flag-ignored",
        "05_multi_head",
        "multi_head_attention",
        """def multi_head_attention(x, Wq, Wk, Wv, Wo, num_heads, causal=False):
    q, k, v = (split_heads(x @ W, num_heads) for W in (Wq, Wk, Wv))
    heads, _ = scaled_dot_product_attention(q, k, v)
    return merge_heads(np.asarray(heads)) @ Wo
""",
        {"test_multi_head_attention": "attends_future"},
    ),
    WrongAnswer(
        "heads-take-every-h-th-channel",
        "05_multi_head",
        "split_heads",
        """def split_heads(x, num_heads):
    B, T, C = x.shape
    return x.reshape(B, T, C // num_heads, num_heads).transpose(0, 3, 1, 2)
""",
        {
            "test_split_heads": "strided_heads",
            "test_multi_head_attention": "differs",
        },
    ),
    WrongAnswer(
        "merge-by-reshape-only",
        "05_multi_head",
        "merge_heads",
        """def merge_heads(x):
    B, H, T, D = x.shape
    return x.reshape(B, T, H * D)
""",
        {
            "test_merge_heads": "merge_not_inverse",
            "test_multi_head_attention": "differs",
        },
    ),
    # -------------------------------------------------------- 06 beam search
    WrongAnswer(
        "greedy-without-the-prompt",
        "06_beam_search",
        "greedy_decode",
        """def greedy_decode(next_log_probs, prompt, max_new_tokens):
    sequence, new = list(prompt), []
    for _ in range(max_new_tokens):
        token = int(np.argmax(next_log_probs(sequence)))
        sequence.append(token)
        new.append(token)
    return new
""",
        {"test_greedy_decode": "no_prompt"},
    ),
    WrongAnswer(
        "score-as-a-probability",
        "06_beam_search",
        "beam_search",
        """def beam_search(next_log_probs, prompt, beam_width, max_new_tokens):
    beams = [(list(prompt), 0.0)]
    for _ in range(max_new_tokens):
        candidates = []
        for sequence, score in beams:
            log_probs = next_log_probs(sequence)
            for token in np.flatnonzero(np.isfinite(log_probs)):
                candidates.append((sequence + [int(token)], score + log_probs[token]))
        candidates.sort(key=lambda candidate: -candidate[1])
        beams = candidates[:beam_width]
    return beams[0][0], float(np.exp(beams[0][1]))
""",
        {"test_beam_search": "wrong_score"},
    ),
    WrongAnswer(
        "beams-all-copies",
        "06_beam_search",
        "beam_search",
        """def beam_search(next_log_probs, prompt, beam_width, max_new_tokens):
    beams = [(list(prompt), 0.0)] * beam_width
    for _ in range(max_new_tokens):
        candidates = []
        for sequence, score in beams:
            log_probs = next_log_probs(sequence)
            for token in np.flatnonzero(np.isfinite(log_probs)):
                candidates.append((sequence + [int(token)], score + log_probs[token]))
        candidates.sort(key=lambda candidate: -candidate[1])
        beams = candidates[:beam_width]
    return beams[0]
""",
        {"test_beam_search": "beam_is_greedy"},
        nbgrader=True,
    ),
    WrongAnswer(
        "each-beam-extended-greedily",
        "06_beam_search",
        "beam_search",
        """def beam_search(next_log_probs, prompt, beam_width, max_new_tokens):
    beams = [(list(prompt), 0.0)]
    for _ in range(max_new_tokens):
        extended = []
        for sequence, score in beams:
            log_probs = next_log_probs(sequence)
            token = int(np.argmax(log_probs))
            extended.append((sequence + [token], score + log_probs[token]))
        beams = extended
    return beams[0]
""",
        {"test_beam_search": "beam_is_greedy"},
    ),
    WrongAnswer(
        "greedy-reads-only-the-prompt",
        "06_beam_search",
        "greedy_decode",
        """def greedy_decode(next_log_probs, prompt, max_new_tokens):
    sequence = list(prompt)
    for _ in range(max_new_tokens):
        sequence.append(int(np.argmax(next_log_probs(prompt))))
    return sequence
""",
        {"test_greedy_decode": "not_greedy"},
    ),
    WrongAnswer(
        "greedy-takes-the-smallest",
        "06_beam_search",
        "greedy_decode",
        """def greedy_decode(next_log_probs, prompt, max_new_tokens):
    sequence = list(prompt)
    for _ in range(max_new_tokens):
        sequence.append(int(np.argmin(next_log_probs(sequence))))
    return sequence
""",
        {"test_greedy_decode": "reserved_token"},
    ),
    WrongAnswer(
        "greedy-one-token-too-many",
        "06_beam_search",
        "greedy_decode",
        """def greedy_decode(next_log_probs, prompt, max_new_tokens):
    sequence = list(prompt)
    for _ in range(max_new_tokens + 1):
        sequence.append(int(np.argmax(next_log_probs(sequence))))
    return sequence
""",
        {"test_greedy_decode": "wrong_length"},
    ),
    WrongAnswer(
        "beams-never-pruned",
        "06_beam_search",
        "beam_search",
        """def beam_search(next_log_probs, prompt, beam_width, max_new_tokens):
    beams = [(list(prompt), 0.0)]
    for _ in range(max_new_tokens):
        candidates = []
        for sequence, score in beams:
            log_probs = next_log_probs(sequence)
            for token in np.flatnonzero(np.isfinite(log_probs)):
                candidates.append((sequence + [int(token)], score + log_probs[token]))
        beams = candidates
    return max(beams, key=lambda beam: beam[1])
""",
        {"test_beam_search": "beam_better"},
    ),
    WrongAnswer(
        "worst-beam-returned",
        "06_beam_search",
        "beam_search",
        """def beam_search(next_log_probs, prompt, beam_width, max_new_tokens):
    beams = [(list(prompt), 0.0)]
    for _ in range(max_new_tokens):
        candidates = []
        for sequence, score in beams:
            log_probs = next_log_probs(sequence)
            for token in np.flatnonzero(np.isfinite(log_probs)):
                candidates.append((sequence + [int(token)], score + log_probs[token]))
        candidates.sort(key=lambda candidate: -candidate[1])
        beams = candidates[:beam_width]
    return beams[-1]
""",
        {"test_beam_search": "beam_worse"},
    ),
    # ------------------------------------------------------- 07 BERT masking
    WrongAnswer(
        "every-token-masked",
        "07_bert_masking",
        "mask_tokens",
        _bert_masking(
            REAL_CHOSEN,
            to_mask="to_mask = (ids >= FIRST_REAL_ID) & (action < mask_fraction)",
            to_random=(
                "to_random = (ids >= FIRST_REAL_ID) & ~to_mask "
                "& (action < mask_fraction + random_fraction)"
            ),
        ),
        {"test_mask_tokens": "every_token"},
        nbgrader=True,
    ),
    WrongAnswer(
        "every-token-a-target",
        "07_bert_masking",
        "mask_tokens",
        _bert_masking(REAL_CHOSEN, targets="targets = ids"),
        {"test_mask_tokens": "all_targets"},
    ),
    WrongAnswer(
        "chosen-with-the-inequality-flipped",
        "07_bert_masking",
        "mask_tokens",
        _bert_masking("(rng.random(ids.shape) > rate) & (ids >= FIRST_REAL_ID)"),
        {"test_mask_tokens": "rate"},
    ),
    WrongAnswer(
        "padding-chosen",
        "07_bert_masking",
        "mask_tokens",
        _bert_masking("rng.random(ids.shape) < rate"),
        {"test_mask_tokens": "padding_chosen"},
    ),
    WrongAnswer(
        "all-chosen-become-mask",
        "07_bert_masking",
        "mask_tokens",
        _bert_masking(REAL_CHOSEN, inputs="inputs = np.where(chosen, MASK_ID, ids)"),
        {"test_mask_tokens": "all_mask"},
    ),
    WrongAnswer(
        "mask-80-random-20",
        "07_bert_masking",
        "mask_tokens",
        _bert_masking(REAL_CHOSEN, to_random="to_random = chosen & ~to_mask"),
        {"test_mask_tokens": "split"},
    ),
    WrongAnswer(
        "random-ids-include-reserved",
        "07_bert_masking",
        "mask_tokens",
        _bert_masking(
            REAL_CHOSEN,
            random_ids="random_ids = rng.integers(0, vocab_size, ids.shape)",
        ),
        {"test_mask_tokens": "random_reserved"},
    ),
    WrongAnswer(
        "unseeded-random-numbers",
        "07_bert_masking",
        "mask_tokens",
        _bert_masking(REAL_CHOSEN, rng="rng = np.random.default_rng()"),
        {"test_mask_tokens": "not_seeded"},
    ),
    WrongAnswer(
        "targets-are-the-masked-inputs",
        "07_bert_masking",
        "mask_tokens",
        _bert_masking(
            REAL_CHOSEN, targets="targets = np.where(chosen, inputs, PAD_ID)"
        ),
        {"test_mask_tokens": "target_values"},
    ),
    WrongAnswer(
        "random-replacements-not-only-chosen",
        "07_bert_masking",
        "mask_tokens",
        _bert_masking(
            REAL_CHOSEN,
            to_random=(
                "to_random = (ids >= FIRST_REAL_ID) & ~to_mask "
                "& (action >= mask_fraction) "
                "& (action < mask_fraction + random_fraction)"
            ),
        ),
        {"test_mask_tokens": "unchosen_changed"},
    ),
]
NBGRADER_WRONG_ANSWERS = [w for w in WRONG_ANSWERS if w.nbgrader]


def notebook(name: str) -> nbformat.NotebookNode:
    return nbformat.read(SOURCE / name / f"{name}.ipynb", as_version=4)


def meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def cells_of(nb, kind: str) -> list:
    """The code cells that are solutions ("solution") or tests ("grade")."""
    return [c for c in nb.cells if c.cell_type == "code" and meta(c).get(kind)]


def strip_markers(source: str) -> str:
    """A solution cell as a student who got it right hands it in."""
    return "\n".join(
        line
        for line in source.splitlines()
        if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
    )


# ------------------------------------------------------------------ fast tier


def test_there_are_seven_assignments():
    assert sorted(SECTIONS) == ASSIGNMENTS, ASSIGNMENTS


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_pair_in_sync_and_clean(name):
    ipynb = SOURCE / name / f"{name}.ipynb"
    paired = ipynb.with_suffix(".py")
    assert paired.exists(), f"{ipynb.name} has no jupytext pair {paired.name}"
    nb = nbformat.read(ipynb, as_version=4)
    py = jupytext.read(paired)
    assert [c.source.strip() for c in nb.cells] == [c.source.strip() for c in py.cells]
    assert [meta(c) for c in nb.cells] == [meta(c) for c in py.cells], (
        "the nbgrader metadata of the .py and the .ipynb differ"
    )
    raw = json.loads(ipynb.read_text(encoding="utf-8"))
    for cell in raw["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, (
                f"{ipynb.name} is committed with outputs"
            )


def test_jupytext_sync_keeps_the_nbgrader_metadata(tmp_path):
    """`jupytext --sync` under assignments/'s jupytext.toml keeps "nbgrader"."""
    folder = tmp_path / "assignments"
    shutil.copytree(SOURCE / "04_attention", folder / "source" / "04_attention")
    shutil.copy(COURSE / "jupytext.toml", folder / "jupytext.toml")
    py = folder / "source" / "04_attention" / "04_attention.py"
    py.write_text(py.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # newer
    subprocess.run(
        [sys.executable, "-m", "jupytext", "--sync", str(py)],
        check=True,
        capture_output=True,
    )
    synced = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    assert [meta(c) for c in synced.cells] == [
        meta(c) for c in notebook("04_attention").cells
    ]
    assert all(meta(c) for c in synced.cells)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_nbgrader_metadata_is_valid(name):
    pytest.importorskip("nbgrader")
    from nbgrader.nbgraderformat import MetadataValidator

    nb = notebook(name)
    MetadataValidator().validate_nb(nb)  # raises on anything nbgrader rejects
    ids = [meta(c).get("grade_id") for c in nb.cells]
    assert all(ids), "every cell has nbgrader metadata (locked, solution or test)"
    assert len(ids) == len(set(ids)), f"grade ids are not unique: {ids}"
    for cell in nb.cells:
        m = meta(cell)
        assert set(m) >= CELL_KEYS and m["schema_version"] == 3, m
        assert m["locked"] != m["solution"], f"{m['grade_id']}: locked or a solution"
        if m["solution"]:
            assert "### BEGIN SOLUTION" in cell.source, m["grade_id"]
            assert "### END SOLUTION" in cell.source, m["grade_id"]
        if m["grade"]:
            assert m["points"] > 0 and cell.cell_type == "code", m["grade_id"]
            assert "classroom.check_" in cell.source, m["grade_id"]
            assert "### BEGIN HIDDEN TESTS" in cell.source, m["grade_id"]
    solutions, tests = cells_of(nb, "solution"), cells_of(nb, "grade")
    assert solutions and len(tests) == len(solutions)
    assert [f"test_{meta(c)['grade_id']}" for c in solutions] == [
        meta(c)["grade_id"] for c in tests
    ], "each solution cell is followed by its test cell, test_<its grade_id>"
    assert nb.metadata.kernelspec.name == "python3"


def measure_script():
    """assignments/measure.py, imported."""
    sys.path.insert(0, str(COURSE))
    try:
        import measure
    finally:
        sys.path.remove(str(COURSE))
    return measure


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_quotes_its_chinese_section_heading_and_names_its_notebook(name):
    document, heading = SECTIONS[name]
    intro = notebook(name).cells[0].source
    assert f"document {document}, section **{heading}**" in intro, intro[:400]
    followed = re.findall(r"`notebooks/(\d\d_\w+)`", intro)
    assert followed, f"{name} does not say which notebook it follows"
    for stem in followed:
        assert (ROOT / "notebooks" / f"{stem}.py").exists(), stem
    described = measure_script().describe(name)
    assert (described["document"], described["section"]) == (document, heading)
    source = (ROOT / f"{described['follows']}.py").read_text(encoding="utf-8")
    headings = re.findall(r"^# #+ (.+)$", source, flags=re.M)
    assert described["headings"], f"{name} names no section of its notebook"
    for followed_heading in described["headings"]:
        assert followed_heading in headings, (followed_heading, headings)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_heading_is_a_heading_of_its_document(name, seeds_dir):
    document, heading = SECTIONS[name]
    (path,) = sorted(seeds_dir.glob(f"{document}_*.txt"))
    headings = [
        line.lstrip("#").strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    ]
    assert heading in headings, headings


def test_nbgrader_config_keeps_the_solution_files_and_slow_cells_in_mind():
    """The jupytext halves hold the solutions: nbgrader must not copy them."""
    text = (COURSE / "nbgrader_config.py").read_text(encoding="utf-8")
    assert re.search(r"CourseDirectory\.ignore = \[[^\]]*\"\*\.py\"", text), text
    assert "c.Execute.timeout" in text


def _test_results(nb, replace: dict, capfd) -> tuple[dict, str]:
    """Run a notebook's cells in this process, as its kernel would.

    Returns grade_id of each test cell -> None (passed) or the `CheckError`
    it raised, and what the test cells wrote to stderr (nbgrader gives zero
    points to a graded cell that writes there).
    """
    namespace = {"__name__": "__assignment__"}
    for cell in nb.cells:
        if cell.cell_type == "code" and not meta(cell)["grade"]:
            source = replace.get(meta(cell)["grade_id"], cell.source)
            exec(compile(source, "<cell>", "exec"), namespace)  # noqa: S102
    capfd.readouterr()  # the set-up cells' output (TensorFlow's start-up lines)
    results = {}
    for cell in cells_of(nb, "grade"):
        try:
            exec(compile(cell.source, "<test>", "exec"), namespace)  # noqa: S102
            results[meta(cell)["grade_id"]] = None
        except classroom.CheckError as error:
            results[meta(cell)["grade_id"]] = error
    return results, capfd.readouterr().err


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solutions_pass_every_check_in_process_writing_no_stderr(name, capfd):
    results, stderr = _test_results(notebook(name), {}, capfd)
    failed = {k: str(v) for k, v in results.items() if v is not None}
    assert not failed, failed
    assert stderr == "", stderr


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_blank_answers_say_they_are_not_written(name, capfd):
    nb = notebook(name)
    blank = {
        meta(c)["grade_id"]: re.sub(
            r"( *)### BEGIN SOLUTION.*?### END SOLUTION",
            r"\1raise NotImplementedError()",
            c.source,
            flags=re.S,
        )
        for c in cells_of(nb, "solution")
    }
    results, _ = _test_results(nb, blank, capfd)
    assert all(e is not None and e.code == "not_written" for e in results.values())


def names_the_mistake(text: str, code: str) -> bool:
    """Whether ``text`` holds the message of mistake ``code`` in both languages."""
    english, chinese = classroom.MESSAGES[code]
    return english in text and chinese in text


@pytest.mark.parametrize("wrong", WRONG_ANSWERS, ids=lambda w: w.name)
def test_wrong_answer_gets_the_message_naming_its_mistake(wrong, capfd):
    replace = {wrong.cell: wrong.source}
    results, stderr = _test_results(notebook(wrong.assignment), replace, capfd)
    codes = {k: v.code for k, v in results.items() if v is not None}
    assert codes == wrong.fails, {k: str(v) for k, v in results.items() if v}
    for grade_id, code in wrong.fails.items():
        assert names_the_mistake(str(results[grade_id]), code), str(results[grade_id])
    assert stderr == "", stderr


def test_every_mistake_has_a_wrong_answer_that_gets_its_message():
    """No message is dead code: some wrong answer (or a blank cell) gets each."""
    named = {code for wrong in WRONG_ANSWERS for code in wrong.fails.values()}
    assert set(classroom.MESSAGES) - named == {"not_written"}


def test_the_wrong_answers_handed_to_nbgrader_cover_the_issue_and_every_assignment():
    mistakes = {
        ("04_attention", "inverted_mask"),
        ("04_attention", "no_scale"),
        ("04_attention", "wrong_axis"),
        ("03_perplexity", "padding_counted"),
        ("02_rnn_cell", "state_dropped"),
        ("07_bert_masking", "every_token"),
    }
    handed_in = {
        (wrong.assignment, code)
        for wrong in NBGRADER_WRONG_ANSWERS
        for code in wrong.fails.values()
    }
    assert mistakes <= handed_in
    assert {wrong.assignment for wrong in NBGRADER_WRONG_ANSWERS} == set(ASSIGNMENTS)
    assert len({wrong.name for wrong in WRONG_ANSWERS}) == len(WRONG_ANSWERS)


def _solution(name: str, function: str):
    """One solution function of an assignment, defined as its notebook does."""
    namespace = {"__name__": "__assignment__"}
    for cell in notebook(name).cells:
        if cell.cell_type == "code" and not meta(cell)["grade"]:
            exec(compile(cell.source, "<cell>", "exec"), namespace)  # noqa: S102
    return namespace[function]


def test_random_checks_pass_other_correct_answers_on_many_seeds(capsys):
    """The checks that compare random shares or search results do not fail a
    correct answer by chance: zoo's own masking and the notebooks' solutions
    pass on seeds the notebooks do not use."""
    from zoo.data.pipeline import mask_tokens as zoo_mask_tokens

    solution = _solution("07_bert_masking", "mask_tokens")
    for seed in range(10, 30):
        for vocab_size in (12, 300):
            classroom.check_mask_tokens(
                zoo_mask_tokens, seed=seed, vocab_size=vocab_size
            )
            classroom.check_mask_tokens(solution, seed=seed, vocab_size=vocab_size)
    beam_search = _solution("06_beam_search", "beam_search")
    greedy = _solution("06_beam_search", "greedy_decode")
    for seed in range(10, 16):
        classroom.check_beam_search(beam_search, seed=seed, beam_width=2 + seed % 3)
        classroom.check_greedy(greedy, seed=seed)
    assert capsys.readouterr().out.count("✓") == 2 * 20 * 2 + 2 * 6


def test_the_examples_in_zoo_classroom_run():
    result = doctest.testmod(classroom, optionflags=doctest.ELLIPSIS)
    assert result.attempted and not result.failed, result


def test_every_message_is_english_then_chinese():
    for code, (english, chinese) in classroom.MESSAGES.items():
        assert not re.search(r"[\u4e00-\u9fff]", english), code
        assert english.endswith("."), code
        assert re.search(r"[\u4e00-\u9fff]", chinese), code
    error = classroom.CheckError("attention", "no_scale", "with a mask")
    first, second = str(error).splitlines()
    assert first.startswith("attention is missing the 1/sqrt(d_k)")
    assert second.startswith("attention 缺少")


# ---------------------------------------------------------- timings and guides


@pytest.mark.parametrize("guide", ["README.md", "README.zh-CN.md"])
def test_the_guides_example_is_what_the_check_says(guide, capfd):
    """The message the guides quote is the one the inverted mask really gets."""
    text = (COURSE / guide).read_text(encoding="utf-8")
    quoted = re.search(
        r"<!-- example: inverted mask -->\n```text\n(.*?)\n```", text, re.S
    )
    assert quoted, f"{guide} has no example message"
    (wrong,) = [w for w in WRONG_ANSWERS if w.name == "inverted-causal-mask"]
    results, _ = _test_results(
        notebook(wrong.assignment), {wrong.cell: wrong.source}, capfd
    )
    assert quoted.group(1) == str(results["test_causal_mask"])


@pytest.mark.parametrize("guide", ["README.md", "README.zh-CN.md"])
def test_the_guides_give_the_commands_the_slow_tier_runs(guide):
    text = (COURSE / guide).read_text(encoding="utf-8")
    for step, command in GUIDE_STEPS.items():
        assert command in text, (step, command)
    for name in ASSIGNMENTS:
        assert f"source/{name}/{name}.py" in text, name


def test_timings_cover_every_assignment_and_the_guides_show_them():
    measure = measure_script()
    timings = json.loads((COURSE / "timings.json").read_text(encoding="utf-8"))
    assert sorted(timings["assignments"]) == ASSIGNMENTS
    for name, entry in timings["assignments"].items():
        # Each assignment stays well under the 15 minutes of CPU it may take.
        assert 0 < entry["cpu_s"] < 15 * 60 and 0 < entry["wall_s"] < 15 * 60, name
        described = measure.describe(name)
        assert {k: entry[k] for k in described} == described, (
            f"{name}'s first cell changed since measure.py ran: rerun it"
        )
    for guide, language in (("README.md", "en"), ("README.zh-CN.md", "zh")):
        text = (COURSE / guide).read_text(encoding="utf-8")
        assert measure.table(timings, language) in text, f"{guide}: rerun measure.py"


def test_measure_checks_both_guides_before_writing_either(tmp_path, monkeypatch):
    measure = measure_script()
    timings = json.loads((COURSE / "timings.json").read_text(encoding="utf-8"))
    good, bad = tmp_path / "README.md", tmp_path / "README.zh-CN.md"
    good.write_text(f"intro\n{measure.START}\nold\n{measure.END}\nend\n", "utf-8")
    bad.write_text("a guide without the markers\n", encoding="utf-8")
    monkeypatch.setattr(measure, "GUIDES", {"en": good, "zh": bad})
    with pytest.raises(SystemExit, match="README.zh-CN.md has no timings markers"):
        measure.guides_with(timings)
    bad.write_text(good.read_text(encoding="utf-8"), encoding="utf-8")
    texts = measure.guides_with(timings)
    assert texts[good].startswith("intro\n") and texts[good].endswith("\nend\n")
    assert measure.table(timings, "en") in texts[good]
    assert measure.table(timings, "zh") in texts[bad]
    with pytest.raises(SystemExit, match="no such assignment"):
        measure.main(["99_nope"])


# ------------------------------------------------------------------ slow tier


def _env(**extra) -> dict:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "TF_CPP_MIN_LOG_LEVEL": "1",
        **extra,
    }


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run nbgrader (of this interpreter) in the course folder; fail loudly."""
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert done.returncode == 0, f"nbgrader {' '.join(args)}:\n{done.stderr[-4000:]}"
    return done


def guide_step(folder: Path, step: str, exchange: Path) -> None:
    """Run one command of the guides (`GUIDE_STEPS`) as written, in a shell."""
    bin_dir = Path(sys.executable).parent  # the nbgrader of this interpreter
    done = subprocess.run(
        ["bash", "-c", GUIDE_STEPS[step]],
        cwd=folder,
        env=_env(
            EXCHANGE=str(exchange), PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
        ),
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert done.returncode == 0, f"{GUIDE_STEPS[step]}:\n{done.stderr[-4000:]}"


def submit(course: Path, student: str, name: str, nb) -> None:
    """Put a submission in ``submitted/`` as ``nbgrader collect`` would."""
    folder = course / "submitted" / student / name
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{name}.ipynb")
    now = datetime.datetime.now(datetime.timezone.utc)
    (folder / "timestamp.txt").write_text(f"{now:%Y-%m-%d %H:%M:%S.%f} UTC")


def answered(name: str, release, replace: dict | None = None):
    """The released notebook with the instructor's answers typed in (and the
    cells in ``replace``, grade_id -> source, typed in instead)."""
    answers = {
        meta(c)["grade_id"]: strip_markers(c.source)
        for c in cells_of(notebook(name), "solution")
    }
    answers.update(replace or {})
    student = nbformat.from_dict(json.loads(nbformat.writes(release)))
    for cell in cells_of(student, "solution"):
        cell.source = answers[meta(cell)["grade_id"]]
    return student


@pytest.fixture(scope="module")
def student_home(tmp_path_factory):
    """The folder a student fetches into and submits from."""
    return tmp_path_factory.mktemp("student")


@pytest.fixture(scope="module")
def course(tmp_path_factory, student_home):
    """A course from a copy of assignments/, released and autograded.

    First one student (named as this machine's user, as ``nbgrader submit``
    names them) goes through the exchange with the guides' own commands:
    fetches 04_attention, types in the right answers and submits; the teacher
    collects, autogrades and releases the feedback, which the student
    fetches. Then the other submissions are put in ``submitted/`` directly,
    as ``nbgrader collect`` lays them out, and autograded together: the
    instructor's notebooks, the released ones left blank, and each wrong
    answer of `NBGRADER_WRONG_ANSWERS` on top of otherwise right answers.
    """
    pytest.importorskip("nbgrader")
    course = tmp_path_factory.mktemp("course")
    home = student_home
    exchange = tmp_path_factory.mktemp("exchange")
    shutil.copytree(COURSE, course, dirs_exist_ok=True)
    guide_step(course, "generate", exchange)
    guide_step(course, "release", exchange)
    guide_step(home, "fetch", exchange)
    fetched = home / EXCHANGED / f"{EXCHANGED}.ipynb"
    nbformat.write(answered(EXCHANGED, nbformat.read(fetched, 4)), fetched)
    guide_step(home, "submit", exchange)
    guide_step(course, "collect", exchange)
    guide_step(course, "autograde", exchange)
    guide_step(course, "feedback", exchange)
    guide_step(course, "release_feedback", exchange)
    guide_step(home, "fetch_feedback", exchange)

    for name in ASSIGNMENTS:
        release = nbformat.read(course / "release" / name / f"{name}.ipynb", 4)
        submit(course, "instructor", name, notebook(name))
        submit(course, "blank", name, release)
        for wrong in (w for w in NBGRADER_WRONG_ANSWERS if w.assignment == name):
            answers = answered(name, release, {wrong.cell: wrong.source})
            submit(course, wrong.name, name, answers)
    nbgrader(course, "autograde", "*")
    nbgrader(course, "generate_feedback", "*", "--student", "blank")
    guide_step(course, "export", exchange)
    return course


def grades(course: Path, name: str, student: str) -> dict:
    """grade_id -> (score, max score) of each test cell, from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {
            meta(c)["grade_id"]: (g.score, g.max_score)
            for c in cells_of(notebook(name), "grade")
            for g in [gb.find_grade(meta(c)["grade_id"], name, name, student)]
        }


def errors(course: Path, name: str, student: str) -> dict:
    """grade_id -> the error text of each test cell of the autograded notebook."""
    path = course / "autograded" / student / name / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    return {
        meta(c)["grade_id"]: "\n".join(
            o.evalue for o in c.outputs if o.output_type == "error"
        )
        for c in cells_of(nb, "grade")
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_nbgrader_release_has_no_solutions_and_no_hidden_tests(course, name):
    folder = course / "release" / name
    assert sorted(p.name for p in folder.iterdir()) == [f"{name}.ipynb"], (
        "only the notebook is released (its .py half holds the solutions)"
    )
    text = (folder / f"{name}.ipynb").read_text(encoding="utf-8")
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS"):
        assert marker not in text, marker
    released = nbformat.read(folder / f"{name}.ipynb", as_version=4)
    for cell in cells_of(released, "solution"):
        assert "raise NotImplementedError()" in cell.source
    for source_cell, cell in zip(
        cells_of(notebook(name), "grade"), cells_of(released, "grade"), strict=True
    ):
        hidden = source_cell.source.split("### BEGIN HIDDEN TESTS")[1]
        hidden = hidden.split("### END HIDDEN TESTS")[0].strip()
        assert hidden and hidden not in cell.source
        assert cell.source.strip().startswith("classroom.check_")


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_nbgrader_gives_the_instructors_solutions_full_marks(course, name):
    scores = grades(course, name, "instructor")
    assert all(score == top for score, top in scores.values()), (
        scores,
        errors(course, name, "instructor"),
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_nbgrader_gives_blank_notebooks_zero_with_the_checks_messages(course, name):
    scores = grades(course, name, "blank")
    assert all(score == 0 for score, _ in scores.values()), scores
    for grade_id, error in errors(course, name, "blank").items():
        assert names_the_mistake(error, "not_written"), (grade_id, error)
    feedback = course / "feedback" / "blank" / name / f"{name}.html"
    page = feedback.read_text(encoding="utf-8")
    for text in classroom.MESSAGES["not_written"]:
        assert page.count(html.escape(text, quote=False)) >= len(scores), text


@pytest.mark.slow
def test_nbgrader_exchange_round_trip_gives_right_answers_full_marks(
    course, student_home
):
    """The guides' commands: release, fetch, submit, collect, autograde,
    feedback back to the student, and the grades exported."""
    student = getpass.getuser()
    scores = grades(course, EXCHANGED, student)
    assert scores and all(score == top for score, top in scores.values()), (
        scores,
        errors(course, EXCHANGED, student),
    )
    feedback = sorted((student_home / EXCHANGED / "feedback").glob("*/*.html"))
    assert [p.name for p in feedback] == [f"{EXCHANGED}.html"]
    with open(course / "grades.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    # One row per student and assignment (zero where nothing was handed in).
    (row,) = [
        r for r in rows if (r["student_id"], r["assignment"]) == (student, EXCHANGED)
    ]
    assert float(row["score"]) == float(row["max_score"]) > 0


@pytest.mark.slow
@pytest.mark.parametrize("wrong", NBGRADER_WRONG_ANSWERS, ids=lambda w: w.name)
def test_nbgrader_wrong_answer_loses_its_points_with_its_message(course, wrong):
    scores = grades(course, wrong.assignment, wrong.name)
    texts = errors(course, wrong.assignment, wrong.name)
    for grade_id, (score, top) in scores.items():
        if grade_id in wrong.fails:
            assert score == 0, (grade_id, score)
            assert names_the_mistake(texts[grade_id], wrong.fails[grade_id]), texts
        else:
            assert score == top, (grade_id, texts[grade_id])
