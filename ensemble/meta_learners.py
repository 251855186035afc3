"""Meta-learners fitted on out-of-fold probabilities: LightGBM and logistic regression.

Each is a `fit_predict(x_train, y_train, x_predict_list, n_classes, seed)` for `cross_fit`.
"""
from __future__ import annotations

import lightgbm as lgb
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

LGBM_PARAMS = {
    "n_estimators": 600, "learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 10,
    "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.5, "reg_lambda": 1.0,
    "verbose": -1, "n_jobs": 2,
}


def _full_columns(model, probs: np.ndarray, n_classes: int) -> np.ndarray:
    full = np.zeros((len(probs), n_classes), dtype=np.float32)
    full[:, model.classes_] = probs
    return full


def lgbm_fit_predict(x, y, to_predict, n_classes, seed, params=None):
    """LightGBM with early stopping on a stratified 10% of the meta-learner's own training rows."""
    # A few thousand rows are faster on one thread; more threads only spin, worst on a busy machine.
    threads = {"n_jobs": 1} if len(x) < 20000 else {}
    params = {**LGBM_PARAMS, **threads, **(params or {}), "random_state": seed}
    counts = np.bincount(y, minlength=n_classes)
    stratify = y if counts[counts > 0].min() >= 2 else None
    x_fit, x_stop, y_fit, y_stop = train_test_split(x, y, test_size=0.1, random_state=seed, stratify=stratify)
    model = lgb.LGBMClassifier(**params)
    model.fit(x_fit, y_fit, eval_X=(x_stop,), eval_y=(y_stop,),
              callbacks=[lgb.early_stopping(40, verbose=False)])
    return [_full_columns(model, model.predict_proba(p), n_classes) for p in to_predict]


def logreg_fit_predict(x, y, to_predict, n_classes, seed, C: float = 1.0):
    """Multinomial logistic regression on log-probabilities."""
    logs = lambda a: np.log(np.clip(a, 1e-6, 1.0))  # noqa: E731
    model = LogisticRegression(C=C, max_iter=3000, random_state=seed).fit(logs(x), y)
    return [_full_columns(model, model.predict_proba(logs(p)), n_classes) for p in to_predict]
