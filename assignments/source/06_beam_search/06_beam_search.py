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
# # Assignment 6 · Beam search (束搜索)
#
# **Source:** document 001, section **2. 核心概念与联系**:
#
# > 3. **解码器**：根据编码器输出的向量表示生成文本。Seq2Seq模型、Attention机制、
# >    Beam Search等都是常用的解码器。
#
# **Follows:** `notebooks/06_seq2seq` ("Translate: greedy decoding" and "Beam
# search"), which decodes with `zoo.translate(..., beam_width=...)`.
#
# **How to work / 怎么做:** write your code where it says `# YOUR CODE HERE`,
# then run the check cell under it. Each check runs your search and zoo's own
# beam search on the same small model and names the first thing that is
# wrong, in English and Chinese. Hidden tests run the same checks on other
# models when graded. 在 `# YOUR CODE HERE` 处写代码，然后运行下面的检查单元。
#
# The model is a function `next_log_probs(prefix)`: given a list of ids, it
# returns the log-probabilities of the next id, an array of shape (V,).
# Reserved ids have log-probability `-inf` (probability zero) and must never
# be chosen. A sequence's score is the sum of the log-probabilities of the
# tokens added after the prompt (the log of their probability product).

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np

from zoo import classroom

model = classroom.ToyLanguageModel(seed=0)
print(np.round(model.next_log_probs([7]), 2))  # log P(next id | [7]), V = 10

# TensorFlow's start-up lines go here, not into a graded cell (see the guide).
print("TensorFlow", classroom.load_tensorflow())


# %% [markdown] nbgrader={"grade": false, "grade_id": "task_greedy", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. Greedy decoding (2 points)
#
# Greedy decoding appends the single most likely token, `max_new_tokens`
# times. Write `greedy_decode(next_log_probs, prompt, max_new_tokens)`: it
# returns the prompt followed by the new ids, as a list.


# %% nbgrader={"grade": false, "grade_id": "greedy_decode", "locked": false, "schema_version": 3, "solution": true, "task": false}
def greedy_decode(next_log_probs, prompt, max_new_tokens):
    """The prompt and max_new_tokens ids, each the most likely next one."""
    ### BEGIN SOLUTION
    sequence = list(prompt)
    for _ in range(max_new_tokens):
        sequence.append(int(np.argmax(next_log_probs(sequence))))
    return sequence
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_greedy_decode", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
classroom.check_greedy(greedy_decode)
### BEGIN HIDDEN TESTS
classroom.check_greedy(greedy_decode, seed=1, max_new_tokens=8)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_beam", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. Beam search (5 points)
#
# Greedy decoding can miss a better sequence whose first token was not the
# most likely. Beam search keeps the `beam_width` best partial sequences (the
# beams) instead of one:
#
# 1. start with one beam: the prompt, score 0;
# 2. at each step, extend every beam by every possible next token (score +
#    that token's log-probability), and keep the `beam_width` best of **all**
#    these candidates together;
# 3. after `max_new_tokens` steps, return the best beam.
#
# Write `beam_search(next_log_probs, prompt, beam_width, max_new_tokens)`: it
# returns `(sequence, score)`, the best sequence (a list: the prompt and the
# new ids) and its score. With `beam_width=1` it is greedy decoding.


# %% nbgrader={"grade": false, "grade_id": "beam_search", "locked": false, "schema_version": 3, "solution": true, "task": false}
def beam_search(next_log_probs, prompt, beam_width, max_new_tokens):
    """(best sequence, its summed log-probability) among beam_width beams."""
    ### BEGIN SOLUTION
    beams = [(list(prompt), 0.0)]
    for _ in range(max_new_tokens):
        candidates = []
        for sequence, score in beams:
            log_probs = next_log_probs(sequence)
            for token in np.flatnonzero(np.isfinite(log_probs)):
                candidates.append((sequence + [int(token)], score + log_probs[token]))
        candidates.sort(key=lambda candidate: -candidate[1])
        beams = candidates[:beam_width]
    return beams[0]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_beam_search", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
classroom.check_beam_search(beam_search)
### BEGIN HIDDEN TESTS
classroom.check_beam_search(beam_search, seed=1, beam_width=2, max_new_tokens=6)
classroom.check_beam_search(beam_search, seed=2, beam_width=4, max_new_tokens=3)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Summary
#
# * Scores are sums of log-probabilities: adding logs never underflows, as
#   multiplying many small probabilities does.
# * Beam search keeps the best `beam_width` candidates of all beams together;
#   one beam is greedy decoding.
#
# Going further: zoo's beam search (`zoo.generation`) also stops a beam at
# the end-of-sequence token and compares finished beams by their score per
# token; `notebooks/06_seq2seq` compares greedy and beam decoding.
