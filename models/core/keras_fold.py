"""Train one fold of a Keras model and return its probabilities and embeddings.

Every Keras model in the registry names its penultimate layer "penultimate"; its output is the
embedding that the fusion net stacks on.
"""
from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from folds.store import FoldOutput
from models.core.metrics import (class_weights, loss_for, optimizer_for, standard_callbacks,
                            weighted_f1_metric)
from models.core.registry import FoldData
from models.core.run_options import distribution_scope, set_precision

EMBEDDING_LAYER = "penultimate"


def text_dataset(x: np.ndarray, y: np.ndarray | None, n_classes: int, batch_size: int,
                 shuffle_seed: int | None = None) -> tf.data.Dataset:
    """Strings (shape (n, 1), as the TextVectorization input expects) and one-hot labels."""
    features = np.asarray(x, dtype=object).reshape(-1, 1)
    if y is None:
        ds = tf.data.Dataset.from_tensor_slices(features)
    else:
        ds = tf.data.Dataset.from_tensor_slices((features, keras.utils.to_categorical(y, n_classes)))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(features), seed=shuffle_seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def classification_head(x, hp: dict, n_classes: int):
    """The head every Keras classifier here ends with: Dense("penultimate", the embedding the fusion
    net stacks on) -> Dropout -> softmax, the softmax in float32 so mixed precision stays stable."""
    from keras import layers

    x = layers.Dense(hp["dense_units"], activation="relu", name=EMBEDDING_LAYER)(x)
    x = layers.Dropout(hp["dropout"])(x)
    return layers.Dense(n_classes, activation="softmax", name="probs", dtype="float32")(x)


def compile_model(model: keras.Model, hp: dict) -> keras.Model:
    model.compile(optimizer=optimizer_for(hp["optimizer"], hp["learning_rate"]),
                  loss=loss_for(hp["loss"]), metrics=[weighted_f1_metric()],
                  # several batches per graph call: on CPU a small model's steps are mostly call overhead
                  steps_per_execution=hp.get("steps_per_execution", 1))
    return model


def embedding_model(model: keras.Model) -> keras.Model:
    return keras.Model(model.inputs, model.get_layer(EMBEDDING_LAYER).output)


def predict_in_memory(model: keras.Model, x, batch_size: int = 1024):
    """`model.predict(x)` for rows already in memory (an array, or a list of arrays for a model with
    several inputs), by calling the model on slices of `batch_size` rows.

    predict() traces a new tf.function for every new model; when the rows fit in a batch or two,
    nearly every call traces, and the new heads of a few folds make TensorFlow warn about retracing.
    For inputs this small Keras advises calling the model, which traces nothing."""
    several = isinstance(x, (list, tuple))
    arrays = list(x) if several else [x]
    parts = [model([a[start:start + batch_size] for a in arrays] if several else arrays[0][start:start + batch_size],
                   training=False)
             for start in range(0, max(len(arrays[0]), 1), batch_size)]
    return keras.tree.map_structure(lambda *p: np.concatenate([keras.ops.convert_to_numpy(t) for t in p]), *parts)


def probs_and_embeddings(model: keras.Model, x, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """The probabilities and the embeddings of in-memory rows in one pass (predict_in_memory)."""
    both = keras.Model(model.input, [model.output, model.get_layer(EMBEDDING_LAYER).output])
    probs, embed = predict_in_memory(both, x, batch_size)
    return probs, embed


def train_keras_fold(build, data: FoldData, hp: dict, make_dataset=text_dataset) -> FoldOutput:
    """Fit `build(hp, n_classes, x_train)` on the fold with the standard callbacks."""
    started = time.time()
    keras.utils.set_random_seed(data.seed)
    set_precision(hp.get("mixed_precision", False))
    with distribution_scope(hp.get("strategy", "none")):
        model = compile_model(build(hp, data.n_classes, data.x_train), hp)
    batch = hp["batch_size"]
    train_ds = make_dataset(data.x_train, data.y_train, data.n_classes, batch, shuffle_seed=data.seed)
    val_ds = make_dataset(data.x_val, data.y_val, data.n_classes, batch)
    history = model.fit(
        train_ds, validation_data=val_ds, epochs=hp["epochs"], shuffle=False,  # the dataset shuffles
        class_weight=class_weights(data.y_train, data.n_classes, hp["class_weight"]),
        callbacks=standard_callbacks(data.fold_dir, hp), verbose=data.verbose,
    )
    # EarlyStopping(restore_best_weights=True) has put the best epoch's weights back.
    val_x = make_dataset(data.x_val, None, data.n_classes, batch)
    test_x = make_dataset(data.x_test, None, data.n_classes, batch)
    embed = embedding_model(model)
    output = FoldOutput(
        val_probs=model.predict(val_x, verbose=0), test_probs=model.predict(test_x, verbose=0),
        val_embed=embed.predict(val_x, verbose=0), test_embed=embed.predict(test_x, verbose=0),
        info={"epochs_run": len(history.epoch), "seconds": round(time.time() - started, 1)},
    )
    keras.backend.clear_session()
    return output
