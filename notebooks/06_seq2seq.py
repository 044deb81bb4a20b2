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
# # 06 · Sequence to sequence with attention (序列到序列与注意力机制)
#
# **Source:** document 000, section **4.3 注意力机制**:
#
# > 注意力机制是一种在序列到序列生成任务中非常重要的技术。它可以帮助模型在生成新的
# > 句子时关注输入数据中的关键信息。我们将以 attention mechanism for seq2seq models
# > 为例进行解释。
#
# The section promises the example and stops there: it has no formula and no
# code. Document 001, section **2. 核心概念与联系**, names the parts:
#
# > 2. **编码器**：将输入表示编码为一个连续的向量表示。RNN、LSTM、GRU等序列模型、
# >    Transformer等自注意力机制都是常用的编码器。
# > 3. **解码器**：根据编码器输出的向量表示生成文本。Seq2Seq模型、Attention机制、
# >    Beam Search等都是常用的解码器。
#
# This notebook is the worked example that 4.3 promises, built from those
# parts: a GRU **encoder**, a GRU **decoder** with **attention**, and two ways
# to decode, greedy and **beam search**.
#
# Shape letters: **B** batch, **S** source length, **T** target length,
# **E** embedding size, **U** recurrent units, **V** vocabulary size.
#
# **Glossary (术语表):** [docs/glossary.md](../docs/glossary.md) gives every
# term of these notebooks in English and Chinese, with a one-line definition.
# The Summary and Exercises are also in Chinese, at the end (小结, 练习).

# %% [markdown]
# ## Introduction
#
# A sequence-to-sequence (seq2seq) model reads one sequence and writes
# another, of a different length. The task here is small enough for a laptop
# and has exactly one right answer: dates as people write them, turned into
# ISO 8601.
#
# | source (human)          | target (ISO)  |
# |-------------------------|---------------|
# | `Tue March 3rd, 1998`   | `1998-03-03`  |
# | `03/03/98`              | `1998-03-03`  |
# | `1998年3月3日`          | `1998-03-03`  |
#
# An **encoder** RNN reads the source and gives one vector per source
# character, $h_1 \dots h_S$. A **decoder** RNN writes the target one
# character at a time. Before it writes character $t$, its state $s_t$
# **attends** to the encoder vectors: a weight $a_{tj}$ for every source
# position $j$ (the weights sum to one), and a context
# $c_t = \sum_j a_{tj} h_j$. The year's digits should look at the year, the
# month's at the month name: "关注输入数据中的关键信息".
#
# In this notebook we:
#
# 1. generate the dates data and see how a pair becomes three arrays
#    (teacher forcing);
# 2. see why the encoder may be bidirectional but the decoder may not;
# 3. compute additive (Bahdanau) and dot-product attention by hand and check
#    them against zoo;
# 4. train one model with each score and plot the losses;
# 5. translate with greedy decoding and with beam search, and score them with
#    exact match and BLEU;
# 6. draw the attention weights: the alignment between source and target.

# %% [markdown]
# ## Setup

# %%
import os

import keras
import matplotlib.pyplot as plt
import numpy as np
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

from zoo import corpus_bleu, exact_match, listings, plot_attention, plot_history
from zoo.data.pairs import DATE_FORMATS, encode_pairs, make_dates
from zoo.generation import Seq2SeqStepper, translate
from zoo.models.seq2seq import build_seq2seq
from zoo.plotting import cjk_font
from zoo.recipes.translation import (
    attention_map,
    prepare_pairs,
    train_translation,
)

print("font for Chinese tokens:", cjk_font() or "none found, so Chinese shows as boxes")

# %% [markdown]
# Section 4.3 has no code listing, so there is nothing to build as written
# here: `zoo.listings` records none for the seq2seq family (notebook 07
# builds document 004's Transformer listing, the texts' one encoder-decoder
# listing).

# %%
print("listings for seq2seq:", listings.for_family("seq2seq"))
assert not listings.for_family("seq2seq")

# %% [markdown]
# ## Configuration
#
# All settings live in this one cell. The test suite sets `ZOO_FAST=1` to run
# a tiny version; the value after `else` is the real one. In fast mode the
# models are barely trained: the code runs, the numbers mean little.

# %%
FAST = os.environ.get("ZOO_FAST") == "1"
SEED = 42

NUM_PAIRS = 2_000 if FAST else 20_000  # generated dates, all splits together
EMBEDDING_DIM = 32 if FAST else 64  # E, each side its own table
UNITS = 64 if FAST else 128  # U: decoder state, and each encoder direction
BATCH_SIZE = 64  # B
LEARNING_RATE = 1e-2 if FAST else 5e-3
EPOCHS = 2 if FAST else 8
STEPS_PER_EPOCH = 20 if FAST else 150  # 8 x 150 steps: a few minutes per model
JIT_COMPILE = not FAST  # XLA: faster steps, but ~25 s to compile each model

SCORE_PAIRS = 50 if FAST else None  # validation pairs decoded; None = all 1,000
BEAM_WIDTH = 4
BEAM_PAIRS = 4 if FAST else 200  # beam search decodes one sentence at a time

keras.utils.set_random_seed(SEED)

# %% [markdown]
# ## Data
#
# `make_dates` draws a random day between 1969 and 2068, writes it in one of
# ten formats (and a random case), and pairs it with its ISO form. Nothing is
# downloaded; the same seed gives the same data on every computer. The splits
# never share a source string.

# %%
corpus = make_dates(NUM_PAIRS, seed=SEED)
print(corpus)
print(len(DATE_FORMATS), "formats:", *DATE_FORMATS, sep="\n  ")
for source, target in corpus.train[:6]:
    print(f"{source:>26} -> {target}")

# %% [markdown]
# One token per character, one tokenizer per side. `prepare_pairs` fits them
# on the training pairs and turns every split into three arrays. With the
# target written `<bos> y1 … yn <eos>`, the decoder **reads** all but the last
# token and **predicts** all but the first (teacher forcing): at training time
# the decoder is always given the right previous character.

# %%
prepared = prepare_pairs(corpus)
source_tokenizer = prepared.source_tokenizer
target_tokenizer = prepared.target_tokenizer
S, T = prepared.source_len, prepared.target_len
print("source vocabulary:", source_tokenizer.vocab_size, " S =", S)
print("target vocabulary:", target_tokenizer.vocab_size, " T =", T, "(10 + <eos>)")
print("target characters:", "".join(target_tokenizer.vocabulary[4:]))

arrays = prepared.arrays["train"]
for key, value in arrays.items():
    print(f"{key:<16} {value.shape}  {value[0].tolist()}")
vocab = target_tokenizer.vocabulary
print("decoder reads:   ", [vocab[i] for i in arrays["decoder_inputs"][0]])
print("decoder predicts:", [vocab[i] for i in arrays["decoder_targets"][0]])
assert (arrays["decoder_inputs"][:, 1:] == arrays["decoder_targets"][:, :-1]).all()

train_ds = prepared.dataset("train", batch_size=BATCH_SIZE, seed=SEED)
valid_ds = prepared.dataset("valid", batch_size=BATCH_SIZE)

# %% [markdown]
# ## The model
#
# `build_seq2seq` follows Luong et al. (2015): the decoder GRU takes a step,
# then its state $s_t$ attends over the encoder states, and
# $\tanh(W_c[s_t; c_t])$ goes to the output layer:
#
# ```
# source ids (B, S) -> embedding -> bidirectional GRU -> h_1..h_S (B, S, 2U)
#                                          | final states -> bridge -> s_0
# target ids (B, T) -> embedding -> GRU -> s_t (B, T, U)
#                                   attention(s_t, h) -> c_t, a_t
#                            tanh(W_c [s_t; c_t]) -> Dense -> logits (B, T, V)
# ```


# %%
def build(attention):
    """A seq2seq model with the given attention score, sized by the config."""
    return build_seq2seq(
        source_tokenizer.vocab_size,
        target_vocab_size=target_tokenizer.vocab_size,
        embedding_dim=EMBEDDING_DIM,
        units=UNITS,
        attention=attention,
        learning_rate=LEARNING_RATE,
        jit_compile=JIT_COMPILE,
        name=f"seq2seq_{attention}",
    )


model = build("additive")
model.summary()

# %% [markdown]
# ### Why the encoder may read both ways, and the decoder may not
#
# Notebook 04 warned that a `Bidirectional` RNN in a language model cheats: it
# reads the very characters it is asked to predict. Here the encoder is
# bidirectional on purpose. The difference is what is known when:
#
# * the **source** is given whole before the first target character is
#   written. Reading it right to left as well lets $h_1$ know the end of the
#   source: in most formats the year, which the output writes first, comes
#   last. Nothing is seen that should not be;
# * the **target** is what the model writes, one character at a time. When it
#   writes character $t$, characters $t+1, \dots$ do not exist yet. So the
#   decoder reads left to right only: it is a causal language model of the
#   target, given the source.
#
# We check both on the untrained model. First the encoder: change the *last*
# source character and look at the encoder vector of the *first* one. Its
# forward half (read so far: one character) stays the same; its backward half
# (which has read the whole source from the end) moves.

# %%
stepper = Seq2SeqStepper(model)
src = prepared.arrays["valid"]["encoder_inputs"][:1].copy()  # (1, S)
length = int((src != 0).sum())
changed = src.copy()
last = source_tokenizer.decode(src[0, length - 1 : length])
changed[0, length - 1] = source_tokenizer.encode("8" if last == "7" else "7")[0]
print(source_tokenizer.decode(src[0]), "|", source_tokenizer.decode(changed[0]))

h_a = np.asarray(stepper.encode(src)[0])  # (1, S, 2U)
h_b = np.asarray(stepper.encode(changed)[0])
forward_moved = np.abs(h_a[0, 0, :UNITS] - h_b[0, 0, :UNITS]).max()
backward_moved = np.abs(h_a[0, 0, UNITS:] - h_b[0, 0, UNITS:]).max()
print(
    f"h_1 moved by {forward_moved:.2e} (forward half), {backward_moved:.2e} (backward)"
)
assert forward_moved < 1e-9 < backward_moved  # exactly 0 vs. not 0

# %% [markdown]
# Now the decoder: change target character 5 and compare the logits. Positions
# 0-4 do not move (they cannot see character 5); position 5 onwards do.

# %%
dec = prepared.arrays["valid"]["decoder_inputs"][:1].copy()  # (1, T)
dec_changed = dec.copy()
dec_changed[0, 5] = target_tokenizer.encode("9" if vocab[dec[0, 5]] != "9" else "8")[0]
logits_a = np.asarray(model([src, dec]))  # (1, T, V)
logits_b = np.asarray(model([src, dec_changed]))
moved = np.abs(logits_a - logits_b).max(axis=-1)[0]  # (T,)
print("largest logit change per target position:", np.round(moved, 4))
assert (moved[:5] < 1e-6).all() and (moved[5:] > 1e-6).all()

# %% [markdown]
# ## Two attention scores: additive and dot-product
#
# Both give a score $e_{tj}$ for decoder state $s_t$ (size U) and encoder
# state $h_j$ (size 2U, both directions), then
# $a_{tj} = \text{softmax}_j(e_{tj})$ over the real source positions, and the
# context $c_t = \sum_j a_{tj} h_j$. They differ in the score:
#
# * **additive** (Bahdanau et al., 2015): a small network with one hidden
#   layer, $e_{tj} = v^\top \tanh(W_1 s_t + W_2 h_j)$;
# * **dot-product** (Luong et al., 2015, "general"): a projection then a dot
#   product, $e_{tj} = (W_a s_t) \cdot h_j / \sqrt{2U}$. This is document
#   001's $\text{softmax}(QK^T/\sqrt{d_k})V$ (notebook 05) with
#   $Q = s W_a$ and $K = V = h$.
#
# The dot product is one matrix product for all (t, j) pairs; the additive
# score builds a (B, T, S, units) tensor first, so it costs more memory.
# We compute both by hand for one decoder state, with the layers' own
# weights, and compare.

# %%
dot_model = build("dot")
rng = np.random.default_rng(SEED)
s_t = rng.normal(size=(1, UNITS)).astype("float32")  # (B, U): one decoder state
mask = src != 0  # (1, S): True at real source characters
h = h_a  # (1, S, 2U): encoder states of the source above


def softmax_over_real(scores, mask):
    """Softmax over the real positions; padding gets weight 0."""
    scores = np.where(mask, scores, -np.inf)
    scores = scores - scores.max(axis=-1, keepdims=True)
    return np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)


additive = model.get_layer("attention")
W1 = additive.query_dense.kernel.numpy()  # (U, units)
W2 = additive.value_dense.kernel.numpy()  # (2U, units)
v = additive.score_dense.kernel.numpy()[:, 0]  # (units,)
e_additive = np.tanh((s_t @ W1)[:, None, :] + h @ W2) @ v  # (1, S)
a_additive = softmax_over_real(e_additive, mask)  # (1, S)

dot = dot_model.get_layer("attention")
W_a = dot.query_dense.kernel.numpy()  # (U, 2U)
e_dot = np.einsum("bd,bsd->bs", s_t @ W_a, h) / np.sqrt(h.shape[-1])  # (1, S)
a_dot = softmax_over_real(e_dot, mask)  # (1, S)

for name, layer, ours in (("additive", additive, a_additive), ("dot", dot, a_dot)):
    context, weights = layer(s_t, h, padding_mask=mask)  # (1, 2U), (1, S)
    np.testing.assert_allclose(np.asarray(weights), ours, atol=1e-5)
    np.testing.assert_allclose(np.asarray(context), ours @ h[0], atol=1e-5)
    assert np.allclose(ours.sum(-1), 1) and (ours[~mask] == 0).all()
    print(f"{name:>8}: by hand == zoo; weights sum to 1, padding gets 0")

# %% [markdown]
# ## Train
#
# One model with each score, the same data, sizes and steps. The loss is the
# cross-entropy of each target character given the right previous ones
# (teacher forcing), padding excluded. The first epoch includes tracing (and
# with XLA, compiling) the training step. `zoo.recipes.train_translation` is
# what `zoo train seq2seq` runs: `prepare_pairs` (the same tokenizers as
# above), the factory, `zoo.training.train` on the same batches, then greedy
# translations of the validation pairs, scored. Each call builds its own copy
# of the model above.

# %%
runs = {
    attention: train_translation(
        "seq2seq",
        corpus,
        epochs=EPOCHS,
        batch_size=BATCH_SIZE,
        steps_per_epoch=STEPS_PER_EPOCH,
        seed=SEED,
        embedding_dim=EMBEDDING_DIM,
        units=UNITS,
        attention=attention,
        learning_rate=LEARNING_RATE,
        jit_compile=JIT_COMPILE,
        name=f"seq2seq_{attention}",
    )
    for attention in ("additive", "dot")
}
model, history = runs["additive"].model, runs["additive"].history
dot_model, dot_history = runs["dot"].model, runs["dot"].history
for attention, run in runs.items():
    print(f"{attention}: validation exact match {run.summary['valid']['exact_match']}")

# %%
curves = {
    f"{name} {key}": hist[key]
    for name, hist in (("additive", history), ("dot", dot_history))
    for key in ("loss", "val_loss")
}  # plot_history draws any metric -> per-epoch values
fig, ax = plt.subplots(figsize=(6, 3.5))
plot_history(curves, ax=ax, keys=list(curves))
ax.set_yscale("log")
ax.set_title("seq2seq on dates")
plt.show()
for name, hist in (("additive", history), ("dot", dot_history)):
    print(f"{name:>8}: validation loss {hist['val_loss'][-1]:.2e} ({EPOCHS} epochs)")
assert history["val_loss"][-1] < history["val_loss"][0]

# %% [markdown]
# ## Translate: greedy decoding
#
# At translation time there is no right previous character to give. The
# decoder starts from `<bos>`, and at every step feeds back its own choice.
# **Greedy** decoding takes the most likely character each time.
# `translate` runs the encoder once and then one decoder step per
# character (a compiled step, not `model.predict` in a loop; docs/pitfalls.md #9).
# A recurrent decoder has no length limit of its own, so we stop it after
# `T` tokens: 10 characters and `<eos>`.

# %%
valid_pairs = corpus.valid[:SCORE_PAIRS]
sources = [s for s, _ in valid_pairs]
references = [t for _, t in valid_pairs]
greedy = {
    name: translate(m, source_tokenizer, target_tokenizer, sources, max_new_tokens=T)
    for name, m in (("additive", model), ("dot", dot_model))
}
for source, reference, output in list(
    zip(sources, references, greedy["additive"], strict=True)
)[:8]:
    mark = "✓" if output == reference else "✗"
    print(f"{source:>26} -> {output:<10} {mark} (reference {reference})")

# %% [markdown]
# ## Score: exact match and BLEU
#
# **Exact match** is the share of outputs equal to the reference, character
# for character: the honest score when there is one right answer.
#
# **BLEU** (sacreBLEU, through `zoo.evaluation.corpus_bleu`) counts matching
# n-grams, n = 1..4, over the whole set. It gives partial credit: an output
# with the right year and a wrong day still shares many n-grams with the
# reference. What an n-gram is made of depends on the tokenizer. BLEU's
# default, sacreBLEU's `13a`, splits an ISO date at its hyphens into five
# tokens (year, `-`, month, `-`, day): a correct date scores 100, but one
# wrong digit costs its whole year, month or day token. Counting
# **characters** (`tokenize="char"`), as `zoo.recipes.translation` does,
# gives credit digit by digit. The cell below prints both for one reference
# and a copy of it with the day's last digit changed:

# %%
reference = corpus.valid[0][1]
wrong_day = reference[:-1] + ("1" if reference[-1] != "1" else "2")
print(f"13a tokens of {reference!r}:", Tokenizer13a()(reference).split())
print(f"the same date with a wrong day: {wrong_day!r}")
for tokenize in ("13a", "char"):
    right = corpus_bleu([reference], [reference], tokenize=tokenize)
    wrong = corpus_bleu([wrong_day], [reference], tokenize=tokenize)
    print(f"{tokenize:>4}: BLEU {right:5.1f} right, {wrong:5.1f} with a wrong day")

# %%
scores = {}
for name, outputs in greedy.items():
    scores[name] = (
        exact_match(outputs, references),
        corpus_bleu(outputs, references, tokenize="char"),
    )
    print(
        f"{name:>8} attention, greedy: exact match {scores[name][0]:6.1%}, "
        f"character BLEU {scores[name][1]:5.1f}  ({len(references)} validation dates)"
    )

# %% [markdown]
# Where exact match is low, BLEU can still be high: a wrong date usually has
# most of its characters right. Which errors are left?

# %%
errors = [
    (s, r, o)
    for s, r, o in zip(sources, references, greedy["additive"], strict=True)
    if o != r
]
print(f"{len(errors)} wrong of {len(sources)} (additive). The first few:")
for source, reference, output in errors[:6]:
    print(f"{source:>26} -> {output:<10} (reference {reference})")

# %% [markdown]
# ## Beam search
#
# Greedy decoding commits to one character at a time. If the best *sequence*
# starts with a character that is only second best at step 1, greedy never
# finds it. **Beam search** (document 001: "Beam Search") keeps the
# `BEAM_WIDTH` best partial sequences at every step, scored by their summed
# log-probability, and returns the best finished one. It is slower: zoo's
# beam search decodes one sentence at a time, so we use fewer sentences.
#
# To see what beam search optimises, we score every output with the model
# itself: the log-probability of `<bos> output <eos>` under teacher forcing.


# %%
def sequence_logprob(m, sources, outputs):
    """log p(output | source) of each pair: the sum over its characters and <eos>."""
    a = encode_pairs(
        list(zip(sources, outputs, strict=True)),
        source_tokenizer,
        target_tokenizer,
        source_len=S,
        target_len=max(len(o) for o in outputs) + 1,
    )
    logits = np.asarray(m([a["encoder_inputs"], a["decoder_inputs"]]))  # (B, T, V)
    logits = logits - logits.max(axis=-1, keepdims=True)  # for a stable exp
    logp = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))  # log-softmax
    targets = a["decoder_targets"]  # (B, T)
    picked = np.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
    return (picked * (targets != 0)).sum(axis=-1)  # (B,)


beam_sources, beam_references = sources[:BEAM_PAIRS], references[:BEAM_PAIRS]
beam = translate(
    model,
    source_tokenizer,
    target_tokenizer,
    beam_sources,
    beam_width=BEAM_WIDTH,
    max_new_tokens=T,
)
greedy_some = greedy["additive"][:BEAM_PAIRS]
lp_greedy = sequence_logprob(model, beam_sources, greedy_some)
lp_beam = sequence_logprob(model, beam_sources, beam)

print(f"{BEAM_PAIRS} validation dates, additive model:")
print(f"  greedy:     exact match {exact_match(greedy_some, beam_references):6.1%}")
print(f"  beam ({BEAM_WIDTH}):   exact match {exact_match(beam, beam_references):6.1%}")
differ = [i for i in range(BEAM_PAIRS) if beam[i] != greedy_some[i]]
print(f"  outputs that differ: {len(differ)}")
print(f"  mean log p(output): greedy {lp_greedy.mean():.3f}, beam {lp_beam.mean():.3f}")
at_least = (lp_beam >= lp_greedy - 1e-4).mean()
print(f"  beam's output at least as likely as greedy's: {at_least:.0%} of the dates")
for i in differ[:5]:
    print(
        f"  {beam_sources[i]:>26}: greedy {greedy_some[i]} ({lp_greedy[i]:.2f}), "
        f"beam {beam[i]} ({lp_beam[i]:.2f}), reference {beam_references[i]}"
    )

# %% [markdown]
# Beam search finds sequences that the *model* finds more likely; that is all
# it promises. When the model is well trained (full mode), greedy is already
# almost always right on this task, and beam search changes little: it pays
# off more on long outputs with many plausible continuations (real
# translation, summaries).

# %% [markdown]
# ## Attention: the alignment
#
# `attention_map` runs the model on one source and its translation and returns
# the weights (T, S): row t is the step that writes output character t, its
# columns the source characters. A source written year first (`1998年3月3日`)
# should give a band along the diagonal: each output character looks at, or
# next to, the source character it copies. A source with the year at the end
# gives the year block in the top right: the alignment is a permutation of
# blocks, not one diagonal.

# %%
examples = [
    next(s for s, _ in corpus.test if "年" in s),  # year, month, day: in order
    next(s for s, _ in corpus.test if s[0].isdigit() and " of " in s),  # 3rd of ...
]
outputs = translate(
    model, source_tokenizer, target_tokenizer, examples, max_new_tokens=T
)  # the model's own translations; attention_map shows how it wrote them
maps = [
    attention_map(model, source_tokenizer, target_tokenizer, source, output)
    for source, output in zip(examples, outputs, strict=True)
]  # (weights (T, S), source tokens, output tokens) per example
fig, axes = plt.subplots(1, 2, figsize=(13, 4.5), layout="constrained")
for source, (weights, xs, ys), ax in zip(examples, maps, axes, strict=True):
    assert np.allclose(weights.sum(axis=-1), 1.0, atol=1e-5)  # rows sum to one
    plot_attention(weights, xs, ys, ax=ax, title=f"{source} -> {''.join(ys[:-1])}")
plt.show()

# %% [markdown]
# How diagonal is the first one? For each of the year's four output digits, we
# find the source character it attends to most:

# %%
source, (weights, xs, ys) = examples[0], maps[0]
strongest = weights.argmax(axis=-1)  # (T,): the source position each row likes best
year_span = range(0, 4)  # "1998年...": the year is characters 0-3 of the source
on_year = [int(strongest[t]) in year_span for t in range(4)]
print(source, "->", "".join(ys[:-1]))
for t in range(4):
    j = int(strongest[t])
    print(f"  output {ys[t]!r} looks most at source {xs[j]!r} (position {j})")
print(f"year digits that look at the year: {sum(on_year)} of 4")
if not FAST:  # a barely trained model (fast mode) has not learned to align yet
    assert sum(on_year) >= 3

# %% [markdown]
# Attention weights are a *picture of what the model used*, not a proof: the
# decoder state already carries what it has written, so a character can be
# right even where the weights look blurry. Still, for dates the pictures are
# easy to read.
#
# ## The test set, once
#
# Settings were chosen on the validation pairs. The test pairs are scored once,
# at the end, with greedy decoding:

# %%
test_sources = [s for s, _ in corpus.test[:SCORE_PAIRS]]
test_references = [t for _, t in corpus.test[:SCORE_PAIRS]]
test_outputs = translate(
    model, source_tokenizer, target_tokenizer, test_sources, max_new_tokens=T
)
test_em = exact_match(test_outputs, test_references)
test_bleu = corpus_bleu(test_outputs, test_references, tokenize="char")
print(
    f"test, additive attention, greedy: exact match {test_em:.1%}, "
    f"character BLEU {test_bleu:.1f} ({len(test_references)} dates)"
)

# %% [markdown]
# ## Summary
#
# * Document 000's "attention mechanism for seq2seq models" (4.3) is an
#   encoder RNN, a decoder RNN, and at every decoder step a softmax over the
#   source positions; document 001's 编码器, 解码器, Attention and Beam
#   Search are those parts.
# * Teacher forcing: the decoder reads `<bos> y1 … yn` and predicts
#   `y1 … yn <eos>`. At translation time it feeds back its own output.
# * The encoder may be bidirectional because the source is known in full; the
#   decoder must stay causal (checked: a later target character never changes
#   an earlier prediction).
# * Additive score $v^\top\tanh(W_1 s + W_2 h)$ and dot score
#   $(W_a s)\cdot h/\sqrt{d}$: our NumPy matched zoo's layers, and each row of
#   weights sums to one with zero on padding.
# * Exact match is the honest score for dates; BLEU gives partial credit, by
#   year, month and day with its default tokenizer and digit by digit with
#   `tokenize="char"`. Beam search looks for the outputs that the model itself finds
#   most likely (compare the log-probabilities printed above); it is not a
#   guarantee of a better answer.
# * The attention map of a year-first date is close to a diagonal.
#
# ## Exercises
#
# 1. Build the model with `bidirectional_encoder=False` and train it with the
#    same steps. Does the loss go down as fast? Which formats suffer most?
#    (Hint: where is the year in each format?)
# 2. Build it with `attention=None` (Sutskever et al., 2014: the source
#    reaches the decoder only through its first state). Compare the exact
#    match with the attention models.
# 3. Set `BEAM_WIDTH = 1`. Check that beam search then gives the greedy
#    outputs. Then try 2 and 8: how does the time grow?
# 4. Write a date in a format the model never saw, e.g. `1998/3/3` or
#    `March the 3rd, 1998`, and translate it. Draw its attention map.
# 5. Score the greedy outputs with BLEU's default tokenizer
#    (`corpus_bleu(outputs, references)`, no `tokenize=`) and compare with the
#    character BLEU above. Which is lower when some dates are wrong, and why?
#    Then change one digit of a correct date's *year* and score it both ways:
#    how many 13a tokens does the one digit spoil?
# 6. Try `cell="lstm"` in `build`. How many parameters does the model have
#    now (`model.count_params()`), and does it train faster per step?

# %% [markdown]
# ## 小结
#
# * 文档 000 的 “attention mechanism for seq2seq models”（4.3）就是一个编码器
#   RNN、一个解码器 RNN，以及解码器每一步在源序列位置上做的一次 softmax；文档
#   001 的编码器、解码器、Attention 和 Beam Search 就是这些部件。
# * 教师强制：解码器读入 `<bos> y1 … yn`，预测 `y1 … yn <eos>`。翻译时，
#   它把自己的输出送回作为输入。
# * 编码器可以是双向的，因为源序列是完整已知的；解码器必须保持因果（已检查：
#   后面的目标字符从不改变前面的预测）。
# * 加性打分 $v^\top\tanh(W_1 s + W_2 h)$ 和点积打分 $(W_a s)\cdot h/\sqrt{d}$：
#   我们的 NumPy 与 zoo 的层一致，每一行权重之和为一，填充处为零。
# * 对日期来说，完全匹配是诚实的分数；BLEU 给部分得分：用默认的分词方式时按年、月、日
#   计分，用 `tokenize="char"` 时逐个数字计分。
#   束搜索寻找模型自己认为最可能的输出（比较上面打印的对数概率）；
#   它并不保证答案更好。
# * 年份在前的日期，其注意力图接近一条对角线。
#
# ## 练习
#
# 1. 用 `bidirectional_encoder=False` 构建模型，并用相同的步数训练。
#    损失下降得一样快吗？哪些格式受影响最大？（提示：每种格式里年份在哪里？）
# 2. 用 `attention=None` 构建模型（Sutskever et al., 2014：
#    源序列只通过解码器的初始状态到达解码器）。
#    把它的完全匹配率与有注意力的模型比较。
# 3. 设置束宽 `BEAM_WIDTH = 1`，检查束搜索此时给出的正是贪心解码的输出。再试 2
#    和 8：时间如何增长？
# 4. 用一种模型从未见过的格式写一个日期，例如 `1998/3/3` 或
#    `March the 3rd, 1998`，翻译它，并画出它的注意力图。
# 5. 用 BLEU 默认的分词方式给贪心解码的输出打分（`corpus_bleu(outputs,
#    references)`，不传 `tokenize=`），并与上面的字符级 BLEU 比较。
#    当有些日期错了时，哪一个更低？为什么？然后把一个正确日期的*年份*改掉一位数字，
#    用两种方式打分：这一位数字毁掉了几个 13a 词元？
# 6. 在 `build` 中试试 `cell="lstm"`。
#    模型现在有多少个参数（`model.count_params()`）？每步训练得更快吗？
