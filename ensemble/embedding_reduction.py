"""Shrink each fold model's embedding so that the test rows every fold embedded can align them.

An orthogonal Procrustes fit of D dimensions needs at least D common rows, and is only stable with
a good margin: on a small catalogue (208 test rows) a 512-d image head cannot be aligned. Each
fold's embedding is therefore first reduced to its leading PCA components, fitted on that fold's
own rows (its validation and test rows: every row the fold model embedded without training on it),
keeping at most half the common rows. The leading components of two fold models that learnt much
the same thing span much the same subspace, up to the rotation and sign flips the alignment undoes.
"""
from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA

MIN_COMPONENTS = 2


def alignable_width(common_rows: int) -> int:
    """The most dimensions `common_rows` shared rows align with a margin: half of them."""
    return common_rows // 2


def reduce_fold_embeddings(vals: list[np.ndarray], tests: list[np.ndarray], n_components: int,
                           seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each fold's (validation, test) embeddings projected on the fold's own leading components."""
    reduced_vals, reduced_tests = [], []
    for val, test in zip(vals, tests):
        pca = PCA(n_components, random_state=seed).fit(np.vstack([val, test]))
        reduced_vals.append(pca.transform(val).astype(np.float32))
        reduced_tests.append(pca.transform(test).astype(np.float32))
    return reduced_vals, reduced_tests
