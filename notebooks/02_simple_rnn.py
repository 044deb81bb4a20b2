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
# # 02 · A simple RNN language model (简单的RNN语言模型)
#
# **Goal:** write the RNN of the source texts from its equations, check it
# against Keras, then train it on Shakespeare and let it write.
#
# Shape letters used below: **B** batch, **T** time (characters in a window),
# **E** embedding size, **V** vocabulary size.
#
# **Glossary (术语表):** [docs/glossary.md](../docs/glossary.md) gives every
# term of these notebooks in English and Chinese, with a one-line definition.
# The Summary and Exercises are also in Chinese, at the end (小结, 练习).

# %% [markdown]
# ## Introduction
#
# Document 002, section **数学模型和公式详细讲解举例说明**, gives the RNN in
# two lines:
#
# > 我们可以使用一个简单的神经网络来学习词语之间的关系。
# > 这类网络称为循环神经网络（RNN）。
# > RNN的输入是词语的表示，输出是下一个词语的概率。RNN的核心公式是：
# >
# > $$h_{t} = f(Wx_{t} + UH_{t-1} + b)$$
# >
# > $$o_{t} = g(Vh_{t} + c)$$
# >
# > 其中，$h_{t}$是隐藏状态，$x_{t}$是输入词语的表示，
# > $H_{t-1}$是前一个时间步的隐藏状态，
# > $o_{t}$是输出词语的概率，$W，U,V$是权重矩阵，$b,c$是偏置。
#
# In words: the new state $h_t$ mixes the current input $x_t$ with the old
# state $h_{t-1}$ (the text writes $H_{t-1}$; it is the same $h$). The output
# reads the state. Here $f = \tanh$ and $g = \mathrm{softmax}$.
#
# Two texts then give Keras code for this model:
#
# * Document 000, **4.1 使用RNN构建语言模型**:
#   > 在这个例子中，我们将使用RNN构建一个简单的语言模型。
#   > 我们将使用Python和TensorFlow进行编写。
# * Document 004, **4.1 RNN的Python代码示例**:
#   > RNN的Python代码示例如下：
#
# In this notebook we:
#
# 1. write the two equations in numpy and check them against zoo's `ElmanCell`;
# 2. check `ElmanCell` against Keras's own `SimpleRNN` and zoo's default
#    layer, `FusedSimpleRNN`;
# 3. build both listings as written and read their errata;
# 4. train zoo's version on Shakespeare, measure perplexity, and generate text.

# %% [markdown]
# ## Setup

# %%
import inspect
import os

import keras
import matplotlib.pyplot as plt
import numpy as np

from zoo import (
    CharTokenizer,
    ElmanCell,
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
SEQ_LEN = 64 if FAST else 100  # T: characters per window
BATCH_SIZE = 32  # B
EMBEDDING_DIM = 32 if FAST else 64  # E
UNITS = 64 if FAST else 256  # size of the hidden state h
LEARNING_RATE = 2e-3
EPOCHS = 1 if FAST else 5  # 5 for a readable sample
STEPS_PER_EPOCH = 20 if FAST else 200  # 5 x 200 steps: a few minutes on a CPU

LISTING_EMBEDDING_DIM = 16  # the listings' sizes (up to 256 / 1024) are far bigger;
LISTING_UNITS = 32  # small here, so "as written" builds in a moment

PROMPT = "Romeo.\n"  # Romeo's speaker line, as the bundled plays write it
MAX_NEW_TOKENS = 100 if FAST else 400  # characters to generate

keras.utils.set_random_seed(SEED)

# %% [markdown]
# ## Data
#
# zoo ships 37 Shakespeare plays, split by whole plays into train / valid /
# test. No download is needed.
#
# We work with **characters**: every character is one token. The tokenizer
# learns its vocabulary from the training text only.

# %%
corpus = load_corpus("shakespeare")
print(corpus)
train_text = corpus.train[:TRAIN_CHARS]
valid_text = corpus.valid[:VALID_CHARS]

tokenizer = CharTokenizer.fit(corpus.train)
print(tokenizer, "- the first ids:", tokenizer.vocabulary[:12])

train_ids = tokenizer.encode(train_text)  # (N,) int32
valid_ids = tokenizer.encode(valid_text)
print(f"{len(train_ids):,} training ids, {len(valid_ids):,} validation ids")

# %% [markdown]
# `make_dataset` cuts the ids into windows. In the default **shifted** mode
# the target is the input moved one step left: at every position the model
# predicts the next character. So one window gives T training targets.

# %%
train_ds = make_dataset(train_ids, seq_len=SEQ_LEN, batch_size=BATCH_SIZE, seed=SEED)
valid_ds = make_dataset(
    valid_ids, seq_len=SEQ_LEN, batch_size=BATCH_SIZE, training=False
)

x, y = next(iter(train_ds))
print("x:", x.shape, "(B, T)")  # input ids
print("y:", y.shape, "(B, T)")  # the same ids, one step later
print("x[0]:", repr(tokenizer.decode(x[0])[:40]))
print("y[0]:", repr(tokenizer.decode(y[0])[:40]))

# %% [markdown]
# ## The equations from scratch
#
# Now we write document 002's two equations in numpy.
#
# One detail: Keras keeps vectors as **rows**. So the text's $W x_t$ is
# `x_t @ W` here, with `W` of shape (E, units). It is the same product,
# transposed.
#
# The output $o_t = V h_t + c$ has no softmax: these numbers are **logits**.
# The softmax $g$ lives in the loss and in the sampler (see notebook 04 for
# why).


# %%
def rnn_from_equations(x_vectors, W, U, b, V, c):
    """Run document 002's RNN over (B, T, E) input vectors; return (B, T, V) logits."""
    h = np.zeros((x_vectors.shape[0], U.shape[0]))  # h_0 = 0, (B, units)
    logits = []
    for t in range(x_vectors.shape[1]):
        x_t = x_vectors[:, t]  # (B, E)
        h = np.tanh(x_t @ W + h @ U + b)  # h_t = f(W x_t + U h_{t-1} + b)
        logits.append(h @ V + c)  # o_t before g: (B, V)
    return np.stack(logits, axis=1)  # (B, T, V)


# %% [markdown]
# zoo writes the same equations as a Keras layer, `ElmanCell`. Here is its
# `call` method. Compare it with the numpy line above.

# %%
print(inspect.getsource(ElmanCell.call))

# %% [markdown]
# `build_simple_rnn(..., from_equations=True)` runs `ElmanCell` over the
# sequence. We take its (random, untrained) weights, feed the same embedded
# characters to our numpy function, and check that both give the same logits.

# %%
equations_model = build_simple_rnn(
    tokenizer.vocab_size,
    embedding_dim=EMBEDDING_DIM,
    units=UNITS,
    from_equations=True,
    compile=False,
)
sample = x[:4].numpy()  # (4, T) ids
zoo_logits = equations_model(sample).numpy()  # (4, T, V)

cell = equations_model.get_layer("simple_rnn_1").cell
dense = equations_model.get_layer("logits")
embeddings = equations_model.get_layer("embedding").embeddings.numpy()  # (V, E)
x_vectors = embeddings[sample]  # x_t: the representation of each character

our_logits = rnn_from_equations(
    x_vectors,
    W=cell.W.numpy(),
    U=cell.U.numpy(),
    b=cell.b.numpy(),
    V=dense.kernel.numpy(),
    c=dense.bias.numpy(),
)
print("largest difference:", np.abs(our_logits - zoo_logits).max())
np.testing.assert_allclose(our_logits, zoo_logits, atol=1e-5)
print("numpy equations == zoo ElmanCell")

# %% [markdown]
# ### ElmanCell, Keras's SimpleRNN and zoo's default layer
#
# Keras has this RNN built in: `keras.layers.SimpleRNN`. Is it the same
# maths? `build_simple_rnn(..., fused=False)` builds the stock Keras layer.
# zoo's default model builds `FusedSimpleRNN` (`zoo.layers.fused`) instead:
# a subclass of `SimpleRNN` with the same weights and maths, which computes
# the input projections of all steps in one matrix product and writes out
# the backward pass through time, so that it trains faster under XLA. We copy
# the weights into both and compare. The weights line up one to one: W is
# Keras's `kernel`, U its `recurrent_kernel`, b its `bias`.

# %%
keras_model = build_simple_rnn(
    tokenizer.vocab_size,
    embedding_dim=EMBEDDING_DIM,
    units=UNITS,
    fused=False,
    compile=False,
)
default_model = build_simple_rnn(
    tokenizer.vocab_size, embedding_dim=EMBEDDING_DIM, units=UNITS, compile=False
)
for name, other in (("fused=False", keras_model), ("default", default_model)):
    layer = other.get_layer("simple_rnn_1")
    assert isinstance(layer, keras.layers.SimpleRNN)
    print(f"{name:12s} builds {type(layer).__module__}.{type(layer).__name__}")
    other.set_weights(equations_model.get_weights())
for ours, theirs in zip(equations_model.weights, keras_model.weights, strict=True):
    print(f"{ours.path:34s} {theirs.path:34s} {tuple(ours.shape)}")

keras_logits = keras_model(sample).numpy()
np.testing.assert_allclose(keras_logits, zoo_logits, atol=1e-5)
print("zoo ElmanCell == keras.layers.SimpleRNN")
np.testing.assert_allclose(default_model(sample).numpy(), zoo_logits, atol=1e-5)
print("zoo ElmanCell == zoo FusedSimpleRNN (the default)")

# %% [markdown]
# ## The listings as written
#
# ### Document 000, 4.1 使用RNN构建语言模型
#
# `zoo.listings` keeps every listing of the texts verbatim. Here is the first
# one:

# %%
entry = listings.get("000-4.1")
print(entry.section)
print(entry.code)


# %% [markdown]
# `build_as_written()` builds it as printed (only `tf.keras` becomes `keras`).
# The text never says how big `vocab_size`, `embedding_dim` and `rnn_units`
# are. We use our vocabulary and small sizes.
#
# Look at the output shape: **(B, V)**. The listing predicts one next
# character per window, not one per position.

# %%
as_written = entry.build_as_written(
    vocab_size=tokenizer.vocab_size,
    embedding_dim=LISTING_EMBEDDING_DIM,
    rnn_units=LISTING_UNITS,
)
probs = as_written(sample)
print("output:", probs.shape, "(B, V)")
print("each row sums to", float(np.sum(probs[0])), "(softmax: probabilities)")
as_written.summary()


# %% [markdown]
# Its errata, as zoo records them:

# %%
for number, line in enumerate(entry.errata, start=1):
    print(f"{number}.", line)

# %% [markdown]
# ### Document 004, 4.1 RNN的Python代码示例

# %%
entry_004 = listings.get("004-4.1")
print(entry_004.code)

# %%
as_written_004 = entry_004.build_as_written(
    vocab_size=tokenizer.vocab_size,
    embedding_dim=LISTING_EMBEDDING_DIM,
    units=LISTING_UNITS,
)
as_written_004(sample)  # build it, so the summary can count parameters
as_written_004.summary()
for number, line in enumerate(entry_004.errata, start=1):
    print(f"{number}.", line)

# %% [markdown]
# ### Why one-hot targets run out of memory
#
# `loss='categorical_crossentropy'` wants each target as a **one-hot** row:
# 10,000 numbers, one of them 1. `sparse_categorical_crossentropy` wants only
# the id. Both give the same loss:

# %%
probs_demo = np.array([[0.1, 0.7, 0.2]], "float32")  # one prediction, 3 tokens
target_id = np.array([1])  # sparse: the id
target_one_hot = keras.ops.one_hot(target_id, 3)  # one-hot: [[0, 1, 0]]
dense_loss = keras.losses.categorical_crossentropy(target_one_hot, probs_demo)
sparse_loss = keras.losses.sparse_categorical_crossentropy(target_id, probs_demo)
print("categorical:", float(dense_loss[0]), " sparse:", float(sparse_loss[0]))
np.testing.assert_allclose(dense_loss, sparse_loss, rtol=1e-6)

# %% [markdown]
# The loss is the same, but the memory is not. `model.fit(x_train, y_train)`
# has one target per window, and a window starts at every position of the
# text. Count the bytes for our training text (float32 = 4 bytes):

# %%
n_targets = len(corpus.train)  # one window per character of the training text
for label, vocab in [
    ("document 004's vocabulary", 10_000),
    ("our characters", tokenizer.vocab_size),
    ("common Chinese characters (GB2312)", 6_763),
]:
    one_hot_gb = n_targets * vocab * 4 / 1e9
    print(f"{label:36s} V={vocab:6,d}  one-hot y_train: {one_hot_gb:8,.1f} GB")
print(f"{'sparse integer targets (any V)':47s} y_train: {n_targets * 4 / 1e9:8,.3f} GB")

# %% [markdown]
# One-hot targets need V floats per target where ids need one integer: the
# cell above prints both sizes. A Chinese vocabulary is large, so the problem
# is worse there. zoo always uses sparse
# integer targets.

# %% [markdown]
# ## The zoo version
#
# `entry.zoo_call` names the zoo call that does each listing's job:

# %%
print("000-4.1 ->", entry.zoo_call)
print("004-4.1 ->", entry_004.zoo_call)

# %% [markdown]
# We train with notebook sizes and three changes from the listings:
#
# * **one** recurrent layer, built from document 002's equations
#   (`from_equations=True`, the `ElmanCell` checked above);
# * `output="sequence"` (the default): a prediction at **every** position,
#   so each window gives T targets instead of one;
# * the model outputs **logits**, and `compile_model` chooses the loss
#   (`from_logits=True`, padding ignored), the perplexity metric, gradient
#   clipping and XLA. It is the one place where these are decided.

# %%
model = build_simple_rnn(
    tokenizer.vocab_size,
    embedding_dim=EMBEDDING_DIM,
    units=UNITS,
    from_equations=True,
    compile=False,
)
compile_model(model, learning_rate=LEARNING_RATE)
print("loss:", model.loss.get_config())
print("XLA (jit_compile):", model.jit_compile)
model.summary()

# %% [markdown]
# ## Train
#
# `zoo.recipes.train_language_model` is what `zoo train elman_rnn` runs: the
# factory and `compile_model` as above, the same `make_dataset` windows, and
# `zoo.training.train` (`model.fit` with a checkpoint per epoch and a NaN
# guard). It builds its own copy of the model above from the same sizes. The
# first steps are slow: XLA compiles the training step once, then reuses it.

# %%
notebook_corpus = corpus.head(
    TRAIN_CHARS, VALID_CHARS, VALID_CHARS
)  # the notebook's slices
run = train_language_model(
    "elman_rnn",  # build_simple_rnn(from_equations=True): zoo.registry
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
ax.set_title("SimpleRNN (ElmanCell) on Shakespeare")
plt.show()

# %% [markdown]
# The training loss is an **average over the epoch**, and the model improves
# during the epoch. The validation loss is measured **at the end**. So after
# the first epoch the validation loss can be the lower one.

# %% [markdown]
# ## Evaluate
#
# Perplexity is $\exp$ of the average loss per character, over **all**
# validation characters. A model that guesses uniformly has perplexity V
# (the vocabulary size). Lower is better.

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
# `zoo.generate` feeds the prompt, then samples one character at a time. It
# keeps the RNN state, so each new character costs one step.
#
# * `temperature=0`: always the most likely character (greedy). Often it
#   repeats itself.
# * `temperature=0.7`: sharper than the model, still varied.
# * `temperature=1.0`: the model's own distribution.
# * `top_k=5`: sample only from the 5 most likely characters.

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
# * Document 002's RNN is two lines: $h_t = \tanh(W x_t + U h_{t-1} + b)$ and
#   $o_t = V h_t + c$. Our numpy version, zoo's `ElmanCell`, Keras's
#   `SimpleRNN` and zoo's default `FusedSimpleRNN` compute the same numbers.
# * The listings of documents 000 and 004 run, but predict one character per
#   window, put a softmax in the model, and (004) use one-hot targets that
#   need V times the memory of ids (printed above).
# * zoo's `build_simple_rnn` predicts at every position and emits logits;
#   `compile_model` picks the loss, metrics and XLA.
# * Perplexity is measured on held-out plays; temperature trades safety for
#   variety.
#
# ## Exercises
#
# 1. In `rnn_from_equations`, replace `np.tanh` with the identity
#    (`f(z) = z`) and run it on a window of 500 characters with
#    `U = 1.5 * np.eye(units)`. Print the size of `h` every 50 steps. Why does
#    document 002 need a squashing function f?
# 2. Count the parameters of the model by hand: Embedding V·E, W E·units,
#    U units·units, b units, V units·V, c V. Check your sum against
#    `model.summary()`.
# 3. Train with `UNITS = 32` and with `UNITS = 512` (same steps). How do the
#    validation perplexity and the training time change?
# 4. The bundled plays write a speaker's name on its own line with a full
#    stop (`Romeo.` in Romeo and Juliet, our `PROMPT`). Tiny-shakespeare, the
#    corpus of many tutorials, writes `ROMEO:`, which never occurs in the
#    bundled plays. Set `PROMPT = "ROMEO:"` and compare the samples: what
#    does the model make of a prompt unlike its training text?
# 5. Document 000's listing stacks two SimpleRNN layers. Train
#    `build_simple_rnn(..., num_layers=2)` and compare its perplexity with one
#    layer.
# 6. Train with `stateful=True` in `train_language_model`: truncated
#    backpropagation through time. The text is read as `BATCH_SIZE` contiguous
#    streams and the state is carried from one window to the next, so the model
#    sees a longer history than `SEQ_LEN`, while the gradient still stops at the
#    window's edge. Compare `run.summary["val_perplexity"]` with the stateless
#    run's.

# %% [markdown]
# ## 小结
#
# * 文档 002 的 RNN 只有两行：$h_t = \tanh(W x_t + U h_{t-1} + b)$ 和
#   $o_t = V h_t + c$。我们的 numpy 版本、zoo 的 `ElmanCell`、Keras 的
#   `SimpleRNN` 和 zoo 默认的 `FusedSimpleRNN` 算出的数完全相同。
# * 文档 000 和 004 的代码清单能运行，但每个窗口只预测一个字符，把 softmax
#   放进了模型里，而且（004）使用 one-hot 目标，
#   在这里需要的内存大得无法承受（上文的单元算出了字节数）。
# * zoo 的 `build_simple_rnn` 在每个位置都做预测并输出 logits；`compile_model`
#   选定损失、指标和 XLA。
# * 困惑度在留出的剧本上测量；温度在稳妥和多样之间取舍。
#
# ## 练习
#
# 1. 在 `rnn_from_equations` 中把 `np.tanh` 换成恒等函数（`f(z) = z`），用
#    `U = 1.5 * np.eye(units)` 在一个 500 字符的窗口上运行，每 50 步打印一次 `h`
#    的大小。为什么文档 002 需要一个压缩函数（squashing function）f？
# 2. 手工数出模型的参数量：Embedding V·E，W E·units，U units·units，b units，V
#    units·V，c V。把你的总数与 `model.summary()` 对照。
# 3. 分别用 `UNITS = 32` 和 `UNITS = 512` 训练（步数相同）。
#    验证集困惑度和训练时间如何变化？
# 4. 自带的剧本把说话人的名字单独写成一行，后面加句点（《罗密欧与朱丽叶》中是
#    `Romeo.`，也就是我们的 `PROMPT`）。许多教程使用的 tiny-shakespeare 语料写成
#    `ROMEO:`，而这种写法在自带的剧本中从未出现。设置 `PROMPT = "ROMEO:"`，
#    比较生成的样例：面对一个与训练文本都不像的提示，模型会怎样？
# 5. 文档 000 的代码清单堆叠了两层 SimpleRNN。训练
#    `build_simple_rnn(..., num_layers=2)`，把它的困惑度与一层时比较。
# 6. 在 `train_language_model` 中加上 `stateful=True` 训练：
#    这是截断的随时间反向传播（truncated backpropagation through time）。
#    文本被当作 `BATCH_SIZE` 条连续的流来读，状态从一个窗口带到下一个窗口，
#    所以模型看到的历史比 `SEQ_LEN` 更长，而梯度仍然在窗口的边界截断。把
#    `run.summary["val_perplexity"]` 与无状态训练的结果比较。
