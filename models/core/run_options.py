"""Options for users with GPUs: mixed precision and a tf.distribute strategy.

Every Keras model takes both as hyperparameters (GPU_OPTIONS in its defaults); on a CPU they can be
rehearsed with ESHOPPYE_GPU_REHEARSAL=1 (models/core/rehearsal.py)."""
from __future__ import annotations

import contextlib
import functools

import keras

from models.core import rehearsal

GPU_OPTIONS = {
    "mixed_precision": False,  # GPU: float16 compute, float32 weights, softmax and loss
    "strategy": "none",  # GPU: "mirrored" over every visible GPU (tf.distribute.MirroredStrategy)
}


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
        return mirrored_strategy().scope()
    from challenge.errors import DataError

    raise DataError(f"strategy must be 'none' or 'mirrored', not {strategy!r}.")


@functools.cache
def mirrored_strategy():
    """One strategy per process: a transfer model's head (phase 1) and its fine-tuning model (phase 2)
    are built in separate scopes and must share the strategy their variables belong to. Every
    visible GPU, or in rehearsal the logical CPUs (with no GPU, MirroredStrategy would take CPU:0 alone)."""
    import tensorflow as tf

    rehearsal.start()
    return tf.distribute.MirroredStrategy(devices=rehearsal.replica_devices())
