"""A stack's inner splits with a class of one row among its training rows (a class of 2 rows under
--n-folds 2): the row stays in LightGBM's fit rows, so boosting from the blend keeps every class,
and bias tuning fits on held-out rows only, without scikit-learn's too-few-members warning."""
import warnings

import numpy as np
import pytest

from ensemble.bias import with_bias_tuning
from ensemble.meta_learners import lgbm_fit_predict

Y = np.array([0] * 30 + [1] * 29 + [2])


def probabilities(y: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.dirichlet(np.ones(3), len(y)).astype(np.float32)
    x[np.arange(len(y)), y] += 1
    return x / x.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("prior_models", [0, 1])
def test_lgbm_trains_with_a_class_of_one_row(prior_models):
    # seed 0: an unstratified 10% hold-out drew the single row (LightGBM then failed on the blend's
    # 3 columns with "Number of class for initial score error")
    x = probabilities(Y)
    val, = lgbm_fit_predict(x, Y, [x], 3, 0, prior_models=prior_models)
    assert val.shape == (60, 3) and np.allclose(val.sum(axis=1), 1, atol=1e-5)


def test_bias_tuning_with_a_class_of_one_row_gives_no_warning():
    x = probabilities(Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = with_bias_tuning(lgbm_fit_predict)(x, Y, [x], 3, 0)
    assert result.predictions[0].shape == (60, 3) and len(result.info["class_bias"]) == 3
