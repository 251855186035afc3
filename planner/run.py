"""Running a plan fold by fold, with the rule that keeps it on time.

Each step trains one fold at a time (`train_model` on fold k, as `train.py --fold k` does; finished
folds are skipped, so running the same plan again resumes). After each fold the step's elapsed
time is compared with its estimate: more than 50% (and a minute) over, and the step stops there (the
fold just finished is kept). A step is also stopped at a fold's end when its pace so far (the measured time over the
estimate of the folds done) projects the whole run more than 10% past the budget. The plan's first
step (tfidf) is never stopped: without it there is nothing to submit. A step is skipped when it no
longer fits in what the earlier steps (and an earlier, stopped start of the same run: plan.spent_s,
planner/resume.py) left of the budget + 10%: the same slack, so that a plan that
fills its budget does not lose its longest step to an earlier step's minute over (debfr-public,
--budget 45m: e5_finetune's 36 min at the run's pace against 35 left, skipped, the run ended at 10).

Estimates are corrected as the run goes: each step starts with its plan estimate times the run's
pace so far (the time its finished folds took over what the plan estimated for them, every earlier
step together), so a machine that runs everything 30% slower than planned has the later steps'
skip and overrun rules read nearly 1.3 x their estimates. The pace is shrunk towards 1 by
PACE_PRIOR_S of planned time, as if that much had run on time before the first fold: one short
step's miss (a minute of tfidf start-up 60% over) says little of an hour-long step, half an hour of
steps says most of it. It is also bounded (RUN_PACE_BOUNDS). The stack then takes only the models whose
every fold finished (a model with missing folds has no OOF), and the submission is written the way
the recipes write theirs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from challenge.errors import DataError
from planner.costs import Estimate
from planner.plan import Plan, Step, format_minutes

OVERRUN = 1.5  # a step may take up to 1.5 x its estimate before it is stopped at a fold's end
GRACE_S = 60.0  # ... and a minute more: on small data a few seconds of start-up are not an overrun
BUDGET_SLACK = 0.10  # a run may end up to 10% past its budget; a step whose pace projects more stops
RUN_PACE_BOUNDS = (0.5, 2.0)  # how far the finished folds may correct a later step's estimate
PACE_PRIOR_S = 300.0  # the pace counts 5 planned minutes as on time before any fold is measured


def fold_estimate_s(estimate: Estimate, folds_total: int, first: bool) -> float:
    """What the plan estimated for one fold of a step: the first fold also carries the one-off parts."""
    per_fold = (estimate.seconds - estimate.once_seconds) / max(1, folds_total)
    return per_fold + (estimate.once_seconds if first else 0.0)


@dataclass
class RunPace:
    """Measured over estimated seconds of every fold finished so far in this run, shrunk towards 1."""

    measured_s: float = 0.0
    estimated_s: float = 0.0

    def add(self, measured_s: float, estimated_s: float) -> None:
        self.measured_s += measured_s
        self.estimated_s += estimated_s

    @property
    def factor(self) -> float:
        low, high = RUN_PACE_BOUNDS
        pace = (self.measured_s + PACE_PRIOR_S) / (self.estimated_s + PACE_PRIOR_S)
        return min(high, max(low, pace))


def projected_step_s(estimate: Estimate, folds_done: int, folds_total: int, elapsed_s: float) -> float:
    """The step's whole time at its pace so far: the measured time scaled by how far it runs over
    (or under) the estimate of the folds done, where the first fold also carries the one-off parts."""
    per_fold = fold_estimate_s(estimate, folds_total, first=False)
    estimated_so_far = estimate.once_seconds + per_fold * folds_done
    pace = elapsed_s / estimated_so_far if estimated_so_far > 0 else 1.0
    return elapsed_s + pace * per_fold * (folds_total - folds_done)


@dataclass
class StepResult:
    name: str
    estimated_s: float  # the plan's estimate
    corrected_s: float = 0.0  # ... times the run's pace when the step started
    elapsed_s: float = 0.0
    folds_trained: list[int] = field(default_factory=list)
    complete: bool = False
    note: str = ""


@dataclass
class RunSummary:
    results: list[StepResult]
    stacked: list[str]
    submission: object = None
    elapsed_s: float = 0.0

    def format(self) -> str:
        lines = ["", f"{'step':16s} {'est. min':>8} {'at pace':>8} {'took min':>8}  outcome"]
        for r in self.results:
            outcome = "complete" if r.complete else "not stacked"
            lines.append(f"{r.name:16s} {format_minutes(r.estimated_s):>8} {format_minutes(r.corrected_s):>8} "
                         f"{format_minutes(r.elapsed_s):>8}  "
                         f"{outcome}{': ' + r.note if r.note else ''}")
        lines.append(f"stacked: {', '.join(self.stacked)}; whole run {format_minutes(self.elapsed_s)} min")
        if self.submission is not None:
            lines.append(f"submission: {self.submission}")
        return "\n".join(lines)


def run_plan(plan: Plan, train_fold: Callable[[Step, int], None], is_complete: Callable[[Step], bool],
             finish: Callable[[list[str]], object], clock: Callable[[], float] = time.monotonic,
             step_finished: Callable[[Step], None] = lambda step: None) -> RunSummary:
    """Train the plan's steps fold by fold under the overrun rule, then `finish(complete model names)`
    (the stack and the submission). `is_complete(step)` says whether every fold of a step is done;
    `step_finished(step)` runs after each step that trained a fold (its table of fold scores)."""
    run_started = clock()
    reserve = plan.stack.seconds + plan.submit.seconds
    results = []
    run_pace = RunPace()
    for position_in_plan, step in enumerate(plan.steps):
        estimate = step.estimate.scaled(run_pace.factor)
        result = StepResult(step.name, step.estimate.seconds, estimate.seconds)
        results.append(result)
        spent = clock() - run_started + plan.probe_s + plan.spent_s
        # the same 10% the stop rule allows: a plan that fills its budget loses no step to a minute's overrun
        allowed = plan.budget_s * (1 + BUDGET_SLACK)
        if step.folds_left and spent + estimate.seconds + reserve > allowed:
            left = max(0.0, allowed - spent - reserve)
            at_pace = "" if run_pace.factor == 1.0 else f" ({format_minutes(step.estimate.seconds)} in the plan)"
            result.note = (f"skipped: {format_minutes(estimate.seconds)} min estimated at this run's pace{at_pace}, "
                           f"{format_minutes(left)} left of the budget + 10% after the steps before it")
            result.complete = is_complete(step)
            continue
        started = clock()
        for position, k in enumerate(step.folds_left):
            fold_started = clock()
            train_fold(step, k)
            result.folds_trained.append(k)
            result.elapsed_s = clock() - started
            run_pace.add(clock() - fold_started, fold_estimate_s(step.estimate, len(step.folds_left), position == 0))
            more = position < len(step.folds_left) - 1
            if not more or position_in_plan == 0:
                continue
            limit = max(OVERRUN * estimate.seconds, estimate.seconds + GRACE_S)
            if result.elapsed_s > limit:
                result.note = (f"stopped after fold {k}: {format_minutes(result.elapsed_s)} min, over 1.5 x its "
                               f"estimate of {format_minutes(estimate.seconds)} min; rerun to finish it")
                break
            whole_step = projected_step_s(estimate, position + 1, len(step.folds_left), result.elapsed_s)
            run_end = started - run_started + plan.probe_s + plan.spent_s + whole_step + reserve
            if run_end > plan.budget_s * (1 + BUDGET_SLACK):
                result.note = (f"stopped after fold {k}: at its pace ({format_minutes(result.elapsed_s)} min so far) "
                               f"the run would end at {format_minutes(run_end)} min, over the budget of "
                               f"{format_minutes(plan.budget_s)} min + 10%; rerun to finish it")
                break
        result.complete = is_complete(step)
        if result.folds_trained:
            step_finished(step)
    stacked = [r.name for r in results if r.complete]
    if not stacked:
        raise DataError("No model finished all its folds within the budget, so there is nothing to stack. "
                        "Run the same command again (finished folds are kept) or give a larger --budget.")
    submission = finish(stacked)
    return RunSummary(results, stacked, submission, clock() - run_started + plan.probe_s + plan.spent_s)
