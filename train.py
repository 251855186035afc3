#!/usr/bin/env python
"""Train one registered model on one fold, several folds or all folds of a run.

    python train.py --model bilstm --fold 0
    python train.py --model tfidf --fold all --data-dir /data/rakuten --run-dir runs/rakuten
    python train.py --model tfidf --fold all --workers 2    (folds in parallel on Ray: docs/parallel.md)

Each fold writes its validation and test probabilities under RUN_DIR/MODEL/fold<k>/; when every
fold of the run is finished, RUN_DIR/MODEL/oof.npy, test.npy and metrics.json are assembled.
A fold that finished earlier is skipped; a fold that was interrupted resumes from its last epoch.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from challenge.cli import add_data_dir, add_run_dir, add_verbose, friendly_errors, load_data
from challenge.errors import DataError
from models.catalogue import check_model_name
from parallel.options import add_parallel_args, parallel_requested


def parse_folds(text: str, n_folds: int) -> list[int]:
    if text == "all":
        return list(range(n_folds))
    try:
        folds = [int(part) for part in text.split(",")]
    except ValueError:
        raise DataError(f"--fold {text!r}: give a fold number (0..{n_folds - 1}), a list like 0,2, or 'all'.")
    bad = [k for k in folds if not 0 <= k < n_folds]
    if bad:
        raise DataError(f"--fold {text!r}: folds {bad} do not exist; this run has folds 0..{n_folds - 1}.")
    return folds


def parse_overrides(pairs: list[str]) -> dict:
    overrides = {}
    for pair in pairs:
        if "=" not in pair:
            raise DataError(f"--set {pair!r}: write key=value, e.g. --set units=128.")
        key, value = pair.split("=", 1)
        overrides[key.strip()] = value.strip()
    return overrides


def read_hparams_file(path: str) -> dict:
    """A JSON object of hyperparameters, or tune.py's best-hparams file (which nests them)."""
    try:
        payload = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(f"--hparams {path}: cannot read it as JSON ({err}).") from err
    return payload.get("hparams", payload) if isinstance(payload, dict) else {}


def read_exclude_file(path: str):
    import pandas as pd

    try:
        frame = pd.read_csv(path, index_col=0)
    except (OSError, pd.errors.ParserError) as err:
        raise DataError(f"--exclude {path}: cannot read it as CSV ({err}). It lists product indices "
                        f"in its first column, as `python -m ensemble --method noise` writes.") from err
    return frame.index


def build_parser() -> argparse.ArgumentParser:
    from models import catalogue  # names only: the models themselves (and TensorFlow) load in main

    parser = argparse.ArgumentParser(description=__doc__, epilog=catalogue.models_epilog(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tfidf",
                        help=f"registered model ({', '.join(catalogue.names())}); default tfidf")
    parser.add_argument("--fold", default="all", help="fold number, comma list, or 'all' (default)")
    add_data_dir(parser)
    add_run_dir(parser)
    parser.add_argument("--name", help="store the model under this name (default: the model name); "
                                       "use it to keep several configurations of one model in a run")
    parser.add_argument("--seed", type=int, default=42, help="seed for folds and training (default 42)")
    parser.add_argument("--n-folds", type=int, help="folds of a new run directory (default 5); an existing run "
                                                     "keeps its own")
    parser.add_argument("--epochs", type=int, help="override the model's epochs")
    parser.add_argument("--batch-size", type=int, help="override the model's batch size")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one hyperparameter, e.g. --set units=128 (repeatable)")
    parser.add_argument("--hparams", metavar="FILE.json", help="hyperparameters from a JSON file "
                                                               "(e.g. tune.py's best_hparams.json)")
    parser.add_argument("--exclude", metavar="FILE.csv", help="leave these training rows (first column: "
                                                              "product index) out of every fold's training")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    add_parallel_args(parser)
    add_verbose(parser)
    return parser


@friendly_errors
def main(argv=None) -> dict | None:
    name, summaries, metrics = train_folds(argv)
    print_table(name, summaries, metrics)
    return metrics


def train_folds(argv=None) -> tuple[str, list[dict], dict | None]:
    """What main does but its closing table: the stored model name, the requested folds' summaries
    and, once every fold is finished, the metrics (recipes.py --budget prints one table a step)."""
    args = build_parser().parse_args(argv)
    if parallel_requested(args):
        return train_many_on_ray([args], args.workers, args.cluster, quiet=args.quiet)[0]
    return train_parsed(args)


def train_many_on_ray(commands: list, workers: str | None, cluster: str | None,
                      quiet: bool = False) -> list[tuple[str, list[dict], dict | None]]:
    """Several train.py commands (argument lists or parsed) at once on Ray, each fold a task
    (parallel/): returns each one's (name, fold summaries, metrics). recipes.py runs its steps so."""
    import train as this_module  # the tasks call train_parsed by its module's name, never as __main__'s
    from parallel.train_on_ray import train_on_ray

    parsed = [build_parser().parse_args(c) if isinstance(c, list) else c for c in commands]
    for command in parsed:
        check_model_name(command.model)  # a typo is refused before Ray starts
    return train_on_ray(parsed, workers, cluster, train_one=this_module.train_parsed,
                        parse_folds=this_module.parse_folds, quiet=quiet)


def train_parsed(args: argparse.Namespace) -> tuple[str, list[dict], dict | None]:
    """train_folds on parsed arguments, in this process (a Ray fold task runs this too)."""
    check_model_name(args.model)  # a typo is refused before TensorFlow is imported
    from folds.store import RunDir
    from models import get_model, resolve_hparams
    from models.core.cross_validate import cross_validate

    spec = get_model(args.model)
    overrides = read_hparams_file(args.hparams) if args.hparams else {}
    overrides.update(parse_overrides(args.set))
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    if args.batch_size is not None:
        overrides["batch_size"] = args.batch_size
    hp = resolve_hparams(spec, overrides)

    data = load_data(args.data_dir)
    run = RunDir(args.run_dir)
    run.prepare(data, n_folds=args.n_folds, seed=args.seed)
    folds_to_run = parse_folds(args.fold, int(run.folds().max()) + 1)
    exclude = read_exclude_file(args.exclude) if args.exclude else None
    if exclude is not None and len(unknown := exclude.difference(data.train.index)):
        raise DataError(f"--exclude {args.exclude}: {len(unknown)} of its {len(exclude)} indices are not "
                        f"training rows of {args.data_dir} (first: {unknown[:5].tolist()}). Was it made for "
                        f"another dataset? Its first column must hold X_train's product indices.")
    summaries, metrics = cross_validate(data, run, spec, hp, folds_to_run, name=args.name, seed=args.seed,
                                        verbose=0 if args.quiet else 2, exclude=exclude)
    return args.name or spec.name, summaries, metrics


def print_table(name: str, summaries: list[dict], metrics: dict | None) -> None:
    import pandas as pd

    table = pd.DataFrame(summaries)[["fold", "weighted_f1", "macro_f1", "accuracy", "seconds"]]
    print(f"\n{name}: fold scores")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if metrics:
        oof = metrics["oof"]
        print(f"{name} out-of-fold: weighted F1 {oof['weighted_f1']:.4f}, macro F1 {oof['macro_f1']:.4f}, "
              f"accuracy {oof['accuracy']:.4f}")
    else:
        print(f"{name}: some folds are still to train; oof.npy is assembled when all are finished.")


if __name__ == "__main__":
    main()
    sys.exit(0)
