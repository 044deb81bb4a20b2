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
from zoo.models import rnn


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
        factory = getattr(rnn, self.factory)
        vocab_size = self.sizes["vocab_size"] if vocab_size is None else vocab_size
        return factory(vocab_size, **{**self.zoo_kwargs, **overrides})


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
                "zoo's Transformer language model comes with the attention models.",
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
