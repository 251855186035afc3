import numpy as np
import pandas as pd

from challenge import read_challenge
from ensemble.noise import class_thresholds, find_label_issues


def test_compare_lists_models_and_stacks_best_first(run_with_models, capsys):
    from ensemble.__main__ import main

    run, _ = run_with_models
    main(["--method", "logreg", "--models", "signal,noise", "--run-dir", str(run.root)])
    table = main(["--method", "compare", "--run-dir", str(run.root)])
    assert set(table["name"]) == {"signal", "noise", "stack-logreg"}
    assert list(table["weighted_f1"]) == sorted(table["weighted_f1"], reverse=True)
    assert table["name"].iloc[-1] == "noise"
    assert {"macro_f1", "accuracy", "kind"} <= set(table.columns)
    assert "stack-logreg" in capsys.readouterr().out


def test_confident_learning_finds_flipped_labels():
    rng = np.random.default_rng(0)
    true = rng.integers(0, 4, 400)
    probs = 0.7 * np.eye(4)[true] + 0.3 * rng.dirichlet(np.ones(4), 400)
    given = true.copy()
    flipped = rng.choice(400, 30, replace=False)
    given[flipped] = (true[flipped] + 1) % 4
    issues = find_label_issues(probs, given)
    caught = np.intersect1d(flipped, issues["row"])
    assert len(caught) >= 0.85 * len(flipped)  # nearly every flip is found ...
    assert len(issues) - len(caught) <= 5  # ... with few false alarms
    found = issues.set_index("row").loc[caught]
    assert (found["suspected"].to_numpy() == true[caught]).all()
    assert (found["given"].to_numpy() == given[caught]).all()
    t = class_thresholds(probs, given)
    assert (issues["given_confidence"] < t[issues["given"]]).all()


def test_noise_csv_feeds_train_exclude(run_with_models, fake_model, demo_dir, tmp_path):
    """End to end: noise finder -> CSV -> train.py --exclude retrains without those rows."""
    import train
    from ensemble.__main__ import main

    run, y = run_with_models
    rng = np.random.default_rng(0)
    probs = 0.6 * np.eye(6)[y] + 0.4 * rng.dirichlet(np.ones(6), len(y))
    suspects = rng.choice(len(y), 20, replace=False)
    probs[suspects] = 0.9 * np.eye(6)[(y[suspects] + 1) % 6] + 0.1 * rng.dirichlet(np.ones(6), 20)
    fake_model(run, run.folds(), y, "doubter", probs, len(run.test_index()), rng)
    out = tmp_path / "noise.csv"
    main(["--method", "noise", "--models", "doubter", "--run-dir", str(run.root), "--out", str(out)])
    report = pd.read_csv(out)
    assert list(report.columns) == ["index", "given_code", "suspected_code", "given_confidence",
                                    "suspected_confidence"]
    assert sorted(report["index"]) == sorted(run.train_index()[suspects])
    data = read_challenge(demo_dir)
    assert set(report["index"]) <= set(data.train.index)
    assert (data.labels.loc[report["index"]].to_numpy() == report["given_code"].to_numpy()).all()

    # (embed_dim=0: no fusion embedding, which the probabilities do not depend on)
    metrics = train.main(["--model", "tfidf", "--name", "tfidf-clean", "--exclude", str(out), "--quiet", "--n-folds", "4",
                          "--set", "embed_dim=0", "--data-dir", str(demo_dir), "--run-dir", str(run.root)])
    store = run.model("tfidf-clean")
    assert store.config()["excluded_rows"] == len(report)
    assert store.oof().shape[0] == len(y)  # excluded rows are still predicted out-of-fold
    assert metrics["oof"]["weighted_f1"] > 0.5


def test_exclude_file_from_another_dataset_is_refused(demo_dir, tmp_path, capsys):
    import pytest

    import train

    bad = tmp_path / "other.csv"
    bad.write_text("index,given_code\n0,10\n999999,40\n")
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--model", "tfidf", "--exclude", str(bad), "--data-dir", str(demo_dir),
                    "--run-dir", str(tmp_path / "run")])
    assert exit_info.value.code == 2
    assert "1 of its 2 indices are not training rows" in capsys.readouterr().err
