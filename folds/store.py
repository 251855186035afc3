"""The run directory: where every stage reads its inputs and writes its outputs.

    runs/<run>/
      run.json, classes.json, folds.csv, train_index.npy, test_index.npy, train_labels.npy
      <model>/config.json, fold<k>/{val_probs,test_probs,val_embed,test_embed}.npy + done.json
      <model>/oof.npy, test.npy, metrics.json

A fold counts as finished only once its `done.json` exists, and that file is written last, so a
fold killed half-way is simply trained again (resuming from its Keras backup).
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from challenge.errors import DataError
from challenge.labels import ClassIndex
from folds.atomic import locked, save_json, save_npy
from folds.scoring import score
from folds.splits import ensure_folds, folds_fingerprint, read_folds


def _index_hash(index: pd.Index) -> str:
    return hashlib.sha256(index.astype(str).str.cat(sep=",").encode()).hexdigest()[:16]


def data_identity(data) -> dict:
    """What run.json records of a dataset: its row counts and index hashes."""
    return {"train_rows": len(data.train), "test_rows": len(data.test),
            "train_index": _index_hash(data.train.index), "test_index": _index_hash(data.test.index)}


@dataclass
class FoldOutput:
    """What training one fold produces: probabilities (and embeddings) for its validation rows
    and for the whole test set."""

    val_probs: np.ndarray
    test_probs: np.ndarray
    val_embed: np.ndarray | None = None
    test_embed: np.ndarray | None = None
    info: dict = field(default_factory=dict)


class RunDir:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    @property
    def lock(self):
        return locked(self.root / ".lock")

    # -- run-level files, written once -------------------------------------------------------
    def prepare(self, data, n_folds: int | None = None, seed: int = 42) -> tuple[ClassIndex, pd.Series]:
        """Create (or check) run.json, classes.json and folds.csv for this data (n_folds: see
        ensure_folds)."""
        self.root.mkdir(parents=True, exist_ok=True)
        classes = ClassIndex.from_labels(data.labels)
        identity = data_identity(data)
        with self.lock:
            run_json = self.root / "run.json"
            if run_json.is_file():
                known = json.loads(run_json.read_text())
                if {k: known.get(k) for k in identity} != identity:
                    raise DataError(
                        f"{self.root} was made for another dataset ({known.get('data_dir')}: "
                        f"{known.get('train_rows')} train / {known.get('test_rows')} test rows) than "
                        f"{data.data_dir} ({identity['train_rows']} / {identity['test_rows']}). "
                        f"Use a new --run-dir for this data."
                    )
            else:
                save_npy(self.root / "train_index.npy", data.train.index.to_numpy())
                save_npy(self.root / "test_index.npy", data.test.index.to_numpy())
                save_npy(self.root / "train_labels.npy", data.labels.to_numpy())
                save_json(run_json, {"data_dir": str(data.data_dir.resolve()), **identity,
                                     "created": time.strftime("%Y-%m-%d %H:%M:%S")})
            path = self.root / "classes.json"
            if path.is_file():
                ClassIndex.load(path).check_same(classes, str(data.data_dir))
            else:
                save_json(path, classes.to_json())
        folds = ensure_folds(self.root, data.labels, n_folds, seed)
        return classes, folds

    def classes(self) -> ClassIndex:
        path = self.root / "classes.json"
        if not path.is_file():
            raise DataError(f"{path} is missing: {self.root} is not a run directory yet. Train a model "
                            f"into it first (python train.py --run-dir {self.root} ...).")
        return ClassIndex.load(path)

    def folds(self) -> pd.Series:
        return read_folds(self.root / "folds.csv")

    def folds_fingerprint(self) -> str:
        return folds_fingerprint(self.folds())

    def test_index(self) -> np.ndarray:
        return np.load(self.root / "test_index.npy")

    def train_index(self) -> np.ndarray:
        return np.load(self.root / "train_index.npy")

    def train_labels(self) -> np.ndarray:
        """Training labels as class positions (columns of every probability array)."""
        return self.classes().encode(np.load(self.root / "train_labels.npy"))

    def model(self, name: str) -> "ModelStore":
        return ModelStore(self, name)

    def finished_models(self) -> list[str]:
        """Every model or stack of the run whose OOF and test predictions are assembled."""
        return sorted(p.parent.name for p in self.root.glob("*/metrics.json"))


class ModelStore:
    """The artifacts of one model (or stack) in a run."""

    def __init__(self, run: RunDir, name: str):
        self.run, self.name = run, name
        self.dir = run.root / name

    def fold_dir(self, k: int) -> Path:
        return self.dir / f"fold{k}"

    # -- configuration -------------------------------------------------------------------------
    def save_config(self, config: dict) -> None:
        """Record the resolved hyperparameters; refuse to mix folds trained with other ones."""
        path = self.dir / "config.json"
        stamped = {**config, "classes_fingerprint": self.run.classes().fingerprint,
                   "folds_fingerprint": self.run.folds_fingerprint()}
        with self.run.lock:
            if path.is_file():
                known = json.loads(path.read_text())
                if known != json.loads(json.dumps(stamped, default=str)):
                    changed = sorted(k for k in set(known) | set(stamped)
                                     if known.get(k) != json.loads(json.dumps(stamped.get(k), default=str)))
                    raise DataError(
                        f"{path} holds other settings ({', '.join(changed)} differ) and folds trained "
                        f"with them. Give this configuration its own name with --name, or delete "
                        f"{self.dir} to start over."
                    )
            else:
                save_json(path, stamped)

    def config(self) -> dict:
        path = self.dir / "config.json"
        if not path.is_file():
            raise DataError(f"{path} is missing: no model named {self.name!r} was trained in "
                            f"{self.run.root}. Trained here: {self.run.finished_models() or 'nothing yet'}.")
        return json.loads(path.read_text())

    def check_compatible(self) -> None:
        """Refuse predictions that were made with other classes or other folds than the run's."""
        config = self.config()
        classes = self.run.classes()
        if config.get("classes_fingerprint") != classes.fingerprint:
            raise DataError(
                f"{self.dir}: its class fingerprint {config.get('classes_fingerprint')} is not the run's "
                f"{classes.fingerprint} ({self.run.root / 'classes.json'}); it was trained on another "
                f"label set or copied from another run. Retrain it in this run."
            )
        if config.get("folds_fingerprint") != self.run.folds_fingerprint():
            raise DataError(
                f"{self.dir}: it was trained on other folds than {self.run.root / 'folds.csv'}, so its "
                f"out-of-fold predictions cannot be stacked with this run's. Retrain it in this run."
            )

    # -- folds ----------------------------------------------------------------------------------
    def fold_done(self, k: int) -> bool:
        return (self.fold_dir(k) / "done.json").is_file()

    def save_fold(self, k: int, output: FoldOutput, y_val: np.ndarray) -> dict:
        d = self.fold_dir(k)
        save_npy(d / "val_probs.npy", output.val_probs.astype(np.float32))
        save_npy(d / "test_probs.npy", output.test_probs.astype(np.float32))
        if output.val_embed is not None:
            save_npy(d / "val_embed.npy", output.val_embed.astype(np.float32))
            save_npy(d / "test_embed.npy", output.test_embed.astype(np.float32))
        summary = {"fold": k, **score(y_val, output.val_probs), **output.info}
        save_json(d / "done.json", summary)  # last: marks the fold as finished
        return summary

    def fold_summary(self, k: int) -> dict:
        return json.loads((self.fold_dir(k) / "done.json").read_text())

    def load_fold(self, k: int, what: str = "val_probs") -> np.ndarray:
        return np.load(self.fold_dir(k) / f"{what}.npy")

    # -- assembled outputs ---------------------------------------------------------------------
    def assemble(self, folds: pd.Series, y: np.ndarray) -> dict | None:
        """Build oof.npy, test.npy and metrics.json once every fold is finished; None before."""
        n_folds = int(folds.max()) + 1
        if not all(self.fold_done(k) for k in range(n_folds)):
            return None
        with self.run.lock:
            fold_of_row = folds.to_numpy()
            first = self.load_fold(0)
            oof = np.zeros((len(folds), first.shape[1]), dtype=np.float32)
            tests = []
            for k in range(n_folds):
                rows = np.flatnonzero(fold_of_row == k)
                val = self.load_fold(k)
                if len(val) != len(rows):
                    raise DataError(f"{self.fold_dir(k)}: {len(val)} validation rows, folds.csv says "
                                    f"{len(rows)}. Delete that fold folder and train it again.")
                oof[rows] = val
                tests.append(self.load_fold(k, "test_probs"))
            test = np.mean(tests, axis=0).astype(np.float32)
            per_fold = [self.fold_summary(k) for k in range(n_folds)]
            metrics = {"model": self.name, "oof": score(y, oof), "folds": per_fold,
                       "train_seconds": float(sum(f.get("seconds", 0.0) for f in per_fold))}
            save_npy(self.dir / "oof.npy", oof)
            save_npy(self.dir / "test.npy", test)
            save_json(self.dir / "metrics.json", metrics)  # last: marks the model as assembled
        return metrics

    def is_assembled(self) -> bool:
        return (self.dir / "metrics.json").is_file()

    def metrics(self) -> dict:
        return json.loads((self.dir / "metrics.json").read_text())

    def oof(self) -> np.ndarray:
        self._require_assembled()
        return np.load(self.dir / "oof.npy")

    def test(self) -> np.ndarray:
        self._require_assembled()
        return np.load(self.dir / "test.npy")

    def _require_assembled(self) -> None:
        if not self.is_assembled():
            done = [p.name for p in sorted(self.dir.glob("fold*")) if (p / "done.json").is_file()]
            if self.name.startswith("stack-"):
                todo = f"python -m ensemble --method {self.name[len('stack-'):]} --run-dir {self.run.root}"
            else:
                todo = f"python train.py --model {self.name} --fold all --run-dir {self.run.root}"
            raise DataError(f"{self.dir} has no assembled predictions yet (finished folds: "
                            f"{done or 'none'}). Finish it with: {todo}")
