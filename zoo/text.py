"""Tokenizers: text <-> integer ids, outside the model (docs/pitfalls.md #14).

Three tokenizers share one base class and one set of reserved ids:

| id | token   | used for                                  |
|----|---------|-------------------------------------------|
| 0  | <pad>   | padding; ignored by the loss and metrics  |
| 1  | <unk>   | anything not in the vocabulary            |
| 2  | <bos>   | begin of sequence (reserved)              |
| 3  | <eos>   | end of sequence (reserved)                |
| 4  | <mask>  | masked-LM (reserved)                      |

`CharTokenizer` works on Unicode code points, so Chinese text is as easy as
English. `WordTokenizer` splits GPT-2 style: a word keeps the single space in
front of it (" world"), punctuation and each CJK character stand alone, and runs
of other whitespace (newlines) are tokens of their own. Both therefore round trip
exactly: ``decode(encode(text)) == text`` for any text whose tokens are all in
the vocabulary. `WhitespaceTokenizer` is for text that is already tokenized,
one sentence per line (the Penn Treebank): it splits on spaces only, and each
line break is ``<eos>``.

A tokenizer is saved with its model (see `zoo.saving`) through `get_config()`.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Iterable

import numpy as np

from zoo.errors import ZooError

PAD, UNK, BOS, EOS, MASK = "<pad>", "<unk>", "<bos>", "<eos>", "<mask>"
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS, MASK)
PAD_ID, UNK_ID, BOS_ID, EOS_ID, MASK_ID = range(len(SPECIAL_TOKENS))
# Ids below this are reserved: never selected for masking, never drawn as
# random replacements, never proposed by `zoo.generation.fill_mask`.
FIRST_REAL_ID = len(SPECIAL_TOKENS)
# How a hidden word is written in text (document 001's listing, BERT's own
# vocabulary): `zoo.generation.encode_masked` turns each into one MASK_ID.
# The vocabulary's own token for that id is MASK, "<mask>".
MASK_TOKEN = "[MASK]"

# CJK ideographs and punctuation are one token each in the word tokenizer.
_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_WORD_PATTERN = re.compile(
    r" ?<(?:unk|eos)>"  # special tokens written in the text (Penn Treebank)
    rf"| ?[{_CJK}]"  # one CJK character
    rf"| ?[^\W{_CJK}]+(?:'[^\W{_CJK}]+)*"  # a word, with its apostrophes
    rf"| ?[^\s\w{_CJK}]"  # one punctuation mark
    r"|\s+?(?= \S)|\s+"  # whitespace; a last single space goes to the next word
)


class Tokenizer:
    """Base class: a vocabulary list with the reserved ids first.

    Args:
        vocabulary: tokens in id order. The five reserved tokens must come
            first, in the order of `SPECIAL_TOKENS`.
    """

    kind = "base"

    def __init__(self, vocabulary: Iterable[str]):
        vocabulary = list(vocabulary)
        if tuple(vocabulary[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ZooError(
                f"a vocabulary must start with the reserved tokens {SPECIAL_TOKENS}; "
                f"got {vocabulary[: len(SPECIAL_TOKENS)]}"
            )
        if len(set(vocabulary)) != len(vocabulary):
            dupes = [t for t, n in collections.Counter(vocabulary).items() if n > 1]
            raise ZooError(f"the vocabulary has duplicate tokens: {dupes[:10]}")
        self.vocabulary = vocabulary
        self._index = {token: i for i, token in enumerate(vocabulary)}

    pad_id, unk_id, bos_id, eos_id, mask_id = PAD_ID, UNK_ID, BOS_ID, EOS_ID, MASK_ID

    @property
    def vocab_size(self) -> int:
        """Number of ids, reserved ones included (the `vocab_size` of the texts)."""
        return len(self.vocabulary)

    def split(self, text: str) -> list[str]:
        """Cut text into tokens (strings); subclasses define how."""
        raise NotImplementedError

    @classmethod
    def fit(
        cls,
        text: str | Iterable[str],
        *,
        min_freq: int = 1,
        max_tokens: int | None = None,
        **kwargs,
    ) -> Tokenizer:
        """Build a vocabulary from text.

        Args:
            text: a string, or an iterable of strings (e.g. the lines of a file).
            min_freq: tokens seen fewer times than this map to `<unk>`.
            max_tokens: keep at most this many ids in all (reserved ones included),
                the most frequent first.
            **kwargs: passed to the tokenizer's constructor.

        Returns:
            A tokenizer whose ids are ordered by falling frequency, ties broken by
            the token itself, so the same text always gives the same vocabulary.
        """
        if min_freq < 1:
            raise ZooError(f"min_freq must be >= 1, got {min_freq}")
        texts = [text] if isinstance(text, str) else text
        counts = collections.Counter()
        probe = cls(list(SPECIAL_TOKENS), **kwargs)
        for chunk in texts:
            counts.update(probe.split(chunk))
        if not counts:
            raise ZooError("cannot build a vocabulary from empty text")
        for special in SPECIAL_TOKENS:
            counts.pop(special, None)
        kept = sorted(
            (t for t, n in counts.items() if n >= min_freq),
            key=lambda t: (-counts[t], t),
        )
        if max_tokens is not None:
            if max_tokens <= len(SPECIAL_TOKENS):
                raise ZooError(
                    f"max_tokens must exceed the {len(SPECIAL_TOKENS)} reserved ids, "
                    f"got {max_tokens}"
                )
            kept = kept[: max_tokens - len(SPECIAL_TOKENS)]
        return cls(list(SPECIAL_TOKENS) + kept, **kwargs)

    def token_to_id(self, token: str) -> int:
        return self._index.get(token, UNK_ID)

    def encode(self, text: str) -> np.ndarray:
        """Text -> int32 ids; unknown tokens become `unk_id`, never an error."""
        if not isinstance(text, str):
            raise ZooError(f"encode() takes a string, got {type(text).__name__}")
        return np.fromiter(
            (self.token_to_id(t) for t in self.split(text)), dtype=np.int32
        )

    def decode(self, ids: Iterable[int], *, skip_special: bool = True) -> str:
        """Ids -> text. Padding (and with `skip_special`, all reserved ids except
        `<unk>`) is dropped; out-of-range ids raise a `ZooError`."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ZooError(
                f"ids must lie in [0, {self.vocab_size}); got min {ids.min()}, "
                f"max {ids.max()}"
            )
        drop = {PAD_ID, BOS_ID, EOS_ID, MASK_ID} if skip_special else {PAD_ID}
        return "".join(self.vocabulary[i] for i in ids.tolist() if i not in drop)

    def unknown_tokens(self, text: str) -> list[str]:
        """The tokens of `text` that are not in the vocabulary, in order, unique."""
        seen = dict.fromkeys(t for t in self.split(text) if t not in self._index)
        return list(seen)

    def get_config(self) -> dict:
        return {"kind": self.kind, "vocabulary": list(self.vocabulary)}

    @staticmethod
    def from_config(config: dict) -> Tokenizer:
        """Rebuild a tokenizer of any kind from its `get_config()`."""
        kinds = {
            cls.kind: cls for cls in (CharTokenizer, WordTokenizer, WhitespaceTokenizer)
        }
        kind = config.get("kind")
        if kind not in kinds:
            raise ZooError(
                f"unknown tokenizer kind {kind!r}; expected one of {list(kinds)}"
            )
        config = {k: v for k, v in config.items() if k != "kind"}
        return kinds[kind](**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size})"


class CharTokenizer(Tokenizer):
    """One id per Unicode character.

    Example:
        >>> tok = CharTokenizer.fit("to be or not to be")
        >>> tok.decode(tok.encode("not to be"))
        'not to be'
    """

    kind = "char"

    def __init__(self, vocabulary: Iterable[str]):
        super().__init__(vocabulary)
        for token in self.vocabulary[len(SPECIAL_TOKENS) :]:
            if len(token) != 1:
                raise ZooError(
                    f"a CharTokenizer token must be one character: {token!r}"
                )
        # Code point -> id lookup table, so encoding 5 MB of text takes ~0.1 s.
        points = [ord(t) for t in self.vocabulary[len(SPECIAL_TOKENS) :]]
        self._table = np.full(max(points, default=0) + 1, UNK_ID, dtype=np.int32)
        self._table[points] = np.arange(len(SPECIAL_TOKENS), self.vocab_size)

    def split(self, text: str) -> list[str]:
        return list(text)

    def encode(self, text: str) -> np.ndarray:
        if not isinstance(text, str):
            raise ZooError(f"encode() takes a string, got {type(text).__name__}")
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        ids = np.full(points.shape, UNK_ID, dtype=np.int32)
        known = points < len(self._table)
        ids[known] = self._table[points[known]]
        return ids


class WordTokenizer(Tokenizer):
    """GPT-2-style word tokens: a word keeps the space before it.

    "To be, or not" -> ["To", " be", ",", " or", " not"]. Chinese characters
    are one token each, so the tokenizer works (as a character model) on Chinese.
    `<unk>` written at the very start of a text is the reserved unknown token;
    " <unk>" inside Penn Treebank text is an ordinary word, as in the usual
    PTB set-up.

    Args:
        vocabulary: tokens in id order, reserved tokens first.
        lowercase: fold case before splitting (then decoding gives lower case).
    """

    kind = "word"

    def __init__(self, vocabulary: Iterable[str], *, lowercase: bool = False):
        super().__init__(vocabulary)
        self.lowercase = lowercase

    def split(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        return _WORD_PATTERN.findall(text)

    def get_config(self) -> dict:
        return {**super().get_config(), "lowercase": self.lowercase}


_WHITESPACE_PATTERN = re.compile(r"[^\s]+|\n")


class WhitespaceTokenizer(Tokenizer):
    """Words already separated by spaces, one sentence per line.

    For a corpus that is tokenized already, such as the Penn Treebank: the
    text is split at whitespace only, so "u.s." or "n't" stays the one token
    the corpus made it; each line break is the end-of-sentence token ``<eos>``
    (`EOS_ID`), and the corpus's own ``<unk>`` is the reserved unknown id. On
    Mikolov's Penn Treebank files this gives exactly the standard 10,000 word
    types (``<unk>`` and ``<eos>`` included) and one ``<eos>`` per sentence.

    Decoding writes each word with one space in front and each ``<eos>`` as a
    line break, the layout of `zoo.data.load_ptb`, so
    ``decode(encode(text)) == text`` for such text.

    Example:
        >>> tok = WhitespaceTokenizer.fit(" the u.s. <unk> rose\n the end\n")
        >>> tok.split(" the u.s. <unk> rose\n")
        ['the', 'u.s.', '<unk>', 'rose', '<eos>']
        >>> tok.decode(tok.encode(" the u.s. rose\n"))
        ' the u.s. rose\n'
    """

    kind = "whitespace"

    def split(self, text: str) -> list[str]:
        return [EOS if t == "\n" else t for t in _WHITESPACE_PATTERN.findall(text)]

    def decode(self, ids: Iterable[int], *, skip_special: bool = True) -> str:
        """Ids -> text: " w1 w2 ...", a line break for each ``<eos>``;
        padding (and with `skip_special`, BOS and MASK) is dropped."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ZooError(
                f"ids must lie in [0, {self.vocab_size}); got min {ids.min()}, "
                f"max {ids.max()}"
            )
        drop = {PAD_ID, BOS_ID, MASK_ID} if skip_special else {PAD_ID}
        return "".join(
            "\n" if i == EOS_ID else " " + self.vocabulary[i]
            for i in ids.tolist()
            if i not in drop
        )


def build_tokenizer(
    text: str,
    *,
    level: str = "char",
    min_freq: int = 1,
    max_tokens: int | None = None,
    pretokenized: bool = False,
) -> Tokenizer:
    """Fit a tokenizer of the given `level` ("char" or "word") on `text`.

    With ``pretokenized=True`` (a corpus tokenized already, such as the Penn
    Treebank), words are a `WhitespaceTokenizer`'s; characters are unchanged.
    """
    classes = {
        "char": CharTokenizer,
        "word": WhitespaceTokenizer if pretokenized else WordTokenizer,
    }
    if level not in classes:
        raise ZooError(f"level must be 'char' or 'word', got {level!r}")
    return classes[level].fit(text, min_freq=min_freq, max_tokens=max_tokens)
