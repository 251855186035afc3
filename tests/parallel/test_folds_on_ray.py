"""Folds on a local Ray with 2 CPUs and the demo data: the same OOF as the sequential run, a worker
killed mid-fold retried and resumed, and a head + worker "cluster" on this machine. Each test starts
its own Ray and ends every process of it (ray_processes.py). About 40-90 s each on 2 idle cores."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import recipes
from folds.store import RunDir
from tests.parallel.ray_processes import REPO_ROOT, end_session, free_port, node_ports, pids_titled, ray_node

# A recipe small enough for a test: the tfidf and a Keras model, two folds each, and the LightGBM stack.
TINY = {"description": "test", "stack": "lgbm", "models": [
    {"name": "tfidf", "model": "tfidf", "set": {}},
    {"name": "conv1d", "model": "conv1d",
     "set": {"epochs": 2, "units": 16, "max_tokens": 2000, "tensorboard": False}}]}


@pytest.fixture
def tiny_recipe(monkeypatch):
    monkeypatch.setitem(recipes.RECIPES, "tiny", TINY)
    return "tiny"


def run_recipe(recipe: str, demo_dir, run_dir, *extra: str) -> None:
    recipes.main(["--recipe", recipe, "--data-dir", str(demo_dir), "--run-dir", str(run_dir), "--n-folds", "2",
                  "--quiet", *extra])


def assert_same_outputs(one_dir, other_dir) -> None:
    """tfidf bit-identical; the Keras model and the stack over it as close as two sequential runs
    (tests/test_reliability.py): a fold on one of two workers computes with 1 thread instead of 2,
    and TensorFlow's sums in another order differ in the last bits."""
    one, other = RunDir(one_dir), RunDir(other_dir)
    for what in ("oof", "test"):
        assert np.array_equal(getattr(one.model("tfidf"), what)(), getattr(other.model("tfidf"), what)())
        for name in ("conv1d", "stack-lgbm"):
            np.testing.assert_allclose(getattr(one.model(name), what)(), getattr(other.model(name), what)(), atol=1e-5)
    submission = "submissions/stack-lgbm.csv"
    assert (one.root / submission).read_bytes() == (other.root / submission).read_bytes()


def test_a_recipe_on_two_workers_gives_the_sequential_outputs(tiny_recipe, demo_dir, tmp_path, capsys):
    run_recipe(tiny_recipe, demo_dir, tmp_path / "sequential")
    assert "ray" not in sys.modules or not __import__("ray").is_initialized()
    run_recipe(tiny_recipe, demo_dir, tmp_path / "ray", "--workers", "2")
    out = capsys.readouterr().out
    assert "Ray (2 CPU): 4 fold tasks" in out
    assert_same_outputs(tmp_path / "sequential", tmp_path / "ray")
    import ray

    assert not ray.is_initialized()  # the run shut its Ray down


def fold_epochs(history) -> list[int]:
    lines = history.read_text().strip().splitlines()[1:] if history.is_file() else []
    return [int(line.split(",")[0]) for line in lines if line]


def test_a_worker_killed_mid_fold_is_retried_and_resumes(demo_dir, tmp_path):
    """kill -9 the worker training fold 1 after its second epoch: Ray starts the task again, the fold
    resumes from its backup (no epoch trained twice), and every fold ends once."""
    run_dir, epochs = tmp_path / "run", 40
    command = [sys.executable, "train.py", "--model", "conv1d", "--n-folds", "2", "--epochs", str(epochs),
               "--set", f"patience={epochs}", "--set", "units=16", "--set", "max_tokens=2000", "--set",
               "tensorboard=false", "--batch-size", "16", "--data-dir", str(demo_dir), "--run-dir", str(run_dir),
               "--workers", "2", "--quiet"]
    log = tmp_path / "train.log"
    with open(log, "w") as out:
        driver = subprocess.Popen(command, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    fold1 = run_dir / "conv1d" / "fold1"
    try:
        deadline = time.monotonic() + 300
        while len(fold_epochs(fold1 / "history.csv")) < 2:
            assert driver.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.05)
        (worker,) = pids_titled("ray::conv1d fold 1")
        assert not (fold1 / "done.json").exists()
        os.kill(worker, signal.SIGKILL)
        killed_after = fold_epochs(fold1 / "history.csv")
        assert driver.wait(timeout=300) == 0, log.read_text()[-3000:]
    finally:
        end_session(driver)
    assert worker not in pids_titled("ray::conv1d fold 1")
    for k in (0, 1):
        trained = fold_epochs(run_dir / "conv1d" / f"fold{k}" / "history.csv")
        assert trained == sorted(set(trained)) and trained[-1] == epochs - 1, (k, trained)  # no epoch twice
        assert (run_dir / "conv1d" / f"fold{k}" / "done.json").is_file()
    # the retried task went on from the last backed-up epoch, not from epoch 0
    assert len(fold_epochs(fold1 / "history.csv")) >= epochs - 1 and len(killed_after) >= 2
    oof = RunDir(run_dir).model("conv1d").oof()
    assert oof.shape == (300, 6) and np.allclose(oof.sum(1), 1, atol=1e-3)


def test_a_head_and_a_worker_node_run_a_recipe(demo_dir, tmp_path, monkeypatch):
    """A two-node Ray cluster on this machine (`ray start --head`, `ray start --address`), one CPU each;
    the recipe joins it with --cluster and trains its four folds on both nodes. Every node and the
    driver are given the cluster's token, as docs/parallel.md tells for two machines; the driver is a
    process of its own, as a user's would be (a process that ran Ray before keeps the token it read)."""
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.setenv("RAY_AUTH_TOKEN", secrets.token_hex(32))  # this test's own cluster, never a user's
    port = free_port()
    head_args = ["--head", f"--port={port}", "--num-cpus=1", "--include-dashboard=false",
                 f"--dashboard-port={free_port()}", *node_ports()]
    argv = ["--recipe", "tiny", "--data-dir", str(demo_dir), "--run-dir", str(tmp_path / "run"), "--n-folds", "2",
            "--quiet"]
    with ray_node(head_args, tmp_path / "head.log", r"ray start --address='([^']+)'") as found:
        address = found.group(1)
        worker_args = [f"--address={address}", "--num-cpus=1", *node_ports()]
        with ray_node(worker_args, tmp_path / "worker.log", r"Ray runtime started"):
            script = (f"import recipes; recipes.RECIPES['tiny'] = {TINY!r}; "
                      f"recipes.main({[*argv, '--cluster', address]!r})")
            driver = subprocess.Popen([sys.executable, "-c", script], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, start_new_session=True)
            try:
                out = driver.communicate(timeout=600)[0]
            finally:
                end_session(driver)
    assert driver.returncode == 0, out[-3000:]
    assert "Ray (2 CPU): 4 fold tasks" in out
    run = RunDir(tmp_path / "run")
    assert run.model("stack-lgbm").oof().shape == (300, 6)
    assert sorted(p.name for p in (tmp_path / "run" / "submissions").glob("*.csv")) == ["stack-lgbm.csv"]
