"""What a recipe step does, for the named recipes and the --budget planner alike: train one entry on
every fold, and end with a stack and its submission."""
from __future__ import annotations

import time


def common_train_args(args) -> dict:
    """The train_model arguments every step of a recipe (named or --budget) shares."""
    return {"data_dir": args.data_dir, "run_dir": args.run_dir, "seed": args.seed, "n_folds": args.n_folds}


def train_step(step: dict, common: dict, quiet: bool = False) -> None:
    """One entry of recipe_steps(): its model on every fold of the run, then its table of fold scores."""
    from recipebook.training import print_table, train_model

    print_table(*train_model(step["model"], name=step["name"], folds="all", overrides=step["set"], quiet=quiet,
                             **common))


def run_recipe(recipe: dict, common: dict, quiet: bool = False) -> dict:
    """Every entry of a named recipe, then its stack and submission; returns the minutes of each step
    (finished folds are skipped, so running it again resumes)."""
    from recipebook.recipes import recipe_steps

    minutes = {}
    steps = recipe_steps(recipe)
    for step in steps:
        started = time.time()
        train_step(step, common, quiet)
        minutes[step["name"]] = (time.time() - started) / 60
    started = time.time()
    stack_and_submit(common["run_dir"], recipe["stack"], [step["name"] for step in steps])
    minutes[f"stack-{recipe['stack']}"] = (time.time() - started) / 60
    print("\nminutes per step: " + ", ".join(f"{k} {v:.1f}" for k, v in minutes.items()))
    return minutes


def stack_and_submit(run_dir: str, method: str, names: list[str]):
    """A recipe's last step (named recipes and --budget alike): stack `names`, submit the stack, and
    say whose predictions the file holds. A stack BELOW a candidate beyond noise hands over that
    candidate's predictions (--fallback best); a tie keeps its own."""
    from ensemble.__main__ import main as ensemble_main
    from ensemble.versus_inputs import submitted_because
    from recipebook.submission import write_submission

    stack = f"stack-{method}"
    stacked = ensemble_main(["--method", method, "--run-dir", run_dir, "--fallback", "best", "--models", ",".join(names)])
    out = write_submission(run_dir, stack)
    print(f"submission: {out} holds {submitted_because(stack, stacked['versus_inputs'])}")
    return out
