"""Inner splits of a fold's training rows: the tfidf model's calibration folds, a stack's
early-stopping hold-out and its bias tuning's inner folds.

The run's folds need `n_folds` rows of every class (folds/splits.py), so under `--n-folds 2` a class
of 2 rows has a single row in each fold's training part. That row cannot be held out and trained
on at once: it stays in every inner training part, and only the other classes are split. The
number of inner folds shrinks to what the smallest of those classes allows (at least 2).
"""
from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split

from challenge.errors import DataError


def single_row_classes(y: np.ndarray) -> np.ndarray:
    """Class positions that have exactly one row in `y`."""
    return np.flatnonzero(np.bincount(y) == 1)


def _splittable_rows(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows of classes with two rows or more, rows of single-row classes)."""
    single = np.isin(y, single_row_classes(y))
    if single.all():
        raise DataError(f"Every class has a single row among these {len(y)} training rows, so no rows can be "
                        f"held out to calibrate or stop on. Use fewer --n-folds or merge the smallest classes.")
    return np.flatnonzero(~single), np.flatnonzero(single)


def inner_splits(y: np.ndarray, wanted: int, seed: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(training rows, held-out rows) of up to `wanted` stratified folds of the rows of `y`.

    Without a single-row class and without a seed these are scikit-learn's own `cv=wanted` splits
    (StratifiedKFold, unshuffled), so results on ordinary data do not change."""
    rows, kept = _splittable_rows(y)
    counts = np.bincount(y[rows])
    n_splits = max(2, min(wanted, int(counts[counts > 0].min())))
    splitter = StratifiedKFold(n_splits, shuffle=seed is not None, random_state=seed)
    return [(np.sort(np.concatenate([rows[train], kept])), rows[held])
            for train, held in splitter.split(np.zeros(len(rows)), y[rows])]


def holdout(x: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple:
    """x_fit, x_stop, y_fit, y_stop, as train_test_split returns them: a stratified `fraction` of
    the rows held out for early stopping. Without a single-row class they are train_test_split's own."""
    rows, kept = _splittable_rows(y)
    fit, stop = train_test_split(rows, test_size=fraction, random_state=seed, stratify=y[rows])
    fit = np.concatenate([fit, kept])
    return x[fit], x[stop], y[fit], y[stop]
