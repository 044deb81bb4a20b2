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
# # 11 · Data cleaning (数据清洗)
#
# **Source:** document 004, section 1.2:
#
# > ### 1.2 通用数据
# >
# > 通用数据是指可以应用于多个不同领域和场景的数据集。通用数据具有较高的重复率和
# > 噪声程度，需要经过严格的数据清洗和预处理。
# >
# > * 噪声：可能包含大量无用或有害信息。
#
# and documents 000 and 002 on privacy: "可以通过使用加密技术、数据脱敏等方法来保护
# 用户数据的安全性和隐私性" (000), "保护用户隐私需要遵循一些原则，例如数据脱敏" (002).
#
# The texts name the steps but give no code; this notebook is their worked
# example, with `zoo clean` (`zoo.cleaning`).
#
# **Glossary (术语表):** [docs/glossary.md](../docs/glossary.md) gives every
# term of these notebooks (shingle, Jaccard similarity, MinHash, perplexity) in
# English and Chinese. The Summary and Exercises are also in Chinese, at the
# end (小结, 练习).
#
# **Errata.** "通常包含数十亿甚至数万亿个词汇" counts *tokens of text*, not
# vocabulary (词汇 reads as "words in the vocabulary"): a corpus of a trillion
# tokens still has a vocabulary of a few hundred thousand words.

# %% [markdown]
# ## Introduction
#
# Text collected at scale repeats itself (boilerplate, mirrored pages, the same
# speech quoted again and again), carries noise (mojibake, lines of symbols,
# fragments) and personal data (e-mail addresses, phone numbers, ID numbers).
# `zoo clean` does, one document at a time:
#
# 1. **normalisation**: Unicode NFKC (full-width `ＡＢＣ１２３` becomes `ABC123`),
#    whitespace, optionally traditional to simplified Chinese;
# 2. **masking** (数据脱敏): e-mail addresses, phone numbers and Chinese resident
#    ID numbers become `<EMAIL>`, `<PHONE>`, `<ID>`;
# 3. **noise filters**: mojibake, too short, too long, mostly symbols or digits,
#    repeated lines;
# 4. **exact deduplication** of the normalised text;
# 5. **near-duplicate removal**: MinHash and locality-sensitive hashing (LSH)
#    find documents whose sets of character shingles overlap by a Jaccard
#    similarity of at least the threshold.
#
# What to look for: the pipeline on the bundled Shakespeare corpus and its
# report; then why it matters. An n-gram model trained on text with planted
# duplicate passages copies them: many more of its generated 8-grams are found
# verbatim in the training text than for the same model trained on the
# deduplicated text. And when duplicates leak across a train/validation
# split, the validation perplexity flatters the model while its perplexity on
# really new text (other plays) is no better.

# %% [markdown]
# ## Setup

# %%
import inspect
import json
import os
import random
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import zoo
from zoo import cleaning
from zoo.cleaning import (
    clean,
    clean_documents,
    is_resident_id,
    jaccard,
    mask_personal_data,
    normalize,
    shingle_hashes,
)
from zoo.data import load_corpus
from zoo.models.ngram import NGramLM
from zoo.text import UNK_ID, WordTokenizer

# %% [markdown]
# ## Configuration
#
# `ZOO_FAST=1` (used by the test suite) works on a slice of the training text;
# the full values are written beside.

# %%
FAST = os.environ.get("ZOO_FAST") == "1"

TRAIN_CHARS = 300_000 if FAST else None  # None = all ~4 M characters
PLANTED = 40 if FAST else 200  # passages planted as duplicates
COPIES = 20  # extra copies of each; every other one with one word changed
MIN_PASSAGE_CHARS = 300  # planted passages are speeches at least this long
THRESHOLD = 0.8  # near duplicates: Jaccard similarity of 5-character shingles
ORDER = 5  # n-gram order of the models
N = 8  # memorisation is measured on generated N-grams of words
MIN_FREQ = 2  # rarer words become <unk>
PROMPTS = 20 if FAST else 50  # prompts per set
PROMPT_TOKENS = 6  # a prompt is the start of a speech
MAX_NEW_TOKENS = 60
TEMPERATURE = 0.8
TOP_K = 40
VALID_SHARE = 0.1  # of the documents, for the shuffled split
TEST_CHARS = 100_000 if FAST else None  # of the test plays, for perplexity
SEED = 0

# %% [markdown]
# ## The steps, one by one
#
# **Normalisation.** NFKC turns compatibility forms into their plain forms:
# full-width letters and digits become ASCII, the ideographic space a space.
# It would also turn the Chinese comma `，` into an ASCII `,`; zoo gives Chinese
# punctuation back its full-width form next to a Chinese character, so Chinese
# text keeps its own punctuation and mixed text becomes consistent.

# %%
for text in [
    "Ｈｅｌｌｏ，　ｗｏｒｌｄ！  ①②",
    "你好,世界!\t价格：１２３元",
    "漢字與數據",
]:
    print(repr(text), "->", repr(normalize(text)))
print(repr(normalize("漢字與數據", to_simplified=True)), "(to_simplified=True)")
assert normalize("你好,世界!") == "你好，世界！"

# %% [markdown]
# **Masking.** Patterns find e-mail addresses, phone numbers (Chinese mobile
# and landline numbers, international `+NN` numbers) and 18-character Chinese
# resident ID numbers. An ID number ends in a check character (ISO 7064
# MOD 11-2), so a random 18-digit number is not masked; neither are dates or
# ordinary numbers. Here is the check:

# %%
print(inspect.getsource(is_resident_id))

# %%
samples = [
    "联系人：李雷，手机 138-0013-8000，邮箱 li.lei@example.com。",
    "身份证号 11010519491231002X；订单号 110105194912310021。",
    "Call +44 20 7946 0958 or (010) 6234 5678 before 2024-05-01.",
    "共有 1,234,567 人，圆周率 3.14159265358979。",
]
for text in samples:
    masked, counts = mask_personal_data(normalize(text))
    print(masked, {k: v for k, v in counts.items() if v})
assert "<ID>" in mask_personal_data(samples[1])[0]
assert "110105194912310021" in mask_personal_data(samples[1])[0]  # bad check digit
assert mask_personal_data(samples[3])[0] == samples[3]

# %% [markdown]
# **Shingles and Jaccard similarity, from scratch.** A document's *shingles*
# are its overlapping 5-character pieces; characters, not words, so Chinese
# needs no word segmentation. Two documents are near duplicates when the
# Jaccard similarity of their shingle sets, $|A \cap B| / |A \cup B|$, is at
# least the threshold. With Python sets:

# %%
line = "To be, or not to be, that is the question: whether 'tis nobler in the mind"
variants = {
    "one letter": line.replace("nobler", "nobier"),
    "punctuation": line.replace(", that", "; that"),
    "new ending": line[:40] + " so says the fool, and so say I today",
}


def shingle_set(text, k=5):
    text = " ".join(text.lower().split())
    return {text[i : i + k] for i in range(len(text) - k + 1)}


for name, other in variants.items():
    a, b = shingle_set(line), shingle_set(other)
    by_hand = len(a & b) / len(a | b)
    library = jaccard(shingle_hashes(line), shingle_hashes(other))
    print(f"{name:>12}: Jaccard {by_hand:.3f}")
    assert abs(by_hand - library) < 1e-12  # zoo hashes the shingles: the same sets

# %% [markdown]
# Comparing every pair of documents is quadratic. **MinHash** summarises a set
# by the minimum of each of 128 random hash functions over its elements; two
# sets agree on one minimum with probability equal to their Jaccard
# similarity, so the share of agreeing minima estimates it. **LSH** cuts the
# 128 minima into bands and only compares documents that agree on a whole
# band. zoo uses `datasketch` for both, then checks each candidate with the
# exact Jaccard similarity, so LSH only decides which pairs are compared.

# %%
from datasketch import MinHash  # noqa: E402 (an optional dependency, shown here)


def minhash(text):
    signature = MinHash(num_perm=128, seed=SEED, hashfunc=int)
    signature.update_batch((shingle_hashes(text) >> np.uint64(32)).tolist())
    return signature


for name, other in variants.items():
    exact = jaccard(shingle_hashes(line), shingle_hashes(other))
    estimate = minhash(line).jaccard(minhash(other))
    print(f"{name:>12}: exact {exact:.3f}, MinHash estimate {estimate:.3f}")

# %% [markdown]
# ## The pipeline on the bundled corpus
#
# The documents are Shakespeare's speeches (blocks between blank lines), as
# `zoo clean` reads a file. We run it as the command does, on a file, and read
# its report.

# %%
corpus = load_corpus("shakespeare")
train_text = corpus.train[:TRAIN_CHARS] if TRAIN_CHARS else corpus.train
folder = Path(tempfile.mkdtemp())
raw_path = folder / "shakespeare.txt"
raw_path.write_text(train_text, encoding="utf-8")
report = clean(raw_path, folder / "cleaned.txt", report=folder / "report.json")
print(f"before: {report['before']}\nafter:  {report['after']}")
print(f"{'rule':>16} {'documents':>9} {'characters':>10}")
for rule, entry in report["removed"].items():
    print(f"{rule:>16} {entry['documents']:>9,} {entry['characters']:>10,}")
for rule in ("too_short", "exact_duplicate", "near_duplicate"):
    print(rule, json.dumps(report["removed"][rule]["examples"][:2], ensure_ascii=False))

# %% [markdown]
# Shakespeare is clean text, so what goes is stage directions repeated across
# the plays (`[Exit.]`), one-word speeches, and a few speeches that repeat
# another one almost word for word. Cleaning the output again changes nothing:

# %%
again = clean(folder / "cleaned.txt", folder / "again.txt")
assert (folder / "again.txt").read_bytes() == (folder / "cleaned.txt").read_bytes()
assert again["before"] == again["after"] == report["after"]
print("cleaning the cleaned file changes nothing:", again["after"])

# %% [markdown]
# ## Data with planted duplicates
#
# Now the lesson. We take the training speeches and plant `COPIES` extra
# copies of `PLANTED` long speeches at random places, every other copy with one
# word changed (a near duplicate, as a page quoted with a small edit). This
# is what general data looks like at scale: the same passage many times.

# %%
speeches = [doc for _, doc in cleaning.read_documents(raw_path)]
rng = random.Random(SEED)
long_ones = [i for i, s in enumerate(speeches) if len(s) >= MIN_PASSAGE_CHARS]
planted = rng.sample(long_ones, PLANTED)
dirty = list(speeches)
for i in planted:
    for copy in range(COPIES):
        text = speeches[i]
        if copy % 2:
            words = text.split(" ")
            words[rng.randrange(len(words))] = "zounds"
            text = " ".join(words)
        dirty.insert(rng.randrange(len(dirty) + 1), text)
deduped = clean_documents(dirty, threshold=THRESHOLD)
removed = {k: v["documents"] for k, v in deduped.report["removed"].items()}
print(f"{len(speeches):,} speeches + {PLANTED * COPIES:,} planted copies")
print(f"removed: {removed}")
print(f"kept: {len(deduped.documents):,} documents")
found = removed["exact_duplicate"] + removed["near_duplicate"]
assert found >= PLANTED * COPIES  # every planted copy (and a few of Shakespeare's)

# %% [markdown]
# ## Memorisation: generated 8-grams found verbatim in the training text
#
# Two word-level Kneser-Ney models of order `ORDER` (notebook 01), one on the
# text with the planted duplicates, one on the same text deduplicated. Both
# share one tokenizer (fitted on the deduplicated text), so
# their numbers are comparable. Each continues the same prompts: the first
# `PROMPT_TOKENS` tokens (words, spaces and newlines) of planted passages, and of
# other long speeches (ones whose start has no `<unk>`). We count the share of
# the generated word 8-grams that occur verbatim in the (deduplicated)
# training text: copying, not composing.

# %%
dirty_text = "\n\n".join(dirty) + "\n"
clean_text = "\n\n".join(deduped.documents) + "\n"
tokenizer = WordTokenizer.fit(clean_text, min_freq=MIN_FREQ)
V = tokenizer.vocab_size
models = {
    "with duplicates": NGramLM(ORDER).fit(tokenizer.encode(dirty_text), vocab_size=V),
    "deduplicated": NGramLM(ORDER).fit(tokenizer.encode(clean_text), vocab_size=V),
}


def ngram_keys(ids, n=N):
    """One 64-bit key per n-gram of `ids` (a polynomial hash of its ids)."""
    ids = np.asarray(ids, dtype=np.uint64)
    count = len(ids) - n + 1
    keys = np.zeros(max(count, 0), dtype=np.uint64)
    for j in range(n):
        keys = keys * np.uint64(1_000_003) + ids[j : j + count]
    return keys


training_ngrams = np.unique(ngram_keys(tokenizer.encode(clean_text)))


def prompt_of(speech):
    """The first PROMPT_TOKENS tokens of `speech`, or None if one is <unk>."""
    ids = tokenizer.encode(speech)[:PROMPT_TOKENS]
    return None if UNK_ID in ids else tokenizer.decode(ids)


def prompts_from(indices):
    prompts = (prompt_of(speeches[i]) for i in indices)
    return [p for p in prompts if p is not None][:PROMPTS]


others = [i for i in long_ones if i not in set(planted)]
prompt_sets = {
    "planted passages": prompts_from(planted),
    "other speeches": prompts_from(rng.sample(others, len(others))),
}
print({name: len(prompts) for name, prompts in prompt_sets.items()}, "prompts")
print("e.g.", [prompts[0] for prompts in prompt_sets.values()])
verbatim = {}
for model_name, lm in models.items():
    for set_name, prompts in prompt_sets.items():
        hits = total = 0
        for k, prompt in enumerate(prompts):
            text = zoo.generate(
                lm,
                tokenizer,
                prompt,
                max_new_tokens=MAX_NEW_TOKENS,
                temperature=TEMPERATURE,
                top_k=TOP_K,
                seed=SEED + k,
            )
            keys = ngram_keys(tokenizer.encode(text[len(prompt) :]))
            hits += int(np.isin(keys, training_ngrams).sum())
            total += keys.size
        verbatim[model_name, set_name] = hits / total
        print(
            f"{model_name:>16}, prompts from {set_name}: {hits / total:.1%} of "
            f"{total:,} generated {N}-grams are verbatim training text"
        )

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
x = np.arange(len(prompt_sets))
for j, model_name in enumerate(models):
    shares = [100 * verbatim[model_name, s] for s in prompt_sets]
    ax.bar(x + 0.4 * j - 0.2, shares, width=0.4, label=model_name)
ax.set_xticks(x, list(prompt_sets))
ax.set_ylabel(f"generated {N}-grams found in training (%)")
ax.set_title(f"Order-{ORDER} Kneser-Ney: copying, before and after dedup")
ax.legend()
plt.show()
for set_name in prompt_sets:
    assert (
        verbatim["with duplicates", set_name] > 3 * verbatim["deduplicated", set_name]
    )

# %% [markdown]
# The model trained with duplicates copies planted passages when prompted with
# their openings, and drifts into them from other prompts too: the repeated
# passages dominate its counts. After deduplication each passage counts once
# and the share falls to what any order-5 model copies by chance.
#
# ## Held-out perplexity, flattered by leaked duplicates
#
# A common shortcut: shuffle the documents and cut off 10% for validation.
# With duplicates in the data, copies of the same passage land on both sides,
# and the validation text is partly training text. We split both versions of
# the data that way, fit a model on each training part, and score each on its
# own validation part and on the test plays, which neither has seen.


# %%
def shuffled_split(documents, seed=SEED):
    documents = list(documents)
    random.Random(seed).shuffle(documents)
    n_valid = int(len(documents) * VALID_SHARE)
    join = "\n\n".join
    return join(documents[n_valid:]) + "\n", join(documents[:n_valid]) + "\n"


test_text = corpus.test[:TEST_CHARS] if TEST_CHARS else corpus.test
test_ids = tokenizer.encode(test_text)
perplexity = {}
for name, documents in (
    ("with duplicates", dirty),
    ("deduplicated", deduped.documents),
):
    train_part, valid_part = shuffled_split(documents)
    lm = NGramLM(ORDER).fit(tokenizer.encode(train_part), vocab_size=V)
    perplexity[name] = {
        "validation": lm.perplexity(tokenizer.encode(valid_part)),
        "test plays": lm.perplexity(test_ids),
    }
    print(
        f"{name:>16}: validation perplexity {perplexity[name]['validation']:8.1f}, "
        f"test plays {perplexity[name]['test plays']:8.1f}"
    )
flattered = perplexity["with duplicates"]["validation"]
honest = perplexity["deduplicated"]["validation"]
print(f"the leaky validation perplexity is {honest / flattered:.1f} times lower")
assert flattered < 0.5 * honest
# ...but on new text the model with duplicates is no better.
on_test = {name: scores["test plays"] for name, scores in perplexity.items()}
assert on_test["with duplicates"] >= 0.95 * on_test["deduplicated"]

# %% [markdown]
# The validation number of the data with duplicates looks far better, and
# means nothing: on the test plays the model with duplicates is no better
# (the numbers above), its counts spent on passages it has seen many times.
# Deduplicate first, then split; better still, split by whole source (zoo's
# bundled corpora are split by whole plays and whole authors).

# %% [markdown]
# ## Summary
#
# * General data repeats itself and is noisy (document 004 section 1.2);
#   `zoo clean` normalises it, masks personal data, filters noise and removes
#   exact and near duplicates, and reports what each rule did.
# * Near duplicates are found with MinHash and LSH over character shingles
#   (so Chinese works) and confirmed with the exact Jaccard similarity.
# * Masking checks what it can: a resident ID's check character, a phone
#   number's shape; dates and ordinary numbers stay.
# * Duplicated training text is memorised: the model copies it verbatim.
# * Duplicates across a split flatter held-out perplexity; deduplicate before
#   splitting, or split by source.

# %% [markdown]
# ## Exercises
#
# 1. Vary `THRESHOLD` over 0.5, 0.7, 0.9 and 1.0 on the planted data. How many
#    near copies are found at each? Print a pair just below the threshold.
# 2. Plant copies with *more* changes (three words, or a new last line). At
#    what amount of change does the default threshold stop finding them?
# 3. Run `zoo clean` on the bundled Tang poems (`load_corpus("tang").train`
#    written to a file). What does the report say? Try `--to-simplified` on a
#    traditional-Chinese text of your own.
# 4. Write five sentences with phone numbers in formats not covered here
#    (e.g. `138 0013 8000` with full-width spaces, `+852` numbers). Which are
#    masked? Which ordinary numbers are masked by mistake?
# 5. Repeat the memorisation measure with a character-level model
#    (`zoo.text.CharTokenizer`) and 20-grams of characters.

# %% [markdown]
# ## 小结
#
# * 通用数据重复率高、噪声多（document 004 第 1.2 节）。`zoo clean` 做规范化、
#   数据脱敏、噪声过滤、精确去重和近似去重，并报告每条规则删除或替换了什么。
# * 近似重复用字符 shingle 上的 MinHash 和局部敏感哈希（LSH）查找，中文不需要分词；
#   候选对再用精确的 Jaccard 相似度确认。
# * 脱敏会做能做的校验：身份证号的校验码、电话号码的格式；日期和普通数字不动。
# * 训练数据里重复的段落会被模型背下来，生成时逐字照抄。
# * 重复数据跨越训练集和验证集时，验证困惑度会虚低；先去重再划分，或者按来源划分。

# %% [markdown]
# ## 练习
#
# 1. 在植入重复的数据上把 `THRESHOLD` 改为 0.5、0.7、0.9 和 1.0，各找到多少近似
#    重复？打印一对相似度刚好低于阈值的文档。
# 2. 植入改动更多的副本（改三个词，或换掉最后一行）。改到什么程度，默认阈值就找不到了？
# 3. 用 `zoo clean` 清洗自带的唐诗语料（把 `load_corpus("tang").train` 写入文件），
#    报告里有什么？再用 `--to-simplified` 处理一段你自己的繁体中文。
# 4. 写五句包含本笔记本没有覆盖的电话格式的句子（例如带全角空格的 `138 0013 8000`，
#    `+852` 号码），哪些被脱敏了？哪些普通数字被误脱敏了？
# 5. 用字符级模型（`zoo.text.CharTokenizer`）和 20 个字符的 n-gram 重复上面的记忆测量。
