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
"""
from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

from folds.atomic import save_json

MIN_RECORDED_S = 30.0
HISTORY = 5  # runs whose ratios a key keeps; the plan reads their median
BOUNDS = (0.05, 20.0)  # a machine 20 x slower or faster than the reference is a record gone wrong


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

    def record(self, machine_key: str, data_key: str, measured: list[tuple[str, float, float, float]],
               about: dict | None = None, versions: dict[str, str] | None = None) -> None:
        """`measured`: (cost key, measured seconds, the plan's estimate, the reference figures' seconds)
        of the steps a run trained, `versions` the digests of those figures; a key measured again adds
        its ratio to the last runs' (a changed digest starts the list again)."""
        kept = [entry for entry in measured if entry[1] >= MIN_RECORDED_S]
        if not kept:
            return
        versions = versions or {}
        table = self._read()
        steps = table.setdefault(machine_key, {}).setdefault(data_key, {})
        for key, took, estimated, reference in kept:
            before = steps.get(key, {})
            same_figures = before.get("figures") == versions.get(key)
            ratios = (before.get("ratios", []) if same_figures else []) + [took / reference]
            ratios = ratios[-HISTORY:]
            steps[key] = {"ratio": statistics.median(ratios), "ratios": [round(r, 4) for r in ratios],
                          "figures": versions.get(key), "measured_s": round(took, 1),
                          "estimated_s": round(estimated, 1), "reference_s": round(reference, 1),
                          "updated": time.strftime("%Y-%m-%d %H:%M:%S"), **(about or {})}
        save_json(self.path, table)  # written whole or not at all


def measured_steps(plan, results) -> list[tuple[str, float, float, float]]:
    """(cost key, measured seconds, the plan's estimate, the reference figures' seconds) for the folds
    trained, of each step of a sequential run (planner/run.py: one result a step, in the plan's order)."""
    from planner.run import fold_estimate_s

    measured = []
    for step, result in zip(plan.steps, results):
        if not result.folds_trained:
            continue
        n = len(step.folds_left)
        estimated = sum(fold_estimate_s(step.estimate, n, first=i == 0) for i in range(len(result.folds_trained)))
        measured.append((step.cost, result.elapsed_s, estimated, estimated / step.estimate.machine_factor))
    return measured
