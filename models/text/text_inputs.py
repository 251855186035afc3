"""One or two text inputs for the Keras text models.

`text_fields="designation|description"` makes `train.py` hand a model two cleaned columns (title,
description) instead of one string; the model then reads them as two named inputs, so a short title
and a long description each get their own sequence length. Any other `text_fields` is one input.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

TWO_FIELDS = "designation|description"
INPUT_NAMES = ("title", "description")


def is_two_inputs(hp: dict) -> bool:
    return hp["text_fields"] == TWO_FIELDS


def columns(x: np.ndarray) -> list[np.ndarray]:
    """The text columns of a fold's array: one for a 1-D array, one per field for a 2-D one."""
    x = np.asarray(x, dtype=object)
    return [x] if x.ndim == 1 else [x[:, i] for i in range(x.shape[1])]


def text_inputs(hp: dict) -> list[keras.KerasTensor]:
    names = INPUT_NAMES if is_two_inputs(hp) else ("text",)
    return [keras.Input(shape=(1,), dtype="string", name=name) for name in names]


def text_dataset(x: np.ndarray, y: np.ndarray | None, n_classes: int, batch_size: int,
                 shuffle_seed: int | None = None) -> tf.data.Dataset:
    """Like keras_fold.text_dataset, for one column or a dict of two named ones."""
    cols = [c.reshape(-1, 1) for c in columns(x)]
    features = cols[0] if len(cols) == 1 else dict(zip(INPUT_NAMES, cols))
    ds = tf.data.Dataset.from_tensor_slices(
        features if y is None else (features, keras.utils.to_categorical(y, n_classes)))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(cols[0]), seed=shuffle_seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
