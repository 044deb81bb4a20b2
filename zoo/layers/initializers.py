"""Initializers for the children of zoo's layers: one fresh copy per child.

A layer that creates several sub-layers from one ``kernel_initializer``
argument must not hand them the same initializer object: a seeded
initializer gives the same numbers every time it is called, so two children
sharing it would start with identical weights (and Keras warns about it).
Every zoo layer therefore gives each child `clone_initializer(...)`.
"""

from __future__ import annotations

import keras


def clone_initializer(initializer):
    """A fresh copy of an initializer, so two children never share one.

    Args:
        initializer: an initializer instance, its name ("glorot_uniform") or
            its serialized config.

    Returns:
        A new `keras.initializers.Initializer` with the same config.

    Example:
        >>> init = keras.initializers.RandomNormal(stddev=0.02, seed=1)
        >>> copy = clone_initializer(init)
        >>> copy is init, copy.get_config() == init.get_config()
        (False, True)
    """
    initializer = keras.initializers.get(initializer)
    return initializer.__class__.from_config(initializer.get_config())
