"""Killed runs, concurrent fold jobs, changed label sets and reproducibility (issue 8)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import submit
import train
from challenge.check import main as check_main
from folds import RunDir

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kwargs)


def test_a_new_label_set_is_refused_in_an_existing_run(data_copy, tmp_path, capsys):
    common = ["--data-dir", str(data_copy), "--run-dir", str(tmp_path / "run"), "--quiet", "--set", "embed_dim=0"]
    train.main(["--model", "tfidf", "--fold", "0", *common])
    labels_path = data_copy / "Y_train_CVw08PX.csv"
    labels = pd.read_csv(labels_path, index_col=0)
    labels.loc[labels.index[:10], "prdtypecode"] = 99999
    labels.to_csv(labels_path)
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--model", "tfidf", "--fold", "1", *common])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "label set differs from the run's classes.json" in err and "new codes [99999]" in err


def test_a_model_copied_from_another_run_cannot_be_submitted(demo_dir, tfidf_run, tmp_path, capsys):
    # run a: the session's TF-IDF run (seed 42, 5 folds); run b: other seed, other folds (one is
    # enough to make the run)
    train.main(["--model", "tfidf", "--data-dir", str(demo_dir), "--run-dir", str(tmp_path / "b"),
                "--seed", "2", "--n-folds", "3", "--fold", "0", "--set", "embed_dim=0", "--quiet"])
    shutil.copytree(tfidf_run / "tfidf", tmp_path / "b" / "tfidf_from_a")
    with pytest.raises(SystemExit):
        submit.main(["--run-dir", str(tmp_path / "b"), "--source", "tfidf_from_a"])
    assert "trained on other folds" in capsys.readouterr().err


def test_same_seed_same_folds_and_same_tfidf_oof(demo_dir, tfidf_run, tmp_path):
    # the session's TF-IDF run was made by the same command (the defaults: seed 42, 5 folds)
    train.main(["--model", "tfidf", "--data-dir", str(demo_dir), "--run-dir", str(tmp_path / "two"), "--quiet"])
    one, two = RunDir(tfidf_run), RunDir(tmp_path / "two")
    assert (one.root / "folds.csv").read_bytes() == (two.root / "folds.csv").read_bytes()
    assert np.array_equal(one.model("tfidf").oof(), two.model("tfidf").oof())


def test_same_seed_same_neural_oof_on_cpu(demo_dir, tmp_path):
    args = ["--model", "conv1d", "--data-dir", str(demo_dir), "--n-folds", "2", "--epochs", "2",
            "--set", "units=16", "--set", "tensorboard=false", "--quiet"]
    for name in ("one", "two"):
        train.main([*args, "--run-dir", str(tmp_path / name)])
    one = RunDir(tmp_path / "one").model("conv1d").oof()
    two = RunDir(tmp_path / "two").model("conv1d").oof()
    np.testing.assert_allclose(one, two, atol=1e-5)


def test_concurrent_fold_jobs_share_one_run_directory(demo_dir, tmp_path):
    run_dir = tmp_path / "run"
    jobs = [run_cli("train.py", "--model", "tfidf", "--fold", str(k), "--n-folds", "2", "--data-dir",
                    str(demo_dir), "--run-dir", str(run_dir), "--quiet") for k in (0, 1)]
    outputs = [job.communicate(timeout=300)[0] for job in jobs]
    assert [job.returncode for job in jobs] == [0, 0], outputs
    run = RunDir(run_dir)
    assert len(run.folds()) == 300 and sorted(run.folds().unique()) == [0, 1]
    oof = run.model("tfidf").oof()
    assert oof.shape == (300, 6) and np.allclose(oof.sum(1), 1, atol=1e-4)
    assert not list(run_dir.rglob("*.tmp"))


def test_a_killed_fold_resumes_from_its_last_epoch(demo_dir, tmp_path, killable_train):
    """kill -9 in the middle of fold 1 (in its third epoch); the same command then skips fold 0,
    resumes fold 1 from its backup and finishes with a complete oof.npy."""
    run_dir = tmp_path / "run"
    command = ["--model", "conv1d", "--n-folds", "2", "--epochs", "3", "--set", "patience=3",
               "--set", "units=16", "--set", "max_tokens=2000", "--set", "tensorboard=false",
               "--batch-size", "16", "--data-dir", str(demo_dir), "--run-dir", str(run_dir)]
    history = run_dir / "conv1d" / "fold1" / "history.csv"
    killable_train.kill_mid_epoch(command, fold=1, epoch=2)
    assert killable_train.epochs(history) == [0, 1]
    assert (run_dir / "conv1d" / "fold0" / "done.json").is_file()
    assert not (run_dir / "conv1d" / "fold1" / "done.json").is_file()
    assert not (run_dir / "conv1d" / "oof.npy").exists()
    fold0_done = (run_dir / "conv1d" / "fold0" / "done.json").stat().st_mtime_ns

    resumed = killable_train.run(command)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert "fold 0: finished earlier" in resumed.stdout + resumed.stderr
    assert (run_dir / "conv1d" / "fold0" / "done.json").stat().st_mtime_ns == fold0_done
    # The resumed run did not start again at epoch 0: it went on after the last backed-up epoch.
    assert killable_train.epochs(history) == [0, 1, 2]
    oof = RunDir(run_dir).model("conv1d").oof()
    assert oof.shape == (300, 6) and np.allclose(oof.sum(1), 1, atol=1e-3)


def test_a_fold_stopped_after_its_fit_is_not_trained_again(demo_dir, tmp_path, killable_train):
    """kill -9 in fold 1 after its fit returned, before its predictions were written: the same
    command loads the fitted weights, trains no epoch again, and writes what a run never stopped
    writes."""
    def command(run_dir):
        return ["--model", "conv1d", "--n-folds", "2", "--epochs", "2", "--set", "units=16", "--set",
                "max_tokens=2000", "--set", "tensorboard=false", "--batch-size", "16", "--data-dir", str(demo_dir),
                "--run-dir", str(run_dir)]

    stopped, straight = tmp_path / "stopped_run", tmp_path / "straight_run"
    fold1 = stopped / "conv1d" / "fold1"
    killable_train.kill_mid_epoch(command(stopped), fold=1, epoch="after-fit")
    assert killable_train.epochs(fold1 / "history.csv") == [0, 1]
    assert (fold1 / "fitted.json").is_file() and not (fold1 / "done.json").is_file()

    resumed = killable_train.run(command(stopped))
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert killable_train.epochs(fold1 / "history.csv") == [0, 1]  # no epoch trained again
    assert killable_train.run(command(straight)).returncode == 0
    for what in ("val_probs", "test_probs", "val_embed"):
        np.testing.assert_allclose(RunDir(stopped).model("conv1d").load_fold(1, what),
                                   RunDir(straight).model("conv1d").load_fold(1, what), atol=1e-6)
    assert RunDir(stopped).model("conv1d").fold_summary(1)["epochs_run"] == 2


def test_check_command_summarises_a_folder(demo_dir, data_copy, capsys):
    summary = check_main(["--data-dir", str(demo_dir)])
    assert summary["train_rows"] == 300 and sum(summary["classes"].values()) == 300
    assert "OK: the folder is ready" in capsys.readouterr().out
    missing = next((data_copy / "images" / "image_test").iterdir())
    missing.unlink()
    with pytest.raises(SystemExit):
        check_main(["--data-dir", str(data_copy)])
    err = capsys.readouterr().err
    assert "1 image files are missing" in err and missing.name in err
