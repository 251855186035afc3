"""A named recipe on Ray: every fold of every step queued at once (so a GPU model's folds and
tfidf's run side by side), one table a step, then the stack and the submission as
recipebook.steps.run_recipe ends."""
from __future__ import annotations

import time

from parallel.train_on_ray import train_on_ray


def run_recipe_on_ray(recipe: dict, common: dict, workers: str | None, address: str | None,
                      quiet: bool = False) -> dict:
    """run_recipe with its steps' folds on Ray; returns the minutes of the folds and of the stack."""
    from recipebook.recipes import recipe_steps
    from recipebook.steps import stack_and_submit
    from recipebook.training import print_table

    steps = recipe_steps(recipe)
    jobs = [dict(model=step["model"], name=step["name"], folds="all", overrides=step["set"], quiet=quiet, **common)
            for step in steps]
    started = time.time()
    for result in train_on_ray(jobs, workers, address, quiet=quiet):
        print_table(*result)
    minutes = {"folds on Ray": (time.time() - started) / 60}
    started = time.time()
    stack_and_submit(common["run_dir"], recipe["stack"], [step["name"] for step in steps])
    minutes[f"stack-{recipe['stack']}"] = (time.time() - started) / 60
    print("\nminutes: " + ", ".join(f"{k} {v:.1f}" for k, v in minutes.items()))
    return minutes
