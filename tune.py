#!/usr/bin/env python
"""Search one registered model's hyperparameters with Keras Tuner, scored on the run's folds.

    python tune.py --model bilstm --tuner random --max-trials 10 --epochs 4 --folds 0
    python tune.py --model bilstm --tuner bayesian --max-trials 20 --folds 0,1,2 --run-dir runs/rakuten

Each trial trains the model on the --folds of RUN_DIR/folds.csv and scores it by the mean of the
folds' best validation weighted F1 (val_weighted_f1). The search lives in RUN_DIR/tuning/NAME/;
running the same command again continues it (only the trial in flight when it stopped is redone;
raise --max-trials to search further). At the end RUN_DIR/tuning/NAME/best_hparams.json and
trials.csv are written; train every fold with the best values:

    python train.py --model bilstm --name bilstm_tuned --hparams RUN_DIR/tuning/bilstm/best_hparams.json

Distributed search (Keras Tuner's own mode): run the same command on each machine with
KERASTUNER_TUNER_ID (chief, tuner0, tuner1, ...), KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT
set; the chief hands out trials and writes the results, the workers train.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from challenge.cli import add_data_dir, add_run_dir, add_verbose, friendly_errors, load_data, parse_overrides
from challenge.errors import DataError
from models.catalogue import check_model_name
from recipebook.training import parse_folds


def build_parser() -> argparse.ArgumentParser:
    from models import catalogue  # names only: the models themselves (and TensorFlow) load in main

    tunable = catalogue.names(tunable_only=True)
    parser = argparse.ArgumentParser(description=__doc__, epilog=catalogue.models_epilog(tunable_only=True),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="bilstm", help=f"registered model ({', '.join(tunable)}); default bilstm")
    parser.add_argument("--name", help="name of the search (default: the model name); RUN_DIR/tuning/NAME/")
    parser.add_argument("--tuner", default="random", choices=["random", "bayesian", "hyperband"],
                        help="Keras Tuner oracle (default random); hyperband ignores --max-trials: its "
                             "budget is --epochs, the most epochs a trial gets")
    parser.add_argument("--max-trials", type=int, default=10, help="trials of a random/bayesian search (default 10)")
    parser.add_argument("--epochs", type=int, default=4,
                        help="epochs per fold of a trial, with early stopping (default 4)")
    parser.add_argument("--folds", default="0", help="folds each trial trains on, e.g. 0 or 0,1,2 or all "
                                                    "(default 0); the objective is their mean")
    add_data_dir(parser)
    add_run_dir(parser)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="fix one hyperparameter for every trial (not searched), e.g. --set max_tokens=20000")
    parser.add_argument("--seed", type=int, default=42, help="seed of the oracle and of training (default 42)")
    parser.add_argument("--n-folds", type=int, default=5, help="folds of a new run directory (default 5)")
    parser.add_argument("--initial-points", type=int,
                        help="bayesian: random trials before the Gaussian process (default: half of --max-trials)")
    parser.add_argument("--strategy", default="none", choices=["none", "mirrored"],
                        help="tf.distribute strategy of each trial: mirrored = all GPUs of this machine")
    parser.add_argument("--overwrite", action="store_true", help="delete the search of this name and start over")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    add_verbose(parser)
    return parser


@friendly_errors
def main(argv=None) -> dict | None:
    """Returns the best-hyperparameters record (None on a distributed worker)."""
    args = build_parser().parse_args(argv)
    check_model_name(args.model)  # a typo is refused before TensorFlow is imported
    from folds.atomic import save_json, save_text
    from folds.store import RunDir
    from models import get_model, resolve_hparams
    from models.core import tuning

    spec = get_model(args.model)
    tuning.searched_names(spec)  # refuses a model without a search space
    raw = parse_overrides(args.set)
    if "epochs" in raw:
        raise DataError("--set epochs=...: use --epochs for the epochs of a trial.")
    resolved = resolve_hparams(spec, raw)
    fixed = {key: resolved[key] for key in raw}
    name = args.name or spec.name
    role = tuning.distributed_role()
    run = RunDir(args.run_dir)
    project = run.root / "tuning" / name

    data = None
    if role == "chief":  # hands out trials and trains nothing: no data needed
        n_folds = int(run.folds().max()) + 1 if (run.root / "folds.csv").is_file() else args.n_folds
    else:
        challenge = load_data(args.data_dir)
        classes, folds = run.prepare(challenge, n_folds=_n_folds(run, args.n_folds), seed=args.seed)
        n_folds = int(folds.max()) + 1
        data = tuning.SearchData(challenge, classes.encode(challenge.labels), folds.to_numpy(), len(classes))
    folds_to_run = parse_folds(args.folds, n_folds)

    if args.overwrite and role != "worker" and project.exists():
        shutil.rmtree(project)
    settings = {"model": spec.name, "tuner": args.tuner, "folds": folds_to_run, "epochs": args.epochs,
                "fixed": fixed, "seed": args.seed, "objective": tuning.MONITOR}
    check_settings(project, settings)
    save_json(project / "search.json", settings)

    space = tuning.search_space(spec, fixed)
    oracle = tuning.make_oracle(args.tuner, space, args.max_trials, args.epochs, args.seed, args.initial_points)
    tuner = tuning.FoldTuner(oracle, spec, fixed, folds_to_run, args.epochs, seed=args.seed,
                             verbose=0 if args.quiet else 2, directory=str(run.root / "tuning"),
                             project_name=name, distribution_strategy=tuning.make_strategy(args.strategy))
    if role == "worker":
        print(f"[{tuner.tuner_id}] asking the chief oracle for trials", flush=True)
    tuner.search(data=data, verbose=0 if args.quiet else 1)
    if role == "worker":
        print(f"[{tuner.tuner_id}] no trials left; the chief writes {project / 'best_hparams.json'}")
        return None

    table = tuning.trials_table(tuner.oracle)
    save_text(project / "trials.csv", table.to_csv(index=False))
    best = {"model": spec.name, "name": name, **tuning.best_hparams(tuner.oracle, fixed),
            "objective": tuning.MONITOR, "tuner": args.tuner, "folds": folds_to_run, "search_epochs": args.epochs}
    save_json(project / "best_hparams.json", best)
    print_results(table, best, project, args)
    return best


def _n_folds(run, requested: int) -> int:
    """An existing run keeps its folds, whatever --n-folds says."""
    if (run.root / "folds.csv").is_file():
        return int(run.folds().nunique())
    return requested


def check_settings(project: Path, settings: dict) -> None:
    """A search continues only with the settings it started with (--max-trials may grow)."""
    import json

    path = project / "search.json"
    if not path.is_file():
        return
    known = json.loads(path.read_text())
    changed = sorted(k for k in set(known) | set(settings) if known.get(k) != settings.get(k))
    if changed:
        detail = ", ".join(f"{k}: {known.get(k)!r} -> {settings.get(k)!r}" for k in changed)
        raise DataError(f"{project} holds a search with other settings ({detail}). Continue it with its "
                        f"settings, give this search its own --name, or start over with --overwrite.")


def print_results(table, best: dict, project: Path, args) -> None:
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 40):
        print(f"\n{best['name']}: {len(table)} trials ({args.tuner}, folds {best['folds']}), best first")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"\nbest trial {best['trial']}: {best['objective']} {best['score']:.4f}")
    print(f"wrote {project / 'best_hparams.json'} and {project / 'trials.csv'}")
    print(f"train every fold with them:\n  python train.py --model {best['model']} --name {best['name']}_tuned "
          f"--fold all --hparams {project / 'best_hparams.json'} --data-dir {args.data_dir} --run-dir {args.run_dir}")


if __name__ == "__main__":
    main()
    sys.exit(0)
