"""Class votes of the k most similar training rows: a model that only looks things up.

Product catalogues are full of near-duplicate listings (the same item from several sellers, a
title reused across sizes or colours), and a row's nearest training rows often carry its label
when a classifier's smooth boundary does not. The votes are scikit-learn's KNeighborsClassifier on
cosine similarity, brute force (exact; it computes the similarities in chunks of
`sklearn.set_config(working_memory=...)` megabytes, so memory stays bounded at any size), each
neighbour weighted by similarity**power: a near-duplicate outvotes a crowd of loose matches.

The representation is another model's (the TF-IDF matrix, frozen e5 embeddings, cached image
features): models/text/knn_text.py and models/image/knn_image.py pick it; this module only votes.
"""
from __future__ import annotations

import functools
import time

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import normalize

from folds.store import FoldOutput
from models.core.registry import ModelSpec, register

VOTE_DEFAULTS = {
    "k": 20,  # neighbours that vote
    "power": 3.0,  # each vote weighs similarity**power (0: plain majority of the k)
    "n_jobs": 1,  # query chunks computed at once (threads); 1 keeps a Ray/xdist worker to its core
}

# A row whose neighbours are all at similarity <= 0 (an empty text) still gets their plain vote.
FLOOR = 1e-6


def similarity_weights(distances: np.ndarray, power: float) -> np.ndarray:
    """KNeighborsClassifier's `weights` callable: cosine distances -> similarity**power."""
    return np.clip(1.0 - distances, 0.0, None) ** power + FLOOR


def unit_blocks(blocks: list) -> np.ndarray | sp.csr_matrix:
    """Each block (e.g. title embedding, description embedding) scaled to unit length per row, then
    side by side, so that each block counts equally in the cosine of the whole."""
    scaled = [normalize(b) for b in blocks]
    if any(sp.issparse(b) for b in scaled):
        return sp.hstack(scaled, format="csr")
    return np.hstack(scaled).astype(np.float32)


def vote(x_train, y_train: np.ndarray, queries: list, n_classes: int, hp: dict) -> list[np.ndarray]:
    """(n_rows, n_classes) float32 vote shares for each array in `queries`, rows summing to 1."""
    k = min(int(hp["k"]), x_train.shape[0])
    knn = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute", n_jobs=hp["n_jobs"],
                               weights=functools.partial(similarity_weights, power=float(hp["power"])))
    knn.fit(x_train, y_train)
    outputs = []
    for x in queries:
        probs = np.zeros((x.shape[0], n_classes), dtype=np.float32)
        probs[:, knn.classes_] = knn.predict_proba(x)  # classes absent from the fold's training rows: 0
        outputs.append(probs)
    return outputs


def neighbour_fold(representation, data, hp: dict) -> FoldOutput:
    """One fold: representation(data, hp) -> (train, val, test) rows, then their neighbour votes.
    No embedding for the fusion net: the votes are the whole of what this model knows."""
    started = time.time()
    x_train, x_val, x_test = representation(data, hp)
    val_probs, test_probs = vote(x_train, data.y_train, [x_val, x_test], data.n_classes, hp)
    return FoldOutput(val_probs, test_probs,
                      info={"seconds": round(time.time() - started, 1), "k": int(hp["k"]),
                            "dimensions": int(x_train.shape[1])})


def neighbour_search_space(hp) -> dict:
    return {"k": hp.Int("k", 5, 50, step=5), "power": hp.Float("power", 0.0, 6.0, step=1.0)}


def register_neighbour_model(name: str, inputs: str, representation, defaults: dict, description: str) -> None:
    """A knn model: `representation(data, hp)` gives the fold's (train, val, test) rows, they vote."""
    register(ModelSpec(name=name, inputs=inputs, defaults=defaults,
                       train_fold=functools.partial(neighbour_fold, representation),
                       search_space=neighbour_search_space, tags=["sklearn", inputs], description=description))
