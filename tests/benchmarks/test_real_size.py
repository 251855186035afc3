"""The real-size benchmark's generator, synthetic models and step runner, on a few hundred rows."""
from __future__ import annotations

import json
import resource
import sys

import numpy as np
import pandas as pd
import pytest

from benchmarks.real_size import main as real_size_main
from benchmarks.real_size import ROOT, measured
from benchmarks.real_size_data import CLASS_COUNTS, make_real_size, train_counts
from benchmarks.synthetic_oof import write_synthetic_models
from challenge.reader import read_challenge
from folds.store import RunDir


@pytest.fixture(scope="module")
def real_like(tmp_path_factory):
    return make_real_size(tmp_path_factory.mktemp("real_like"), n_train=1200, n_test=200, n_images=3)


def test_class_counts_are_the_challenges_scaled():
    shares = np.array([CLASS_COUNTS[c] for c in sorted(CLASS_COUNTS)], dtype=float)
    assert train_counts(shares, 84916).tolist() == [CLASS_COUNTS[c] for c in sorted(CLASS_COUNTS)]
    small = train_counts(shares, 1000)
    assert small.min() >= 5 and abs(small.sum() - 1000) <= 27


def test_generated_folder_reads_like_the_challenge(real_like):
    data = read_challenge(real_like)
    assert len(data.test) == 200 and data.labels.nunique() == 27
    counts = data.labels.value_counts()
    assert counts[2583] > 5 * counts[1180]  # the challenge's imbalance
    assert 8 <= data.train["designation"].str.split().str.len().mean() <= 12
    empty = data.train["description"].fillna("") == ""
    assert 0.28 < empty.mean() < 0.42
    described = data.train.loc[~empty, "description"]
    assert described.str.startswith("<p>").all() and described.str.len().max() > 1500
    assert described.str.contains("&eacute;").any()
    assert data.test.index[0] == len(data.train)
    images = data.images_present("train")
    assert images.sum() == 3 and images.iloc[:3].all()


def test_synthetic_models_stack_like_trained_ones(real_like, tmp_path):
    run = RunDir(tmp_path / "run")
    run.prepare(read_challenge(real_like))
    names = write_synthetic_models(run, 2)
    assert names == ["synthetic0", "synthetic1"]
    oof = run.model("synthetic1").oof()
    assert oof.shape == (1200, 27) and np.allclose(oof.sum(axis=1), 1, atol=1e-4)
    # The stronger model is right more often.
    f1 = [run.model(n).metrics()["oof"]["weighted_f1"] for n in names]
    assert 0.2 < f1[0] < f1[1] < 1.0


def test_measured_reports_the_childs_own_peak_memory(tmp_path):
    with open(tmp_path / "log", "w") as log:
        small = measured([sys.executable, "-c", "pass"], log)
        big = measured([sys.executable, "-c", "b = bytearray(700 * 2**20); b[::4096] = b'x' * len(b[::4096])"], log)
    assert small["exit"] == 0 and big["exit"] == 0
    assert big["peak_gb"] > 0.68
    # Linux carries the spawning process's own peak into a child's (at exec), so an idle child
    # reads at most what this test process has used, never the 700 MB above.
    parent_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    assert small["peak_gb"] <= parent_gb + 0.05
    assert big["wall_min"] > 0


def test_steps_accumulate_in_one_table(tmp_path, capsys):
    data_dir, run_dir = tmp_path / "data", tmp_path / "run"
    common = ["--data-dir", str(data_dir), "--run-dir", str(run_dir), "--train", "300", "--test", "50"]
    real_size_main([*common, "--steps", "data,folds"])
    table = real_size_main([*common, "--steps", "clean_text"])
    assert list(table) == ["data", "folds", "clean_text"]
    assert all(r["exit"] == 0 for r in table.values())
    assert len(pd.read_csv(data_dir / "X_test_update.csv")) == 50
    assert json.loads((run_dir / "real_size.json").read_text()).keys() == table.keys()
    assert "| clean_text |" in capsys.readouterr().out


def test_images_are_the_same_whatever_the_workers_and_an_interrupted_folder_is_completed(tmp_path):
    one = make_real_size(tmp_path / "one", n_train=300, n_test=20, n_images=6)
    files = sorted((one / "images").rglob("*.jpg"))
    assert len(files) == 6
    two = tmp_path / "two"
    make_real_size(two, n_train=300, n_test=20, n_images=3)
    first = sorted((two / "images").rglob("*.jpg"))[0]
    first.write_bytes(b"kept")  # an image already there is not drawn again
    make_real_size(two, n_train=300, n_test=20, n_images=6)
    again = sorted((two / "images").rglob("*.jpg"))
    assert [f.name for f in again] == [f.name for f in files]
    assert first.read_bytes() == b"kept"
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(again, files) if a != first)


def test_a_timer_wraps_each_step_and_its_figures_are_recorded(tmp_path, monkeypatch):
    timer = tmp_path / "timer.sh"
    log = tmp_path / "timed.log"
    # A stand-in for ../shared/tools/timed: NAME -- command; one tab-separated line per run.
    timer.write_text(f'#!/bin/sh\nname=$1; shift 2\n"$@"; rc=$?\n'
                     f'printf "2026-01-01T00:00:00Z\\t%s\\twall_s=90.0\\tcpu_s=30.0\\tpeak_MB=2048\\t'
                     f'load_before=0.20\\tload_after=1.1\\texit=%s\\t%s\\n" "$name" "$rc" "$*" >> {log}\nexit $rc\n')
    timer.chmod(0o755)
    common = ["--data-dir", str(tmp_path / "data"), "--run-dir", str(tmp_path / "run"), "--train", "300",
              "--test", "50"]
    monkeypatch.setenv("TIMED_LOG", str(log))
    table = real_size_main([*common, "--steps", "data", "--timer", str(timer)])
    logged = log.read_text()
    assert "real_size-data\t" in logged
    # the command as typed in the checkout: the log is committed, so no path of this machine's checkout
    assert " benchmarks/real_size.py --data-dir" in logged and str(ROOT) not in logged
    assert table["data"]["wall_min"] == 1.5 and table["data"]["peak_gb"] == 2.0
    assert table["data"]["load_before"] == 0.2 and table["data"]["exit"] == 0


def test_images_step_takes_train_then_test_jpegs_from_the_existing_folder(tmp_path, monkeypatch):
    from types import SimpleNamespace

    import models.image.image_features as image_features
    from benchmarks.real_size import extract_images

    files = [tmp_path / f"{i}.jpg" for i in range(5)]
    for f in files:
        f.write_bytes(b"")
    data = SimpleNamespace(train=pd.DataFrame({"image_path": [str(f) for f in files[:3]]}),
                           test=pd.DataFrame({"image_path": [str(f) for f in files[3:]]}))
    calls = []
    monkeypatch.setattr(image_features, "extract_features",
                        lambda backbone, size, paths, *args, **options: calls.append((paths, options)))
    extract_images(data, 4, 128)  # more images than training rows: the test ones follow
    assert calls[0][0] == [str(f) for f in files[:4]] and calls[0][1]["multilevel"]
    with pytest.raises(SystemExit, match="only 5 of the first 6"):
        extract_images(data, 6, 128)


def test_trained_steps_time_what_their_recipe_runs():
    from benchmarks.real_size import build_parser, step_commands
    from recipebook.recipes import RECIPES

    def settings(step, *extra):
        (label, argv, note), *_ = step_commands(step, build_parser().parse_args(["--folds", "0", *extra]))
        return {a.split("=")[1]: a.split("=", 2)[2] for a in argv if a.startswith("--set=")}, note

    night = {m["model"]: m["set"] for m in RECIPES["night"]["models"]}
    assert settings("effnet_lite0")[0] == {k: str(v) for k, v in night["effnet_lite0"].items()}
    assert settings("text_cnn")[0]["epochs"] == "3" and settings("text_cnn", "--epochs", "1")[0]["epochs"] == "1"
    # the transformers take the text recipe's defaults; --epochs shortens only the fine-tuning
    assert settings("e5", "--epochs", "1")[0] == {}
    assert settings("e5_finetune")[0] == {} and settings("e5_finetune", "--epochs", "1") == ({"epochs": "1"},
                                                                                            "1 epoch(s)")
