"""Label encoding: the ordered list of prdtypecodes, stored once per run with a fingerprint.

Every array of probabilities in a run has its columns in this order; anything that combines or
decodes probabilities compares fingerprints first.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from challenge.errors import DataError


class ClassIndex:
    def __init__(self, codes):
        self.codes = [int(c) for c in codes]
        self._position = {c: i for i, c in enumerate(self.codes)}

    @classmethod
    def from_labels(cls, labels: pd.Series) -> "ClassIndex":
        return cls(sorted(int(c) for c in pd.unique(labels)))

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.codes).encode()).hexdigest()[:16]

    def __len__(self) -> int:
        return len(self.codes)

    def __eq__(self, other) -> bool:
        return isinstance(other, ClassIndex) and self.codes == other.codes

    def encode(self, labels) -> np.ndarray:
        unknown = sorted({int(c) for c in labels} - set(self._position))
        if unknown:
            raise DataError(
                f"Labels {unknown[:10]} are not among this run's {len(self)} classes "
                f"(fingerprint {self.fingerprint}). Use a new --run-dir for a different label set."
            )
        return np.array([self._position[int(c)] for c in labels], dtype=np.int64)

    def decode(self, positions) -> np.ndarray:
        return np.asarray(self.codes, dtype=np.int64)[np.asarray(positions)]

    def to_json(self) -> dict:
        return {"codes": self.codes, "fingerprint": self.fingerprint}

    @classmethod
    def load(cls, path: Path) -> "ClassIndex":
        payload = json.loads(Path(path).read_text())
        index = cls(payload["codes"])
        if index.fingerprint != payload.get("fingerprint"):
            raise DataError(f"{path} is corrupt: its fingerprint does not match its codes. Delete the run directory and train again.")
        return index

    def check_same(self, other: "ClassIndex", where: str) -> None:
        if self != other:
            added = sorted(set(other.codes) - set(self.codes))
            dropped = sorted(set(self.codes) - set(other.codes))
            raise DataError(
                f"{where}: the label set differs from the run's classes.json (fingerprint "
                f"{self.fingerprint} vs {other.fingerprint}; new codes {added[:10]}, missing codes "
                f"{dropped[:10]}). Predictions from different label sets cannot be mixed: use a new "
                f"--run-dir for this data."
            )
