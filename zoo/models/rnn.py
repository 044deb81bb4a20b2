"""Recurrent language models: SimpleRNN, LSTM and GRU.

Mirrors: document 000, 项目实践 4.1 使用RNN构建语言模型 and 4.2 使用LSTM构建语言模型
(Sequential: Embedding -> stacked recurrent layers -> Dense), document 002
(functional LSTM over pre-embedded input), document 003 section 5 (GRU) and
document 004 section 4.1 (SimpleRNN).

Every factory builds ``Embedding -> [Dropout] -> num_layers x recurrent ->
[Dropout] -> Dense(vocab_size)`` and returns logits:

    inputs  (B, T) int ids
    output  (B, T, V) logits with output="sequence" (every step predicts its next
            token), or (B, V) with output="last" (the window predicts the token
            after it, as the texts' listings do).

A language model must not see the future, so these factories refuse
``bidirectional=True`` (document 003's "GPT-2" is a bidirectional GRU; see
`zoo.listings`).
"""

from __future__ import annotations

import keras

from zoo.errors import ZooError
from zoo.layers.cells import ElmanCell
from zoo.layers.fused import FusedGRU, FusedLSTM, FusedSimpleRNN
from zoo.models._checks import check_compile_kwargs, check_dropout, check_positive

OUTPUTS = ("sequence", "last")
_LAYERS = {
    "simple_rnn": keras.layers.SimpleRNN,
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
}
# The same layers with a hand-written backward pass: same weights and maths,
# faster training under XLA (see zoo.layers.fused and benchmarks/speed.py).
_FUSED = {"simple_rnn": FusedSimpleRNN, "lstm": FusedLSTM, "gru": FusedGRU}


def _build_recurrent(
    kind: str,
    vocab_size: int,
    *,
    embedding_dim: int,
    units: int,
    num_layers: int,
    dropout: float,
    output: str,
    bidirectional: bool,
    inputs: str,
    from_equations: bool = False,
    fused: bool = True,
    stateful: bool = False,
    batch_size: int | None = None,
    compile: bool,
    name: str,
    **compile_kwargs,
) -> keras.Model:
    if bidirectional:
        raise ZooError(
            f"build_{kind}(bidirectional=True) would let a causal language model see "
            "the future: a backward layer reads the tokens it must predict. Document "
            "003's 'GPT-2' listing does this (see zoo.listings.get('003-s5')); for a "
            "bidirectional encoder use a seq2seq or masked-LM model instead."
        )
    if output not in OUTPUTS:
        raise ZooError(f"output must be one of {OUTPUTS}, got {output!r}")
    if inputs not in ("tokens", "embeddings"):
        raise ZooError(f"inputs must be 'tokens' or 'embeddings', got {inputs!r}")
    check_positive(
        vocab_size=vocab_size,
        embedding_dim=embedding_dim,
        units=units,
        num_layers=num_layers,
    )
    check_dropout(dropout)
    check_compile_kwargs(f"build_{kind}", compile, compile_kwargs)
    if stateful and (isinstance(batch_size, bool) or not isinstance(batch_size, int)):
        raise ZooError(
            f"build_{kind}(stateful=True) carries one state per batch row, so it "
            f"needs a fixed batch_size (an int), got {batch_size!r}"
        )
    if stateful:
        check_positive(batch_size=batch_size)
    # A stateful model has a fixed batch: its state variables are (B, units).
    batch = {"batch_shape": (batch_size, None)} if stateful else {"shape": (None,)}
    layers = []
    if inputs == "tokens":
        layers += [
            keras.Input(**batch, dtype="int32", name="token_ids"),  # (B, T)
            keras.layers.Embedding(vocab_size, embedding_dim, name="embedding"),
        ]
    else:  # document 002: the caller embeds; inputs are (B, T, E) vectors
        batch = {k: (*v, embedding_dim) for k, v in batch.items()}
        layers.append(keras.Input(**batch, name="embeddings"))
    if dropout:
        layers.append(keras.layers.Dropout(dropout, name="embedding_dropout"))
    for i in range(num_layers):
        keep_sequence = output == "sequence" or i < num_layers - 1
        layer_name = f"{kind}_{i + 1}"
        if from_equations:
            layer = keras.layers.RNN(
                ElmanCell(units, name=f"elman_cell_{i + 1}"),
                return_sequences=keep_sequence,
                stateful=stateful,
                name=layer_name,
            )
        else:
            layer = (_FUSED if fused else _LAYERS)[kind](
                units,
                return_sequences=keep_sequence,
                stateful=stateful,
                name=layer_name,
            )
        layers.append(layer)  # (B, T, units), or (B, units) for the last "last"
    if dropout:
        layers.append(keras.layers.Dropout(dropout, name="output_dropout"))
    layers.append(keras.layers.Dense(vocab_size, name="logits"))  # V h_t + c
    if inputs == "tokens":
        model = keras.Sequential(layers, name=name)
    else:
        x = layers[0]
        y = x
        for layer in layers[1:]:
            y = layer(y)
        model = keras.Model(x, y, name=name)
    if compile:
        from zoo.training import compile_model

        compile_model(model, **compile_kwargs)
    return model


def build_simple_rnn(
    vocab_size: int,
    *,
    embedding_dim: int = 128,
    units: int = 256,
    num_layers: int = 1,
    dropout: float = 0.0,
    output: str = "sequence",
    bidirectional: bool = False,
    inputs: str = "tokens",
    from_equations: bool = False,
    fused: bool = True,
    stateful: bool = False,
    batch_size: int | None = None,
    compile: bool = True,
    name: str = "simple_rnn_lm",
    **compile_kwargs,
) -> keras.Model:
    """Build a SimpleRNN (Elman) language model (logits out).

    Mirrors: document 000, 4.1 使用RNN构建语言模型; document 004,
    4.1 RNN的Python代码示例.
    Defaults from: zoo's laptop-CPU size, shared with its benchmarks
    (embedding 128, 256 units, one layer); the listings' own sizes are in
    `zoo.listings`.

    Args:
        vocab_size: V, number of token ids (the tokenizer's ``vocab_size``).
        embedding_dim: E, size of each token vector.
        units: hidden-state size of each recurrent layer.
        num_layers: recurrent layers stacked (the listings use 1 or 2).
        dropout: dropout rate after the embedding and before the output.
        output: "sequence" (B, T, V) or "last" (B, V).
        bidirectional: always refused: a causal model must not see the future.
        inputs: "tokens" (B, T) ids, or "embeddings" (B, T, E) vectors as in
            document 002's functional listing (then no Embedding layer, and the
            model is functional).
        from_equations: run zoo's `ElmanCell` (document 002's equations,
            h_t = f(W x_t + U h_{t-1} + b)) through `keras.layers.RNN` instead of
            `keras.layers.SimpleRNN`; same maths, weights named W, U, b.
        fused: use zoo's `FusedSimpleRNN` (the default): the Keras layer with
            the same weights and maths, and a hand-written backward pass that
            trains faster under XLA (`zoo.layers.fused`). ``fused=False``
            builds the stock ``keras.layers.SimpleRNN`` the texts use.
        stateful: carry each batch row's final state into the next batch
            (truncated backpropagation through time, fed by
            `zoo.data.pipeline.make_stream_dataset`); `zoo.training` resets
            it at every epoch and before evaluation.
        batch_size: B, fixed, for ``stateful=True`` (one state per row).
        compile: compile with `zoo.training.compile_model` (logits loss,
            perplexity, XLA); ``compile=False`` returns the bare graph.
        name: the model's name.
        **compile_kwargs: passed to `compile_model` (learning_rate, ...).

    Returns:
        A `keras.Sequential` model (functional for ``inputs="embeddings"``).

    Example:
        >>> model = build_simple_rnn(65)
        >>> model(np.zeros((2, 10), "int32")).shape  # (B, T, V)
        TensorShape([2, 10, 65])
    """
    return _build_recurrent(
        "simple_rnn",
        vocab_size,
        embedding_dim=embedding_dim,
        units=units,
        num_layers=num_layers,
        dropout=dropout,
        output=output,
        bidirectional=bidirectional,
        inputs=inputs,
        from_equations=from_equations,
        fused=fused,
        stateful=stateful,
        batch_size=batch_size,
        compile=compile,
        name=name,
        **compile_kwargs,
    )


def build_lstm(
    vocab_size: int,
    *,
    embedding_dim: int = 128,
    units: int = 256,
    num_layers: int = 1,
    dropout: float = 0.0,
    output: str = "sequence",
    bidirectional: bool = False,
    inputs: str = "tokens",
    fused: bool = True,
    stateful: bool = False,
    batch_size: int | None = None,
    compile: bool = True,
    name: str = "lstm_lm",
    **compile_kwargs,
) -> keras.Model:
    """Build an LSTM language model (logits out).

    Mirrors: document 000, 4.2 使用LSTM构建语言模型; document 002, 项目实践
    (functional).
    Defaults from: zoo's laptop-CPU size, shared with its benchmarks
    (embedding 128, 256 units, one layer); the listings' own sizes are in
    `zoo.listings`.

    Args:
        vocab_size: V, number of token ids (the tokenizer's ``vocab_size``).
        embedding_dim: E, size of each token vector.
        units: hidden-state size of each recurrent layer.
        num_layers: recurrent layers stacked (the listings use 1 or 2).
        dropout: dropout rate after the embedding and before the output.
        output: "sequence" (B, T, V) or "last" (B, V).
        bidirectional: always refused: a causal model must not see the future.
        inputs: "tokens" (B, T) ids, or "embeddings" (B, T, E) vectors as in
            document 002's functional listing (then no Embedding layer, and the
            model is functional).
        fused: use zoo's `FusedLSTM` (the default): the Keras layer with
            the same weights and maths, and a hand-written backward pass that
            trains faster under XLA (`zoo.layers.fused`). ``fused=False``
            builds the stock ``keras.layers.LSTM`` the texts use.
        stateful: carry each batch row's final state into the next batch
            (truncated backpropagation through time, fed by
            `zoo.data.pipeline.make_stream_dataset`); `zoo.training` resets
            it at every epoch and before evaluation.
        batch_size: B, fixed, for ``stateful=True`` (one state per row).
        compile: compile with `zoo.training.compile_model` (logits loss,
            perplexity, XLA); ``compile=False`` returns the bare graph.
        name: the model's name.
        **compile_kwargs: passed to `compile_model` (learning_rate, ...).

    Returns:
        A `keras.Sequential` model (functional for ``inputs="embeddings"``).

    Example:
        >>> model = build_lstm(65)
        >>> model(np.zeros((2, 10), "int32")).shape  # (B, T, V)
        TensorShape([2, 10, 65])
    """
    return _build_recurrent(
        "lstm",
        vocab_size,
        embedding_dim=embedding_dim,
        units=units,
        num_layers=num_layers,
        dropout=dropout,
        output=output,
        bidirectional=bidirectional,
        inputs=inputs,
        fused=fused,
        stateful=stateful,
        batch_size=batch_size,
        compile=compile,
        name=name,
        **compile_kwargs,
    )


def build_gru(
    vocab_size: int,
    *,
    embedding_dim: int = 128,
    units: int = 256,
    num_layers: int = 1,
    dropout: float = 0.0,
    output: str = "sequence",
    bidirectional: bool = False,
    inputs: str = "tokens",
    fused: bool = True,
    stateful: bool = False,
    batch_size: int | None = None,
    compile: bool = True,
    name: str = "gru_lm",
    **compile_kwargs,
) -> keras.Model:
    """Build a GRU language model (logits out).

    Mirrors: document 003, 5. 项目实践 (its GRU, made causal: one direction only).
    Defaults from: zoo's laptop-CPU size, shared with its benchmarks
    (embedding 128, 256 units, one layer); the listings' own sizes are in
    `zoo.listings`.

    Args:
        vocab_size: V, number of token ids (the tokenizer's ``vocab_size``).
        embedding_dim: E, size of each token vector.
        units: hidden-state size of each recurrent layer.
        num_layers: recurrent layers stacked (the listings use 1 or 2).
        dropout: dropout rate after the embedding and before the output.
        output: "sequence" (B, T, V) or "last" (B, V).
        bidirectional: always refused: a causal model must not see the future.
        inputs: "tokens" (B, T) ids, or "embeddings" (B, T, E) vectors as in
            document 002's functional listing (then no Embedding layer, and the
            model is functional).
        fused: use zoo's `FusedGRU` (the default): the Keras layer with
            the same weights and maths, and a hand-written backward pass that
            trains faster under XLA (`zoo.layers.fused`). ``fused=False``
            builds the stock ``keras.layers.GRU`` the texts use.
        stateful: carry each batch row's final state into the next batch
            (truncated backpropagation through time, fed by
            `zoo.data.pipeline.make_stream_dataset`); `zoo.training` resets
            it at every epoch and before evaluation.
        batch_size: B, fixed, for ``stateful=True`` (one state per row).
        compile: compile with `zoo.training.compile_model` (logits loss,
            perplexity, XLA); ``compile=False`` returns the bare graph.
        name: the model's name.
        **compile_kwargs: passed to `compile_model` (learning_rate, ...).

    Returns:
        A `keras.Sequential` model (functional for ``inputs="embeddings"``).

    Example:
        >>> model = build_gru(65)
        >>> model(np.zeros((2, 10), "int32")).shape  # (B, T, V)
        TensorShape([2, 10, 65])
    """
    return _build_recurrent(
        "gru",
        vocab_size,
        embedding_dim=embedding_dim,
        units=units,
        num_layers=num_layers,
        dropout=dropout,
        output=output,
        bidirectional=bidirectional,
        inputs=inputs,
        fused=fused,
        stateful=stateful,
        batch_size=batch_size,
        compile=compile,
        name=name,
        **compile_kwargs,
    )


def stateful_copy(model: keras.Model, *, batch_size: int | None) -> keras.Model:
    """The same recurrent language model, carrying its state or not.

    A stateful model (truncated backpropagation through time) has a fixed
    batch; to generate from it, or score it window by window, use a copy with
    ``batch_size=None`` (no state carried); to score a stream the way it was
    trained, a copy with the batch size of its streams.

    Args:
        model: a `keras.Sequential` built by `build_simple_rnn`, `build_lstm`
            or `build_gru` (stateful or not).
        batch_size: B for a stateful copy, or None for a stateless one.

    Returns:
        An uncompiled model with the same weights.

    Example:
        >>> model = build_lstm(65, stateful=True, batch_size=20)
        >>> stateful_copy(model, batch_size=None)(np.zeros((1, 5), "int32")).shape
        TensorShape([1, 5, 65])
    """
    if not isinstance(model, keras.Sequential):
        raise ZooError(
            "stateful_copy takes the Sequential model of build_simple_rnn, "
            f"build_lstm or build_gru, got {type(model).__name__}"
        )
    if batch_size is not None:
        check_positive(batch_size=batch_size)
    config = model.get_config()
    for layer in config["layers"]:
        layer.pop("build_config", None)  # rebuilt from the new input shape
        if layer["class_name"] == "InputLayer":
            shape = layer["config"]["batch_shape"]
            layer["config"]["batch_shape"] = [batch_size, *shape[1:]]
        elif "stateful" in layer["config"]:
            layer["config"]["stateful"] = batch_size is not None
    copy = keras.Sequential.from_config(config)
    copy.set_weights(model.get_weights())
    return copy
