"""Per-class bias tuning: additive offsets on log-probabilities that maximise the weighted F1.

Weighted F1 rewards getting the big classes' boundaries right, which arg-max of calibrated
probabilities does not aim at. The offsets are found by coordinate ascent on predictions the
learner made for rows it did not train on (an inner cross-validation of the cross-fit fold's
training rows), then applied to that fold's validation and test predictions.
"""
from __future__ import annotations

import numpy as np
from scipy.special import softmax
from sklearn.metrics import f1_score

from folds.inner import inner_splits

GRID = np.linspace(-1.5, 1.5, 31)


def weighted_f1(y, scores: np.ndarray) -> float:
    return f1_score(y, scores.argmax(axis=1), average="weighted", zero_division=0)


def apply_class_bias(probs: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return softmax(np.log(np.clip(probs, 1e-7, 1.0)) + bias, axis=1).astype(np.float32)


def fit_class_bias(probs: np.ndarray, y: np.ndarray, rounds: int = 2, grid: np.ndarray = GRID) -> np.ndarray:
    """Coordinate ascent, one class at a time; a move is kept only if it raises the weighted F1."""
    logs = np.log(np.clip(probs, 1e-7, 1.0))
    bias = np.zeros(probs.shape[1])
    best = weighted_f1(y, logs)
    for _ in range(rounds):
        improved = False
        for c in range(probs.shape[1]):
            for value in grid:
                trial = bias.copy()
                trial[c] = value
                f1 = weighted_f1(y, logs + trial)
                if f1 > best + 1e-9:
                    best, bias, improved = f1, trial, True
        if not improved:
            break
    return bias


def with_bias_tuning(fit_predict, inner_folds: int = 3):
    """Wrap a cross_fit fit_predict so that its predictions get per-class biases fitted honestly."""
    from ensemble.cross_fit import FitResult, as_fit_result

    def tuned(x, y, to_predict, n_classes, seed):
        inner_oof = np.zeros((len(y), n_classes), dtype=np.float32)
        splits = inner_splits(y, inner_folds, seed)  # a class of one row is never held out
        for train, held in splits:
            inner_oof[held] = as_fit_result(fit_predict(x[train], y[train], [x[held]], n_classes, seed)).predictions[0]
        held_out = np.concatenate([held for _, held in splits])
        bias = fit_class_bias(inner_oof[held_out], y[held_out])
        result = as_fit_result(fit_predict(x, y, to_predict, n_classes, seed))
        return FitResult([apply_class_bias(p, bias) for p in result.predictions],
                         {**result.info, "class_bias": [round(float(b), 3) for b in bias]})

    return tuned
