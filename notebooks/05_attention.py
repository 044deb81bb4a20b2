# ---
# jupyter:
#   jupytext:
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

# %% [markdown]
# # 05 · Attention: from the formula to multi-head attention (注意力机制)
#
# **Source:** document 001, section **4. 数学模型和公式详细讲解举例说明**:
#
# > 在介绍数学模型和公式之前，我们需要了解自注意力机制。自注意力是一种计算输入序列中
# > 每个位置与所有其他位置之间关系的方法。其公式如下：
# >
# > $$Attention(Q, K, V) = \text{softmax}\left(\frac{QK^T}{\sqrt{d_k}}\right)V$$
# >
# > 其中，Q为查询向量，K为键向量，V为值向量，d\_k为键向量维度。这种方法可以计算出
# > 每个位置与所有其他位置之间的权重，并根据这些权重对输入进行加权求和。
#
# The section has no code listing; this notebook is its worked example. It
# also reads document 004, section 3.2, which prints a different formula:
# that one is wrong, and we will see why.
#
# Shape letters: **T** queries, **S** keys, **D** head size ($d_k$),
# **E** embedding size, **C** model width, **H** heads, **B** batch.
#
# **Glossary (术语表):** [docs/glossary.md](../docs/glossary.md) gives every
# term of these notebooks in English and Chinese, with a one-line definition.
# The Summary and Exercises are also in Chinese, at the end (小结, 练习).

# %% [markdown]
# ## Introduction
#
# Attention lets every position of a sequence look at every other position and
# take a weighted average of what it finds there. Each token asks a question
# (its **query** $q$), offers a label (its **key** $k$) and a content (its
# **value** $v$). The weight of key $j$ for query $i$ is large when $q_i$ and
# $k_j$ point the same way, and the weights of each query sum to one:
#
# $$w_{ij} = \frac{\exp(q_i \cdot k_j / \sqrt{d_k})}
#   {\sum_{j'} \exp(q_i \cdot k_{j'} / \sqrt{d_k})}, \qquad
#   \text{output}_i = \sum_j w_{ij}\, v_j .$$
#
# In matrix form that is exactly document 001's formula. In this notebook we:
#
# 1. compute the formula by hand in NumPy and check it against zoo;
# 2. see numerically why the scores are divided by $\sqrt{d_k}$;
# 3. add padding and causal masks, and see what a flipped mask does;
# 4. build multi-head attention and check it against Keras's own layer;
# 5. test document 004's printed formula: its weights do not sum to one;
# 6. run self-attention on a line of Shakespeare;
# 7. see why attention needs positional encodings;
# 8. train a tiny attention model to reverse a sequence of digits, and watch
#    its weights move to where the task says they must be.
#
# What to look for: every heatmap row is one query; for real attention each
# row sums to one. Until the last section every weight is random, so the maps
# show what attention *computes*, not what it learns.

# %% [markdown]
# ## Setup

# %%
import inspect
import math
import os

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import zoo
from zoo.data import load_corpus
from zoo.layers.attention import (
    MultiHeadAttention,
    scaled_dot_product_attention,
    wrong_attention_004,
)
from zoo.layers.embedding import TokenAndPositionEmbedding
from zoo.layers.masks import attention_mask, causal_mask, padding_mask
from zoo.layers.positional import SinusoidalPositionalEncoding
from zoo.plotting import cjk_font, plot_attention, plot_history
from zoo.text import FIRST_REAL_ID, UNK_ID, CharTokenizer, WordTokenizer

print("font for Chinese tokens:", cjk_font() or "none found, so Chinese shows as boxes")
# To see the characters: install a CJK font (e.g. Noto Sans CJK,
# `apt install fonts-noto-cjk`) and restart the kernel.

# %% [markdown]
# ## Configuration
#
# All settings live in this one cell. The test suite sets `ZOO_FAST=1`; the
# value after `else` is the real one. Until the last section nothing is
# trained: every weight is random, which is enough to study what attention
# *computes*. The last section trains a tiny model for a few seconds.

# %%
FAST = os.environ.get("ZOO_FAST") == "1"
SEED = 42

EMBEDDING_DIM = 8  # E of the tiny example
HEAD_DIM = 4  # d_k of the tiny example
NUM_PAIRS = 5_000 if FAST else 50_000  # random (q, k) pairs for the variance check
D_K_VALUES = (4, 16, 64, 256, 1024)  # the d_k whose dot products we measure

TOKENIZER_CHARS = 300_000 if FAST else None  # None = all 4 M training characters
MODEL_DIM = 32  # C of the Shakespeare example
NUM_HEADS = 4  # H
MAX_LENGTH = 64  # rows of the position table

TASK_LENGTH = 8  # L: digits per sequence of the reversal task
TASK_DIM = 32  # C of the reversal model
TASK_TRAIN = 4_096  # random training sequences
TASK_VALID = 512  # held-out sequences
TASK_BATCH = 64  # B
TASK_LEARNING_RATE = 1e-2
TASK_EPOCHS = 3 if FAST else 6
TASK_STEPS = 40 if FAST else 100  # steps per epoch: seconds either way

keras.utils.set_random_seed(SEED)
rng = np.random.default_rng(SEED)

# %% [markdown]
# ## From the formula to code
#
# A sentence of four words, 我 / 爱 / 语言 / 模型 ("I love language models").
# Each word gets a random embedding, a row of $X$ (T, E). Three random
# matrices turn $X$ into queries, keys and values:
# $Q = X W^Q$, $K = X W^K$, $V = X W^V$, each (T, D).

# %%
tokens = ["我", "爱", "语言", "模型"]
T = len(tokens)
X = rng.normal(size=(T, EMBEDDING_DIM)).astype("float32")  # (T, E)
W_q, W_k, W_v = (
    rng.normal(size=(EMBEDDING_DIM, HEAD_DIM)).astype("float32") for _ in range(3)
)  # (E, D) each
Q, K, V = X @ W_q, X @ W_k, X @ W_v  # (T, D) each; here S = T
print("Q, K, V:", Q.shape, K.shape, V.shape, "(T, D)")

# %% [markdown]
# Now the formula, one operation per line. The softmax subtracts each row's
# maximum first: $e^{a - m} / \sum e^{b - m} = e^a / \sum e^b$, and it keeps
# `exp` from overflowing.

# %%
d_k = Q.shape[-1]
scores = Q @ K.T  # (T, S): q_i . k_j for every pair
scaled = scores / math.sqrt(d_k)  # (T, S)
shifted = scaled - scaled.max(axis=-1, keepdims=True)  # (T, S), the largest is 0
weights = np.exp(shifted) / np.exp(shifted).sum(axis=-1, keepdims=True)  # (T, S)
outputs = weights @ V  # (T, D): row i is a weighted average of the values

np.set_printoptions(precision=3, suppress=True)
print("weights (T, S):\n", weights)
print("row sums:", weights.sum(axis=-1))
assert np.allclose(weights.sum(axis=-1), 1.0, atol=1e-6)

# %% [markdown]
# The same numbers from zoo. `scaled_dot_product_attention` takes a batch,
# so we add one axis: (1, T, D).

# %%
zoo_outputs, zoo_weights = scaled_dot_product_attention(Q[None], K[None], V[None])
np.testing.assert_allclose(np.asarray(zoo_weights)[0], weights, rtol=1e-5, atol=1e-6)
np.testing.assert_allclose(np.asarray(zoo_outputs)[0], outputs, rtol=1e-5, atol=1e-5)
print("NumPy by hand == zoo.layers.attention.scaled_dot_product_attention")

# %% [markdown]
# `plot_attention` draws the weights: keys across, queries down. Row 我 shows
# how 我 splits its attention over the four words.

# %%
plot_attention(weights, tokens, annotate=True, title="softmax(QKᵀ/√d_k), random W")
plt.show()

# %% [markdown]
# The library function is the formula plus a mask and dropout. Read it:

# %%
print(inspect.getsource(scaled_dot_product_attention))

# %% [markdown]
# ## Why divide by $\sqrt{d_k}$?
#
# If the entries of $q$ and $k$ are independent with mean 0 and variance 1,
# then $q \cdot k = \sum_{d=1}^{d_k} q_d k_d$ is a sum of $d_k$ terms of
# variance 1, so its variance is $d_k$. Big vectors give big scores. We
# measure it:

# %%
print(f"{'d_k':>5}  {'var(q.k)':>9}  {'var(q.k / sqrt(d_k))':>21}")
variances = {}
for dim in D_K_VALUES:
    q = rng.normal(size=(NUM_PAIRS, dim))
    k = rng.normal(size=(NUM_PAIRS, dim))
    dots = (q * k).sum(axis=-1)  # (NUM_PAIRS,)
    variances[dim] = (dots.var(), (dots / math.sqrt(dim)).var())
    print(f"{dim:5d}  {variances[dim][0]:9.1f}  {variances[dim][1]:21.2f}")
    assert abs(variances[dim][0] / dim - 1) < 0.15  # var(q.k) ~ d_k
    assert abs(variances[dim][1] - 1) < 0.15  # scaled: ~ 1 for every d_k

# %% [markdown]
# Why it matters: softmax of large scores is almost one-hot. One query
# against 10 keys, with $d_k = 256$:

# %%
dim, num_keys = 256, 10
q = rng.normal(size=(dim,))
k = rng.normal(size=(num_keys, dim))


def softmax(a):
    a = a - a.max()
    return np.exp(a) / np.exp(a).sum()


unscaled_row = softmax(k @ q)  # (S,)
scaled_row = softmax(k @ q / math.sqrt(dim))  # (S,)
fig, axes = plt.subplots(1, 2, figsize=(8, 2.6), sharey=True)
axes[0].bar(range(num_keys), unscaled_row)
axes[0].set_title("softmax(q·k): nearly one-hot")
axes[1].bar(range(num_keys), scaled_row)
axes[1].set_title("softmax(q·k / √d_k)")
for ax in axes:
    ax.set_xlabel("key j")
axes[0].set_ylabel("weight")
fig.tight_layout()
plt.show()
print(
    f"largest weight: {unscaled_row.max():.3f} unscaled, {scaled_row.max():.3f} scaled"
)
assert unscaled_row.max() > scaled_row.max()

# %% [markdown]
# With one weight near 1 and the rest near 0, the softmax's gradient
# $\partial w_j / \partial s_i = w_j(\delta_{ij} - w_i)$ is near 0 everywhere:
# the model stops learning which keys to look at. Dividing by $\sqrt{d_k}$
# brings the scores back to variance 1, whatever the head size.

# %% [markdown]
# ## Masks: padding and causal
#
# Two kinds of key must be hidden from a query:
#
# * **padding**: the filler tokens that make sentences of different lengths
#   one rectangular batch;
# * **the future**: a language model predicting word $t+1$ must not read it
#   (a **causal** mask).
#
# zoo follows Keras's convention everywhere: a mask is **True where the query
# may attend**. A masked weight is exactly 0 and the other weights of the row
# still sum to one. zoo builds every mask in `zoo.layers.masks`.
#
# A batch of two sentences, the second padded with `<pad>` (id 0):

# %%
vocabulary = {"<pad>": 0, "我": 1, "爱": 2, "语言": 3, "模型": 4}
sentences = [["我", "爱", "语言", "模型"], ["语言", "模型", "<pad>", "<pad>"]]
ids = np.array([[vocabulary[w] for w in s] for s in sentences])  # (B, S)
keys_real = padding_mask(ids)  # (B, S): True at real tokens
print("ids:\n", ids)
print("padding_mask:\n", np.asarray(keys_real))

embeddings = rng.normal(size=(len(vocabulary), HEAD_DIM)).astype("float32")
x = embeddings[ids]  # (B, T, D); self-attention, Q = K = V = x for simplicity

pad_only = attention_mask(key_padding=keys_real, query_len=T)  # (B, T, S)
causal = attention_mask(
    key_padding=keys_real, query_padding=keys_real, causal=True
)  # (B, T, S): no padding, no future, and padded queries attend nothing
print("causal_mask(4):\n", np.asarray(causal_mask(T)))

_, w_pad = scaled_dot_product_attention(x, x, x, mask=pad_only)
_, w_causal = scaled_dot_product_attention(x, x, x, mask=causal)
w_pad, w_causal = np.asarray(w_pad), np.asarray(w_causal)  # (B, T, S) each

assert np.all(w_pad[1][:, 2:] == 0)  # nobody attends to padding
assert np.all(np.triu(w_causal[0], k=1) == 0)  # nobody attends to the future
assert np.all(w_causal[1][2:] == 0) and not np.isnan(w_causal).any()  # pad rows: 0
print("padding and future get weight 0; padded queries get all-zero rows, not NaN")

# %% [markdown]
# **The flip.** PyTorch's `nn.MultiheadAttention` and older
# TensorFlow tutorials use the *opposite* convention: their mask is True (or 1)
# where attention is **blocked**. Pass such a mask to Keras or zoo unchanged
# and nothing fails: each query silently attends *only* to the padding and
# the future. To convert, flip it: `keras.ops.logical_not(torch_mask)`.

# %%
torch_style = np.logical_not(np.asarray(causal))  # True = blocked (PyTorch)
_, w_flipped = scaled_dot_product_attention(x, x, x, mask=torch_style)  # a bug
w_flipped = np.asarray(w_flipped)
assert np.all(np.tril(w_flipped[0]) == 0)  # the past and itself: never attended

fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), layout="constrained")
plot_attention(w_pad[1], sentences[1], ax=axes[0], title="padding mask")
plot_attention(w_causal[0], sentences[0], ax=axes[1], title="causal mask")
plot_attention(
    w_flipped[0], sentences[0], ax=axes[2], title="PyTorch mask, not flipped"
)
plt.show()

# %% [markdown]
# Left: the two `<pad>` columns are dark (weight 0). Middle: the upper
# triangle is dark; 我 can only look at itself. Right: the same mask with
# the PyTorch convention: each word looks only at the words *after* it, and
# 模型 (no later word) attends to nothing at all.

# %% [markdown]
# ## Multi-head attention
#
# Document 001, section 3, lists it among the Transformer's parts:
#
# > 3. **多头自注意力**：计算输入的每个位置与所有其他位置之间的关系，并生成权重矩阵。
# >    然后对权重矩阵进行线性组合，得到多头注意力输出。
#
# and document 004, section 2.3 (Transformer模型):
#
# > 1. 多头注意力机制：用于捕捉输入序列中不同位置之间的关系。
#
# More precisely: each of H heads has its own projections $W^Q_h, W^K_h,
# W^V_h$ (C, D) and runs the formula; the H outputs are concatenated and
# mixed by one more matrix $W^O$ (H·D, C):
#
# $$\text{head}_h = \text{softmax}\left(\frac{(XW^Q_h)(XW^K_h)^T}{\sqrt{D}}\right)
#   XW^V_h, \qquad \text{output} = [\text{head}_1, \dots, \text{head}_H]\, W^O .$$
#
# Different heads can look for different relations. zoo's `MultiHeadAttention`
# keeps its weights in the same shapes and order as
# `keras.layers.MultiHeadAttention`, so we can copy Keras's weights into it
# and compare:

# %%
x = X[None]  # (B, T, E) = (1, 4, 8): the tiny sentence
keras_mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=HEAD_DIM)
zoo_mha = MultiHeadAttention(num_heads=2, key_dim=HEAD_DIM)
keras_out, keras_scores = keras_mha(x, x, return_attention_scores=True)
zoo_mha(x, x)  # build
zoo_mha.set_weights(keras_mha.get_weights())

print(f"{'keras weight':<46} {'zoo weight':<48} shape")
for a, b in zip(keras_mha.weights, zoo_mha.weights, strict=True):
    print(f"{a.path:<46} {b.path:<48} {tuple(a.shape)}")

zoo_out, zoo_scores = zoo_mha(x, x, return_attention_scores=True)
print("output:", zoo_out.shape, "(B, T, C)   scores:", zoo_scores.shape, "(B, H, T, S)")
np.testing.assert_allclose(zoo_out, keras_out, atol=1e-5)
np.testing.assert_allclose(zoo_scores, keras_scores, atol=1e-6)
print("zoo MultiHeadAttention == keras.layers.MultiHeadAttention")

# %% [markdown]
# The two heads of the same sentence, side by side. `scores[0]` is the first
# (and only) sentence of the batch, (H, T, S); `plot_attention` draws one panel
# per head on one colour scale.

# %%
plot_attention(zoo_scores[0], tokens, title="two heads, random weights")
plt.show()

# %% [markdown]
# ## Document 004's formula (erratum)
#
# Document 004, section **3.2 Attention机制的数学模型**:
#
# > Attention机制的主要目的是计算输入序列中不同位置之间的权重。 Attention机制的
# > 公式如下：
# >
# > $$Attention(Q,K,V) = \frac{exp(\frac{QK^T}{\sqrt{d_k}})}{K^TK^T + \epsilon}$$
# >
# > 其中，Q代表查询向量，K代表键向量，V代表值向量。 Attention机制的过程可以分为以下
# > 几个步骤：
# >
# > 1. 计算Q、K、V的内积。
# > 2. 计算Attention分数。
# > 3. 通过Softmax函数对Attention分数进行归一化。
#
# **Errata.**
#
# 1. The denominator is not a softmax. Step 3 says the scores are normalised
#    by a softmax, but the formula divides by $K^TK^T + \epsilon$, which does
#    not depend on the other scores of the row, so the weights do not sum to
#    one.
# 2. $K^TK^T$ is not even defined for a (S, D) key matrix unless S = D. zoo's
#    `wrong_attention_004` takes the one reading that fits every shape: the
#    squared length of each key, $\lVert k_j \rVert^2$.
# 3. $V$ does not appear on the right-hand side, although the text names it;
#    and step 1's "inner product of Q, K and V" does not exist: $V$ is
#    averaged with the weights, not multiplied into the scores.
#
# The correct formula is document 001's, above. We run both on the tiny
# example:

# %%
_, w_wrong = wrong_attention_004(Q[None], K[None], V[None])
_, w_right = scaled_dot_product_attention(Q[None], K[None], V[None])
wrong_sums = np.asarray(w_wrong)[0].sum(axis=-1)  # (T,)
right_sums = np.asarray(w_right)[0].sum(axis=-1)  # (T,)
print("row sums: document 004  document 001  query")
for token, wrong_sum, right_sum in zip(tokens, wrong_sums, right_sums, strict=True):
    print(f"{wrong_sum:23.3f} {right_sum:13.3f}  {token}")
assert np.all(np.abs(wrong_sums - 1) > 0.05), "004's weights should not sum to 1"
np.testing.assert_allclose(right_sums, 1.0, atol=1e-6)

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
plot_attention(np.asarray(w_wrong)[0], tokens, ax=axes[0], title="document 004, 3.2")
plot_attention(np.asarray(w_right)[0], tokens, ax=axes[1], title="document 001, 4")
plt.show()

# %% [markdown]
# Look at the colour bars: document 001's weights stay between 0 and 1, in
# rows that sum to one. Document 004's rows sum to more or less than one,
# by an amount set by the lengths of the keys, so its output is not a
# weighted average of the values but the values scaled up or down. Use
# softmax.

# %% [markdown]
# ## Self-attention on a line of Shakespeare
#
# Now a real sentence from the bundled corpus, split into word tokens (a word
# keeps the space before it, drawn as ␣; a newline is drawn as ⏎). Each token
# gets a random embedding (C = 32), and an **untrained** `MultiHeadAttention`
# with 4 heads attends over the line. The weights are random, so the patterns
# mean nothing about English yet; training is what makes heads useful.

# %%
corpus = load_corpus("shakespeare")
tokenizer = WordTokenizer.fit(corpus.train[:TOKENIZER_CHARS])
start = corpus.train.index("To be, or not to be")
line = corpus.train[start : corpus.train.index("\n", start) + 1]
words = tokenizer.split(line)
word_ids = tokenizer.encode(line)[None]  # (1, T)
assert UNK_ID not in word_ids  # every word is known: no two words share <unk>
print(repr(line))
print(len(words), "tokens:", words)

embedding = keras.layers.Embedding(
    tokenizer.vocab_size,
    MODEL_DIM,
    embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=SEED),
)  # stddev 1: the same size as the position table below
mha = MultiHeadAttention(NUM_HEADS, seed=SEED)  # D = C / H = 8
tokens_only = embedding(word_ids)  # (1, T, C)
out_plain, scores_plain = mha(tokens_only, tokens_only, return_attention_scores=True)
print("scores:", scores_plain.shape, "(B, H, T, S)")

plot_attention(scores_plain[0], words, title="untrained self-attention, no positions")
plt.show()

# %% [markdown]
# Look at the rows of the two ␣be tokens (positions 1 and 6) in any head: they
# are identical, and so are their columns. So are the rows of the repeated
# commas and dashes. Without positions, attention cannot tell the first "be"
# from the second:

# %%
first_be, second_be = [i for i, w in enumerate(words) if w == " be"]
scores_plain = np.asarray(scores_plain)  # (1, H, T, S)
np.testing.assert_allclose(
    scores_plain[0, :, first_be], scores_plain[0, :, second_be], atol=1e-6
)
print(f"rows {first_be} and {second_be} (' be') are the same in every head")

# %% [markdown]
# ## Positional encodings
#
# Document 001, section 3, step 2:
#
# > 2. **位置编码**：为输入嵌入添加位置信息，以保留序列中的顺序关系。
#
# Attention itself has no idea of order. Shuffle the tokens, and the outputs
# are the same vectors, shuffled the same way (attention is *permutation
# equivariant*). We check it with a random shuffle of the line:

# %%
perm = rng.permutation(len(words))
shuffled = np.asarray(tokens_only)[:, perm]  # (1, T, C): the same tokens, shuffled
out_shuffled = mha(shuffled, shuffled)  # (1, T, C)
np.testing.assert_allclose(out_shuffled, np.asarray(out_plain)[:, perm], atol=1e-5)
print("shuffle the tokens -> the outputs are shuffled the same way, nothing else")

# %% [markdown]
# So "狗咬人" (dog bites man) and "人咬狗" (man bites dog) look the same to
# attention: the output for 人 is the same vector in both sentences.

# %%
chars = CharTokenizer.fit("狗咬人")
dog_bites_man = embedding(chars.encode("狗咬人")[None])  # (1, 3, C)
man_bites_dog = embedding(chars.encode("人咬狗")[None])  # (1, 3, C)
out_a = np.asarray(mha(dog_bites_man, dog_bites_man))[0]  # (3, C)
out_b = np.asarray(mha(man_bites_dog, man_bites_dog))[0]
np.testing.assert_allclose(out_a[2], out_b[0], atol=1e-5)  # 人 in both sentences
print("without positions, 人 gets the same output in 狗咬人 and 人咬狗")

# %% [markdown]
# The fix adds to each embedding a vector that depends on its position. The
# sinusoidal table of Vaswani et al. (zoo's `SinusoidalPositionalEncoding`)
# uses a sine and a cosine per pair of channels, each pair at its own
# frequency:
#
# $$PE(p, 2i) = \sin\left(p / 10000^{2i/C}\right), \qquad
#   PE(p, 2i+1) = \cos\left(p / 10000^{2i/C}\right).$$
#
# Nothing in it is learned, and every position gets a different row.

# %%
positions = SinusoidalPositionalEncoding(MAX_LENGTH)
table = np.asarray(positions.encoding(MAX_LENGTH, MODEL_DIM))  # (T, C)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
image = axes[0].imshow(table, cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
axes[0].set_xlabel("channel")
axes[0].set_ylabel("position p")
axes[0].set_title("sinusoidal position table (T, C)")
fig.colorbar(image, ax=axes[0])
for channel in (0, 4, 10, 20):
    axes[1].plot(table[:, channel], label=f"channel {channel}")
axes[1].set_xlabel("position p")
axes[1].set_title("low channels turn fast, high channels slowly")
axes[1].legend(fontsize=8)
plt.show()

# %% [markdown]
# With positions added, the shuffle no longer just reorders the outputs, and
# the two "be" tokens get different rows:

# %%
with_positions = positions(tokens_only)  # (1, T, C): embedding + PE
out_pos, scores_pos = mha(with_positions, with_positions, return_attention_scores=True)
shuffled_pos = positions(shuffled)  # positions follow the new order
out_pos_shuffled = mha(shuffled_pos, shuffled_pos)
assert not np.allclose(out_pos_shuffled, np.asarray(out_pos)[:, perm], atol=1e-3)
scores_pos = np.asarray(scores_pos)
assert not np.allclose(scores_pos[0, :, first_be], scores_pos[0, :, second_be])

a, b = (
    np.asarray(mha(s, s))[0]
    for s in (positions(dog_bites_man), positions(man_bites_dog))
)
assert not np.allclose(a[2], b[0], atol=1e-3)
print("with positions: order matters, and 狗咬人 is not 人咬狗")

plot_attention(scores_pos[0], words, title="untrained self-attention, with positions")
plt.show()

# %% [markdown]
# ## Train: attention that learns where to look
#
# Every map so far came from random weights. Now a task whose right map is
# known before training: **reverse** a sequence of `TASK_LENGTH` digits.
# Output position $i$ must be the input digit at position $L-1-i$. The model
# is as small as attention allows: token and (learned) position embeddings,
# **one** attention head, and a `Dense` layer from the attention output to
# the logits. There is no residual connection, so the only way a digit can
# reach another position is through the attention weights: to solve the task,
# query $i$ must put its weight on key $L-1-i$, the anti-diagonal that runs
# from the top right of the map to the bottom left.

# %%
digits = CharTokenizer.fit("0123456789")  # ids FIRST_REAL_ID.. are the digits
task_rng = np.random.default_rng(SEED)


def reversal_pairs(n):
    """n random digit sequences (n, L) and their reversals (n, L), as ids."""
    inputs = task_rng.integers(FIRST_REAL_ID, digits.vocab_size, (n, TASK_LENGTH))
    return inputs.astype("int32"), inputs[:, ::-1].astype("int32")


task_x, task_y = reversal_pairs(TASK_TRAIN)
valid_x, valid_y = reversal_pairs(TASK_VALID)
print(digits.decode(task_x[0]), "->", digits.decode(task_y[0]))
train_pairs = (
    tf.data.Dataset.from_tensor_slices((task_x, task_y))
    .shuffle(TASK_TRAIN, seed=SEED)
    .batch(TASK_BATCH)
)
valid_pairs = tf.data.Dataset.from_tensor_slices((valid_x, valid_y)).batch(256)

token_ids = keras.Input((TASK_LENGTH,), dtype="int32", name="token_ids")  # (B, L)
embedded = TokenAndPositionEmbedding(
    digits.vocab_size, TASK_LENGTH, TASK_DIM, positional="learned", name="embedding"
)(token_ids)  # (B, L, C)
attended, task_scores = MultiHeadAttention(1, seed=SEED, name="attention")(
    embedded, embedded, return_attention_scores=True
)  # (B, L, C), (B, 1, L, L)
task_logits = keras.layers.Dense(digits.vocab_size, name="logits")(attended)
reverser = keras.Model(token_ids, task_logits, name="reverser")  # (B, L, V)
reverser_scores = keras.Model(token_ids, task_scores)  # the same layers' weights
zoo.compile_model(reverser, learning_rate=TASK_LEARNING_RATE)
reverser.summary()

# %% [markdown]
# The share of each query's weight that falls on its anti-diagonal key,
# averaged over the held-out sequences, says how far the map is from the one
# the task needs (1 would be all of it). We measure it before training, then
# train with `zoo.train` (XLA-compiled steps, the same call every zoo model
# trains with):

# %%
anti_diagonal = np.eye(TASK_LENGTH)[::-1]  # (T, S): key L-1-i for query i


def anti_diagonal_share(scores):
    """Mean weight on key L-1-i over queries i and sequences; scores (B, 1, T, S)."""
    return float((np.asarray(scores)[:, 0] * anti_diagonal).sum(-1).mean())


scores_before = np.asarray(reverser_scores(valid_x))  # (B, 1, T, S), untrained
task_history = zoo.train(
    reverser,
    train_pairs.repeat(),
    valid_ds=valid_pairs,
    epochs=TASK_EPOCHS,
    steps_per_epoch=TASK_STEPS,
    verbose=0,
)
scores_after = np.asarray(reverser_scores(valid_x))  # (B, 1, T, S), trained

fig, ax = plt.subplots(figsize=(6, 3.5))
plot_history(task_history, ax=ax)  # training and validation loss per epoch
ax.set_yscale("log")
ax.set_title("one attention head learns to reverse digits")
plt.show()
assert task_history["val_loss"][-1] < task_history["val_loss"][0]

# %% [markdown]
# The loss curve falls steeply (note the log scale). The two maps of one
# held-out sequence, before and after training, and the share of weight on
# the anti-diagonal for every held-out sequence:

# %%
example = digits.decode(valid_x[0])
fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
plot_attention(scores_before[0, 0], example, ax=axes[0], title="before training")
plot_attention(scores_after[0, 0], example, ax=axes[1], title="after training")
plt.show()

share_before = anti_diagonal_share(scores_before)
share_after = anti_diagonal_share(scores_after)
print(
    f"weight on the anti-diagonal: {share_before:.3f} before, {share_after:.3f} after"
)
assert share_after > 0.8, "the trained head should look at key L-1-i"
assert share_before < 0.5, "random weights should not already reverse"

# %% [markdown]
# And the model at work on held-out sequences: one forward pass writes every
# output digit at once (no loop is needed: the whole input is known).

# %%
predicted = np.asarray(reverser(valid_x)).argmax(axis=-1)  # (B, L) ids
outputs = [digits.decode(row) for row in predicted]
references = [digits.decode(row) for row in valid_y]
for source, output, reference in list(
    zip([digits.decode(r) for r in valid_x], outputs, references, strict=True)
)[:4]:
    print(f"{source} -> {output} {'✓' if output == reference else '✗'}")
print(f"exact match: {zoo.exact_match(outputs, references):.1%} of {TASK_VALID}")

# %% [markdown]
# ## Summary
#
# * Document 001's $\text{softmax}(QK^T/\sqrt{d_k})V$ is a few lines of NumPy;
#   zoo's `scaled_dot_product_attention` gives the same numbers. Each row of
#   weights sums to one: every output is a weighted average of the values.
# * Dot products of random vectors have variance $d_k$; dividing by
#   $\sqrt{d_k}$ keeps the softmax from turning one-hot.
# * Masks: True = may attend (Keras and zoo). Padding and the future get
#   weight 0, fully masked rows get zeros, not NaN. A PyTorch-style mask must
#   be flipped; unflipped, it fails silently.
# * Multi-head attention runs the formula H times with different projections;
#   zoo's layer equals `keras.layers.MultiHeadAttention` weight for weight.
# * Document 004's formula (section 3.2) has no softmax normalisation and no
#   V: its weights do not sum to one. It is an erratum.
# * Attention alone ignores order (shuffled in, shuffled out; 狗咬人 = 人咬狗);
#   positional encodings give each position its own vector.
# * Trained on a task whose answer is known, one head moves its weight from a
#   random spread to the anti-diagonal that reversal needs (the share printed
#   above); only then do the maps say something about the task.
#
# ## Exercises
#
# 1. In the tiny example, multiply `W_q` by 10. What happens to the heatmap,
#    and why? Compare with the unscaled softmax of the $\sqrt{d_k}$ section.
# 2. Measure the average largest weight of softmax(q·k) with and without
#    $\sqrt{d_k}$ for every $d_k$ in `D_K_VALUES`. At which $d_k$ does the
#    unscaled softmax become practically one-hot?
# 3. Build a mask for cross-attention from a 4-token decoder to a 6-token
#    encoder sentence with 2 padding tokens, using `attention_mask`. Which
#    padding belongs in it, the decoder's or the encoder's?
# 4. Change `wrong_attention_004` by hand (in your own cell) so that its
#    denominator is the row sum of the numerator. Check that you get
#    `scaled_dot_product_attention`'s weights back.
# 5. Repeat the Shakespeare example with `NUM_HEADS = 1` and `8`. What is the
#    head size D each time, and how many weights does the layer have?
# 6. Replace the sinusoidal table with a learned one
#    (`zoo.layers.embedding.TokenAndPositionEmbedding(..., positional="learned")`).
#    Is 狗咬人 still different from 人咬狗 before any training? Why?
# 7. Train the reversal model on the **copy** task instead (`task_y = task_x`).
#    Draw the map you expect before you look, then check it. Then try
#    `MultiHeadAttention(2, ...)`: does each head learn the same map?

# %% [markdown]
# ## 小结
#
# * 文档 001 的 $\text{softmax}(QK^T/\sqrt{d_k})V$ 只需几行 NumPy；zoo 的
#   `scaled_dot_product_attention` 给出相同的数。每一行权重之和为一：
#   每个输出都是值（value）的加权平均。
# * 随机向量的点积方差为 $d_k$；除以 $\sqrt{d_k}$ 可以防止 softmax 变成
#   one-hot。
# * 掩码：True 表示可以关注（Keras 和 zoo 的约定）。填充和未来得到的权重为零，
#   完全被遮蔽的行给出零而不是 NaN。PyTorch 风格的掩码必须先取反；不取反，
#   它会悄无声息地出错。
# * 多头注意力用不同的投影把公式运行 H 次；zoo 的层与
#   `keras.layers.MultiHeadAttention` 的权重一一对应、结果相同。
# * 文档 004 的公式（第 3.2 节）没有 softmax 归一化，也没有 V：
#   它的权重之和不为一。这是一处勘误。
# * 单靠注意力分不出顺序（打乱输入，输出也同样被打乱；狗咬人 = 人咬狗）；
#   位置编码给每个位置一个自己的向量。
# * 在一个答案已知的任务上训练之后，一个头把权重从随机的分布移到了反转任务
#   所需要的反对角线上（比例见上文的输出）；只有这时，注意力图才说明了任务的
#   某些东西。
#
# ## 练习
#
# 1. 在小例子中把 `W_q` 乘以 10。热力图会怎样变化？为什么？与 $\sqrt{d_k}$
#    一节中未缩放的 softmax 比较。
# 2. 对 `D_K_VALUES` 中的每个 $d_k$，测量 softmax(q·k) 在除以与不除以
#    $\sqrt{d_k}$ 时最大权重的平均值。$d_k$ 到多大时，未缩放的 softmax
#    实际上变成了 one-hot？
# 3. 用 `attention_mask` 为交叉注意力构建一个掩码：从一个 4 个词元的解码器，
#    到一个含 2 个填充词元的 6 词元编码器句子。掩码里应当是哪一方的填充，
#    解码器的还是编码器的？
# 4. 在你自己的单元里手工修改 `wrong_attention_004`，让它的分母是分子的行和。
#    检查你是否得回了 `scaled_dot_product_attention` 的权重。
# 5. 用 `NUM_HEADS = 1` 和 `8` 重做莎士比亚的例子。每次的头大小 D 是多少？
#    这个层有多少个权重？
# 6. 把正弦表换成一个可学习的表
#    （`zoo.layers.embedding.TokenAndPositionEmbedding(..., positional="learned")`）。
#    在任何训练之前，狗咬人和人咬狗还不同吗？为什么？
# 7. 改用**复制**任务训练这个反转模型（`task_y = task_x`）。
#    先画出你预期的注意力图，再去验证。然后试试 `MultiHeadAttention(2, ...)`：
#    每个头学到的图都一样吗？
