import json

import numpy as np
import pandas as pd
import pytest

from challenge import DataError, read_challenge
from folds import FoldOutput, RunDir, make_folds
from folds.atomic import save_npy


def test_folds_are_stable_and_stratified():
    labels = pd.Series(np.repeat([10, 40, 50], [50, 30, 20]), index=range(100, 200))
    first, again = make_folds(labels, 5, seed=42), make_folds(labels, 5, seed=42)
    assert first.equals(again)
    assert not first.equals(make_folds(labels, 5, seed=7))
    counts = pd.crosstab(first, labels)
    assert (counts[10] == 10).all() and (counts[40] == 6).all() and (counts[50] == 4).all()


def test_rare_class_is_reported():
    labels = pd.Series([10] * 20 + [40] * 3)
    with pytest.raises(DataError, match=r"prdtypecode 40 has 3 rows .* fewer than 5 stratified folds"):
        make_folds(labels, 5)


def test_run_prepare_writes_once_and_checks_the_dataset(demo_dir, tmp_path):
    data = read_challenge(demo_dir)
    run = RunDir(tmp_path / "run")
    classes, folds = run.prepare(data, n_folds=5)
    before = (run.root / "folds.csv").read_text()
    classes2, folds2 = run.prepare(data, n_folds=5)
    assert (run.root / "folds.csv").read_text() == before and folds.equals(folds2) and classes == classes2
    smaller = read_challenge(demo_dir)
    smaller.train, smaller.labels = smaller.train.iloc[:-10], smaller.labels.iloc[:-10]
    with pytest.raises(DataError, match="another dataset"):
        run.prepare(smaller)
    with pytest.raises(DataError, match="--n-folds is 3"):
        run.prepare(data, n_folds=3)


def test_a_run_keeps_its_own_number_of_folds_when_none_is_given(demo_dir, tmp_path):
    # the second model of a --n-folds 2 run (train.py without --n-folds) uses the run's 2 folds
    data = read_challenge(demo_dir)
    run = RunDir(tmp_path / "run")
    _, folds = run.prepare(data, n_folds=2)
    _, again = run.prepare(data)
    assert again.nunique() == 2 and again.equals(folds)
    assert RunDir(tmp_path / "new").prepare(data)[1].nunique() == 5  # a new run: 5


def _fake_run(tmp_path, demo_dir):
    data = read_challenge(demo_dir)
    run = RunDir(tmp_path / "run")
    classes, folds = run.prepare(data, n_folds=3)
    return data, run, classes, folds


def test_oof_is_assembled_in_train_order_only_when_every_fold_is_done(demo_dir, tmp_path):
    data, run, classes, folds = _fake_run(tmp_path, demo_dir)
    store = run.model("fake")
    store.save_config({"model": "fake"})
    y = classes.encode(data.labels)
    n_test = len(data.test)
    for k in range(3):
        rows = np.flatnonzero(folds.to_numpy() == k)
        # Each validation row's "probabilities" encode its own row number, to check placement.
        val = np.zeros((len(rows), len(classes)), dtype=np.float32)
        val[:, 0] = rows
        assert store.assemble(folds, y) is None
        store.save_fold(k, FoldOutput(val, np.full((n_test, len(classes)), k, np.float32)), y[rows])
    metrics = store.assemble(folds, y)
    oof, test = store.oof(), store.test()
    assert np.array_equal(oof[:, 0], np.arange(len(data.train)))
    assert np.allclose(test, 1.0)  # mean of 0, 1, 2
    assert len(metrics["folds"]) == 3 and 0 <= metrics["oof"]["weighted_f1"] <= 1
    assert json.loads((store.dir / "metrics.json").read_text())["model"] == "fake"


def test_config_change_is_refused_without_a_new_name(demo_dir, tmp_path):
    _, run, _, _ = _fake_run(tmp_path, demo_dir)
    run.model("m").save_config({"units": 100})
    run.model("m").save_config({"units": 100})
    with pytest.raises(DataError, match=r"units differ.*--name"):
        run.model("m").save_config({"units": 64})


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "a.npy"
    save_npy(target, np.arange(3))

    class Boom:
        """An array-like that fails half-way through being saved."""

        def __array__(self, *a, **k):
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        save_npy(target, Boom())
    assert np.array_equal(np.load(target), np.arange(3))  # the old complete file is still there
    assert [p.name for p in tmp_path.iterdir()] == ["a.npy"]  # and no temporary left behind


def test_missing_predictions_name_the_command_to_run(demo_dir, tmp_path):
    _, run, _, _ = _fake_run(tmp_path, demo_dir)
    run.model("half").save_config({})
    with pytest.raises(DataError, match="python train.py --model half --fold all"):
        run.model("half").oof()
