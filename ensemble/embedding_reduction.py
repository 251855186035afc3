"""Shrink each fold model's embedding so that the test rows every fold embedded can align them.

An orthogonal Procrustes fit of D dimensions needs at least D common rows, and is only stable with
a good margin: on a small catalogue (208 test rows) a 512-d image head cannot be aligned. Each
fold's embedding is therefore first reduced to its leading PCA components, fitted on that fold's
own rows (its validation and test rows: every row the fold model embedded without training on it),
keeping at most half the common rows, and no more than explain 99% of each fold's variance (the
rest is fold-specific noise that cannot be aligned and that the fusion net's per-feature
normalisation would blow up to the signal's scale). The leading components of two fold models that learnt much
the same thing span much the same subspace, up to the rotation and sign flips the alignment undoes.
"""
from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA

MIN_COMPONENTS = 2
KEEP_VARIANCE = 0.99


def alignable_width(common_rows: int) -> int:
    """The most dimensions `common_rows` shared rows align with a margin: half of them."""
    return common_rows // 2


def reduce_fold_embeddings(vals: list[np.ndarray], tests: list[np.ndarray], max_components: int,
                           keep_variance: float = KEEP_VARIANCE, seed: int = 0):
    """Each fold's (validation, test) embeddings projected on the fold's own leading components:
    as many as the fold needing most of them takes to explain `keep_variance`, at most
    `max_components`. Returns (vals, tests, components kept)."""
    pcas = [PCA(max_components, random_state=seed).fit(np.vstack([val, test])) for val, test in zip(vals, tests)]
    needed = [int(np.searchsorted(np.cumsum(p.explained_variance_ratio_), keep_variance)) + 1 for p in pcas]
    kept = max(MIN_COMPONENTS, min(max(needed), max_components))
    reduced_vals = [p.transform(val)[:, :kept].astype(np.float32) for p, val in zip(pcas, vals)]
    reduced_tests = [p.transform(test)[:, :kept].astype(np.float32) for p, test in zip(pcas, tests)]
    return reduced_vals, reduced_tests, kept
