"""`text_cnn`: a word + character CNN (Kim-style parallel convolutions, global max pooling).

Titles are short and full of codes, sizes, versions and brand names that a word vocabulary learnt
on a few thousand rows misses; the character branch reads them letter by letter. With
`text_fields="designation|description"` (the default) the description is a third branch with its
own, longer word sequence.
"""
from __future__ import annotations

import functools

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from models.core.keras_fold import classification_head, train_keras_fold
from models.core.registry import ModelSpec, register
from models.core.run_options import GPU_OPTIONS
from models.text.text_inputs import columns, is_two_inputs, text_dataset, text_inputs
from models.text.word_vectors import word_embedding

DEFAULTS = {
    "text_fields": "designation|description",
    "stopwords": False,
    "drop_frequent": 0,
    "max_tokens": 40000,
    "sequence_length": 24,  # title words
    "description_length": 120,  # description words (two inputs only)
    "char_length": 120,  # title characters; 0 turns the character branch off
    "embedding_dim": 128,
    "char_embedding_dim": 32,
    "word_vectors": "none",
    "trainable_vectors": True,
    "vector_std": 0.1,  # pretrained vectors rescaled to this standard deviation (0: as they are)
    "filters": 128,
    "kernel_sizes": [1, 2, 3],
    "char_kernel_sizes": [3, 5, 7],
    "dense_units": 256,
    "dropout": 0.4,
    "optimizer": "adam",
    "learning_rate": 2e-3,
    "loss": "crossentropy",
    "class_weight": "none",
    "batch_size": 64,
    "epochs": 12,
    "patience": 3,
    "tensorboard": False,
    **GPU_OPTIONS,
}


def adapted_vectorizer(texts: np.ndarray, name: str, **options) -> layers.TextVectorization:
    vectorizer = layers.TextVectorization(standardize=None, output_mode="int", name=name, **options)
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(np.asarray(texts, dtype=object)).batch(2048))
    return vectorizer


def conv_block(x, filters: int, kernel_sizes, name: str):
    """Parallel convolutions of several widths, each max-pooled over the sequence, concatenated."""
    pooled = [layers.GlobalMaxPooling1D()(layers.Conv1D(filters, k, activation="relu", padding="same",
                                                        name=f"{name}_conv{k}")(x))
              for k in kernel_sizes]
    return pooled[0] if len(pooled) == 1 else layers.Concatenate()(pooled)


def word_branch(text, texts, hp: dict, length: int, name: str):
    vectorizer = adapted_vectorizer(texts, f"{name}_words", max_tokens=hp["max_tokens"],
                                    split="whitespace", output_sequence_length=length)
    # Conv1D does not take masks: padding rows are learnt as a zero-ish vector instead.
    x = word_embedding(hp, vectorizer, name=f"{name}_embedding", mask_zero=False)(vectorizer(text))
    x = layers.SpatialDropout1D(hp["dropout"] / 2)(x)
    return conv_block(x, hp["filters"], hp["kernel_sizes"], name)


def char_branch(text, texts, hp: dict):
    vectorizer = adapted_vectorizer(texts, "title_chars", max_tokens=400, split="character",
                                    output_sequence_length=hp["char_length"])
    x = layers.Embedding(vectorizer.vocabulary_size(), hp["char_embedding_dim"])(vectorizer(text))
    return conv_block(x, hp["filters"], hp["char_kernel_sizes"], "chars")


def build_text_cnn(hp: dict, n_classes: int, x_train) -> keras.Model:
    inputs = text_inputs(hp)
    texts = columns(x_train)
    features = [word_branch(inputs[0], texts[0], hp, hp["sequence_length"], "title")]
    if hp["char_length"]:
        features.append(char_branch(inputs[0], texts[0], hp))
    if is_two_inputs(hp):
        features.append(word_branch(inputs[1], texts[1], hp, hp["description_length"], "description"))
    x = features[0] if len(features) == 1 else layers.Concatenate()(features)
    x = layers.Dropout(hp["dropout"])(x)
    probs = classification_head(x, hp, n_classes)
    return keras.Model(inputs, probs, name="text_cnn")


def text_cnn_search_space(hp) -> dict:
    return {
        "filters": hp.Choice("filters", [64, 128, 256]),
        "char_length": hp.Choice("char_length", [0, 80, 120, 160]),
        "dense_units": hp.Choice("dense_units", [128, 256, 512]),
        "dropout": hp.Float("dropout", 0.2, 0.6, step=0.1),
        "learning_rate": hp.Float("learning_rate", 5e-4, 5e-3, sampling="log"),
        "description_length": hp.Choice("description_length", [60, 120, 200]),
    }


register(ModelSpec(
    name="text_cnn", inputs="text", defaults=DEFAULTS,
    train_fold=functools.partial(train_keras_fold, build_text_cnn, make_dataset=text_dataset),
    build=build_text_cnn, search_space=text_cnn_search_space, tags=["keras", "text"],
    description="word + character CNN on the title, word CNN on the description",
))
