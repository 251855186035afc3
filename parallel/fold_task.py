"""The Ray task: one (model, fold), trained by train.py's own code (recipebook.training) in a Ray worker."""
from __future__ import annotations

import ray

from parallel.resources import FoldResources

# A worker killed mid-fold (out of memory, a lost node, kill -9) is replaced and its task run again;
# the fold resumes from its last Keras backup, and a fold whose done.json exists is skipped.
MAX_RETRIES = 3


def _train(job: dict):
    from recipebook.training import train_model

    return train_model(**job)


@ray.remote(max_retries=MAX_RETRIES)
def train_fold(job: dict):
    """`train_model(**job)` on the job's one fold, in a worker started with task_options' settings."""
    return _train(job)


# A GPU fold gets a fresh process: TensorFlow gives a GPU's memory back only when it exits.
@ray.remote(max_retries=MAX_RETRIES, max_calls=1)
def train_gpu_fold(job: dict):
    """train_fold in a worker process of its own."""
    return _train(job)


def task_options(need: FoldResources, name: str) -> dict:
    """Ray options of a fold task. TensorFlow sizes its thread pools when it starts, from these
    variables (Ray sets OMP_NUM_THREADS alike); Ray reuses a worker only for tasks of the same
    runtime_env, so a worker's TensorFlow always has the thread count its task asked for."""
    threads = str(need.num_cpus)
    return {"num_cpus": need.num_cpus, "num_gpus": need.num_gpus, "name": name,
            "runtime_env": {"env_vars": {"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": threads}}}


def fold_task(need: FoldResources):
    """The remote function for a fold with these needs."""
    return train_gpu_fold if need.num_gpus else train_fold
