"""What the steps of earlier budget runs took on this machine and data: the next plan's figures.

The probe (planner/probe.py) scales the reference costs by one short fold on a sample; what it cannot
see (how a step grows with the rows, a dataset's long texts, training against inference speed on this
processor) shows only in whole runs, and a 400-row probe itself varies by 10-15% from one run to the
next. After a budget run each step that trained folds is recorded: its measured seconds over the
reference figures for those folds (the cost table scaled to the data, before any probe), per machine,
dataset (the probe's data fingerprint) and cost-table key. The next probed plan on the same machine
and data scales that key's reference figures by the recorded ratio in place of the probe's; its
basis column says `x past run`. Another dataset's ratios are not used: on one machine text_cnn ran
1.06 x its probed estimate on debfr-public and 0.71 x on apps-public.

A key keeps the ratios of its last HISTORY runs and plans with their median: the same machine is not
equally fast every hour (tfidf's debfr-public folds took 12-13 s in one run, 19-23 s in another and
16-17 s in a third), and one slow hour should not set the next plan. The ratios are kept with a
digest of the figures they were taken over (CostModel.figures_version): when the cost table's entry
for a step changes, its old ratios are dropped and the step is probed again.

The record belongs to the machine, not to a run folder's cache/: a new run folder on the same data
still plans with what this machine did before. It is STATE_DIR/past_runs.json, where STATE_DIR is
$ESHOPPYE_STATE_DIR, else $XDG_STATE_HOME/eshoppye, else ~/.local/state/eshoppye. Steps that took
under MIN_RECORDED_S are not recorded: their start-up noise would set the ratio. The gate is on the
time taken, not the estimate: tfidf on debfr-public takes 1.5-2 minutes where its 400-row probe
plans 0.9, and only its record corrects that.

A step that trains epochs (its cost table has `fold_epoch` parts) is also recorded in two ratios: its
epochs (the seconds history.csv logs for them, models/core/metrics.py EpochSeconds) over the
reference's epochs, and the rest (states, predictions, start-up) over the reference's rest. A plan
with another number of epochs, or another step that borrows the record (e5_finetune_4l), reads the
two apart: on the slow machine e5_finetune's epochs ran about 1.6 x the reference's and its other
parts under 1 x, so one ratio taken at 1 epoch planned a 4-epoch run about 30% short.
"""
from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path
from typing import NamedTuple

from folds.atomic import save_json

MIN_RECORDED_S = 30.0
HISTORY = 5  # runs whose ratios a key keeps; the plan reads their median
BOUNDS = (0.05, 20.0)  # a machine 20 x slower or faster than the reference is a record gone wrong


class StepTime(NamedTuple):
    """What a run measured of one step against its plan: whole seconds, the plan's estimate and the
    reference figures' seconds for the folds trained; for a step that trains epochs, also the
    seconds of its epochs alone, measured and at the reference's figures (0 where not known)."""

    key: str
    took_s: float
    estimated_s: float
    reference_s: float
    epochs_took_s: float = 0.0
    epochs_reference_s: float = 0.0

    def split(self) -> tuple[float, float] | None:
        """(epochs' ratio, the rest's ratio) to the reference, where both halves were measured."""
        rest_reference = self.reference_s - self.epochs_reference_s
        if self.epochs_took_s <= 0 or self.epochs_reference_s <= 0 or rest_reference <= 0:
            return None
        epochs_took = min(self.epochs_took_s, self.took_s)
        return epochs_took / self.epochs_reference_s, (self.took_s - epochs_took) / rest_reference


def state_dir() -> Path:
    """Where eShopPye keeps what it learned about this machine (the XDG base-directory convention)."""
    if os.environ.get("ESHOPPYE_STATE_DIR"):
        return Path(os.environ["ESHOPPYE_STATE_DIR"])
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "eshoppye"


class PastRuns:
    """STATE_DIR/past_runs.json: {machine key: {data key: {cost key: {"ratio", "ratios", "figures",
    "measured_s", "reference_s", ...}}}}."""

    def __init__(self, folder: str | Path | None = None):
        self.path = Path(folder if folder is not None else state_dir()) / "past_runs.json"

    def _read(self) -> dict:
        return json.loads(self.path.read_text()) if self.path.is_file() else {}

    def factors(self, machine_key: str, data_key: str, versions: dict[str, str] | None = None) -> dict[str, float]:
        """Cost key -> the median of this machine's seconds over the reference figures' for that step on
        this data, over its last runs; with `versions` (cost key -> figures digest), only ratios taken
        over the figures the table holds now."""
        low, high = BOUNDS
        entries = self._read().get(machine_key, {}).get(data_key, {})
        return {key: min(high, max(low, entry["ratio"])) for key, entry in entries.items()
                if versions is None or entry.get("figures") == versions.get(key)}

    def split_factors(self, machine_key: str, data_key: str,
                      versions: dict[str, str] | None = None) -> dict[str, tuple[float, float]]:
        """Cost key -> (epochs' ratio, the rest's ratio), the medians over the last runs that measured
        a step's epochs apart; only the keys of `factors` that have them."""
        low, high = BOUNDS
        entries = self._read().get(machine_key, {}).get(data_key, {})
        return {key: tuple(min(high, max(low, statistics.median(entry[name])))
                           for name in ("epoch_ratios", "rest_ratios"))
                for key, entry in entries.items()
                if entry.get("epoch_ratios") and (versions is None or entry.get("figures") == versions.get(key))}

    def record(self, machine_key: str, data_key: str, measured: list[tuple],
               about: dict | None = None, versions: dict[str, str] | None = None) -> None:
        """`measured`: a StepTime (or its first four fields as a tuple) for each step a run trained,
        `versions` the digests of those figures; a key measured again adds its ratios to the last
        runs' (a changed digest starts the lists again)."""
        kept = [StepTime(*entry) for entry in measured if entry[1] >= MIN_RECORDED_S]
        if not kept:
            return
        versions = versions or {}
        table = self._read()
        steps = table.setdefault(machine_key, {}).setdefault(data_key, {})
        for step in kept:
            before = steps.get(step.key, {})
            same_figures = before.get("figures") == versions.get(step.key)

            def last(name: str, new: list[float]) -> list[float]:
                return ((before.get(name, []) if same_figures else []) + new)[-HISTORY:]

            ratios = last("ratios", [step.took_s / step.reference_s])
            split = step.split()
            epoch_ratios = last("epoch_ratios", [split[0]] if split else [])
            rest_ratios = last("rest_ratios", [split[1]] if split else [])
            entry = {"ratio": statistics.median(ratios), "ratios": [round(r, 4) for r in ratios]}
            if epoch_ratios:
                entry.update(epoch_ratios=[round(r, 4) for r in epoch_ratios],
                             rest_ratios=[round(r, 4) for r in rest_ratios])
            steps[step.key] = {**entry, "figures": versions.get(step.key), "measured_s": round(step.took_s, 1),
                               "estimated_s": round(step.estimated_s, 1), "reference_s": round(step.reference_s, 1),
                               "updated": time.strftime("%Y-%m-%d %H:%M:%S"), **(about or {})}
        save_json(self.path, table)  # written whole or not at all


def measured_steps(plan, results, run_dir: str | Path | None = None) -> list[StepTime]:
    """What each step of a sequential run (planner/run.py: one result a step, in the plan's order)
    measured for the folds it trained, against its estimate and the reference figures; with the run
    folder, a step that trains epochs also gets its epochs' seconds from the folds' history.csv."""
    from planner.run import fold_estimate_s

    measured = []
    for step, result in zip(plan.steps, results):
        if not result.folds_trained:
            continue
        n = len(step.folds_left)
        estimated = sum(fold_estimate_s(step.estimate, n, first=i == 0) for i in range(len(result.folds_trained)))
        reference = estimated / step.estimate.machine_factor
        epochs_took = epoch_seconds(Path(run_dir) / step.name, result.folds_trained) if run_dir else 0.0
        epochs_reference = step.estimate.epoch_reference_s * len(result.folds_trained) / max(1, n)
        measured.append(StepTime(step.cost, result.elapsed_s, estimated, reference,
                                 epochs_took if epochs_reference else 0.0, epochs_reference if epochs_took else 0.0))
    return measured


def epoch_seconds(model_dir: Path, folds: list[int]) -> float:
    """The seconds the folds' epochs took by their history.csv (EpochSeconds); 0 when a fold has none
    (a model that logs no epochs, or a fold trained before the column was written)."""
    import pandas as pd

    from models.core.metrics import EPOCH_SECONDS

    total = 0.0
    for k in folds:
        path = model_dir / f"fold{k}" / "history.csv"
        try:
            history = pd.read_csv(path)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError):
            return 0.0
        if EPOCH_SECONDS not in history.columns or history[EPOCH_SECONDS].isna().any():
            return 0.0
        total += float(history[EPOCH_SECONDS].sum())
    return total
