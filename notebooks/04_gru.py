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
# # 04 · A GRU language model, and a "GPT-2" that sees the future
#
# **Goal:** read document 003's "GPT-2" listing, find its two bugs with small
# experiments, and train a GRU language model that does it right.
#
# Shape letters: **B** batch, **T** time, **E** embedding size, **V**
# vocabulary size.
#
# **Glossary (术语表):** [docs/glossary.md](../docs/glossary.md) gives every
# term of these notebooks in English and Chinese, with a one-line definition.
# The Summary and Exercises are also in Chinese, at the end (小结, 练习).

# %% [markdown]
# ## Introduction
#
# Document 003, section **4. 数学模型和公式详细讲解举例说明**, says:
#
# > 我们以GPT-2为例子来说明大规模语言模型的数学模型和公式。
# > GPT-2是一个基于Transformer架构的语言模型。其核心公式如下：
# >
# > $$P(w_{t+1} | w_{t}, w_{t-1}, ..., w_{1})
# >   = \frac{1}{Z(w_{t})} e^{s(w_{t+1}, h_{t})}$$
# >
# > $$s(w_{t+1}, h_{t}) = w_{t+1}^T h_{t}$$
#
# Read the left side carefully: the next word $w_{t+1}$ depends only on the
# words **before** it, $w_t, \dots, w_1$. A language model must not look
# ahead. The right side is a softmax: the score $s$ is a **logit**, and
# $Z$ adds up $e^{s}$ over the whole vocabulary.
#
# Then section **5. 项目实践：代码实例和详细解释说明**:
#
# > 我们可以使用Python和TensorFlow来实现GPT-2。
# > ……
# > 然后，使用以下代码来实现GPT-2：
#
# The code that follows is not a Transformer. It is a bidirectional GRU. In
# this notebook we:
#
# 1. build the listing as written and read its errata;
# 2. show, with a tiny example, what its loss does to logits;
# 3. write the GRU's equations, run one step in numpy and check it against
#    zoo's layer;
# 4. show that the listing sees the future, and that zoo's `build_gru` does
#    not;
# 5. train zoo's GRU, measure perplexity, and generate text.

# %% [markdown]
# ## Setup

# %%
import json
import os
import textwrap
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np

import zoo
from zoo import (
    CharTokenizer,
    ZooError,
    build_gru,
    build_simple_rnn,
    compile_model,
    evaluate,
    generate,
    listings,
    load_corpus,
    make_dataset,
    plot_history,
)
from zoo.generation import step_logits
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

TRAIN_CHARS = 50_000 if FAST else None  # None = all 4 M training characters
VALID_CHARS = 10_000 if FAST else None  # None = all 0.37 M validation characters
SEQ_LEN = 64 if FAST else 100  # T: characters per window
BATCH_SIZE = 32  # B
EMBEDDING_DIM = 32 if FAST else 64  # E
UNITS = 64 if FAST else 256  # size of the GRU state h
LEARNING_RATE = 2e-3
EPOCHS = 1 if FAST else 5  # 5 for a readable sample
STEPS_PER_EPOCH = 20 if FAST else 200  # 5 x 200 steps (times: the README table)

LISTING_EMBEDDING_DIM = 16  # the listing leaves its sizes open (zoo's record
LISTING_UNITS = 32  # says 256 / 1024); small here, so it builds in a moment

PROMPT = "Romeo.\n"  # Romeo's speaker line, as the bundled plays write it
MAX_NEW_TOKENS = 100 if FAST else 400  # characters to generate

# The repository's committed measurements (benchmarks/results/), if present.
RESULTS_DIR = next(
    (
        folder / "benchmarks" / "results"
        for folder in (Path(zoo.__file__).resolve().parents[1], Path.cwd().parent)
        if (folder / "benchmarks" / "results").is_dir()
    ),
    None,
)

keras.utils.set_random_seed(SEED)

# %% [markdown]
# ## Data
#
# The bundled Shakespeare plays, one token per character.

# %%
corpus = load_corpus("shakespeare")
print(corpus)
tokenizer = CharTokenizer.fit(corpus.train)
print(tokenizer)

train_ids = tokenizer.encode(corpus.train[:TRAIN_CHARS])  # (N,) int32
valid_ids = tokenizer.encode(corpus.valid[:VALID_CHARS])
train_ds = make_dataset(train_ids, seq_len=SEQ_LEN, batch_size=BATCH_SIZE, seed=SEED)
valid_ds = make_dataset(
    valid_ids, seq_len=SEQ_LEN, batch_size=BATCH_SIZE, training=False
)

x, y = next(iter(train_ds))
print("x:", x.shape, "(B, T)")  # input ids
print("y:", y.shape, "(B, T)")  # targets: y[:, t] == x[:, t + 1]

# %% [markdown]
# Remember this shift: the target at position t is the **input** at position
# t + 1. A model that can read position t + 1 can simply copy the answer.

# %% [markdown]
# ## The listing as written
#
# ### Document 003, 5. 项目实践：代码实例和详细解释说明

# %%
entry = listings.get("003-s5")
print(entry.section)
print(entry.code)

# %% [markdown]
# `build_as_written` builds it, and warns. Note the output shape: (B, T, V),
# a prediction at every position, from a layer with **no** softmax.

# %%
listing_model = entry.build_as_written(
    vocab_size=tokenizer.vocab_size,
    embedding_dim=LISTING_EMBEDDING_DIM,
    rnn_units=LISTING_UNITS,
)
sample = x[:4].numpy()  # (4, T) ids
print("output:", listing_model(sample).shape, "(B, T, V)")
listing_model.summary()

# %%
for number, line in enumerate(entry.errata, start=1):
    print(f"{number}.", line)

# %% [markdown]
# ## Bug 1: logits fed to a loss that expects probabilities
#
# The last `Dense(vocab_size)` has no activation, so the model outputs
# logits: any real numbers. But `loss='sparse_categorical_crossentropy'`
# has `from_logits=False`: it treats the numbers as **probabilities**.
# Keras then clips them into (0, 1) and rescales them to sum to 1. The result
# is not the softmax.
#
# A tiny example: three tokens, one row of logits, each token as the target.

# %%
logits = np.array([[-1.0, 2.0, 0.5]], "float32")  # (1, V) with V = 3
rows = np.repeat(logits, 3, axis=0)  # the same logits, three times
targets = np.array([0, 1, 2])  # a different correct token each time

listing_loss = keras.losses.sparse_categorical_crossentropy(
    targets, rows, from_logits=False
)  # what the listing computes
correct_loss = keras.losses.sparse_categorical_crossentropy(
    targets, rows, from_logits=True
)  # what zoo computes
softmax = np.exp(logits[0]) / np.exp(logits[0]).sum()  # e^s / Z, as in section 4
by_hand = -np.log(softmax[targets])

print("target  listing (from_logits=False)  zoo (from_logits=True)  -log softmax")
for t in targets:
    print(
        f"{t:6d}  {float(listing_loss[t]):27.4f}  {float(correct_loss[t]):22.4f}"
        f"  {by_hand[t]:11.4f}"
    )
np.testing.assert_allclose(correct_loss, by_hand, rtol=1e-5)

# %% [markdown]
# With `from_logits=True` the loss is $-\log$ of the softmax, exactly
# section 4's $\frac{1}{Z} e^{s}$. With `from_logits=False` it is not: the
# negative logit of token 0 becomes a near-zero "probability" (loss above
# 16), and the best token's loss is wrong too. Training still runs, with no
# error, on the wrong objective.
#
# zoo's models emit logits, and zoo's one compile function always says
# `from_logits=True`.

# %% [markdown]
# ## The zoo version
#
# zoo's recurrent factories **refuse** `bidirectional=True`:

# %%
try:
    build_gru(tokenizer.vocab_size, bidirectional=True)
except ZooError as err:
    print("ZooError:", textwrap.fill(str(err), 84, subsequent_indent="   "))

# %% [markdown]
# The zoo call for this listing, and our notebook-sized model. It reads left
# to right only, and maps the GRU state straight to the logits.

# %%
print("003-s5 ->", entry.zoo_call)
model = build_gru(
    tokenizer.vocab_size, embedding_dim=EMBEDDING_DIM, units=UNITS, compile=False
)
compile_model(model, learning_rate=LEARNING_RATE)  # logits loss, perplexity, XLA
print("XLA (jit_compile):", model.jit_compile)
model.summary()

# %% [markdown]
# ### The GRU in one step
#
# A GRU (Cho et al., 2014) is an LSTM with two gates instead of three and no
# separate cell state. With $\sigma$ the sigmoid and $\odot$ elementwise
# product:
#
# $$
# \begin{aligned}
# z_t &= \sigma(W_z x_t + b_z + U_z h_{t-1} + \bar b_z)
#   && \text{update gate: how much of the old state to keep}\\
# r_t &= \sigma(W_r x_t + b_r + U_r h_{t-1} + \bar b_r)
#   && \text{reset gate: how much of the old state the candidate reads}\\
# \tilde h_t &= \tanh\bigl(W_h x_t + b_h + r_t \odot (U_h h_{t-1} + \bar b_h)\bigr)
#   && \text{candidate state}\\
# h_t &= z_t \odot h_{t-1} + (1 - z_t) \odot \tilde h_t
# \end{aligned}
# $$
#
# Two conventions, both Keras's:
#
# * **`reset_after=True`** (Keras's default, and cuDNN's form): the reset
#   gate multiplies the recurrent product $U_h h_{t-1} + \bar b_h$, *after*
#   the matrix product, so every gate has two biases, $b$ on the input side
#   and $\bar b$ on the recurrent side. Cho et al.'s original GRU
#   (`reset_after=False`) resets *before* it, $U_h (r_t \odot h_{t-1})$, and
#   has one bias per gate.
# * $z_t$ is the share of the **old** state that is kept, as in Cho et al.;
#   some texts swap the roles of $z_t$ and $1 - z_t$.
#
# Keras stores the three $W$ side by side in one `kernel` (E, 3·units), in
# the order z, r, h; the three $U$ in `recurrent_kernel` (units, 3·units);
# and the biases in `bias` (2, 3·units): row 0 is $b$, row 1 is $\bar b$.
# zoo's `build_gru` builds `FusedGRU` (`zoo.layers.fused`), Keras's `GRU`
# with the same weights and a hand-written backward pass. We write one step
# in numpy, check it against the layer's cell, then run it over a whole
# window and check it against the layer itself.

# %%
gru = model.get_layer("gru_1")
cell = gru.cell
print(type(gru).__name__, "reset_after =", cell.reset_after)
print("W, kernel:          ", tuple(cell.kernel.shape), "(E, 3 * units)")
print("U, recurrent_kernel:", tuple(cell.recurrent_kernel.shape), "(units, 3 * units)")
print("b and b-bar, bias:  ", tuple(cell.bias.shape), "(2, 3 * units)")


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def gru_step(x_t, h_prev, W, U, bias):
    """One GRU step (reset_after=True) in numpy: (B, E), (B, units) -> h_t."""
    b, b_bar = bias  # (3 * units,) each: input side, recurrent side
    x_z, x_r, x_h = np.split(x_t @ W + b, 3, axis=-1)  # each (B, units)
    h_z, h_r, h_h = np.split(h_prev @ U + b_bar, 3, axis=-1)  # each (B, units)
    z = sigmoid(x_z + h_z)  # update gate
    r = sigmoid(x_r + h_r)  # reset gate
    candidate = np.tanh(x_h + r * h_h)  # reset after the matrix product
    return z * h_prev + (1 - z) * candidate  # keep z of the old state


weights = cell.kernel.numpy(), cell.recurrent_kernel.numpy(), cell.bias.numpy()
rng = np.random.default_rng(SEED)
x_t = rng.normal(size=(2, EMBEDDING_DIM)).astype("float32")  # (B, E)
h_prev = rng.normal(size=(2, UNITS)).astype("float32")  # (B, units)
h_keras, _ = cell(x_t, [h_prev])
np.testing.assert_allclose(gru_step(x_t, h_prev, *weights), h_keras, atol=1e-5)
print("numpy GRU step == keras GRUCell")

vectors = model.get_layer("embedding")(x[:2]).numpy()  # (B, T, E): a real window
h = np.zeros((2, UNITS), "float32")  # h_0 = 0
states = []
for t in range(vectors.shape[1]):
    h = gru_step(vectors[:, t], h, *weights)
    states.append(h)
ours = np.stack(states, axis=1)  # (B, T, units)
np.testing.assert_allclose(ours, gru(vectors).numpy(), atol=1e-4)
print(f"numpy GRU over {vectors.shape[1]} steps == zoo's {type(gru).__name__} layer")

# %% [markdown]
# ### Three gates' worth of weights: what they cost
#
# A GRU has three $W$, three $U$ and six biases where a SimpleRNN has one
# $W$, one $U$ and one bias. We count both layers at the same sizes, then
# read the committed measurements of both models at `zoo train`'s default
# sizes on one machine (the README's model table, `benchmarks/readme_table.py`,
# and its speed benchmark, `benchmarks/speed.py`) and print the ratios:

# %%
rnn_layer = build_simple_rnn(
    tokenizer.vocab_size, embedding_dim=EMBEDDING_DIM, units=UNITS, compile=False
).get_layer("simple_rnn_1")
print(f"SimpleRNN layer: {rnn_layer.count_params():,} weights")
print(f"GRU layer:       {gru.count_params():,} weights")
print(f"GRU / SimpleRNN: {gru.count_params() / rnn_layer.count_params():.2f}x")

if RESULTS_DIR is None:
    print("no results: run benchmarks/readme_table.py and benchmarks/speed.py")
else:
    table = json.loads((RESULTS_DIR / "readme_table.json").read_text())["rows"]
    epoch_s = {  # the n-gram rows have a fit time instead
        row["model"]: row["epoch_seconds_median"]
        for row in table
        if "epoch_seconds_median" in row
    }
    speed = json.loads((RESULTS_DIR / "speed.json").read_text())["training"]
    tokens_s = {name: row["tokens_per_s"]["zoo"] for name, row in speed.items()}
    for name in ("simple_rnn", "gru"):
        print(
            f"{name:10s} {epoch_s[name]:5.1f} s per epoch, "
            f"{tokens_s[name]:8,.0f} training tokens/s"
        )
    print(
        "GRU / SimpleRNN: "
        f"{epoch_s['gru'] / epoch_s['simple_rnn']:.1f}x the time per epoch, "
        f"{tokens_s['simple_rnn'] / tokens_s['gru']:.1f}x the time per token"
    )

# %% [markdown]
# ## Bug 2: the listing sees the future
#
# The experiment: take one window of text. Change **one** character in the
# middle, at position k. Run the model on both versions and compare the
# logits at every position.
#
# A causal model (the formula of section 4) must give **the same** logits at
# every position before k: those predictions have not seen position k.
#
# The weights do not matter here (both models are still untrained). What
# matters is which positions can reach which.

# %%
window = x[0].numpy()  # (T,) ids
k = SEQ_LEN // 2
changed = window.copy()
changed[k] = tokenizer.token_to_id("z" if tokenizer.decode([window[k]]) != "z" else "q")
print(
    f"position {k}: {tokenizer.decode([window[k]])!r} -> "
    f"{tokenizer.decode([changed[k]])!r}"
)


listing_change = logit_change(listing_model, window, changed)
zoo_change = logit_change(model, window, changed)
print(f"largest change before position {k}:")
print(f"  listing (bidirectional GRU): {listing_change[:k].max():.2e}")
print(f"  zoo build_gru:               {zoo_change[:k].max():.2e}")

# %%
fig, ax = plt.subplots(figsize=(7, 2.8))
changes = {
    "listing 003-s5 (Bidirectional GRU)": listing_change,
    "zoo build_gru (left to right)": zoo_change,
}
plot_logit_change(changes, k, ax=ax)
fig.tight_layout()
plt.show()

# %%
assert listing_change[:k].max() > 0, "the listing should see the future"
assert zoo_change[:k].max() == 0, "zoo's GRU must not see the future"
print("the listing sees the future; zoo's GRU does not")

# %% [markdown]
# The listing's predictions before k move: its backward GRU has read
# position k. During training it can read each answer from the input and
# copy it, so its loss falls fast and means nothing. At generation time the
# future does not exist yet, so it cannot write text left to right.
#
# A causal model can also run **one token at a time** and get the same
# numbers. That is how `zoo.generate` works. `step_logits` checks it:

# %%
full = model(window[None]).numpy()  # the whole window at once: (1, T, V)
stepped = step_logits(model, window[None])  # one character at a time
np.testing.assert_allclose(stepped, full, atol=1e-5)
print("step by step == whole window")

# %% [markdown]
# ## Train
#
# The first steps are slow while XLA compiles the training step.
# `zoo.recipes.train_language_model` is what `zoo train gru` runs: the
# factory and `compile_model` as above, the same windows, and
# `zoo.training.train`. It builds its own copy of the model above.

# %%
notebook_corpus = corpus.head(
    TRAIN_CHARS, VALID_CHARS, VALID_CHARS
)  # the notebook's slices
run = train_language_model(
    "gru",
    notebook_corpus,
    tokenizer=tokenizer,
    epochs=EPOCHS,
    steps_per_epoch=STEPS_PER_EPOCH,
    seq_len=SEQ_LEN,
    batch_size=BATCH_SIZE,
    learning_rate=LEARNING_RATE,
    seed=SEED,
    embedding_dim=EMBEDDING_DIM,
    units=UNITS,
)
model, history = run.model, run.history

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
plot_history(history, ax=ax)  # training and validation loss per epoch
ax.set_title("GRU on Shakespeare")
plt.show()

# %% [markdown]
# ## Evaluate
#
# Validation perplexity: $\exp$ of the mean loss over all validation
# characters. Uniform guessing scores V.

# %%
scores = evaluate(model, valid_ds)
print(
    f"validation perplexity: {scores['perplexity']:.2f} "
    f"over {scores['tokens']:,} characters"
)
print(f"uniform guessing:      {tokenizer.vocab_size:.2f}")

# %% [markdown]
# ## Generate
#
# Temperature 0 is greedy; 0.7 is sharper; 1.0 is the model's own
# distribution; `top_k=5` keeps the 5 most likely characters.

# %%
for temperature in (0.0, 0.7, 1.0):
    text = generate(
        model,
        tokenizer,
        PROMPT,
        max_new_tokens=MAX_NEW_TOKENS,
        temperature=temperature,
        seed=SEED,
    )
    print(f"--- temperature={temperature}\n{text}\n")

text = generate(
    model,
    tokenizer,
    PROMPT,
    max_new_tokens=MAX_NEW_TOKENS,
    temperature=1.0,
    top_k=5,
    seed=SEED,
)
print(f"--- temperature=1.0, top_k=5\n{text}")

# %% [markdown]
# The listing's model cannot do this at all:

# %%
try:
    generate(listing_model, tokenizer, PROMPT, max_new_tokens=10)
except ZooError as err:
    print("ZooError:", textwrap.fill(str(err), 84, subsequent_indent="   "))

# %% [markdown]
# ## What GPT-2 really is
#
# As section 4 of the same text says, GPT-2 is a **Transformer**: a stack of
# decoder blocks with masked (causal) self-attention, and no recurrence.
# The mask does what "left to right" does here: position t may look at
# positions 1..t only. zoo's GPT is that model (`zoo.build_gpt`, notebook
# 08). Our GRU is a good recurrent language model, not GPT-2.

# %% [markdown]
# ## Summary
#
# * Document 003's "GPT-2" listing is an Embedding, a **bidirectional** GRU
#   and two Dense layers. It is not GPT-2.
# * Bug 1: it outputs logits but its loss expects probabilities
#   (`from_logits=False`). Keras computes a wrong loss without any error.
# * Bug 2: its backward GRU reads later tokens, so earlier predictions change
#   when a later token changes. It cheats in training and cannot generate.
# * A GRU has an update gate $z_t$ and a reset gate $r_t$; Keras resets after
#   the recurrent matrix product (`reset_after=True`) and keeps $z_t$ of the
#   old state. Our numpy step equals Keras's `GRUCell`, and over a window it
#   equals zoo's `FusedGRU`.
# * zoo's `build_gru` refuses `bidirectional=True`, reads left to right, emits
#   logits, and gives the same logits step by step as on the whole window.
#
# ## Exercises
#
# 1. Move the changed position: `k = 5` and `k = SEQ_LEN - 5`. How far back
#    does the listing's change reach? Why does it get smaller far from k?
# 2. Compile the listing with `compile_model(listing_model)` (correct loss)
#    and train it with the same settings as the GRU. Compare the validation
#    perplexities. Why is the listing's number "too good to be true"?
# 3. Repeat the loss example with `logits = [[2.0, 1.0, 0.1]]` (all
#    positive). Are the two losses equal now? When would they be?
# 4. Section 4 writes $s(w_{t+1}, h_t) = w_{t+1}^T h_t$. Which weights of
#    our model play the role of $w_{t+1}$? (Hint: look at the `logits` layer's
#    kernel, shape (units, V).)
# 5. Train `build_lstm` with the same sizes and steps (notebook 03). Which
#    has fewer parameters, and which reaches lower perplexity?
# 6. Call `gru_step` with a copy of the bias whose update-gate part
#    `bias[0, :UNITS]` is set to 10. Compare `h_t` with `h_prev`. Then set it
#    to -10. Which setting lets the GRU carry a state across many steps?

# %% [markdown]
# ## 小结
#
# * 文档 003 的“GPT-2”代码清单由一个 Embedding、一个**双向** GRU 和两个 Dense
#   层组成。它不是 GPT-2。
# * 错误一：它输出 logits，但它的损失函数期望的是概率（`from_logits=False`）。
#   Keras 算出错误的损失，却不报任何错。
# * 错误二：它的反向 GRU 读取了后面的词元，所以后面的词元一变，
#   前面的预测就跟着变。它在训练时作弊，也无法生成文本。
# * GRU 有一个更新门 $z_t$ 和一个重置门 $r_t$；Keras 在循环矩阵乘法之后才施加
#   重置门（`reset_after=True`），并用 $z_t$ 表示保留旧状态的比例。我们用 numpy
#   写的一步与 Keras 的 `GRUCell` 相同，在整个窗口上与 zoo 的 `FusedGRU` 相同。
# * zoo 的 `build_gru` 拒绝 `bidirectional=True`，从左到右读取，输出 logits，
#   并且逐步运行与整个窗口一次运行给出相同的 logits。
#
# ## 练习
#
# 1. 移动被改动的位置：`k = 5` 和 `k = SEQ_LEN - 5`。
#    代码清单的改变能往前传到多远？为什么离 k 越远，改变越小？
# 2. 用 `compile_model(listing_model)`（正确的损失）编译代码清单的模型，用与 GRU
#    相同的设置训练它。比较两者的验证集困惑度。
#    为什么代码清单的数字“好得令人难以置信”？
# 3. 用 `logits = [[2.0, 1.0, 0.1]]`（全为正数）重做损失的例子。
#    两个损失现在相等吗？什么情况下它们会相等？
# 4. 第 4 节写的是 $s(w_{t+1}, h_t) = w_{t+1}^T h_t$。我们的模型中哪些权重扮演
#    $w_{t+1}$ 的角色？（提示：看 `logits` 层的核（kernel），形状为 (units,
#    V)。）
# 5. 用相同的规模和步数训练 `build_lstm`（笔记本 03）。哪一个参数更少？
#    哪一个达到更低的困惑度？
# 6. 用一份偏置的副本调用 `gru_step`，把其中更新门的部分 `bias[0, :UNITS]`
#    设为 10，比较 `h_t` 和 `h_prev`。再把它设为 -10。
#    哪一种设置让 GRU 能把状态带过很多步？
