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

Two more are trained on the corpus, GPT-2's and BERT's: `BPETokenizer`
(byte-level byte-pair encoding: any text, Chinese and emoji included, decodes
back byte for byte) and `WordPieceTokenizer` (BERT's word pieces: decodes back
up to BERT's normalisation, see `WordPieceTokenizer.normalize`). They map the
same five reserved ids (WordPiece under BERT's names: [PAD] [UNK] [CLS] [SEP]
[MASK]), and train with Hugging Face ``tokenizers`` (``pip install
"zoo[subwords]"``), imported only when one is used.

A tokenizer is saved with its model (see `zoo.saving`) through `get_config()`.
"""

from __future__ import annotations

import collections
import json
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
        ids = self._checked_ids(ids)
        drop = {PAD_ID, BOS_ID, EOS_ID, MASK_ID} if skip_special else {PAD_ID}
        return "".join(self.vocabulary[i] for i in ids.tolist() if i not in drop)

    def _checked_ids(self, ids: Iterable[int]) -> np.ndarray:
        """`ids` as a flat int64 array; out-of-range ids raise a `ZooError`."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ZooError(
                f"ids must lie in [0, {self.vocab_size}); got min {ids.min()}, "
                f"max {ids.max()}"
            )
        return ids

    def unknown_tokens(self, text: str) -> list[str]:
        """The tokens of `text` that are not in the vocabulary, in order, unique."""
        seen = dict.fromkeys(t for t in self.split(text) if t not in self._index)
        return list(seen)

    def get_config(self) -> dict:
        return {"kind": self.kind, "vocabulary": list(self.vocabulary)}

    @staticmethod
    def from_config(config: dict) -> Tokenizer:
        """Rebuild a tokenizer of any kind from its `get_config()`."""
        classes = (
            CharTokenizer,
            WordTokenizer,
            WhitespaceTokenizer,
            BPETokenizer,
            WordPieceTokenizer,
        )
        kinds = {cls.kind: cls for cls in classes}
        kind = config.get("kind")
        if kind not in kinds:
            raise ZooError(
                f"unknown tokenizer kind {kind!r}; expected one of {list(kinds)}"
            )
        config = {k: v for k, v in config.items() if k != "kind"}
        try:
            return kinds[kind](**config)
        except TypeError as err:  # a key of another kind, or one missing
            raise ZooError(
                f"a {kind!r} tokenizer's config has keys {sorted(config)}: {err}"
            ) from None

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
        ids = self._checked_ids(ids)
        drop = {PAD_ID, BOS_ID, MASK_ID} if skip_special else {PAD_ID}
        return "".join(
            "\n" if i == EOS_ID else " " + self.vocabulary[i]
            for i in ids.tolist()
            if i not in drop
        )


# --- subword tokenizers, trained on the corpus ------------------------------------
#
# Trained with Hugging Face `tokenizers` rather than KerasHub's tokenizers: its
# Rust trainers learn both BPE and WordPiece vocabularies from text in seconds
# (KerasHub's BytePairTokenizer has no trainer, and its WordPiece trainer would
# pull in keras-hub and tensorflow-text), its byte-level BPE round trips any
# text exactly, and a whole tokenizer (normaliser, pre-tokenizer, vocabulary,
# merges, decoder) serialises to one JSON string, which `zoo.saving` keeps in
# the model file. It is imported only when a subword tokenizer is used.

SUBWORD_LEVELS = ("bpe", "wordpiece")
# Ids in all (reserved ones included) that a subword tokenizer is trained to
# when no size is given: about 2.7 characters per token on the Shakespeare plays.
SUBWORD_VOCAB_SIZE = 2000
# Every byte is a token of byte-level BPE before any merge is learned.
BYTE_ALPHABET = 256
# Where a long text may be cut into pieces for training and encoding without
# changing a single token: after a line break between two non-space
# characters, both pre-tokenizers (GPT-2's and BERT's) cut there anyway.
_SAFE_CUT = re.compile(r"(?<=\S\n)(?=\S)")
_PIECE = 1 << 14  # characters per piece, about


def _hf_tokenizers():
    """The `tokenizers` package, or a one-line `ZooError` saying how to get it."""
    try:
        import tokenizers
    except ImportError as err:
        raise ZooError(
            "the subword tokenizers (level 'bpe' or 'wordpiece') need Hugging Face "
            'tokenizers: pip install "zoo[subwords]"'
        ) from err
    return tokenizers


def _pieces(text: str) -> list[str]:
    """`text` cut at `_SAFE_CUT` points into pieces of about `_PIECE` characters.

    Encoding the pieces (in parallel) gives the same ids as encoding the
    whole text at once, several times faster."""
    pieces, start = [], 0
    while len(text) - start > _PIECE:
        cut = _SAFE_CUT.search(text, start + _PIECE)
        if cut is None:
            break
        pieces.append(text[start : cut.start()])
        start = cut.start()
    pieces.append(text[start:])
    return pieces


def check_vocab_size(level: str, vocab_size) -> None:
    """Raise a one-line `ZooError` if `vocab_size` cannot work for `level`.

    A vocabulary needs more ids than the reserved ones, and byte-level BPE
    needs its 256 bytes besides (a WordPiece vocabulary too small for its
    text's characters is refused when it is trained).
    """
    if not isinstance(vocab_size, int) or isinstance(vocab_size, bool):
        raise ZooError(f"the vocabulary size must be an integer, got {vocab_size!r}")
    least = len(SPECIAL_TOKENS) + (BYTE_ALPHABET if level == "bpe" else 1)
    if vocab_size < least:
        what = (
            f"the {len(SPECIAL_TOKENS)} reserved ids and the {BYTE_ALPHABET} bytes "
            "of byte-level BPE"
            if level == "bpe"
            else f"more than the {len(SPECIAL_TOKENS)} reserved ids"
        )
        raise ZooError(
            f"a vocabulary size of {vocab_size} is too small for level {level!r}: "
            f"it needs {what}, so at least {least}"
        )


class SubwordTokenizer(Tokenizer):
    """Base of the trained subword tokenizers: a Hugging Face tokenizer inside.

    Ids 0-4 are zoo's reserved ids (`SPECIAL_TOKENS`); the tokenizer's own
    names for them are `hf_specials`. Text never encodes to a reserved id
    (the special names written in text are read as ordinary text), except
    `UNK_ID` where a WordPiece vocabulary cannot spell a word.

    Args:
        tokenizer: the tokenizer as `tokenizers` serialises it: its JSON
            string, or that JSON parsed (what `get_config` returns).
    """

    kind = "subword"
    hf_specials = SPECIAL_TOKENS

    def __init__(self, tokenizer: str | dict):
        hf = _hf_tokenizers()
        text = tokenizer if isinstance(tokenizer, str) else json.dumps(tokenizer)
        try:
            backend = hf.Tokenizer.from_str(text)
        except Exception as err:  # tokenizers raises a bare Exception
            raise ZooError(f"not a tokenizers JSON: {str(err)[:200]}") from err
        got = [backend.id_to_token(i) for i in range(len(SPECIAL_TOKENS))]
        if got != list(self.hf_specials):
            raise ZooError(
                f"a {self.kind} tokenizer must have {self.hf_specials} as ids 0-4, "
                f"got {got}"
            )
        # A special name written in the text ("<eos>", "[SEP]") is read as
        # text, not as the reserved id, so every text round trips.
        backend.encode_special_tokens = True
        reserved = len(SPECIAL_TOKENS)
        rest = (
            backend.id_to_token(i) for i in range(reserved, backend.get_vocab_size())
        )
        super().__init__([*SPECIAL_TOKENS, *rest])
        self.backend = backend  # the `tokenizers.Tokenizer`, for a closer look

    @classmethod
    def fit(
        cls,
        text: str | Iterable[str],
        *,
        min_freq: int = 1,
        max_tokens: int | None = None,
    ) -> SubwordTokenizer:
        """Train a vocabulary of `max_tokens` ids on `text`.

        Args:
            text: a string, or an iterable of strings: the training text only.
            min_freq: pairs seen fewer times than this are never merged.
            max_tokens: ids in all, reserved ones included (default
                `SUBWORD_VOCAB_SIZE`). A text too small to learn that many
                gives fewer.

        Returns:
            A tokenizer; the same text and settings always give the same one.
        """
        vocab_size = SUBWORD_VOCAB_SIZE if max_tokens is None else max_tokens
        check_vocab_size(cls.kind, vocab_size)
        if not isinstance(min_freq, int) or min_freq < 1:
            raise ZooError(f"min_freq must be an integer >= 1, got {min_freq!r}")
        texts = [text] if isinstance(text, str) else list(text)
        if not all(isinstance(t, str) for t in texts):
            raise ZooError("fit() takes a string or an iterable of strings")
        pieces = [piece for t in texts for piece in _pieces(t) if piece]
        if not pieces:
            raise ZooError("cannot build a vocabulary from empty text")
        backend = cls._train(_hf_tokenizers(), pieces, vocab_size, min_freq)
        return cls(backend.to_str())

    @classmethod
    def _train(cls, hf, pieces: list[str], vocab_size: int, min_freq: int):
        raise NotImplementedError

    def split(self, text: str) -> list[str]:
        return [t for e in self.backend.encode_batch(_pieces(text)) for t in e.tokens]

    def encode(self, text: str) -> np.ndarray:
        if not isinstance(text, str):
            raise ZooError(f"encode() takes a string, got {type(text).__name__}")
        encodings = self.backend.encode_batch_fast(_pieces(text))
        return np.concatenate([np.asarray(e.ids, np.int32) for e in encodings])

    def decode(self, ids: Iterable[int], *, skip_special: bool = True) -> str:
        """Ids -> text, by the tokenizer's decoder. Padding (and with
        `skip_special`, every reserved id except `UNK_ID`) is dropped;
        out-of-range ids raise a `ZooError`."""
        ids = self._checked_ids(ids)
        drop = [PAD_ID, BOS_ID, EOS_ID, MASK_ID] if skip_special else [PAD_ID]
        kept = ids[~np.isin(ids, drop)].tolist()
        return self.backend.decode(kept, skip_special_tokens=False)

    def unknown_tokens(self, text: str) -> list[str]:
        """The words of `text` that encode to `UNK_ID`, in order, unique."""
        found = {}
        for piece, e in zip(
            _pieces(text), self.backend.encode_batch(_pieces(text)), strict=True
        ):
            for i, (start, end) in zip(e.ids, e.offsets, strict=True):
                if i == UNK_ID:
                    found.setdefault(piece[start:end])
        return list(found)

    def normalize(self, text: str) -> str:
        """What ``decode(encode(text))`` gives when every word is spelt."""
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"kind": self.kind, "tokenizer": json.loads(self.backend.to_str())}


class BPETokenizer(SubwordTokenizer):
    """GPT-2's byte-level byte-pair encoding, trained on the corpus.

    Text is read as UTF-8 bytes, cut GPT-2's way (a word keeps the space in
    front of it: " world"; runs of digits, of punctuation and of spaces are
    pieces of their own), and the most frequent adjacent pair of tokens is
    merged into a new token, again and again, until the vocabulary is full.
    The 256 bytes are tokens from the start, so any text encodes without
    `<unk>` and decodes back byte for byte, Chinese and emoji included: a
    Chinese character is three bytes, merged into one token where the
    training text had it often enough.

    Example:
        >>> tok = BPETokenizer.fit(corpus.train, max_tokens=2000)
        >>> tok.decode(tok.encode("To be, 生存 🙂")) == "To be, 生存 🙂"
        True

    Reference:
        Sennrich, Haddow and Birch (2016). Neural machine translation of rare
        words with subword units. ACL. Radford et al. (2019). Language models
        are unsupervised multitask learners (GPT-2), section 2.2.
    """

    kind = "bpe"

    @classmethod
    def _train(cls, hf, pieces, vocab_size, min_freq):
        backend = hf.Tokenizer(hf.models.BPE())
        # GPT-2: no normaliser, its split pattern, no space added in front.
        backend.pre_tokenizer = hf.pre_tokenizers.ByteLevel(add_prefix_space=False)
        backend.decoder = hf.decoders.ByteLevel()
        trainer = hf.trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_freq,
            special_tokens=list(SPECIAL_TOKENS),
            initial_alphabet=hf.pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        backend.train_from_iterator(pieces, trainer=trainer)
        return backend

    def normalize(self, text: str) -> str:
        """Byte-level BPE loses nothing: `text` itself."""
        return text


# BERT's names for zoo's reserved ids, in id order: [PAD] is PAD_ID, [UNK]
# UNK_ID, [CLS] BOS_ID (a sequence's start), [SEP] EOS_ID, [MASK] MASK_ID.
BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
WORDPIECE_PREFIX = "##"


class WordPieceTokenizer(SubwordTokenizer):
    """BERT's WordPiece, trained on the corpus (cased: case and accents kept).

    BERT's normaliser (``BertNormalizer``, cased) and pre-tokenizer
    (``BertPreTokenizer``) cut the text into words: every run of whitespace
    (line breaks included) separates words, every punctuation mark is a word,
    and so is every Chinese character; control characters are dropped. A
    word is then spelt with the longest vocabulary pieces from its start,
    the pieces after the first marked ``##`` ("playing" -> "play", "##ing");
    a word the vocabulary cannot spell, or longer than 100 characters, is one
    [UNK]. The vocabulary is trained as BERT's was, by merging frequent pairs.

    Decoding writes the words with one space between them, so what is lost
    is exactly the whitespace: ``decode(encode(x)) == normalize(x)``, which
    is x with line breaks and runs of spaces as one space, a space on each
    side of every punctuation mark and Chinese character, and no spaces at
    the ends ("To be,  or\\nnot" -> "To be , or not"), for any x whose words
    the vocabulary spells.

    The reserved ids have BERT's names inside (`BERT_SPECIALS`; `vocabulary`
    shows zoo's), so decoding with ``skip_special=False`` writes [CLS] and
    [SEP], and an unspelt word decodes as [UNK].

    Example:
        >>> tok = WordPieceTokenizer.fit(corpus.train, max_tokens=2000)
        >>> tok.decode(tok.encode("To be,  or\\nnot"))
        'To be , or not'

    Reference:
        Schuster and Nakajima (2012). Japanese and Korean voice search. ICASSP.
        Devlin et al. (2019). BERT, section 3 and appendix A.2. NAACL.
    """

    kind = "wordpiece"
    hf_specials = BERT_SPECIALS

    @staticmethod
    def _pipeline(hf, model):
        backend = hf.Tokenizer(model)
        # BERT-base-cased's settings: keep case and accents.
        backend.normalizer = hf.normalizers.BertNormalizer(
            clean_text=True,
            handle_chinese_chars=True,
            strip_accents=False,
            lowercase=False,
        )
        backend.pre_tokenizer = hf.pre_tokenizers.BertPreTokenizer()
        # cleanup=False: no guessing where spaces were ("it 's" stays).
        backend.decoder = hf.decoders.WordPiece(prefix=WORDPIECE_PREFIX, cleanup=False)
        return backend

    @classmethod
    def _train(cls, hf, pieces, vocab_size, min_freq):
        unk = BERT_SPECIALS[UNK_ID]
        backend = cls._pipeline(hf, hf.models.WordPiece(unk_token=unk))
        # The trainer numbers the "##" pieces in hash-map order, so on its own
        # two runs can break ties differently and learn different vocabularies
        # (huggingface/tokenizers issue 1794). Which "##" pieces there are does
        # not depend on the order: a first run with no merges finds them, and
        # given first, in sorted order, they get the same ids on every run.
        alphabet = hf.trainers.WordPieceTrainer(
            vocab_size=0, special_tokens=list(BERT_SPECIALS), show_progress=False
        )
        backend.train_from_iterator(pieces, trainer=alphabet)
        continuations = sorted(
            t for t in backend.get_vocab() if t.startswith(WORDPIECE_PREFIX)
        )
        trainer = hf.trainers.WordPieceTrainer(
            vocab_size=vocab_size,
            min_frequency=min_freq,
            special_tokens=[*BERT_SPECIALS, *continuations],
            continuing_subword_prefix=WORDPIECE_PREFIX,
            show_progress=False,
        )
        backend.train_from_iterator(pieces, trainer=trainer)
        vocab = backend.get_vocab()
        if len(vocab) > vocab_size:
            raise ZooError(
                f"a vocabulary size of {vocab_size} is too small for WordPiece on "
                f"this text: its characters, each also as a {WORDPIECE_PREFIX} "
                f"piece, and the reserved ids need {len(vocab)}; use at least that"
            )
        # A clean tokenizer: the "##" pieces were special only for training.
        model = hf.models.WordPiece(
            vocab=vocab, unk_token=unk, continuing_subword_prefix=WORDPIECE_PREFIX
        )
        clean = cls._pipeline(hf, model)
        clean.add_special_tokens(list(BERT_SPECIALS))
        return clean

    def normalize(self, text: str) -> str:
        """`text` as BERT's normaliser and pre-tokenizer leave it: its words
        joined by one space (what ``decode(encode(text))`` gives when the
        vocabulary spells every word)."""
        normalized = self.backend.normalizer.normalize_str(text)
        words = self.backend.pre_tokenizer.pre_tokenize_str(normalized)
        return " ".join(word for word, _ in words)


def build_tokenizer(
    text: str,
    *,
    level: str = "char",
    min_freq: int = 1,
    max_tokens: int | None = None,
    pretokenized: bool = False,
) -> Tokenizer:
    """Fit a tokenizer of the given `level` on `text` (the training split).

    Args:
        text: the training text.
        level: "char" (`CharTokenizer`), "word" (`WordTokenizer`), "bpe"
            (`BPETokenizer`, GPT-2's) or "wordpiece" (`WordPieceTokenizer`,
            BERT's).
        min_freq: rarer tokens become <unk> (subwords: rarer pairs are
            never merged).
        max_tokens: ids in all, reserved ones included: for "char" and
            "word" keep the most frequent (None: all); for "bpe" and
            "wordpiece" the size they are trained to (None:
            `SUBWORD_VOCAB_SIZE`).
        pretokenized: a corpus tokenized already, such as the Penn Treebank:
            its words are a `WhitespaceTokenizer`'s; other levels unchanged.
    """
    classes = {
        "char": CharTokenizer,
        "word": WhitespaceTokenizer if pretokenized else WordTokenizer,
        "bpe": BPETokenizer,
        "wordpiece": WordPieceTokenizer,
    }
    if level not in classes:
        raise ZooError(f"level must be one of {', '.join(classes)}; got {level!r}")
    if max_tokens is not None:
        check_vocab_size(level, max_tokens)
    return classes[level].fit(text, min_freq=min_freq, max_tokens=max_tokens)
