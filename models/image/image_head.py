"""The classification head trained on cached backbone features: Dense blocks (default [1024, 512])
with BatchNorm and Dropout, the last block named "penultimate" (its output is the embedding)."""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from models.core.keras_fold import EMBEDDING_LAYER


def build_head(hp: dict, n_classes: int, n_features: int, x_train: np.ndarray | None = None) -> keras.Model:
    """With hp["standardize"] and the training features given, a Normalization layer adapted to them
    comes first: multi-level features mix channels whose scales differ tenfold."""
    features = keras.Input((n_features,), name="features")
    x = features
    if hp.get("standardize") and x_train is not None:
        normalize = layers.Normalization(name="standardize")
        normalize.adapt(np.asarray(x_train, dtype=np.float32))
        x = normalize(x)
    x = layers.Dropout(hp["input_dropout"])(x) if hp["input_dropout"] else x
    units = hp["head_units"]
    units = [int(u) for u in units.split(",")] if isinstance(units, str) else list(units)
    for i, width in enumerate(units):
        last = i == len(units) - 1
        x = layers.Dense(width, use_bias=not hp["batch_norm"], name=f"dense{i}")(x)
        if hp["batch_norm"]:
            x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.Activation("relu", name=EMBEDDING_LAYER if last else f"relu{i}")(x)
        x = layers.Dropout(hp["dropout"], name=f"dropout{i}")(x)
    probs = layers.Dense(n_classes, activation="softmax", name="probs", dtype="float32")(x)
    return keras.Model(features, probs, name="head")


def feature_dataset(x: np.ndarray, y: np.ndarray | None, n_classes: int, batch_size: int,
                    shuffle_seed: int | None = None) -> tf.data.Dataset:
    """Feature rows (and one-hot labels) in batches; the arrays are small enough to sit in memory."""
    x = np.asarray(x, dtype=np.float32)
    if y is None:
        ds = tf.data.Dataset.from_tensor_slices(x)
    else:
        ds = tf.data.Dataset.from_tensor_slices((x, keras.utils.to_categorical(y, n_classes).astype("float32")))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
