# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · N-gram language models (N-gram 语言模型)
#
# **Source:** document 000, section 4 (数学模型和公式详细讲解举例说明):
#
# > ### 4.1 概率语言模型
# >
# > 概率语言模型是一种基于概率论的语言模型，它可以计算给定条件下句子的概率。
# > 我们将以N-gram模型为例进行解释。N-gram模型假设一个句子的概率是由其前N-1个词
# > 组成的。我们可以使用最大似然估计来估计N-gram模型的参数。
#
# The section has no code listing; this notebook is its worked example.
#
# **Errata.** "一个句子的概率是由其前N-1个词组成的" ("a sentence's probability is made
# of its first N-1 words") mixes two things up. The N-gram assumption is about
# each *word*: the probability of a word depends only on the N-1 words *before
# it*. The probability of the sentence is then the product of those word
# probabilities (the chain rule), over every word of the sentence, not just
# the first N-1. And the maximum-likelihood estimate the section recommends
# gives probability 0 to every N-gram missing from the training text, which we
# will see break the model on new text; smoothing fixes that.
#
# **Glossary (术语表):** [docs/glossary.md](../docs/glossary.md) gives every
# term of these notebooks in English and Chinese, with a one-line definition.
# The Summary and Exercises are also in Chinese, at the end (小结, 练习).

# %% [markdown]
# ## Introduction
#
# A language model gives a probability to every text $w_1 \dots w_T$. The chain
# rule writes it as a product of next-word probabilities, and the N-gram model
# keeps only the last $N-1$ words of the history (the Markov assumption):
#
# $$P(w_1 \dots w_T) = \prod_{t=1}^{T} P(w_t \mid w_1 \dots w_{t-1})
#   \approx \prod_{t=1}^{T} P(w_t \mid w_{t-N+1} \dots w_{t-1}).$$
#
# Maximum likelihood (最大似然估计) estimates each factor by counting:
#
# $$P_\text{MLE}(w \mid h) = \frac{\text{count}(h\,w)}{\text{count}(h\,\bullet)}.$$
#
# We measure a model on held-out text by its **perplexity**, the exponential of
# the average negative log-probability per token, taken over the whole text:
# $\exp\bigl(-\tfrac{1}{T}\sum_t \log P(w_t \mid h_t)\bigr)$. A perplexity of
# 100 means the model is as unsure as if it picked among 100 equally likely
# words each time. Lower is better.
#
# What to look for: a bigram model counted by hand agrees with `zoo`'s; plain
# maximum likelihood gives perplexity **inf** on new text; add-k and Kneser-Ney
# smoothing fix that; Kneser-Ney with one discount is best at a small order
# before the counts get too sparse, and modified Kneser-Ney, with three
# discounts per order, gains more from longer contexts.

# %% [markdown]
# ## Setup

# %%
import collections
import inspect
import math
import os
import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np

import zoo
from zoo.data import load_corpus
from zoo.models.ngram import NGramLM
from zoo.text import BOS_ID, WordTokenizer

# %% [markdown]
# Section 4.1 gives formulas and no code, so there is no listing to build as
# written here: `zoo.listings`, which keeps every listing of the texts,
# records none for the n-gram family.

# %%
print("listings for ngram:", zoo.listings.for_family("ngram"))
assert not zoo.listings.for_family("ngram")

# %% [markdown]
# ## Configuration
#
# Everything you might change is here. `ZOO_FAST=1` (used by the test suite)
# trains on a slice of the text; the full values are written beside.

# %%
FAST = os.environ.get("ZOO_FAST") == "1"

TRAIN_CHARS = 300_000 if FAST else None  # None = all ~4 M characters (~1 M words)
MIN_FREQ = 2  # rarer words become <unk>
ORDERS = [1, 2, 3, 4, 5]
SMOOTHINGS = ["mle", "add_k", "kneser_ney_single", "kneser_ney"]
DISCOUNT = 0.75  # the one discount D of kneser_ney_single
K = 1.0  # add-k's pseudo-count (1 = Laplace)
PROMPT = "COUNTESS.\n"
MAX_NEW_TOKENS = 40 if FAST else 120
TEMPERATURE = 0.8
TOP_K = 40
SEED = 0

# %% [markdown]
# ## Data
#
# The bundled Shakespeare corpus, split by whole plays, so no line of the
# validation text is also in the training text. Tokens are words that keep the
# space in front of them (`" king"`); newlines are tokens too, so generated
# text keeps the play's layout.

# %%
corpus = load_corpus("shakespeare")
train_text = corpus.train[:TRAIN_CHARS] if TRAIN_CHARS else corpus.train
print(corpus)
print(f"training on {len(train_text):,} characters")

tokenizer = WordTokenizer.fit(train_text, min_freq=MIN_FREQ)
V = tokenizer.vocab_size
train_ids = tokenizer.encode(train_text)  # (T_train,) int32
valid_ids = tokenizer.encode(corpus.valid)  # (T_valid,)
print(f"vocab_size V = {V:,}")
print(f"train: {train_ids.shape[0]:,} tokens, valid: {valid_ids.shape[0]:,} tokens")
print(tokenizer.split(train_text[:80]))

# %% [markdown]
# ## A bigram model from scratch
#
# Count every pair of neighbouring tokens with a `Counter`. Like `NGramLM`, we
# put one `<bos>` before the text, so the first word also has a context.

# %%
history = [BOS_ID] + train_ids[:-1].tolist()
pairs = collections.Counter(zip(history, train_ids.tolist(), strict=True))
context_totals = collections.Counter()
for (v, _), n in pairs.items():
    context_totals[v] += n


def p_bigram(w, v):
    """P_MLE(w | v) = count(v w) / count(v •)."""
    return pairs[(v, w)] / context_totals[v]


the = tokenizer.token_to_id(" the")
top = sorted((w for (v, w) in pairs if v == the), key=lambda w: -pairs[(the, w)])[:5]
for w in top:
    print(f"P({tokenizer.vocabulary[w]!r} | ' the') = {p_bigram(w, the):.4f}")

# %% [markdown]
# The library version counts the same thing with numpy. Every row of the two
# must agree, for the 50 most frequent contexts:

# %%
bigram = NGramLM(order=2, smoothing="mle").fit(train_ids, vocab_size=V)
for v, _ in context_totals.most_common(50):
    by_hand = np.zeros(V)
    for (c, w), n in pairs.items():
        if c == v:
            by_hand[w] = n / context_totals[v]
    np.testing.assert_allclose(bigram.next_token_probs([v]), by_hand, rtol=1e-12)
print("the hand-counted bigram model and NGramLM(order=2, smoothing='mle') agree")

# %% [markdown]
# How the library turns counts into probabilities (every smoothing is one
# recursion, from the unigram level up):

# %%
print(inspect.getsource(NGramLM._build))

# %% [markdown]
# ## Why maximum likelihood gives perplexity inf
#
# The validation text is a different play. Some of its word pairs never occur
# in the training text, and maximum likelihood gives each of them probability
# exactly 0. One zero in the product makes the whole text impossible:
# $\log 0 = -\infty$, so the perplexity is $\infty$.

# %%
valid_pairs = list(
    zip([BOS_ID] + valid_ids[:-1].tolist(), valid_ids.tolist(), strict=True)
)
unseen = [pair for pair in valid_pairs if pair not in pairs]
print(
    f"{len(unseen):,} of {len(valid_pairs):,} validation bigrams "
    f"({len(unseen) / len(valid_pairs):.0%}) never occur in training"
)
v, w = next(pair for pair in unseen if pair[0] != BOS_ID)
print(
    f"first one: {tokenizer.vocabulary[v]!r} -> {tokenizer.vocabulary[w]!r}, "
    f"P_MLE = {bigram.next_token_probs([v])[w]}"
)
print("bigram MLE perplexity on the validation text:", bigram.perplexity(valid_ids))
assert bigram.perplexity(valid_ids) == math.inf

# %% [markdown]
# Two fixes:
#
# * **add-k** (Laplace for k = 1) pretends every word was seen k more times
#   after every context: $(\text{count}(h\,w) + k) / (\text{count}(h\,\bullet) +
#   k|V|)$. Simple, but it takes a lot of probability from the words that
#   really were seen.
# * **Kneser-Ney** subtracts a small discount D from every seen count and
#   gives the saved mass to a lower-order model, whose counts are
#   *continuation* counts: how many different words come before $w$, not how
#   often $w$ occurs. ("Francisco" is frequent but almost only after "San",
#   so it should be a rare guess after an unseen context.) zoo has it twice:
#   `kneser_ney_single` with one D for every count (the textbook form, and
#   what `nltk.lm` implements), and `kneser_ney`, the default, Chen and
#   Goodman's *modified* Kneser-Ney: three discounts per order, for n-grams
#   seen once, twice and three times or more, each estimated from that
#   order's counts of counts. It is the variant behind the published n-gram
#   baselines.

# %% [markdown]
# ## Orders and smoothings, compared on held-out text
#
# Each model is fitted on the training ids and scored on the whole validation
# text; perplexity is token-weighted over all of it, never an average of
# per-batch values.

# %%
results = {s: {} for s in SMOOTHINGS}
start = time.perf_counter()
for smoothing in SMOOTHINGS:
    for order in ORDERS:
        lm = NGramLM(order, smoothing=smoothing, discount=DISCOUNT, k=K)
        lm.fit(train_ids, vocab_size=V)
        results[smoothing][order] = lm.perplexity(valid_ids)
print(f"{len(SMOOTHINGS) * len(ORDERS)} models in {time.perf_counter() - start:.1f} s")
print("order " + "".join(f"{s:>14}" for s in SMOOTHINGS))
for order in ORDERS:
    print(f"{order:>5} " + "".join(f"{results[s][order]:>14.1f}" for s in SMOOTHINGS))
best = {s: min(ORDERS, key=lambda n, s=s: results[s][n]) for s in SMOOTHINGS[2:]}
print("best order:", best)

# %%
fig, ax = plt.subplots(figsize=(6, 4))
for smoothing in SMOOTHINGS:
    finite = [(n, p) for n, p in results[smoothing].items() if math.isfinite(p)]
    if finite:
        ax.plot(*zip(*finite, strict=True), marker="o", label=smoothing)
ax.set_xlabel("order N")
ax.set_ylabel("validation perplexity (log scale)")
ax.set_yscale("log")
ax.set_xticks(ORDERS)
ax.set_title("N-gram models on Shakespeare (MLE: inf beyond N = 1)")
ax.legend()
plt.show()

# %% [markdown]
# What the table says: maximum likelihood is finite only for the unigram model
# (every vocabulary word occurs in training). Add-k gets *worse* as the order
# grows: the longer the context, the fewer times it was seen, and the more
# the k pseudo-counts flatten its distribution. Kneser-Ney is best at the
# small order printed above (smaller on the fast-mode slice: less text, fewer
# long contexts seen) and then gets only slowly worse, because for a context it
# has not seen it backs off to shorter ones instead of guessing uniformly.
# Compare the two Kneser-Ney columns: with one D, n-grams seen once and
# n-grams seen a hundred times lose the same amount; three discounts take
# less from frequent n-grams, so the modified column is lower at every order
# above one.
#
# The unigram perplexities are about equal: with only one order there is
# nothing to back off to, and every smoothing is close to plain counting.

# %% [markdown]
# ## Generate
#
# `zoo.generate` works for every zoo model; for an n-gram model it calls
# `next_token_logits`, which gives probability-0 tokens a large negative
# number instead of $-\infty$, so sampling never sees NaN. Temperature 0 is
# greedy decoding. `<unk>` in the output stands for "some word seen fewer than
# `MIN_FREQ` times"; there are many in fast mode, whose vocabulary is small.

# %%
best_order = best["kneser_ney"]
lm = NGramLM(best_order).fit(train_ids, vocab_size=V)  # modified Kneser-Ney
print(f"Kneser-Ney, order {best_order}:")
print(
    zoo.generate(
        lm,
        tokenizer,
        PROMPT,
        max_new_tokens=MAX_NEW_TOKENS,
        temperature=TEMPERATURE,
        top_k=TOP_K,
        seed=SEED,
    )
)

# %% [markdown]
# A high-order maximum-likelihood model, decoded greedily, mostly copies the
# training text: after a context seen once there is only one possible next word.
# Greedy decoding also falls into loops once it reaches a context it has
# already produced.

# %%
copycat = NGramLM(5, smoothing="mle").fit(train_ids, vocab_size=V)
print(
    zoo.generate(
        copycat,
        tokenizer,
        PROMPT,
        max_new_tokens=MAX_NEW_TOKENS,
        temperature=0.0,
        seed=SEED,
    )
)

# %% [markdown]
# ## Save and load
#
# A fitted model is one compressed file; loading it gives the same numbers.

# %%
with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "shakespeare_kn.npz")
    lm.save(path)
    print(f"{os.path.getsize(path) / 1e6:.1f} MB on disk")
    restored = NGramLM.load(path)
assert restored.perplexity(valid_ids) == lm.perplexity(valid_ids)
print(restored, restored.get_config())

# %% [markdown]
# ## Summary
#
# * An N-gram model predicts each word from the N-1 words before it; the
#   probability of a text is the product over all its words (the chain rule).
# * Maximum likelihood is counting, and it gives probability 0, and perplexity
#   inf, to any text with an N-gram not seen in training.
# * Smoothing moves probability to unseen events. Add-k does it crudely;
#   Kneser-Ney discounts seen counts and backs off to continuation counts,
#   and is the standard count-based baseline.
# * Longer contexts help only as long as they were seen often enough; this is
#   the sparsity that neural language models (notebook 02) attack by sharing
#   statistics between similar contexts.

# %% [markdown]
# ## Exercises
#
# 1. Compute the probability of one validation sentence by hand with
#    `p_bigram` (use add-1 smoothing) and check it against
#    `NGramLM(2, smoothing="add_k").log_prob(...)`.
# 2. Vary `DISCOUNT` over 0.1, 0.5, 0.75, 0.9 for a trigram
#    `kneser_ney_single` model.
#    Which gives the lowest validation perplexity? Does the best value change
#    with the amount of training text?
# 3. Plot validation perplexity against the number of training characters
#    (e.g. 100 k, 300 k, 1 M, all) for orders 2 and 4. Where do the curves
#    cross, and why?
# 4. Fit a character-level model (`zoo.text.CharTokenizer`) on a Chinese text
#    of your own with `load_corpus("path/to/file.txt")`. Which order works best
#    for characters, and why is it higher than for words?
# 5. `MIN_FREQ` turns rare words into `<unk>`. Why can perplexities of two
#    models with *different* vocabularies not be compared?

# %% [markdown]
# ## 小结
#
# * N-gram 模型根据每个词前面的 $N-1$ 个词来预测它；
#   一段文本的概率是其中所有词的概率之积（链式法则）。
# * 最大似然估计就是计数，它给任何含有训练中没见过的 N-gram 的文本以零概率，
#   困惑度为 inf。
# * 平滑把概率挪给没见过的事件。add-k 做得很粗糙；Kneser-Ney
#   给见过的计数打折扣，并回退到接续计数（continuation count），
#   是标准的基于计数的基线。
# * 更长的上下文只有在它们被见过足够多次时才有帮助；这就是稀疏性，
#   神经语言模型（笔记本 02）通过在相似的上下文之间共享统计信息来对付它。

# %% [markdown]
# ## 练习
#
# 1. 用 `p_bigram` 手工计算一句验证集句子的概率（使用 add-1 平滑），并与
#    `NGramLM(2, smoothing="add_k").log_prob(...)` 的结果对照。
# 2. 对一个三元（trigram）`kneser_ney_single` 模型，让 `DISCOUNT` 取 0.1、0.5、
#    0.75、0.9。哪个值给出最低的验证集困惑度？最佳值会随训练文本的多少而变化吗？
# 3. 画出阶数为 2 和 4 时验证集困惑度随训练字符数（例如 100 k、300 k、1 M、
#    全部）变化的曲线。曲线在哪里相交？为什么？
# 4. 用 `load_corpus("path/to/file.txt")`
#    在你自己的一段中文文本上拟合一个字符级模型（`zoo.text.CharTokenizer`）。
#    对字符来说哪个阶数最好？为什么它比词级的阶数高？
# 5. `MIN_FREQ` 把罕见词变成 `<unk>`。为什么两个词表*不同*的模型，
#    它们的困惑度不能相互比较？
