"""What a step costs: the reference figures of planner/reference_costs.json, scaled to the user's data
size and machine.

Every figure in the table was measured (or estimated, `"measured": false`) at some size on the
reference machine. A part's seconds at the user's size are `seconds * (size / rows) ** exponent`
(the size capped at `max_rows` where a part reads at most that many rows, as tfidf's SVD),
times how often the part runs (once per step, once per dataset, per fold, per fold and epoch, per
stacked model), times the machine factor: the user's probe time over the reference probe time for
the probe the entry names (planner/probe.py), 1 when there is none.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

REFERENCE_COSTS = Path(__file__).with_name("reference_costs.json")


@dataclass(frozen=True)
class DataSize:
    """How big the user's run is: rows, images and folds."""

    train_rows: int
    test_rows: int
    images: int = 0  # training + test images found (0: a text-only folder)
    n_folds: int = 5

    @classmethod
    def of(cls, data, n_folds: int = 5) -> "DataSize":
        """Rows of a ChallengeData, and its images when most of a sample of them exist."""
        paths = list(data.train["image_path"]) + list(data.test["image_path"])
        sample = paths[:: max(1, len(paths) // 200)]
        found = sum(Path(p).is_file() for p in sample)
        images = len(paths) if sample and found >= 0.9 * len(sample) else 0
        return cls(len(data.train), len(data.test), images, n_folds)

    @property
    def fold_train_rows(self) -> float:
        return self.train_rows * (self.n_folds - 1) / self.n_folds

    @property
    def fold_predict_rows(self) -> float:
        """A fold's validation rows plus the test rows: what each fold predicts."""
        return self.train_rows / self.n_folds + self.test_rows

    @property
    def all_rows(self) -> int:
        return self.train_rows + self.test_rows


@dataclass
class Work:
    """How much of a step is left to do: folds still to train (a resumed run skips finished ones),
    epochs per fold, feature passes (2 with mirrored images), models a stack takes in."""

    folds: int
    epochs: int = 1
    passes: int = 1
    models: int = 1
    dataset_cached: bool = False  # a fold already finished, so the once-per-dataset part is on disk
    # cost keys the plan trains before this step: a once-per-dataset part `"cached_by"` one of them
    # is on disk when this step starts (knn_tfidf reads the TF-IDF matrix tfidf cached)
    cached_by_earlier: frozenset = frozenset()


@dataclass
class Estimate:
    seconds: float
    peak_gb: float
    basis: str  # "reference" (measured figures) or "estimate", + " x probe" when scaled by this machine
    parts: dict = field(default_factory=dict)
    once_seconds: float = 0.0  # of `seconds`, what runs once however many folds (start-up, a dataset cache)
    machine_factor: float = 1.0  # already in `seconds`: this machine's time over the reference's (probe or past run)
    epoch_reference_s: float = 0.0  # the parts that run every epoch, at the reference's figures (no machine factor)

    @property
    def minutes(self) -> float:
        return self.seconds / 60

    def scaled(self, factor: float) -> "Estimate":
        """The same estimate with its times multiplied by `factor` (a run's measured pace)."""
        if factor == 1.0:
            return self
        return Estimate(self.seconds * factor, self.peak_gb, self.basis, self.parts, self.once_seconds * factor,
                        self.machine_factor, self.epoch_reference_s)


def load_reference(path: str | Path = REFERENCE_COSTS) -> dict:
    return json.loads(Path(path).read_text())


class CostModel:
    """Seconds and peak memory of a step on this machine and data, from a reference table."""

    def __init__(self, table: dict, size: DataSize, device: str = "cpu", probe_ratios: dict | None = None):
        self.table, self.size, self.device = table, size, device
        self.probe_ratios = probe_ratios or {}  # probe name -> this machine's seconds / reference seconds
        self.past_factors: dict[str, float] = {}  # cost key -> an earlier run's time here over the reference figures
        # cost key -> (its epochs' ratio, the rest's ratio), where a past run measured its epochs apart
        self.past_split: dict[str, tuple[float, float]] = {}

    def entry(self, key: str) -> dict:
        """The GPU figures where the table has them, else the CPU ones (tfidf, the stack and
        submit.py run on the CPU anyway)."""
        if self.device == "gpu" and key in self.table.get("gpu", {}):
            return self.table["gpu"][key]
        if key not in self.table["cpu"]:
            raise KeyError(f"no reference cost for {key!r} in the cost table")
        return self.table["cpu"][key]

    def on_gpu(self, key: str) -> bool:
        return self.device == "gpu" and key in self.table.get("gpu", {})

    def estimate(self, key: str, work: Work, with_fold_calls: bool = True) -> Estimate:
        entry = self.entry(key)
        specs = dict(entry["parts"])
        if with_fold_calls:  # the runner calls train.py once a fold: data read + text cleaning each time
            specs.update(self.table.get("runner", {}))
        parts = {name: self._part_seconds(part, work) for name, part in specs.items()}
        ratio = self.probe_ratios.get(entry.get("probe"))
        # a whole run on this machine and data says more than a probe; a step with no run of its own
        # takes that of the step its probe times (e5_finetune_4l: e5_finetune's), as it takes the probe
        past_key = key if key in self.past_factors else entry.get("probe")
        past = self.past_factors.get(past_key)
        factor = past if past else ratio if ratio else 1.0
        total = sum(parts.values())
        once = sum(parts[name] for name, part in specs.items() if part["per"] in ("step", "dataset"))
        epochs = sum(parts[name] for name, part in specs.items() if part["per"] == "fold_epoch")
        rest_factor = factor
        split = self.past_split.get(past_key) if past else None
        if split and epochs and total > epochs:
            # a past run measured its epochs apart: each half at its own pace, whatever the epochs here
            epoch_factor, rest_factor = split
            factor = (epochs * epoch_factor + (total - epochs) * rest_factor) / total
        measured = all(p.get("measured", False) for p in entry["parts"].values())
        past_basis = " x past run" + (f" of {past_key}" if past_key != key else "")
        basis = ("reference" if measured else "estimate") + (past_basis if past else " x probe" if ratio else "")
        return Estimate(total * factor, self._peak_gb(entry), basis, parts, once * rest_factor, factor, epochs)

    def figures_version(self, key: str) -> str:
        """A digest of the figures `key` is estimated from (its parts and the runner's): a past run's
        ratio over them (planner/past_runs.py) means nothing once they change."""
        figures = {"parts": self.entry(key)["parts"], "runner": self.table.get("runner", {})}
        return hashlib.sha256(json.dumps(figures, sort_keys=True).encode()).hexdigest()[:12]

    def figures_versions(self) -> dict[str, str]:
        """figures_version of every step this device has figures for."""
        keys = set(self.table["cpu"]) | (set(self.table.get("gpu", {})) if self.device == "gpu" else set())
        return {key: self.figures_version(key) for key in sorted(keys) if "parts" in self.entry(key)}

    def _part_seconds(self, part: dict, work: Work) -> float:
        size = min(self._size(part["scale"], work), part.get("max_rows", float("inf")))
        scaled = part["seconds"] if part["scale"] == "fixed" else \
            part["seconds"] * (size / part["rows"]) ** part.get("exponent", 1.0)
        cached = work.dataset_cached or part.get("cached_by") in work.cached_by_earlier
        times = {"step": 1, "dataset": 0 if cached else 1, "fold": work.folds,
                 "fold_epoch": work.folds * work.epochs, "model": work.models}[part["per"]]
        return scaled * times

    def _size(self, scale: str, work: Work) -> float:
        return {"fixed": 1.0, "train_rows": self.size.fold_train_rows, "predict_rows": self.size.fold_predict_rows,
                "all_rows": self.size.all_rows,
                "image_passes": self.size.images * work.passes}[scale]

    def _peak_gb(self, entry: dict) -> float:
        peak = entry.get("peak_gb") or {}
        if not peak:
            return 0.0
        return peak["value"] * (self.size.fold_train_rows / peak["rows"]) ** peak.get("exponent", 0.0)
