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
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 10 · Input representations (输入表示): one-hot, bag of words, TF-IDF, Word2Vec
#
# **Source:** document 001, section **2. 核心概念与联系**:
#
# > 大规模语言模型通常由以下几个部分组成：
# >
# > 1. **输入表示**：将文本转换为模型可以理解的向量表示。常见的方法有词袋模型、
# >    TF-IDF、Word2Vec等。
#
# and document 000's appendix, on how to make a language model better:
# "使用预训练词向量" (use pretrained word vectors).
#
# The section has no code listing; this notebook is its worked example.
#
# **Errata.** The list puts three different kinds of thing side by side. A bag
# of words and TF-IDF represent a whole *document* as one vector and forget the
# order of its words; no language model reads its input that way. Word2Vec
# represents each *word* by a vector learned from the contexts it occurs in,
# and that, an embedding table, is what the models of notebooks 02-09 read;
# inside a language model it is learned together with the rest of the model.
# And today's large language models do not start from words at all but from
# subword tokens (BPE, WordPiece), which the section does not mention.
#
# **Glossary (术语表):** [docs/glossary.md](../docs/glossary.md) gives every
# term of these notebooks in English and Chinese, with a one-line definition.
# The Summary and Exercises are also in Chinese, at the end (小结, 练习).

# %% [markdown]
# ## Introduction
#
# A model computes with numbers, so text must first become vectors. Five ways,
# from the oldest to what language models use:
#
# * **one-hot**: word $i$ of a vocabulary of $V$ is the vector with a 1 at
#   place $i$. Every two words are equally far apart: the vector of "king"
#   says nothing about "queen".
# * **bag of words (词袋模型)**: a document is the sum of its words' one-hot
#   vectors, i.e. how often each word occurs in it. Order is lost.
# * **TF-IDF**: the counts (term frequency, TF) times each word's inverse
#   document frequency (IDF), so words found in every document weigh little.
# * **Word2Vec**: each word a dense vector of, say, 100 numbers, trained so
#   that words used in similar contexts get similar vectors (Mikolov et al.,
#   2013).
# * **the embedding of a language model**: the first layer of every model in
#   notebooks 02-09 is such a table, learned while predicting the next token.
#
# What to look for: one-hot vectors make every pair of words equally
# unrelated; document vectors find the scenes of the same play; Word2Vec's
# and the language model's embeddings put words with similar uses near each
# other; pretrained vectors load into a model's embedding from a file; and a
# subword tokenizer trades vocabulary size against sequence length.

# %% [markdown]
# ## Setup

# %%
import inspect
import os
import re
import tempfile
import time

import keras
import matplotlib.pyplot as plt
import numpy as np

import zoo
from zoo.data import load_corpus
from zoo.representations import (
    DocumentVectorizer,
    WordVectors,
    cosine_similarity,
    keep_probabilities,
    load_vectors,
    train_word2vec,
    word_tokens,
)
from zoo.representations import word2vec as w2v
from zoo.text import BPETokenizer, CharTokenizer, WordPieceTokenizer, WordTokenizer

# %% [markdown]
# ## Configuration
#
# `ZOO_FAST=1` (used by the test suite) trains on a slice of the text and for
# fewer steps; the full values are written beside.

# %%
FAST = os.environ.get("ZOO_FAST") == "1"

W2V_WORDS = 120_000 if FAST else None  # None = all ~730 k words of the training split
W2V_EPOCHS = 1 if FAST else 5
W2V_CONFIG = {"embedding_dim": 100, "window": 5, "negatives": 5, "min_count": 5}
LM_STEPS = 40 if FAST else 3000  # LSTM training steps (batches of 32 x 32 words)
LM_CONFIG = {"embedding_dim": 100, "units": 64 if FAST else 256}
SCENES = 120 if FAST else None  # None = every scene of the training plays
BPE_TEXT = 300_000 if FAST else None  # characters to train BPE on (None = all)
SUBWORD_VOCAB = 2000  # ids of the BPE and WordPiece vocabularies
WORDS = ["king", "queen", "love", "night", "sword", "father", "good", "speak"]
SEED = 0
keras.utils.set_random_seed(SEED)

# %% [markdown]
# ## Data
#
# The bundled Shakespeare plays. For documents we cut the training plays into
# their scenes (each starts with a line "SCENE ..."), and remember which play
# each scene belongs to (each play begins with its title and "by William
# Shakespeare").

# %%
corpus = load_corpus("shakespeare")
plays = re.split(r"\n(?=[^\n]+\n\nby William Shakespeare)", corpus.train)
scenes, scene_play = [], []
for p, play in enumerate(plays):
    for scene in re.split(r"\n(?=SCENE )", play)[1:]:  # [0] is the cast list
        scenes.append(scene)
        scene_play.append(p)
scenes, scene_play = scenes[:SCENES], np.array(scene_play[:SCENES])
print(f"{len(plays)} plays, {len(scenes)} scenes used as documents")
print(scenes[0][:200])

# %% [markdown]
# ## One-hot vectors
#
# `keras.ops.one_hot` of the word ids. Every two different words have cosine
# similarity exactly 0: one-hot vectors carry identity, no meaning.

# %%
vocab = ["king", "queen", "sword", "night"]
one_hot = np.asarray(keras.ops.one_hot(np.arange(len(vocab)), len(vocab)))
print(one_hot)
sims = cosine_similarity(one_hot)
print(np.round(sims, 3))
assert np.array_equal(sims, np.eye(len(vocab)))

# %% [markdown]
# ## Bag of words and TF-IDF
#
# `DocumentVectorizer` wraps Keras's `TextVectorization` (modes `"count"` and
# `"tf_idf"`), which runs on strings, so outside any model and any XLA graph.
# Its IDF is Keras's, $\ln(1 + N / (1 + \mathrm{df}))$ for $N$ documents of
# which $\mathrm{df}$ contain the word (the tests check it against
# scikit-learn's counts):

# %%
print(inspect.getsource(DocumentVectorizer.fit))

# %%
bow = DocumentVectorizer(output_mode="count").fit(scenes)
tfidf = DocumentVectorizer(output_mode="tf_idf").fit(scenes)
counts_matrix = bow.transform(scenes)  # (N, V)
tfidf_matrix = tfidf.transform(scenes)  # (N, V)
print("documents x vocabulary:", counts_matrix.shape)
for name, vectorizer, matrix in [
    ("count", bow, counts_matrix),
    ("tf-idf", tfidf, tfidf_matrix),
]:
    top = np.argsort(-matrix[0])[:8]
    print(f"{name:>6}, top words of scene 0:", [vectorizer.vocabulary[j] for j in top])

# %% [markdown]
# The counts' top words are "the", "and", "i": the same in every scene. TF-IDF
# puts the scene's own words first (its characters' names). Which of the two
# finds, for each scene, a nearest scene (by cosine) from the same play?


# %%
def same_play_share(matrix):
    sims = cosine_similarity(matrix)
    np.fill_diagonal(sims, -np.inf)
    nearest = sims.argmax(axis=1)
    return float(np.mean(scene_play[nearest] == scene_play))


share = {
    "count": same_play_share(counts_matrix),
    "tf-idf": same_play_share(tfidf_matrix),
}
chance = np.mean([np.mean(scene_play == p) for p in scene_play])
print({k: round(v, 3) for k, v in share.items()}, f"chance: {chance:.3f}")
assert share["tf-idf"] > share["count"] > chance

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
for ax, (name, matrix) in zip(
    axes, [("bag of words", counts_matrix), ("TF-IDF", tfidf_matrix)], strict=True
):
    image = ax.imshow(cosine_similarity(matrix), cmap="viridis", vmin=0, vmax=1)
    ax.set_title(f"{name}: cosine between scenes")
    ax.set_xlabel("scene")
    ax.set_ylabel("scene")
fig.colorbar(image, ax=axes)
plt.show()

# %% [markdown]
# The bright squares of the TF-IDF picture are plays: scenes of one play share
# their names and themes. With counts, everything looks like everything,
# because the frequent words dominate every vector.
#
# A bag of words also gives *words* a vector: a word's column of the
# count matrix, in how many of which scenes it occurs (a term-document matrix).
# Its nearest words are words of the same scenes:

# %%
term_vectors = WordVectors(counts_matrix.T[1:], bow.vocabulary[1:])  # (V, N)
for word in WORDS[:4]:
    print(f"{word:>6}:", [w for w, _ in term_vectors.most_similar(word, 6)])

# %% [markdown]
# ## Word2Vec: skip-gram with negative sampling
#
# For every word, each word within its window is a positive example, and
# `negatives` words drawn from the unigram distribution to the power 3/4 are
# negative ones; a logistic regression on the dot products of their vectors
# tells them apart. Frequent words are subsampled first. The model itself is
# two embedding tables and a dot product:

# %%
print(inspect.getsource(w2v.build_skipgram).split('"""')[2])

# %% [markdown]
# Subsampling (t = 1e-3) keeps "the" only a fraction of the time; words rarer
# than the threshold always:

# %%
tokens = word_tokens(corpus.train)[:W2V_WORDS]
words, counts = w2v.build_vocabulary([tokens], min_count=W2V_CONFIG["min_count"])
keep = keep_probabilities(counts, sample=1e-3)
for i in [0, 1, 2, 50, 500]:
    print(
        f"{words[i]!r:>10}: count {counts[i]:>6}, kept with probability {keep[i]:.3f}"
    )
print(f"{len(tokens):,} words, {len(words):,} in the vocabulary")

# %%
start = time.perf_counter()
wv = train_word2vec(tokens, epochs=W2V_EPOCHS, seed=SEED, **W2V_CONFIG)
print(f"trained in {time.perf_counter() - start:.1f} s; loss per epoch", wv.history)
for word in WORDS:
    print(f"{word:>7}:", [w for w, _ in wv.most_similar(word, 6)])

# %% [markdown]
# The analogy "man is to king as woman is to ?" by 3CosAdd: the word whose
# vector is closest to king - man + woman.

# %%
for a, b, c in [
    ("man", "king", "woman"),
    ("he", "his", "she"),
    ("day", "sun", "night"),
]:
    print(
        f"{a} : {b} = {c} : ?", [(w, round(s, 3)) for w, s in wv.analogy(a, b, c, k=3)]
    )

# %% [markdown]
# ## The embedding of a language model
#
# A small word-level LSTM (notebook 03) trained to predict the next word. Its
# first layer is an embedding table of the same shape as Word2Vec's; nobody
# asked it to put similar words together, but predicting the next word needs
# it.

# %%
lm_tokenizer = WordTokenizer.fit(corpus.train, min_freq=5, lowercase=True)
lm_ids = lm_tokenizer.encode(corpus.train)
lm = zoo.build_lstm(lm_tokenizer.vocab_size, **LM_CONFIG)
ds = zoo.make_dataset(lm_ids, seq_len=32, batch_size=32, seed=SEED)
start = time.perf_counter()
fit = lm.fit(ds.repeat(), steps_per_epoch=LM_STEPS, epochs=1, verbose=0)
print(
    f"{LM_STEPS} steps in {time.perf_counter() - start:.0f} s, "
    f"training perplexity {fit.history['perplexity'][-1]:.0f}"
)

# Its vocabulary is " king" (with the space in front) and "king" (at the start
# of a line): keep each word once, its more frequent form.
table = lm.get_layer("embedding").embeddings.numpy()  # (V, E)
lm_words, rows = [], []
for i, token in enumerate(lm_tokenizer.vocabulary):
    word = token.strip()
    if word and word not in lm_words and any(ch.isalnum() for ch in word):
        lm_words.append(word)
        rows.append(i)
lm_vectors = WordVectors(table[rows], [w for w in lm_words if w])
print(lm_vectors)

# %% [markdown]
# ## Side by side
#
# The same words, their nearest neighbours by each representation (one-hot
# has none: every word is at cosine 0 from every other):

# %%
representations = {
    "term-document": term_vectors,
    "Word2Vec": wv,
    "LSTM embedding": lm_vectors,
}
for word in WORDS:
    print(word)
    for name, vectors in representations.items():
        if word in vectors:
            print(f"   {name:>14}:", [w for w, _ in vectors.most_similar(word, 5)])

# %% [markdown]
# A measure instead of impressions: pronouns, people's titles, times of day and
# body parts make four groups; for each word of a group, how many of its
# group-mates are among its 10 nearest neighbours?

# %%
GROUPS = {
    "pronouns": ["he", "she", "they", "we", "you", "i"],
    "titles": ["king", "queen", "duke", "lord", "prince", "lady"],
    "time": ["night", "day", "morning", "hour", "tomorrow", "tonight"],
    "body": ["hand", "eye", "head", "heart", "face", "arm"],
}


def group_recall(vectors, k=10):
    found = []
    for group in GROUPS.values():
        for word in group:
            near = {w for w, _ in vectors.most_similar(word, k)}
            found.append(len(near & set(group)) / (len(group) - 1))
    return float(np.mean(found))


# Keep the words every representation knows (fast mode's vocabularies are
# smaller), at least four per group.
GROUPS = {
    name: [w for w in group if all(w in v for v in representations.values())]
    for name, group in GROUPS.items()
}
print(GROUPS)
assert all(len(group) >= 4 for group in GROUPS.values())
recall = {name: round(group_recall(v), 3) for name, v in representations.items()}
print("share of group-mates among the 10 nearest words:", recall)
if not FAST:  # fast mode trains far too little for the claim below
    assert recall["Word2Vec"] > recall["term-document"]

# %% [markdown]
# In full mode, Word2Vec's neighbours are the group-mates more often than the
# term-document vectors' (checked above): words used alike get vectors alike.
# (In fast mode both are trained on far too little text to say anything.)
#
# A 2-D picture of those words: the first two principal components (PCA by
# the singular value decomposition in NumPy) of each representation's unit
# vectors.


# %%
def pca_2d(vectors, words):
    x = np.stack([vectors[w] / np.linalg.norm(vectors[w]) for w in words])
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return x @ vt[:2].T  # (N, 2)


plot_words = [w for group in GROUPS.values() for w in group]
colours = [c for c, group in zip("rgbm", GROUPS.values(), strict=True) for _ in group]
fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
for ax, (name, vectors) in zip(axes, representations.items(), strict=True):
    points = pca_2d(vectors, plot_words)
    ax.scatter(points[:, 0], points[:, 1], c=colours)
    for (px, py), word in zip(points, plot_words, strict=True):
        ax.annotate(word, (px, py), fontsize=8)
    ax.set_title(name)
plt.show()

# %% [markdown]
# ## Pretrained vectors from a file
#
# Word vectors trained elsewhere (word2vec, GloVe) come as text files, one word
# and its numbers per line. We write our Word2Vec vectors in that format
# (with word2vec's header line "count dim") and load them into the embedding
# of a new LSTM, frozen. `load_vectors` looks each of the model's tokens up
# (" king" as "king") and gives the tokens the file lacks random vectors at the
# file's scale, and counts them.

# %%
with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "shakespeare.vec")
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{len(wv)} {wv.dim}\n")
        for word, vector in zip(wv.vocab, wv.vectors, strict=True):
            f.write(word + " " + " ".join(f"{x:.5f}" for x in vector) + "\n")
    print(f"wrote {os.path.getsize(path) / 1e6:.1f} MB")
    pretrained = load_vectors(path, lm_tokenizer)
print(
    f"{pretrained.found:,} of {len(pretrained.vocabulary):,} tokens found "
    f"({pretrained.coverage:.0%}); missing, e.g.: {pretrained.missing[:8]}"
)
model = zoo.build_lstm(
    lm_tokenizer.vocab_size,
    **{**LM_CONFIG, "embedding_dim": pretrained.dim},
    compile=False,
)
pretrained.assign_to(model, trainable=False)
zoo.compile_model(model)
king = lm_tokenizer.token_to_id(" king")
assert np.allclose(
    model.get_layer("embedding").embeddings.numpy()[king], wv["king"], atol=1e-5
)
assert not model.get_layer("embedding").trainable
print("trainable weights:", [w.name for w in model.trainable_weights][:3], "...")

# %% [markdown]
# ## Subword tokens
#
# Word vocabularies have two problems: every word never seen is `<unk>`, and
# a language with many word forms (or none written with spaces, like Chinese)
# needs a huge vocabulary. Subword tokenizers learn a vocabulary of pieces.
# Byte-level **BPE** (GPT-2) starts from the 256 bytes and merges the most
# frequent adjacent pair, again and again; these are the first merges it
# learns on Shakespeare ("Ġ" is how it writes a space):

# %%
bpe_text = corpus.train[:BPE_TEXT] if BPE_TEXT else corpus.train
bpe = BPETokenizer.fit(bpe_text, max_tokens=SUBWORD_VOCAB)
merges = bpe.get_config()["tokenizer"]["model"]["merges"]
print(len(merges), "merges; the first 15:", merges[:15])
sentence = "Wherefore art thou Romeo? Unsubstantial thoughts!"
print(bpe.split(sentence))
assert bpe.decode(bpe.encode(sentence)) == sentence

# %% [markdown]
# WordPiece (BERT) spells each word with the longest pieces of its vocabulary,
# marking the pieces after the first with "##":

# %%
wordpiece = WordPieceTokenizer.fit(bpe_text, max_tokens=SUBWORD_VOCAB)
print(wordpiece.split(sentence))

# %% [markdown]
# A Chinese sentence. A tokenizer trained on English has seen no Chinese: BPE
# falls back to the UTF-8 bytes (three per character) and still decodes
# exactly; WordPiece makes each character a word, and one it cannot spell is
# `[UNK]`. Trained on the bundled Tang poems, BPE learns Chinese characters,
# and pairs of them, as tokens.

# %%
chinese = "床前明月光，疑是地上霜。"
tang = load_corpus("tang")
tang_bpe = BPETokenizer.fit(tang.train[: len(bpe_text)], max_tokens=SUBWORD_VOCAB)
for name, tokenizer in [("BPE (English)", bpe), ("WordPiece (English)", wordpiece),
                        ("BPE (Tang poems)", tang_bpe)]:  # fmt: skip
    ids = tokenizer.encode(chinese)
    pieces = [tokenizer.backend.decode([int(i)]) for i in ids]
    print(f"{name:>20}: {len(ids):>2} tokens", pieces)
assert bpe.decode(bpe.encode(chinese)) == chinese
assert len(tang_bpe.encode(chinese)) < len(bpe.encode(chinese))

# %% [markdown]
# What each tokenizer does to sequence length: tokens per character of the
# validation play, against the vocabulary size. Characters need the fewest
# ids and the longest sequences; words the shortest sequences and the most
# ids (and still `<unk>` for unseen words); subwords sit in between.

# %%
valid = corpus.valid
tokenizers = {
    "character": CharTokenizer.fit(corpus.train),
    "word": WordTokenizer.fit(corpus.train),
    f"BPE {SUBWORD_VOCAB}": bpe,
    f"WordPiece {SUBWORD_VOCAB}": wordpiece,
}
lengths = {}
print(f"{'tokenizer':>16}{'ids':>9}{'tokens/char':>13}{'<unk> share':>13}")
for name, tokenizer in tokenizers.items():
    ids = tokenizer.encode(valid)
    lengths[name] = len(ids) / len(valid)
    unk = np.mean(ids == tokenizer.unk_id)
    print(f"{name:>16}{tokenizer.vocab_size:>9,}{lengths[name]:>13.3f}{unk:>13.4f}")
assert lengths["character"] > lengths[f"BPE {SUBWORD_VOCAB}"] > lengths["word"]

# %% [markdown]
# ## Summary
#
# * One-hot vectors tell words apart and nothing more: every pair is at cosine
#   0. A bag of words sums them over a document; TF-IDF weighs each count by
#   how rare the word is across documents, and finds the scenes of the same
#   play better than raw counts (printed above).
# * Keras's `TextVectorization` computes both, outside the model; its IDF is
#   $\ln(1 + N/(1 + \mathrm{df}))$, not scikit-learn's default.
# * Word2Vec learns dense word vectors from contexts: a skip-gram model with
#   negative sampling is two embedding tables and a dot product. Its
#   neighbours and analogies come from how words are used; the benchmark
#   `benchmarks/word2vec_vs_gensim.py` compares it with gensim's.
# * A language model's embedding table is the same kind of object, learned
#   for predicting the next word; pretrained vectors can be loaded into it
#   from a file, frozen or fine-tuned, with the words the file lacks counted.
# * Subword tokenizers (BPE, WordPiece) keep the vocabulary small without
#   `<unk>`, at the cost of longer sequences than words.

# %% [markdown]
# ## Exercises
#
# 1. Change `standardize` of the TF-IDF vectorizer to None (keep case and
#    punctuation). Does the same-play share go up or down? Why?
# 2. Train Word2Vec with `window=2` and with `window=10`. Which gives
#    neighbours of the same kind (nouns near nouns) and which neighbours of
#    the same topic?
# 3. Set `sample=0` (no subsampling). What happens to the neighbours of
#    "the", and to the training time?
# 4. Load the Word2Vec vectors into the LSTM with `trainable=True` and train
#    it for `LM_STEPS` steps. Is its perplexity after the same number of
#    steps lower than that of the LSTM trained from random vectors?
# 5. Train BPE with 500, 2000 and 8000 ids and plot tokens per character
#    against the vocabulary size.

# %% [markdown]
# ## 小结
#
# * 独热（one-hot）向量只区分词，任意两个不同词的余弦相似度都是 0。
#   词袋模型把一篇文档中的独热向量相加；TF-IDF 再按词在各文档中的
#   稀有程度加权，比原始计数更能找出同一剧本的场次。
# * Keras 的 `TextVectorization` 在模型之外计算这两种向量；它的 IDF 是
#   $\ln(1 + N/(1 + \mathrm{df}))$，不是 scikit-learn 的默认公式。
# * Word2Vec 从上下文学习稠密词向量：带负采样的 skip-gram 模型就是
#   两张嵌入表和一个点积。`benchmarks/word2vec_vs_gensim.py` 把它与
#   gensim 的实现作了比较。
# * 语言模型的嵌入层是同一类东西，只是为预测下一个词而学；可以从文件
#   载入预训练词向量，冻结或微调，文件中没有的词会被统计出来。
# * 子词分词器（BPE、WordPiece）用较小的词表避免 `<unk>`，代价是
#   序列比按词切分更长。

# %% [markdown]
# ## 练习
#
# 1. 把 TF-IDF 向量器的 `standardize` 改为 None（保留大小写和标点）。
#    同剧本比例是升是降？为什么？
# 2. 分别用 `window=2` 和 `window=10` 训练 Word2Vec。哪一个的近邻是
#    同类词（名词挨着名词），哪一个的近邻是同一话题的词？
# 3. 设 `sample=0`（不做高频词下采样）。"the" 的近邻和训练时间有什么变化？
# 4. 用 `trainable=True` 把 Word2Vec 向量载入 LSTM，训练 `LM_STEPS` 步。
#    与随机初始化的 LSTM 相比，相同步数后的困惑度是否更低？
# 5. 用 500、2000、8000 个 id 训练 BPE，画出每字符 token 数随词表大小
#    的变化。
