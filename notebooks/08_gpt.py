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
# # 08 · GPT: a causal Transformer whose output layer is its input (GPT-2)
#
# **Source:** document 003, section **4. 数学模型和公式详细讲解举例说明**:
#
# > 我们以GPT-2为例子来说明大规模语言模型的数学模型和公式。GPT-2是一个基于
# > Transformer架构的语言模型。其核心公式如下：
# >
# > $$P(w_{t+1} | w_{t}, w_{t-1}, ..., w_{1})
# >   = \frac{1}{Z(w_{t})} e^{s(w_{t+1}, h_{t})}$$
# >
# > $$s(w_{t+1}, h_{t}) = w_{t+1}^T h_{t}$$
# >
# > 其中，$w_{t+1}$是下一个词，$h_{t}$是上一个词的隐藏状态，$Z(w_{t})$是归一化因子。
#
# and section **5. 项目实践：代码实例和详细解释说明**:
#
# > 我们可以使用Python和TensorFlow来实现GPT-2。……然后，使用以下代码来实现GPT-2：
#
# followed by a listing that is not GPT-2 at all (notebook 04 trained a GRU in
# its place). This notebook builds what section 4 describes.
#
# Shape letters: **B** batch, **T** time, **C** model width (= embedding
# size), **H** heads, **L** layers, **V** vocabulary.
#
# **Glossary (术语表):** [docs/glossary.md](../docs/glossary.md) gives every
# term of these notebooks in English and Chinese, with a one-line definition.
# The Summary and Exercises are also in Chinese, at the end (小结, 练习).

# %% [markdown]
# ## Introduction
#
# Read the formula as a recipe. $h_t$ is the model's vector for position $t$,
# computed from $w_1 \dots w_t$ only. The score of a candidate next word is
# the dot product of **that word's own vector** $w_{t+1}$ with $h_t$, and $Z$
# sums $e^{s}$ over the whole vocabulary: a softmax over V logits. Stack every
# word's vector as the rows of a (V, C) matrix and all V scores are one
# matrix product. GPT-2 uses the **token-embedding matrix** for those rows:
# the output layer is the input layer run backwards ("weight tying").
#
# In this notebook we:
#
# 1. build document 003's listing as written and demonstrate its two errata
#    (a loss that treats logits as probabilities; a bidirectional GRU that
#    sees the future);
# 2. build zoo's GPT and check, weight by weight, that the output layer *is*
#    the token embedding, and that the formula gives the model's numbers;
# 3. check that zoo's GPT does not see the future;
# 4. train the "laptop" preset (4 layers, 4 heads, width 128, context 64) on
#    the bundled Shakespeare plays, one token per character;
# 5. compare decoding settings: greedy, temperature, top-k, top-p and beam
#    search;
# 6. check that decoding with a key/value cache gives the same numbers as
#    re-reading the whole prefix.

# %% [markdown]
# ## Setup

# %%
import inspect
import os
import time

import keras
import matplotlib.pyplot as plt
import numpy as np

from zoo import (
    CharTokenizer,
    evaluate,
    generate,
    listings,
    load_corpus,
    make_dataset,
    plot_history,
)
from zoo.generation import NEVER_SAMPLED, step_logits
from zoo.layers.embedding import TiedEmbedding
from zoo.models.gpt import GPT_PRESETS, build_gpt, count_gpt_params
from zoo.plotting import logit_change, plot_logit_change
from zoo.recipes import train_language_model

# %% [markdown]
# ## Configuration
#
# All settings live in this one cell. The test suite sets `ZOO_FAST=1` to run
# a tiny version; the value after `else` is the real one.

# %%
FAST = os.environ.get("ZOO_FAST") == "1"
SEED = 42

PRESET = "tiny" if FAST else "laptop"  # laptop: 4 layers, 4 heads, C 128, T 64
NUM_LAYERS = 1 if FAST else 4  # the laptop preset's L; one block compiles faster
TRAIN_CHARS = 100_000 if FAST else None  # None = all 4 M training characters
VALID_CHARS = 10_000 if FAST else 100_000  # of the 0.37 M validation characters
BATCH_SIZE = 32  # B
LEARNING_RATE = 1e-3
EPOCHS = 1 if FAST else 6  # 6 x 100 steps: a few minutes on a laptop CPU
STEPS_PER_EPOCH = 30 if FAST else 100

LISTING_EMBEDDING_DIM = 16  # the listing leaves its sizes open (zoo's record
LISTING_UNITS = 32  # says 256 / 1024); small here, so it builds in a moment

PROMPT = "Romeo.\n"  # Romeo's speaker line, as the bundled plays write it
NUM_BEAMS = 4

keras.utils.set_random_seed(SEED)

# %% [markdown]
# ## Data
#
# The bundled Shakespeare plays, one token per character. A GPT reads at most
# `context_length` tokens at once, so the training windows have exactly that
# length.

# %%
CONTEXT = GPT_PRESETS[PRESET]["context_length"]  # T
corpus = load_corpus("shakespeare")
print(corpus)
tokenizer = CharTokenizer.fit(corpus.train)
print(tokenizer)

train_ids = tokenizer.encode(corpus.train[:TRAIN_CHARS])  # (N,) int32
valid_ids = tokenizer.encode(corpus.valid[:VALID_CHARS])
train_ds = make_dataset(train_ids, seq_len=CONTEXT, batch_size=BATCH_SIZE, seed=SEED)
valid_ds = make_dataset(
    valid_ids, seq_len=CONTEXT, batch_size=BATCH_SIZE, training=False
)
x, y = next(iter(train_ds))
print("x:", x.shape, "(B, T)   y:", y.shape, "(B, T), y[:, t] == x[:, t + 1]")

# %% [markdown]
# ## The listing as written
#
# ### Document 003, 5. 项目实践：代码实例和详细解释说明

# %%
entry = listings.get("003-s5")
print(entry.code)

# %% [markdown]
# `build_as_written` builds it and compiles it as the listing does (it warns,
# too). Its errata, as zoo records them:

# %%
listing_model = entry.build_as_written(
    vocab_size=tokenizer.vocab_size,
    embedding_dim=LISTING_EMBEDDING_DIM,
    rnn_units=LISTING_UNITS,
)
print("output:", listing_model(x[:2]).shape, "(B, T, V)")
for number, line in enumerate(entry.errata, start=1):
    print(f"{number}.", line)

# %% [markdown]
# ### Erratum: logits fed to a loss that expects probabilities
#
# The last `Dense(vocab_size)` has no softmax, so the listing emits logits,
# but its loss was compiled with `from_logits=False`:

# %%
loss_fn = keras.losses.get(listing_model.loss)  # the listing passed a name
from_logits = inspect.signature(loss_fn).parameters["from_logits"].default
print(f"listing's loss: {listing_model.loss!r}, from_logits={from_logits}")
assert from_logits is False

# %% [markdown]
# What does Keras then compute? It takes the outputs as probabilities:
# clips them into $[10^{-7}, 1 - 10^{-7}]$, renormalises each row to sum to
# one, and takes $-\log$ of the target's share. We reproduce that by hand on
# the listing's own outputs, and compare it with section 4's
# $-\log \frac{1}{Z} e^{s}$ (the softmax, `from_logits=True`):

# %%
logits = listing_model(x[:2]).numpy().astype("float64")  # (B, T, V)
targets = y[:2].numpy()  # (B, T)
as_compiled = keras.losses.sparse_categorical_crossentropy(
    targets, logits, from_logits=False
).numpy()  # (B, T)
as_formula = keras.losses.sparse_categorical_crossentropy(
    targets, logits, from_logits=True
).numpy()

clipped = np.clip(logits, 1e-7, 1 - 1e-7)  # "probabilities"
share = np.take_along_axis(clipped, targets[..., None], axis=-1)[..., 0]
by_hand_wrong = -np.log(share / clipped.sum(axis=-1))  # (B, T)
z = np.exp(logits - logits.max(axis=-1, keepdims=True))
softmax = z / z.sum(axis=-1, keepdims=True)  # e^s / Z
by_hand_right = -np.log(np.take_along_axis(softmax, targets[..., None], -1)[..., 0])

np.testing.assert_allclose(as_compiled, by_hand_wrong, rtol=1e-4)
np.testing.assert_allclose(as_formula, by_hand_right, rtol=1e-4)
print(f"mean loss, as compiled (clip + renormalise): {as_compiled.mean():.3f}")
print(f"mean loss, section 4's softmax:               {as_formula.mean():.3f}")
print(f"ln V (an untrained model should be close):    {np.log(logits.shape[-1]):.3f}")
assert abs(as_compiled.mean() - as_formula.mean()) > 0.1

# %% [markdown]
# Every negative logit becomes the same tiny "probability" $10^{-7}$, so the
# loss cannot tell a bad token from a terrible one, and no error is raised.
# zoo's models emit logits and zoo's one compile function always says
# `from_logits=True`.

# %% [markdown]
# ## The zoo version: GPT
#
# A GPT is a stack of Transformer decoder blocks with **causal**
# self-attention (position t reads positions 1..t only), between one
# embedding layer and the same embedding run backwards. The presets, as a
# readable table (`count_gpt_params` is the parameter formula; the last row
# is GPT-2 small, for comparison only):

# %%
print(f"{'preset':<11}" + "".join(f"{k:>15}" for k in GPT_PRESETS["laptop"]))
for name, sizes in GPT_PRESETS.items():
    row = "".join(f"{v:>15,}" for v in sizes.values())
    params = count_gpt_params(tokenizer.vocab_size, **sizes)
    print(f"{name:<11}{row}   {params:>12,} parameters (V = {tokenizer.vocab_size})")

# %% [markdown]
# We build the preset of the Configuration cell: the real run uses "laptop",
# which is also `build_gpt`'s default; fast mode uses "tiny" with one block.

# %%
keras.utils.set_random_seed(SEED)
SIZES = {**GPT_PRESETS[PRESET], "num_layers": NUM_LAYERS}
model = build_gpt(tokenizer.vocab_size, **SIZES, learning_rate=LEARNING_RATE)
assert model.count_params() == count_gpt_params(tokenizer.vocab_size, **SIZES)
print(SIZES)
print("XLA (jit_compile):", model.jit_compile)
model.summary()

# %% [markdown]
# Note the order in the summary: `embedding` is used **twice**, first and
# last. The layer's `call` with `reverse=True` is section 4's $w^T h$:

# %%
print(inspect.getsource(TiedEmbedding.call))

# %% [markdown]
# ### The output weight is literally the token embedding
#
# Three checks. (1) The model has exactly one (V, C) matrix and no (C, V)
# output matrix. (2) Nudging one row of the embedding table (a character
# the window does not contain) moves that character's input vector **and**
# its logit, and no other logit: one variable, two uses.
# (3) The logits are $h_t W_E^T$, and their softmax is section 4's
# $\frac{1}{Z} e^{w_{t+1}^T h_t}$.

# %%
embedding = model.get_layer("embedding")
table = embedding.token_embedding.embeddings  # W_E: (V, C), one variable
V, C = table.shape
shapes = [tuple(w.shape) for w in model.weights]
print(
    "weights of shape (V, C):",
    shapes.count((V, C)),
    "  of shape (C, V):",
    shapes.count((C, V)),
)
assert shapes.count((V, C)) == 1 and (C, V) not in shapes

untied = build_gpt(V, **SIZES, tie_embeddings=False, compile=False)
print(
    f"parameters: tied {model.count_params():,}, untied {untied.count_params():,}; "
    f"difference {untied.count_params() - model.count_params():,} = V x C = {V * C:,}"
)
assert untied.count_params() - model.count_params() == V * C

# (3) logits = h W_E^T, and softmax(logits) = e^{w^T h} / Z
hidden = keras.Model(model.input, model.get_layer("final_norm").output)
window = x[:1].numpy()  # (1, T)
h = hidden(window).numpy()[0]  # (T, C): h_t for every t
W_E = table.numpy()  # (V, C)
scores = h @ W_E.T  # (T, V): s(w, h_t) = w^T h_t for every token w
np.testing.assert_allclose(model(window).numpy()[0], scores, rtol=1e-4, atol=1e-4)
p = np.exp(scores - scores.max(-1, keepdims=True))
p /= p.sum(-1, keepdims=True)  # divide by Z
print(f"P(w_(t+1) | w_1..w_t) at t = 0 sums to {p[0].sum():.6f}")

# (2) one variable, two uses: nudge the row of a character the window lacks
row = next(
    tokenizer.token_to_id(c) for c in "zqXJ" if tokenizer.token_to_id(c) not in window
)
nudge = np.random.default_rng(SEED).normal(size=C).astype("float32")  # (C,)
before_in = embedding(np.array([[row]])).numpy()  # token + position vector
before_out = model(window).numpy()  # (1, T, V)
table.assign(W_E + np.outer(np.eye(V, dtype="float32")[row], nudge))  # row += nudge
after_in = embedding(np.array([[row]])).numpy()
after_out = model(window).numpy()
table.assign(W_E)  # put it back
moved = np.abs(after_out - before_out)[0].max(axis=0)  # (V,): per token
print(f"nudged row {row} ({tokenizer.vocabulary[row]!r}) of the embedding table")
print("its input vector moved by the nudge:", np.allclose(after_in - before_in, nudge))
others = np.delete(moved, row).max()
print(f"its logit moved by up to {moved[row]:.3f}; every other logit by {others}")
assert np.allclose(after_in - before_in, nudge, atol=1e-6)
assert moved[row] > 0 and others == 0.0

# %% [markdown]
# ## The listing sees the future; zoo's GPT does not
#
# Change **one** character at position k of a window and compare the logits
# at every position. Section 4's formula conditions $w_{t+1}$ on
# $w_t, \dots, w_1$ only, so the logits **before** k must not move. The
# weights do not matter (both models are untrained): what matters is which
# positions can reach which.

# %%
window = x[0].numpy()  # (T,) ids
k = CONTEXT // 2
changed = window.copy()
changed[k] = tokenizer.token_to_id("z" if tokenizer.decode([window[k]]) != "z" else "q")


listing_change = logit_change(listing_model, window, changed)
gpt_change = logit_change(model, window, changed)
print(f"largest change before position {k}:")
print(f"  listing 003-s5 (bidirectional GRU): {listing_change[:k].max():.2e}")
print(f"  zoo GPT (causal attention):         {gpt_change[:k].max():.2e}")
print(f"  zoo GPT at positions k and after:   {gpt_change[k:].max():.2e}")

fig, ax = plt.subplots(figsize=(7, 2.8))
changes = {
    "listing 003-s5 (Bidirectional GRU)": listing_change,
    "zoo GPT (causal self-attention)": gpt_change,
}
plot_logit_change(changes, k, ax=ax)
fig.tight_layout()
plt.show()

assert listing_change[:k].max() > 1e-4, "the listing should see the future"
assert gpt_change[:k].max() == 0.0, "zoo's GPT must not see the future"
assert gpt_change[k:].max() > 0  # ... but it does read the changed token itself

# %% [markdown]
# The listing's earlier predictions move: its backward GRU has read position
# k, so in training it can copy each answer from the input. zoo's GPT gives
# **exactly** the same logits before k (a masked attention weight is exactly
# 0), and different ones from k on.

# %% [markdown]
# ## Train
#
# The first steps are slow while XLA compiles the training step. The loss is
# the cross-entropy in nats per character; $\ln V$ is what uniform guessing
# scores.
#
#
# `zoo.recipes.train_language_model` is what `zoo train gpt` runs: the preset
# (`build_gpt_preset`), `compile_model`, the same windows and
# `zoo.training.train`. It builds its own copy of the model above.

# %%
notebook_corpus = corpus.head(
    TRAIN_CHARS, VALID_CHARS, VALID_CHARS
)  # the notebook's slices
start = time.perf_counter()
run = train_language_model(
    "gpt",
    notebook_corpus,
    tokenizer=tokenizer,
    preset=PRESET,
    num_layers=NUM_LAYERS,
    epochs=EPOCHS,
    steps_per_epoch=STEPS_PER_EPOCH,
    seq_len=CONTEXT,
    batch_size=BATCH_SIZE,
    learning_rate=LEARNING_RATE,
    seed=SEED,
    verbose=2,
)
model, history = run.model, run.history
print(
    f"trained {EPOCHS * STEPS_PER_EPOCH} steps in {time.perf_counter() - start:.0f} s"
)

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
plot_history(history, ax=ax)
ax.axhline(np.log(V), color="grey", linestyle=":", label="ln V (uniform)")
ax.set_title(f"GPT ({PRESET} preset) on Shakespeare, characters")
ax.legend()
plt.show()
assert history["loss"][-1] < np.log(V)

# %% [markdown]
# ## Evaluate
#
# Validation perplexity: $\exp$ of the mean loss over **all** validation
# characters (summed over the whole set, not averaged per batch). Uniform
# guessing scores V.

# %%
scores = evaluate(model, valid_ds)
print(
    f"validation perplexity: {scores['perplexity']:.2f} "
    f"over {scores['tokens']:,} characters (uniform guessing: {V})"
)
assert scores["perplexity"] < V
# fit's val_perplexity is the same whole-set number (zoo's Perplexity metric)
assert np.isclose(scores["perplexity"], history["val_perplexity"][-1], rtol=1e-3)

# %% [markdown]
# ## Generate: decoding settings compared
#
# A GPT can only read `context_length` tokens, and zoo's cache has exactly
# that many slots, so prompt + new tokens must fit in the context (a longer
# prompt is cropped at its start, with a warning).
#
# * **greedy** (`temperature=0`): always the most likely character;
# * **temperature** T: divide the logits by T before the softmax (below 1
#   sharper, above 1 flatter);
# * **top-k**: sample from the k most likely characters only;
# * **top-p** (nucleus): sample from the smallest set whose probability
#   reaches p;
# * **beam search**: keep the `NUM_BEAMS` best partial texts by total
#   log-probability; deterministic.
#
# Every sampled setting takes a `seed`: the same seed gives the same text. For
# each text we also report its average log-probability per new character
# under the model (higher = more "typical" for the model).

# %%
MAX_NEW_TOKENS = CONTEXT - len(PROMPT)  # fills the context exactly
settings = {
    "greedy": dict(temperature=0.0),
    "temperature 1.0": dict(temperature=1.0),
    "top-k 5": dict(top_k=5),
    "top-p 0.9": dict(top_p=0.9),
    f"beam search, {NUM_BEAMS} beams": dict(beam_width=NUM_BEAMS),
}


def mean_log_prob(text):
    """Average log P(next character) over the generated part of `text`."""
    ids = tokenizer.encode(text)  # (P + N,)
    logits = model(ids[None, :-1]).numpy()[0].astype("float64")  # (P + N - 1, V)
    logits -= logits.max(-1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    picked = logp[np.arange(len(ids) - 1), ids[1:]]
    return picked[len(PROMPT) - 1 :].mean()  # the new characters only


def distinct_trigrams(text):
    """Fraction of the generated part's 3-character pieces that are different."""
    new = text[len(PROMPT) :]
    pieces = [new[i : i + 3] for i in range(len(new) - 2)]
    return len(set(pieces)) / len(pieces)


texts, log_probs, variety = {}, {}, {}
for label, kwargs in settings.items():
    texts[label] = generate(
        model, tokenizer, PROMPT, max_new_tokens=MAX_NEW_TOKENS, seed=SEED, **kwargs
    )
    log_probs[label] = mean_log_prob(texts[label])
    variety[label] = distinct_trigrams(texts[label])
    print(
        f"--- {label}: mean log-prob {log_probs[label]:.2f}, "
        f"distinct trigrams {variety[label]:.0%}"
    )
    print(texts[label], "\n")

# %% [markdown]
# Three checks: the same seed gives the same text; another seed gives
# another text; beam search with one beam is greedy decoding.

# %%
again = generate(
    model, tokenizer, PROMPT, max_new_tokens=MAX_NEW_TOKENS, top_p=0.9, seed=SEED
)
other = generate(
    model, tokenizer, PROMPT, max_new_tokens=MAX_NEW_TOKENS, top_p=0.9, seed=SEED + 1
)
one_beam = generate(  # beam search ignores the temperature; 0 reuses greedy's step
    model, tokenizer, PROMPT, max_new_tokens=MAX_NEW_TOKENS, beam_width=1, temperature=0
)
assert again == texts["top-p 0.9"] and other != again
assert one_beam == texts["greedy"]
print("same seed, same text; another seed, another text; 1 beam == greedy")

# %% [markdown]
# What to look for: greedy decoding and beam search are deterministic and
# pick likely characters (a high log-probability per character), but they
# repeat themselves (few distinct trigrams); sampling at temperature 1 (the
# model's own distribution) is more varied and less likely under the model;
# top-k and top-p cut off the unlikely tail, where misspellings come from.

# %%
assert log_probs["greedy"] > log_probs["temperature 1.0"]
assert variety["greedy"] <= variety["temperature 1.0"]

# %% [markdown]
# ## Cached decoding equals full-prefix decoding
#
# `generate` does not re-read the prefix for every new character (docs/pitfalls.md
# #9). `GPTStepper` keeps each block's keys and values in a cache of
# `context_length` slots and runs **one** position per step. A causal model
# gives the same logits either way; `step_logits` runs the cached steps over
# a window:

# %%
window = x[:2].numpy()  # (2, T)
full = model(window).numpy()  # (2, T, V): the whole window at once
cached = step_logits(model, window)  # one token at a time, with the cache
print("largest difference:", np.abs(cached - full).max())
np.testing.assert_allclose(cached, full, atol=1e-4)

# %% [markdown]
# And on generated text: greedy decoding by re-running the model on the whole
# prefix for every new character (the slow way, never `model.predict` in a
# loop in real code) gives the same text as `generate`'s cached decoding.
# `generate` never emits the reserved ids (padding, unknown, ...), so the
# slow loop skips them too.

# %%
start = time.perf_counter()
ids = list(tokenizer.encode(PROMPT))
for _ in range(MAX_NEW_TOKENS):
    last = model(np.array([ids])).numpy()[0, -1].copy()  # (V,) next-token logits
    last[list(NEVER_SAMPLED)] = -np.inf
    ids.append(int(last.argmax()))
slow_text = tokenizer.decode(ids)
slow_seconds = time.perf_counter() - start

start = time.perf_counter()
fast_text = generate(
    model, tokenizer, PROMPT, max_new_tokens=MAX_NEW_TOKENS, temperature=0.0
)
fast_seconds = time.perf_counter() - start
print(f"full prefix each step: {slow_seconds:.2f} s   cached: {fast_seconds:.2f} s")
print(repr(fast_text))
assert slow_text == fast_text == texts["greedy"]

# %% [markdown]
# ## Summary
#
# * Section 4's formula is a softmax over scores $w^T h_t$; with $w$ the rows
#   of the token embedding, the output layer *is* the input embedding:
#   one (V, C) variable, used twice, V × C fewer parameters.
# * Document 003's listing is not GPT-2: its bidirectional GRU changes
#   earlier predictions when a later token changes, and its loss reads
#   logits as probabilities (clipped and renormalised) without any error.
# * zoo's `build_gpt` is a causal Transformer: earlier logits are exactly
#   unchanged by later tokens; it emits logits and trains with
#   `from_logits=True`.
# * The "laptop" preset (4 layers, 4 heads, width 128, context 64) trains on
#   a CPU; perplexity is token-weighted over the whole validation set.
# * Greedy and beam search are deterministic; temperature, top-k and top-p
#   sample, reproducibly with a seed. Cached decoding gives the same logits
#   and the same text as re-reading the prefix.
#
# ## Exercises
#
# 1. Train with `tie_embeddings=False` and the same steps. Compare the
#    parameter count and the validation perplexity.
# 2. Move the changed position of the future test to `k = 1` and
#    `k = CONTEXT - 1`. Which positions of zoo's GPT move each time?
# 3. Generate with `temperature=0.01` and with `temperature=0.0`. Are the
#    texts equal? Why?
# 4. Print the 10 most likely next characters after `PROMPT` with their
#    probabilities (hint: softmax of `model(ids)[0, -1]`). Which of them
#    does `top_p=0.9` keep?
# 5. Time `generate` against the full-prefix loop for 60 new characters with
#    the laptop preset. How does each grow with the number of characters?
# 6. `count_gpt_params(50257, **GPT_PRESETS["gpt2_small"])`: how much of
#    GPT-2 small is its token embedding?
# 7. `train_language_model("gpt", ...)` trains with the GPT family's recipe
#    (`zoo.registry`, nanoGPT's): AdamW, whose weight decay is decoupled from
#    the gradient step and spares biases, norms and embeddings, and a
#    learning-rate schedule of linear warm-up then cosine decay. Train again
#    with `optimizer="adam", weight_decay=0.0, schedule="constant"` and compare
#    the two loss curves. Then train for more epochs with early stopping
#    (`early_stopping=2`): when does it stop, and which epoch's weights does the
#    model keep?

# %% [markdown]
# ## 小结
#
# * 第 4 节的公式是对打分 $w^T h_t$ 做 softmax；当 $w$ 取词元嵌入矩阵的行时，
#   输出层*就是*输入嵌入：一个 (V, C) 变量用了两次，少了 V × C 个参数。
# * 文档 003 的代码清单不是 GPT-2：后面的词元一变，它的双向 GRU
#   就改变前面的预测；它的损失函数把 logits 当成概率来读（先裁剪再重新归一化），
#   且不报任何错。
# * zoo 的 `build_gpt` 是一个因果 Transformer：前面的 logits
#   完全不受后面词元的影响；它输出 logits，并用 `from_logits=True` 训练。
# * “laptop” 预设（层数、头数、宽度和上下文长度见上文的预设表）能在 CPU 上训练；
#   困惑度在整个验证集上按词元加权计算。
# * 贪心解码和束搜索是确定性的；温度、top-k 和 top-p 是采样，给定种子即可复现。
#   带缓存的解码与重新读取前缀给出相同的 logits 和相同的文本。
#
# ## 练习
#
# 1. 用 `tie_embeddings=False` 以相同的步数训练。比较参数量和验证集困惑度。
# 2. 把未来测试中被改动的位置移到 `k = 1` 和 `k = CONTEXT - 1`。每次 zoo 的 GPT
#    有哪些位置会变？
# 3. 分别用 `temperature=0.01` 和 `temperature=0.0` 生成。文本相同吗？为什么？
# 4. 打印 `PROMPT` 之后最可能的 10 个下一个字符及其概率（提示：对
#    `model(ids)[0, -1]` 做 softmax）。其中哪些会被 `top_p=0.9` 保留？
# 5. 在 laptop 预设下，对 60 个新字符比较 `generate` 与完整前缀循环的用时。
#    两者各自如何随字符数增长？
# 6. `count_gpt_params(50257, **GPT_PRESETS["gpt2_small"])`：GPT-2 small
#    的参数中有多大比例是词元嵌入？
# 7. `train_language_model("gpt", ...)` 使用 GPT
#    模型族的训练配方（`zoo.registry`，来自 nanoGPT）：
#    AdamW（它的权重衰减与梯度步骤解耦，并且不作用于偏置、归一化层和嵌入），
#    以及先线性预热、再余弦衰减的学习率调度。改用
#    `optimizer="adam", weight_decay=0.0, schedule="constant"` 再训练一次，
#    比较两条损失曲线。然后加上早停（`early_stopping=2`）训练更多轮：
#    它在什么时候停下？模型保留的是哪一轮的权重？
