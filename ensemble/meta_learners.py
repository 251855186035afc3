"""Meta-learners fitted on out-of-fold probabilities: LightGBM and logistic regression.

Each is a `fit_predict(x_train, y_train, x_predict_list, n_classes, seed)` for `cross_fit`.
"""
from __future__ import annotations

import lightgbm as lgb
import numpy as np
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression

from folds.inner import holdout

LGBM_PARAMS = {
    "n_estimators": 600, "learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 10,
    "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.5, "reg_lambda": 1.0,
    "verbose": -1,
}

# From 20k rows on, each of a round's 27 trees reads tens of thousands of rows (0.44 s a round on one
# core at 68k rows and 5 models, and the 600 rounds ran out without early stopping on generated
# data): half the rows per tree, 63 bins (probabilities need no finer histograms), twice the
# learning rate and at most 150 rounds keep a 5-fold stack within minutes (docs/benchmarks.md).
LARGE_DATA_PARAMS = {"subsample": 0.5, "max_bin": 63, "learning_rate": 0.1, "n_estimators": 150}
LARGE_DATA_ROWS = 20000


def _full_columns(model, probs: np.ndarray, n_classes: int) -> np.ndarray:
    full = np.zeros((len(probs), n_classes), dtype=np.float32)
    full[:, model.classes_] = probs
    return full


def lgbm_fit_predict(x, y, to_predict, n_classes, seed, params=None, prior_models: int = 0):
    """LightGBM with early stopping on a stratified 10% of the meta-learner's own training rows
    (folds/inner.py).

    With `prior_models` > 0 (the first prior_models * n_classes columns of `x` are the models'
    probabilities), boosting starts from the temperature-calibrated log-loss blend of those models,
    fitted on the same training rows, instead of from the class priors: the trees only learn
    corrections to the blend, so on a few thousand rows the stack does not fall below it.
    """
    # A few thousand rows are faster on one thread (more threads only spin, worst on a busy machine);
    # at the challenge's size LightGBM's default, every core OpenMP sees: OMP_NUM_THREADS=1 on a
    # machine shared with other jobs, where spinning threads were slower than one (docs/benchmarks.md).
    size = {"n_jobs": 1} if len(x) < LARGE_DATA_ROWS else LARGE_DATA_PARAMS
    params = {**LGBM_PARAMS, **size, **(params or {}), "random_state": seed}
    x_fit, x_stop, y_fit, y_stop = holdout(x, y, 0.1, seed)  # a class of one row stays in the fit rows
    model = lgb.LGBMClassifier(**params)
    if not prior_models:
        model.fit(x_fit, y_fit, eval_X=(x_stop,), eval_y=(y_stop,),
                  callbacks=[lgb.early_stopping(40, verbose=False)])
        return [_full_columns(model, model.predict_proba(p), n_classes) for p in to_predict]
    fit_prior, stop_prior, *priors = _blend_log_probs(x_fit, y_fit, [x_fit, x_stop, *to_predict],
                                                      prior_models, n_classes, seed)
    model.fit(x_fit, y_fit, init_score=fit_prior, eval_X=(x_stop,), eval_y=(y_stop,),
              eval_init_score=[stop_prior], callbacks=[lgb.early_stopping(40, verbose=False)])
    if len(model.classes_) != n_classes:
        raise ValueError("boosting from a blend needs every class among the meta-learner's training rows")
    return [softmax(model.predict(p, raw_score=True) + prior, axis=1).astype(np.float32)
            for p, prior in zip(to_predict, priors)]


def _blend_log_probs(x, y, to_predict, n_models: int, n_classes: int, seed: int) -> list:
    """Log-probabilities of the calibrated log-loss blend fitted on (x, y), for each of `to_predict`."""
    from ensemble.blend import blend_fit_predict_factory

    width = n_models * n_classes
    blend = blend_fit_predict_factory(n_models)
    result = blend(x[:, :width], y, [p[:, :width] for p in to_predict], n_classes, seed)
    return [np.log(np.clip(p, 1e-7, 1.0)) for p in result.predictions]


def logreg_fit_predict(x, y, to_predict, n_classes, seed, C: float = 1.0):
    """Multinomial logistic regression on log-probabilities."""
    logs = lambda a: np.log(np.clip(a, 1e-6, 1.0))  # noqa: E731
    model = LogisticRegression(C=C, max_iter=3000, random_state=seed).fit(logs(x), y)
    return [_full_columns(model, model.predict_proba(logs(p)), n_classes) for p in to_predict]
