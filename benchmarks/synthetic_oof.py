"""Models that were never trained: OOF and test probabilities of the real shape, written into a run
the way `train.py` writes them, so the stacks can be timed at full size in seconds of set-up.

Each model's probabilities are a softmax of the one-hot label scaled by a per-model strength, plus
Gaussian noise, so the models are right most of the time and wrong in different places.
"""
from __future__ import annotations

import numpy as np
from scipy.special import softmax

from folds.store import FoldOutput, RunDir


def noisy_probabilities(rng, labels: np.ndarray, n_classes: int, strength: float) -> np.ndarray:
    logits = rng.normal(size=(len(labels), n_classes))
    logits[np.arange(len(labels)), labels] += strength
    return softmax(logits, axis=1).astype(np.float32)


def write_synthetic_models(run: RunDir, n_models: int, seed: int = 0) -> list[str]:
    """Write models `synthetic0..` into a prepared run and return their names."""
    rng = np.random.default_rng(seed)
    y, folds = run.train_labels(), run.folds()
    n_classes, n_test = len(run.classes()), len(run.test_index())
    fold_of_row = folds.to_numpy()
    names = []
    for m in range(n_models):
        name, strength = f"synthetic{m}", 1.5 + 0.5 * m
        store = run.model(name)
        store.save_config({"model": "synthetic", "strength": strength})
        test_labels = rng.integers(n_classes, size=n_test)
        for k in range(int(fold_of_row.max()) + 1):
            val_labels = y[fold_of_row == k]
            output = FoldOutput(noisy_probabilities(rng, val_labels, n_classes, strength),
                                noisy_probabilities(rng, test_labels, n_classes, strength))
            store.save_fold(k, output, val_labels)
        store.assemble(folds, y)
        names.append(name)
    return names
