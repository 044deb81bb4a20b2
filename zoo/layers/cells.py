"""The recurrent cell of document 002, written from its equations.

    h_t = f(W x_t + U h_{t-1} + b)        (the cell: this layer)
    o_t = g(V h_t + c)                    (the output: a Dense layer on h_t)

f is tanh by default; g is the softmax, which zoo leaves to the loss and the
sampler (the model emits V h_t + c, the logits). Run it over a sequence with
``keras.layers.RNN(ElmanCell(units))``; with the same weights it computes
exactly what ``keras.layers.SimpleRNN`` does (tested).
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class ElmanCell(keras.layers.Layer):
    """h_t = f(W x_t + U h_{t-1} + b), one time step.

    Mirrors: document 002, 数学模型和公式详细讲解举例说明 (the RNN equations).

    Args:
        units: size of the hidden state h.
        activation: f, "tanh" as in the Elman network.
        kernel_initializer: initializer for W (input -> hidden).
        recurrent_initializer: initializer for U (hidden -> hidden).
        **kwargs: passed to `keras.layers.Layer`.

    Example:
        >>> rnn = keras.layers.RNN(ElmanCell(32), return_sequences=True)
        >>> rnn(np.zeros((2, 5, 8), "float32")).shape  # (B, T, units)
        (2, 5, 32)

    Reference:
        Elman, "Finding Structure in Time", Cognitive Science 14 (1990).
    """

    def __init__(
        self,
        units: int,
        *,
        activation="tanh",
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.W = self.add_weight(
            shape=(input_dim, self.units), initializer=self.kernel_initializer, name="W"
        )
        self.U = self.add_weight(
            shape=(self.units, self.units),
            initializer=self.recurrent_initializer,
            name="U",
        )
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")

    def call(self, inputs, states, training=False):
        h_prev = (
            states[0] if isinstance(states, (list, tuple)) else states
        )  # (B, units)
        h = self.activation(
            ops.matmul(inputs, self.W) + ops.matmul(h_prev, self.U) + self.b
        )  # (B, units)
        return h, [h]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(
                self.recurrent_initializer
            ),
        }
