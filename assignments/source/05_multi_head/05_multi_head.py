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
# # Assignment 5 · Multi-head attention (多头注意力)
#
# **Source:** document 001, section **3. 核心算法原理具体操作步骤**:
#
# > 3. **多头自注意力**：计算输入的每个位置与所有其他位置之间的关系，并生成权重矩阵。
# >    然后对权重矩阵进行线性组合，得到多头注意力输出。
#
# **Follows:** `notebooks/05_attention` ("Multi-head attention"). The
# attention formula itself is assignment 4; here it is given, as zoo's
# `scaled_dot_product_attention`, and you build the heads around it.
#
# **How to work / 怎么做:** write your code where it says `# YOUR CODE HERE`,
# then run the check cell under it. Each check compares your function with
# zoo's `MultiHeadAttention` layer (its weights set to yours) and names the
# first thing that is wrong, in English and Chinese. Hidden tests run the same
# checks on other inputs when graded. 在 `# YOUR CODE HERE` 处写代码，然后运行
# 下面的检查单元。
#
# Shapes: B batch, T time, C model width, H heads, D = C / H the head size.
# Use NumPy.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np

from zoo import classroom
from zoo.layers.attention import scaled_dot_product_attention
from zoo.layers.masks import causal_mask

# TensorFlow's start-up lines go here, not into a graded cell (see the guide).
print("TensorFlow", classroom.load_tensorflow())

q = np.random.default_rng(0).normal(size=(2, 4, 3, 5))  # (B, H, T, D)
out, weights = scaled_dot_product_attention(q, q, q, mask=np.asarray(causal_mask(3)))
print("output", tuple(out.shape), "weights", tuple(weights.shape))  # every head

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_split", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. Splitting into heads (2 points)
#
# Each of the H heads looks at its own D = C / H channels of every token:
# head $h$ gets channels $hD, \dots, hD + D - 1$. Attention then runs over
# time within each head, so the heads must come before time: (B, H, T, D).
#
# Write `split_heads(x, num_heads)`: (B, T, C) -> (B, H, T, D). (`reshape`
# can only cut the last axis into (H, D); then move the axes with
# `transpose`.)


# %% nbgrader={"grade": false, "grade_id": "split_heads", "locked": false, "schema_version": 3, "solution": true, "task": false}
def split_heads(x, num_heads):
    """(B, T, C) -> (B, H, T, D): head h holds channels h*D .. h*D + D - 1."""
    ### BEGIN SOLUTION
    B, T, C = x.shape
    return x.reshape(B, T, num_heads, C // num_heads).transpose(0, 2, 1, 3)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_split_heads", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
classroom.check_split_heads(split_heads)
### BEGIN HIDDEN TESTS
classroom.check_split_heads(split_heads, seed=1, num_heads=4)
classroom.check_split_heads(split_heads, seed=2, num_heads=1)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_merge", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. Merging the heads (1 point)
#
# Write `merge_heads(x)`: (B, H, T, D) -> (B, T, C), the inverse of
# `split_heads`: the heads' outputs side by side again for every token.


# %% nbgrader={"grade": false, "grade_id": "merge_heads", "locked": false, "schema_version": 3, "solution": true, "task": false}
def merge_heads(x):
    """(B, H, T, D) -> (B, T, H * D), the inverse of split_heads."""
    ### BEGIN SOLUTION
    B, H, T, D = x.shape
    return x.transpose(0, 2, 1, 3).reshape(B, T, H * D)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_merge_heads", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
classroom.check_merge_heads(merge_heads)
### BEGIN HIDDEN TESTS
classroom.check_merge_heads(merge_heads, seed=3, num_heads=4)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_mha", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3. Multi-head self-attention (4 points)
#
# $$\text{head}_h = \text{Attention}(x W^Q_h,\ x W^K_h,\ x W^V_h), \qquad
#   \text{output} = \text{concat}(\text{head}_1, \dots, \text{head}_H)\, W^O$$
#
# Write `multi_head_attention(x, Wq, Wk, Wv, Wo, num_heads, causal=False)`
# for `x` (B, T, C) and four (C, C) matrices (no biases):
#
# 1. project: `x @ Wq`, `x @ Wk`, `x @ Wv`, each (B, T, C);
# 2. split each into heads with your `split_heads`;
# 3. attend with `scaled_dot_product_attention(q, k, v, mask=...)`, which
#    works on (B, H, T, D) and returns `(output, weights)`; with
#    `causal=True` pass `mask=np.asarray(causal_mask(T))`;
# 4. merge the heads with `merge_heads` (use `np.asarray` on zoo's output)
#    and apply the output projection `Wo`.
#
# It returns (B, T, C).


# %% nbgrader={"grade": false, "grade_id": "multi_head_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
def multi_head_attention(x, Wq, Wk, Wv, Wo, num_heads, causal=False):
    """H heads of self-attention over x (B, T, C), then W_o: (B, T, C)."""
    ### BEGIN SOLUTION
    q, k, v = (split_heads(x @ W, num_heads) for W in (Wq, Wk, Wv))  # (B, H, T, D)
    mask = np.asarray(causal_mask(x.shape[1])) if causal else None
    heads, _ = scaled_dot_product_attention(q, k, v, mask=mask)  # (B, H, T, D)
    return merge_heads(np.asarray(heads)) @ Wo  # (B, T, C)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_multi_head_attention", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
classroom.check_multi_head_attention(multi_head_attention)
### BEGIN HIDDEN TESTS
classroom.check_multi_head_attention(multi_head_attention, seed=4, num_heads=4)
classroom.check_multi_head_attention(multi_head_attention, seed=5, num_heads=8)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Summary
#
# * Heads cut each token's channels, not the sequence: reshape the last axis,
#   then move the heads before time.
# * Every head attends on its own; the output projection mixes them again.
# * With the weights laid out as (C, H, D), this is exactly zoo's (and
#   Keras's) `MultiHeadAttention`.
#
# Going further: `notebooks/05_attention` checks zoo's layer against
# `keras.layers.MultiHeadAttention` with copied weights.
