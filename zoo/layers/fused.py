"""Recurrent layers with a hand-written backward pass, fast under XLA.

`FusedSimpleRNN`, `FusedLSTM` and `FusedGRU` are `keras.layers.SimpleRNN`,
`LSTM` and `GRU` with the same weights, the same maths and the same config;
only the way the sequence is computed differs. Stock Keras runs the cell once
per time step and lets automatic differentiation walk back through the loop;
on a CPU under XLA that backward loop is slow. These layers do what cuDNN and
PyTorch's CPU kernels do:

1. The input projection of every step, x_t W + b, is one matmul over the whole
   sequence before the recurrence: (B*T, E) x (E, G), G = gates x units.
2. The forward loop does only h_{t-1} U and the elementwise gate maths, and
   keeps the activated gates for the backward pass.
3. The backward pass is written out (backpropagation through time): a loop
   that carries dh (and dc) from the last step to the first with one small
   matmul per step, dz_t U^T. The recurrent kernel's gradient is then one
   large matmul over all steps, H_{t-1}^T dZ, and the input kernel's comes
   from step 1's matmul.

Both loops are `tf.while_loop`s over `tf.TensorArray`s, which XLA compiles
into one program with buffers updated in place. The layers fall back to the
stock Keras loop whenever that is needed for correctness: a mask, dropout on
the recurrent state, `go_backwards`, `unroll`, a non-default activation, or a
backend other than TensorFlow. A test checks outputs and gradients against the
stock layers with the same weights.

Shapes: B batch, T time, E input size, U units, G = 4U (LSTM), 3U (GRU), U.
"""

from __future__ import annotations

import keras
import tensorflow as tf

# --- the three recurrences, each with its backward pass ------------------------


def _loop(step, steps, init, outputs, *, reverse=False):
    """Run ``step(t, *carry) -> (carry, outs)`` for t in range(steps) (from the
    last step down if `reverse`), writing each of `outs` into a TensorArray;
    returns the final carry and the stacked outputs, each (T, ...)."""
    arrays = tuple(
        tf.TensorArray(dtype, size=steps, element_shape=shape)
        for dtype, shape in outputs
    )

    def body(i, carry, arrays):
        t = steps - 1 - i if reverse else i
        carry, outs = step(t, *carry)
        arrays = tuple(a.write(t, o) for a, o in zip(arrays, outs, strict=True))
        return i + 1, carry, arrays

    _, carry, arrays = tf.while_loop(
        lambda i, *_: i < steps, body, (tf.constant(0), init, arrays)
    )
    return carry, tuple(a.stack() for a in arrays)


def _previous(h0, hs):
    """h_{t-1} for every step: h0 then hs[:-1], (T, B, U)."""
    return tf.concat([h0[None], hs[:-1]], axis=0)


def _flat(x):
    return tf.reshape(x, (-1, x.shape[-1]))  # (T, B, G) -> (T*B, G)


@tf.custom_gradient
def simple_rnn_sequence(xp, recurrent_kernel, h0):
    """h_t = tanh(xp_t + h_{t-1} U) over the whole sequence.

    Args:
        xp: (T, B, U) input projections x_t W + b, time first.
        recurrent_kernel: U, (U, U).
        h0: (B, U) initial state.

    Returns:
        hs: (T, B, U), every step's state (hs[-1] is the final state).
    """
    steps = tf.shape(xp)[0]
    xs = tf.TensorArray(xp.dtype, size=steps).unstack(xp)
    spec = [(xp.dtype, h0.shape)]

    def forward(t, h):
        h = tf.tanh(xs.read(t) + tf.matmul(h, recurrent_kernel))  # (B, U)
        return (h,), (h,)

    _, (hs,) = _loop(forward, steps, (h0,), spec)

    def grad(dhs):
        kernel_t = tf.transpose(recurrent_kernel)  # U^T, once for all steps
        dhs_ta = tf.TensorArray(xp.dtype, size=steps).unstack(dhs)
        hs_ta = tf.TensorArray(xp.dtype, size=steps).unstack(hs)

        def backward(t, dh_next):
            h = hs_ta.read(t)
            da = (dhs_ta.read(t) + dh_next) * (1.0 - h * h)  # (B, U) before tanh
            return (tf.matmul(da, kernel_t),), (da,)

        (dh0,), (da,) = _loop(backward, steps, (tf.zeros_like(h0),), spec, reverse=True)
        d_kernel = tf.matmul(_flat(_previous(h0, hs)), _flat(da), transpose_a=True)
        return da, d_kernel, dh0

    return hs, grad


@tf.custom_gradient
def lstm_sequence(xp, recurrent_kernel, h0, c0):
    """The LSTM recurrence (Keras gate order i, f, c, o) over a sequence.

    i, f, o = sigmoid(.), g = tanh(.) of z_t = xp_t + h_{t-1} U;
    c_t = f c_{t-1} + i g;  h_t = o tanh(c_t).

    Args:
        xp: (T, B, 4U) input projections x_t W + b, time first.
        recurrent_kernel: U, (U, 4U).
        h0, c0: (B, U) initial states.

    Returns:
        hs, cs: (T, B, U) every step's h and c.
    """
    steps = tf.shape(xp)[0]
    xs = tf.TensorArray(xp.dtype, size=steps).unstack(xp)
    state, gates = (xp.dtype, h0.shape), (xp.dtype, xp.shape[1:])

    def forward(t, h, c):
        z = xs.read(t) + tf.matmul(h, recurrent_kernel)  # (B, 4U)
        i, f, g, o = tf.split(z, 4, axis=-1)
        i, f, g, o = tf.sigmoid(i), tf.sigmoid(f), tf.tanh(g), tf.sigmoid(o)
        c = f * c + i * g
        h = o * tf.tanh(c)
        return (h, c), (h, c, tf.concat([i, f, g, o], axis=-1))

    _, (hs, cs, acts) = _loop(forward, steps, (h0, c0), [state, state, gates])

    def grad(dhs, dcs):
        kernel_t = tf.transpose(recurrent_kernel)  # U^T, once for all steps
        ta = tf.TensorArray
        dhs_ta = ta(xp.dtype, size=steps).unstack(dhs)
        dcs_ta = ta(xp.dtype, size=steps).unstack(dcs)
        cs_ta = ta(xp.dtype, size=steps).unstack(cs)
        c_prev_ta = ta(xp.dtype, size=steps).unstack(_previous(c0, cs))
        acts_ta = ta(xp.dtype, size=steps).unstack(acts)

        def backward(t, dh_next, dc_next):
            i, f, g, o = tf.split(acts_ta.read(t), 4, axis=-1)  # (B, U) each
            c = cs_ta.read(t)
            c_prev = c_prev_ta.read(t)
            tc = tf.tanh(c)
            dh = dhs_ta.read(t) + dh_next
            dc = dcs_ta.read(t) + dc_next + dh * o * (1.0 - tc * tc)
            dz = tf.concat(
                [
                    dc * g * i * (1.0 - i),
                    dc * c_prev * f * (1.0 - f),
                    dc * i * (1.0 - g * g),
                    dh * tc * o * (1.0 - o),
                ],
                axis=-1,
            )  # (B, 4U), before the activations
            dh_prev = tf.matmul(dz, kernel_t)  # (B, U)
            return (dh_prev, dc * f), (dz,)

        zeros = tf.zeros_like(h0)
        (dh0, dc0), (dz,) = _loop(
            backward, steps, (zeros, zeros), [gates], reverse=True
        )
        d_kernel = tf.matmul(_flat(_previous(h0, hs)), _flat(dz), transpose_a=True)
        return dz, d_kernel, dh0, dc0

    return (hs, cs), grad


@tf.custom_gradient
def gru_sequence(xp, recurrent_kernel, recurrent_bias, h0):
    """The GRU recurrence, Keras's ``reset_after=True`` form (gates z, r, h).

    m = h_{t-1} U + b_r;  z = sigmoid(xp_z + m_z);  r = sigmoid(xp_r + m_r);
    n = tanh(xp_h + r m_h);  h_t = z h_{t-1} + (1 - z) n.

    Args:
        xp: (T, B, 3U) input projections x_t W + b_in, time first.
        recurrent_kernel: U, (U, 3U).
        recurrent_bias: b_r, (3U,).
        h0: (B, U) initial state.

    Returns:
        hs: (T, B, U), every step's state.
    """
    steps = tf.shape(xp)[0]
    xs = tf.TensorArray(xp.dtype, size=steps).unstack(xp)
    state, gates = (xp.dtype, h0.shape), (xp.dtype, xp.shape[1:])

    def forward(t, h):
        x_z, x_r, x_h = tf.split(xs.read(t), 3, axis=-1)
        m = tf.matmul(h, recurrent_kernel) + recurrent_bias  # (B, 3U)
        m_z, m_r, m_h = tf.split(m, 3, axis=-1)
        z = tf.sigmoid(x_z + m_z)
        r = tf.sigmoid(x_r + m_r)
        n = tf.tanh(x_h + r * m_h)
        h_new = z * h + (1.0 - z) * n
        return (h_new,), (h_new, tf.concat([z, r, n], axis=-1), m_h)

    _, (hs, acts, m_hs) = _loop(forward, steps, (h0,), [state, gates, state])

    def grad(dhs):
        kernel_t = tf.transpose(recurrent_kernel)  # U^T, once for all steps
        ta = tf.TensorArray
        dhs_ta = ta(xp.dtype, size=steps).unstack(dhs)
        h_prev_ta = ta(xp.dtype, size=steps).unstack(_previous(h0, hs))
        acts_ta = ta(xp.dtype, size=steps).unstack(acts)
        m_ta = ta(xp.dtype, size=steps).unstack(m_hs)

        def backward(t, dh_next):
            z, r, n = tf.split(acts_ta.read(t), 3, axis=-1)  # (B, U) each
            h_prev = h_prev_ta.read(t)
            dh = dhs_ta.read(t) + dh_next
            da_h = dh * (1.0 - z) * (1.0 - n * n)  # before tanh
            da_z = dh * (h_prev - n) * z * (1.0 - z)
            da_r = da_h * m_ta.read(t) * r * (1.0 - r)
            dx = tf.concat([da_z, da_r, da_h], axis=-1)  # (B, 3U) for xp
            dm = tf.concat([da_z, da_r, da_h * r], axis=-1)  # (B, 3U) for m
            dh_prev = dh * z + tf.matmul(dm, kernel_t)
            return (dh_prev,), (dx, dm)

        (dh0,), (dx, dm) = _loop(
            backward, steps, (tf.zeros_like(h0),), [gates, gates], reverse=True
        )
        dm_flat = _flat(dm)
        d_kernel = tf.matmul(_flat(_previous(h0, hs)), dm_flat, transpose_a=True)
        return dx, d_kernel, tf.reduce_sum(dm_flat, axis=0), dh0

    return hs, grad


# --- the layers ---------------------------------------------------------------


def _can_fuse(layer, mask, training) -> bool:
    """True when the fused loop computes exactly what the stock layer would."""
    cell = layer.cell
    return (
        keras.backend.backend() == "tensorflow"
        and mask is None
        and not layer.go_backwards
        and not layer.unroll
        and not (training and getattr(cell, "recurrent_dropout", 0.0))
        and cell.use_bias
        and cell.activation is keras.activations.tanh
        and getattr(cell, "recurrent_activation", keras.activations.sigmoid)
        is keras.activations.sigmoid
    )


def _input_projection(layer, sequences, training, bias):
    """x_t W + b for every step in one matmul, time first: (T, B, G)."""
    cell = layer.cell
    if training and cell.dropout:
        # The cell's own dropout mask: one per sequence, shared by all steps.
        mask = cell.get_dropout_mask(sequences[:, 0, :])
        mask = mask[0] if isinstance(mask, (list, tuple)) else mask
        sequences = sequences * mask[:, None, :]
    # Time first before the product, on the narrow inputs (E wide) rather
    # than the gates (G wide), and as one 2-D matmul over the T*B rows: a
    # 3-D matmul by a 2-D kernel runs, and is differentiated, per sequence.
    xs = tf.transpose(sequences, (1, 0, 2))  # (T, B, E)
    steps, batch = tf.shape(xs)[0], tf.shape(xs)[1]
    flat = tf.reshape(xs, (-1, tf.shape(xs)[2]))  # (T*B, E)
    kernel = tf.cast(cell.kernel, flat.dtype)
    xp = tf.matmul(flat, kernel) + bias  # (T*B, G)
    return tf.reshape(xp, (steps, batch, -1))


class _FullConfig:
    """Keras's recurrent layers take `seed` (for dropout) and `use_cudnn` but
    leave them out of `get_config`; keep them, so a reloaded layer is the
    same layer. (The fused loop itself never calls cuDNN.)"""

    @property
    def seed(self):
        return self.cell.seed

    def get_config(self):
        config = {**super().get_config(), "seed": self.cell.seed}
        if hasattr(self, "use_cudnn"):  # LSTM and GRU
            config["use_cudnn"] = self.use_cudnn
        return config


def _outputs(hs, states):
    """(last output, all outputs (B, T, U), final states), as `inner_loop`
    returns them."""
    outputs = tf.transpose(hs, (1, 0, 2))  # (B, T, U)
    return hs[-1], outputs, states


@keras.saving.register_keras_serializable(package="zoo")
class FusedSimpleRNN(_FullConfig, keras.layers.SimpleRNN):
    """`keras.layers.SimpleRNN` with one input matmul and a hand-written
    backward pass (see the module docstring). Same arguments and weights.

    Example:
        >>> layer = FusedSimpleRNN(32, return_sequences=True)
        >>> layer(np.zeros((2, 5, 8), "float32")).shape  # (B, T, units)
        (2, 5, 32)
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not _can_fuse(self, mask, training):
            return super().inner_loop(sequences, initial_state, mask, training)
        h0 = (
            initial_state[0]
            if isinstance(initial_state, (list, tuple))
            else initial_state
        )
        xp = _input_projection(self, sequences, training, self.cell.bias)
        hs = simple_rnn_sequence(
            xp, tf.convert_to_tensor(self.cell.recurrent_kernel), h0
        )
        return _outputs(hs, [hs[-1]])


@keras.saving.register_keras_serializable(package="zoo")
class FusedLSTM(_FullConfig, keras.layers.LSTM):
    """`keras.layers.LSTM` with one input matmul and a hand-written backward
    pass (see the module docstring). Same arguments and weights.

    Example:
        >>> layer = FusedLSTM(32, return_sequences=True)
        >>> layer(np.zeros((2, 5, 8), "float32")).shape  # (B, T, units)
        (2, 5, 32)
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not _can_fuse(self, mask, training):
            return super().inner_loop(sequences, initial_state, mask, training)
        h0, c0 = initial_state
        xp = _input_projection(self, sequences, training, self.cell.bias)
        hs, cs = lstm_sequence(
            xp, tf.convert_to_tensor(self.cell.recurrent_kernel), h0, c0
        )
        return _outputs(hs, [hs[-1], cs[-1]])


@keras.saving.register_keras_serializable(package="zoo")
class FusedGRU(_FullConfig, keras.layers.GRU):
    """`keras.layers.GRU` (``reset_after=True``) with one input matmul and a
    hand-written backward pass (see the module docstring). Same arguments and
    weights.

    Example:
        >>> layer = FusedGRU(32, return_sequences=True)
        >>> layer(np.zeros((2, 5, 8), "float32")).shape  # (B, T, units)
        (2, 5, 32)
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not (_can_fuse(self, mask, training) and self.cell.reset_after):
            return super().inner_loop(sequences, initial_state, mask, training)
        h0 = (
            initial_state[0]
            if isinstance(initial_state, (list, tuple))
            else initial_state
        )
        bias = tf.convert_to_tensor(self.cell.bias)  # (2, 3U): input, recurrent
        xp = _input_projection(self, sequences, training, bias[0])
        hs = gru_sequence(
            xp, tf.convert_to_tensor(self.cell.recurrent_kernel), bias[1], h0
        )
        return _outputs(hs, [hs[-1]])
