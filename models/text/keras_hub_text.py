"""`hub_text`: a pretrained multilingual encoder from keras-hub, fine-tuned on each fold.

For users with internet and a GPU: `preset` names a keras-hub preset (default
`distil_bert_base_multi`, multilingual DistilBERT; `xlm_roberta_base_multi` is stronger and slower);
its tokenizer runs in the tf.data pipeline and the weights download on first use into the keras-hub
cache. keras-hub is an optional extra (`pip install -r requirements-extras.txt`): it pulls in
tensorflow-text, which requires the full `tensorflow` package next to `tensorflow-cpu`.

`preset="tiny"` builds a small randomly initialised BERT over the fold's own TextVectorization
vocabulary: no download, no tokenizer package, for offline tests and smoke runs.
"""
from __future__ import annotations

import functools

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from challenge.errors import DataError
from models.core.keras_fold import classification_head, text_dataset, train_keras_fold
from models.core.registry import FoldData, ModelSpec, register
from models.text.text_cnn import adapted_vectorizer

DEFAULTS = {
    "text_fields": "designation+description",
    "stopwords": False,
    "drop_frequent": 0,
    "preset": "distil_bert_base_multi",
    "sequence_length": 64,
    "tiny_layers": 2,  # preset=tiny only: the random BERT's depth, width and vocabulary
    "tiny_hidden_dim": 32,
    "tiny_vocabulary": 5000,
    "dense_units": 256,
    "dropout": 0.1,
    "optimizer": "adamw",
    "learning_rate": 3e-5,
    "loss": "crossentropy",
    "class_weight": "none",
    "batch_size": 32,
    "epochs": 3,
    "patience": 1,
    "tensorboard": False,
}


def import_keras_hub():
    try:
        import keras_hub
    except ImportError as err:
        raise DataError("model hub_text needs keras-hub, an optional extra: run `pip install -r "
                        "requirements-extras.txt` (keras-hub 0.32.0), or pick another model.") from err
    return keras_hub


@keras.saving.register_keras_serializable(package="eshoppye")
class BertInputs(layers.Layer):
    """Token ids (0 = padding) -> the dict a keras-hub BERT backbone reads."""

    def call(self, ids):
        return {"token_ids": ids, "padding_mask": ops.not_equal(ids, 0), "segment_ids": ops.zeros_like(ids)}


def tiny_encoder(hp: dict, x_train) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    keras_hub = import_keras_hub()
    vectorizer = adapted_vectorizer(x_train, "words", max_tokens=hp["tiny_vocabulary"], split="whitespace",
                                    output_sequence_length=hp["sequence_length"])
    width = hp["tiny_hidden_dim"]
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=vectorizer.vocabulary_size(), num_layers=hp["tiny_layers"], num_heads=2,
        hidden_dim=width, intermediate_dim=2 * width, max_sequence_length=hp["sequence_length"])
    text = keras.Input(shape=(1,), dtype="string", name="text")
    ids = layers.Reshape((hp["sequence_length"],))(vectorizer(text))
    return text, backbone(BertInputs()(ids))


def pretrained_encoder(hp: dict):
    backbone = import_keras_hub().models.Backbone.from_preset(hp["preset"])
    return backbone.input, backbone(backbone.input)


def build_hub_model(hp: dict, n_classes: int, x_train) -> keras.Model:
    inputs, outputs = tiny_encoder(hp, x_train) if hp["preset"] == "tiny" else pretrained_encoder(hp)
    sequence = outputs["sequence_output"] if isinstance(outputs, dict) else outputs
    x = layers.Dropout(hp["dropout"])(sequence[:, 0, :])  # the first ([CLS]/<s>) token
    probs = classification_head(x, hp, n_classes)
    return keras.Model(inputs, probs, name="hub_text")


def tokenized_dataset(preprocessor, x, y, n_classes: int, batch_size: int, shuffle_seed=None) -> tf.data.Dataset:
    """Strings -> the preset's tokenizer in tf.data (keras-hub's own preprocessing layer)."""
    texts = np.asarray(x, dtype=object)
    ds = tf.data.Dataset.from_tensor_slices(texts if y is None else (texts, keras.utils.to_categorical(y, n_classes)))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(texts), seed=shuffle_seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    ds = ds.map(preprocessor if y is None else (lambda t, labels: (preprocessor(t), labels)),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def train_hub_fold(data: FoldData, hp: dict):
    if hp["preset"] == "tiny":
        return train_keras_fold(build_hub_model, data, hp, make_dataset=text_dataset)
    preprocessor = import_keras_hub().models.TextClassifierPreprocessor.from_preset(
        hp["preset"], sequence_length=hp["sequence_length"])
    return train_keras_fold(build_hub_model, data, hp,
                            make_dataset=functools.partial(tokenized_dataset, preprocessor))


register(ModelSpec(
    name="hub_text", inputs="text", defaults=DEFAULTS, train_fold=train_hub_fold,
    tags=["keras", "text", "pretrained"],
    description="keras-hub pretrained multilingual encoder fine-tuned per fold (optional extra)",
))
