"""What one (model, fold) task asks Ray for. Pure arithmetic on the cluster's totals, so the
planner and the tests read it without Ray.

A Keras model's fold takes a GPU where the cluster has one (one fold per GPU; TensorFlow would
otherwise claim every GPU's memory) and a share of the cores for its input pipeline; a scikit-learn
model's fold (tfidf) takes cores only. Without GPUs every fold takes cores: `--workers N` gives each
of N folds at once an equal share, `auto` spreads one model's folds over the cores the GPUs leave."""
from __future__ import annotations

from dataclasses import dataclass

# Models with no Keras inside: a GPU does nothing for them.
CPU_ONLY_MODELS = frozenset({"tfidf"})


@dataclass(frozen=True)
class FoldResources:
    num_cpus: int
    num_gpus: int

    def describe(self) -> str:
        return f"{self.num_gpus} GPU + {self.num_cpus} CPU" if self.num_gpus else f"{self.num_cpus} CPU"


@dataclass(frozen=True)
class ClusterSize:
    """The resources the tasks may use: the cluster's totals and its largest node's cores (a task
    runs on one node, so it cannot ask for more)."""

    cpus: int
    gpus: int
    largest_node_cpus: int

    def describe(self) -> str:
        return f"{self.cpus} CPU" + (f" + {self.gpus} GPU" if self.gpus else "")


def uses_gpu(model: str, cluster: ClusterSize) -> bool:
    return bool(cluster.gpus) and model not in CPU_ONLY_MODELS


def fold_resources(model: str, cluster: ClusterSize, workers: int | None, n_folds: int) -> FoldResources:
    """The CPUs and GPU a fold of `model` asks for; `workers` None is --workers auto."""
    if uses_gpu(model, cluster):
        return FoldResources(num_cpus=gpu_fold_cpus(cluster), num_gpus=1)
    if workers:
        return FoldResources(num_cpus=_fit(cluster.cpus // workers, cluster), num_gpus=0)
    left = cluster.cpus - (cluster.gpus * gpu_fold_cpus(cluster) if cluster.gpus else 0)  # the cores no GPU uses
    return FoldResources(num_cpus=_fit(left // n_folds, cluster), num_gpus=0)


def gpu_fold_cpus(cluster: ClusterSize) -> int:
    """Half the cores feed the GPUs' input pipelines; the other half are left to the CPU models' folds."""
    return _fit(cluster.cpus // (2 * cluster.gpus), cluster)


def _fit(cpus: int, cluster: ClusterSize) -> int:
    return max(1, min(cpus, cluster.largest_node_cpus))
