"""Filling what a budget has left after the first pass: upgrades with a measured gain.

The first pass (planner/plan.py) takes each model once, at the cheapest settings that carry its
value. What is left of the budget then goes to upgrades, in order of measured gain per minute at
this data's size on this machine: a model at fuller settings in place of its first-pass version
(`replaces`), or models added beside the plan's. Each upgrade's gain is the stack's OOF weighted-F1
gain measured on a public benchmark, with its paired-bootstrap interval, recorded in
planner/upgrades.json beside where it comes from (benchmarks/upgrade_gain.sh). Where the gain was
also measured beside another step (`beside`: the neighbour votes beside the fine-tuned transformer),
a plan holding that step reads that gain instead. An upgrade is considered only when the steps it
builds on are in the plan (`requires`), none of the steps assumed to take its gain away is
(`unless`), and the gain that applies is above zero.

Two passes: first the upgrades whose gain is clear of the noise (the interval above zero), by gain
per minute; then, with the time still left, the ties (a gain above zero whose interval reaches below
it): the user gave the time, and a tie measured no loss. So a long budget holds at least what the
named recipes would run (text_cnn at its full epochs beside e5_finetune is a tie on the OOF). A plan
leaves time unused only when no upgrade with a gain above zero fits, and it names those that did not.
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
class Beside:
    """An upgrade's gain measured in a plan that also holds `step`; "a+b": holds both a and b (the
    stack measured held both)."""

    step: str
    gain: float
    interval: tuple[float, float] | None
    measured_on: str = ""

    @property
    def steps(self) -> tuple[str, ...]:
        return tuple(self.step.split("+"))

    def applies_to(self, step_names: list[str]) -> bool:
        return all(any(stands_for(name, step) for name in step_names) for step in self.steps)

    def label(self) -> str:
        return " and ".join(self.steps)


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
    beside: tuple[Beside, ...] = ()  # gains measured beside other steps

    def gain_in(self, step_names: list[str]) -> tuple[float | None, tuple[float, float] | None, str | None]:
        """The gain that applies to a plan with these steps: of those measured beside steps it holds,
        the one measured beside the most of them (the stack nearest this plan), then one that names
        them exactly rather than by family (e5_finetune for e5_finetune_3ep), the lowest of equals;
        else the upgrade's own. With its interval and the steps it was measured beside (a plan
        holding e5_finetune_3ep reads the gain measured beside e5_finetune, and names that)."""
        beside = self.beside_in(step_names)
        return (beside.gain, beside.interval, beside.label()) if beside else (self.gain, self.interval, None)

    def beside_in(self, step_names: list[str]) -> Beside | None:
        found = [b for b in self.beside if b.applies_to(step_names)]
        # the most steps first, then those named exactly (e5_finetune_1ep before e5_finetune), then the lowest
        exact = lambda b: sum(step in step_names for step in b.steps)  # noqa: E731
        return min(found, key=lambda b: (-len(b.steps), -exact(b), b.gain)) if found else None

    def measured_on_in(self, step_names: list[str]) -> str:
        """Where the gain that applies to a plan with these steps was measured."""
        beside = self.beside_in(step_names)
        return beside.measured_on if beside else self.measured_on

    def describe_gain(self, step_names: list[str] | None = None) -> str:
        gain, interval, beside = self.gain_in(step_names or [])
        return format_gain(gain, interval) + (f" beside {beside}" if beside else "")

    def is_tie(self, step_names: list[str]) -> bool:
        """A gain above zero whose interval reaches below it: taken only with time otherwise unused."""
        gain, interval, _ = self.gain_in(step_names)
        return gain is not None and gain > 0 and interval is not None and interval[0] <= 0


def format_gain(gain: float | None, interval: tuple[float, float] | None) -> str:
    if gain is None:
        return "gain not measured"
    return f"{gain:+.4f}" + (f" [{interval[0]:+.4f}, {interval[1]:+.4f}]" if interval else "") + " OOF"


@dataclass
class UpgradeChoice:
    """What the upgrade pass decided: the upgrades taken (with their extra seconds) and why the
    others were not."""

    taken: list[tuple[Upgrade, float]] = field(default_factory=list)  # clear of the noise, by gain per minute
    ties: list[tuple[Upgrade, float]] = field(default_factory=list)  # then the ties, with the time still left
    gains: dict[str, str] = field(default_factory=dict)  # each upgrade's gain, and where, as it applied when decided
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
        beside = tuple(Beside(name, measured["oof"], tuple(measured["interval"]) if measured.get("interval") else None,
                              measured.get("measured_on", "")) for name, measured in (entry.get("beside") or {}).items())
        upgrades.append(Upgrade(entry["name"], entry["what"], steps, gain.get("oof"),
                                tuple(gain["interval"]) if gain.get("interval") else None, gain.get("measured_on", ""),
                                entry.get("replaces"), tuple(entry.get("requires", ())),
                                tuple(entry.get("unless", ())), entry.get("needs_images", False), entry.get("device"),
                                beside))
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
    gain, interval, beside = upgrade.gain_in(step_names)
    if gain <= 0:
        if beside:
            return f"adds nothing measurable beside {beside} ({format_gain(gain, interval)})"
        return f"no gain measured ({format_gain(gain, interval)})"
    return None
