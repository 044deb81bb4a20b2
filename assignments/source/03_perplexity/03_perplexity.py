# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: nbgrader,-all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Assignment 3 · Perplexity from per-token losses, with padding (由逐词元损失计算困惑度（含填充）)
#
# **Source:** document 003, section **9. 附录：常见问题与解答**, question 3:
#
# > 3. **如何评估语言模型的性能？**
#
# The text asks the question and does not answer it. The usual answer is the
# **perplexity** on held-out text: the exponential of the mean loss per
# token,
#
# $$\text{PPL} = \exp\Bigl(\frac{1}{N}\sum_{i=1}^{N} -\log P(w_i \mid
#   \text{context}_i)\Bigr),$$
#
# where the sum runs over the $N$ real tokens of the whole set. A perplexity
# of 10 means the model is as unsure as if it picked among 10 equally likely
# tokens each time.
#
# **Follows:** `notebooks/03_lstm` ("Held-out perplexity"), which evaluates
# with `zoo.training.evaluate`.
#
# **How to work / 怎么做:** write your code where it says `# YOUR CODE HERE`,
# then run the check cell under it. Each check compares your function with
# zoo's loss and `zoo.training.Perplexity` on random logits and names the
# first thing that is wrong, in English and Chinese. Hidden tests run the same
# checks on other inputs when graded. 在 `# YOUR CODE HERE` 处写代码，然后运行
# 下面的检查单元。
#
# Batches are padded: sequences of different lengths are filled up with
# `PAD_ID` (0) to the same length T. A padded position is not a token.
# Shapes: B batch, T time, V vocabulary. Use NumPy.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np

from zoo import classroom
from zoo.text import PAD_ID

# TensorFlow's start-up lines go here, not into a graded cell (see the guide).
print("TensorFlow", classroom.load_tensorflow())

logits, targets = classroom.language_model_batch(seed=0)
print("logits", logits.shape, "(B, T, V); targets", targets.shape, "(B, T)")
print(targets)  # the zeros at the ends of the rows are padding

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_losses", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. The loss of every position (2 points)
#
# A model gives logits, one row of V numbers per position. The loss of a
# position is minus the log-probability of its target:
#
# $$\ell = -\log \text{softmax}(z)_y = -z_y + \log \sum_{v} e^{z_v}.$$
#
# Write `token_losses(logits, targets)`: (B, T, V) and (B, T) -> (B, T), a
# loss for every position (padding included, for now). Logits can be large:
# compute $\log \sum_v e^{z_v}$ as $m + \log \sum_v e^{z_v - m}$ with $m$ the
# row's largest logit, so nothing overflows. `np.take_along_axis` picks
# $z_y$.


# %% nbgrader={"grade": false, "grade_id": "token_losses", "locked": false, "schema_version": 3, "solution": true, "task": false}
def token_losses(logits, targets):
    """-log softmax(logits)[target] at every position: (B, T, V), (B, T) -> (B, T)."""
    ### BEGIN SOLUTION
    m = logits.max(axis=-1, keepdims=True)
    log_z = m[..., 0] + np.log(np.exp(logits - m).sum(axis=-1))  # (B, T)
    picked = np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
    return log_z - picked
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_token_losses", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
classroom.check_token_losses(token_losses)
### BEGIN HIDDEN TESTS
classroom.check_token_losses(token_losses, seed=1)
classroom.check_token_losses(token_losses, seed=2)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_perplexity", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. Perplexity of a padded batch (3 points)
#
# The losses of task 1 are numbers at the padded positions too, but those
# positions are not tokens: they must count neither in the sum nor in $N$.
#
# Write `perplexity(losses, targets, pad_id)`: the perplexity (a float) of
# the real tokens of one batch, the positions where `targets != pad_id`.


# %% nbgrader={"grade": false, "grade_id": "perplexity", "locked": false, "schema_version": 3, "solution": true, "task": false}
def perplexity(losses, targets, pad_id=PAD_ID):
    """exp(mean loss over the real tokens): (B, T), (B, T) -> float."""
    ### BEGIN SOLUTION
    real = targets != pad_id
    return float(np.exp(losses[real].sum() / real.sum()))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_perplexity", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
classroom.check_perplexity(perplexity)
### BEGIN HIDDEN TESTS
classroom.check_perplexity(perplexity, seed=3)
classroom.check_perplexity(perplexity, seed=4)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_corpus", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3. Perplexity of a whole evaluation set (2 points)
#
# An evaluation set comes in many batches, with more or less padding each.
# Its perplexity is still one exponential of one mean over all its real
# tokens, so every token weighs the same whichever batch it is in.
#
# Write `corpus_perplexity(batches, pad_id)`, where `batches` is a list of
# `(losses, targets)` pairs (each batch may have its own T).


# %% nbgrader={"grade": false, "grade_id": "corpus_perplexity", "locked": false, "schema_version": 3, "solution": true, "task": false}
def corpus_perplexity(batches, pad_id=PAD_ID):
    """The perplexity of all the real tokens of a list of (losses, targets)."""
    ### BEGIN SOLUTION
    total, count = 0.0, 0
    for losses, targets in batches:
        real = targets != pad_id
        total += losses[real].sum()
        count += real.sum()
    return float(np.exp(total / count))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_corpus_perplexity", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
classroom.check_corpus_perplexity(corpus_perplexity)
### BEGIN HIDDEN TESTS
classroom.check_corpus_perplexity(corpus_perplexity, seed=5)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Summary
#
# * The loss of a position is $-\log \text{softmax}(z)_y$, computed stably.
# * Padding is not a token: leave it out of the sum and out of the count.
# * The perplexity of a set is exp of the token-weighted mean loss over the
#   whole set, never a mean of per-batch or per-sequence perplexities.
#
# Going further: `zoo.training.Perplexity` and `zoo.training.evaluate` do
# this for a Keras model; `notebooks/03_lstm` reports it on held-out plays.
