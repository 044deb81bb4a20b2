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
# # Assignment 1 · N-gram counts, maximum likelihood and Kneser-Ney (N-gram 计数、最大似然估计与 Kneser-Ney 平滑)
#
# **Source:** document 000, section **4.1 概率语言模型**:
#
# > 概率语言模型是一种基于概率论的语言模型，它可以计算给定条件下句子的概率。
# > 我们将以N-gram模型为例进行解释。N-gram模型假设一个句子的概率是由其前N-1个词
# > 组成的。我们可以使用最大似然估计来估计N-gram模型的参数。
#
# **Follows:** `notebooks/01_ngram` ("A bigram model from scratch", "Why
# maximum likelihood gives perplexity inf" and "Orders and smoothings,
# compared on held-out text"). Read it first; this assignment has you write
# the counting and the two estimates yourself.
#
# **How to work / 怎么做:** write your code where it says `# YOUR CODE HERE`,
# then run the check cell under it. Each check compares your function with
# zoo's `NGramLM` on random text and names the first thing that is wrong, in
# English and Chinese. When graded, hidden tests run the same checks on other
# inputs. 在 `# YOUR CODE HERE` 处写代码，然后运行下面的检查单元：它会把你的函数
# 和 zoo 的 `NGramLM` 对比，并指出第一个出错的地方。
#
# Token ids are integers; ids below `FIRST_REAL_ID` (5) are reserved
# (`PAD_ID` 0, `BOS_ID` 2, ...). The texts here are lists of real ids.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
from collections import Counter

import numpy as np

from zoo import classroom
from zoo.text import BOS_ID, FIRST_REAL_ID

text = classroom.random_text(seed=0, length=20)
print("a text of", len(text), "ids:", text)
print("BOS_ID =", BOS_ID, " FIRST_REAL_ID =", FIRST_REAL_ID)

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_counts", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. Counting n-grams (2 points)
#
# An n-gram model predicts each token from the $n-1$ tokens before it, so it
# counts, for every token of the text, the n-gram that **ends** at that
# token. The first tokens have fewer than $n-1$ tokens before them: put
# $n-1$ `BOS_ID` in front of the text, as zoo's `NGramLM` does. Then a text
# of $T$ tokens has exactly $T$ n-grams.
#
# Write `count_ngrams(ids, n)`: it returns a dict (a `Counter` is fine) from
# each n-gram, a tuple of $n$ ids, to how many times it occurs.
#
# Example: for `ids = [5, 6, 5]` and `n = 2` the bigrams are
# `(BOS, 5), (5, 6), (6, 5)`.


# %% nbgrader={"grade": false, "grade_id": "count_ngrams", "locked": false, "schema_version": 3, "solution": true, "task": false}
def count_ngrams(ids, n):
    """{n-gram tuple: count}, one n-gram ending at each token of ``ids``."""
    ### BEGIN SOLUTION
    padded = [BOS_ID] * (n - 1) + list(ids)
    return Counter(tuple(padded[i : i + n]) for i in range(len(ids)))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_count_ngrams", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
classroom.check_count_ngrams(count_ngrams, n=2)
### BEGIN HIDDEN TESTS
for seed in (1, 2):
    classroom.check_count_ngrams(count_ngrams, seed=seed, n=3)
classroom.check_count_ngrams(count_ngrams, seed=3, n=1)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_mle", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. Maximum likelihood (2 points)
#
# The maximum-likelihood estimate (最大似然估计) of the next token $w$ after a
# context $h$ of $n-1$ tokens is
#
# $$P_\text{MLE}(w \mid h) = \frac{\text{count}(h\,w)}{\text{count}(h\,\bullet)},$$
#
# where $\text{count}(h\,\bullet)$ is how often $h$ is followed by a token: the
# sum of the counts of all the n-grams that start with $h$.
#
# Write `mle_probs(ids, context, n, vocab_size)`: the array of shape
# `(vocab_size,)` of $P_\text{MLE}(w \mid \text{context})$ for every id $w$,
# the model counted on `ids`. `context` is a tuple of $n-1$ ids that occurs
# in the counts (it may contain `BOS_ID`). Use your `count_ngrams`.


# %% nbgrader={"grade": false, "grade_id": "mle_probs", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mle_probs(ids, context, n, vocab_size):
    """(vocab_size,) maximum-likelihood probabilities of the token after context."""
    ### BEGIN SOLUTION
    probs = np.zeros(vocab_size)
    for gram, count in count_ngrams(ids, n).items():
        if gram[:-1] == tuple(context):
            probs[gram[-1]] += count
    return probs / probs.sum()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_mle_probs", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
classroom.check_mle(mle_probs, n=2)
### BEGIN HIDDEN TESTS
classroom.check_mle(mle_probs, seed=4, n=3)
classroom.check_mle(mle_probs, seed=5, n=2)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_kneser_ney", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3. Kneser-Ney smoothing for bigrams (3 points)
#
# Maximum likelihood gives probability 0 to every bigram the text never had.
# Interpolated Kneser-Ney takes a discount $D$ (0.75 here) off every seen
# count and gives that mass to a lower-order distribution:
#
# $$P_\text{KN}(w \mid v) = \frac{\max(c(v\,w) - D,\ 0)}{c(v\,\bullet)}
#   + \lambda(v)\, P_\text{cont}(w), \qquad
#   \lambda(v) = \frac{D \cdot N_{1+}(v\,\bullet)}{c(v\,\bullet)}$$
#
# * $c(v\,w)$: the bigram counts of task 1 (the text starts after one `BOS_ID`);
# * $N_{1+}(v\,\bullet)$: how many **different** tokens follow $v$;
# * $P_\text{cont}(w) = N_{1+}(\bullet\,w) / N_{1+}(\bullet\,\bullet)$: how many
#   different tokens come **before** $w$, divided by the number of different
#   bigrams. A token that follows many different tokens is a likely guess in
#   a new context; one that only ever follows one token is not.
#
# Write `kneser_ney_probs(ids, previous, vocab_size, discount)`, the
# `(vocab_size,)` array of $P_\text{KN}(w \mid \text{previous})$ for a token
# `previous` that is followed by something in the text. zoo's reference is
# `NGramLM(order=2, smoothing="kneser_ney_single", uniform_floor=False)`.


# %% nbgrader={"grade": false, "grade_id": "kneser_ney_probs", "locked": false, "schema_version": 3, "solution": true, "task": false}
def kneser_ney_probs(ids, previous, vocab_size, discount=0.75):
    """(vocab_size,) interpolated Kneser-Ney probabilities after ``previous``."""
    ### BEGIN SOLUTION
    after = np.zeros(vocab_size)  # c(previous w)
    before = np.zeros(vocab_size)  # N1+(• w)
    for (v, w), count in count_ngrams(ids, 2).items():
        before[w] += 1
        if v == previous:
            after[w] += count
    total = after.sum()
    weight = discount * np.count_nonzero(after) / total  # lambda(previous)
    return np.maximum(after - discount, 0.0) / total + weight * before / before.sum()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_kneser_ney_probs", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
classroom.check_kneser_ney(kneser_ney_probs)
### BEGIN HIDDEN TESTS
classroom.check_kneser_ney(kneser_ney_probs, seed=6, discount=0.5)
classroom.check_kneser_ney(kneser_ney_probs, seed=7, discount=0.9)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Summary
#
# * One n-gram ends at every token; BOS padding makes the first tokens count.
# * Maximum likelihood divides by $\text{count}(h\,\bullet)$, so each row sums
#   to one, and every unseen n-gram gets probability zero.
# * Kneser-Ney discounts the seen counts and backs off to continuation counts.
#
# Going further: `notebooks/01_ngram` compares add-k, one-discount and
# modified Kneser-Ney on Shakespeare, and zoo's `NGramLM` does every order.
