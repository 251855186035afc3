"""Starting a local Ray, or joining a running cluster, for the length of a run."""
from __future__ import annotations

import contextlib
import logging

from parallel.resources import ClusterSize

# The tasks pass file paths and small dicts, never arrays: Ray's shared-memory store can stay at its
# floor instead of claiming 30% of the machine's memory.
OBJECT_STORE_BYTES = 80 * 1024 ** 2


@contextlib.contextmanager
def ray_cluster(workers: int | None, address: str | None):
    """Ray for the `with` block, yielding the ClusterSize the tasks may use.

    `address`: join that cluster (`ray start --head` printed it). Otherwise a local Ray with this
    machine's cores and GPUs, or N logical CPUs when --workers N is more than the cores."""
    import ray

    from planner.machine import this_machine

    if address:
        ray.init(address=address, logging_level=logging.WARNING)
    else:
        machine = this_machine()
        # "local": a new Ray of its own, even where `ray start` left one running on this machine
        ray.init(address="local", num_cpus=max(machine.cores, workers or 0), num_gpus=len(machine.gpus), include_dashboard=False,
                 object_store_memory=OBJECT_STORE_BYTES, logging_level=logging.WARNING)
    try:
        yield cluster_size(ray.nodes())
    finally:
        ray.shutdown()


def cluster_size(nodes: list[dict]) -> ClusterSize:
    """Totals over the live nodes, as `ray.nodes()` lists them."""
    alive = [node["Resources"] for node in nodes if node.get("Alive")]
    cpus = [int(resources.get("CPU", 0)) for resources in alive]
    return ClusterSize(cpus=sum(cpus), gpus=int(sum(resources.get("GPU", 0) for resources in alive)),
                       largest_node_cpus=max(cpus, default=1))
