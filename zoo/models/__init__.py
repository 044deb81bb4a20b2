"""Model factories, by family."""

from zoo.models.rnn import build_gru, build_lstm, build_simple_rnn

__all__ = ["build_gru", "build_lstm", "build_simple_rnn"]
