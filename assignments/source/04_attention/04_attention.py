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
# # Assignment 4 · Scaled dot-product attention and the causal mask (缩放点积注意力与因果掩码)
#
# **Source:** document 001, section **4. 数学模型和公式详细讲解举例说明**:
#
# > 自注意力是一种计算输入序列中每个位置与所有其他位置之间关系的方法。其公式如下：
# >
# > $$Attention(Q, K, V) = \text{softmax}\left(\frac{QK^T}{\sqrt{d_k}}\right)V$$
# >
# > 其中，Q为查询向量，K为键向量，V为值向量，d\_k为键向量维度。
#
# **Follows:** `notebooks/05_attention` ("From the formula to code", "Why
# divide by $\sqrt{d_k}$?", "Masks: padding and causal").
#
# **How to work / 怎么做:** write your code where it says `# YOUR CODE HERE`,
# then run the check cell under it. Each check compares your function with
# zoo's `causal_mask` and `scaled_dot_product_attention` on random inputs and
# names the first thing that is wrong, in English and Chinese. Hidden tests
# run the same checks on other inputs when graded. 在 `# YOUR CODE HERE` 处
# 写代码，然后运行下面的检查单元。
#
# Masks follow Keras's convention: **True means "may attend"**. Shapes: B
# batch, T queries, S keys, D the query/key size ($d_k$), Dv the value size.
# Use NumPy.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np

from zoo import classroom

# TensorFlow's start-up lines go here, not into a graded cell (see the guide).
print("TensorFlow", classroom.load_tensorflow())


# %% [markdown] nbgrader={"grade": false, "grade_id": "task_mask", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. The causal mask (2 points)
#
# A language model predicts token $i+1$ from tokens $0 \dots i$, so when it
# reads token $i$ it must not look at the tokens after it. The causal mask
# says which key $j$ query $i$ may attend: entry $(i, j)$ is True when
# $j \le i$ (itself and the past), False for the future.
#
# Write `causal_mask(T)`: a boolean array of shape (T, T).


# %% nbgrader={"grade": false, "grade_id": "causal_mask", "locked": false, "schema_version": 3, "solution": true, "task": false}
def causal_mask(T):
    """(T, T) boolean, True where query i may attend key j (j <= i)."""
    ### BEGIN SOLUTION
    return np.tril(np.ones((T, T), dtype=bool))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_causal_mask", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
classroom.check_causal_mask(causal_mask)
### BEGIN HIDDEN TESTS
classroom.check_causal_mask(causal_mask, sizes=(2, 3, 16))
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_attention", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. Scaled dot-product attention (4 points)
#
# Write `attention(q, k, v, mask=None)` for `q` (B, T, D), `k` (B, S, D) and
# `v` (B, S, Dv). It returns `(output, weights)`:
#
# 1. the scores $Q K^T / \sqrt{d_k}$, shape (B, T, S): one row per query;
# 2. where `mask` (B, T, S) is False, a very negative score (say $-10^9$), so
#    that the key gets weight zero;
# 3. the weights, a softmax of each query's row over the **keys** (each row
#    sums to one; subtract the row's largest score before `np.exp`);
# 4. the output, the weights times V: shape (B, T, Dv).
#
# `np.swapaxes(k, -1, -2)` is $K^T$ for a batch.


# %% nbgrader={"grade": false, "grade_id": "attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
def attention(q, k, v, mask=None):
    """softmax(Q K^T / sqrt(d_k)) V: returns (output (B, T, Dv), weights (B, T, S))."""
    ### BEGIN SOLUTION
    d_k = q.shape[-1]
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(d_k)  # (B, T, S)
    if mask is not None:
        scores = np.where(mask, scores, -1e9)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=-1, keepdims=True)  # each row sums to 1
    return weights @ v, weights
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_attention", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
classroom.check_attention(attention)
### BEGIN HIDDEN TESTS
classroom.check_attention(attention, seed=1, T=6, S=2)
classroom.check_attention(attention, seed=2, T=4, S=4)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_causal", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3. Causal self-attention (2 points)
#
# In self-attention the queries, keys and values are the same sequence `x`
# (B, T, D). Put tasks 1 and 2 together: `causal_attention(x)` returns the
# output of attention of `x` on itself under the causal mask, (B, T, D).
# The check changes later tokens and looks whether earlier outputs move.


# %% nbgrader={"grade": false, "grade_id": "causal_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
def causal_attention(x):
    """Self-attention of x (B, T, D) on itself, each token seeing only the past."""
    ### BEGIN SOLUTION
    output, _ = attention(x, x, x, mask=causal_mask(x.shape[1]))
    return output
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_causal_attention", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
classroom.check_causal_attention(causal_attention)
### BEGIN HIDDEN TESTS
classroom.check_causal_attention(causal_attention, seed=3, T=9)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Summary
#
# * Dividing by $\sqrt{d_k}$ keeps the scores from growing with the size, so
#   the softmax does not saturate.
# * The softmax runs over the keys: each query's weights sum to one.
# * True means "may attend"; a flipped mask fails silently, attending only
#   to the future.
#
# Going further: `zoo.layers.attention.scaled_dot_product_attention` also
# handles heads, dropout and rows masked everywhere (they get zero weights,
# not NaN); see `notebooks/05_attention`.
