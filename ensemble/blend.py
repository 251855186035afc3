"""Weighted average of model probabilities, after per-model temperature calibration.

Each model's temperature and the blend weights are fitted on the rows a cross-fit fold trains on
(never on the rows it predicts). Weights minimise the log-loss (smooth, L-BFGS) or maximise the
weighted F1 (a step function of the weights, so a derivative-free global search started from the
log-loss weights).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import differential_evolution, minimize
from scipy.special import softmax

from ensemble.bias import weighted_f1
from ensemble.calibration import apply_temperature, fit_temperature

OBJECTIVES = ("logloss", "f1")


def _mix(weights: np.ndarray, stacked: np.ndarray) -> np.ndarray:
    return np.tensordot(weights / weights.sum(), stacked, axes=1)


def blend_weights(probs: list[np.ndarray], y: np.ndarray, objective: str = "logloss",
                  seed: int = 0) -> np.ndarray:
    """Non-negative weights summing to one for `probs` (one (rows, classes) array per model)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, not {objective!r}")
    stacked = np.stack(probs)  # (models, rows, classes)
    rows = np.arange(len(y))

    def log_loss(theta):
        return -np.mean(np.log(np.clip(_mix(softmax(theta), stacked)[rows, y], 1e-9, 1.0)))

    weights = softmax(minimize(log_loss, np.zeros(len(probs)), method="L-BFGS-B").x)
    if objective == "logloss" or len(probs) == 1:
        return weights

    def negative_f1(w):
        return -weighted_f1(y, _mix(np.asarray(w) + 1e-12, stacked))

    result = differential_evolution(negative_f1, [(0.0, 1.0)] * len(probs), x0=weights, seed=seed,
                                    maxiter=30, popsize=10, polish=False, tol=1e-6)
    # keep the log-loss weights unless the search found a strictly better F1
    best = result.x if result.fun < negative_f1(weights) else weights
    return np.asarray(best) / np.sum(best)


def blend_fit_predict_factory(n_models: int, objective: str = "logloss", calibrate: bool = True):
    """A cross_fit-compatible fit_predict over features made of `n_models` probability blocks."""
    from ensemble.cross_fit import FitResult

    def fit_predict(x, y, to_predict, n_classes, seed):
        split = lambda a: np.split(a, n_models, axis=1)  # noqa: E731
        blocks = split(x)
        temperatures = [fit_temperature(b, y) if calibrate else 1.0 for b in blocks]
        scaled = lambda bs: [apply_temperature(b, t) for b, t in zip(bs, temperatures)]  # noqa: E731
        weights = blend_weights(scaled(blocks), y, objective, seed)
        predictions = [_mix(weights, np.stack(scaled(split(p)))) for p in to_predict]
        return FitResult(predictions, {"weights": [round(float(w), 4) for w in weights],
                                       "temperatures": [round(t, 4) for t in temperatures]})

    return fit_predict
