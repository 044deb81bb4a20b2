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
# # Assignment 7 · BERT's 80/10/10 masking (BERT 的 80/10/10 遮蔽)
#
# **Source:** document 001, section **5. 项目实践：代码实例和详细解释说明**:
#
# > 2. ** masked LM**：BERT通过遮蔽某些位置的词来进行预训练。模型的目标是预测被遮蔽的词。
#
# **Follows:** `notebooks/09_bert` ("Masked LM: hiding 15% of the tokens,
# BERT's way"), which trains zoo's masked LM on batches from
# `zoo.data.pipeline.make_mlm_dataset`.
#
# **How to work / 怎么做:** write your code where it says `# YOUR CODE HERE`,
# then run the check cell under it. Masking is random, so the check compares
# the shares your function gives (how many tokens are chosen, and what
# becomes of them) with those of zoo's `mask_tokens` on the same ids, and
# names the first thing that is wrong, in English and Chinese. Hidden tests
# run the same checks on other inputs when graded. 在 `# YOUR CODE HERE` 处
# 写代码，然后运行下面的检查单元。

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np

from zoo import classroom
from zoo.text import FIRST_REAL_ID, MASK_ID, PAD_ID

# TensorFlow's start-up lines go here, not into a graded cell (see the guide).
print("TensorFlow", classroom.load_tensorflow())

ids = classroom.masking_batch(seed=0, batch=2, length=12)
print(ids)  # real ids are >= FIRST_REAL_ID; the zeros at the ends are PAD_ID
print("PAD_ID =", PAD_ID, " MASK_ID =", MASK_ID, " FIRST_REAL_ID =", FIRST_REAL_ID)

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_mask", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Masking tokens the BERT way (6 points)
#
# A masked language model learns by filling in hidden tokens. BERT hides them
# in two stages:
#
# 1. **choose** each real token (never padding) with probability
#    `rate` = 15%: these are the tokens the model must predict;
# 2. of the **chosen** tokens only: 80% become `MASK_ID`, 10% become a random
#    real id (from `FIRST_REAL_ID` to `vocab_size - 1`), and 10% stay as
#    they are. The model cannot count on `[MASK]` to show it where to look,
#    so it learns good vectors for every token.
#
# The targets tell the loss what to predict: the original token at the
# chosen positions, and `PAD_ID` (which the loss ignores) everywhere else.
#
# Write `mask_tokens(ids, vocab_size, seed, rate, mask_fraction,
# random_fraction)`: it returns `(inputs, targets)`, integer arrays of the
# shape of `ids`. Draw every random number from
# `rng = np.random.default_rng(seed)`, so the same seed gives the same masks:
# `rng.random(shape)` gives uniform numbers in [0, 1) and
# `rng.integers(low, high, shape)` random ids.


# %% nbgrader={"grade": false, "grade_id": "mask_tokens", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mask_tokens(
    ids, *, vocab_size, seed, rate=0.15, mask_fraction=0.8, random_fraction=0.1
):
    """BERT's masking of (B, T) ids: returns (inputs, targets), both (B, T)."""
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    ids = np.asarray(ids)
    chosen = (rng.random(ids.shape) < rate) & (ids >= FIRST_REAL_ID)
    action = rng.random(ids.shape)  # what happens to each chosen token
    to_mask = chosen & (action < mask_fraction)
    to_random = chosen & ~to_mask & (action < mask_fraction + random_fraction)
    random_ids = rng.integers(FIRST_REAL_ID, vocab_size, ids.shape)
    inputs = np.where(to_mask, MASK_ID, np.where(to_random, random_ids, ids))
    targets = np.where(chosen, ids, PAD_ID)
    return inputs, targets
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_mask_tokens", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
classroom.check_mask_tokens(mask_tokens)
### BEGIN HIDDEN TESTS
classroom.check_mask_tokens(mask_tokens, seed=1, vocab_size=12)
classroom.check_mask_tokens(mask_tokens, seed=2, vocab_size=300)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Summary
#
# * Two draws: which tokens are chosen (15% of the real ones), then what
#   happens to each chosen token (80/10/10).
# * Padding is never chosen; targets are PAD wherever there is nothing to
#   predict, so the loss scores only the chosen tokens.
#
# Going further: zoo's `mask_tokens` does the same inside a `tf.data`
# pipeline with stateless random numbers, so every epoch sees new masks;
# `notebooks/09_bert` fills in `[MASK]` with the trained model.
