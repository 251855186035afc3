"""What the steps of earlier budget runs took on this machine against their plans' estimates: the
next plan's correction.

The probe (planner/probe.py) scales the reference costs by one short fold on a sample; what it cannot
see (how a step grows with the rows, a dataset's long texts, a busy disk) shows only in whole runs.
After a budget run each step that trained folds is recorded in CACHE_DIR/planner/past_runs.json,
per machine and cost-table key: its measured seconds over what the reference figures and the probe
estimated for those folds. The next plan on the same machine multiplies that key's estimates by the
ratio (bounded like the in-run pace, planner/run.py RUN_PACE_BOUNDS); its basis column says
`x past run`. Steps estimated under MIN_RECORDED_S are not recorded: their start-up noise would set
the ratio.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from folds.atomic import save_json

MIN_RECORDED_S = 60.0
BOUNDS = (0.5, 2.0)


class PastRuns:
    """CACHE_DIR/planner/past_runs.json: {machine key: {cost key: {"ratio", "measured_s", "estimated_s", ...}}}."""

    def __init__(self, cache_dir: str | Path):
        self.path = Path(cache_dir) / "planner" / "past_runs.json"

    def _read(self) -> dict:
        return json.loads(self.path.read_text()) if self.path.is_file() else {}

    def factors(self, machine_key: str) -> dict[str, float]:
        """Cost key -> the factor a plan on this machine applies to that step's estimate."""
        low, high = BOUNDS
        return {key: min(high, max(low, entry["ratio"])) for key, entry in self._read().get(machine_key, {}).items()}

    def record(self, machine_key: str, measured: list[tuple[str, float, float]], about: dict | None = None) -> None:
        """`measured`: (cost key, measured seconds, uncorrected estimated seconds) of the steps a run
        trained; a key measured again replaces what an earlier run said of it."""
        kept = [(key, took, estimated) for key, took, estimated in measured if estimated >= MIN_RECORDED_S]
        if not kept:
            return
        table = self._read()
        machine = table.setdefault(machine_key, {})
        for key, took, estimated in kept:
            machine[key] = {"ratio": took / estimated, "measured_s": round(took, 1), "estimated_s": round(estimated, 1),
                            "updated": time.strftime("%Y-%m-%d %H:%M:%S"), **(about or {})}
        save_json(self.path, table)  # written whole or not at all


def measured_steps(plan, results) -> list[tuple[str, float, float]]:
    """(cost key, measured seconds, estimated seconds without the past correction) of each step of a
    sequential run (planner/run.py: one result a step, in the plan's order) that trained folds."""
    from planner.run import fold_estimate_s

    measured = []
    for step, result in zip(plan.steps, results):
        if not result.folds_trained:
            continue
        n = len(step.folds_left)
        estimated = sum(fold_estimate_s(step.estimate, n, first=i == 0) for i in range(len(result.folds_trained)))
        measured.append((step.cost, result.elapsed_s, estimated / step.estimate.past_factor))
    return measured
