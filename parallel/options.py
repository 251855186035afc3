"""The command-line flags of the parallel path, shared by train.py and recipes.py. Reading them
imports nothing: Ray is imported only once a run asks for it."""
from __future__ import annotations

import argparse

from challenge.errors import DataError


def add_parallel_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", metavar="N|auto",
                        help="train folds in parallel on Ray, N (model, fold) tasks at once, or 'auto': a local Ray "
                             "with every core and GPU of this machine (default: one fold after another, no Ray)")
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help="run the fold tasks on a Ray cluster started with `ray start --head` (e.g. "
                             "10.0.0.1:6379); the data folder, the run directory and cache/ must be shared "
                             "storage at the same path on every machine (docs/parallel.md)")


def parallel_requested(args) -> bool:
    return bool(getattr(args, "workers", None) or getattr(args, "cluster", None))


def parse_workers(text: str | None) -> int | None:
    """'auto' or None -> None (every resource of the cluster); 'N' -> N tasks at once."""
    if text is None or text == "auto":
        return None
    try:
        workers = int(text)
    except ValueError:
        workers = 0
    if workers < 1:
        raise DataError(f"--workers {text!r}: give a number of parallel fold tasks (1, 2, ...) or 'auto'.")
    return workers
