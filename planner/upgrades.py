"""Filling what a budget has left after the first pass: upgrades with a measured gain.

The first pass (planner/plan.py) takes each model once, at the cheapest settings that carry its
value. What is left of the budget then goes to upgrades, in order of measured gain per minute at
this data's size on this machine: a model at fuller settings in place of its first-pass version
(`replaces`), or models added beside the plan's. Each upgrade's gain is the stack's OOF weighted-F1
gain measured on a public benchmark, with its paired-bootstrap interval, recorded in
planner/upgrades.json beside where it comes from (benchmarks/upgrade_gain.sh). An upgrade is taken
only when its measured gain is above zero, the steps it builds on are in the plan (`requires`) and
none of the steps that took its gain away in the measurement is (`unless`: neighbour votes add
nothing to a stack that has the fine-tuned transformer). A plan leaves time unused only when no such
upgrade fits, and it names those that did not fit.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

UPGRADES = Path(__file__).with_name("upgrades.json")


@dataclass(frozen=True)
class UpgradeStep:
    """A step an upgrade puts in the plan: stored as `name`, trained as `model` with `settings`."""

    name: str
    model: str
    settings: dict
    cost: str  # key of the cost table
    epochs: int | None = None
    seed_offset: int = 0  # another seed: the run's seed + this


@dataclass(frozen=True)
class Upgrade:
    name: str
    what: str  # one line for the plan
    steps: tuple[UpgradeStep, ...]
    gain: float | None  # the stack's OOF weighted-F1 gain measured on a benchmark; None: not measured
    interval: tuple[float, float] | None = None
    measured_on: str = ""
    replaces: str | None = None  # the first-pass step it stands in for
    requires: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    needs_images: bool = False
    device: str | None = None  # only plans for this device ("cpu" / "gpu"); None: both

    def describe_gain(self) -> str:
        if self.gain is None:
            return "gain not measured"
        interval = f" [{self.interval[0]:+.4f}, {self.interval[1]:+.4f}]" if self.interval else ""
        return f"{self.gain:+.4f}{interval} OOF"


@dataclass
class UpgradeChoice:
    """What the upgrade pass decided: the upgrades taken (with their extra seconds) and why the
    others were not."""

    taken: list[tuple[Upgrade, float]] = field(default_factory=list)
    did_not_fit: list[tuple[Upgrade, float]] = field(default_factory=list)  # with the extra seconds needed
    not_applicable: list[tuple[Upgrade, str]] = field(default_factory=list)
    room_s: float = 0.0  # the seconds left once the upgrades taken are in


def load_upgrades(path: str | Path = UPGRADES) -> tuple[Upgrade, ...]:
    table = json.loads(Path(path).read_text())
    upgrades = []
    for entry in table["upgrades"]:
        steps = tuple(UpgradeStep(s["name"], s["model"], s.get("set", {}), s["cost"], s.get("epochs"),
                                  s.get("seed_offset", 0)) for s in entry["steps"])
        gain = entry.get("gain") or {}
        upgrades.append(Upgrade(entry["name"], entry["what"], steps, gain.get("oof"),
                                tuple(gain["interval"]) if gain.get("interval") else None, gain.get("measured_on", ""),
                                entry.get("replaces"), tuple(entry.get("requires", ())),
                                tuple(entry.get("unless", ())), entry.get("needs_images", False), entry.get("device")))
    return tuple(upgrades)


def stands_for(step_name: str, entry: str) -> bool:
    """Whether a plan step is the first-pass version of `entry` (`text_cnn`, or `text_cnn_2ep`
    when fewer epochs were all that fitted)."""
    return step_name == entry or re.fullmatch(rf"{re.escape(entry)}_\d+ep", step_name) is not None


def why_not_applicable(upgrade: Upgrade, step_names: list[str], device: str, has_images: bool) -> str | None:
    """Why an upgrade cannot apply to this plan at all, whatever the time; None when it can."""
    if upgrade.device and upgrade.device != device:
        return f"measured for {upgrade.device} plans only"
    if upgrade.needs_images and not has_images:
        return "the data has no images"
    if upgrade.gain is None:
        return "gain not measured yet"
    if upgrade.gain <= 0 or (upgrade.interval and upgrade.interval[0] <= 0):  # a gain inside the noise is none
        return f"no gain measured ({upgrade.describe_gain()})"
    if any(step.name in step_names for step in upgrade.steps):
        return "already in the plan"
    if upgrade.replaces and not any(stands_for(name, upgrade.replaces) for name in step_names):
        return f"{upgrade.replaces} is not in the plan"
    missing = [name for name in upgrade.requires if name not in step_names]
    if missing:
        return f"needs {', '.join(missing)} in the plan"
    present = [step for step in step_names if any(stands_for(step, name) for name in upgrade.unless)]
    if present:
        return f"adds nothing measurable beside {', '.join(present)}"
    return None
