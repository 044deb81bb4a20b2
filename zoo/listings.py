"""Every code listing of the source texts, its zoo equivalent, and its errata.

The five source texts (documents 000-004, Chinese articles on large language
models "from theory to practice") show Keras and PyTorch listings. Each entry
here keeps the listing verbatim (`code`), rebuilds it as written
(`build_as_written`: ``tf.keras`` becomes ``keras`` and nothing else changes
unless it cannot run, and then the errata say what changed), names the zoo
call that does the job correctly (`zoo_call`, `build_zoo`), and lists what is
wrong with it (`errata`).

    >>> from zoo import listings
    >>> entry = listings.get("003-s5")
    >>> print(entry.zoo_call)
    build_gru(vocab_size, embedding_dim=256, units=1024)
    >>> for line in entry.errata: print("-", line)

The tests parse each listing's code and check that `build_as_written` has the
same layers, sizes and compile settings, and that the listing text appears
verbatim in its document.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import keras

from zoo.errors import ZooError, ZooWarning


@dataclass(frozen=True)
class Listing:
    """One code listing of the source texts.

    Attributes:
        id: short key, "<document>-<section>" (e.g. "000-4.1").
        document: the source document number ("000" ... "004").
        section: the section heading, as in the text.
        title: what the text says the listing builds.
        code: the listing, verbatim.
        sizes: values for the names the listing uses (its own numbers where it
            gives them, documented defaults where it leaves them open).
        sizes_from: where the open sizes come from.
        factory: the zoo factory that does the job.
        zoo_kwargs: keyword arguments for the factory, besides vocab_size.
        errata: what the listing gets wrong, and what zoo does instead.
        as_written: builds (and compiles, as the listing does) the listing.
        framework: what the listing is written with: "keras", or "pytorch"
            for a listing that zoo cannot run (its `as_written` raises a
            `ZooError` that says why and names the zoo version).
    """

    id: str
    document: str
    section: str
    title: str
    code: str
    sizes: dict
    sizes_from: str
    factory: str
    zoo_kwargs: dict
    errata: tuple[str, ...]
    as_written: Callable[..., keras.Model] = field(repr=False)
    framework: str = "keras"

    @property
    def zoo_call(self) -> str:
        """The zoo call as a line of code, e.g. ``build_lstm(vocab_size, ...)``."""
        args = ["vocab_size"] + [f"{k}={v!r}" for k, v in self.zoo_kwargs.items()]
        return f"{self.factory}({', '.join(args)})"

    def build_as_written(self, **sizes) -> keras.Model:
        """The listing's model, as written (sizes overridable by keyword)."""
        unknown = set(sizes) - set(self.sizes)
        if unknown:
            raise ZooError(f"listing {self.id} has no size named {sorted(unknown)}")
        return self.as_written(**{**self.sizes, **sizes})

    def build_zoo(self, vocab_size: int | None = None, **overrides) -> keras.Model:
        """The zoo model that replaces the listing, with the listing's sizes."""
        factory = _find_factory(self.factory)
        if vocab_size is None:  # 004-4.2 names it input_dim, as its code does
            vocab_size = self.sizes.get("vocab_size", self.sizes.get("input_dim"))
        return factory(vocab_size, **{**self.zoo_kwargs, **overrides})


def _find_factory(name: str) -> Callable[..., keras.Model]:
    """The zoo factory called `name` (one of `zoo`'s exports)."""
    import zoo

    factory = getattr(zoo, name, None)
    if factory is None or not name.startswith("build_"):
        raise ZooError(f"no zoo factory named {name!r}")
    return factory


# --- the listings, in document order ----------------------------------------

_CODE_000_41 = """\
import tensorflow as tf

# 构建RNN模型
model = tf.keras.Sequential([
    tf.keras.layers.Embedding(input_dim=vocab_size, output_dim=embedding_dim),
    tf.keras.layers.SimpleRNN(units=rnn_units, return_sequences=True),
    tf.keras.layers.SimpleRNN(units=rnn_units),
    tf.keras.layers.Dense(units=vocab_size, activation='softmax')
])

# 编译模型
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
"""

_CODE_000_42 = """\
import tensorflow as tf

# 构建LSTM模型
model = tf.keras.Sequential([
    tf.keras.layers.Embedding(input_dim=vocab_size, output_dim=embedding_dim),
    tf.keras.layers.LSTM(units=lstm_units, return_sequences=True),
    tf.keras.layers.LSTM(units=lstm_units),
    tf.keras.layers.Dense(units=vocab_size, activation='softmax')
])

# 编译模型
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
"""

_CODE_001_5 = """\
import torch
from transformers import BertForMaskedLM, BertTokenizer

tokenizer = BertTokenizer.from_pretrained('bert-base-uncased')
model = BertForMaskedLM.from_pretrained('bert-base-uncased')

text = "The capital of France is [MASK]."
inputs = tokenizer(text, return_tensors='pt')
outputs = model(**inputs)
predictions = outputs[0]

predicted_index = torch.argmax(predictions, dim=-1).item()
token = tokenizer.convert_ids_to_tokens(inputs['input_ids'][0])[predicted_index]
print(f"The capital of France is {token}.")
"""

_CODE_002 = """\
import tensorflow as tf
from tensorflow.keras.layers import Input, LSTM, Dense
from tensorflow.keras.models import Model

# 定义输入和隐藏状态
inputs = Input(shape=(None, embedding_dim))
hidden = LSTM(units)(inputs)

# 定义输出
outputs = Dense(vocab_size, activation='softmax')(hidden)

# 定义模型
model = Model(inputs, outputs)
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])

# 训练模型
model.fit(x_train, y_train, epochs=10, batch_size=32)
"""

_CODE_003_5 = """\
import tensorflow as tf

# 构建模型
model = tf.keras.Sequential([
    tf.keras.layers.Embedding(input_dim=vocab_size, output_dim=embedding_dim),
    tf.keras.layers.Bidirectional(tf.keras.layers.GRU(rnn_units, return_sequences=True)),
    tf.keras.layers.Dense(rnn_units, activation='relu'),
    tf.keras.layers.Dense(vocab_size)
])

# 编译模型
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])

# 训练模型
model.fit(dataset, epochs=num_epochs)
"""

_CODE_004_41 = """\
import tensorflow as tf
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Embedding, SimpleRNN, Dense

# 构建RNN模型
model = Sequential()
model.add(Embedding(input_dim=10000, output_dim=128))
model.add(SimpleRNN(units=128))
model.add(Dense(units=10000, activation='softmax'))
model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['accuracy'])

# 训练模型
model.fit(x_train, y_train, epochs=10, batch_size=128)
"""

_CODE_004_42 = """\
import tensorflow as tf
from tensorflow.keras.models import Model
from tensorflow.keras.layers import MultiHeadAttention, Dense, Input, Embedding, LayerNormalization

# 定义Transformer模型
def Transformer(input_dim, output_dim, num_heads, ff_dim):
    # 输入层
    inputs = Input(shape=(None,))

    # 编码器
    x = Embedding(input_dim, output_dim)(inputs)
    x = LayerNormalization(epsilon=1e-6)(x)
    x = MultiHeadAttention(num_heads=num_heads, key_dim=output_dim)(x, x)
    x = LayerNormalization(epsilon=1e-6)(x)
    x = Dense(ff_dim, activation="relu")(x)
    x = LayerNormalization(epsilon=1e-6)(x)

    # 解码器
    decoder_input = Input(shape=(None,))
    decoder_embedding = Embedding(input_dim, output_dim)(decoder_input)
    x = Concatenate()([x, decoder_embedding])
    x = Dense(output_dim, activation="softmax")(x)

    # 模型
    return Model(inputs=[inputs, decoder_input], outputs=x)

# 构建Transformer模型
model = Transformer(input_dim=10000, output_dim=256, num_heads=4, ff_dim=512)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

# 训练模型
model.fit(x_train, y_train, epochs=10, batch_size=32)
"""

# The texts leave these sizes open. The listings use the variable names of
# TensorFlow's "Text generation with an RNN" tutorial, whose values these are;
# vocab_size is the one vocabulary size the texts state (document 004).
_OPEN_SIZES = (
    "vocab_size from document 004 (10000); embedding_dim=256 and "
    "1024 units from TensorFlow's 'Text generation with an RNN' tutorial, "
    "whose variable names the listing uses"
)

_TF_KERAS = (
    "Written with tf.keras; zoo uses Keras 3 (`import keras`) "
    "everywhere, never tf.keras mixed in."
)
_SOFTMAX = (
    "The output layer applies softmax and the loss takes probabilities: "
    "correct, but less stable numerically than logits with "
    "from_logits=True, which is what zoo's models and loss use."
)
_LAST_STEP = (
    "The last recurrent layer returns only its final state, so each "
    "window of T tokens trains on one target (the next token). zoo's "
    "default output='sequence' predicts at every step: T targets per "
    "window, the usual language-model set-up; output='last' keeps the "
    "listing's form."
)


def _sequential_rnn(layer_cls, *, vocab_size, embedding_dim, units):
    model = keras.Sequential(
        [
            keras.layers.Embedding(input_dim=vocab_size, output_dim=embedding_dim),
            layer_cls(units=units, return_sequences=True),
            layer_cls(units=units),
            keras.layers.Dense(units=vocab_size, activation="softmax"),
        ]
    )
    model.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def _as_written_000_41(*, vocab_size, embedding_dim, rnn_units):
    return _sequential_rnn(
        keras.layers.SimpleRNN,
        vocab_size=vocab_size,
        embedding_dim=embedding_dim,
        units=rnn_units,
    )


def _as_written_000_42(*, vocab_size, embedding_dim, lstm_units):
    return _sequential_rnn(
        keras.layers.LSTM,
        vocab_size=vocab_size,
        embedding_dim=embedding_dim,
        units=lstm_units,
    )


def _as_written_001_5(*, vocab_size):
    raise ZooError(
        "listing 001-s5 is PyTorch + Hugging Face transformers, not Keras, and "
        "downloads the 'bert-base-uncased' checkpoint (about 440 MB) from the "
        "internet when it first runs: it cannot run offline or behind a firewall, "
        "and zoo does not install torch. The zoo version runs offline on the "
        "bundled corpus: `run = zoo.recipes.train_masked_lm()` then "
        "`zoo.generation.fill_mask(run.model, run.tokenizer, text_with_[MASK])` "
        f"(build_bert_mlm({vocab_size}) for the model alone)."
    )


def _as_written_002(*, vocab_size, embedding_dim, units):
    inputs = keras.layers.Input(shape=(None, embedding_dim))
    hidden = keras.layers.LSTM(units)(inputs)
    outputs = keras.layers.Dense(vocab_size, activation="softmax")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def _as_written_003_5(*, vocab_size, embedding_dim, rnn_units):
    warnings.warn(
        "listing 003-s5 as written: its Bidirectional GRU reads the future, so as "
        "a language model it cheats, and its loss treats logits as probabilities. "
        "Use zoo.build_gru (or see the errata) for a real model.",
        ZooWarning,
        stacklevel=3,
    )
    model = keras.Sequential(
        [
            keras.layers.Embedding(input_dim=vocab_size, output_dim=embedding_dim),
            keras.layers.Bidirectional(
                keras.layers.GRU(rnn_units, return_sequences=True)
            ),
            keras.layers.Dense(rnn_units, activation="relu"),
            keras.layers.Dense(vocab_size),
        ]
    )
    model.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def _as_written_004_41(*, vocab_size, embedding_dim, units):
    model = keras.Sequential()
    model.add(keras.layers.Embedding(input_dim=vocab_size, output_dim=embedding_dim))
    model.add(keras.layers.SimpleRNN(units=units))
    model.add(keras.layers.Dense(units=vocab_size, activation="softmax"))
    model.compile(
        optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def _as_written_004_42(*, input_dim, output_dim, num_heads, ff_dim):
    """The listing's `Transformer` function, with `Concatenate` imported.

    Runs only when the source and target have the same length (S == T): the
    Concatenate joins (B, S, ff_dim) encoder features and (B, T, output_dim)
    decoder embeddings position by position. Its output has output_dim
    classes, not input_dim, so target ids >= output_dim break the loss.
    """
    warnings.warn(
        "listing 004-4.2 as written: the encoder and decoder are glued position "
        "by position (the source and target must have the same length), the "
        f"output layer has output_dim={output_dim} classes instead of the "
        f"vocabulary's {input_dim}, and there is no cross-attention, positional "
        "encoding, mask or residual connection. Use zoo.build_transformer (see "
        "the errata) for a real model.",
        ZooWarning,
        stacklevel=3,
    )
    inputs = keras.layers.Input(shape=(None,))

    x = keras.layers.Embedding(input_dim, output_dim)(inputs)
    x = keras.layers.LayerNormalization(epsilon=1e-6)(x)
    x = keras.layers.MultiHeadAttention(num_heads=num_heads, key_dim=output_dim)(x, x)
    x = keras.layers.LayerNormalization(epsilon=1e-6)(x)
    x = keras.layers.Dense(ff_dim, activation="relu")(x)
    x = keras.layers.LayerNormalization(epsilon=1e-6)(x)

    decoder_input = keras.layers.Input(shape=(None,))
    decoder_embedding = keras.layers.Embedding(input_dim, output_dim)(decoder_input)
    x = keras.layers.Concatenate()([x, decoder_embedding])  # never imported
    x = keras.layers.Dense(output_dim, activation="softmax")(x)

    model = keras.Model(inputs=[inputs, decoder_input], outputs=x)
    model.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


LISTINGS: dict[str, Listing] = {
    entry.id: entry
    for entry in [
        Listing(
            id="000-4.1",
            document="000",
            section="4.1 使用RNN构建语言模型",
            title="a two-layer SimpleRNN language model",
            code=_CODE_000_41,
            sizes={"vocab_size": 10000, "embedding_dim": 256, "rnn_units": 1024},
            sizes_from=_OPEN_SIZES,
            factory="build_simple_rnn",
            zoo_kwargs={
                "embedding_dim": 256,
                "units": 1024,
                "num_layers": 2,
                "output": "last",
            },
            errata=(
                _TF_KERAS,
                _SOFTMAX,
                _LAST_STEP,
                "vocab_size, embedding_dim and rnn_units are never defined; the "
                "listing cannot run as printed (zoo fills them: see sizes_from).",
            ),
            as_written=_as_written_000_41,
        ),
        Listing(
            id="000-4.2",
            document="000",
            section="4.2 使用LSTM构建语言模型",
            title="a two-layer LSTM language model",
            code=_CODE_000_42,
            sizes={"vocab_size": 10000, "embedding_dim": 256, "lstm_units": 1024},
            sizes_from=_OPEN_SIZES,
            factory="build_lstm",
            zoo_kwargs={
                "embedding_dim": 256,
                "units": 1024,
                "num_layers": 2,
                "output": "last",
            },
            errata=(
                _TF_KERAS,
                _SOFTMAX,
                _LAST_STEP,
                "vocab_size, embedding_dim and lstm_units are never defined (zoo "
                "fills them: see sizes_from). The text's section 3 calls LSTM "
                "'循环神经网络' and RNN '递归神经网络'; both are recurrent networks "
                "(递归神经网络 usually means a recursive, tree-shaped network).",
            ),
            as_written=_as_written_000_42,
        ),
        Listing(
            id="001-s5",
            document="001",
            section="5. 项目实践：代码实例和详细解释说明",
            title="BERT fills in [MASK] (PyTorch, a downloaded checkpoint)",
            code=_CODE_001_5,
            sizes={"vocab_size": 30522},
            sizes_from="bert-base-uncased's vocabulary (30522 WordPiece tokens)",
            factory="build_bert_mlm",
            zoo_kwargs={},
            errata=(
                "from_pretrained('bert-base-uncased') downloads the tokenizer and "
                "about 440 MB of weights from the Hugging Face Hub on first use: "
                "offline or behind a firewall it fails (docs/pitfalls.md #23). It also needs "
                "torch and transformers, which the text never installs, in a series "
                "otherwise written with TensorFlow/Keras. zoo trains its own small "
                "masked LM offline: zoo.recipes.train_masked_lm() on the bundled "
                "plays (character level, so a [MASK] hides one character; it knows "
                "Shakespeare, not the capital of France).",
                "predictions = outputs[0] is the logits of every position, shape "
                "(1, T, V) with T = 9 here ([CLS] the capital of france is [MASK] . "
                "[SEP]). torch.argmax(predictions, dim=-1) is then T token ids, one "
                "per position, and .item() only converts a one-element tensor: it "
                "raises RuntimeError ('a Tensor with 9 elements cannot be converted "
                "to Scalar'). The prediction wanted is the row at the [MASK] "
                "position only: predictions[0, mask_index].argmax(-1), with "
                "mask_index where input_ids == tokenizer.mask_token_id. "
                "zoo.generation.fill_mask reads exactly that row (tested), and "
                "returns the top-k tokens with their probabilities.",
                "Even with one id, tokenizer.convert_ids_to_tokens(inputs['input_ids']"
                "[0])[predicted_index] uses the predicted vocabulary id (0..30521) "
                "as a position in the 9 tokens of the input sentence: an IndexError, "
                "or one of the sentence's own words. The vocabulary lookup is "
                "tokenizer.convert_ids_to_tokens(predicted_id).",
                "The text explains '双向编码器' as 'the first and second halves of the "
                "input are both encoded'. Bidirectional means more: in every layer "
                "each position attends to all positions, left and right, so a later "
                "word changes the vectors of earlier ones (a test shows it for "
                "build_bert_mlm, and shows that a causal GPT never does). That is "
                "why BERT fills gaps but cannot generate text left to right.",
                "BERT came from Google AI Language (Devlin et al., 2019), not the "
                "Google Brain team the text names.",
            ),
            as_written=_as_written_001_5,
            framework="pytorch",
        ),
        Listing(
            id="002",
            document="002",
            section="项目实践：代码实例和详细解释说明",
            title="'a simple RNN language model' (an LSTM over pre-embedded input)",
            code=_CODE_002,
            sizes={"vocab_size": 10000, "embedding_dim": 256, "units": 1024},
            sizes_from=_OPEN_SIZES,
            factory="build_lstm",
            zoo_kwargs={
                "embedding_dim": 256,
                "units": 1024,
                "inputs": "embeddings",
                "output": "last",
            },
            errata=(
                _TF_KERAS,
                "The text promises the RNN of its equations h_t = f(W x_t + U h_{t-1}"
                " + b), o_t = g(V h_t + c), then builds an LSTM. zoo's ElmanCell is "
                "those equations: build_simple_rnn(vocab_size, from_equations=True).",
                "The equation writes H_{t-1} for h_{t-1}, and o_t is a probability "
                "only after g = softmax; zoo's model emits V h_t + c (logits) and the "
                "softmax lives in the loss and the sampler.",
                "Input(shape=(None, embedding_dim)) takes vectors, not token ids: "
                "the model has no Embedding layer, so x_train must be embedded "
                "elsewhere and the model cannot generate text by itself. zoo's "
                "default inputs='tokens' adds the Embedding; inputs='embeddings' "
                "keeps the listing's form.",
                _SOFTMAX,
                _LAST_STEP,
                "x_train, y_train, vocab_size, embedding_dim and units are never "
                "defined.",
            ),
            as_written=_as_written_002,
        ),
        Listing(
            id="003-s5",
            document="003",
            section="5. 项目实践：代码实例和详细解释说明",
            title="'GPT-2' (an embedding, a bidirectional GRU and two Dense layers)",
            code=_CODE_003_5,
            sizes={"vocab_size": 10000, "embedding_dim": 256, "rnn_units": 1024},
            sizes_from=_OPEN_SIZES,
            factory="build_gru",
            zoo_kwargs={"embedding_dim": 256, "units": 1024},
            errata=(
                "This is not GPT-2. GPT-2 is a decoder-only Transformer (masked "
                "self-attention, no recurrence); section 4 of the same text says so. "
                "zoo's GPT is that model: zoo.build_gpt(vocab_size), causal "
                "self-attention blocks and no recurrence (this entry's zoo call keeps "
                "the listing's GRU, made causal).",
                "Bidirectional(GRU) reads every sequence backwards too, so the "
                "prediction for step t has already seen token t+1, the answer: a "
                "causal language model trained this way cheats and cannot generate "
                "left to right (a test changes a later token and watches earlier "
                "predictions move). zoo's recurrent factories refuse "
                "bidirectional=True.",
                "The last Dense has no activation, so the model emits logits, but "
                "loss='sparse_categorical_crossentropy' (from_logits=False) expects "
                "probabilities: the loss is computed on the wrong quantity. zoo's "
                "loss uses from_logits=True.",
                "`!pip install tensorflow` is notebook shell syntax, not Python.",
                "zoo's GRU maps the recurrent state straight to the logits; the extra "
                "Dense(rnn_units, relu) adds parameters and fixes nothing, so it is "
                "left out.",
                _TF_KERAS,
            ),
            as_written=_as_written_003_5,
        ),
        Listing(
            id="004-4.1",
            document="004",
            section="4.1 RNN的Python代码示例",
            title="a SimpleRNN language model, vocabulary 10000, width 128",
            code=_CODE_004_41,
            sizes={"vocab_size": 10000, "embedding_dim": 128, "units": 128},
            sizes_from="the listing itself (10000, 128, 128)",
            factory="build_simple_rnn",
            zoo_kwargs={
                "embedding_dim": 128,
                "units": 128,
                "output": "last",
                "optimizer": "rmsprop",
            },
            errata=(
                "loss='categorical_crossentropy' needs one-hot targets: y_train of "
                "shape (N, 10000), 40 kB per example in float32, which runs out of "
                "memory on a real corpus and is worse still for a Chinese vocabulary. "
                "zoo uses sparse integer targets (sparse categorical cross-entropy).",
                _SOFTMAX,
                _LAST_STEP,
                _TF_KERAS,
            ),
            as_written=_as_written_004_41,
        ),
        Listing(
            id="004-4.2",
            document="004",
            section="4.2 Transformer模型的Python代码示例",
            title="'a Transformer' (one attention layer; the decoder only an "
            "Embedding, concatenated to the encoder)",
            code=_CODE_004_42,
            sizes={
                "input_dim": 10000,
                "output_dim": 256,
                "num_heads": 4,
                "ff_dim": 512,
            },
            sizes_from="the listing itself (10000, 256, 4, 512)",
            factory="build_transformer",
            zoo_kwargs={
                "embedding_dim": 256,
                "num_heads": 4,
                "ff_dim": 512,
                "num_layers": 1,
            },
            errata=(
                "`Concatenate` is used but never imported: the listing stops with a "
                "NameError. zoo's as-written build imports it and changes nothing "
                "else.",
                "The encoder and decoder are joined by Concatenate()([x, "
                "decoder_embedding]): the encoder vector at position t is glued to the "
                "decoder embedding at position t. That is not cross-attention. It "
                "runs only when source and target have the same length (S == T; "
                "otherwise Keras raises a shape error), and target position t sees "
                "source position t only through that one encoder vector, an "
                "alignment that translation does not have ('3 March 1998' -> "
                "'1998-03-03'). zoo's decoder blocks cross-attend: every target "
                "position weighs every real source position.",
                "The decoder is a single Embedding: no self-attention and no "
                "feed-forward network. Every layer after the Concatenate works "
                "position by position, so the prediction at position t depends on "
                "the decoder token at t and on nothing written before it (a test "
                "changes one decoder token and only that position's output moves). "
                "It does not see the future, but it has no past either. zoo's "
                "decoder blocks use causal self-attention over tokens 0..t.",
                "The output layer is Dense(output_dim, activation='softmax'): "
                "output_dim=256 classes, not the input_dim=10000 ids of the "
                "vocabulary. Any target id >= 256 is out of range: "
                "sparse_categorical_crossentropy raises an InvalidArgumentError on a "
                "CPU (and gives NaN on a GPU). zoo's output is "
                "Dense(target_vocab_size) logits.",
                "No positional encoding (document 001, section 3, step 2: 位置编码). "
                "Self-attention is blind to order, so the encoder output at a "
                "position depends on its own token and the set of source tokens, "
                "not their order: '12/03/98' and '03/12/98' look alike. zoo adds "
                "sinusoidal (or learned) positions, TokenAndPositionEmbedding.",
                "No masks. Padded sequences are attended to as if padding were text "
                "(no padding mask), and the loss counts the padding positions "
                "(docs/pitfalls.md #2). zoo builds the source padding mask from the PAD ids "
                "for encoder self-attention and for cross-attention, the decoder's "
                "causal mask is always on, and the loss ignores padding.",
                "No residual connections, although section 2.3 lists them "
                "(残差连接): each sub-layer replaces its input, and "
                "LayerNormalization is applied to the embeddings and after each "
                "sub-layer with no sum, neither the paper's LayerNorm(x + f(x)) nor "
                "pre-norm x + f(LayerNorm(x)). zoo's blocks do either (norm_first).",
                "The feed-forward network is half there: Dense(ff_dim, relu) with no "
                "Dense back to the model width, so the encoder's output is ff_dim=512 "
                "wide, not output_dim=256 (the Concatenate is 512 + 256 = 768 wide). "
                "zoo's feed-forward network is Dense(ff_dim, relu) then Dense(C).",
                "MultiHeadAttention(key_dim=output_dim): key_dim is the size of each "
                "head, so this is 4 heads of 256 (1024-wide projections), four times "
                "the work of the paper's output_dim // num_heads = 64 per head. zoo's "
                "heads are C // H wide.",
                "One attention layer in the encoder and none in the decoder; the "
                "paper stacks N = 6 encoder and 6 decoder blocks. zoo: num_layers "
                "of each (1 in this entry's zoo call, as in the listing).",
                "Input(shape=(None,)) is float32: token ids are passed as floats "
                "(exact only below 2**24; Embedding casts them back). zoo's inputs "
                "are int32.",
                "x_train and y_train are never defined: x_train must be a pair [source "
                "ids, decoder input ids] and y_train the decoder input shifted by one "
                "(teacher forcing); the text does not say so. zoo: "
                "zoo.data.pairs.encode_pairs. And a model trained this way "
                "needs a decoding loop to translate (greedy or beam search), which "
                "the text does not give: zoo.generation.translate.",
                _SOFTMAX,
                "No dropout anywhere; the paper uses 0.1 (zoo's default).",
                _TF_KERAS,
            ),
            as_written=_as_written_004_42,
        ),
    ]
}


def get(listing_id: str) -> Listing:
    """The listing with this id; a `ZooError` lists the ids if it is unknown."""
    if listing_id not in LISTINGS:
        raise ZooError(f"no listing {listing_id!r}; known: {', '.join(LISTINGS)}")
    return LISTINGS[listing_id]


def for_factory(factory: str) -> list[Listing]:
    """The listings that a zoo factory (e.g. "build_lstm") reproduces."""
    return [entry for entry in LISTINGS.values() if entry.factory == factory]


def for_family(name: str) -> list[Listing]:
    """The listings that a model family of `zoo.registry` (e.g. "lstm")
    reproduces: those of its factory."""
    from zoo import registry

    return for_factory(registry.get(name).factory)
