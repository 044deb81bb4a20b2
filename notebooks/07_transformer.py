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
# # 07 · The encoder-decoder Transformer (Transformer模型)
#
# **Goal:** read document 004's Transformer listing, see why it cannot work,
# then train zoo's encoder-decoder Transformer on the dates of notebook 06,
# look inside its cross-attention, and check that its cached decoding gives
# the same answers as recomputing everything.
#
# Shape letters: **B** batch, **S** source length, **T** target length,
# **C** model width, **H** heads, **D** head size (C / H), **L** decoder
# blocks, **V** vocabulary size.
#
# **Glossary (术语表):** [docs/glossary.md](../docs/glossary.md) gives every
# term of these notebooks in English and Chinese, with a one-line definition.
# The Summary and Exercises are also in Chinese, at the end (小结, 练习).

# %% [markdown]
# ## Introduction
#
# Document 004, section **2.3 Transformer模型**:
#
# > Transformer模型是一种基于自注意力机制的深度学习模型，它可以处理序列数据。
# > Transformer模型的主要结构包括：
# >
# > 1. 多头注意力机制：用于捕捉输入序列中不同位置之间的关系。
# > 2. 前馈神经网络（FFN）：用于学习输入序列的非线性关系。
# > 3. 残差连接：用于连接输入和输出。
#
# Document 001, section 3, adds **位置编码** (positional encoding) and
# **层归一化** (layer normalisation). Then document 004, section **4.2
# Transformer模型的Python代码示例**, gives a listing. It builds none of the
# three parts of 2.3 correctly.
#
# The encoder-decoder Transformer (Vaswani et al., 2017) has two stacks:
#
# * the **encoder** reads the source: in every block, each source position
#   attends to every (real) source position, then a feed-forward network;
#   each sub-layer is wrapped in a residual connection and a LayerNorm;
# * the **decoder** writes the target: in every block, **causal
#   self-attention** over the target written so far, then **cross-attention**
#   (queries from the decoder, keys and values from the encoder output), then
#   a feed-forward network.
#
# Notebook 06 did the same job with GRUs and one attention. Here every layer
# is attention, and we will look at the cross-attention of every head of every
# decoder block.
#
# In this notebook we:
#
# 1. read document 004's listing as written and check its errata by running
#    it;
# 2. build zoo's `build_transformer` and read its decoder block;
# 3. train it on dates, translate (greedy and beam), score with exact match
#    and BLEU;
# 4. draw cross-attention per head and per block;
# 5. check that cached (KV-cache) decoding equals decoding without a cache.

# %% [markdown]
# ## Setup

# %%
import ast
import inspect
import os
import warnings

import keras
import matplotlib.pyplot as plt
import numpy as np

from zoo import corpus_bleu, exact_match, listings, plot_attention, plot_history
from zoo.data.pairs import make_dates
from zoo.generation import TransformerStepper, step_logits, translate
from zoo.layers.transformer import TransformerDecoderBlock
from zoo.models.transformer import attention_weights, build_transformer
from zoo.recipes.translation import prepare_pairs, train_translation
from zoo.text import BOS_ID, EOS_ID, PAD_ID

# %% [markdown]
# ## Configuration
#
# All settings live in this one cell. The test suite sets `ZOO_FAST=1` to run
# a tiny version; the value after `else` is the real one. In fast mode the
# model is barely trained: the code runs, the translations are poor.

# %%
FAST = os.environ.get("ZOO_FAST") == "1"
SEED = 42

NUM_PAIRS = 2_000 if FAST else 20_000  # generated dates, all splits together
EMBEDDING_DIM = 32 if FAST else 64  # C, the model width
NUM_HEADS = 4  # H; head size D = C // H
FF_DIM = 64 if FAST else 128  # hidden width of each feed-forward network
NUM_LAYERS = 1 if FAST else 2  # encoder blocks, and as many decoder blocks
DROPOUT = 0.1
BATCH_SIZE = 64  # B
LEARNING_RATE = 3e-3 if FAST else 1e-3
EPOCHS = 2 if FAST else 10
STEPS_PER_EPOCH = 20 if FAST else 200  # 10 x 200 steps: a few minutes
JIT_COMPILE = not FAST  # XLA: faster steps, but ~1 min to compile on a laptop

SCORE_PAIRS = 50 if FAST else None  # validation pairs decoded; None = all 1,000
BEAM_WIDTH = 4
BEAM_PAIRS = 4 if FAST else 100  # beam search decodes one sentence at a time

# The listing's own sizes (10000, 256, 4, 512) work too, but take longer.
LISTING_SIZES = dict(input_dim=100, output_dim=16, num_heads=2, ff_dim=32)

keras.utils.set_random_seed(SEED)
rng = np.random.default_rng(SEED)

# %% [markdown]
# ## The listing as written
#
# ### Document 004, 4.2 Transformer模型的Python代码示例


# %%
entry = listings.get("004-4.2")
print(entry.code)

# %% [markdown]
# **It cannot run.** Look at the imports and at the names the listing calls:

# %%
tree = ast.parse(entry.code)
imported = {
    alias.asname or alias.name
    for node in ast.walk(tree)
    if isinstance(node, ast.ImportFrom | ast.Import)
    for alias in node.names
}
called = {
    node.func.id
    for node in ast.walk(tree)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
}
defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
missing = called - imported - defined - {"print", "len"}
print("imported:", sorted(imported))
print("called but never imported or defined:", sorted(missing))
assert missing == {"Concatenate"}

# %% [markdown]
# Python stops with `NameError: name 'Concatenate' is not defined` at the
# first call of `Transformer(...)`. (`x_train` and `y_train` are never defined
# either.) zoo's as-written build imports `Concatenate` and changes nothing
# else, so we can see what the listing *would* do. We build it small; it warns
# that it is not a real model:

# %%
as_written = entry.build_as_written(**LISTING_SIZES)
as_written.summary()

# %% [markdown]
# Now its errata, each one checked below where a few lines of code can show
# it:

# %%
for number, line in enumerate(entry.errata, start=1):
    print(f"{number}.", line)

# %% [markdown]
# **Source and target must have the same length** (erratum 2). `Concatenate`
# glues the encoder vector at position t to the decoder embedding at position
# t. A date of 20 characters and its 11-token ISO target cannot be glued:

# %%
source_ids = rng.integers(1, 100, size=(1, 20))  # (B, S)
target_ids = rng.integers(1, 100, size=(1, 11))  # (B, T)
try:
    as_written([source_ids, target_ids])
    raise AssertionError("S != T should fail")
except Exception as err:  # Keras raises ValueError or InvalidArgumentError
    print(type(err).__name__, "->", str(err).splitlines()[0][:160])

same_length = as_written([source_ids[:, :11], target_ids])  # runs only when S == T
print("with S == T == 11 it runs:", tuple(same_length.shape), "(B, T, output_dim)")

# %% [markdown]
# **The output has `output_dim` classes** (erratum 4), not `input_dim`: a
# vocabulary of 100 ids, but only 16 classes to predict them from.

# %%
print("vocabulary:", LISTING_SIZES["input_dim"], "ids")
print("output classes:", as_written.output_shape[-1])
assert as_written.output_shape[-1] == LISTING_SIZES["output_dim"]

# %% [markdown]
# **The decoder has no past** (erratum 3). Change the decoder token at position
# 4 and see which output positions move: only position 4. The prediction at
# position t depends on the token at t and on nothing written before it.

# %%
changed = target_ids.copy()
changed[0, 4] = (changed[0, 4] % 99) + 1  # another id
moved = np.abs(
    np.asarray(as_written([source_ids[:, :11], target_ids]))
    - np.asarray(as_written([source_ids[:, :11], changed]))
).max(axis=-1)[0]  # (T,)
print("output change per position:", np.round(moved, 4))
assert np.flatnonzero(moved > 1e-6).tolist() == [4]

# %% [markdown]
# **No positional encoding** (erratum 5). Cut the model at the `Concatenate`
# to get the encoder's output. Shuffle the source tokens, and the encoder
# outputs are the same vectors, shuffled the same way: the encoder cannot tell
# `12/03/98` from `03/12/98`.

# %%
concat = next(
    lay for lay in as_written.layers if isinstance(lay, keras.layers.Concatenate)
)
encoder_part = keras.Model(as_written.inputs[0], concat.input[0])
x = source_ids[:, :11]  # (1, S)
perm = rng.permutation(x.shape[1])
encoded = np.asarray(encoder_part(x))  # (1, S, ff_dim)
encoded_shuffled = np.asarray(encoder_part(x[:, perm]))
np.testing.assert_allclose(encoded_shuffled, encoded[:, perm], atol=1e-5)
print("encoder output width:", encoded.shape[-1], "= ff_dim, not C (erratum 8)")
print("shuffled source -> the same encoder vectors, shuffled: order is invisible")

# %% [markdown]
# **No padding mask** (erratum 6). Sentences in a batch have different
# lengths, so short ones are padded with id 0. Add three padding tokens to a
# source: the listing's encoder attends to them as if they were text, and the
# vectors of the *real* tokens change.

# %%
padded = np.concatenate([x, np.zeros((1, 3), x.dtype)], axis=1)  # (1, S + 3)
real_moved = np.abs(np.asarray(encoder_part(padded))[:, : x.shape[1]] - encoded).max()
print(f"real tokens' encoder vectors moved by up to {real_moved:.3f}")
assert real_moved > 1e-4

# %% [markdown]
# The zoo call that replaces the listing (with the listing's sizes):

# %%
print("004-4.2 ->", entry.zoo_call)

# %% [markdown]
# ## Data
#
# The dates of notebook 06: human-written dates to ISO 8601, one token per
# character. `prepare_pairs` fits a tokenizer per side and builds the
# teacher-forcing arrays (`<bos> y1 … yn` in, `y1 … yn <eos>` out).

# %%
corpus = make_dates(NUM_PAIRS, seed=SEED)
prepared = prepare_pairs(corpus)
source_tokenizer = prepared.source_tokenizer
target_tokenizer = prepared.target_tokenizer
S, T = prepared.source_len, prepared.target_len
print(corpus)
print("S =", S, " T =", T, " V_src =", source_tokenizer.vocab_size, end=" ")
print(" V_tgt =", target_tokenizer.vocab_size)
for source, target in corpus.train[:4]:
    print(f"{source:>26} -> {target}")

train_ds = prepared.dataset("train", batch_size=BATCH_SIZE, seed=SEED)
valid_ds = prepared.dataset("valid", batch_size=BATCH_SIZE)

# %% [markdown]
# ## The zoo version
#
# `build_transformer` fixes every erratum: token and **position** embeddings
# on both sides (sinusoidal), encoder blocks with a source **padding mask**,
# decoder blocks with **causal self-attention** and **cross-attention**, every
# sub-layer in a **residual connection** with LayerNorm, a two-layer
# feed-forward network, heads of size C / H, dropout, and **logits** over the
# target vocabulary. Here is one decoder block's `call`: the three sub-layers,
# each through `_residual`.

# %%
print(inspect.getsource(TransformerDecoderBlock.call))

# %%
model = build_transformer(
    source_tokenizer.vocab_size,
    target_vocab_size=target_tokenizer.vocab_size,
    max_source_length=S,
    max_target_length=T,
    embedding_dim=EMBEDDING_DIM,
    num_heads=NUM_HEADS,
    ff_dim=FF_DIM,
    num_layers=NUM_LAYERS,
    dropout=DROPOUT,
    learning_rate=LEARNING_RATE,
    jit_compile=JIT_COMPILE,
)
model.summary()

# %% [markdown]
# The listing's failures, checked on zoo's model (untrained): sources of any
# length up to `max_source_length` (S ≠ T), padding that changes nothing, and
# a decoder that sees its past but not its future.

# %%
arrays = prepared.arrays["valid"]
src = arrays["encoder_inputs"][:1]  # (1, S), padded to S
dec = arrays["decoder_inputs"][:1]  # (1, T)
length = int((src != PAD_ID).sum())
logits = np.asarray(model([src, dec]))  # (1, T, V)
for cut in (length, length + 2):  # no padding at all, two padding tokens
    logits_cut = np.asarray(model([src[:, :cut], dec]))  # (1, T, V)
    np.testing.assert_allclose(logits_cut, logits, atol=1e-5)
print(f"source lengths {length}, {length + 2}, {S} -> target length {T}: same logits")
print("padding the source changes nothing (the padding mask)")

dec_changed = dec.copy()
old = target_tokenizer.vocabulary[dec[0, 4]]
dec_changed[0, 4] = target_tokenizer.encode("8" if old == "9" else "9")[0]
moved = np.abs(np.asarray(model([src, dec_changed])) - logits).max(axis=-1)[0]
print("output change per position:", np.round(moved, 3))
assert (moved[:4] < 1e-6).all() and (moved[4:] > 1e-6).all()
print("a change at position 4 moves positions 4..T-1, never 0..3: causal")

# %% [markdown]
# ## Train
#
# The first epoch includes tracing (and with XLA, compiling) the step.
# `zoo.recipes.train_translation` is what `zoo train transformer` runs:
# `prepare_pairs` (the same tokenizers and lengths as above), the factory,
# `zoo.training.train` on the same batches, then greedy translations of the
# validation pairs, scored. It builds its own copy of the model above.

# %%
run = train_translation(
    "transformer",
    corpus,
    epochs=EPOCHS,
    batch_size=BATCH_SIZE,
    steps_per_epoch=STEPS_PER_EPOCH,
    seed=SEED,
    embedding_dim=EMBEDDING_DIM,
    num_heads=NUM_HEADS,
    ff_dim=FF_DIM,
    num_layers=NUM_LAYERS,
    dropout=DROPOUT,
    learning_rate=LEARNING_RATE,
    jit_compile=JIT_COMPILE,
)
model, history = run.model, run.history
print("validation exact match", run.summary["valid"]["exact_match"])

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
plot_history(history, ax=ax)  # training and validation loss per epoch
ax.set_yscale("log")
ax.set_title("Transformer on dates")
plt.show()
assert history["val_loss"][-1] < history["val_loss"][0]

# %% [markdown]
# ## Translate and score
#
# Greedy decoding, then beam search on fewer sentences (it decodes one
# sentence at a time). Exact match is the share of dates that are entirely
# right; character BLEU (sacreBLEU through `zoo.evaluation`) gives partial
# credit for the right characters in the right order.

# %%
valid_pairs = corpus.valid[:SCORE_PAIRS]
sources = [s for s, _ in valid_pairs]
references = [t for _, t in valid_pairs]
greedy = translate(model, source_tokenizer, target_tokenizer, sources)
for source, reference, output in list(zip(sources, references, greedy, strict=True))[
    :8
]:
    mark = "✓" if output == reference else "✗"
    print(f"{source:>26} -> {output:<10} {mark} (reference {reference})")

em = exact_match(greedy, references)
bleu = corpus_bleu(greedy, references, tokenize="char")
print(
    f"\ngreedy: exact match {em:.1%}, character BLEU {bleu:.1f} ({len(sources)} dates)"
)

beam = translate(
    model,
    source_tokenizer,
    target_tokenizer,
    sources[:BEAM_PAIRS],
    beam_width=BEAM_WIDTH,
)
beam_em = exact_match(beam, references[:BEAM_PAIRS])
greedy_em = exact_match(greedy[:BEAM_PAIRS], references[:BEAM_PAIRS])
print(
    f"first {BEAM_PAIRS}: greedy exact match {greedy_em:.1%}, "
    f"beam ({BEAM_WIDTH}) {beam_em:.1%}, "
    f"{sum(b != g for b, g in zip(beam, greedy[:BEAM_PAIRS], strict=True))} differ"
)

# %% [markdown]
# ## Cross-attention, per head and per block
#
# `attention_weights` runs the model on a source and a decoder input and
# returns the cross-attention weights of every decoder block:
# (L, B, H, T, S). Row t is the step that predicts output character t; its
# columns are the source characters. We use the model's own translation.

# %%
source = next(s for s, _ in corpus.test if "年" in s)  # year first: 1998年3月3日
(output,) = translate(model, source_tokenizer, target_tokenizer, [source])
source_row = source_tokenizer.encode(source)[None]  # (1, S)
decoder_row = np.concatenate([[BOS_ID], target_tokenizer.encode(output)])[None]
weights = attention_weights(model, source_row, decoder_row)  # (L, 1, H, T, S)
print(source, "->", output, "  weights:", weights.shape, "(L, B, H, T, S)")
assert np.allclose(weights.sum(axis=-1), 1.0, atol=1e-5)  # every row sums to one

xs = list(source)
ys = list(output) + ["<eos>"]  # row t writes ys[t]
for layer in range(NUM_LAYERS):
    plot_attention(
        weights[layer, 0], xs, ys, title=f"decoder block {layer + 1}: cross-attention"
    )
    plt.show()

# %% [markdown]
# Each head has its own pattern. Which heads follow the year? The source is
# year first, so the year is source characters 0-3. For every head, we count
# how many of the four year digits of the output look most at one of them:

# %%
year_rows = weights[:, 0, :, :4, :]  # (L, H, 4, S): the rows writing the year
on_year = (year_rows.argmax(axis=-1) < 4).sum(axis=-1)  # (L, H)
for layer in range(NUM_LAYERS):
    counts = "  ".join(f"head {h}: {n}/4" for h, n in enumerate(on_year[layer]))
    print(f"decoder block {layer + 1}:  {counts}")

# %% [markdown]
# Padding gets exactly zero. The same sentence padded with 6 more tokens: the
# weights of the padded columns, and of the real ones:

# %%
padded_row = np.pad(source_row, ((0, 0), (0, 6)))  # 6 padding tokens
padded_weights = attention_weights(model, padded_row, decoder_row)
assert (padded_weights[..., source_row.shape[1] :] == 0).all()
np.testing.assert_allclose(
    padded_weights[..., : source_row.shape[1]], weights, atol=1e-5
)
print("padding columns: exactly 0; the real columns: unchanged")

# %% [markdown]
# ## Cached decoding (the KV cache)
#
# To write token t, the decoder needs the keys and values of tokens 0..t in
# every self-attention layer. Recomputing them for the whole prefix at every
# step costs 1 + 2 + … + n positions for n tokens. zoo's `TransformerStepper`
# keeps them in a cache per decoder block, keys and values of (B, H, T_max, D)
# each (heads before positions: the layout attention reads), and each step
# computes one new position. The encoder runs once.

# %%
stepper = TransformerStepper(model)
state = stepper.initial_state(1, source_ids=source_row)
print("encoder output:", tuple(state["encoder_outputs"].shape), "(B, S_max, C)")
for i, (keys, values) in enumerate(state["caches"]):
    shapes = tuple(keys.shape), tuple(values.shape)
    print(f"cache of decoder block {i + 1}:", *shapes, "keys, values (B, H, T_max, D)")

# %% [markdown]
# Two checks that the cache changes nothing but the cost. First the logits:
# `step_logits` feeds the decoder input one token at a time through the cache;
# the model itself reads the whole decoder input at once.

# %%
cached = step_logits(model, decoder_row, source_ids=source_row)  # (1, T, V)
uncached = np.asarray(model([source_row, decoder_row], training=False))
difference = np.abs(cached - uncached).max()
print(f"largest difference, cached vs uncached logits: {difference:.2e}")
np.testing.assert_allclose(cached, uncached, atol=1e-4)

# %% [markdown]
# Then whole translations: greedy decoding written out by hand *without* a
# cache (run the full model on the whole prefix, take the last position's
# best token, repeat), against zoo's cached `translate`. They must
# agree token for token.


# %%
def greedy_uncached(source, max_new_tokens=T - 1):
    """Greedy decoding that recomputes the whole prefix at every step."""
    src = source_tokenizer.encode(source)[None]  # (1, S)
    out = [BOS_ID]
    for _ in range(max_new_tokens):
        logits = model([src, np.array([out])], training=False)  # (1, t, V)
        token = int(np.argmax(logits[0, -1]))
        if token == EOS_ID:
            break
        out.append(token)
    return target_tokenizer.decode(out[1:])


some = sources[:2] + [source]
with warnings.catch_warnings():  # Keras warns about the softmax over 1 key at t=0
    warnings.filterwarnings("ignore", "You are using a softmax over axis")
    by_hand = [greedy_uncached(s) for s in some]
with_cache = translate(model, source_tokenizer, target_tokenizer, some)
for s, a, b in zip(some, by_hand, with_cache, strict=True):
    print(f"{s:>26}: uncached {a:<10}  cached {b:<10}")
assert by_hand == with_cache
n = T - 1
print(f"positions computed for {n} tokens: {n * (n + 1) // 2} uncached, {n} cached")

# %% [markdown]
# ## The test set, once

# %%
test_sources = [s for s, _ in corpus.test[:SCORE_PAIRS]]
test_references = [t for _, t in corpus.test[:SCORE_PAIRS]]
test_outputs = translate(model, source_tokenizer, target_tokenizer, test_sources)
print(
    f"test, greedy: exact match {exact_match(test_outputs, test_references):.1%}, "
    f"character BLEU {corpus_bleu(test_outputs, test_references, tokenize='char'):.1f}"
    f" ({len(test_sources)} dates)"
)

# %% [markdown]
# ## Summary
#
# * Document 004's listing (4.2) cannot run (`Concatenate` is never
#   imported). Run with the import added, it is not a Transformer: it glues
#   encoder and decoder position by position (S must equal T), has no
#   positional encoding (the encoder ignores order), no masks (padding
#   changes the real tokens), no residual connections, a decoder with no
#   past, and `output_dim` output classes instead of the vocabulary.
# * zoo's `build_transformer` has what section 2.3 lists (multi-head
#   attention, feed-forward networks, residual connections) and what
#   document 001 adds (positions, LayerNorm), plus the masks: padding never
#   matters, and the decoder is causal. It outputs logits.
# * Cross-attention gives one (T, S) map per head and per decoder block; every
#   row sums to one and padding gets zero.
# * The KV cache changes the cost of decoding, not the result: cached and
#   uncached logits and greedy translations agree.
#
# ## Exercises
#
# 1. Build zoo's model with `positional="learned"` and train it with the same
#    steps. Is the validation loss better or worse than with sinusoids?
# 2. Set `NUM_LAYERS = 1`. How many parameters are left
#    (`model.count_params()`), and how much does the exact match drop?
# 3. Train on `zoo.data.pairs.make_numbers(5_000, target="chinese")`:
#    English number words to Chinese numerals (`three hundred and forty-two
#    thousand and seven` → `三十四万二千零七`). Draw the cross-attention for a
#    number with 万: which source words does 万 look at?
# 4. Compare notebook 06's GRU model with this Transformer at the same number
#    of training steps: time per step, parameters, exact match.
# 5. In `greedy_uncached`, count the decoder positions computed for a whole
#    validation set, and time it against `translate`. How does the gap
#    grow with the target length?
# 6. Build the listing as written with its own sizes
#    (`entry.build_as_written()`) and call it on target ids of 256 or more.
#    What goes wrong, and which erratum explains it?

# %% [markdown]
# ## 小结
#
# * 文档 004 的代码清单（4.2）无法运行（从未导入 `Concatenate`）。
#   补上导入后运行，它也不是 Transformer：它把编码器和解码器逐位置拼接在一起（S
#   必须等于 T），没有位置编码（编码器忽略顺序），
#   没有掩码（填充会改变真实词元），没有残差连接，解码器看不到过去，
#   并且输出类别数是 `output_dim` 而不是词表大小。
# * zoo 的 `build_transformer` 具备第 2.3 节列出的部件（多头注意力、前馈网络、
#   残差连接）和文档 001 补充的部件（位置、LayerNorm），外加掩码：
#   填充从不起作用，解码器是因果的。它输出 logits。
# * 交叉注意力为每个头、每个解码器块给出一张 (T, S) 的图；每一行之和为一，
#   填充处为零。
# * KV 缓存改变的是解码的开销，而不是结果：有缓存和无缓存的 logits
#   与贪心翻译结果都一致。
#
# ## 练习
#
# 1. 用 `positional="learned"` 构建 zoo 的模型，并用相同的步数训练。
#    验证损失比用正弦位置编码时好还是差？
# 2. 设置 `NUM_LAYERS = 1`。还剩多少参数（`model.count_params()`）？
#    完全匹配率下降了多少？
# 3. 在 `zoo.data.pairs.make_numbers(5_000, target="chinese")` 上训练：
#    把英文数字词翻译成中文数字
#    （`three hundred and forty-two thousand and seven` → `三十四万二千零七`）。
#    为一个带“万”的数画出交叉注意力：“万”关注的是哪些源词？
# 4. 在相同的训练步数下，把笔记本 06 的 GRU 模型与这个 Transformer 比较：
#    每步时间、参数量、完全匹配率。
# 5. 在 `greedy_uncached` 中数出为整个验证集计算的解码器位置数，并与 `translate`
#    比较用时。差距如何随目标长度增长？
# 6. 用代码清单自己的规模按原样构建它（`entry.build_as_written()`），并用 256
#    或更大的目标 id 调用它。出了什么问题？哪一条勘误解释了它？
