"""Running a plan's steps side by side on Ray (`recipes.py --budget ... --workers N|auto`).

Every fold left of every step is queued at once (parallel/train_on_ray.py); Ray packs them into the
lanes the planner priced (planner/lanes.py). The sequential runner's overrun rule (planner/run.py),
which stops a step at a fold's end, has no place here: the folds of several steps end in any order.
A run cut short is resumed by the same command, which trains only the folds without a done.json."""
from __future__ import annotations

import time
from typing import Callable

from challenge.errors import DataError
from planner.plan import Plan, Step
from planner.run import RunSummary, StepResult


def step_job(step: Step, common: dict, quiet: bool) -> dict:
    """train_model's arguments for the folds a step has left."""
    return dict(model=step.model, name=step.name, folds=",".join(str(k) for k in step.folds_left),
                overrides=step.settings, quiet=quiet, **{**common, "seed": common["seed"] + step.seed_offset})


def run_plan_on_ray(plan: Plan, args, is_complete: Callable[[Step], bool],
                    finish: Callable[[list[str]], object]) -> RunSummary:
    """Train the plan's folds on Ray, then `finish(complete model names)` (the stack and the submission)."""
    from parallel.train_on_ray import train_on_ray
    from recipebook.steps import common_train_args
    from recipebook.training import print_table

    started = time.monotonic()
    common, quiet = common_train_args(args), not (args.verbose and not args.quiet)
    trained = train_on_ray([step_job(step, common, quiet) for step in plan.steps if step.folds_left], args.workers,
                           args.cluster, quiet=not args.verbose)
    for result in trained:
        print_table(*result)
    fold_seconds = {name: sum(s.get("seconds", 0.0) for s in summaries) for name, summaries, _ in trained}
    # every fold is queued at once, so no finished fold corrects another's estimate: at pace = planned
    results = [StepResult(step.name, step.estimate.seconds, step.estimate.seconds, elapsed_s=fold_seconds.get(step.name, 0.0),
                          folds_trained=list(step.folds_left), complete=is_complete(step),
                          note="on Ray: took = its folds' times summed")
               for step in plan.steps]
    stacked = [r.name for r in results if r.complete]
    if not stacked:
        raise DataError("No model of the plan has all its folds finished, so there is nothing to stack. "
                        "Run the same command again: finished folds are kept.")
    submission = finish(stacked)
    return RunSummary(results, stacked, submission, time.monotonic() - started + plan.probe_s)
