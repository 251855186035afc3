"""`text_transformer`: a small Transformer encoder trained from scratch on the product text.

Word embeddings + learnt positions, `layers` pre-norm encoder blocks (multi-head self-attention and
a feed-forward layer, each with a residual connection), attention pooling. Sized for CPU: two
blocks of width 128 on titles train in about the time of the BiLSTM. With two inputs
(`text_fields="designation|description"`) each field gets its own encoder and the two pooled
vectors are concatenated.
"""
from __future__ import annotations

import functools

import keras
from keras import layers

from models.core.keras_fold import classification_head, train_keras_fold
from models.core.registry import ModelSpec, register
from models.core.run_options import GPU_OPTIONS
from models.text.text_cnn import adapted_vectorizer
from models.text.text_inputs import columns, is_two_inputs, text_dataset, text_inputs
from models.text.text_layers import AttentionPooling, PositionEmbedding
from models.text.word_vectors import word_embedding

DEFAULTS = {
    "text_fields": "designation",
    "stopwords": False,
    "drop_frequent": 0,
    "max_tokens": 40000,
    "sequence_length": 24,
    "description_length": 96,
    "embedding_dim": 128,
    "word_vectors": "none",
    "trainable_vectors": True,
    "layers": 2,
    "heads": 4,
    "ff_units": 256,
    "dense_units": 256,
    "dropout": 0.2,
    "optimizer": "adamw",
    "learning_rate": 1e-3,
    "loss": "crossentropy",
    "class_weight": "none",
    "batch_size": 64,
    "epochs": 15,
    "patience": 3,
    "tensorboard": False,
    **GPU_OPTIONS,
}


def encoder_block(x, hp: dict, width: int, name: str):
    """Pre-norm Transformer block; the padding mask travels with `x`."""
    h = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_norm1")(x)
    h = layers.MultiHeadAttention(hp["heads"], max(8, width // hp["heads"]), dropout=hp["dropout"],
                                  name=f"{name}_attention")(h, h)
    x = layers.Add()([x, layers.Dropout(hp["dropout"])(h)])
    h = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_norm2")(x)
    h = layers.Dense(hp["ff_units"], activation="gelu", name=f"{name}_ff1")(h)
    h = layers.Dense(width, name=f"{name}_ff2")(layers.Dropout(hp["dropout"])(h))
    return layers.Add()([x, layers.Dropout(hp["dropout"])(h)])


def encode(text, texts, hp: dict, length: int, name: str):
    vectorizer = adapted_vectorizer(texts, f"{name}_words", max_tokens=hp["max_tokens"],
                                    split="whitespace", output_sequence_length=length)
    embedding = word_embedding(hp, vectorizer, name=f"{name}_embedding", mask_zero=True)
    x = embedding(vectorizer(text))
    x = layers.Dropout(hp["dropout"])(PositionEmbedding(length, name=f"{name}_positions")(x))
    for i in range(hp["layers"]):
        x = encoder_block(x, hp, embedding.output_dim, f"{name}_block{i}")
    x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_final_norm")(x)
    return AttentionPooling(name=f"{name}_pooling")(x)


def build_text_transformer(hp: dict, n_classes: int, x_train) -> keras.Model:
    inputs = text_inputs(hp)
    texts = columns(x_train)
    pooled = [encode(inputs[0], texts[0], hp, hp["sequence_length"], "title")]
    if is_two_inputs(hp):
        pooled.append(encode(inputs[1], texts[1], hp, hp["description_length"], "description"))
    x = pooled[0] if len(pooled) == 1 else layers.Concatenate()(pooled)
    probs = classification_head(x, hp, n_classes)
    return keras.Model(inputs, probs, name="text_transformer")


def text_transformer_search_space(hp) -> dict:
    return {
        "layers": hp.Int("layers", 1, 3),
        "heads": hp.Choice("heads", [2, 4, 8]),
        "embedding_dim": hp.Choice("embedding_dim", [64, 128, 192]),
        "ff_units": hp.Choice("ff_units", [128, 256, 512]),
        "dropout": hp.Float("dropout", 0.1, 0.4, step=0.1),
        "learning_rate": hp.Float("learning_rate", 2e-4, 3e-3, sampling="log"),
    }


register(ModelSpec(
    name="text_transformer", inputs="text", defaults=DEFAULTS,
    train_fold=functools.partial(train_keras_fold, build_text_transformer, make_dataset=text_dataset),
    build=build_text_transformer, search_space=text_transformer_search_space, tags=["keras", "text"],
    description="small Transformer encoder (2 blocks, attention pooling) trained from scratch",
))
