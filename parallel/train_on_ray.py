"""The folds of one or more trainings (`recipebook.training.train_model`'s arguments, a "job") as
Ray tasks, then each model assembled.

Every requested (model, fold) is one task (fold_task.py) that runs `train_model` on that fold alone
(`train.py --fold k`) in a worker, so it writes its fold folder exactly as a plain process would (done.json last, the run's lock) and a
run may mix Ray, plain processes and resuming. The run directory is prepared here first (folds.csv
once, before any task starts); when every task has ended, oof.npy, test.npy and metrics.json are
assembled from the fold folders by the same code as the sequential path, so the outputs never
depend on which worker trained which fold, or when.
"""
from __future__ import annotations

import time
from pathlib import Path

from challenge.errors import DataError
from parallel.cluster import ray_cluster
from parallel.options import parse_workers
from parallel.resources import fold_resources


def stored_name(job: dict) -> str:
    return job.get("name") or job["model"]


def on_shared_paths(job: dict) -> dict:
    """The job with absolute paths: a worker may run on another machine, or in another folder."""
    return {**job, **{key: str(Path(job[key]).resolve()) for key in ("data_dir", "run_dir", "exclude_file")
                      if job.get(key)}}


def prepare_runs(jobs: list[dict]) -> list[list[int]]:
    """Each job's requested folds; each run directory prepared once (its folds.csv written before
    any task could race to write it)."""
    from challenge.cli import load_data
    from folds.store import RunDir
    from recipebook.training import parse_folds

    prepared, folds = {}, []
    for job in jobs:
        key = (job["data_dir"], job["run_dir"])
        if key not in prepared:
            run = RunDir(job["run_dir"])
            run.prepare(load_data(job["data_dir"]), n_folds=job.get("n_folds"), seed=job.get("seed", 42))
            prepared[key] = int(run.folds().max()) + 1
        folds.append(parse_folds(job.get("folds", "all"), prepared[key]))
    return folds


def train_on_ray(jobs: list[dict], workers: str | None, address: str | None,
                 quiet: bool = False) -> list[tuple[str, list[dict], dict | None]]:
    """Train every requested fold of `jobs` (train_model's arguments, with `model`) on Ray; return
    each job's (stored name, fold summaries, metrics or None), as train_model does."""
    from models.catalogue import check_model_name

    import ray
    from tqdm.auto import tqdm

    from parallel.fold_task import fold_task, task_options

    for job in jobs:
        check_model_name(job["model"])  # a typo is refused before Ray starts
    n_workers = parse_workers(workers)
    jobs = [on_shared_paths(job) for job in jobs]
    folds = prepare_runs(jobs)
    started = time.time()
    with ray_cluster(n_workers, address) as cluster:
        pending = {}
        asks = {}
        for job, requested in zip(jobs, folds):
            need = fold_resources(job["model"], cluster, n_workers, len(requested))
            asks[stored_name(job)] = need.describe()
            for k in requested:
                options = task_options(need, f"{stored_name(job)} fold {k}")
                ref = fold_task(need).options(**options).remote({**job, "folds": str(k)})
                pending[ref] = (stored_name(job), k)
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
    return [assembled(job, requested) for job, requested in zip(jobs, folds)]


def assembled(job: dict, requested: list[int]) -> tuple[str, list[dict], dict | None]:
    """The requested folds' summaries and, once every fold of the run is finished, the model's
    oof.npy/test.npy/metrics.json, assembled by the sequential path's own code."""
    from folds.store import RunDir

    run = RunDir(job["run_dir"])
    store = run.model(stored_name(job))
    summaries = [store.fold_summary(k) for k in requested]
    return stored_name(job), summaries, store.assemble(run.folds(), run.train_labels())


def _as_user_error(err: Exception, name: str, k: int) -> Exception:
    """A task's DataError is the user's to fix: raised as itself, so the command prints it plainly."""
    from ray.exceptions import RayTaskError

    cause = err.cause if isinstance(err, RayTaskError) else err
    if isinstance(cause, DataError):
        return DataError(f"{name} fold {k}: {cause}")
    return err
