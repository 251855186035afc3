"""The classification head trained on cached backbone features: Dense blocks (default [1024, 512])
with BatchNorm and Dropout, the last block named "penultimate" (its output is the embedding)."""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from models.core.keras_fold import EMBEDDING_LAYER


ADAPT_BATCH = 8192


class FeatureRows:
    """Rows picked from one or more feature arrays (memory-mapped caches), read a batch at a time.

    A fold's training rows and their mirrors at the real size are 136k x 3,824 floats (2 GB): copied
    into one array, then into TensorFlow and into a full-size shuffle buffer, they took 6 GB of an
    effnet_lite0 fold's 10.7 GB peak. Read through this, only the batch in flight is copied."""

    def __init__(self, *parts: tuple[np.ndarray, np.ndarray]):
        self.parts = [(array, np.asarray(index, dtype=np.int64)) for array, index in parts]
        self.starts = np.cumsum([0] + [len(index) for _, index in self.parts])

    def __len__(self) -> int:
        return int(self.starts[-1])

    @property
    def shape(self) -> tuple[int, int]:
        return len(self), int(self.parts[0][0].shape[1])

    def take(self, positions: np.ndarray) -> np.ndarray:
        """The rows at these positions of the concatenated parts, in that order, as float32."""
        positions = np.asarray(positions, dtype=np.int64)
        out = np.empty((len(positions), self.shape[1]), dtype=np.float32)
        part_of = np.searchsorted(self.starts, positions, side="right") - 1
        for k, (array, index) in enumerate(self.parts):
            mine = part_of == k
            if mine.any():
                out[mine] = array[index[positions[mine] - self.starts[k]]]
        return out


def build_head(hp: dict, n_classes: int, n_features: int, x_train: np.ndarray | None = None) -> keras.Model:
    """With hp["standardize"] and the training features given, a Normalization layer adapted to them
    comes first: multi-level features mix channels whose scales differ tenfold.

    The head computes in float32 under mixed precision too (its cost is nothing next to a backbone's):
    in float16, adapting the Normalization layer on batches failed ("AddV2 ... expected to be a float
    tensor but is a half tensor"), and standardised channels that barely vary reach thousands, which
    overflowed the first Dense layer to NaN probabilities (effnet_lite0, 8 of 12 validation rows)."""
    f32 = {"dtype": "float32"}
    features = keras.Input((n_features,), name="features")
    x = features
    if hp.get("standardize") and x_train is not None:
        normalize = layers.Normalization(name="standardize", **f32)
        # rows read in batches are adapted batch by batch (Keras' streaming mean and variance)
        normalize.adapt(feature_dataset(x_train, None, 0, ADAPT_BATCH) if isinstance(x_train, FeatureRows)
                        else np.asarray(x_train, dtype=np.float32))
        x = normalize(x)
    x = layers.Dropout(hp["input_dropout"], **f32)(x) if hp["input_dropout"] else x
    units = hp["head_units"]
    units = [int(u) for u in units.split(",")] if isinstance(units, str) else list(units)
    for i, width in enumerate(units):
        last = i == len(units) - 1
        x = layers.Dense(width, use_bias=not hp["batch_norm"], name=f"dense{i}", **f32)(x)
        if hp["batch_norm"]:
            x = layers.BatchNormalization(name=f"bn{i}", **f32)(x)
        x = layers.Activation("relu", name=EMBEDDING_LAYER if last else f"relu{i}", **f32)(x)
        x = layers.Dropout(hp["dropout"], name=f"dropout{i}", **f32)(x)
    probs = layers.Dense(n_classes, activation="softmax", name="probs", **f32)(x)
    return keras.Model(features, probs, name="head")


def feature_dataset(x: np.ndarray | FeatureRows, y: np.ndarray | None, n_classes: int, batch_size: int,
                    shuffle_seed: int | None = None) -> tf.data.Dataset:
    """Feature rows (and one-hot labels) in batches. An array is held by TensorFlow; FeatureRows are
    read a batch at a time, the shuffle drawing positions: the batches are the same either way."""
    if isinstance(x, FeatureRows):
        return _rows_dataset(x, y, n_classes, batch_size, shuffle_seed)
    x = np.asarray(x, dtype=np.float32)
    if y is None:
        ds = tf.data.Dataset.from_tensor_slices(x)
    else:
        ds = tf.data.Dataset.from_tensor_slices((x, keras.utils.to_categorical(y, n_classes).astype("float32")))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _rows_dataset(rows: FeatureRows, y: np.ndarray | None, n_classes: int, batch_size: int,
                  shuffle_seed: int | None) -> tf.data.Dataset:
    # shuffling positions with the same seed and buffer draws the same order as shuffling the rows
    ds = tf.data.Dataset.range(len(rows))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(rows), seed=shuffle_seed, reshuffle_each_iteration=True)
    width = rows.shape[1]
    one_hot = None if y is None else keras.utils.to_categorical(y, n_classes).astype("float32")

    def read(positions):
        x = tf.numpy_function(rows.take, [positions], tf.float32, stateful=False)
        x.set_shape((None, width))
        if one_hot is None:
            return x
        labels = tf.numpy_function(lambda p: one_hot[p], [positions], tf.float32, stateful=False)
        labels.set_shape((None, n_classes))
        return x, labels

    return ds.batch(batch_size).map(read).prefetch(tf.data.AUTOTUNE)
