"""The folds of one or more `train.py` commands as Ray tasks, then each model assembled.

Every requested (model, fold) is one task (fold_task.py) that runs the command's own one-fold
function (`train.py --fold k`, handed in as `train_one`: nothing here imports a command) in a worker,
so it writes its fold folder exactly as a plain process would (done.json last, the run's lock) and a
run may mix Ray, plain processes and resuming. The run directory is prepared here first (folds.csv
once, before any task starts); when every task has ended, oof.npy, test.npy and metrics.json are
assembled from the fold folders by the same code as the sequential path, so the outputs never
depend on which worker trained which fold, or when.
"""
from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path
from typing import Callable

from challenge.errors import DataError
from parallel.cluster import ray_cluster
from parallel.options import parse_workers
from parallel.resources import fold_resources


def stored_name(command: argparse.Namespace) -> str:
    return command.name or command.model


def on_shared_paths(command: argparse.Namespace) -> argparse.Namespace:
    """The command with absolute paths: a worker may run on another machine, or in another folder."""
    command = copy.copy(command)
    for key in ("data_dir", "run_dir", "hparams", "exclude"):
        if getattr(command, key, None):
            setattr(command, key, str(Path(getattr(command, key)).resolve()))
    return command


def one_fold(command: argparse.Namespace, k: int) -> argparse.Namespace:
    task = copy.copy(command)
    task.fold, task.workers, task.cluster = str(k), None, None
    return task


def prepare_runs(commands: list[argparse.Namespace], parse_folds: Callable[[str, int], list[int]]) -> list[list[int]]:
    """Each command's requested folds; each run directory prepared once (its folds.csv written
    before any task could race to write it)."""
    from challenge.cli import load_data
    from folds.store import RunDir

    prepared, folds = {}, []
    for command in commands:
        key = (command.data_dir, command.run_dir)
        if key not in prepared:
            run = RunDir(command.run_dir)
            run.prepare(load_data(command.data_dir), n_folds=command.n_folds, seed=command.seed)
            prepared[key] = int(run.folds().max()) + 1
        folds.append(parse_folds(command.fold, prepared[key]))
    return folds


def train_on_ray(commands: list[argparse.Namespace], workers: str | None, address: str | None,
                 train_one: Callable, parse_folds: Callable[[str, int], list[int]],
                 quiet: bool = False) -> list[tuple[str, list[dict], dict | None]]:
    """Train every requested fold of `commands` (train.py's parsed arguments) on Ray, each by
    `train_one(arguments of one fold)`; `parse_folds(--fold, folds of the run)` reads their --fold.
    Returns each command's (stored name, fold summaries, metrics or None), as train_one does."""
    import ray
    from tqdm.auto import tqdm

    from parallel.fold_task import fold_task, task_options

    n_workers = parse_workers(workers)
    commands = [on_shared_paths(command) for command in commands]
    folds = prepare_runs(commands, parse_folds)
    started = time.time()
    with ray_cluster(n_workers, address) as cluster:
        pending = {}
        asks = {}
        for command, requested in zip(commands, folds):
            need = fold_resources(command.model, cluster, n_workers, len(requested))
            asks[stored_name(command)] = need.describe()
            for k in requested:
                options = task_options(need, f"{stored_name(command)} fold {k}")
                ref = fold_task(need).options(**options).remote(train_one, one_fold(command, k))
                pending[ref] = (stored_name(command), k)
        print(f"Ray ({cluster.describe()}): {len(pending)} fold tasks; each fold asks "
              + ", ".join(f"{name} {ask}" for name, ask in asks.items()), flush=True)
        with tqdm(total=len(pending), desc="folds on Ray", unit="fold", disable=quiet) as bar:
            while pending:
                (ref,), _ = ray.wait(list(pending), num_returns=1)
                name, k = pending.pop(ref)
                try:
                    ray.get(ref)
                except Exception as err:
                    for other in pending:
                        ray.cancel(other, force=True)
                    raise _as_user_error(err, name, k)
                bar.update()
    print(f"folds on Ray: {(time.time() - started) / 60:.1f} min with Ray's start-up", flush=True)
    return [assembled(command, requested) for command, requested in zip(commands, folds)]


def assembled(command: argparse.Namespace, requested: list[int]) -> tuple[str, list[dict], dict | None]:
    """The requested folds' summaries and, once every fold of the run is finished, the model's
    oof.npy/test.npy/metrics.json, assembled by the sequential path's own code."""
    from folds.store import RunDir

    run = RunDir(command.run_dir)
    store = run.model(stored_name(command))
    summaries = [store.fold_summary(k) for k in requested]
    return stored_name(command), summaries, store.assemble(run.folds(), run.train_labels())


def _as_user_error(err: Exception, name: str, k: int) -> Exception:
    """A task's DataError is the user's to fix: raised as itself, so the command prints it plainly."""
    from ray.exceptions import RayTaskError

    cause = err.cause if isinstance(err, RayTaskError) else err
    if isinstance(cause, DataError):
        return DataError(f"{name} fold {k}: {cause}")
    return err
