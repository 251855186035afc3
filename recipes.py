#!/usr/bin/env python
"""Named recipes: a list of models trained on every fold, a stack over them, a submission.

    python recipes.py --recipe demo --data-dir demo_data --run-dir runs/demo
    python recipes.py --list
    python recipes.py --budget 3h --data-dir rakuten --run-dir runs/rakuten [--plan-only]
    python recipes.py --recipe demo --workers auto     (every model's folds at once on Ray: docs/parallel.md)

A recipe is plain data (recipebook/recipes.py): each entry trains `model` (stored as `name`) with
hyperparameter overrides, then the entries are stacked with the recipe's `stack` method (as
`python -m ensemble` does) and RUN_DIR/submissions/<stack>.csv is written (as `submit.py` does):
the stack's own predictions, unless the stack is BELOW an input or the calibrated blend beyond noise
(`--fallback best`: that candidate's), as its last line says. Re-running a recipe skips what is finished.
`--budget` (recipe `auto`) plans the models that fit in the time given from measured costs on this
machine (planner/), prints the plan, and runs it.
"""
from __future__ import annotations

import argparse

from challenge.cli import add_data_dir, add_run_dir, add_verbose, friendly_errors
from parallel.options import add_parallel_args, parallel_requested
from recipebook.recipes import RECIPES, recipe_steps


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default=None,
                        help=f"one of {', '.join(RECIPES)}, or auto (default demo; auto with --budget)")
    parser.add_argument("--budget", help="plan a run that fits this time (20m, 90m, 3h, 1h30m): recipe auto; it "
                                         "prints a line a fold and a table a step (--verbose: per-epoch lines too)")
    parser.add_argument("--plan-only", action="store_true", help="with --budget: print the plan, run nothing")
    parser.add_argument("--no-probe", action="store_true",
                        help="with --budget: plan from the reference machine's figures, without probing this one")
    parser.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto",
                        help="with --budget: plan for the CPU or the GPU settings (default: a GPU if one is visible)")
    parser.add_argument("--machine", metavar="gpus=N,cpus=N",
                        help="with --budget --plan-only: plan on paper for another machine, its folds packed into "
                             "parallel lanes as --workers would run them (e.g. gpus=2,cpus=4)")
    parser.add_argument("--list", action="store_true", help="list the recipes and exit")
    add_data_dir(parser)
    add_run_dir(parser)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--n-folds", type=int, help="folds of a new run directory (default 5); an existing run "
                                                     "keeps its own")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch lines (--budget: none unless --verbose)")
    add_parallel_args(parser)
    add_verbose(parser)
    return parser


@friendly_errors
def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    if args.list:
        for name, recipe in RECIPES.items():
            models = ", ".join(s["name"] for s in recipe_steps(recipe))
            print(f"{name:12s} {recipe['description']}  [{models} -> stack-{recipe['stack']}]")
        print(f"{'auto':12s} with --budget: the models above that fit in the time given "
              f"(docs/real-size.md#a-run-that-fits-your-time)")
        return {}
    from challenge.errors import DataError

    if args.budget or args.recipe == "auto":
        if not args.budget or args.recipe not in (None, "auto"):
            raise DataError("--budget plans the auto recipe: give --budget (e.g. --budget 3h) and no other --recipe.")
        from planner.cli import run_budget

        return run_budget(args)
    args.recipe = args.recipe or "demo"
    if args.recipe not in RECIPES:
        raise DataError(f"Unknown recipe {args.recipe!r}; known: {', '.join(RECIPES)}, auto (see --list).")
    from recipebook.steps import common_train_args, run_recipe

    if parallel_requested(args):
        from parallel.recipe_on_ray import run_recipe_on_ray

        return run_recipe_on_ray(RECIPES[args.recipe], common_train_args(args), args.workers, args.cluster,
                                 quiet=args.quiet)
    return run_recipe(RECIPES[args.recipe], common_train_args(args), quiet=args.quiet)


if __name__ == "__main__":
    main()
