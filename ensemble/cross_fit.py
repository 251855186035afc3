"""Cross-validate a meta-learner on the run's own folds, so that its predictions are out-of-fold too.

For fold k the meta-learner is fitted on the OOF rows of the other folds only, predicts fold k and
the test set; the test prediction is the mean over folds. Its outputs are stored like a model's, so
a stack can be submitted, compared or stacked again.
"""
from __future__ import annotations

import shutil
import time
from typing import Callable, NamedTuple

import numpy as np

from challenge.errors import DataError
from folds.store import FoldOutput, RunDir


class FitResult(NamedTuple):
    """What a fit_predict may return instead of a bare list: the predictions plus what it learned
    (blend weights, temperatures, biases...), stored in the fold's done.json."""

    predictions: list
    info: dict


# fit_predict(x_train, y_train, x_predict_list, n_classes, seed) -> list of probability arrays or FitResult
FitPredict = Callable[[np.ndarray, np.ndarray, list, int, int], "list | FitResult"]


def as_fit_result(result) -> FitResult:
    return result if isinstance(result, FitResult) else FitResult(list(result), {})


def cross_fit(run: RunDir, name: str, config: dict, x_oof: np.ndarray, x_test: "np.ndarray | list",
              fit_predict: FitPredict, seed: int = 42) -> dict:
    """`x_test` is one array, or a list with one array per fold (the fusion net's fold-k test
    embeddings come from the fold-k models)."""
    classes, folds = run.classes(), run.folds()
    y = run.train_labels()
    store = run.model(name)
    try:
        store.save_config(config)
    except DataError:
        # A stack is cheap to recompute: a new configuration replaces the old one.
        shutil.rmtree(store.dir)
        store.save_config(config)
    done = [k for k in range(int(folds.max()) + 1) if store.fold_done(k)]
    for k, val_rows, result in fold_predictions(folds.to_numpy(), y, len(classes), x_oof, x_test, fit_predict,
                                                seed, skip=done):
        store.save_fold(k, FoldOutput(*result.predictions, info=result.info), y[val_rows])
    return store.assemble(folds, y)


def fold_predictions(fold_of_row: np.ndarray, y: np.ndarray, n_classes: int, x_oof: np.ndarray, x_test,
                     fit_predict: FitPredict, seed: int = 42, skip=()):
    """Yield (k, fold k's row mask, FitResult with [fold k's probabilities, test probabilities]) for
    every fold not in `skip`, the combiner fitted on the other folds' rows only."""
    for k in range(int(fold_of_row.max()) + 1):
        if k in skip:
            continue
        started = time.time()
        train_rows, val_rows = fold_of_row != k, fold_of_row == k
        test_k = x_test[k] if isinstance(x_test, list) else x_test
        result = as_fit_result(fit_predict(x_oof[train_rows], y[train_rows], [x_oof[val_rows], test_k],
                                           n_classes, seed + k))
        yield k, val_rows, FitResult(result.predictions, {**result.info, "seconds": round(time.time() - started, 1)})
