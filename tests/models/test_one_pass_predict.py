"""A fold's probabilities and embeddings come from one predict() pass (keras_fold.with_embeddings):
the layers below the head (a transformer's, the images' decoding) run once per row, not twice, and
the numbers are those of the two separate models."""
import keras
import numpy as np
import tensorflow as tf

from models.core.keras_fold import EMBEDDING_LAYER, with_embeddings


class RowCounter(keras.layers.Layer):
    """Passes its input through and counts the rows it was called on (the stand-in for an encoder)."""

    def build(self, input_shape):
        self.rows_seen = self.add_weight(shape=(), initializer="zeros", trainable=False, dtype="float32")

    def call(self, x):
        self.rows_seen.assign_add(tf.cast(tf.shape(x)[0], "float32"))
        return x


def small_model(n_features=8, n_classes=4):
    inputs = keras.Input((n_features,))
    encoded = keras.layers.Dense(16, activation="relu")(RowCounter(name="encoder")(inputs))
    embedding = keras.layers.Dense(6, activation="relu", name=EMBEDDING_LAYER)(encoded)
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(embedding))


def test_probabilities_and_embeddings_in_one_pass_match_the_two_models():
    keras.utils.set_random_seed(0)
    model = small_model()
    x = np.random.default_rng(0).normal(size=(50, 8)).astype("float32")
    counter = model.get_layer("encoder").rows_seen
    probs, embed = with_embeddings(model).predict(tf.data.Dataset.from_tensor_slices(x).batch(16), verbose=0)
    assert float(counter.numpy()) == 50  # the encoder saw each row once
    np.testing.assert_allclose(probs, model.predict(x, verbose=0), rtol=1e-6, atol=1e-7)
    embed_only = keras.Model(model.inputs, model.get_layer(EMBEDDING_LAYER).output)
    np.testing.assert_allclose(embed, embed_only.predict(x, verbose=0), rtol=1e-6, atol=1e-7)
    assert probs.shape == (50, 4) and embed.shape == (50, 6)


def test_an_embedding_given_as_a_tensor_of_the_graph_is_the_second_output():
    # e5_finetune's embedding is its head's embedding layer applied to the pooled output
    model = small_model()
    head_input = keras.Input((16,))
    head = keras.Model(head_input, keras.layers.Dense(3, name="projection")(head_input))
    embedding = head(keras.layers.Dense(16)(model.get_layer("encoder").output))
    probs, projected = with_embeddings(model, embedding).predict(np.ones((5, 8), "float32"), verbose=0)
    assert probs.shape == (5, 4) and projected.shape == (5, 3)
