"""PyTorch eager references of zoo's language models, for benchmarks only.

This module is not part of zoo, and nothing under ``zoo/`` imports it: PyTorch
is a benchmark-only dependency. `benchmarks/speed.py` uses it to ask "how fast
is the same model written the way a PyTorch engineer writes it?":

* `build` makes the architectures of zoo's `build_simple_rnn`, `build_lstm`,
  `build_gru` and `build_gpt`, layer for layer: the same shapes, parameter
  counts, activations, norm placement, tied output and initialisers, in
  float32 on the CPU, run eagerly (no ``torch.compile``).
* `train_throughput`, `train_to_loss`, `generate_throughput` and
  `naive_generate_throughput` time them with zoo's training set-up (Adam,
  learning rate 2e-3, gradients clipped to a global norm of 1.0,
  cross-entropy on logits ignoring pad id 0) and zoo's way of generating.

`check_param_counts` and ``tests/test_benchmarks_reference.py`` check that
every reference has exactly the trainable parameters of its zoo model and,
with weights copied from Keras (`copy_keras_weights`), the same logits.

Shape letters: B batch, T length, E embedding, C model width, H heads,
D head size, V vocabulary, S_max the context length.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own idiom)
from torch import nn

FAMILIES = ("simple_rnn", "lstm", "gru", "gpt")
RECURRENT = {"simple_rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
PAD_ID = 0  # zoo.text.PAD_ID; not imported, so torch and zoo never meet here
FIRST_TOKEN_ID = 5  # ids below are zoo's reserved ids (PAD, UNK, BOS, EOS, MASK)

# Keras's defaults, which zoo's models use, so both start from the same place.
KERAS_EMBEDDING_RANGE = 0.05  # keras.layers.Embedding: uniform(-0.05, 0.05)
GPT_INIT_STD = 0.02  # build_gpt: RandomNormal(stddev=0.02), GPT-2's
LEARNING_RATE = 2e-3  # zoo.training.make_optimizer
ADAM_EPSILON = 1e-7  # keras.optimizers.Adam (PyTorch's default is 1e-8)
GLOBAL_CLIPNORM = 1.0  # zoo.training.make_optimizer


# --- models ------------------------------------------------------------------------


class RecurrentLM(nn.Module):
    """Embedding -> num_layers x RNN/LSTM/GRU -> Linear: zoo's recurrent models.

    Mirrors `zoo.models.rnn.build_simple_rnn`, `build_lstm` and `build_gru`
    (no dropout, ``output="sequence"``). Keras's SimpleRNN and LSTM have one
    bias vector per layer where PyTorch has two (``bias_ih + bias_hh``, which
    only ever appear as their sum), so ``bias_hh`` is frozen at zero: the
    trainable parameters, and the maths, are Keras's. Keras's GRU
    (``reset_after=True``) has both biases, as PyTorch's does. Initialisers
    are Keras's: embedding uniform(-0.05, 0.05), kernels Glorot uniform,
    recurrent kernels orthogonal, biases zero, and an LSTM forget-gate bias
    of one (``unit_forget_bias``).

    Args:
        kind: "simple_rnn" (tanh), "lstm" or "gru".
        vocab_size: V.
        embedding_dim: E.
        units: hidden size of every layer.
        num_layers: stacked recurrent layers.

    Call arguments:
        ids: (B, T) int64 ids.
        state: None (zeros), or the state returned by the previous call.

    Returns:
        (B, T, V) logits and the new state (h, or (h, c) for an LSTM).
    """

    def __init__(self, kind, vocab_size, *, embedding_dim, units, num_layers):
        super().__init__()
        self.kind = kind
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.rnn = RECURRENT[kind](
            embedding_dim, units, num_layers=num_layers, batch_first=True
        )
        self.logits = nn.Linear(units, vocab_size)
        self._init_like_keras(units, num_layers)

    @torch.no_grad()
    def _init_like_keras(self, units, num_layers):
        r = KERAS_EMBEDDING_RANGE
        nn.init.uniform_(self.embedding.weight, -r, r)
        for i in range(num_layers):
            nn.init.xavier_uniform_(getattr(self.rnn, f"weight_ih_l{i}"))
            nn.init.orthogonal_(getattr(self.rnn, f"weight_hh_l{i}"))
            nn.init.zeros_(getattr(self.rnn, f"bias_ih_l{i}"))
            bias_hh = getattr(self.rnn, f"bias_hh_l{i}")
            nn.init.zeros_(bias_hh)
            if self.kind != "gru":
                bias_hh.requires_grad_(False)  # Keras has one bias, not two
            if self.kind == "lstm":  # gates i, f, g, o: f is the second block
                getattr(self.rnn, f"bias_ih_l{i}")[units : 2 * units] = 1.0
        nn.init.xavier_uniform_(self.logits.weight)
        nn.init.zeros_(self.logits.bias)

    def forward(self, ids, state=None):
        x = self.embedding(ids)  # (B, T, E)
        h, state = self.rnn(x, state)  # (B, T, units)
        return self.logits(h), state  # (B, T, V)


class DecoderBlock(nn.Module):
    """Pre-norm GPT-2 block: x + Attn(LN(x)), then x + FFN(LN(x)).

    Mirrors `zoo.layers.transformer.TransformerDecoderBlock` as `build_gpt`
    configures it: ``norm_first=True``, no cross-attention, LayerNorm epsilon
    1e-5, exact (erf) GELU, biases on every projection, no dropout. The
    query, key and value projections are one fused Linear (nanoGPT's
    ``c_attn``); it has the parameters of zoo's three, and
    `copy_keras_weights` fills it from them. Attention is
    `torch.nn.functional.scaled_dot_product_attention`.

    Call arguments:
        x: (B, T, C).
        cache: None, or this block's (2, B, H, S_max, D) keys and values,
            written in place at positions ``position .. position + T - 1``.
        position: the position of x's first token.

    Returns:
        (B, T, C).
    """

    def __init__(self, width, num_heads, ff_dim):
        super().__init__()
        self.num_heads = num_heads
        self.attention_norm = nn.LayerNorm(width, eps=1e-5)
        self.qkv = nn.Linear(width, 3 * width)
        self.attention_output = nn.Linear(width, width)
        self.feed_forward_norm = nn.LayerNorm(width, eps=1e-5)
        self.feed_forward_inner = nn.Linear(width, ff_dim)
        self.feed_forward_output = nn.Linear(ff_dim, width)

    def forward(self, x, cache=None, position=0):
        B, T, C = x.shape
        H = self.num_heads
        q, k, v = self.qkv(self.attention_norm(x)).split(C, dim=2)  # 3 x (B, T, C)
        q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))
        causal = True  # (B, H, T, D) each
        if cache is not None:
            cache[0, :, :, position : position + T] = k
            cache[1, :, :, position : position + T] = v
            k = cache[0, :, :, : position + T]  # (B, H, position + T, D)
            v = cache[1, :, :, : position + T]
            # One new token may see every cached one; a block of new tokens is
            # read only from position 0, where the plain causal mask is right.
            causal = T > 1
            if causal and position:
                raise ValueError("a cached call of T > 1 tokens must start at 0")
        y = F.scaled_dot_product_attention(q, k, v, is_causal=causal)  # (B,H,T,D)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C)
        x = x + self.attention_output(y)
        h = F.gelu(self.feed_forward_inner(self.feed_forward_norm(x)))  # (B, T, F)
        return x + self.feed_forward_output(h)  # (B, T, C)


class GPT(nn.Module):
    """Token + learned position embedding -> L blocks -> LayerNorm -> h W_E^T.

    Mirrors `zoo.models.gpt.build_gpt` (``positional="learned"``,
    ``tie_embeddings=True``, no dropout): the output layer is the token
    embedding run backwards, with no bias. Every weight starts as in zoo:
    normal(0, 0.02) for embeddings and kernels, zero biases, LayerNorms at
    (1, 0).

    Args:
        vocab_size: V.
        width: C.
        num_heads: H.
        num_layers: L.
        ff_dim: hidden width of the feed-forward networks.
        context: S_max, the most positions (the position table's size).

    Call arguments:
        ids: (B, T) int64 ids.
        cache: None, or the list `new_cache` returned, filled so far.
        position: the position of the first id (with a cache).

    Returns:
        (B, T, V) logits, and ``cache`` (filled in place).
    """

    def __init__(self, vocab_size, *, width, num_heads, num_layers, ff_dim, context):
        super().__init__()
        if width % num_heads:
            raise ValueError(f"width {width} is not divisible by {num_heads} heads")
        self.context = context
        self.num_heads = num_heads
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.position_embedding = nn.Embedding(context, width)
        self.blocks = nn.ModuleList(
            DecoderBlock(width, num_heads, ff_dim) for _ in range(num_layers)
        )
        self.final_norm = nn.LayerNorm(width, eps=1e-5)
        self._init_like_zoo()

    @torch.no_grad()
    def _init_like_zoo(self):
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=GPT_INIT_STD)
            if isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)

    def new_cache(self, batch):
        """One zero (2, B, H, S_max, D) key/value cache per block."""
        width = self.token_embedding.embedding_dim
        shape = (2, batch, self.num_heads, self.context, width // self.num_heads)
        return [torch.zeros(shape) for _ in self.blocks]

    def forward(self, ids, cache=None, position=0):
        T = ids.shape[1]
        if position + T > self.context:
            raise ValueError(
                f"{T} tokens from position {position} exceed the context {self.context}"
            )
        positions = torch.arange(position, position + T)  # (T,)
        x = self.token_embedding(ids) + self.position_embedding(positions)  # (B,T,C)
        for i, block in enumerate(self.blocks):
            x = block(x, None if cache is None else cache[i], position)
        x = self.final_norm(x)  # (B, T, C)
        return F.linear(x, self.token_embedding.weight), cache  # h W_E^T: (B, T, V)


def _config(family, **cfg):
    """Fill a family's defaults: zoo's laptop sizes (see `build`)."""
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    full = {
        "embedding_dim": 128,
        "units": 256,
        "num_layers": None,
        "num_heads": 4,
        "width": 128,
        "ff_dim": None,
        "context": 64,
    }
    unknown = set(cfg) - set(full)
    if unknown:
        raise TypeError(f"unknown configuration {sorted(unknown)}")
    full.update(cfg)
    if full["num_layers"] is None:
        full["num_layers"] = 4 if family == "gpt" else 1
    if full["ff_dim"] is None:
        full["ff_dim"] = 4 * full["width"]
    return full


def build(
    family: str,
    vocab_size: int,
    *,
    embedding_dim: int = 128,
    units: int = 256,
    num_layers: int | None = None,
    num_heads: int = 4,
    width: int = 128,
    ff_dim: int | None = None,
    context: int = 64,
    seed: int = 0,
) -> nn.Module:
    """The PyTorch reference of one zoo model family, float32, on the CPU.

    Defaults from: zoo's factories (`build_lstm` & co: embedding 128, 256
    units, one layer; `build_gpt`: the "laptop" preset).

    Args:
        family: "simple_rnn", "lstm", "gru" or "gpt".
        vocab_size: V.
        embedding_dim: E (recurrent models).
        units: hidden size (recurrent models).
        num_layers: recurrent layers (default 1) or GPT blocks (default 4).
        num_heads: H (GPT).
        width: C, the GPT's model width.
        ff_dim: the GPT's feed-forward width (default 4 C, zoo's 512).
        context: the GPT's context length (position table, cache size).
        seed: seeds the initial weights.

    Returns:
        A `RecurrentLM` or a `GPT`; ``model(ids)`` returns ``(logits, state)``.

    Example:
        >>> model = build("lstm", 65)
        >>> num_params(model) == zoo_model("lstm", 65).count_params()
        True
    """
    c = _config(
        family,
        embedding_dim=embedding_dim,
        units=units,
        num_layers=num_layers,
        num_heads=num_heads,
        width=width,
        ff_dim=ff_dim,
        context=context,
    )
    torch.manual_seed(seed)
    if family == "gpt":
        model = GPT(
            vocab_size,
            width=c["width"],
            num_heads=c["num_heads"],
            num_layers=c["num_layers"],
            ff_dim=c["ff_dim"],
            context=c["context"],
        )
    else:
        model = RecurrentLM(
            family,
            vocab_size,
            embedding_dim=c["embedding_dim"],
            units=c["units"],
            num_layers=c["num_layers"],
        )
    return model.float()


def num_params(module: nn.Module) -> int:
    """The number of trainable parameters (what Keras's count_params() counts)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# --- the zoo side: the same configuration, weights copied ------------------------


def zoo_model(family: str, vocab_size: int, **cfg):
    """The zoo model (Keras, not compiled) that `build` mirrors, same sizes.

    Args:
        family: as in `build`.
        vocab_size: V.
        **cfg: `build`'s size arguments (not ``seed``).

    Returns:
        A `keras.Model` from `zoo.models.rnn` or `zoo.models.gpt`.
    """
    from zoo.models.gpt import build_gpt
    from zoo.models.rnn import build_gru, build_lstm, build_simple_rnn

    c = _config(family, **cfg)
    if family == "gpt":
        return build_gpt(
            vocab_size,
            context_length=c["context"],
            embedding_dim=c["width"],
            num_heads=c["num_heads"],
            num_layers=c["num_layers"],
            ff_dim=c["ff_dim"],
            compile=False,
        )
    factory = {"simple_rnn": build_simple_rnn, "lstm": build_lstm, "gru": build_gru}
    return factory[family](
        vocab_size,
        embedding_dim=c["embedding_dim"],
        units=c["units"],
        num_layers=c["num_layers"],
        compile=False,
    )


def check_param_counts(vocab_size: int = 65, **cfg) -> dict[str, dict[str, int]]:
    """Check that every reference has exactly its zoo model's parameters.

    Args:
        vocab_size: V.
        **cfg: `build`'s size arguments (defaults: the benchmark's sizes).

    Returns:
        {family: {"torch": n, "zoo": n}} for every family.

    Raises:
        AssertionError: naming the families whose counts differ.
    """
    counts = {
        family: {
            "torch": num_params(build(family, vocab_size, **cfg)),
            "zoo": int(zoo_model(family, vocab_size, **cfg).count_params()),
        }
        for family in FAMILIES
    }
    wrong = {f: c for f, c in counts.items() if c["torch"] != c["zoo"]}
    if wrong:
        raise AssertionError(f"parameter counts differ from zoo's: {wrong}")
    return counts


def _to_torch(array, transpose=False):
    t = torch.from_numpy(np.array(array, dtype=np.float32))
    return t.T.contiguous() if transpose else t


@torch.no_grad()
def copy_keras_weights(module: nn.Module, model) -> nn.Module:
    """Copy the weights of a zoo model (from `zoo_model`) into its reference.

    Keras kernels are (in, out), PyTorch weights (out, in). Keras's GRU orders
    its gates (z, r, h), PyTorch's (r, z, n); its bias is (2, 3 units): input
    and recurrent. The GPT's query, key and value kernels, (C, H, D) each,
    become the rows of the fused ``qkv`` weight in that order.

    Args:
        module: from `build`, with the same family and sizes as ``model``.
        model: the zoo `keras.Model`.

    Returns:
        ``module``, now computing the same logits as ``model``.
    """

    def numpy(variable):
        return np.asarray(variable.numpy(), dtype=np.float32)

    if isinstance(module, GPT):
        embedding = model.get_layer("embedding")
        module.token_embedding.weight.copy_(
            _to_torch(numpy(embedding.token_embedding.embeddings))
        )
        module.position_embedding.weight.copy_(
            _to_torch(numpy(embedding.position_embedding.embeddings))
        )
        for i, block in enumerate(module.blocks):
            zoo_block = model.get_layer(f"block_{i + 1}")
            attention = zoo_block.self_attention
            width = block.qkv.in_features
            qkv = (attention.query_dense, attention.key_dense, attention.value_dense)
            kernels = [numpy(d.kernel).reshape(width, width) for d in qkv]  # (C, H D)
            biases = [numpy(d.bias).reshape(width) for d in qkv]  # (H D,)
            block.qkv.weight.copy_(_to_torch(np.concatenate(kernels, 1), True))
            block.qkv.bias.copy_(_to_torch(np.concatenate(biases)))
            out = attention.output_dense
            block.attention_output.weight.copy_(
                _to_torch(numpy(out.kernel).reshape(width, width), True)
            )
            block.attention_output.bias.copy_(_to_torch(numpy(out.bias)))
            for ours, theirs in (
                (block.attention_norm, zoo_block.self_attention_norm),
                (block.feed_forward_norm, zoo_block.feed_forward_norm),
            ):
                ours.weight.copy_(_to_torch(numpy(theirs.gamma)))
                ours.bias.copy_(_to_torch(numpy(theirs.beta)))
            for ours, theirs in (
                (block.feed_forward_inner, zoo_block.feed_forward_inner),
                (block.feed_forward_output, zoo_block.feed_forward_output),
            ):
                ours.weight.copy_(_to_torch(numpy(theirs.kernel), True))
                ours.bias.copy_(_to_torch(numpy(theirs.bias)))
        final = model.get_layer("final_norm")
        module.final_norm.weight.copy_(_to_torch(numpy(final.gamma)))
        module.final_norm.bias.copy_(_to_torch(numpy(final.beta)))
        return module

    module.embedding.weight.copy_(
        _to_torch(numpy(model.get_layer("embedding").embeddings))
    )
    for i in range(module.rnn.num_layers):
        kernel, recurrent, bias = (
            numpy(w) for w in model.get_layer(f"{module.kind}_{i + 1}").weights
        )
        bias_ih, bias_hh = (bias[0], bias[1]) if bias.ndim == 2 else (bias, None)
        if module.kind == "gru":  # Keras (z, r, h) -> PyTorch (r, z, n)

            def reorder(w):
                z, r, h = np.split(w, 3, axis=-1)
                return np.concatenate([r, z, h], axis=-1)

            kernel, recurrent = reorder(kernel), reorder(recurrent)
            bias_ih, bias_hh = reorder(bias_ih), reorder(bias_hh)
        getattr(module.rnn, f"weight_ih_l{i}").copy_(_to_torch(kernel, True))
        getattr(module.rnn, f"weight_hh_l{i}").copy_(_to_torch(recurrent, True))
        getattr(module.rnn, f"bias_ih_l{i}").copy_(_to_torch(bias_ih))
        hh = getattr(module.rnn, f"bias_hh_l{i}")
        hh.copy_(torch.zeros_like(hh) if bias_hh is None else _to_torch(bias_hh))
    logits = model.get_layer("logits")
    module.logits.weight.copy_(_to_torch(numpy(logits.kernel), True))
    module.logits.bias.copy_(_to_torch(numpy(logits.bias)))
    return module


# --- training ------------------------------------------------------------------------


def _use_cores(threads):
    """PyTorch's intra-op threads: every core by default."""
    torch.set_num_threads(threads or os.cpu_count() or 1)


def _tensor(ids):
    return torch.from_numpy(np.asarray(ids, dtype=np.int64))


def _loss(model, x, y, reduction="mean"):
    """Cross-entropy on logits over the real (non-pad) targets."""
    logits, _ = model(x)  # (B, T, V)
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]),  # (B T, V)
        y.reshape(-1),  # (B T,)
        ignore_index=PAD_ID,
        reduction=reduction,
    )


def _trainer(model, autocast: str | None = None):
    """zoo's optimiser: Adam (Keras's epsilon), clipped to a global norm of 1.
    With ``autocast="bf16"`` the forward pass runs under CPU autocast in
    bfloat16 (the weights, the gradients and the update stay float32; the
    cross-entropy is one of the ops autocast keeps in float32)."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=LEARNING_RATE, eps=ADAM_EPSILON)
    if autocast not in (None, "bf16"):
        raise ValueError(f"autocast must be None or 'bf16', not {autocast!r}")

    def step(x, y):
        optimizer.zero_grad(set_to_none=True)
        if autocast:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = _loss(model, x, y)
        else:
            loss = _loss(model, x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, GLOBAL_CLIPNORM)
        optimizer.step()
        return loss

    return step


def train_throughput(
    family: str,
    vocab_size: int,
    x: np.ndarray,
    y: np.ndarray,
    *,
    warmup: int = 3,
    repeats: int = 20,
    seed: int = 0,
    threads: int | None = None,
    autocast: str | None = None,
    **cfg,
) -> dict:
    """Time training steps (forward, backward, clip, Adam) on one batch.

    Every step is timed on its own with `time.perf_counter`; the first
    ``warmup`` steps are not in ``step_seconds``.

    Args:
        family: as in `build`.
        vocab_size: V.
        x: (B, T) int input ids.
        y: (B, T) int target ids (pad id 0 is ignored by the loss).
        warmup: untimed steps first.
        repeats: timed steps after them.
        seed: seeds the initial weights.
        threads: PyTorch's intra-op threads (default: every core).
        autocast: "bf16": the forward pass under bfloat16 CPU autocast.
        **cfg: `build`'s size arguments.

    Returns:
        {"step_seconds": [...], "median_step_s", "tokens_per_s" (B T / the
        median), "first_step_s" (the very first step, warm-up included)}.
    """
    _use_cores(threads)
    model = build(family, vocab_size, seed=seed, **cfg).train()
    step = _trainer(model, autocast)
    x, y = _tensor(x), _tensor(y)
    times = []
    for _ in range(warmup + repeats):
        start = time.perf_counter()
        step(x, y)
        times.append(time.perf_counter() - start)
    timed = times[warmup:]
    median = statistics.median(timed)
    return {
        "step_seconds": timed,
        "median_step_s": median,
        "tokens_per_s": x.numel() / median,
        "first_step_s": times[0],
    }


@torch.inference_mode()
def _mean_loss(model, valid):
    """Token-weighted mean cross-entropy over every real target in ``valid``."""
    model.eval()
    total, count = 0.0, 0
    for x, y in valid:
        x, y = _tensor(x), _tensor(y)
        total += float(_loss(model, x, y, reduction="sum"))
        count += int((y != PAD_ID).sum())
    model.train()
    return total / max(count, 1)


def _batch_stream(batches):
    """Yield batches forever when ``batches`` can be restarted (a callable or a
    list); otherwise until the iterator ends."""
    while True:
        source = batches() if callable(batches) else batches
        restartable = callable(batches) or iter(source) is not source
        empty = True
        for batch in source:
            empty = False
            yield batch
        if empty or not restartable:
            return


def train_to_loss(
    family: str,
    vocab_size: int,
    batches,
    valid,
    *,
    target_loss: float,
    max_seconds: float,
    eval_every: int = 25,
    seed: int = 0,
    threads: int | None = None,
    **cfg,
) -> dict:
    """Train until the held-out loss reaches ``target_loss``; time it.

    The wall clock starts at the first training step (the model is built
    before) and **includes evaluation**: every ``eval_every`` steps the mean
    loss over ``valid`` is computed and the clock keeps running. Training
    stops at the first evaluation at or below ``target_loss``, or at the first
    step that ends after ``max_seconds`` (then it is evaluated once more, so
    ``val_loss`` is that of the final weights).

    Args:
        family: as in `build`.
        vocab_size: V.
        batches: (x, y) pairs of (B, T) int arrays: an iterator, a list (cycled)
            or a callable returning an iterable (called again when it ends).
        valid: a list of (x, y) held-out batches.
        target_loss: mean cross-entropy (nats per real token) to reach.
        max_seconds: give up after this long.
        eval_every: training steps between evaluations.
        seed: seeds the initial weights.
        threads: PyTorch's intra-op threads (default: every core).
        **cfg: `build`'s size arguments.

    Returns:
        {"seconds", "steps", "reached" (bool), "val_loss" (the last one),
        "curve": [(seconds, steps, val_loss), ...]}.
    """
    _use_cores(threads)
    model = build(family, vocab_size, seed=seed, **cfg).train()
    step = _trainer(model)
    curve, steps, reached, val_loss = [], 0, False, float("nan")
    start = time.perf_counter()
    for x, y in _batch_stream(batches):
        step(_tensor(x), _tensor(y))
        steps += 1
        out_of_time = time.perf_counter() - start >= max_seconds
        if steps % eval_every == 0 or out_of_time:
            val_loss = _mean_loss(model, valid)
            curve.append((time.perf_counter() - start, steps, val_loss))
            reached = val_loss <= target_loss
            if reached or out_of_time:
                break
    if not curve or curve[-1][1] != steps:  # the batches ran out between evaluations
        val_loss = _mean_loss(model, valid)
        curve.append((time.perf_counter() - start, steps, val_loss))
        reached = val_loss <= target_loss
    return {
        "seconds": curve[-1][0],
        "steps": steps,
        "reached": reached,
        "val_loss": val_loss,
        "curve": curve,
    }


def nanogpt_learning_rate(it, *, lr, min_lr, warmup, decay_iters):
    """nanoGPT's ``get_lr``: linear warm-up, then cosine from lr to min_lr."""
    if it < warmup:
        return lr * (it + 1) / (warmup + 1)
    if it > decay_iters:
        return min_lr
    ratio = (it - warmup) / (decay_iters - warmup)
    return min_lr + 0.5 * (1.0 + np.cos(np.pi * ratio)) * (lr - min_lr)


def train_nanogpt_recipe(
    vocab_size: int,
    train_ids,
    valid,
    *,
    iters: int = 2000,
    batch_size: int = 12,
    lr: float = 1e-3,
    min_lr: float = 1e-4,
    warmup: int = 100,
    weight_decay: float = 0.1,
    beta2: float = 0.99,
    grad_clip: float = 1.0,
    seed: int = 0,
    threads: int | None = None,
    **cfg,
) -> dict:
    """Train the GPT reference with nanoGPT's own training loop; time it.

    nanoGPT's ``train.py`` as its CPU recipe runs it: every step a batch of
    `batch_size` windows of the context length at random offsets of the
    training ids, AdamW (betas 0.9 and `beta2`) with weight decay on every
    tensor of two or more dimensions (matrices and embeddings; biases and
    norms none), the learning rate of `nanogpt_learning_rate`, the global
    gradient norm clipped to `grad_clip`, float32, eager (``compile=False``).
    The model is zoo's GPT layer for layer (`GPT`), not nanoGPT's own, which
    has no biases (``bias=False``).

    The clock starts at the first step and stops after the last; the held-out
    loss is computed once, on the final weights, over ``valid``.

    Returns:
        {"seconds", "steps", "val_loss", "train_loss" (the last step's)}.
    """
    _use_cores(threads)
    model = build("gpt", vocab_size, seed=seed, **cfg).train()
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=lr, betas=(0.9, beta2))
    data = torch.from_numpy(np.asarray(train_ids, dtype=np.int64))
    block = cfg.get("context", 64)
    generator = torch.Generator().manual_seed(seed)
    schedule = {"lr": lr, "min_lr": min_lr, "warmup": warmup, "decay_iters": iters}
    start = time.perf_counter()
    for it in range(iters):
        for group in optimizer.param_groups:
            group["lr"] = nanogpt_learning_rate(it, **schedule)
        offsets = torch.randint(len(data) - block, (batch_size,), generator=generator)
        x = torch.stack([data[i : i + block] for i in offsets])
        y = torch.stack([data[i + 1 : i + 1 + block] for i in offsets])
        optimizer.zero_grad(set_to_none=True)
        loss = _loss(model, x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, grad_clip)
        optimizer.step()
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "steps": iters,
        "val_loss": _mean_loss(model, valid),
        "train_loss": loss.item(),
    }


# --- generation ----------------------------------------------------------------------


def _sample(logits, generator):
    """(B, V) logits -> (B, 1) ids drawn from their softmax."""
    return torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator)


def _generate_recurrent(model, prompt, new_tokens, generator):
    """Read the prompt in one call, then one cell step per new token."""
    logits, state = model(prompt)  # (B, P, V); h or (h, c)
    tokens = []
    for i in range(new_tokens):
        token = _sample(logits[:, -1], generator)  # (B, 1)
        tokens.append(token)
        if i < new_tokens - 1:
            logits, state = model(token, state)  # (B, 1, V)
    return torch.cat([prompt, *tokens], dim=1)  # (B, P + new_tokens)


def _generate_gpt(model, prompt, new_tokens, generator):
    """KV-cached decoding with zoo's sliding window (`zoo.generation`).

    Up to the context, one window: the prompt (its start cropped so that it
    and the new tokens fit) is read in one call, then one cached step per new
    token. Asked for ``context`` tokens or more, each window restarts from a
    fresh cache on the last ``context // 2`` tokens so far, re-reading them,
    and adds tokens until the context is full, as `zoo.generate` does.
    """
    S = model.context
    keep = max(1, S // 2) if new_tokens >= S else S - new_tokens
    out = prompt[:, -keep:]
    start = out.shape[1]
    while out.shape[1] - start < new_tokens:
        window = out[:, -keep:]  # (B, P)
        n = min(new_tokens - (out.shape[1] - start), S - window.shape[1])
        cache = model.new_cache(window.shape[0])
        logits, _ = model(window, cache, 0)  # (B, P, V)
        position, tokens = window.shape[1], []
        for i in range(n):
            token = _sample(logits[:, -1], generator)  # (B, 1)
            tokens.append(token)
            if i < n - 1:
                logits, _ = model(token, cache, position)  # (B, 1, V)
                position += 1
        out = torch.cat([out, *tokens], dim=1)
    return out  # (B, P' + new_tokens)


def _generate_naive(model, prompt, new_tokens, generator):
    """Re-run the model on the whole prefix (a GPT: its last ``context``
    tokens) for every new token: no state, no cache."""
    window = getattr(model, "context", None)
    out = prompt
    for _ in range(new_tokens):
        context = out if window is None else out[:, -window:]
        logits, _ = model(context)  # (B, T, V)
        out = torch.cat([out, _sample(logits[:, -1], generator)], dim=1)
    return out


def _time_generation(
    generate, family, vocab_size, batch, new_tokens, prompt_len, seed, threads, cfg
):
    """Build, warm up once, then the median of three timed runs of `generate`."""
    _use_cores(threads)
    model = build(family, vocab_size, seed=seed, **cfg).eval()
    generator = torch.Generator().manual_seed(seed)
    prompt = torch.randint(
        FIRST_TOKEN_ID, vocab_size, (batch, prompt_len), generator=generator
    )  # (B, P), no reserved ids
    runs = []
    with torch.inference_mode():
        for _ in range(4):  # a warm-up run, then three timed ones
            begin = time.perf_counter()
            out = generate(model, prompt, new_tokens, generator)
            runs.append(time.perf_counter() - begin)
    if out.shape[1] < new_tokens:
        raise RuntimeError(f"generated {out.shape[1]} tokens, asked {new_tokens}")
    seconds = statistics.median(runs[1:])
    return {"seconds": seconds, "tokens_per_s": batch * new_tokens / seconds}


def generate_throughput(
    family: str,
    vocab_size: int,
    *,
    batch: int,
    new_tokens: int = 500,
    prompt_len: int = 16,
    seed: int = 0,
    threads: int | None = None,
    **cfg,
) -> dict:
    """Time sampling with a state (recurrent) or a key/value cache (GPT).

    A recurrent model carries h (or (h, c)) and costs one cell step per new
    token; the GPT uses a cache and zoo's sliding window (see
    `_generate_gpt`). A prompt is read in one call (zoo reads it token by
    token). Tokens are drawn with `torch.multinomial` from the softmax of the
    logits, under `torch.inference_mode`.

    Args:
        family: as in `build`.
        vocab_size: V.
        batch: B, sequences generated together.
        new_tokens: tokens to generate per sequence.
        prompt_len: P, random prompt ids per sequence.
        seed: seeds the weights, the prompt and the sampling.
        threads: PyTorch's intra-op threads (default: every core).
        **cfg: `build`'s size arguments.

    Returns:
        {"seconds": the median of three runs after a warm-up run,
        "tokens_per_s": B new_tokens / seconds}.
    """
    generate = _generate_gpt if family == "gpt" else _generate_recurrent
    return _time_generation(
        generate, family, vocab_size, batch, new_tokens, prompt_len, seed, threads, cfg
    )


def naive_generate_throughput(
    family: str,
    vocab_size: int,
    *,
    batch: int,
    new_tokens: int = 500,
    prompt_len: int = 16,
    seed: int = 0,
    threads: int | None = None,
    **cfg,
) -> dict:
    """`generate_throughput` without state or cache: each new token re-runs the
    whole prefix (a recurrent model from its first token, the GPT on its last
    ``context`` tokens), as a loop over ``model(prefix)`` does.

    Args and Returns: as in `generate_throughput`.
    """
    return _time_generation(
        _generate_naive,
        family,
        vocab_size,
        batch,
        new_tokens,
        prompt_len,
        seed,
        threads,
        cfg,
    )
