"""models.core.fit_once: a fold's fit that finished is not paid again after a stop."""
from __future__ import annotations

import json

import keras
import numpy as np

from models.core.fit_once import MARKER, WEIGHTS, fit_once, was_fitted


def small_model(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def test_a_finished_fit_is_loaded_not_run_again(tmp_path):
    x, y = np.random.default_rng(0).normal(size=(64, 4)).astype("float32"), np.arange(64) % 3
    fitted = small_model(1)
    assert fit_once(fitted, tmp_path, lambda: fitted.fit(x, y, epochs=3, verbose=0)) == 3
    assert was_fitted(tmp_path) and json.loads((tmp_path / MARKER).read_text()) == {"epochs_run": 3}

    def must_not_fit():
        raise AssertionError("the fit ran again")

    restarted = small_model(2)  # other initial weights: only the loaded ones can make them agree
    assert fit_once(restarted, tmp_path, must_not_fit) == 3
    np.testing.assert_array_equal(restarted.predict(x, verbose=0), fitted.predict(x, verbose=0))


def test_weights_without_their_marker_are_a_fit_cut_short(tmp_path):
    x, y = np.ones((8, 4), "float32"), np.zeros(8, int)
    model = small_model(1)
    np.savez(tmp_path / WEIGHTS, *model.get_weights())  # the marker is written last: no marker, no finished fit
    assert not was_fitted(tmp_path)
    calls = []
    fit_once(model, tmp_path, lambda: calls.append(1) or model.fit(x, y, epochs=1, verbose=0))
    assert calls == [1] and was_fitted(tmp_path)
