"""The TF-IDF matrix of a whole corpus, built once and shared by every fold of a run.

TF-IDF needs no labels, so its vocabulary and document frequencies can be learnt from every text of
the dataset, training, validation and test rows alike (the usual transductive step of text
competitions; no label of a validation row is seen). A row's vector is then a function of its text
alone, so the matrix of the corpus's distinct texts is built once, cached on disk, and each fold
picks its rows out of it by text instead of fitting and transforming its own: at the challenge's
size the vectorisers are about half of a fold's time (docs/benchmarks.md#tfidf).

The cache key is the vectoriser settings and the sorted distinct texts, so a fold (which holds every
training and test text of the run) finds the entry another fold wrote, in this process or another.
The entry is written under a lock and renamed into place when complete, as the feature caches are.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from folds.atomic import locked, write_bytes_atomic

# The field separator of a two-column row's key: a control character cleaned text never holds.
SEPARATOR = "\x1f"


def row_keys(x: np.ndarray) -> np.ndarray:
    """One string per row: the text, or the title and description joined."""
    if np.ndim(x) == 1:
        return np.asarray(x, dtype=object)
    return np.array([SEPARATOR.join(row) for row in x], dtype=object)


def corpus_key(settings: dict, distinct: np.ndarray) -> str:
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for text in distinct:
        digest.update(text.encode())
        digest.update(b"\x1e")
    return f"tfidf-{len(distinct)}-{digest.hexdigest()[:16]}"


def corpus_matrices(parts: list[np.ndarray], make_vectorizer, settings: dict, cache_dir: str | Path,
                    prepare=lambda x: x) -> list[sp.csr_matrix]:
    """The TF-IDF rows of each array in `parts`, from a vectoriser fitted on all their distinct rows.

    make_vectorizer() builds the (unfitted) vectoriser; `settings` are what it depends on (the cache
    key); prepare(x) turns an array of rows into the vectoriser's input (e.g. cutting descriptions).
    """
    keys = [row_keys(x) for x in parts]
    distinct, inverse = np.unique(np.concatenate(keys), return_inverse=True)
    folder = Path(cache_dir) / "tfidf"
    name = corpus_key(settings, distinct)
    target = folder / f"{name}.npz"
    folder.mkdir(parents=True, exist_ok=True)
    with locked(folder / f".{name}.lock"):  # folds started at once build it once
        if not target.is_file():
            rows = np.concatenate(parts)[np.unique(inverse, return_index=True)[1]]
            # ColumnTransformer returns a dense array when few cells are zero (tiny corpora)
            matrix = sp.csr_matrix(make_vectorizer().fit_transform(prepare(rows)))
            write_bytes_atomic(target, lambda f: sp.save_npz(f, matrix, compressed=False))
    matrix = sp.load_npz(target).tocsr()
    bounds = np.cumsum([len(k) for k in keys])[:-1]
    return [matrix[rows] for rows in np.split(inverse, bounds)]
