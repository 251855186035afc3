"""Train one fold of a Keras model and return its probabilities and embeddings.

Every Keras model in the registry names its penultimate layer "penultimate"; its output is the
embedding that the fusion net stacks on.
"""
from __future__ import annotations

import time
import warnings

import keras
import numpy as np
import tensorflow as tf

from folds.store import FoldOutput
from models.core.fit_once import fit_once
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


def steps_per_execution(hp: dict) -> int:
    """Several batches per graph call (on CPU a small model's steps are mostly call overhead), but one
    under a tf.distribute strategy: with 8 and 2 replicas, Keras' multi-step loop failed on the
    epoch's last, shorter call ("You must feed a value for placeholder tensor ... while/cond")."""
    return 1 if tf.distribute.has_strategy() else hp.get("steps_per_execution", 1)


def compile_model(model: keras.Model, hp: dict) -> keras.Model:
    """Compile inside the strategy's scope, if any (steps_per_execution)."""
    model.compile(optimizer=optimizer_for(hp["optimizer"], hp["learning_rate"]),
                  loss=loss_for(hp["loss"]), metrics=[weighted_f1_metric()], steps_per_execution=steps_per_execution(hp))
    return model


def with_embeddings(model: keras.Model, embedding=None) -> keras.Model:
    """The model with its embedding (the EMBEDDING_LAYER's output unless given) as a second output:
    predict() then gives both in one pass, so what lies below the head (a transformer's layers, the
    images' decoding) runs once, not once for the probabilities and again for the embeddings."""
    embedding = model.get_layer(EMBEDDING_LAYER).output if embedding is None else embedding
    return keras.Model(model.input, [model.outputs[0], embedding])  # the inputs as the model takes them


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
    probs, embed = predict_in_memory(with_embeddings(model), x, batch_size)
    return probs, embed


def split_off_vectorizers(model: keras.Model) -> tuple[keras.Model | None, keras.Model]:
    """(vectorize, rest): the model's TextVectorization layers as a model of their own, to run in
    tf.data, and the rest of the model from their token ids; (None, model) without any.

    Under a tf.distribute strategy, Keras 3 builds a model from its first input batch averaged over
    the replicas (keras/src/backend/tensorflow/trainer.py, _maybe_symbolic_build): on strings every
    text model's fit failed with "Value for attr 'T' of string is not in the list of allowed values"
    (AddN). Fed token ids, nothing but numbers crosses the replicas."""
    vectorizers = [layer for layer in model.layers if isinstance(layer, keras.layers.TextVectorization)]
    if not vectorizers:
        return None, model
    # by the vectorizers' names: predict() would take a tuple of token-id tensors for (x, y, weights)
    ids = {layer.name: layer.output for layer in vectorizers}
    with warnings.catch_warnings():  # Keras would have the id tensors named as their keys: they are matched by key
        warnings.filterwarnings("ignore", message="When providing `inputs` as a dict")
        return keras.Model(model.inputs, ids), keras.Model(ids, model.outputs, name=model.name)


def vectorized(ds: tf.data.Dataset, vectorize: keras.Model | None) -> tf.data.Dataset:
    """The dataset's text features replaced by their token ids (split_off_vectorizers)."""
    if vectorize is None:
        return ds

    def apply(features, *labels):
        ids = vectorize(features)
        return (ids, *labels) if labels else ids

    return ds.map(apply, num_parallel_calls=tf.data.AUTOTUNE)


def train_keras_fold(build, data: FoldData, hp: dict, make_dataset=text_dataset) -> FoldOutput:
    """Fit `build(hp, n_classes, x_train)` on the fold with the standard callbacks; under a strategy
    the text is vectorized in tf.data (split_off_vectorizers)."""
    started = time.time()
    keras.utils.set_random_seed(data.seed)
    set_precision(hp.get("mixed_precision", False))
    strategy = hp.get("strategy", "none")
    with distribution_scope(strategy):
        model = build(hp, data.n_classes, data.x_train)
        both = with_embeddings(model)  # from the whole model: the split one's inputs are copies
        vectorize = None
        if strategy != "none":
            (vectorize, model), (_, both) = split_off_vectorizers(model), split_off_vectorizers(both)
        compile_model(model, hp)
    batch = hp["batch_size"]

    def dataset(x, y, shuffle_seed=None):
        return vectorized(make_dataset(x, y, data.n_classes, batch, shuffle_seed=shuffle_seed), vectorize)

    epochs_run = fit_once(model, data.fold_dir, lambda: model.fit(
        dataset(data.x_train, data.y_train, shuffle_seed=data.seed), validation_data=dataset(data.x_val, data.y_val),
        epochs=hp["epochs"], shuffle=False,  # the dataset shuffles
        class_weight=class_weights(data.y_train, data.n_classes, hp["class_weight"]),
        callbacks=standard_callbacks(data.fold_dir, hp), verbose=data.verbose,
    ))
    # EarlyStopping(restore_best_weights=True) has put the best epoch's weights back.
    (val_probs, val_embed), (test_probs, test_embed) = (both.predict(dataset(x, None), verbose=0)
                                                        for x in (data.x_val, data.x_test))
    output = FoldOutput(val_probs=val_probs, test_probs=test_probs, val_embed=val_embed, test_embed=test_embed,
                        info={"epochs_run": epochs_run, "seconds": round(time.time() - started, 1)})
    keras.backend.clear_session()
    return output
