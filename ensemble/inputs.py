"""Gather the models a stack combines, after checking that they can be combined at all."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from challenge.errors import DataError
from folds.store import RunDir


@dataclass
class StackInputs:
    names: list[str]
    oof: list[np.ndarray]  # one (n_train, n_classes) array per model
    test: list[np.ndarray]  # one (n_test, n_classes) array per model


def load_stack_inputs(run: RunDir, names: list[str]) -> StackInputs:
    if not names:
        raise DataError(f"No models given. Assembled models in {run.root}: "
                        f"{', '.join(run.finished_models()) or 'none yet'}.")
    classes, n_train, n_test = run.classes(), len(run.train_index()), len(run.test_index())
    oof, test = [], []
    for name in names:
        store = run.model(name)
        store.check_compatible()
        o, t = store.oof(), store.test()
        if o.shape != (n_train, len(classes)) or t.shape != (n_test, len(classes)):
            raise DataError(
                f"{store.dir}: predictions of shape {o.shape} / {t.shape}, but the run has {n_train} "
                f"train rows, {n_test} test rows and {len(classes)} classes. Retrain {name} in this run."
            )
        oof.append(o)
        test.append(t)
    return StackInputs(list(names), oof, test)


def probability_features(probs: list[np.ndarray], extras: bool = False) -> np.ndarray:
    """Concatenated per-model probabilities, optionally with each model's max prob and entropy."""
    columns = list(probs)
    if extras:
        for p in probs:
            clipped = np.clip(p, 1e-9, 1.0)
            columns.append(p.max(axis=1, keepdims=True))
            columns.append(-(clipped * np.log(clipped)).sum(axis=1, keepdims=True))
    return np.hstack(columns).astype(np.float32)
