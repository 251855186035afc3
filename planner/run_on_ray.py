"""Running a plan's steps side by side on Ray (`recipes.py --budget ... --workers N|auto`).

Every fold left of every step is queued at once (train.train_many_on_ray); Ray packs them into the
lanes the planner priced (planner/lanes.py). The sequential runner's overrun rule (planner/run.py),
which stops a step at a fold's end, has no place here: the folds of several steps end in any order.
A run cut short is resumed by the same command, which trains only the folds without a done.json."""
from __future__ import annotations

import time
from typing import Callable

from challenge.errors import DataError
from planner.plan import Plan, Step
from planner.run import RunSummary, StepResult


def step_train_args(args, step: Step, common: list[str]) -> list[str]:
    """train.py's arguments for the folds a step has left."""
    return ["--model", step.model, "--name", step.name, "--fold", ",".join(str(k) for k in step.folds_left), *common,
            *[f"--set={key}={value}" for key, value in step.settings.items()],
            *([] if args.verbose and not args.quiet else ["--quiet"])]


def run_plan_on_ray(plan: Plan, args, is_complete: Callable[[Step], bool],
                    finish: Callable[[list[str]], object]) -> RunSummary:
    """Train the plan's folds on Ray, then `finish(complete model names)` (the stack and the submission)."""
    import train
    from recipes import common_train_args

    started = time.monotonic()
    steps = [step for step in plan.steps if step.folds_left]
    common = common_train_args(args)
    trained = train.train_many_on_ray([step_train_args(args, step, common) for step in steps], args.workers,
                                      args.cluster, quiet=not args.verbose)
    for name, summaries, metrics in trained:
        train.print_table(name, summaries, metrics)
    fold_seconds = {name: sum(s.get("seconds", 0.0) for s in summaries) for name, summaries, _ in trained}
    results = [StepResult(step.name, step.estimate.seconds, elapsed_s=fold_seconds.get(step.name, 0.0),
                          folds_trained=list(step.folds_left), complete=is_complete(step),
                          note="on Ray: took = its folds' times summed")
               for step in plan.steps]
    stacked = [r.name for r in results if r.complete]
    if not stacked:
        raise DataError("No model of the plan has all its folds finished, so there is nothing to stack. "
                        "Run the same command again: finished folds are kept.")
    submission = finish(stacked)
    return RunSummary(results, stacked, submission, time.monotonic() - started + plan.probe_s)
