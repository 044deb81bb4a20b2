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
# # 09 · BERT: a bidirectional encoder trained to fill in [MASK]
#
# **Source:** document 001, section **5. 项目实践：代码实例和详细解释说明**:
#
# > 为了帮助读者理解大规模语言模型的实现，我们将以BERT为例介绍项目实践。BERT是由
# > Google Brain团队开发的一种基于Transformer的预训练语言模型。其主要特点是：
# >
# > 1. **双向编码器**：BERT采用双向编码器，即输入的前半部分和后半部分都被编码。
# >    这种方法可以让模型了解整个句子的上下文信息。
# > 2. **masked LM**：BERT通过遮蔽某些位置的词来进行预训练。模型的目标是预测被
# >    遮蔽的词。
#
# followed by a PyTorch listing that downloads a checkpoint and fills in
# `"The capital of France is [MASK]."`.
#
# Shape letters: **B** batch, **T** time, **C** model width, **V**
# vocabulary, **M** number of [MASK]s in a text.
#
# **Glossary (术语表):** [docs/glossary.md](../docs/glossary.md) gives every
# term of these notebooks in English and Chinese, with a one-line definition.
# The Summary and Exercises are also in Chinese, at the end (小结, 练习).

# %% [markdown]
# ## Introduction
#
# A GPT (notebook 08) predicts each token from the tokens **before** it, so it
# can write text left to right. BERT does something else: it hides some
# tokens and predicts them from **both sides**. It cannot write text, but its
# vector for every position has read the whole sentence, which is what
# tasks like classification and named-entity recognition want.
#
# In this notebook we:
#
# 1. hide tokens BERT's way (15% selected; of those 80% [MASK], 10% a random
#    token, 10% kept) and measure the fractions on real text;
# 2. check that the encoder is bidirectional: a later token changes earlier
#    vectors (and does not in a causal GPT);
# 3. train a small masked LM on the bundled Shakespeare plays, one token per
#    character, offline;
# 4. fill in [MASK]s and measure how often the top guess is right;
# 5. read document 001's listing and its errata, and pick the prediction at
#    the mask's position, as the listing meant to.

# %% [markdown]
# ## Setup

# %%
import os
import textwrap

import keras
import matplotlib.pyplot as plt
import numpy as np

from zoo import CharTokenizer, ZooError, listings, load_corpus, plot_history
from zoo.data.pipeline import make_mlm_dataset, mask_tokens
from zoo.generation import encode_masked, fill_mask
from zoo.models.bert import build_bert_mlm
from zoo.models.gpt import build_gpt_preset
from zoo.plotting import logit_change, plot_logit_change
from zoo.recipes import train_masked_lm
from zoo.text import FIRST_REAL_ID, MASK_ID, MASK_TOKEN, PAD_ID

# %% [markdown]
# ## Configuration
#
# All settings live in this one cell. The test suite sets `ZOO_FAST=1` to run
# a tiny version; the value after `else` is the real one.

# %%
FAST = os.environ.get("ZOO_FAST") == "1"
SEED = 42

MASK_STATS_CHARS = 200_000  # characters for measuring the 15% / 80-10-10 split
TRAIN_CHARS = 100_000 if FAST else None  # None = all 4 M training characters
VALID_CHARS = 10_000 if FAST else 100_000  # of the 0.37 M validation characters
SEQ_LEN = 32 if FAST else 64  # T: characters per sequence
BATCH_SIZE = 32  # B
EMBEDDING_DIM = 32 if FAST else 128  # C
NUM_HEADS = 2 if FAST else 4
NUM_LAYERS = 1 if FAST else 2  # BERT-base has 12
FF_DIM = 64 if FAST else 512
DROPOUT = 0.1  # BERT's
LEARNING_RATE = 1e-3
EPOCHS = 1 if FAST else 6  # 6 x 150 steps: a few minutes on a laptop CPU
STEPS_PER_EPOCH = 30 if FAST else 150
NUM_FILL_TESTS = 256 if FAST else 2_000  # masked validation characters scored

PROMPT = "Romeo.\n"  # Romeo's speaker line, as the bundled plays write it
MASKED_PROMPTS = [  # lines of the plays with holes; at most 32 characters, the
    "To be, or not to b[MASK],",  # fast model's position table
    "My lord, the king your f[MASK]ther.",
    "Good night, good n[MASK]ght!",
    "What s[MASK]ys my lord?",
    "I pray you, s[MASK][MASK], despatch.",
]
LISTING_PROMPT = "the torches to burn b[MASK]ight!"  # one hole, for the listing

keras.utils.set_random_seed(SEED)
rng = np.random.default_rng(SEED)

# %% [markdown]
# ## Data
#
# The bundled plays, one token per character. Ids 0 to 4 are reserved
# (`<pad>`, `<unk>`, `<bos>`, `<eos>`, `<mask>`); the characters start at 5.

# %%
corpus = load_corpus("shakespeare")
print(corpus)
tokenizer = CharTokenizer.fit(corpus.train)
print(tokenizer)
print("reserved:", tokenizer.vocabulary[:FIRST_REAL_ID], " MASK_ID =", MASK_ID)
V = tokenizer.vocab_size

# %% [markdown]
# ## Masked LM: hiding 15% of the tokens, BERT's way
#
# `mask_tokens` selects each real token with probability 15%. A selected token
# becomes `<mask>` 80% of the time, a random character 10% of the time, and
# stays as it is 10% of the time. Why not always `<mask>`? Because `<mask>`
# never occurs in real text: the model must learn a good vector for **every**
# token, also for the ones it can see. The target is the original token at
# the selected positions and `<pad>` (ignored by zoo's loss) everywhere else.
#
# One line first, to see what happens (`_` marks a `<mask>`):

# %%
line = "O, she doth teach the torches to burn bright!"
ids = tokenizer.encode(line)  # (T,)
inputs, targets = mask_tokens(ids[None], vocab_size=V, seed=3)  # (1, T) each


def show(ids):
    return "".join("_" if i == MASK_ID else tokenizer.decode([i]) for i in ids)


print("text:    ", line)
print("input:   ", show(inputs[0]))
print(
    "targets: ",
    "".join("·" if t == PAD_ID else tokenizer.decode([t]) for t in targets[0]),
)

# %% [markdown]
# Now measure it on a long stretch of real text. A random replacement can
# draw the original character by chance (1 in V - 5), so "kept" is a little
# above 10% and "random" a little below.

# %%
ids = tokenizer.encode(corpus.train[:MASK_STATS_CHARS])  # (N,)
inputs, targets = mask_tokens(ids, vocab_size=V, seed=SEED)  # (N,) each
selected = targets != PAD_ID  # (N,)
masked = selected & (inputs == MASK_ID)
kept = selected & (inputs == ids)
randomised = selected & ~masked & ~kept
n = selected.sum()
measured = {
    "selected / all": selected.mean(),
    "[MASK] / selected": masked.sum() / n,
    "random / selected": randomised.sum() / n,
    "kept / selected": kept.sum() / n,
}
expected = {
    "selected / all": 0.15,
    "[MASK] / selected": 0.80,
    "random / selected": 0.10 * (1 - 1 / (V - FIRST_REAL_ID)),
    "kept / selected": 0.10 + 0.10 / (V - FIRST_REAL_ID),
}
print(f"{'':20} {'measured':>9} {'expected':>9}   ({len(ids):,} characters)")
for key, value in measured.items():
    print(f"{key:20} {value:9.2%} {expected[key]:9.2%}")
    assert abs(value - expected[key]) < 0.01, key
assert np.all(targets[selected] == ids[selected])  # the target is the original
assert not np.any(selected & (ids < FIRST_REAL_ID))  # reserved ids never hidden

# %% [markdown]
# For training, `make_mlm_dataset` cuts the text into windows of T characters
# and masks each batch inside the `tf.data` pipeline, with fresh masks every
# epoch. Only the selected positions have a target, so only they count in
# the loss, and the perplexity that zoo reports is the **masked-token**
# perplexity.

# %%
batches = {"seq_len": SEQ_LEN, "batch_size": BATCH_SIZE, "vocab_size": V}
valid_ds = make_mlm_dataset(
    tokenizer.encode(corpus.valid[:VALID_CHARS]), seed=SEED, training=False, **batches
)
x, y = next(iter(valid_ds))
print("x:", x.shape, "(B, T) with holes   y:", y.shape, "(B, T), <pad> = not scored")
print("input: ", repr(show(x[0].numpy())))
print(f"scored positions in this batch: {(y.numpy() != PAD_ID).mean():.1%}")

# %% [markdown]
# ## A bidirectional encoder
#
# `build_bert_mlm` stacks Transformer **encoder** blocks: no causal mask,
# every position attends to every (non-padding) position, left and right.
# The output layer is the token embedding run backwards, plus a bias, as in
# notebook 08.
#
# Document 001 explains 双向编码器 as "the first and second halves of the
# input are both encoded". It means more: in every layer each position reads
# all positions, so a **later** character changes the vectors of **earlier**
# ones. The test of notebook 08: change one character at position k and
# compare the logits at every position, for BERT and for a causal GPT (both
# untrained; the weights do not matter, only who can read whom).

# %%
keras.utils.set_random_seed(SEED)
bert = build_bert_mlm(
    V,
    context_length=SEQ_LEN,
    embedding_dim=EMBEDDING_DIM,
    num_heads=NUM_HEADS,
    num_layers=NUM_LAYERS,
    ff_dim=FF_DIM,
    compile=False,
)
gpt = build_gpt_preset(V, preset="tiny", context_length=SEQ_LEN, compile=False)

window = tokenizer.encode(corpus.valid[:SEQ_LEN])  # (T,) plain text, no holes
k = SEQ_LEN // 2
changed = window.copy()
changed[k] = tokenizer.token_to_id("z" if tokenizer.decode([window[k]]) != "z" else "q")


bert_change = logit_change(bert, window, changed)
gpt_change = logit_change(gpt, window, changed)
print(f"largest change before position {k}:")
print(f"  BERT (bidirectional encoder): {bert_change[:k].max():.2e}")
print(f"  GPT (causal decoder):         {gpt_change[:k].max():.2e}")
assert bert_change[:k].min() > 0, "every earlier position of BERT reads position k"
assert gpt_change[:k].max() == 0.0

fig, ax = plt.subplots(figsize=(7, 2.8))
changes = {"BERT (build_bert_mlm)": bert_change, "GPT (build_gpt)": gpt_change}
plot_logit_change(changes, k, ax=ax)
fig.tight_layout()
plt.show()

# %% [markdown]
# Every position of BERT moves; the GPT's positions before k do not. That is
# why BERT can fill a gap from both sides, and why it cannot generate text
# left to right: zoo's `generate` refuses it.

# %%
try:
    from zoo import generate

    generate(bert, tokenizer, PROMPT, max_new_tokens=5)
except ZooError as err:
    print("ZooError:", textwrap.fill(str(err), 84, subsequent_indent="   "))

# %% [markdown]
# ## Train
#
# `train_masked_lm` is the recipe: fit a tokenizer (we pass ours), build
# `build_bert_mlm`, make the masked datasets and call `zoo.training.train`
# (XLA-compiled steps; the first ones are slow while it compiles).

# %%
run = train_masked_lm(
    corpus,
    tokenizer=tokenizer,
    seq_len=SEQ_LEN,
    batch_size=BATCH_SIZE,
    epochs=EPOCHS,
    steps_per_epoch=STEPS_PER_EPOCH,
    train_chars=TRAIN_CHARS,
    valid_chars=VALID_CHARS,
    learning_rate=LEARNING_RATE,
    seed=SEED,
    verbose=2,
    embedding_dim=EMBEDDING_DIM,
    num_heads=NUM_HEADS,
    num_layers=NUM_LAYERS,
    ff_dim=FF_DIM,
    dropout=DROPOUT,
)
model, tokenizer, history = run.model, run.tokenizer, run.history

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
plot_history(history, ax=ax)
ax.axhline(np.log(V - FIRST_REAL_ID), color="grey", linestyle=":", label="uniform")
ax.set_title("masked LM on Shakespeare: loss on the hidden characters")
ax.legend()
plt.show()

perplexity = history["val_perplexity"][-1]  # exp(NLL summed over the whole set)
print(
    f"validation masked-character perplexity: {perplexity:.2f} "
    f"(uniform over the {V - FIRST_REAL_ID} characters: {V - FIRST_REAL_ID})"
)
assert perplexity < V - FIRST_REAL_ID

# %% [markdown]
# ## Filling in [MASK]
#
# `fill_mask` encodes a text with `[MASK]` holes (one character each, since
# the tokenizer works on characters), runs the model once, and reads the
# logits **at each hole's position**: the top candidates with their
# probabilities. The model knows Shakespeare's plays, not the capital of
# France.

# %%
for text in MASKED_PROMPTS:
    print(repr(text))
    for number, candidates in enumerate(fill_mask(model, tokenizer, text), start=1):
        shown = ", ".join(f"{tok!r} {p:.2f}" for tok, p in candidates)
        print(f"   [MASK] {number}: {shown}")

# %% [markdown]
# How often is the top guess right? We hide **one** character at a random
# position of `NUM_FILL_TESTS` validation windows, predict it, and compare
# with always guessing the most frequent character of the training text.

# %%
valid_ids = tokenizer.encode(corpus.valid[:VALID_CHARS])  # (N,)
starts = rng.integers(0, len(valid_ids) - SEQ_LEN, NUM_FILL_TESTS)
windows = np.stack([valid_ids[s : s + SEQ_LEN] for s in starts])  # (N_test, T)
positions = rng.integers(0, SEQ_LEN, NUM_FILL_TESTS)  # one hole per window
rows = np.arange(NUM_FILL_TESTS)
truth = windows[rows, positions].copy()
holed = windows.copy()
holed[rows, positions] = MASK_ID

logits = model(holed, training=False).numpy()  # (N_test, T, V)
at_hole = logits[rows, positions].copy()  # (N_test, V): the hole's row only
at_hole[:, :FIRST_REAL_ID] = -np.inf  # never a reserved id, as fill_mask
guess = at_hole.argmax(-1)
accuracy = (guess == truth).mean()

train_counts = np.bincount(tokenizer.encode(corpus.train[:1_000_000]), minlength=V)
most_frequent = train_counts.argmax()
baseline = (truth == most_frequent).mean()
print(f"fill-mask top-1 accuracy: {accuracy:.1%} over {NUM_FILL_TESTS} holes")
print(f"always {tokenizer.vocabulary[most_frequent]!r}:              {baseline:.1%}")

# fill_mask reads the same row: check on the first window
text = tokenizer.decode(windows[0][: positions[0]]) + MASK_TOKEN
text += tokenizer.decode(windows[0][positions[0] + 1 :])
top = fill_mask(model, tokenizer, text, top_k=1)[0][0][0]
assert top == tokenizer.vocabulary[guess[0]]
if not FAST:  # a few minutes of training is enough to beat the baseline
    assert accuracy > baseline

# %% [markdown]
# ## The listing as written
#
# ### Document 001, 5. 项目实践：代码实例和详细解释说明

# %%
entry = listings.get("001-s5")
print(entry.code)

# %% [markdown]
# It is PyTorch with Hugging Face `transformers`, and its first two lines
# download `bert-base-uncased` (a tokenizer and about 440 MB of weights).
# Offline, on a laptop without those packages, it cannot run. zoo's record
# says so instead of failing halfway:

# %%
try:
    entry.build_as_written()
except ZooError as err:
    print("ZooError:", textwrap.fill(str(err), 84, subsequent_indent="   "))

# %%
for number, line in enumerate(entry.errata, start=1):
    print(f"{number}.", line)

# %% [markdown]
# ### Erratum: the argmax over the whole sequence
#
# We rerun the listing's last three lines on our own model, with NumPy in
# place of PyTorch. `predictions` is what `outputs[0]` is: the logits of
# **every** position, (1, T, V).

# %%
text = LISTING_PROMPT
input_ids, (mask_index,) = encode_masked(tokenizer, text)  # (T,), the hole
predictions = model(input_ids[None]).numpy()  # (1, T, V)
input_tokens = [tokenizer.vocabulary[i] for i in input_ids]  # the sentence
print("predictions:", predictions.shape, "(1, T, V); the [MASK] is at", mask_index)

# torch.argmax(predictions, dim=-1).item(): one id per position, not one id
per_position = np.argmax(predictions, axis=-1)  # (1, T)
try:
    per_position.item()
except ValueError as err:  # PyTorch: RuntimeError, "a Tensor with T elements..."
    print("argmax(dim=-1).item():", err)
print("argmax at every position:", repr(tokenizer.decode(per_position[0])))

# %% [markdown]
# `argmax` over every position predicts a character for every position; the
# listing needs one, and `.item()` refuses to choose. Dropping `dim=-1` makes
# `.item()` work and picks the wrong thing: the largest logit **anywhere** in
# the (T, V) table, as a flat index. The listing then uses that number as a
# position in the input sentence:

# %%
flat = np.argmax(predictions).item()  # torch.argmax(predictions).item()
position, token_id = divmod(flat, V)
print(
    f"flat argmax {flat}: position {position}, token {tokenizer.vocabulary[token_id]!r}"
)
print(
    f"the [MASK] is at position {mask_index}: same position? {position == mask_index}"
)
try:
    print("input_tokens[flat]:", input_tokens[flat])
except IndexError:
    print(
        f"input_tokens[{flat}]: IndexError, the sentence has {len(input_tokens)} tokens"
    )
assert flat >= len(input_tokens) or input_tokens[flat] in tokenizer.vocabulary

# %% [markdown]
# The fix: take the row **at the mask's position**, then its argmax, then
# look the id up in the **vocabulary** (not in the sentence). That is what
# `fill_mask` does:

# %%
row = predictions[0, mask_index].copy()  # (V,): the hidden character's logits
row[:FIRST_REAL_ID] = -np.inf  # never a reserved id
predicted_id = int(row.argmax())
token = tokenizer.vocabulary[predicted_id]  # convert_ids_to_tokens(predicted_id)
print(f"prediction at position {mask_index}: {token!r}")
print(text.replace(MASK_TOKEN, token))
assert token == fill_mask(model, tokenizer, text, top_k=1)[0][0][0]

# %% [markdown]
# ## Summary
#
# * A masked LM hides 15% of the tokens (80% become [MASK], 10% a random
#   token, 10% stay) and is scored only on them; we measured those fractions
#   on real text above.
# * BERT's encoder is bidirectional: a change at position k moves the
#   vectors of every position, earlier ones included (never in a causal GPT).
#   So it fills gaps, and cannot generate text left to right.
# * zoo trains a small character-level BERT offline on the bundled plays;
#   `fill_mask` reads the logits at the mask's position.
# * Document 001's listing downloads a checkpoint (not offline), needs
#   PyTorch and `transformers`, and its `argmax(...).item()` either fails or
#   picks the largest logit of the whole sequence, then looks it up in the
#   sentence instead of the vocabulary.
#
# ## Exercises
#
# 1. Set `mask_fraction=1.0, random_fraction=0.0` in `mask_tokens` and
#    measure the fractions again. Then train with `make_mlm_dataset(...,
#    mask_fraction=1.0, random_fraction=0.0)`: does the fill-mask accuracy
#    change? What would go wrong when the model reads text without [MASK]?
# 2. Hide two neighbouring characters (`"s[MASK][MASK]"`). Why are two
#    neighbouring holes harder than one?
# 3. Measure the fill-mask accuracy separately for holes at the first and
#    last positions of a window and in the middle. Where does the
#    bidirectional model do best, and why?
# 4. Train a word-level model: `train_masked_lm(level="word", ...)`. How big is V,
#    and how does that change the time per step?
# 5. Compare with notebook 08: a GPT can also guess a hidden character, from
#    its left side only. Score the GPT's next-character prediction at the
#    same holes. Which model is right more often?

# %% [markdown]
# ## 小结
#
# * 掩码语言模型按 BERT 的做法隐藏一部分词元（选中的词元大多变成 [MASK]，
#   一小部分换成随机词元，一小部分保持原样；比例是 `mask_tokens` 的默认值），
#   并且只在这些词元上评分；我们在真实文本上测量了这些比例。
# * BERT 的编码器是双向的：位置 k 处的改变会移动每个位置的向量，
#   包括前面的位置（因果 GPT 中从不如此）。所以它能填空，
#   却不能从左到右生成文本。
# * zoo 在自带的剧本上离线训练一个小的字符级 BERT；`fill_mask`
#   读取掩码所在位置的 logits。
# * 文档 001 的代码清单要下载一个检查点（无法离线），需要 PyTorch 和
#   `transformers`，而且它的 `argmax(...).item()` 要么报错，
#   要么选出整个序列中最大的 logit，然后在句子里而不是在词表里查找它。
#
# ## 练习
#
# 1. 在 `mask_tokens` 中设置 `mask_fraction=1.0, random_fraction=0.0`，
#    再测量一次比例。然后用
#    `make_mlm_dataset(..., mask_fraction=1.0, random_fraction=0.0)` 训练：
#    填空准确率变了吗？当模型读取不含 [MASK] 的文本时会出什么问题？
# 2. 隐藏两个相邻的字符（`"s[MASK][MASK]"`）。为什么两个相邻的空比一个空更难？
# 3. 分别测量空位在窗口的第一个位置、最后一个位置和中间时的填空准确率。
#    双向模型在哪里做得最好？为什么？
# 4. 训练一个词级模型：`train_masked_lm(level="word", ...)`。V 有多大？
#    这如何改变每步的时间？
# 5. 与笔记本 08 比较：GPT 也能猜出一个被隐藏的字符，但只能根据它左边的内容。
#    在相同的空位上给 GPT 的下一字符预测打分。哪个模型更常猜对？
