"""What a competitor reads off one model's out-of-fold predictions: the per-class report, the
normalised confusion matrix, the confusions worth knowing and the majority-class warning."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import classification_report, confusion_matrix

from reporting.names import code_label


def class_report(y_true: np.ndarray, y_pred: np.ndarray, codes: list[int],
                 names: dict[int, str]) -> tuple[pd.DataFrame, dict]:
    """One row per class (codes in the run's order): precision, recall, F1, true and predicted
    counts; and scikit-learn's macro and weighted averages ({"macro": {...}, "weighted": {...}})."""
    positions = list(range(len(codes)))
    report = classification_report(y_true, y_pred, labels=positions, output_dict=True, zero_division=0)
    rows = [report[str(p)] for p in positions]
    averages = {kind: {"precision": report[f"{kind} avg"]["precision"], "recall": report[f"{kind} avg"]["recall"],
                       "f1": report[f"{kind} avg"]["f1-score"], "support": int(report[f"{kind} avg"]["support"])}
                for kind in ("macro", "weighted")}
    frame = pd.DataFrame({
        "code": codes,
        "name": [names.get(c, "") for c in codes],
        "precision": [r["precision"] for r in rows],
        "recall": [r["recall"] for r in rows],
        "f1": [r["f1-score"] for r in rows],
        "support": np.bincount(y_true, minlength=len(codes)),
        "predicted": np.bincount(y_pred, minlength=len(codes)),
    })
    return frame, averages


def normalised_confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(counts, row-normalised shares): row = true class, column = predicted class."""
    counts = confusion_matrix(y_true, y_pred, labels=list(range(n_classes)))
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape, dtype=float), where=totals > 0)
    return counts, shares


@dataclass
class Confusion:
    true_code: int
    predicted_code: int
    share: float
    count: int
    support: int

    def sentence(self, names: dict[int, str]) -> str:
        return (f"class {code_label(self.true_code, names)} taken for "
                f"{code_label(self.predicted_code, names)} in {self.share:.0%} of cases "
                f"({self.count} of {self.support})")


def notable_confusions(counts: np.ndarray, shares: np.ndarray, codes: list[int],
                       threshold: float = 0.1, min_count: int = 3) -> list[Confusion]:
    """Off-diagonal cells where at least `threshold` of a class (and `min_count` rows, so one
    stray row of a tiny class does not count) went to another class; largest share first."""
    found = []
    for t, p in zip(*np.nonzero((shares >= threshold) & (counts >= min_count))):
        if t != p:
            found.append(Confusion(codes[t], codes[p], float(shares[t, p]), int(counts[t, p]),
                                   int(counts[t].sum())))
    return sorted(found, key=lambda c: (-c.share, -c.count))


def majority_warning(y_true: np.ndarray, y_pred: np.ndarray, codes: list[int],
                     names: dict[int, str]) -> str | None:
    """A warning when most rows are predicted as the most frequent class (more than it really
    holds): the sign of a model that has learned the class prior and little else."""
    majority = int(np.bincount(y_true, minlength=len(codes)).argmax())
    predicted_share = float(np.mean(y_pred == majority))
    true_share = float(np.mean(y_true == majority))
    if predicted_share <= 0.5 or predicted_share <= true_share:
        return None
    never = int(np.sum(np.bincount(y_pred, minlength=len(codes)) == 0))
    unpredicted = f"; {never} of {len(codes)} classes are never predicted" if never else ""
    return (f"predicts the majority class {code_label(codes[majority], names)} for "
            f"{predicted_share:.0%} of rows, though only {true_share:.0%} belong to it{unpredicted}. "
            f"It has learned little beyond the class frequencies: check its inputs, learning rate and "
            f"class weights.")


def confident_mistakes(oof: np.ndarray, y_true: np.ndarray, limit: int) -> pd.DataFrame:
    """The `limit` wrong predictions made with the highest probability (row positions in X_train order)."""
    y_pred = oof.argmax(axis=1)
    wrong = np.flatnonzero(y_pred != y_true)
    confidence = oof[wrong, y_pred[wrong]]
    order = wrong[np.argsort(-confidence, kind="stable")][:limit]
    return pd.DataFrame({"row": order, "true": y_true[order], "predicted": y_pred[order],
                         "confidence": oof[order, y_pred[order]],
                         "true_probability": oof[order, y_true[order]]})
