"""Options for users with GPUs: mixed precision and a tf.distribute strategy."""
from __future__ import annotations

import contextlib
import functools

import keras


def set_precision(mixed: bool) -> None:
    """float16 compute with float32 weights on GPUs (the output layers keep float32); on CPU it
    is slower, so it is off by default."""
    keras.mixed_precision.set_global_policy("mixed_float16" if mixed else "float32")


def distribution_scope(strategy: str):
    """'none' (one device) or 'mirrored' (tf.distribute.MirroredStrategy over every visible GPU):
    build and compile models inside the returned context."""
    if strategy == "none":
        return contextlib.nullcontext()
    if strategy == "mirrored":
        return _mirrored().scope()
    from challenge.errors import DataError

    raise DataError(f"strategy must be 'none' or 'mirrored', not {strategy!r}.")


@functools.cache
def _mirrored():
    """One strategy per process: a transfer model's head (phase 1) and its fine-tuning model (phase 2)
    are built in separate scopes and must share the strategy their variables belong to."""
    import tensorflow as tf

    return tf.distribute.MirroredStrategy()
