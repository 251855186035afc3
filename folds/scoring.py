"""The challenge metric (weighted F1) with macro F1 and accuracy beside it."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score


def score(y_true, y_pred) -> dict:
    """Scores of integer class predictions (or of probabilities, which are arg-maxed)."""
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2:
        y_pred = y_pred.argmax(axis=1)
    return {
        "weighted_f1": float(f1_score(y_true, y_pred, average="weighted", zero_division=0)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
    }
