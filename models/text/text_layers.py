"""Small Keras layers the text models share: attention pooling, learnt position embeddings and
non-empty token sequences."""
from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="eshoppye")
class AttentionPooling(layers.Layer):
    """One vector per text: a softmax-weighted sum of the time steps, the weights scored by a small
    tanh layer (additive attention). Padded steps (the mask) get no weight."""

    def __init__(self, units: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.supports_masking = True
        self.score_hidden = layers.Dense(units, activation="tanh")
        self.score = layers.Dense(1, use_bias=False)

    def build(self, input_shape):
        self.score_hidden.build(input_shape)
        self.score.build((*input_shape[:-1], self.units))
        super().build(input_shape)

    def call(self, sequence, mask=None):
        # the softmax in float32: under mixed precision -1e9 is -inf in float16, and a fully padded
        # text (an empty description) got NaN weights, then NaN probabilities
        scores = ops.cast(self.score(self.score_hidden(sequence))[..., 0], "float32")  # (batch, steps)
        if mask is not None:
            scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
        weights = ops.cast(ops.softmax(scores, axis=-1), sequence.dtype)
        return ops.sum(sequence * weights[..., None], axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="eshoppye")
class KeepOneStep(layers.Layer):
    """Token ids (0 = padding) in which every text keeps at least one step: an empty text (a title of
    stop words only, once they are removed) gets the out-of-vocabulary id 1 in its first position.

    With cuDNN, Keras' LSTM and GRU refuse a fully masked sequence: on a GPU the batch holding it
    stops the fit with "You are passing a RNN mask that does not correspond to right-padded
    sequences" (keras/src/backend/tensorflow/rnn.py asserts it)."""

    def call(self, ids):
        empty = ops.all(ops.equal(ids, 0), axis=1, keepdims=True)
        first = ops.expand_dims(ops.equal(ops.arange(ops.shape(ids)[1]), 0), 0)
        return ops.where(ops.logical_and(empty, first), ops.ones_like(ids), ids)


@keras.saving.register_keras_serializable(package="eshoppye")
class PositionEmbedding(layers.Layer):
    """Adds a learnt vector per position to a (batch, steps, dim) sequence; keeps its mask."""

    def __init__(self, max_length: int, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.supports_masking = True

    def build(self, input_shape):
        self.positions = self.add_weight(shape=(self.max_length, input_shape[-1]),
                                         initializer="glorot_uniform", name="positions")
        super().build(input_shape)

    def call(self, sequence, mask=None):
        steps = ops.shape(sequence)[1]
        return sequence + self.positions[None, :steps, :]

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        return {**super().get_config(), "max_length": self.max_length}
