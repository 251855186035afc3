"""Everything the report reads from a run directory, for one model or stack at a time."""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from challenge.errors import DataError, DataWarning
from folds.store import RunDir


@dataclass
class ModelResult:
    name: str
    metrics: dict
    oof: np.ndarray
    config: dict
    histories: dict[int, pd.DataFrame] = field(default_factory=dict)
    tensorboard: list[Path] = field(default_factory=list)

    @property
    def is_stack(self) -> bool:
        return self.name.startswith("stack-")

    @property
    def kind(self) -> str:
        if self.is_stack:
            return "stack of " + ", ".join(self.config.get("models", [])) if self.config.get("models") else "stack"
        return str(self.config.get("model", self.name))

    @property
    def fold_scores(self) -> np.ndarray:
        return np.array([f["weighted_f1"] for f in self.metrics.get("folds", [])], dtype=float)

    @property
    def train_minutes(self) -> float:
        return float(self.metrics.get("train_seconds", 0.0)) / 60


def read_history(path: Path) -> pd.DataFrame:
    """A fold's CSVLogger file; a resumed fold may log an epoch twice, the last entry wins."""
    history = pd.read_csv(path)
    if "epoch" in history.columns:
        history = history.drop_duplicates("epoch", keep="last").sort_values("epoch").reset_index(drop=True)
    return history


def load_model(run: RunDir, name: str, n_rows: int) -> ModelResult:
    store = run.model(name)
    oof = store.oof()
    if oof.shape != (n_rows, len(run.classes())):
        raise DataError(f"{store.dir / 'oof.npy'} has shape {oof.shape}; the run has {n_rows} training "
                        f"rows and {len(run.classes())} classes. Retrain {name} in this run.")
    config = store.config() if (store.dir / "config.json").is_file() else {}
    histories, boards = {}, []
    for fold_dir in sorted(store.dir.glob("fold*"), key=lambda p: p.name):
        suffix = fold_dir.name.removeprefix("fold")
        if not suffix.isdigit():
            continue
        k = int(suffix)
        if (fold_dir / "history.csv").is_file():
            try:
                histories[k] = read_history(fold_dir / "history.csv")
            except (pd.errors.ParserError, pd.errors.EmptyDataError):
                warnings.warn(f"{fold_dir / 'history.csv'} could not be read; its curves are left out.",
                              DataWarning, stacklevel=2)
        if (fold_dir / "tensorboard").is_dir():
            boards.append(fold_dir / "tensorboard")
    return ModelResult(name, store.metrics(), oof, config, histories, boards)


def run_info(run: RunDir) -> dict:
    path = run.root / "run.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def read_products(run: RunDir, data_dir: str | Path | None = None) -> pd.DataFrame | None:
    """Training products (designation, description, image_path) in the run's row order, or None
    when the challenge folder named in run.json (or `data_dir`) is not on this machine."""
    from challenge.reader import read_challenge

    folder = Path(data_dir or run_info(run).get("data_dir", ""))
    if not str(folder) or not folder.is_dir():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reader's empty-title notice was shown at training time
        data = read_challenge(folder)
    index = run.train_index()
    missing = pd.Index(index).difference(data.train.index)
    if len(missing):
        raise DataError(f"{folder} does not hold the training rows of {run.root} ({len(missing)} of "
                        f"its product indices are missing). Pass --data-dir with the run's data.")
    return data.train.loc[index]
