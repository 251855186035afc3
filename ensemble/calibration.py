"""Temperature scaling: one scalar per model that makes its probabilities honest on OOF rows.

A model that is over- or under-confident gets p ** (1 / T), renormalised (softmax of log p / T).
T is fitted by minimising the log-loss on rows the model did not train on, so a blend or a stack
sees comparable confidences from every model.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

EPS = 1e-7


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    return np.exp(log_softmax(np.log(np.clip(probs, EPS, 1.0)) / temperature, axis=1))


def fit_temperature(probs: np.ndarray, y: np.ndarray) -> float:
    """The temperature in [0.05, 20] that minimises the log-loss of `probs` on labels `y`."""
    logs = np.log(np.clip(probs, EPS, 1.0))
    rows = np.arange(len(y))

    def log_loss(log_t):
        return -np.mean(log_softmax(logs / np.exp(log_t), axis=1)[rows, y])

    result = minimize_scalar(log_loss, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(result.x))
