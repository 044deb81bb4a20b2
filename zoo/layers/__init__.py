"""Custom Keras layers of zoo (each registered as ``zoo>Name`` for saving)."""

from zoo.layers.attention import (
    AdditiveAttention,
    DotProductAttention,
    LuongAttention,
    MultiHeadAttention,
    masked_softmax,
    scaled_dot_product_attention,
    wrong_attention_004,
)
from zoo.layers.cells import ElmanCell
from zoo.layers.embedding import TiedEmbedding, TokenAndPositionEmbedding
from zoo.layers.fused import FusedGRU, FusedLSTM, FusedSimpleRNN
from zoo.layers.initializers import clone_initializer
from zoo.layers.masks import PaddingMask, attention_mask, causal_mask, padding_mask
from zoo.layers.positional import SinusoidalPositionalEncoding
from zoo.layers.transformer import TransformerDecoderBlock, TransformerEncoderBlock

__all__ = [
    "ElmanCell",
    "FusedGRU",
    "FusedLSTM",
    "FusedSimpleRNN",
    "AdditiveAttention",
    "DotProductAttention",
    "LuongAttention",
    "MultiHeadAttention",
    "PaddingMask",
    "SinusoidalPositionalEncoding",
    "TiedEmbedding",
    "TokenAndPositionEmbedding",
    "TransformerDecoderBlock",
    "TransformerEncoderBlock",
    "attention_mask",
    "causal_mask",
    "clone_initializer",
    "masked_softmax",
    "padding_mask",
    "scaled_dot_product_attention",
    "wrong_attention_004",
]
