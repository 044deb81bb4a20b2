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
# # 03 · An LSTM language model (LSTM语言模型)
#
# **Goal:** see how an LSTM's gates work, read the texts' two LSTM listings,
# and train zoo's LSTM on Shakespeare.
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
# Document 000, section **3.2 LSTM**, gives the idea:
#
# > LSTM是一种改进的RNN，它能够解决RNN在处理长距离依赖关系时的梯度消失问题。
# > LSTM使用门控机制来控制信息流，并且能够学习长距离依赖关系。
# > 因此，LSTM在处理长文本序列时表现更好。
#
# "门控机制" (gating) is the key word. A gate is a vector of numbers between
# 0 and 1. It multiplies another vector: 0 blocks, 1 lets through.
#
# Then document 000, **4.2 使用LSTM构建语言模型**, gives a Keras listing:
#
# > 在这个例子中，我们将使用LSTM构建一个简单的语言模型。
# > 我们将使用Python和TensorFlow进行编写。
#
# Document 002, **项目实践：代码实例和详细解释说明**, also promises an RNN and
# then writes an LSTM:
#
# > 我们将使用Python和TensorFlow来实现一个简单的RNN语言模型。
#
# In this notebook we:
#
# 1. write one LSTM step in numpy and check it against Keras;
# 2. build both listings as written and read their errata;
# 3. see why zoo's models take token ids, not vectors;
# 4. train zoo's LSTM, measure held-out perplexity, and generate text.

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
    build_lstm,
    build_simple_rnn,
    compile_model,
    evaluate,
    generate,
    listings,
    load_corpus,
    make_dataset,
    plot_history,
)
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
TEST_CHARS = 10_000 if FAST else None  # None = all 0.46 M test characters
SEQ_LEN = 64 if FAST else 100  # T: characters per window
BATCH_SIZE = 32  # B
EMBEDDING_DIM = 32 if FAST else 64  # E
UNITS = 64 if FAST else 256  # size of h and of the cell state c
LEARNING_RATE = 2e-3
EPOCHS = 1 if FAST else 5  # 5 for a readable sample
STEPS_PER_EPOCH = 20 if FAST else 200  # 5 x 200 steps (times: the README table)

LISTING_EMBEDDING_DIM = 16  # the listings' sizes (up to 256 / 1024) are far bigger;
LISTING_UNITS = 32  # small here, so "as written" builds in a moment

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
# The bundled Shakespeare plays, one token per character. Validation and test
# are whole plays that the model never sees in training.

# %%
corpus = load_corpus("shakespeare")
print(corpus)
tokenizer = CharTokenizer.fit(corpus.train)
print(tokenizer)

train_ids = tokenizer.encode(corpus.train[:TRAIN_CHARS])  # (N,) int32
valid_ids = tokenizer.encode(corpus.valid[:VALID_CHARS])
test_ids = tokenizer.encode(corpus.test[:TEST_CHARS])

train_ds = make_dataset(train_ids, seq_len=SEQ_LEN, batch_size=BATCH_SIZE, seed=SEED)
valid_ds = make_dataset(
    valid_ids, seq_len=SEQ_LEN, batch_size=BATCH_SIZE, training=False
)
test_ds = make_dataset(test_ids, seq_len=SEQ_LEN, batch_size=BATCH_SIZE, training=False)

x, y = next(iter(train_ds))
print("x:", x.shape, "(B, T)")  # input ids
print("y:", y.shape, "(B, T)")  # next ids: y[:, t] == x[:, t + 1]

# %% [markdown]
# ## LSTM gates in one step
#
# A SimpleRNN (notebook 02) rewrites its whole state at every step. An LSTM
# keeps a second state, the **cell** $c_t$, and changes it only through
# gates. With $\sigma$ the sigmoid (values in 0..1) and $\odot$ elementwise
# product:
#
# $$
# \begin{aligned}
# i_t &= \sigma(W_i x_t + U_i h_{t-1} + b_i) && \text{input gate: what to write}\\
# f_t &= \sigma(W_f x_t + U_f h_{t-1} + b_f) && \text{forget gate: what to keep}\\
# g_t &= \tanh(W_g x_t + U_g h_{t-1} + b_g) && \text{candidate values}\\
# o_t &= \sigma(W_o x_t + U_o h_{t-1} + b_o) && \text{output gate: what to show}\\
# c_t &= f_t \odot c_{t-1} + i_t \odot g_t\\
# h_t &= o_t \odot \tanh(c_t)
# \end{aligned}
# $$
#
# The line $c_t = f_t \odot c_{t-1} + \dots$ is the point of 3.2. When
# $f_t \approx 1$, the cell carries information forward unchanged, and the
# gradient flows back through it without shrinking at every step.
#
# Keras stores the four $W$ matrices side by side in one `kernel` of shape
# (E, 4·units), in the order i, f, g, o. The same for $U$ (`recurrent_kernel`)
# and $b$ (`bias`). Let us write one step in numpy and compare.

# %%
probe = build_lstm(
    tokenizer.vocab_size, embedding_dim=EMBEDDING_DIM, units=UNITS, compile=False
)
cell = probe.get_layer("lstm_1").cell
print("W, kernel:          ", tuple(cell.kernel.shape), "(E, 4 * units)")
print("U, recurrent_kernel:", tuple(cell.recurrent_kernel.shape), "(units, 4 * units)")
print("b, bias:            ", tuple(cell.bias.shape), "(4 * units,)")


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_step(x_t, h_prev, c_prev, W, U, b):
    """One LSTM step in numpy: (B, E), (B, units), (B, units) -> h_t, c_t."""
    z = x_t @ W + h_prev @ U + b  # (B, 4 * units): all four gates at once
    z_i, z_f, z_g, z_o = np.split(z, 4, axis=-1)  # each (B, units)
    i, f, g, o = sigmoid(z_i), sigmoid(z_f), np.tanh(z_g), sigmoid(z_o)
    c_t = f * c_prev + i * g  # keep some of the old cell, write some new
    h_t = o * np.tanh(c_t)  # show part of the cell
    return h_t, c_t


rng = np.random.default_rng(SEED)
x_t = rng.normal(size=(2, EMBEDDING_DIM)).astype("float32")  # (B, E)
h_prev = rng.normal(size=(2, UNITS)).astype("float32")  # (B, units)
c_prev = rng.normal(size=(2, UNITS)).astype("float32")

h_ours, c_ours = lstm_step(
    x_t,
    h_prev,
    c_prev,
    cell.kernel.numpy(),
    cell.recurrent_kernel.numpy(),
    cell.bias.numpy(),
)
h_keras, (_, c_keras) = cell(x_t, [h_prev, c_prev])
np.testing.assert_allclose(h_ours, h_keras, atol=1e-5)
np.testing.assert_allclose(c_ours, c_keras, atol=1e-5)
print("numpy LSTM step == keras LSTMCell")

# %% [markdown]
# ### Four gates: the weights and the time they cost
#
# Four gates means four $W$, four $U$ and four $b$ where a SimpleRNN
# (notebook 02) has one of each. We count both layers at the same sizes:

# %%
rnn_layer = build_simple_rnn(
    tokenizer.vocab_size, embedding_dim=EMBEDDING_DIM, units=UNITS, compile=False
).get_layer("simple_rnn_1")
lstm_layer = probe.get_layer("lstm_1")
print(f"SimpleRNN layer: {rnn_layer.count_params():,} weights")
print(f"LSTM layer:      {lstm_layer.count_params():,} weights")
assert lstm_layer.count_params() == 4 * rnn_layer.count_params()

# %% [markdown]
# Does four times the weights cost four times the time? The weights alone do
# not decide it: the steps of the recurrence run one after the other whatever
# the layer's size, and a larger matrix product keeps the CPU busier at each
# step. The README's model table and speed benchmark measured both models at
# `zoo train`'s default sizes on the same machine
# (`benchmarks/readme_table.py`, `benchmarks/speed.py`); this cell reads
# their committed results and prints the measured ratios:

# %%
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
    for name in ("simple_rnn", "lstm"):
        print(
            f"{name:10s} {epoch_s[name]:5.1f} s per epoch, "
            f"{tokens_s[name]:8,.0f} training tokens/s"
        )
    print(
        "LSTM / SimpleRNN: "
        f"{epoch_s['lstm'] / epoch_s['simple_rnn']:.1f}x the time per epoch, "
        f"{tokens_s['simple_rnn'] / tokens_s['lstm']:.1f}x the time per token"
    )

# %% [markdown]
# ## The listings as written
#
# ### Document 000, 4.2 使用LSTM构建语言模型


# %%
entry_000 = listings.get("000-4.2")
print(entry_000.code)

# %% [markdown]
# Built as written (the text leaves the sizes open; we choose small ones).
# Like the SimpleRNN listing in notebook 02, it predicts one next character
# per window: output (B, V), after a softmax.

# %%
sample = x[:4].numpy()  # (4, T) ids
as_written_000 = entry_000.build_as_written(
    vocab_size=tokenizer.vocab_size,
    embedding_dim=LISTING_EMBEDDING_DIM,
    lstm_units=LISTING_UNITS,
)
print("output:", as_written_000(sample).shape, "(B, V)")
as_written_000.summary()
for number, line in enumerate(entry_000.errata, start=1):
    print(f"{number}.", line)

# %% [markdown]
# ### Document 002, 项目实践 (the functional listing)

# %%
entry_002 = listings.get("002")
print(entry_002.code)

# %% [markdown]
# Look at the first line: `Input(shape=(None, embedding_dim))`. This model
# takes **vectors**, one per character, shape (B, T, E). It has no
# `Embedding` layer. Someone else must turn ids into vectors first.

# %%
as_written_002 = entry_002.build_as_written(
    vocab_size=tokenizer.vocab_size,
    embedding_dim=LISTING_EMBEDDING_DIM,
    units=LISTING_UNITS,
)
print("input: ", as_written_002.input_shape, "(B, T, E): vectors, not ids")
vectors = (
    np.random.default_rng(SEED)
    .normal(size=(4, SEQ_LEN, LISTING_EMBEDDING_DIM))
    .astype("float32")
)
print("output:", as_written_002(vectors).shape, "(B, V)")
as_written_002.summary()
for number, line in enumerate(entry_002.errata, start=1):
    print(f"{number}.", line)

# %% [markdown]
# ### Why zoo takes token ids
#
# zoo can keep the listing's form: `inputs="embeddings"`. But such a model
# cannot write text by itself. `generate` has only ids to give it:

# %%
print("002 ->", entry_002.zoo_call)
vector_model = entry_002.build_zoo(
    tokenizer.vocab_size,
    embedding_dim=LISTING_EMBEDDING_DIM,
    units=LISTING_UNITS,
    compile=False,
)
try:
    generate(vector_model, tokenizer, PROMPT, max_new_tokens=10)
except ZooError as err:
    print("ZooError:", textwrap.fill(str(err), 84, subsequent_indent="   "))

# %% [markdown]
# So zoo's default is `inputs="tokens"`: the first layer is an `Embedding`,
# part of the model. This way:
#
# * the embedding is **trained** with the rest (the listing never says where
#   its vectors come from);
# * the model maps ids to next-id logits, so `generate` can feed its own
#   output back in;
# * one saved `.keras` file holds everything needed to go from text to text.

# %% [markdown]
# ## The zoo version
#
# Both listings map to `build_lstm`. We use one layer, notebook sizes,
# logits out, and a prediction at every position (`output="sequence"`).

# %%
print("000-4.2 ->", entry_000.zoo_call)
model = build_lstm(
    tokenizer.vocab_size,
    embedding_dim=EMBEDDING_DIM,
    units=UNITS,
    compile=False,
)
compile_model(model, learning_rate=LEARNING_RATE)  # logits loss, perplexity, XLA
print("XLA (jit_compile):", model.jit_compile)
model.summary()

# %% [markdown]
# ## Train
#
# The first steps are slow while XLA compiles the training step.
#
#
# `zoo.recipes.train_language_model` is what `zoo train lstm` runs: the
# factory and `compile_model` as above, the same windows, and
# `zoo.training.train`. It builds its own copy of the model above.

# %%
notebook_corpus = corpus.head(
    TRAIN_CHARS, VALID_CHARS, TEST_CHARS
)  # the notebook's slices
run = train_language_model(
    "lstm",
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
ax.set_title("LSTM on Shakespeare")
plt.show()

# %% [markdown]
# ## Held-out perplexity
#
# `zoo.training.evaluate` adds up the loss of **every** character of a
# held-out text, then takes $\exp$ of the mean. (Averaging per-batch
# perplexities would give a different, wrong number.)
#
# We use the validation plays while we develop, and the test plays **once**,
# at the end.

# %%
valid_scores = evaluate(model, valid_ds)
test_scores = evaluate(model, test_ds)
print(
    f"validation perplexity: {valid_scores['perplexity']:6.2f} "
    f"({valid_scores['tokens']:,} characters)"
)
print(
    f"test perplexity:       {test_scores['perplexity']:6.2f} "
    f"({test_scores['tokens']:,} characters)"
)
print(f"uniform guessing:      {tokenizer.vocab_size:6.2f}")

# %% [markdown]
# ## Which architecture wins? Only at an equal budget can we say
#
# Document 000 (section 3.2) says the LSTM improves on the plain RNN. The
# README's model table seems to say otherwise, but each of its rows is
# trained for its command's default budget, far from convergence, and a
# larger model learns more slowly per step at first. A fair comparison gives
# every model the same budget. `benchmarks/equal_budget.py` trains every
# character model of the table at its defaults for the same number of steps,
# then for the same wall time (each model's own steps per second fill it),
# and writes `benchmarks/results/equal_budget.json`. We read its last run:

# %%
budget_file = None if RESULTS_DIR is None else RESULTS_DIR / "equal_budget.json"
if budget_file is None or not budget_file.exists():
    print("no results yet: run `python benchmarks/equal_budget.py` in the repository")
else:
    budget = json.loads(budget_file.read_text())
    steps, seconds = budget["steps"], budget["seconds"]
    print(
        f"{'model':12s} {'ppl @ ' + format(steps, ',') + ' steps':>18s} "
        f"{'steps in ' + format(seconds, 'g') + ' s':>16s} {'ppl @ time':>11s}"
    )
    for row in budget["rows"]:
        s, t = row["equal_steps"], row["equal_time"]
        print(
            f"{row['model']:12s} {s['val_perplexity']:18.2f} {t['steps']:16,d} "
            f"{t['val_perplexity']:11.2f}"
        )
    for kind in ("equal_steps", "equal_time"):
        best = min(budget["rows"], key=lambda r: r[kind]["val_perplexity"])
        print(f"best at {kind.replace('_', ' ')}: {best['model']}")
    lstm = next(r for r in budget["rows"] if r["model"] == "lstm")
    rnn = next(r for r in budget["rows"] if r["model"] == "simple_rnn")
    print(
        "LSTM against SimpleRNN at equal steps: "
        f"{lstm['equal_steps']['val_perplexity']:.2f} vs "
        f"{rnn['equal_steps']['val_perplexity']:.2f}"
    )

# %% [markdown]
# The ranking moves with the budget: a model that is slower per step gets
# fewer steps in the same time, and a model with more parameters needs more
# steps before its capacity shows. Report a comparison together with its
# budget, and run it at more than one.

# %% [markdown]
# ## Generate
#
# Temperature 0 is greedy; 0.7 is sharper than the model; 1.0 is the model's
# own distribution; `top_k=5` samples only among the 5 most likely
# characters.

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
# ## Summary
#
# * An LSTM adds a cell state $c_t$ and three sigmoid gates (input, forget,
#   output). This is the "门控机制" of document 000, section 3.2. Our numpy
#   step equals Keras's `LSTMCell`.
# * Document 000's listing predicts one character per window and ends in a
#   softmax. Document 002's listing also takes pre-embedded vectors, so it
#   cannot generate text by itself.
# * zoo's `build_lstm` takes ids, owns its embedding, emits logits, and
#   predicts at every position.
# * Perplexity on held-out plays: the whole set's mean loss, then $\exp$.
# * Which architecture wins depends on the budget: compare models at equal
#   steps and at equal wall time (`benchmarks/equal_budget.py`), never at
#   each one's defaults.
#
# ## Exercises
#
# 1. Call `lstm_step` with a copy of the bias whose forget part
#    `b[UNITS:2 * UNITS]` is set to 10. Compare `c_t` with `c_prev`. Why
#    does Keras start this part of the bias at 1 (`unit_forget_bias=True`)?
# 2. Count the LSTM layer's parameters by hand:
#    4 · (E·units + units·units + units). Check it against `model.summary()`.
# 3. Train `build_simple_rnn` (notebook 02) and `build_lstm` with the same
#    `UNITS` and steps. Compare validation perplexity and time per step.
# 4. Document 000's listing stacks two LSTM layers. Train
#    `build_lstm(..., num_layers=2)`. Is the gain worth the time?
# 5. Set `SEQ_LEN = 20`, then `SEQ_LEN = 200`. Which one gives lower
#    perplexity, and why might a longer window help an LSTM more than a
#    SimpleRNN?

# %% [markdown]
# ## 小结
#
# * LSTM 增加了一个细胞状态 $c_t$ 和三个 sigmoid 门（输入门、遗忘门、输出门）。
#   这就是文档 000 第 3.2 节所说的“门控机制”。我们用 numpy 写的一步与 Keras 的
#   `LSTMCell` 结果相同。
# * 文档 000 的代码清单每个窗口只预测一个字符，并以 softmax 结尾。文档 002
#   的代码清单还要求输入预先嵌入好的向量，所以它自己无法生成文本。
# * zoo 的 `build_lstm` 接受 id，自带嵌入层，输出 logits，并在每个位置都做预测。
# * 留出剧本上的困惑度：先求整个数据集上的平均损失，再取 $\exp$。
# * 哪种结构更好取决于训练预算：要在相同步数和相同墙钟时间下比较模型
#   （`benchmarks/equal_budget.py`），而不是各用各的默认设置。
#
# ## 练习
#
# 1. 用一份偏置的副本调用 `lstm_step`，把其中遗忘门的部分 `b[UNITS:2 * UNITS]`
#    设为 10。比较 `c_t` 和 `c_prev`。为什么 Keras 把偏置的这一部分初始化为
#    1（`unit_forget_bias=True`）？
# 2. 手工数出 LSTM 层的参数量：4 · (E·units + units·units + units)。与
#    `model.summary()` 对照。
# 3. 用相同的 `UNITS` 和步数分别训练 `build_simple_rnn`（笔记本 02）和
#    `build_lstm`。比较验证集困惑度和每步的时间。
# 4. 文档 000 的代码清单堆叠了两层 LSTM。训练 `build_lstm(..., num_layers=2)`。
#    得到的改进值得多花的时间吗？
# 5. 先设 `SEQ_LEN = 20`，再设 `SEQ_LEN = 200`。哪一个给出更低的困惑度？
#    为什么更长的窗口对 LSTM 的帮助可能比对 SimpleRNN 更大？
