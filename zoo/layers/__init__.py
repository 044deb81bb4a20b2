"""Custom Keras layers of zoo (each registered as ``zoo>Name`` for saving)."""

from zoo.layers.attention import (
    AdditiveAttention,
    DotProductAttention,
    MultiHeadAttention,
    masked_softmax,
    scaled_dot_product_attention,
    wrong_attention_004,
)
from zoo.layers.cells import ElmanCell
from zoo.layers.fused import FusedGRU, FusedLSTM, FusedSimpleRNN
from zoo.layers.masks import attention_mask, causal_mask, padding_mask
from zoo.layers.positional import (
    SinusoidalPositionalEncoding,
    TokenAndPositionEmbedding,
)
from zoo.layers.transformer import TransformerDecoderBlock, TransformerEncoderBlock

__all__ = [
    "ElmanCell",
    "FusedGRU",
    "FusedLSTM",
    "FusedSimpleRNN",
    "AdditiveAttention",
    "DotProductAttention",
    "MultiHeadAttention",
    "SinusoidalPositionalEncoding",
    "TokenAndPositionEmbedding",
    "TransformerDecoderBlock",
    "TransformerEncoderBlock",
    "attention_mask",
    "causal_mask",
    "masked_softmax",
    "padding_mask",
    "scaled_dot_product_attention",
    "wrong_attention_004",
]
