"""N-gram language models over integer token ids (document 000, 4.1 概率语言模型).

An n-gram model assumes that each token depends only on the ``n - 1`` tokens
before it, and estimates that conditional probability by counting:

    P(w | context) = count(context w) / count(context •)        (maximum likelihood)

The model here works on token ids, so it serves `zoo.text.CharTokenizer` and
`zoo.text.WordTokenizer` alike, and it is counted with numpy rather than Python
loops over tokens: every m-gram gets a dense rank, order by order, as the rank of
the int64 key ``rank(its first m - 1 tokens) * vocab_size + last token``. The
sorted keys of each order are the whole model; scoring a text is a few
`np.searchsorted` lookups per order. An order-5 Kneser-Ney model of a million
word tokens fits in seconds.

Which n-grams are counted: every sequence is padded at its start with
``order - 1`` `BOS_ID`, and one n-gram of every order 1..n *ending at each real
token* is counted (padding never becomes a target). That is what makes every
distribution below sum to one. End-of-sentence is not added for you: append
`EOS_ID` to each sentence if the model should learn where sentences end.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

from zoo.errors import ZooError
from zoo.text import BOS_ID, MASK_ID, PAD_ID

SMOOTHINGS = ("mle", "add_k", "kneser_ney", "kneser_ney_single")
FORMAT = "zoo.ngram"
# Version 2: "kneser_ney" became modified Kneser-Ney (three discounts); the
# one-discount variant is now "kneser_ney_single". Version 1 files are read
# with their old meaning (`_UPGRADE`).
FORMAT_VERSION = 2
_UPGRADE = {1: {"kneser_ney": "kneser_ney_single", "modified_kneser_ney": "kneser_ney"}}

# What `next_token_logits` writes for probability 0: finite, so sampling and
# softmax never see -inf or NaN (docs/pitfalls.md #8, #10), and far below any real
# log-probability (log of the smallest float64 is about -745).
NEG_LOGIT = float(np.finfo(np.float32).min / 2)

# Ids that are never a next token. PAD is removed from the input, BOS is context
# only, and MASK belongs to masked language models.
NEVER_PREDICTED = (PAD_ID, BOS_ID, MASK_ID)
KNESER_NEY = ("kneser_ney", "kneser_ney_single")


class NGramLM:
    """An n-gram language model of any order, with four ways to smooth.

    * ``"mle"``: plain maximum likelihood, count(context w) / count(context •),
      as in the text. An n-gram never seen in training gets probability 0, so a
      held-out text usually has log-probability -inf and perplexity inf; that is
      the reason smoothing exists. A *context* never seen in training has no
      estimate at all (0 / 0); the model then uses the longest suffix of the
      context that was seen (in the end the unigram distribution), so
      `next_token_probs` always sums to one.
    * ``"add_k"``: add `k` to every count (Laplace smoothing for ``k=1``):
      (count(context w) + k) / (count(context •) + k |V|), where |V| counts the
      ids that can be predicted (all but PAD, BOS and MASK).
    * ``"kneser_ney"`` (the default): interpolated *modified* Kneser-Ney
      (Chen & Goodman 1998). For a context c of length m - 1 and the shorter
      context c' (c without its first token)::

          P(w | c) = max(N(c w) - D(N(c w)), 0) / N(c •) + gamma(c) P(w | c')
          gamma(c) = (D1 N1(c •) + D2 N2(c •) + D3 N3+(c •)) / N(c •)

      with three discounts per order, D1 for n-grams seen once, D2 for twice
      and D3 for three times or more, estimated from that order's counts of
      counts n_1..n_4::

          Y = n_1 / (n_1 + 2 n_2),   D_k = k - (k + 1) Y n_{k+1} / n_k

      N_k(c •) counts the tokens seen exactly k times after c (3 or more for
      N3+). The highest order uses counts N = count; the lower orders use
      continuation counts N(c w) = N1+(• c w), the number of distinct tokens
      seen before ``c w``. A context never seen backs off fully (weight 1) to
      the shorter one. The recursion ends, as in Chen & Goodman, with the
      unigram level itself discounted and interpolated with the uniform
      distribution over the predictable ids, so every real token, even one
      never seen in training, has a probability above zero. An order whose
      counts of counts leave a D_k undefined or outside (0, k) (a tiny
      corpus) uses `discount` for it.
    * ``"kneser_ney_single"``: the same interpolation with one absolute
      `discount` D for every count, so gamma(c) = D N1+(c •) / N(c •). This
      is the textbook Kneser-Ney and what `nltk.lm` implements; with one D a
      higher order gains little (docs/pitfalls.md #25).

    Difference between ``"kneser_ney_single"`` and
    `nltk.lm.KneserNeyInterpolated`: the recursion is the same, but nltk's
    lowest order is the undiscounted continuation distribution
    N1+(• w) / N1+(• •), which gives probability 0 (and perplexity inf) to a
    token never seen in training. ``uniform_floor=False`` reproduces nltk
    exactly. nltk's ``padded_everygram_pipeline`` also pads with ``</s>`` and
    counts n-grams made only of padding (``<s> <s>``), so its distributions
    right after ``<s>`` sum to more than one (1.375 for an order-3 model of
    three short sentences); zoo counts only n-grams ending at a real token.
    Given the same n-grams (see tests/test_ngram.py) the two agree to rounding.

    Mirrors: document 000, section 4.1 概率语言模型 (the N-gram model, estimated
        by maximum likelihood); add-k and Kneser-Ney are the usual fixes for
        the zero probabilities that maximum likelihood gives.
    Reference: Chen & Goodman 1998, "An Empirical Study of Smoothing Techniques
        for Language Modeling"; Kneser & Ney 1995, "Improved backing-off for
        M-gram language modeling".

    Args:
        order: n, the number of tokens in the longest n-gram (1 = unigram,
            2 = bigram, ...); the model looks at the last ``order - 1`` ids.
        smoothing: ``"mle"``, ``"add_k"``, ``"kneser_ney"`` (modified, three
            discounts) or ``"kneser_ney_single"`` (one discount, as nltk).
        discount: D for ``"kneser_ney_single"``, in (0, 1); for
            ``"kneser_ney"``, the fallback for a discount its counts cannot
            estimate.
        k: the pseudo-count for add-k, > 0.
        uniform_floor: Kneser-Ney only. True (default): the unigram level is
            discounted and interpolated with the uniform distribution. False:
            the plain continuation unigram, as nltk does.

    Example:
        >>> from zoo.text import WordTokenizer
        >>> text = "the cat sat on the mat. the dog sat on the log."
        >>> tok = WordTokenizer.fit(text)
        >>> lm = NGramLM(order=2, smoothing="mle")
        >>> lm = lm.fit(tok.encode(text), vocab_size=tok.vocab_size)
        >>> probs = lm.next_token_probs(tok.encode(" sat on"))
        >>> round(float(probs[tok.token_to_id(" the")]), 3)
        1.0
        >>> # Only " log" after " the" was uncertain (1 of 3): perplexity 3 ** (1 / 7).
        >>> round(lm.perplexity(tok.encode("the cat sat on the log.")), 4)
        1.1699
    """

    def __init__(
        self,
        order: int = 3,
        *,
        smoothing: str = "kneser_ney",
        discount: float = 0.75,
        k: float = 1.0,
        uniform_floor: bool = True,
    ):
        if isinstance(order, bool) or not isinstance(order, (int, np.integer)):
            raise ZooError(f"order must be an integer >= 1, got {order!r}")
        if order < 1:
            raise ZooError(f"order must be >= 1 (1 = unigram), got {order}")
        if smoothing not in SMOOTHINGS:
            raise ZooError(f"smoothing must be one of {SMOOTHINGS}, got {smoothing!r}")
        if not 0.0 < discount < 1.0:
            raise ZooError(f"discount must lie in (0, 1), got {discount!r}")
        if not k > 0:
            raise ZooError(f"k must be > 0, got {k!r}")
        self.order = int(order)
        self.smoothing = smoothing
        self.discount = float(discount)
        self.k = float(k)
        self.uniform_floor = bool(uniform_floor)
        self.vocab_size: int | None = None
        # Per order m = 0..n (index 0 is the empty context, rank 0):
        self._keys: list[np.ndarray] = []  # sorted int64 keys of the m-grams
        self._counts: list[np.ndarray] = []  # how often each m-gram ends a token
        self._suffix: list[np.ndarray] = []  # rank of the m-gram minus its 1st token

    # ------------------------------------------------------------------ counting

    def fit(self, ids, *, vocab_size: int) -> NGramLM:
        """Count the n-grams of a token stream or of a list of sentences.

        Args:
            ids: a 1-D integer array (one token stream), a list of 1-D arrays
                (sentences), or a 2-D array whose rows are sentences. `PAD_ID`
                is dropped; `BOS_ID` is context only (never counted as a next
                token); `UNK_ID` is an ordinary token.
            vocab_size: the number of ids, usually ``tokenizer.vocab_size``.

        Returns:
            self, fitted (calling `fit` again starts from scratch).

        Example:
            >>> lm = NGramLM(order=2).fit([5, 6, 5, 6, 7], vocab_size=8)
            >>> lm.count([5, 6])
            2
        """
        if isinstance(vocab_size, bool) or not isinstance(
            vocab_size, (int, np.integer)
        ):
            raise ZooError(f"vocab_size must be an integer, got {vocab_size!r}")
        if vocab_size < 2:
            raise ZooError(f"vocab_size must be >= 2, got {vocab_size}")
        vocab_size = int(vocab_size)
        stream, depth, targets = self._pad(*_flatten(ids, vocab_size, "fit"))
        if not targets.any():
            raise ZooError("fit() needs at least one token that is not PAD or BOS")
        if (stream.size + 1) * vocab_size >= 2**62:
            raise ZooError("too many tokens for int64 n-gram keys; fit on less text")

        # Order 0 is the empty context: one "gram", rank 0, before every token.
        keys = [np.zeros(1, np.int64)]  # keys[m]: (G_m,) sorted m-gram keys
        counts = [np.array([targets.sum()])]  # counts[m]: (G_m,)
        suffix = [None]  # suffix[m]: (G_m,) rank of the (m-1)-gram w/o 1st token
        prev = np.zeros(stream.size, np.int64)  # (T,) rank of (m-1)-gram ending at t
        for m in range(1, self.order + 1):
            valid = depth >= m - 1  # the m-gram ending at t lies inside its sequence
            context = np.zeros_like(prev)  # (T,) rank of the m-gram's first m-1 ids
            context[1:] = prev[:-1]
            uniq, inverse = np.unique(
                context[valid] * vocab_size + stream[valid], return_inverse=True
            )
            rank = np.full(stream.size, -1, np.int64)
            rank[valid] = inverse
            suf = np.zeros(uniq.size, np.int64)
            suf[inverse] = prev[valid]  # the same m-gram always has the same suffix
            keys.append(uniq)
            counts.append(np.bincount(rank[targets], minlength=uniq.size))
            suffix.append(suf)
            prev = rank
        self.vocab_size = vocab_size
        self._keys, self._counts, self._suffix = keys, counts, suffix
        self._build()
        return self

    def _pad(self, tokens, lengths):
        """Put ``order - 1`` BOS before each sequence of the flat `tokens`.

        Returns the stream (T,), each position's depth in its padded sequence
        (T,), and the mask of positions that are scored (T,).
        """
        padded = lengths + self.order - 1
        starts = np.cumsum(padded) - padded
        total = int(padded.sum())
        stream = np.full(total, BOS_ID, np.int64)
        depth = np.arange(total, dtype=np.int64) - np.repeat(starts, padded)
        stream[depth >= self.order - 1] = tokens
        targets = (depth >= self.order - 1) & (stream != BOS_ID)
        return stream, depth, targets

    def _build(self):
        """Turn counts into per-order tables: alpha per m-gram, gamma per context.

        Every smoothing is then the same recursion from the unigram level up,
        ``p = alpha[c w] + gamma[c] * p``, with alpha 0 for an unseen m-gram and
        gamma 1 for an unseen context (back off fully).
        """
        V, n = self.vocab_size, self.order
        predictable = np.ones(V, bool)
        predictable[[i for i in NEVER_PREDICTED if i < V]] = False
        num_predictable = int(predictable.sum())
        self._base = predictable / num_predictable  # (V,) uniform over real ids
        self._alpha, self._gamma = [None], [None]
        for m in range(1, n + 1):
            if self.smoothing == "add_k" and m < n:
                self._alpha.append(None)
                self._gamma.append(None)
                continue
            if self.smoothing in KNESER_NEY and m < n:
                # N1+(• c w): distinct (m+1)-grams seen, grouped by their suffix.
                higher = self._suffix[m + 1][self._counts[m + 1] > 0]
                count = np.bincount(higher, minlength=self._keys[m].size)
            else:
                count = self._counts[m]
            count = count.astype(np.float64)
            context = self._keys[m] // V  # rank of each m-gram's context
            total = np.bincount(
                context, weights=count, minlength=self._keys[m - 1].size
            )
            seen = total > 0
            safe_total = np.where(seen, total, 1.0)
            if self.smoothing == "mle":
                alpha = count / safe_total[context]
                gamma = np.where(seen, 0.0, 1.0)
            elif self.smoothing == "add_k":
                denom = total + self.k * num_predictable
                alpha = count / denom[context]
                gamma = self.k * num_predictable / denom
            elif m == 1 and not self.uniform_floor:
                alpha = count / safe_total[context]
                gamma = np.where(seen, 0.0, 1.0)
            else:
                discounts = self._discounts(count)  # (4,): D(0), D1, D2, D3+
                d = discounts[np.minimum(count, 3).astype(np.int64)]  # (G_m,)
                alpha = np.maximum(count - d, 0.0) / safe_total[context]
                mass = np.bincount(context, weights=d, minlength=total.size)
                gamma = np.where(seen, mass / safe_total, 1.0)
            self._alpha.append(alpha)
            self._gamma.append(gamma)

    def _discounts(self, count) -> np.ndarray:
        """(4,) discounts by count 0, 1, 2, 3+ for one order's counts.

        One `discount` for every count ("kneser_ney_single"), or Chen &
        Goodman's three estimated from the counts of counts ("kneser_ney").
        """
        D = self.discount
        if self.smoothing == "kneser_ney_single":
            return np.array([0.0, D, D, D])
        n = [int(np.sum(count == k)) for k in range(5)]  # n[k]: seen exactly k
        out = np.array([0.0, D, D, D])
        if n[1] and n[2]:
            y = n[1] / (n[1] + 2 * n[2])
            for k in (1, 2, 3):
                if n[k]:
                    estimate = k - (k + 1) * y * n[k + 1] / n[k]
                    if 0.0 < estimate < k:
                        out[k] = estimate
        return out

    def _ranks(self, stream, depth):
        """Rank of the m-gram ending at each position, for m = 0..n (-1: unseen)."""
        V = self.vocab_size
        ranks = [np.zeros(stream.size, np.int64)]
        for m in range(1, self.order + 1):
            context = np.full(stream.size, -1, np.int64)
            context[1:] = ranks[-1][:-1]
            if m == 1:
                context[:] = 0
            known = (context >= 0) & (depth >= m - 1)
            query = context * V + stream
            table = self._keys[m]
            where = np.minimum(np.searchsorted(table, query), table.size - 1)
            ranks.append(np.where(known & (table[where] == query), where, -1))
        return ranks

    # ------------------------------------------------------------------- scoring

    def _check_fitted(self):
        if self.vocab_size is None:
            raise ZooError(
                "this NGramLM is not fitted yet: call fit(ids, vocab_size=...)"
            )

    def next_token_probs(self, context) -> np.ndarray:
        """The distribution of the token that follows `context`.

        Args:
            context: 1-D integer ids (may be empty). Only the last
                ``order - 1`` are used; a shorter context is padded with BOS,
                as the sequences were in `fit`. PAD ids are dropped.

        Returns:
            (V,) float64 probabilities; PAD, BOS and MASK get 0 and the rest
            sums to 1.

        Example:
            >>> lm = NGramLM(order=2, smoothing="mle").fit([5, 6, 5, 7], vocab_size=8)
            >>> lm.next_token_probs([5])[[6, 7]].tolist()
            [0.5, 0.5]
        """
        self._check_fitted()
        V, n = self.vocab_size, self.order
        context = _flatten(context, V, "next_token_probs", allow_list=False)[0]
        history = np.full(n - 1, BOS_ID, np.int64)
        if n > 1 and context.size:
            tail = context[-(n - 1) :]
            history[n - 1 - tail.size :] = tail
        # Ranks of the contexts of length 0..n-1 that end at the last position.
        ranks = self._ranks(history, np.arange(n - 1, dtype=np.int64))
        context_rank = [0] + [int(r[-1]) if r.size else -1 for r in ranks[1:n]]
        probs = self._base.copy()
        for m in range(1, n + 1):
            c = context_rank[m - 1]
            if self._alpha[m] is None or c < 0:
                continue
            lo, hi = np.searchsorted(self._keys[m], [c * V, (c + 1) * V])
            probs *= self._gamma[m][c]
            probs[self._keys[m][lo:hi] - c * V] += self._alpha[m][lo:hi]
        return probs

    def next_token_logits(self, context) -> np.ndarray:
        """Log-probabilities of the next token, ready to sample from.

        Args:
            context: 1-D integer ids, or a 2-D (B, T) batch of them.

        Returns:
            (V,) float32 (or (B, V) for a batch) natural-log probabilities;
            where the probability is 0 the value is `NEG_LOGIT`, a large
            negative finite number, never -inf (docs/pitfalls.md #8, #10).
        """
        context = np.asarray(context)
        if context.ndim == 2:
            return np.stack([self.next_token_logits(row) for row in context])
        probs = self.next_token_probs(context)
        with np.errstate(divide="ignore"):
            logits = np.log(probs)
        return np.where(probs > 0, logits, NEG_LOGIT).astype(np.float32)

    def log_prob(self, ids) -> tuple[float, int]:
        """Summed log-probability of every token given the tokens before it.

        Args:
            ids: as in `fit`: a token stream, a list of sentences or a 2-D
                array of them. Each sequence starts after ``order - 1`` BOS;
                PAD is never scored and BOS is context only.

        Returns:
            (sum of natural-log probabilities, number of tokens scored). The sum
            is -inf if any token has probability 0 (possible with "mle", or
            with Kneser-Ney and ``uniform_floor=False``).

        Example:
            >>> lm = NGramLM(order=2, smoothing="mle").fit([5, 6, 5, 7], vocab_size=8)
            >>> total, count = lm.log_prob([5, 6])  # P(5 | BOS) = 1, P(6 | 5) = 1/2
            >>> round(float(np.exp(total)), 3), count
            (0.5, 2)
        """
        self._check_fitted()
        stream, depth, targets = self._pad(*_flatten(ids, self.vocab_size, "log_prob"))
        if not targets.any():
            return 0.0, 0
        ranks = self._ranks(stream, depth)
        at = np.flatnonzero(targets)  # (N,) positions scored
        probs = self._base[stream[at]]
        for m in range(1, self.order + 1):
            if self._alpha[m] is None:
                continue
            c = ranks[m - 1][at - 1] if m > 1 else np.zeros(at.size, np.int64)
            g = ranks[m][at]
            alpha = np.where(g >= 0, self._alpha[m][np.maximum(g, 0)], 0.0)
            gamma = np.where(c >= 0, self._gamma[m][np.maximum(c, 0)], 1.0)
            probs = alpha + gamma * probs
        with np.errstate(divide="ignore"):
            return float(np.log(probs).sum()), int(at.size)

    def perplexity(self, ids) -> float:
        """exp of the mean negative log-probability per token, over all of `ids`.

        Token-weighted over the whole input (docs/pitfalls.md #3): two sentences of 3
        and 30 tokens weigh 3 and 30, not one half each.

        Args:
            ids: as in `log_prob`.

        Returns:
            The perplexity; inf when some token has probability 0.
        """
        total, count = self.log_prob(ids)
        if count == 0:
            raise ZooError(
                "perplexity() needs at least one token that is not PAD or BOS"
            )
        return float(np.exp(-total / count))

    def count(self, ngram) -> int:
        """How often `ngram` occurs in the training ids (the raw count).

        Args:
            ngram: 1-D ids, 1 to `order` of them. The history includes the BOS
                padding, so ``count([BOS_ID, w])`` is how often w starts a
                sequence.

        Returns:
            The number of times the n-gram occurs ending at a real token.

        Example:
            >>> lm = NGramLM(order=2).fit([[5, 6], [5, 7]], vocab_size=8)
            >>> lm.count([5]), lm.count([BOS_ID, 5]), lm.count([6, 5])
            (2, 2, 0)
        """
        self._check_fitted()
        ngram = _flatten(ngram, self.vocab_size, "count", allow_list=False)[0]
        if not 1 <= ngram.size <= self.order:
            raise ZooError(f"count() takes 1 to {self.order} ids, got {ngram.size}")
        rank = 0
        for m, token in enumerate(ngram.tolist(), start=1):
            key = rank * self.vocab_size + token
            rank = int(np.searchsorted(self._keys[m], key))
            if rank >= self._keys[m].size or self._keys[m][rank] != key:
                return 0
        return int(self._counts[ngram.size][rank])

    # ---------------------------------------------------------------- persistence

    def get_config(self) -> dict:
        """The constructor arguments and the fitted `vocab_size` (None before fit)."""
        return {
            "order": self.order,
            "smoothing": self.smoothing,
            "discount": self.discount,
            "k": self.k,
            "uniform_floor": self.uniform_floor,
            "vocab_size": self.vocab_size,
        }

    def save(self, path) -> None:
        """Write the fitted model to one compressed ``.npz`` file, atomically.

        The file is written next to `path` under a temporary name and then
        renamed, so a crash never leaves half a model behind.

        Args:
            path: the file to write (any name; ``.npz`` is a good suffix).
        """
        self._check_fitted()
        path = os.fspath(path)
        arrays = {
            "format": np.array(FORMAT),
            "format_version": np.array(FORMAT_VERSION),
            "config": np.array(json.dumps(self.get_config())),
        }
        for m in range(1, self.order + 1):
            arrays[f"keys_{m}"] = self._keys[m]
            arrays[f"counts_{m}"] = self._counts[m]
            arrays[f"suffix_{m}"] = self._suffix[m]
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".ngram-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez_compressed(fh, **arrays)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    @classmethod
    def load(cls, path) -> NGramLM:
        """Read a model written by `save`.

        Raises:
            ZooError: the file is missing, or is not a zoo n-gram model.
        """
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise ZooError(f"no such n-gram model file: {path}")
        not_ours = f"{path} is not a zoo n-gram model file (written by NGramLM.save)"
        try:
            data = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise ZooError(not_ours) from error
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ZooError(not_ours)
        with data:
            try:
                if "format" not in data.files or str(data["format"]) != FORMAT:
                    raise ZooError(not_ours)
                version = int(data["format_version"])
                if version > FORMAT_VERSION:
                    raise ZooError(
                        f"{path} was written by a newer zoo (n-gram format {version}); "
                        "upgrade zoo to read it"
                    )
                config = json.loads(str(data["config"]))
                renamed = _UPGRADE.get(version, {})
                config["smoothing"] = renamed.get(
                    config["smoothing"], config["smoothing"]
                )
                vocab_size = config.pop("vocab_size")
                model = cls(**config)
                model._keys = [np.zeros(1, np.int64)]
                model._counts = [np.array([0])]
                model._suffix = [None]
                for m in range(1, model.order + 1):
                    model._keys.append(data[f"keys_{m}"].astype(np.int64))
                    model._counts.append(data[f"counts_{m}"].astype(np.int64))
                    model._suffix.append(data[f"suffix_{m}"].astype(np.int64))
            except ZooError:
                raise
            except (
                KeyError,
                ValueError,
                TypeError,
                OSError,
                zipfile.BadZipFile,
            ) as error:
                raise ZooError(f"{not_ours}; reading it failed: {error}") from error
        model.vocab_size = int(vocab_size)
        model._build()
        return model

    def __repr__(self) -> str:
        fitted = f", vocab_size={self.vocab_size}" if self.vocab_size else ""
        return f"NGramLM(order={self.order}, smoothing={self.smoothing!r}{fitted})"


def _flatten(ids, vocab_size: int, caller: str, *, allow_list: bool = True):
    """Validate ids; return (all tokens, PAD removed, as one int64 array, and
    the length of each sequence). One pass of numpy, however many sentences."""
    nested = (isinstance(ids, np.ndarray) and ids.ndim == 2) or (
        isinstance(ids, (list, tuple)) and len(ids) > 0 and not np.isscalar(ids[0])
    )
    rows = (
        [np.asarray(row) for row in ids] if nested and allow_list else [np.asarray(ids)]
    )
    for row in rows:
        if row.ndim != 1:
            raise ZooError(
                f"{caller}() takes a 1-D array of ids (or, except for contexts, a list "
                f"of them); got shape {row.shape}"
            )
        if row.size and row.dtype.kind not in "iu":
            raise ZooError(f"{caller}() takes integer token ids, got dtype {row.dtype}")
    lengths = np.array([row.size for row in rows], np.int64)
    tokens = np.concatenate(rows).astype(np.int64)
    if tokens.size and (tokens.min() < 0 or tokens.max() >= vocab_size):
        raise ZooError(
            f"{caller}(): token ids must lie in [0, {vocab_size}) (the vocab_size "
            f"the model was fitted with); got min {tokens.min()}, max {tokens.max()}"
        )
    if caller != "next_token_probs" and np.any(tokens == MASK_ID):
        raise ZooError(
            f"{caller}(): MASK_ID ({MASK_ID}) found; an n-gram model counts plain "
            "text, not masked-LM inputs"
        )
    keep = tokens != PAD_ID
    if not keep.all():
        row_of = np.repeat(np.arange(lengths.size), lengths)
        lengths = np.bincount(row_of[keep], minlength=lengths.size)
        tokens = tokens[keep]
    return tokens, lengths
