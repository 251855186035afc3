"""A normal run shows no library warning that the project causes (issue 19): Keras' `shuffle=True was
passed, but will be ignored` (a fit on a tf.data.Dataset without shuffle=False) and TensorFlow's
tf.function retracing warning (predict() on a new head per fold, one batch a call)."""
import warnings

import keras
import numpy as np
import pytest

from models.core.keras_fold import EMBEDDING_LAYER, compile_model, predict_in_memory, probs_and_embeddings
from models.image.image_head import build_head
from models.image.image_transfer import DEFAULTS as HEAD_DEFAULTS


def test_the_keras_fold_loop_warns_nothing(bilstm_training):
    """`train.main` of a BiLSTM on the five folds of the demo run (the session's `bilstm_training`,
    which the CLI tests use too): no UserWarning, nothing from TensorFlow's logger."""
    assert bilstm_training.user_warnings == []
    assert bilstm_training.tensorflow_log == []


def test_frozen_heads_of_five_folds_predict_without_retracing(tensorflow_log):
    """The e5 and image-transfer heads: a new small model per fold, predicted on in-memory rows."""
    hp = {**HEAD_DEFAULTS, "head_units": "32,16", "epochs": 1}
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        for fold in range(5):
            x = rng.normal(size=(300, 24)).astype("float32")
            head = compile_model(build_head(hp, 6, 24, x), hp)  # untrained: only predicting is under test
            for rows in (x[:60], x[60:], x[::-1]):
                probs, embed = probs_and_embeddings(head, rows, batch_size=128)
                assert probs.shape == (len(rows), 6) and embed.shape == (len(rows), 16)
    assert tensorflow_log == []
    # the same numbers as predict()
    embed_model = keras.Model(head.inputs, head.get_layer(EMBEDDING_LAYER).output)
    np.testing.assert_allclose(probs, head.predict(x[::-1], batch_size=128, verbose=0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(embed, embed_model.predict(x[::-1], batch_size=128, verbose=0), rtol=1e-6, atol=1e-6)


def test_predict_in_memory_takes_several_inputs():
    a, b = keras.Input((3,)), keras.Input((2,))
    model = keras.Model([a, b], keras.layers.Dense(4)(keras.layers.Concatenate()([a, b])))
    x = [np.ones((5, 3), "float32"), np.zeros((5, 2), "float32")]
    np.testing.assert_allclose(predict_in_memory(model, x, batch_size=2), model.predict(x, verbose=0), rtol=1e-6)
