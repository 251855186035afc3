"""Choosing what to run in the time the user has.

The candidates are tried in the order of their measured value per minute on the benchmarks, each
taken if it fits whole in what is left of the budget once the LightGBM stack and the submission are
reserved; a step that does not fit is left out with its estimate and the minutes that were left,
and the later (cheaper) steps are still tried. On the CPU (docs/benchmarks.md):

1. `tfidf`: the strongest single text model per minute everywhere it ran (debfr-public OOF 0.7333
   in 1.4 min on idle cores, real size 21.5 min for 5 folds, FACTS.md); the run's floor: a budget
   that cannot hold it plus the stack and the submission is refused with the smallest that can.
2. frozen `e5`: what it adds to tfidf, and the neighbour votes over its encodings it opens
   (upgrades), are worth more than text_cnn at 3 epochs on both text benchmarks (docs/benchmarks.md,
   "The first pass: e5 before text_cnn"): on debfr-public the stack tfidf + e5 + the votes 0.7436
   OOF, tfidf + text_cnn 3 epochs 0.7307 (tfidf alone 0.7312); on apps-public text_cnn at 3
   epochs learns nothing (OOF 0.17). Its encoding is once per dataset.
3. `text_cnn`, the `night` setting (3 epochs): about 17 min an epoch for 5 folds at real size
   ("Real size (issue 13)"), near its best by the third there. 2 or 1 epochs when 3 do not fit,
   only where they still train on 60,000 rows (min_row_passes): 3 epochs of debfr-public's 5,900
   rows a fold add a tie to a stack, about 10 (12 with early stopping) +0.0065.
4. `effnet_lite0` features at 128 px (the `night` setting), when the data has images: the image
   side of the stack (fashion-public 0.9207 alone, issue 3); the features are extracted once.
5. `e5_finetune`, only whole: the best text model after tfidf (debfr-public +0.0069 OOF on top of
   e5 in the stack, 0.7408 -> 0.7477) but 36 of the text recipe's 51 minutes at 7.4k rows, about 7
   hours of 5 folds at real size on 2 cores; 3, 2 or 1 epochs when 4 do not fit (1 epoch, about
   half the time of 4 at 7.4k rows and a third at the real size, still adds +0.0064 on debfr-public).

What this first pass leaves of the budget then goes to upgrades with a measured gain, by gain per
minute (planner/upgrades.py): fuller settings of a model in the plan, or models added beside it.

On a GPU the same order holds with the `challenge_gpu` recipe's models and settings: text_cnn at
its default epochs, e5, effnet_lite0 at 224 px, e5 fine-tuned end to end (`e5_full`).
`bilstm` and the other RNNs are priced in the cost table but not chosen: they add under half a
point to a stack that has text_cnn (issue 5).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from challenge.errors import DataError
from planner.costs import CostModel, Estimate, Work
from planner.upgrades import Upgrade, UpgradeChoice, stands_for, why_not_applicable
from recipebook.recipes import RECIPES, recipe_steps

STACK_METHOD = "lgbm"


@dataclass(frozen=True)
class Candidate:
    """A step the planner may choose: a recipe entry's model and settings, its cost-table entry,
    and the epoch counts to try (most first) when fewer epochs may fit."""

    recipe: str
    entry: str  # the entry's name in that recipe
    cost: str  # key of the cost table
    epoch_options: tuple[int, ...] = ()
    needs_images: bool = False
    # fewer epochs than the first option are offered only when they still train on this many rows
    # (epochs x a fold's training rows); 0: always
    min_row_passes: int = 0

    def offered_epochs(self, fold_train_rows: float, started: set) -> tuple[int, ...]:
        """The epoch counts to try, most first: the first always, fewer only on enough rows, and any
        the run has already started (a rerun finishes it)."""
        first, *fewer = self.epoch_options or (None,)
        return (first, *(e for e in fewer if e * fold_train_rows >= self.min_row_passes or e in started))


CPU_CANDIDATES = (
    Candidate("night", "tfidf", "tfidf"),
    Candidate("text", "e5", "e5"),
    # 3 epochs of 5,900 rows a fold (debfr-public) add a tie to a stack; about 10 epochs of them
    # (12 with early stopping) +0.0065: 1 or 2 epochs only where an epoch is large (the real size)
    Candidate("night", "text_cnn", "text_cnn", epoch_options=(3, 2, 1), min_row_passes=60_000),
    Candidate("night", "effnet_lite0", "effnet_lite0_128", needs_images=True),
    # a cosine schedule over each; 1 epoch (OOF 0.6835 against 0.7028 at 4 on debfr-public) still adds
    # +0.0064 [+0.0021, +0.0113] to the stack of tfidf, e5, text_cnn 3 epochs and the votes
    Candidate("text", "e5_finetune", "e5_finetune", epoch_options=(4, 3, 2, 1)),
)
GPU_CANDIDATES = (
    Candidate("challenge_gpu", "tfidf", "tfidf"),
    Candidate("challenge_gpu", "text_cnn", "text_cnn", epoch_options=(12,)),
    Candidate("challenge_gpu", "e5", "e5"),
    Candidate("challenge_gpu", "effnet_lite0", "effnet_lite0_224", needs_images=True),
    Candidate("challenge_gpu", "e5_full", "e5_full", epoch_options=(3,)),
)


@dataclass
class Step:
    """One model of the plan: stored as `name`, trained with `model` and `settings`."""

    name: str
    model: str
    settings: dict
    cost: str
    estimate: Estimate
    folds_left: list[int]
    seed_offset: int = 0  # trained with the run's seed + this (a second seed of a model)

    def describe_settings(self) -> str:
        shown = {k: v for k, v in self.settings.items() if k != "tensorboard"}
        if self.seed_offset:
            shown["seed"] = f"run's + {self.seed_offset}"
        return ", ".join(f"{k}={v}" for k, v in shown.items()) or "defaults"


@dataclass
class Plan:
    budget_s: float
    device: str
    steps: list[Step]
    stack: Estimate
    submit: Estimate
    left_out: list[tuple[str, str]] = field(default_factory=list)
    probe_s: float = 0.0  # spent probing this machine now (0 when the probe was cached)
    spent_s: float = 0.0  # spent by an earlier, stopped start of the same budget run (planner/resume.py)
    n_folds: int = 5
    considered: list[str] = field(default_factory=list)  # the candidates, in order of measured value per minute
    short_of_time: bool = False  # a candidate was left out, or given fewer epochs, for want of time
    upgrades: UpgradeChoice = field(default_factory=UpgradeChoice)
    data_key: str = ""  # the data it was planned for (planner/probe.py data_fingerprint): past runs are per data
    figure_versions: dict = field(default_factory=dict)  # cost key -> digest of its reference figures (past runs)

    @property
    def total_s(self) -> float:
        return self.spent_s + self.probe_s + sum(s.estimate.seconds for s in self.steps) + self.stack.seconds + self.submit.seconds


def parse_budget(text: str) -> float:
    """'20m', '90m', '3h', '1h30m', '1.5h' -> seconds."""
    match = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m(?:in)?)?\s*", text.lower())
    if not text.strip() or not match or not any(match.groups()):
        raise DataError(f"--budget {text!r}: write hours and/or minutes, e.g. 20m, 90m, 3h or 1h30m.")
    hours, minutes = (float(g) if g else 0.0 for g in match.groups())
    seconds = hours * 3600 + minutes * 60
    if seconds <= 0:
        raise DataError(f"--budget {text!r}: give a time above zero, e.g. 20m.")
    return seconds


def format_minutes(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:.1f}" if minutes < 10 else f"{minutes:.0f}"


def recipe_entry(recipe: str, entry: str) -> dict:
    return next(s for s in recipe_steps(RECIPES[recipe]) if s["name"] == entry)


def make_plan(costs: CostModel, budget_s: float, candidates=None, done_folds=None, memory_gb: float = 0.0,
              probe_s: float = 0.0, upgrades: tuple[Upgrade, ...] = (), spent_s: float = 0.0) -> Plan:
    """Steps that fit in `budget_s` (less the probe time and the `spent_s` of an earlier, stopped start
    of the same run), in the candidates' order,
    then the `upgrades` that fit in what is left (planner/upgrades.py; the CLI passes
    load_upgrades()).

    `done_folds` maps a stored model name to the folds already finished in the run (resume: only
    the rest is estimated); `memory_gb` > 0 leaves out steps whose peak memory is above it.
    """
    candidates = candidates if candidates is not None else (GPU_CANDIDATES if costs.device == "gpu" else CPU_CANDIDATES)
    done_folds = done_folds or {}
    size = costs.size
    available = budget_s - probe_s - spent_s
    submit = costs.estimate("submit", Work(folds=0), with_fold_calls=False)

    def stack_cost(n_models: int) -> Estimate:
        return costs.estimate(f"stack_{STACK_METHOD}", Work(folds=0, models=n_models), with_fold_calls=False)

    steps, left_out, used, short_of_time = [], [], 0.0, False
    considered = [recipe_entry(c.recipe, c.entry)["name"] for c in candidates]
    for position, candidate in enumerate(candidates):
        entry = recipe_entry(candidate.recipe, candidate.entry)
        if candidate.needs_images and not size.images:
            left_out.append((entry["name"], "the data has no images"))
            continue
        started = {epochs for epochs in candidate.epoch_options
                   if done_folds.get(epoch_step_name(candidate, entry["name"], epochs))}
        options = [candidate_step(costs, candidate, entry, epochs, done_folds, earlier={s.cost for s in steps})
                   for epochs in candidate.offered_epochs(size.fold_train_rows, started)]
        most_epochs = options[0]
        # resuming: an option with finished folds first, so that a rerun finishes what it started
        options.sort(key=lambda option: len(option.folds_left) == size.n_folds)
        cheapest = min(options, key=lambda option: option.estimate.seconds)
        if memory_gb and cheapest.estimate.peak_gb > memory_gb:
            why = f"needs about {cheapest.estimate.peak_gb:.1f} GB, the machine has {memory_gb:.0f} GB"
            if position == 0:
                raise DataError(f"{cheapest.name} {why}: not even the first step of a plan fits in its memory.")
            left_out.append((entry["name"], why))
            continue
        reserve = stack_cost(len(steps) + 1).seconds + submit.seconds
        chosen = next((o for o in options if used + o.estimate.seconds + reserve <= available), None)
        short_of_time |= used + most_epochs.estimate.seconds + reserve > available
        if chosen is not None:
            steps.append(chosen)
            used += chosen.estimate.seconds
            continue
        if position == 0:  # the first candidate is the floor of every plan
            smallest = spent_s + probe_s + cheapest.estimate.seconds + reserve
            raise DataError(
                f"A budget of {format_minutes(budget_s)} min is too small for this data on this machine: "
                f"{cheapest.name} alone on {len(cheapest.folds_left)} folds is about "
                f"{format_minutes(cheapest.estimate.seconds)} min, and with the stack and the submission "
                f"about {format_minutes(smallest)} min. The smallest budget that works: --budget "
                f"{math.ceil(smallest / 60)}m.")
        left = max(0.0, available - used - reserve)
        left_out.append((entry["name"], f"{format_minutes(cheapest.estimate.seconds)} min estimated"
                                        f"{at_epochs(cheapest, entry['name'])}, {format_minutes(left)} left"))
    room = available - used - stack_cost(len(steps)).seconds - submit.seconds
    choice = fill_with_upgrades(costs, steps, room, upgrades, done_folds, memory_gb, stack_cost)
    return Plan(budget_s, costs.device, steps, stack_cost(len(steps)), submit, left_out, probe_s, spent_s,
                size.n_folds, considered, short_of_time, choice)


def fill_with_upgrades(costs: CostModel, steps: list[Step], room_s: float, upgrades, done_folds: dict,
                       memory_gb: float, stack_cost) -> UpgradeChoice:
    """Put upgrades into `steps` (in place) while they fit in `room_s` (the seconds the first pass and
    its stack left; an upgrade's extra seconds count the bigger stack): first those whose gain is clear
    of the noise, then the ties, each pass by gain per minute; returns what was taken and why the
    others were not."""
    choice = UpgradeChoice()
    priced = []
    for upgrade in upgrades:
        why = why_not_applicable(upgrade, [s.name for s in steps], costs.device, bool(costs.size.images))
        if why and not could_apply_here(upgrade, costs):
            choice.not_applicable.append((upgrade, why))
            continue
        new_steps = [priced_step(costs, u.name, u.model, u.settings, u.cost, u.epochs, done_folds, u.seed_offset,
                                 earlier={s.cost for s in steps})
                     for u in upgrade.steps]
        priced.append((upgrade, new_steps))

    def extra_seconds(upgrade: Upgrade, new_steps: list[Step]) -> tuple[float, int | None]:
        """The seconds it adds (its steps less the one it replaces, plus the bigger stack), and where
        the replaced step stands (None: its steps go at the end)."""
        replaced = [i for i, s in enumerate(steps) if upgrade.replaces and stands_for(s.name, upgrade.replaces)]
        given_back = sum(steps[i].estimate.seconds for i in replaced)
        models_after = len(steps) + len(new_steps) - len(replaced)
        stacking = stack_cost(models_after).seconds - stack_cost(len(steps)).seconds
        return sum(s.estimate.seconds for s in new_steps) - given_back + stacking, (replaced or [None])[0]

    def per_minute(item) -> float:
        upgrade, new_steps = item
        gain = upgrade.gain_in([s.name for s in steps])[0]
        return gain / max(extra_seconds(upgrade, new_steps)[0] / 60, 0.1)

    decided: set[str] = set()
    for ties in (False, True):
        for upgrade, new_steps in sorted(priced, key=per_minute, reverse=True):
            names = [s.name for s in steps]
            if upgrade.name in decided:
                continue
            if why_not_applicable(upgrade, names, costs.device, bool(costs.size.images)):
                continue  # for now: an upgrade taken later may change the plan (e5_finetune_4l opens the votes)
            tie = upgrade.is_tie(names)
            if tie and not ties:
                continue  # a tie waits for the second pass
            decided.add(upgrade.name)
            heaviest = max(s.estimate.peak_gb for s in new_steps)
            if memory_gb and heaviest > memory_gb:
                choice.not_applicable.append((upgrade, f"needs about {heaviest:.1f} GB, the machine has "
                                                       f"{memory_gb:.0f} GB"))
                continue
            choice.gains[upgrade.name] = f"{upgrade.describe_gain(names)} on {upgrade.measured_on_in(names)}"
            extra, replaced_at = extra_seconds(upgrade, new_steps)
            if extra > room_s:
                choice.did_not_fit.append((upgrade, extra))
                continue
            if replaced_at is None:
                steps.extend(new_steps)
            else:
                steps[replaced_at:replaced_at + 1] = new_steps
            room_s -= extra
            (choice.ties if tie else choice.taken).append((upgrade, extra))
    names = [s.name for s in steps]
    for upgrade, _ in priced:
        if upgrade.name not in decided:
            choice.not_applicable.append((upgrade, why_not_applicable(upgrade, names, costs.device,
                                                                      bool(costs.size.images))))
    choice.room_s = room_s
    return choice


def could_apply_here(upgrade: Upgrade, costs: CostModel) -> bool:
    """Whether the upgrade could apply to some plan on this device and data (whether it applies
    depends on the steps, which the upgrades taken change)."""
    return (not (upgrade.device and upgrade.device != costs.device) and upgrade.gain is not None
            and not (upgrade.needs_images and not costs.size.images))


def at_epochs(step: Step, entry_name: str) -> str:
    """' at 2 epochs' where a left-out model's cheapest option has fewer epochs than its recipe's."""
    if step.name == entry_name:
        return ""
    epochs = step.settings["epochs"]
    return f" at {epochs} epoch{'s' * (epochs != 1)}"


def epoch_step_name(candidate: Candidate, name: str, epochs: int | None) -> str:
    """A candidate with fewer epochs than its first option is another configuration: its own folder."""
    if epochs is not None and candidate.epoch_options and epochs != candidate.epoch_options[0]:
        return f"{name}_{epochs}ep"
    return name


def candidate_step(costs: CostModel, candidate: Candidate, entry: dict, epochs: int | None, done_folds: dict,
                   earlier: set | None = None) -> Step:
    name = epoch_step_name(candidate, entry["name"], epochs)
    return priced_step(costs, name, entry["model"], entry["set"], candidate.cost, epochs, done_folds, earlier=earlier)


def priced_step(costs: CostModel, name: str, model: str, settings: dict, cost: str, epochs: int | None,
                done_folds: dict, seed_offset: int = 0, earlier: set | None = None) -> Step:
    """A step with its estimate for the folds the run has not finished yet; `earlier`: the cost keys
    of the steps the plan trains before it (what they cache is not paid again)."""
    settings = dict(settings)
    if epochs is not None:
        settings["epochs"] = epochs
    done = set(done_folds.get(name, ()))
    folds_left = [k for k in range(costs.size.n_folds) if k not in done]
    passes = 2 if settings.get("flip_train", True) or settings.get("tta", True) else 1
    work = Work(folds=len(folds_left), epochs=epochs or 1, passes=passes, dataset_cached=bool(done),
                cached_by_earlier=frozenset(earlier or ()))
    if not folds_left:
        work = Work(folds=0, epochs=0, dataset_cached=True)
    estimate = costs.estimate(cost, work, with_fold_calls=True)
    if not folds_left:
        estimate.seconds = 0.0  # finished earlier: nothing to run
    return Step(name, model, settings, cost, estimate, folds_left, seed_offset)


def unused_time_note(plan: Plan) -> list[str]:
    """How much of the budget the plan leaves unused, and why nothing fills it: what was left out
    needs more time, or every model and upgrade with a measured gain is in (none is added for the
    sake of using the time)."""
    unused = plan.budget_s - plan.total_s
    if unused < 60:
        return []
    if plan.short_of_time or plan.upgrades.did_not_fit:
        return [f"unused: {format_minutes(unused)} min, too little for what is left out or did not fit above"]
    allowed = " that this data and machine allow" if plan.left_out else ""  # no images, too little memory
    return [f"unused: {format_minutes(unused)} min; every model and upgrade with a measured gain on the "
            f"benchmarks{allowed} is in the plan, so more time adds nothing",
            f"  considered, by measured value per minute: {', '.join(plan.considered)}"]


def extra_minutes(seconds: float) -> str:
    """'+12 min', or '-5.4 min' for an upgrade that costs less than what it replaces (finished earlier)."""
    return f"{'+' if seconds >= 0 else '-'}{format_minutes(abs(seconds))} min"


def upgrade_lines(plan: Plan) -> list[str]:
    """The upgrades taken (clear gains, then ties), with their extra minutes and measured gains, and
    those that did not fit or do not apply."""
    choice, lines = plan.upgrades, []

    def gain(u: Upgrade) -> str:
        return choice.gains.get(u.name) or f"{u.describe_gain()} on {u.measured_on}"

    if choice.taken:
        lines.append("upgrades (planner/upgrades.json), by measured gain per minute:")
        lines += [f"  {u.name}: {u.what}; {extra_minutes(extra)} for {gain(u)}" for u, extra in choice.taken]
    if choice.ties:
        lines.append("with the time still left, ties (a gain above zero, its interval reaching below it):")
        lines += [f"  {u.name}: {u.what}; {extra_minutes(extra)} for {gain(u)}" for u, extra in choice.ties]
    if choice.did_not_fit:
        lines.append("upgrades that did not fit:")
        lines += [f"  {u.name}: +{format_minutes(extra)} min needed, {format_minutes(max(0.0, choice.room_s))} left "
                  f"({gain(u)})" for u, extra in choice.did_not_fit]
    if choice.not_applicable:
        lines.append("upgrades not taken: " + "; ".join(f"{u.name} ({why})" for u, why in choice.not_applicable))
    return lines


def format_plan(plan: Plan, header: str) -> str:
    rows = []
    cumulative = 0.0
    if plan.spent_s:
        cumulative += plan.spent_s
        rows.append(("spent", "by the stopped start of this run", plan.spent_s, cumulative, "", "measured"))
    if plan.probe_s:
        cumulative += plan.probe_s
        rows.append(("probe", "this machine's speed", plan.probe_s, cumulative, "", "measured now"))
    for step in plan.steps:
        cumulative += step.estimate.seconds
        resumed = len(step.folds_left) < plan.n_folds
        done = f" ({len(step.folds_left)} folds left)" if resumed else ""
        rows.append((step.name, step.describe_settings() + done, step.estimate.seconds, cumulative,
                     f"{step.estimate.peak_gb:.1f}", step.estimate.basis))
    cumulative += plan.stack.seconds
    rows.append((f"stack-{STACK_METHOD}", f"over {len(plan.steps)} model(s)", plan.stack.seconds, cumulative,
                 f"{plan.stack.peak_gb:.1f}", plan.stack.basis))
    cumulative += plan.submit.seconds
    rows.append(("submission", "submit.py", plan.submit.seconds, cumulative, "", plan.submit.basis))
    widths = [max(len(r[0]) for r in rows + [("step",)]), max(len(r[1]) for r in rows + [("", "settings")])]
    title = f"{'step':{widths[0]}}  {'settings':{widths[1]}}  {'est. min':>8}  {'cumulative':>10}  {'peak GB':>7}"
    lines = [header, title + "  basis"]
    for name, settings, seconds, total, peak, basis in rows:
        lines.append(f"{name:{widths[0]}}  {settings:{widths[1]}}  {format_minutes(seconds):>8}  "
                     f"{format_minutes(total):>10}  {peak:>7}  {basis}")
    lines.append(f"total: about {format_minutes(plan.total_s)} of {format_minutes(plan.budget_s)} min")
    if plan.left_out:
        lines.append("left out:")
        lines += [f"  {name}: {why}" for name, why in plan.left_out]
    lines += upgrade_lines(plan)
    lines += unused_time_note(plan)
    if any("estimate" in r[5] for r in rows):
        past = ("; 'x past run' = scaled by what an earlier run of the step took on this machine and data, in "
                "place of the probe (planner/past_runs.py)" if any("past run" in r[5] for r in rows) else "")
        lines.append("basis: 'reference' = measured on the 2-core reference machine (planner/reference_costs.json); "
                     f"'estimate' = not measured yet; 'x probe' = scaled by this machine's probe{past}.")
    return "\n".join(lines)
