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
# # 15 · 用 zoo 写唐诗
#
# **目标：** 用 zoo 自带的唐诗语料训练一个按字切分的 GRU 语言模型；在模型上
# 实测几千个汉字的词表要花掉多少参数和内存；然后让模型写诗：先自由采样，再用
# 受约束的解码写出格式整齐的五言绝句，并用断言检查格式。
#
# 形状字母：**B** 批量，**T** 时间（一个窗口里的字数），**E** 嵌入维度，
# **U** GRU 隐藏状态的大小，**V** 词表大小。
#
# **术语表 (Glossary)：** [docs/glossary.md](../docs/glossary.md) 列出这些笔记本
# 用到的每个术语（困惑度、门控、因果、温度采样……）的中英文名称和一句话定义。

# %% [markdown]
# ## 引言 (Introduction)
#
# 前面的笔记本都在莎士比亚的剧本上训练：一个 token 是一个字母、数字或标点，
# 词表只有几十个（下面会打印出来）。中文不用空格分词，最自然的单位是**字**：
# 一个汉字就是一个 token。这样做简单，也不会遇到“词表外的词”，代价是词表很大，
# 常用字就有几千个。
# 词表变大，有两个地方跟着变大：
#
# * 嵌入层：每个字一个 E 维向量，共 V·E 个参数；
# * 输出层：每一步要给 V 个字各打一个分（logit），共 U·V + V 个参数，
#   softmax 也在这 V 个分数上计算。
#
# 源文本在 document 004 的 listing 里用 one-hot 目标，词表一大就放不进内存
# （docs/pitfalls.md #20）；只认 ASCII 的文本标准化会把中文弄乱
# （docs/pitfalls.md #21）。zoo 用整数目标和认 Unicode 的分词器，这两个问题
# 都不会出现。本笔记本：
#
# 1. 读入 zoo 自带的唐诗语料，看它的格式和划分；
# 2. 按字切分，统计字频和覆盖率，和莎士比亚的字符表比较；
# 3. 在模型上实测嵌入层和输出层的参数量与内存；
# 4. 用 `zoo.recipes.train_language_model` 训练 GRU；
# 5. 自由采样；
# 6. 受约束的解码：写五言绝句，并用正则表达式断言它的格式。

# %% [markdown]
# ## 准备 (Setup)

# %%
import os
import re
import time
from collections import Counter
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from zoo import (
    CharTokenizer,
    WordTokenizer,
    build_gru,
    evaluate,
    generate,
    load_corpus,
    make_dataset,
    plot_history,
)
from zoo.generation import Sampling, sample_logits, stepper_for
from zoo.recipes import train_language_model

# %% [markdown]
# ## 配置 (Configuration)
#
# 所有设置都在这一个单元里。测试会设置 `ZOO_FAST=1`，运行一个很小的版本；
# `else` 后面是完整版本的值。训练结果写进 `ZOO_RUNS` 指定的文件夹（默认
# `runs/`）。

# %%
FAST = os.environ.get("ZOO_FAST") == "1"
SEED = 42
RUNS = Path(os.environ.get("ZOO_RUNS", "runs"))  # the run folder goes in here

TRAIN_CHARS = 150_000 if FAST else None  # None = all 0.77 M training characters
VALID_CHARS = 10_000 if FAST else None  # None = all 41 k validation characters
SEQ_LEN = 32 if FAST else 64  # T: characters per training window
BATCH_SIZE = 32  # B
EMBEDDING_DIM = 64 if FAST else 128  # E
UNITS = 128 if FAST else 256  # U: the GRU's state
LEARNING_RATE = 2e-3
EPOCHS = 1 if FAST else 5
STEPS_PER_EPOCH = 40 if FAST else 500  # 5 x 500 steps: several minutes on a CPU

PROMPT = "秋夜\n王维\n"  # a title line and an author line, as in the corpus
MAX_NEW_TOKENS = 48 if FAST else 120  # characters of free sampling
TEMPERATURE = 0.8
TOP_K = 20
NUM_POEMS = 3  # quatrains written under the form
NUM_FREE = 8  # free samples, to count how often they follow the form by chance

keras.utils.set_random_seed(SEED)

# %% [markdown]
# ## 数据 (Data)
#
# zoo 自带唐诗语料（`load_corpus("tang")`，来源、许可和划分见
# `data/README.md`），离线读取，读之前先核对 sha256。文字已转为简体，标点全部
# 是全角。每首诗是一段：第一行是诗题，第二行是作者，后面是诗句（大多一行一联，
# 即两句）；诗与诗之间空一行。

# %%
corpus = load_corpus("tang")
print(corpus)
print(corpus.train.split("\n\n")[0])

# %% [markdown]
# 语料按**作者**划分：验证集和测试集里的诗人，训练时一首也没有见过。下面把
# 每个划分切回一首首诗，数一数，并检查没有作者跨划分。

# %%
poems = {
    split: [block.strip("\n").split("\n") for block in text.split("\n\n")]
    for split, text in corpus.splits.items()
}  # split -> [[title, author, line, ...], ...]
authors = {split: {poem[1] for poem in ps} for split, ps in poems.items()}
for split, ps in poems.items():
    print(
        f"{split:5s}: {len(ps):5,d} 首诗，{len(authors[split]):3d} 位作者，"
        f"{len(corpus.splits[split]):8,d} 个字符"
    )
assert not authors["train"] & authors["valid"]
assert not authors["train"] & authors["test"]
assert not authors["valid"] & authors["test"]
print("没有一位作者同时出现在两个划分里")

# %% [markdown]
# ## 按字切分 (Tokens: one character each)
#
# `CharTokenizer` 给每个字符（Unicode 码位）一个 id，只从训练集学词表。和
# 莎士比亚比一比词表的大小：

# %%
tokenizer = CharTokenizer.fit(corpus.train)
V = tokenizer.vocab_size
shakespeare = load_corpus("shakespeare")
V_SHAKESPEARE = CharTokenizer.fit(shakespeare.train).vocab_size
print(
    f"唐诗：V = {V:,}    莎士比亚：V = {V_SHAKESPEARE}    比值 {V / V_SHAKESPEARE:.0f}"
)

line = poems["train"][0][2]
ids = tokenizer.encode(line)  # (len(line),) int32: one id per character
print(line, "->", ids)
assert tokenizer.decode(ids) == line and len(ids) == len(line)

# %% [markdown]
# zoo 的词级分词器（`WordTokenizer`）在中文上会怎样切？它把每个汉字当作一个
# 词（docs/pitfalls.md #21），所以得到的 token 和按字切分完全一样（下面的断言），
# 只是默认会把只出现一次的字换成 `<unk>`。因此 `zoo train ... --data tang`
# 默认按字切分。

# %%
word_tokenizer = WordTokenizer.fit(corpus.train)
print(word_tokenizer.split(line))
assert word_tokenizer.split(line) == list(line)

# %% [markdown]
# 几千个字并不是同样常用。按出现次数从多到少排，看最常见的多少个字覆盖了
# 训练文本的一半、九成和百分之九十九，有多少字只出现一次，以及验证集里有多少
# 字在训练集里从未出现（它们只能读作 `<unk>`）：

# %%
counts = Counter(ch for ch in corpus.train if ch != "\n")
freq = np.array(sorted(counts.values(), reverse=True))  # by rank
cover = np.cumsum(freq) / freq.sum()
for share in (0.5, 0.9, 0.99):
    n = int(np.searchsorted(cover, share)) + 1
    print(f"最常见的 {n:5,d} 个字覆盖训练文本的 {share:.0%}")
print(f"只出现一次的字：{sum(c == 1 for c in counts.values()):,} 个")
unseen = tokenizer.unknown_tokens(corpus.valid)
unseen_share = sum(corpus.valid.count(ch) for ch in unseen) / len(corpus.valid)
print(f"验证集里训练集没有的字：{len(unseen)} 个，占验证文本的 {unseen_share:.2%}")

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.loglog(np.arange(1, len(freq) + 1), freq)
ax.set_xlabel("rank of the character")
ax.set_ylabel("count in the training text")
ax.set_title("Tang poems: character frequencies")
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# ## 几千个字的词表有多贵 (What a large vocabulary costs)
#
# 用本笔记本的尺寸（E、U 见配置）各建一个 GRU：一个用唐诗的词表，一个用
# 莎士比亚的词表，其余完全相同。逐层数参数，按权重的实际数据类型算字节数，
# 再跑一个批次，量一量输出的 logits 张量（B, T, V）有多大。


# %%
def layer_bytes(layer):
    """Bytes of a layer's weights, each in its own dtype."""
    return sum(
        int(np.prod(w.shape)) * np.dtype(w.dtype).itemsize for w in layer.weights
    )


def vocabulary_cost(vocab_size):
    """Parameters and bytes of this notebook's GRU, by layer, for one V."""
    model = build_gru(
        vocab_size, embedding_dim=EMBEDDING_DIM, units=UNITS, compile=False
    )
    batch = np.zeros((BATCH_SIZE, SEQ_LEN), "int32")  # (B, T)
    logits = model(batch)  # (B, T, V)
    layers = {layer.name: layer for layer in model.layers}
    return {
        "embedding": layers["embedding"].count_params(),
        "gru": layers["gru_1"].count_params(),
        "logits": layers["logits"].count_params(),
        "total": model.count_params(),
        "MiB": sum(layer_bytes(layer) for layer in model.layers) / 2**20,
        "logits MiB": logits.numpy().nbytes / 2**20,
        "shape": tuple(logits.shape),
    }


cost = {"唐诗": vocabulary_cost(V), "莎士比亚": vocabulary_cost(V_SHAKESPEARE)}
print(
    f"{'':8s}{'V':>6s}{'嵌入层':>11s}{'GRU':>10s}{'输出层':>11s}{'总计':>11s}"
    f"{'两端占比':>8s}{'权重 MiB':>10s}{'logits MiB':>12s}"
)
for (label, c), vocab in zip(cost.items(), (V, V_SHAKESPEARE), strict=True):
    ends = (c["embedding"] + c["logits"]) / c["total"]
    print(
        f"{label:6s}{vocab:8,d}{c['embedding']:12,d}{c['gru']:12,d}{c['logits']:12,d}"
        f"{c['total']:12,d}{ends:10.0%}{c['MiB']:10.2f}{c['logits MiB']:12.2f}"
    )
print("logits shape (B, T, V):", cost["唐诗"]["shape"])
# The two ends are exactly V*E and U*V + V; the GRU does not depend on V.
assert cost["唐诗"]["embedding"] == V * EMBEDDING_DIM
assert cost["唐诗"]["logits"] == (UNITS + 1) * V
assert cost["唐诗"]["gru"] == cost["莎士比亚"]["gru"]
ends = {k: (c["embedding"] + c["logits"]) / c["total"] for k, c in cost.items()}
assert ends["唐诗"] > ends["莎士比亚"]
assert ends["唐诗"] > 0.5  # the two ends hold most of the Tang model's parameters

# %% [markdown]
# 读上表：中间的 GRU 两行一样大，它和词表无关；嵌入层和输出层随 V 线性增长。
# “两端占比”一列是嵌入层加输出层占全部参数的比例，唐诗模型的这一比例远高于
# 莎士比亚模型，而且超过一半（都在上面断言过）。最后一列是一个批次的 logits
# 占的内存，它也随 V 线性增长，而且训练时反向传播还要再存一份同样大小的梯度。
# 优化器的状态也随参数量增长：训练之后再量一次。

# %% [markdown]
# ## 训练 (Train)
#
# `zoo.recipes.train_language_model` 就是 `zoo train gru --data tang` 运行的
# 代码：建模型、`compile_model`（logits 损失、忽略填充、XLA）、`make_dataset`
# 切窗口、`zoo.training.train`（每个 epoch 存一次检查点）。它用上面学好的
# 词表，在配置里的字数上训练。头几步较慢：XLA 先编译训练步骤。

# %%
notebook_corpus = corpus.head(TRAIN_CHARS, VALID_CHARS, VALID_CHARS)
start = time.perf_counter()
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
    out_dir=RUNS / "15_tang_poetry",
    fresh=True,  # start over rather than resume an earlier run of this notebook
    verbose=2,
)
model, history = run.model, run.history
print(f"训练 {EPOCHS * STEPS_PER_EPOCH} 步，用时 {time.perf_counter() - start:.0f} 秒")

# %% [markdown]
# 优化器（Adam）为每个权重另存了几个数？数一数它的变量里的数，除以模型的
# 参数量。训练时权重、梯度和优化器状态都要放在内存里，所以打印的比值越大，
# 大词表的两端就越贵。

# %%
optimizer_numbers = sum(
    int(np.prod(v.shape)) for v in model.optimizer.variables if len(v.shape)
)
print(
    f"优化器状态 {optimizer_numbers:,} 个数，模型参数 {model.count_params():,} 个，"
    f"比值 {optimizer_numbers / model.count_params():.2f}"
)

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
plot_history(history, ax=ax)
ax.axhline(np.log(V), color="grey", linestyle=":", label="ln V (uniform)")
ax.set_title("GRU on the Tang poems, one token per character")
ax.legend()
plt.show()

# %% [markdown]
# 困惑度是每个字平均损失的 $\exp$，在**全部**验证字上计算。均匀乱猜的困惑度
# 是 V。下面打印的两个数可以直接比较。注意：它和莎士比亚笔记本里的困惑度不能
# 比较，两边的词表差了上面打印的那个倍数。

# %%
valid_ids = tokenizer.encode(notebook_corpus.valid)
valid_ds = make_dataset(
    valid_ids, seq_len=SEQ_LEN, batch_size=BATCH_SIZE, training=False
)
scores = evaluate(model, valid_ds)
print(
    f"验证集困惑度 {scores['perplexity']:.1f}（{scores['tokens']:,} 个字）；"
    f"均匀乱猜：{V:,}"
)
assert scores["perplexity"] < V

# %% [markdown]
# ## 采样 (Sampling)
#
# 提示是一行诗题加一行作者，和语料的格式一样。`zoo.generate` 先读提示，然后
# 一次采一个字，GRU 的状态一直带着走。`temperature=0` 每次取最可能的字；
# `TEMPERATURE` 和 `TOP_K` 只在最可能的几个字里按概率抽。

# %%
assert not tokenizer.unknown_tokens(PROMPT)
greedy = generate(
    model, tokenizer, PROMPT, max_new_tokens=MAX_NEW_TOKENS, temperature=0
)
sampled = generate(
    model,
    tokenizer,
    PROMPT,
    max_new_tokens=MAX_NEW_TOKENS,
    temperature=TEMPERATURE,
    top_k=TOP_K,
    seed=SEED,
)
print(f"--- temperature=0\n{greedy}\n")
print(f"--- temperature={TEMPERATURE}, top_k={TOP_K}\n{sampled}")

# %% [markdown]
# ## 按格式生成：五言绝句 (Generation under a form)
#
# **五言绝句**：四句，每句五个字。本语料一行是一联（两句），所以在这里一首
# 五言绝句写成两行，每行是“五个汉字，逗号，五个汉字，句号”，行末换行。下面的
# `FORM` 把这个格式逐位写出来：`○` 表示“任意一个汉字（U+4E00 到 U+9FFF）”，
# 其他位置必须是写明的标点或换行。押韵和平仄不在格式里（见练习）。`WUJUE`
# 是同一个格式的正则表达式。先数一数训练集里有多少首诗正好是这个格式：

# %%
ANY_HANZI = "○"
FORM = "○○○○○，○○○○○。\n" * 2
WUJUE = re.compile(r"([\u4e00-\u9fff]{5}，[\u4e00-\u9fff]{5}。\n){2}")
assert WUJUE.fullmatch(FORM.replace(ANY_HANZI, "山"))
n_wujue = sum(
    bool(WUJUE.fullmatch("".join(ln + "\n" for ln in poem[2:])))
    for poem in poems["train"]
)
print(f"训练集里的五言绝句：{n_wujue:,} 首（共 {len(poems['train']):,} 首诗）")

# %% [markdown]
# 自由采样能写出这个格式吗？用不同的种子采 `NUM_FREE` 次，每次正好
# `len(FORM)` 个字，数一数有几次恰好合乎格式：

# %%
free = [
    generate(
        model,
        tokenizer,
        PROMPT,
        max_new_tokens=len(FORM),
        temperature=TEMPERATURE,
        top_k=TOP_K,
        seed=SEED + i,
    )[len(PROMPT) :]
    for i in range(NUM_FREE)
]
matches = sum(bool(WUJUE.fullmatch(text)) for text in free)
print(f"自由采样 {NUM_FREE} 次，恰好合乎格式的有 {matches} 次；第一次：\n{free[0]}")

# %% [markdown]
# zoo 的 `generate` 没有“每一步限制可选字”的接口，但它每一步做的事都是公开的：
# `stepper_for(model)` 给出模型的 stepper（GRU 用 `RecurrentStepper`，一次读一
# 个字并带着状态），`sample_logits` 从 logits 里按 `Sampling` 的设置抽一个字。
# 下面的小循环就用这两样东西，只多了一行：抽字之前，把格式在这一位不允许的
# token 的 logit 换成 float32 最小的**有限**值（不用 `-inf`，否则 softmax 可能
# 得到 NaN，见 docs/pitfalls.md #8）。每一位允许哪些 token，是一个 (V,) 的布尔
# 掩码；整个格式是一个 (len(FORM), V) 的掩码矩阵。

# %%
hanzi = np.array(
    [len(tok) == 1 and "\u4e00" <= tok <= "\u9fff" for tok in tokenizer.vocabulary]
)
assert not tokenizer.unknown_tokens("，。\n")
print(f"词表里有 {hanzi.sum():,} 个汉字 token（共 {V:,} 个）")


def allowed_at(slot):
    """(V,) bool: the tokens the form allows at one slot."""
    if slot == ANY_HANZI:
        return hanzi
    return np.arange(V) == tokenizer.encode(slot)[0]  # exactly this mark


FORM_MASKS = np.stack([allowed_at(slot) for slot in FORM])  # (len(FORM), V)


def write(prompt, *, masks=None, max_new_tokens=None, temperature, top_k=None, seed=0):
    """Continue `prompt` one character at a time with zoo's stepper.

    With `masks` (N, V), new character i is drawn only from the tokens that
    masks[i] allows, and N characters are written. Returns the text and, per
    new character, the probability the model gave the allowed tokens."""
    stepper = stepper_for(model)  # RecurrentStepper: the GRU one token at a time
    sampling = Sampling(temperature=temperature, top_k=top_k, eos=False)
    prompt_ids = tokenizer.encode(prompt)
    state = stepper.initial_state(1)
    for t, token in enumerate(prompt_ids):  # read the prompt; keep the last logits
        logits, state = stepper.step(tf.constant([token]), state, tf.constant(t))
    new, kept = [], []
    for i in range(max_new_tokens if masks is None else len(masks)):
        t = len(prompt_ids) - 1 + i  # the position just read
        if masks is not None:
            allowed = tf.constant(masks[i])[None, :]  # (1, V)
            kept.append(
                float(
                    tf.reduce_sum(tf.nn.softmax(logits) * tf.cast(allowed, tf.float32))
                )
            )
            logits = tf.where(allowed, logits, tf.float32.min)  # (1, V)
        token = sample_logits(logits, sampling, tf.constant([seed, t]))  # (1,)
        new.append(int(token[0]))
        logits, state = stepper.step(token, state, tf.constant(t + 1))
    return prompt + tokenizer.decode(new), kept


# %% [markdown]
# 先确认这个循环和库一致：不加掩码、`temperature=0` 时，它写出的字和
# `zoo.generate` 一字不差。

# %%
loop_greedy, _ = write(PROMPT, max_new_tokens=MAX_NEW_TOKENS, temperature=0)
assert loop_greedy == greedy
print("不加掩码的循环 == zoo.generate（greedy）")

# %% [markdown]
# 再加上格式掩码写 `NUM_POEMS` 首。每一首都用正则表达式断言格式，不靠眼睛看。
# 每首后面还打印模型本来分给允许 token 的概率（在汉字位和标点位分别取平均）：
# 它说明掩码改动了模型多少。

# %%
is_slot = np.array([slot == ANY_HANZI for slot in FORM])  # (len(FORM),)
for i in range(NUM_POEMS):
    poem, kept = write(
        PROMPT, masks=FORM_MASKS, temperature=TEMPERATURE, top_k=TOP_K, seed=SEED + i
    )
    body = poem[len(PROMPT) :]
    assert WUJUE.fullmatch(body), body
    kept = np.array(kept)
    print(poem, end="")
    print(
        f"（允许的 token 原有的概率：汉字位平均 {kept[is_slot].mean():.2f}，"
        f"标点位平均 {kept[~is_slot].mean():.2f}）\n"
    )

# %% [markdown]
# 每一首都通过了 `WUJUE` 的断言：格式由解码保证，不靠运气。把上面打印的概率
# 和自由采样合乎格式的次数放在一起看：标点位上的平均概率说明模型自己有多
# “想”在这里放逗号或句号，这个数越小，掩码替模型做的决定越多。格式对了，
# 诗句未必通顺：那要靠更大的模型和更长的训练（完整模式）。

# %% [markdown]
# ## 小结 (Summary)
#
# * 中文按字切分：一个汉字一个 token。zoo 的词级分词器在中文上也切成单字，
#   所以 `zoo train ... --data tang` 默认按字。
# * 唐诗的词表比莎士比亚的大得多（上面打印的 V 和比值）。嵌入层（V·E）和输出
#   层（U·V + V）随 V 线性增长，在小模型里占了大部分参数；每个批次的 logits
#   （B, T, V）也随 V 增长。GRU 本身和 V 无关。
# * 训练用的仍是 zoo 的同一个配方 `train_language_model`；困惑度要和 V 比，
#   不能和字母语料的困惑度比。
# * 按格式生成：每一步把格式不允许的 token 的 logit 换成最小的有限值，再照常
#   采样。这个循环不加掩码时就是 `zoo.generate`（断言过）；加了掩码，每首诗的
#   格式都用正则表达式断言。
#
# ## 练习 (Exercises)
#
# 1. **七言绝句**：把 `FORM` 和 `WUJUE` 改成每句七个字。训练集里有多少首七言
#    绝句？和五言绝句的数目比一比。
# 2. **押韵**：统计训练集五言绝句第二、四句的末字，把 `FORM_MASKS` 最后一个
#    汉字位限制为“在训练集中和本诗第二句末字一起押过韵的字”。生成的诗读起来有
#    什么变化？
# 3. 把 `CharTokenizer.fit(corpus.train, min_freq=2)` 的词表用于模型：V 变成
#    多少？重新运行“词表有多贵”一节，参数省了多少？验证集里多了多少
#    `<unk>`？
# 4. 把 `UNITS` 翻倍，再看参数表：哪一层增长最快？把 `EMBEDDING_DIM` 翻倍呢？
# 5. 在命令行训练完整的模型：`zoo train gru --data tang`，再用
#    `zoo evaluate runs/gru/model.keras` 测测试集困惑度，并用
#    `zoo generate runs/gru/model.keras --prompt "秋夜"` 采样。
