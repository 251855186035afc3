"""tune.py on the demo data: a fold-averaged search, its results and resume, an interrupted search
resumed, a scikit-learn model's search fed to train.py, Hyperband under a MirroredStrategy, and a
real distributed search (a chief and two workers on 127.0.0.1)."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import train
import tune

REPO = Path(__file__).resolve().parents[1]
# A small conv1d: fixed sizes and a high learning rate keep every trial to seconds; dropout and
# sequence length are still searched.
TINY = ["--set", "units=8", "--set", "embedding_dim=8", "--set", "dense_units=8", "--set", "max_tokens=500",
        "--set", "learning_rate=0.03", "--set", "batch_size=16", "--set", "tensorboard=false"]


def tune_args(data_dir, run_dir, *extra):
    return ["--model", "conv1d", "--data-dir", str(data_dir), "--run-dir", str(run_dir), "--quiet", *TINY, *extra]


def completed_trials(project: Path) -> set[str]:
    done = set()
    for path in project.glob("trial_*/trial.json"):
        try:
            trial = json.loads(path.read_text())
        except json.JSONDecodeError:  # being written
            continue
        if trial["status"] == "COMPLETED":
            done.add(trial["trial_id"])
    return done


def test_search_averages_folds_writes_results_and_continues(demo_dir, tmp_path, capsys):
    run = tmp_path / "run"
    args = tune_args(demo_dir, run, "--max-trials", "2", "--epochs", "2", "--folds", "0,1")
    best = tune.main(args)
    project = run / "tuning" / "conv1d"
    saved = json.loads((project / "best_hparams.json").read_text())
    assert saved == json.loads(json.dumps(best))
    assert saved["model"] == "conv1d" and saved["folds"] == [0, 1]
    assert saved["hparams"]["units"] == 8 and "learning_rate" in saved["hparams"]
    assert "epochs" not in saved["hparams"]

    table = pd.read_csv(project / "trials.csv")
    assert len(table) == 2 and set(table["status"]) == {"COMPLETED"}
    assert (table["units"] == 8).all()  # a --set value is pinned, not searched
    # The objective is the mean of the two folds' best validation weighted F1.
    assert table["val_weighted_f1"].tolist() == pytest.approx(((table["fold0"] + table["fold1"]) / 2).tolist())
    assert saved["score"] == pytest.approx(table["val_weighted_f1"].max())
    assert saved["score"] > 0.5  # the demo classes are easy
    printed = capsys.readouterr().out
    assert "best first" in printed and "train.py --model conv1d" in printed
    for trial_dir in project.glob("trial_*"):
        assert (trial_dir / "fold0" / "history.csv").is_file() and (trial_dir / "fold1" / "score.json").is_file()
        assert not list(trial_dir.rglob("model.keras"))  # trials keep no models

    # The same command again finds the search finished and trains nothing.
    stamps = {p: p.stat().st_mtime_ns for p in project.rglob("score.json")}
    assert tune.main(args)["hparams"] == saved["hparams"]
    assert {p: p.stat().st_mtime_ns for p in project.rglob("score.json")} == stamps

    # Other settings on the same search are refused with the way out.
    with pytest.raises(SystemExit) as exit_info:
        tune.main(tune_args(demo_dir, run, "--max-trials", "2", "--epochs", "3", "--folds", "0,1"))
    assert exit_info.value.code == 2
    message = capsys.readouterr().err
    assert "epochs: 2 -> 3" in message and "--name" in message and "--overwrite" in message


def test_an_interrupted_search_loses_only_the_trial_in_flight(demo_dir, tmp_path):
    run = tmp_path / "run"
    args = tune_args(demo_dir, run, "--max-trials", "3", "--epochs", "2")
    project = run / "tuning" / "conv1d"
    proc = subprocess.Popen([sys.executable, "tune.py", *args], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 400
        while not completed_trials(project) and proc.poll() is None and time.time() < deadline:
            time.sleep(0.1)
        assert proc.poll() is None, f"the search ended before it could be interrupted: {proc.stderr.read()[-2000:]}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    before = completed_trials(project)
    assert before and len(before) < 3
    kept = {p: p.stat().st_mtime_ns for t in before for p in (project / f"trial_{t}").rglob("score.json")}
    tune.main(args)
    table = pd.read_csv(project / "trials.csv", dtype={"trial": str})
    # Three trials in all (the one in flight was redone under its own id), finished ones untouched.
    assert sorted(table["trial"]) == ["0", "1", "2"] and set(table["status"]) == {"COMPLETED"}
    assert {p: p.stat().st_mtime_ns for p in kept} == kept


def test_a_scikit_learn_model_is_tuned_and_trained_with_the_result(demo_dir, tmp_path):
    run = tmp_path / "run"
    common = ["--data-dir", str(demo_dir), "--run-dir", str(run), "--quiet"]
    best = tune.main(["--model", "tfidf", "--tuner", "bayesian", "--max-trials", "3", "--initial-points", "2",
                      "--folds", "0,1", "--set", "max_features=5000", "--set", "embed_dim=0", *common])
    assert best["score"] > 0.7 and {"C", "word_ngrams", "text_fields"} <= set(best["hparams"])
    path = run / "tuning" / "tfidf" / "best_hparams.json"
    train.main(["--model", "tfidf", "--name", "tfidf_tuned", "--fold", "0", "--hparams", str(path), *common])
    config = json.loads((run / "tfidf_tuned" / "config.json").read_text())
    assert {k: config["hparams"][k] for k in best["hparams"]} == best["hparams"]


def test_hyperband_trials_run_under_a_mirrored_strategy(demo_dir, tmp_path, capsys):
    run = tmp_path / "run"
    tune.main(tune_args(demo_dir, run, "--tuner", "hyperband", "--epochs", "2", "--strategy", "mirrored"))
    table = pd.read_csv(run / "tuning" / "conv1d" / "trials.csv")
    assert len(table) >= 1 and set(table["status"]) == {"COMPLETED"}
    assert set(table["epochs"]) <= {1, 2}  # Hyperband's epochs per trial, at most --epochs
    history = pd.read_csv(next((run / "tuning" / "conv1d").glob("trial_*/fold0/history.csv")))
    assert len(history) <= 2


def test_a_worker_without_the_port_is_refused(demo_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner0")
    monkeypatch.delenv("KERASTUNER_ORACLE_PORT", raising=False)
    with pytest.raises(SystemExit):
        tune.main(tune_args(demo_dir, tmp_path / "run"))
    assert "KERASTUNER_ORACLE_PORT" in capsys.readouterr().err


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_distributed_search_on_loopback(demo_dir, tmp_path):
    """A chief oracle and two workers as separate processes share one search of 4 trials."""
    run = tmp_path / "run"
    args = tune_args(demo_dir, run, "--max-trials", "4", "--epochs", "1")
    port = str(free_port())
    procs = {}
    try:
        for tuner_id in ("chief", "tuner0", "tuner1"):
            env = {**os.environ, "KERASTUNER_TUNER_ID": tuner_id, "KERASTUNER_ORACLE_IP": "127.0.0.1",
                   "KERASTUNER_ORACLE_PORT": port}
            log = open(tmp_path / f"{tuner_id}.log", "w")
            # the chief's end-of-search poll shortened from 20 s (tests/prompt_chief_tune.py)
            script = "tests/prompt_chief_tune.py" if tuner_id == "chief" else "tune.py"
            procs[tuner_id] = subprocess.Popen([sys.executable, script, *args], cwd=REPO, env=env, stdout=log,
                                               stderr=subprocess.STDOUT)
        assert procs["chief"].wait(timeout=480) == 0, (tmp_path / "chief.log").read_text()[-3000:]
        for worker in ("tuner0", "tuner1"):
            assert procs[worker].wait(timeout=60) == 0, (tmp_path / f"{worker}.log").read_text()[-3000:]
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    project = run / "tuning" / "conv1d"
    table = pd.read_csv(project / "trials.csv")
    assert len(table) == 4 and set(table["status"]) == {"COMPLETED"}
    assert json.loads((project / "best_hparams.json").read_text())["hparams"]["units"] == 8
    for worker in ("tuner0", "tuner1"):  # both workers trained trials
        assert f"[{worker}] trial" in (tmp_path / f"{worker}.log").read_text()
    ran_by = [json.loads(p.read_text())["tuner_id"] for p in project.glob("trial_*/fold0/score.json")]
    assert sorted(set(ran_by)) == ["tuner0", "tuner1"] and len(ran_by) == 4
    assert "best trial" in (tmp_path / "chief.log").read_text()
