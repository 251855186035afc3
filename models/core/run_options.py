"""Options for users with GPUs: mixed precision and a tf.distribute strategy."""
from __future__ import annotations

import contextlib

import keras


def set_precision(mixed: bool) -> None:
    """float16 compute with float32 weights on GPUs (the output layers keep float32); on CPU it
    is slower, so it is off by default."""
    keras.mixed_precision.set_global_policy("mixed_float16" if mixed else "float32")


def distribution_scope(strategy: str):
    """'none' (one device) or 'mirrored' (tf.distribute.MirroredStrategy over every visible GPU):
    build and compile models inside the returned context."""
    import tensorflow as tf

    if strategy == "none":
        return contextlib.nullcontext()
    if strategy == "mirrored":
        return tf.distribute.MirroredStrategy().scope()
    from challenge.errors import DataError

    raise DataError(f"strategy must be 'none' or 'mirrored', not {strategy!r}.")
