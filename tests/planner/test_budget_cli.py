"""`python recipes.py --budget ... --plan-only` end to end on the demo data (no probe: the
reference table alone, so no TensorFlow is imported)."""
from __future__ import annotations

import pytest

import recipes


def budget_run(demo_dir, tmp_path, *extra):
    return recipes.main(["--plan-only", "--no-probe", "--data-dir", str(demo_dir),
                         "--run-dir", str(tmp_path / "run"), *extra])


def test_plan_only_prints_the_plan_and_runs_nothing(demo_dir, tmp_path, capsys):
    record = budget_run(demo_dir, tmp_path, "--budget", "2h", "--device", "cpu")
    out = capsys.readouterr().out
    assert [s["name"] for s in record["steps"]][:3] == ["tfidf", "text_cnn", "e5"]
    assert "est. min" in out and "cumulative" in out and "stack-lgbm" in out and "submission" in out
    assert "300 training / 60 test rows, 360 images" in out and "not probed (--no-probe)" in out
    assert not (tmp_path / "run").exists()


def test_the_plan_counts_the_folds_asked_for_or_the_runs_own(demo_dir, tmp_path, capsys):
    assert budget_run(demo_dir, tmp_path, "--budget", "2h", "--device", "cpu", "--n-folds", "2")["steps"][0][
        "folds_left"] == [0, 1]
    assert ", 2 folds;" in capsys.readouterr().out
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "folds.csv").write_text("index,fold\n1,0\n2,1\n3,2\n")  # a run made with 3 folds
    assert budget_run(demo_dir, tmp_path, "--budget", "2h", "--device", "cpu")["steps"][0]["folds_left"] == [0, 1, 2]


def test_a_budget_too_small_exits_2_with_the_smallest_that_works(demo_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        budget_run(demo_dir, tmp_path, "--budget", "0.1m", "--device", "cpu")
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "too small" in err and "The smallest budget that works: --budget 1m" in err


def test_budget_goes_with_the_auto_recipe_only(demo_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        budget_run(demo_dir, tmp_path, "--budget", "1h", "--recipe", "night")
    assert exit_.value.code == 2 and "auto recipe" in capsys.readouterr().err
