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
    counts = labels.value_counts()
    if counts.min() < n_splits:
        raise DataError(too_small_message(counts, n_splits))
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    fold = np.empty(len(labels), dtype=np.int64)
    for k, (_, val_rows) in enumerate(splitter.split(np.zeros(len(labels)), labels.to_numpy())):
        fold[val_rows] = k
    return pd.Series(fold, index=labels.index, name="fold")


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def too_small_message(counts: pd.Series, n_splits: int) -> str:
    """Which classes have fewer training rows than `n_splits` stratified folds need, and the fixes:
    the most folds the smallest class allows, or merging/dropping the classes too small for any."""
    rows = {int(code): int(n) for code, n in counts[counts < n_splits].sort_values(kind="stable").items()}
    files = "X_train_update.csv and Y_train_CVw08PX.csv"
    if len(rows) == 1:
        (code, n), = rows.items()
        problem = f"prdtypecode {code} has {_rows(n)} in the training labels, fewer than"
        merge_or_drop = (f"merge class {code} into a related class or drop its {_rows(n)} from {files} "
                         f"(then use a new --run-dir)")
    else:
        shown = ", ".join(f"{code} ({_rows(n)})" for code, n in list(rows.items())[:10])
        more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
        problem = f"prdtypecodes {shown}{more} have fewer rows in the training labels than"
        merge_or_drop = (f"merge those classes into related ones or drop their rows from {files} "
                         f"(then use a new --run-dir)")
    singles = [str(code) for code, n in rows.items() if n == 1]
    most = min((n for n in rows.values() if n >= 2), default=None)
    if not singles:
        fix = f"pass --n-folds {most} (the most that {_rows(most)} allow), or {merge_or_drop}"
    else:  # one row cannot be in a training and a validation fold at once
        fix = f"{merge_or_drop} (no number of folds can split a class of one row: {', '.join(singles)})"
        if most:
            fix += f"; or merge/drop only {', '.join(singles)} and pass --n-folds {most}"
    return f"{problem} {n_splits} stratified folds need (a row of every class in each fold). Fix: {fix}."


def folds_fingerprint(folds: pd.Series) -> str:
    payload = folds.index.astype(str).str.cat(sep=",") + "|" + ",".join(map(str, folds.to_numpy()))
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def read_folds(path: Path) -> pd.Series:
    frame = pd.read_csv(path, index_col=0)
    return frame["fold"].astype("int64")


DEFAULT_FOLDS = 5


def ensure_folds(run_dir: Path, labels: pd.Series, n_splits: int | None = None, seed: int = 42) -> pd.Series:
    """Read the run's folds.csv, or create it (under the run lock) on the first call.

    `n_splits` None: the run's own number of folds, DEFAULT_FOLDS for a new run (so the second
    model of a `--n-folds 2` run needs no --n-folds); a number that differs from the run's is refused."""
    path = Path(run_dir) / "folds.csv"
    with locked(Path(run_dir) / ".lock"):
        if not path.is_file():
            folds = make_folds(labels, n_splits or DEFAULT_FOLDS, seed)
            write_bytes_atomic(path, lambda f: f.write(folds.rename_axis("index").to_csv().encode()))
            return folds
    folds = read_folds(path)
    if not folds.index.equals(labels.index):
        raise DataError(
            f"{path} was made for other training rows ({len(folds)} rows) than the data given now "
            f"({len(labels)} rows). A run directory belongs to one dataset: use a new --run-dir."
        )
    if n_splits is not None and folds.nunique() != n_splits:
        raise DataError(
            f"{path} has {folds.nunique()} folds but --n-folds is {n_splits}. Every model of a run "
            f"uses the same folds: drop --n-folds or use a new --run-dir."
        )
    return folds
