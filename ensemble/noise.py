"""Confident learning on OOF probabilities: which training rows are probably mislabelled.

Per class j, the threshold t_j is the mean probability of class j over the rows labelled j (the
class's average self-confidence). A row labelled i is suspect when p_i < t_i while some other class
j has p_j >= t_j; the suspected class is the most probable such j. OOF probabilities matter: a model
that saw a row has learnt its label, right or wrong.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def class_thresholds(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    n_classes = probs.shape[1]
    thresholds = np.ones(n_classes)  # a class without rows can never be "above threshold"
    for c in np.unique(y):
        thresholds[c] = probs[y == c, c].mean()
    return thresholds


def find_label_issues(probs: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Suspect rows (positions into `probs`) with given/suspected class positions and confidences,
    the largest confidence gap first."""
    thresholds = class_thresholds(probs, y)
    rows = np.arange(len(y))
    given = probs[rows, y]
    above = probs >= thresholds
    above[rows, y] = False
    suspect = (given < thresholds[y]) & above.any(axis=1)
    candidates = np.where(above, probs, -1.0)
    suspected = candidates.argmax(axis=1)
    frame = pd.DataFrame({"row": rows, "given": y, "suspected": suspected, "given_confidence": given,
                          "suspected_confidence": probs[rows, suspected]})[suspect]
    frame["margin"] = frame["suspected_confidence"] - frame["given_confidence"]
    return frame.sort_values("margin", ascending=False, ignore_index=True)


def label_issue_report(probs: np.ndarray, y: np.ndarray, train_index: np.ndarray, classes) -> pd.DataFrame:
    """The CSV `train.py --exclude` reads: product index first, then codes and confidences."""
    issues = find_label_issues(probs, y)
    return pd.DataFrame({
        "index": train_index[issues["row"]],
        "given_code": classes.decode(issues["given"]),
        "suspected_code": classes.decode(issues["suspected"]),
        "given_confidence": issues["given_confidence"].round(4),
        "suspected_confidence": issues["suspected_confidence"].round(4),
    })
