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
# # Assignment 2 · The recurrent cell, from its equations (由公式实现循环神经网络单元)
#
# **Source:** document 002, section **数学模型和公式详细讲解举例说明**:
#
# > RNN的输入是词语的表示，输出是下一个词语的概率。RNN的核心公式是：
# >
# > $$h_{t} = f(Wx_{t} + UH_{t-1} + b)$$
# >
# > $$o_{t} = g(Vh_{t} + c)$$
# >
# > 其中，$h_{t}$是隐藏状态，$x_{t}$是输入词语的表示，$H_{t-1}$是前一个时间步的隐藏
# > 状态，$o_{t}$是输出词语的概率，$W，U,V$是权重矩阵，$b,c$是偏置。
#
# ($H_{t-1}$ is a typo for $h_{t-1}$: it is the same hidden state.)
#
# **Follows:** `notebooks/02_simple_rnn` ("The equations from scratch"). Here
# you write the equations yourself, with $f = \tanh$ and $g$ the softmax.
#
# **How to work / 怎么做:** write your code where it says `# YOUR CODE HERE`,
# then run the check cell under it. Each check compares your function with
# zoo's `ElmanCell` (run by `keras.layers.RNN`) on random inputs and names the
# first thing that is wrong, in English and Chinese. Hidden tests run the same
# checks on other inputs when graded. 在 `# YOUR CODE HERE` 处写代码，然后运行
# 下面的检查单元。
#
# Keras keeps vectors as **rows**: the text's $W x_t$ is `x_t @ W` here, with
# `W` of shape (E, H). Shapes: B batch, T time, E input size, H hidden size.
# Use NumPy.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np

from zoo import classroom

# TensorFlow's start-up lines go here, not into a graded cell (see the guide).
print("TensorFlow", classroom.load_tensorflow())


# %% [markdown] nbgrader={"grade": false, "grade_id": "task_step", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. One step (2 points)
#
# Write `rnn_step(x_t, h_prev, W, U, b)`:
# $h_t = \tanh(x_t W + h_{t-1} U + b)$, with `x_t` (B, E), `h_prev` (B, H),
# `W` (E, H), `U` (H, H) and `b` (H,). It returns $h_t$, (B, H).


# %% nbgrader={"grade": false, "grade_id": "rnn_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def rnn_step(x_t, h_prev, W, U, b):
    """h_t = tanh(x_t W + h_{t-1} U + b): (B, E), (B, H) -> (B, H)."""
    ### BEGIN SOLUTION
    return np.tanh(x_t @ W + h_prev @ U + b)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_rnn_step", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
classroom.check_rnn_step(rnn_step)
### BEGIN HIDDEN TESTS
classroom.check_rnn_step(rnn_step, seed=1, batch=1)
classroom.check_rnn_step(rnn_step, seed=2, batch=7)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_forward", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. The whole sequence (3 points)
#
# The same cell runs once per time step, and the state it returns is the
# state the next step starts from: $h_0$ (given) $\to h_1 \to h_2 \to \dots$
# That carried state is what lets $h_t$ remember $x_1, \dots, x_{t-1}$.
#
# Write `rnn_forward(xs, h0, W, U, b)` with `xs` (B, T, E) and `h0` (B, H).
# It returns `(hs, h_last)`: every state, `hs` of shape (B, T, H) with
# `hs[:, t]` $= h_{t+1}$, and the state after the last step, (B, H). Use
# your `rnn_step`.


# %% nbgrader={"grade": false, "grade_id": "rnn_forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def rnn_forward(xs, h0, W, U, b):
    """Run the cell over (B, T, E) inputs from h0: (hs (B, T, H), h_last (B, H))."""
    ### BEGIN SOLUTION
    h = h0
    states = []
    for t in range(xs.shape[1]):
        h = rnn_step(xs[:, t], h, W, U, b)  # (B, H), fed to the next step
        states.append(h)
    return np.stack(states, axis=1), h
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_rnn_forward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
classroom.check_rnn_forward(rnn_forward)
### BEGIN HIDDEN TESTS
classroom.check_rnn_forward(rnn_forward, seed=3, batch=2, steps=9)
classroom.check_rnn_forward(rnn_forward, seed=4, batch=4, steps=1)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_output", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3. The output (2 points)
#
# The second equation turns a state into the probabilities of the next token:
# $o_t = \text{softmax}(h_t V + c)$, with `V` (H, vocabulary) and `c`
# (vocabulary,). Each row of $o_t$ sums to one. Subtract each row's largest
# value before `np.exp`, so large numbers do not overflow.
#
# (zoo's models stop at $h_t V + c$, the logits, and leave the softmax to the
# loss and the sampler; see `notebooks/04_gru` for why.)
#
# Write `rnn_output(h, V, c)`: (B, H) -> (B, vocabulary).


# %% nbgrader={"grade": false, "grade_id": "rnn_output", "locked": false, "schema_version": 3, "solution": true, "task": false}
def rnn_output(h, V, c):
    """o_t = softmax(h_t V + c) over the vocabulary: (B, H) -> (B, vocabulary)."""
    ### BEGIN SOLUTION
    logits = h @ V + c
    logits = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=-1, keepdims=True)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_rnn_output", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
classroom.check_rnn_output(rnn_output)
### BEGIN HIDDEN TESTS
classroom.check_rnn_output(rnn_output, seed=5, batch=6)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Summary
#
# * One step is one line: $h_t = \tanh(x_t W + h_{t-1} U + b)$.
# * The state is carried from step to step; dropping it turns the RNN into
#   a model that sees one token at a time.
# * The output is a softmax over the vocabulary, row by row.
#
# Going further: `notebooks/02_simple_rnn` trains this cell
# (`build_simple_rnn(..., from_equations=True)`) and shows that it is
# exactly `keras.layers.SimpleRNN`.
