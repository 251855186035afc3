import time

import numpy as np
import pytest
from sklearn.metrics import f1_score

from ensemble.bootstrap import cell_table, paired_gain, weighted_f1_of_counts


def predictions(n, accuracy, n_classes, rng, y):
    """Labels that equal `y` on about `accuracy` of the rows, a random class elsewhere."""
    wrong = rng.random(n) > accuracy
    return np.where(wrong, rng.integers(0, n_classes, n), y)


def test_weighted_f1_of_cell_counts_equals_sklearn_with_row_weights():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 7, 500)
    a, b = predictions(500, 0.7, 7, rng, y), predictions(500, 0.5, 8, rng, y)  # b predicts a class y lacks
    cells, row_cell = cell_table(y, a, b)
    weights = rng.integers(0, 4, (3, 500)).astype(float)  # three resamples, as per-row draw counts
    counts = np.stack([np.bincount(row_cell, weights=w, minlength=len(cells)) for w in weights])
    for column, pred in ((1, a), (2, b)):
        ours = weighted_f1_of_counts(cells[:, 0], cells[:, column], counts, 8)
        expected = [f1_score(y, pred, average="weighted", sample_weight=w, zero_division=0) for w in weights]
        np.testing.assert_allclose(ours, expected, atol=1e-12)


def test_gain_of_a_clearly_better_predictor_has_an_interval_above_zero():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 5, 2000)
    better, worse = predictions(2000, 0.9, 5, rng, y), predictions(2000, 0.6, 5, rng, y)
    result = paired_gain(y, better, worse)
    exact = (f1_score(y, better, average="weighted") - f1_score(y, worse, average="weighted"))
    assert result.gain == pytest.approx(exact)
    assert 0 < result.low < result.gain < result.high
    assert paired_gain(y, better, worse) == result  # fixed seed: the same interval every time
    assert paired_gain(y, worse, better).high < 0


def test_identical_predictions_gain_nothing_and_equal_ones_straddle_zero():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 5, 1000)
    a = predictions(1000, 0.8, 5, rng, y)
    assert paired_gain(y, a, a)[:3] == (0.0, 0.0, 0.0)
    worse = a.copy()
    right = np.flatnonzero(a == y)[:3]
    worse[right] = (y[right] + 1) % 5  # three rows lost, nothing won: no resample can favour it
    result = paired_gain(y, a, worse)
    assert 0 <= result.low < result.high < 0.01
    twin = predictions(1000, 0.8, 5, rng, y)  # as accurate as a, errors elsewhere
    result = paired_gain(y, a, twin)
    assert result.low < 0 < result.high


def test_probabilities_are_arg_maxed_and_85k_rows_take_seconds():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 27, 85000)
    a = np.eye(27)[predictions(85000, 0.8, 27, rng, y)] + rng.random((85000, 27)) * 0.1
    b = np.eye(27)[predictions(85000, 0.79, 27, rng, y)] + rng.random((85000, 27)) * 0.1
    started = time.time()
    result = paired_gain(y, a, b, resamples=1000)
    assert time.time() - started < 10  # a per-row loop would take minutes
    assert result.gain == pytest.approx(f1_score(y, a.argmax(1), average="weighted")
                                        - f1_score(y, b.argmax(1), average="weighted"))
