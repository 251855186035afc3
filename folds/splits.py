"""One stratified fold assignment per run, shared by every model of the run."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from challenge.errors import DataError
from folds.atomic import locked, write_bytes_atomic


def make_folds(labels: pd.Series, n_splits: int = 5, seed: int = 42) -> pd.Series:
    """fold number per training row, indexed like `labels`."""
    smallest = labels.value_counts().min()
    if smallest < n_splits:
        rare = labels.value_counts()
        rare = rare[rare < n_splits]
        raise DataError(
            f"Classes {list(rare.index)[:10]} have fewer than {n_splits} training rows "
            f"({list(rare.values)[:10]}), too few for {n_splits}-fold stratification. "
            f"Use fewer folds (--n-folds) or add rows for those classes."
        )
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    fold = np.empty(len(labels), dtype=np.int64)
    for k, (_, val_rows) in enumerate(splitter.split(np.zeros(len(labels)), labels.to_numpy())):
        fold[val_rows] = k
    return pd.Series(fold, index=labels.index, name="fold")


def folds_fingerprint(folds: pd.Series) -> str:
    payload = folds.index.astype(str).str.cat(sep=",") + "|" + ",".join(map(str, folds.to_numpy()))
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def read_folds(path: Path) -> pd.Series:
    frame = pd.read_csv(path, index_col=0)
    return frame["fold"].astype("int64")


def ensure_folds(run_dir: Path, labels: pd.Series, n_splits: int = 5, seed: int = 42) -> pd.Series:
    """Read the run's folds.csv, or create it (under the run lock) on the first call."""
    path = Path(run_dir) / "folds.csv"
    with locked(Path(run_dir) / ".lock"):
        if not path.is_file():
            folds = make_folds(labels, n_splits, seed)
            write_bytes_atomic(path, lambda f: f.write(folds.rename_axis("index").to_csv().encode()))
            return folds
    folds = read_folds(path)
    if not folds.index.equals(labels.index):
        raise DataError(
            f"{path} was made for other training rows ({len(folds)} rows) than the data given now "
            f"({len(labels)} rows). A run directory belongs to one dataset: use a new --run-dir."
        )
    if folds.nunique() != n_splits:
        raise DataError(
            f"{path} has {folds.nunique()} folds but --n-folds is {n_splits}. Every model of a run "
            f"uses the same folds: drop --n-folds or use a new --run-dir."
        )
    return folds
