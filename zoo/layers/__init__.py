"""Custom Keras layers of zoo (each registered as ``zoo>Name`` for saving)."""

from zoo.layers.cells import ElmanCell

__all__ = ["ElmanCell"]
