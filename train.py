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

from challenge.cli import add_data_dir, add_run_dir, add_verbose, friendly_errors, parse_overrides
from challenge.errors import DataError
from models.catalogue import check_model_name
from parallel.options import add_parallel_args, parallel_requested
from recipebook.training import print_table, train_model


def read_hparams_file(path: str) -> dict:
    """A JSON object of hyperparameters, or tune.py's best-hparams file (which nests them)."""
    try:
        payload = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(f"--hparams {path}: cannot read it as JSON ({err}).") from err
    return payload.get("hparams", payload) if isinstance(payload, dict) else {}


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
    """Train, print the folds' table; returns the out-of-fold metrics once every fold is finished."""
    args = build_parser().parse_args(argv)
    check_model_name(args.model)  # a typo is refused before TensorFlow is imported
    overrides = read_hparams_file(args.hparams) if args.hparams else {}
    overrides.update(parse_overrides(args.set))
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    if args.batch_size is not None:
        overrides["batch_size"] = args.batch_size
    job = dict(model=args.model, data_dir=args.data_dir, run_dir=args.run_dir, folds=args.fold, name=args.name,
               seed=args.seed, n_folds=args.n_folds, overrides=overrides, exclude_file=args.exclude, quiet=args.quiet)
    if parallel_requested(args):  # each fold a Ray task (docs/parallel.md)
        from parallel.train_on_ray import train_on_ray

        name, summaries, metrics = train_on_ray([job], args.workers, args.cluster, quiet=args.quiet)[0]
    else:
        name, summaries, metrics = train_model(**job)
    print_table(name, summaries, metrics)
    return metrics


if __name__ == "__main__":
    main()
    sys.exit(0)
