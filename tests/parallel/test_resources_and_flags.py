"""The parallel path's arithmetic and flags, without starting Ray (about 15 s: the last test trains
tfidf in a process of its own)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from challenge.errors import DataError
from parallel.cluster import cluster_size
from parallel.options import parse_workers
from parallel.resources import ClusterSize, FoldResources, fold_resources

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_a_keras_fold_takes_a_gpu_and_tfidf_takes_cores():
    t4_box = ClusterSize(cpus=4, gpus=2, largest_node_cpus=4)
    assert fold_resources("text_cnn", t4_box, None, 5) == FoldResources(num_cpus=1, num_gpus=1)
    assert fold_resources("tfidf", t4_box, None, 5) == FoldResources(num_cpus=1, num_gpus=0)
    workstation = ClusterSize(cpus=32, gpus=4, largest_node_cpus=32)
    assert fold_resources("e5_finetune", workstation, None, 5).num_cpus == 4  # half the cores feed 4 GPUs
    assert fold_resources("tfidf", workstation, None, 5).num_cpus == 3  # auto: 5 folds share the 16 cores left
    assert fold_resources("tfidf", workstation, 2, 5).num_cpus == 16


def test_without_gpus_every_fold_takes_its_share_of_cores_within_one_node():
    laptop = ClusterSize(cpus=2, gpus=0, largest_node_cpus=2)
    assert fold_resources("bilstm", laptop, 2, 5).describe() == "1 CPU"
    assert fold_resources("bilstm", laptop, 1, 5).describe() == "2 CPU"
    assert fold_resources("tfidf", laptop, 8, 5).num_cpus == 1  # never less than one
    two_nodes = ClusterSize(cpus=16, gpus=0, largest_node_cpus=8)
    assert fold_resources("tfidf", two_nodes, 1, 5).num_cpus == 8  # a task runs on one node


def test_cluster_size_counts_the_live_nodes_only():
    nodes = [{"Alive": True, "Resources": {"CPU": 4.0, "GPU": 2.0}},
             {"Alive": True, "Resources": {"CPU": 8.0}},
             {"Alive": False, "Resources": {"CPU": 64.0, "GPU": 8.0}}]
    assert cluster_size(nodes) == ClusterSize(cpus=12, gpus=2, largest_node_cpus=8)


@pytest.mark.parametrize("text", ["0", "-1", "two"])
def test_a_bad_workers_value_is_refused(text):
    with pytest.raises(DataError, match="--workers"):
        parse_workers(text)
    assert parse_workers("auto") is None and parse_workers("3") == 3


def test_the_sequential_path_never_imports_ray(demo_dir, tmp_path):
    script = ("import sys, train; train.main(['--model', 'tfidf', '--n-folds', '2', '--quiet', '--data-dir', "
              f"{str(demo_dir)!r}, '--run-dir', {str(tmp_path / 'run')!r}]); "
              "assert 'ray' not in sys.modules, 'ray was imported'")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "run" / "tfidf" / "oof.npy").is_file()
