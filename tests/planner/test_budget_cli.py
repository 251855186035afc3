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
    # 2 hours hold every model of the demo data, then e5_finetune with 4 trainable layers in place of 2
    # (a gain clear of the noise) and text_cnn at 12 epochs; a second seed of the 2-layer one no longer
    # applies, and the votes, which add nothing beside the 2-layer one, are a tie beside the 4-layer one
    assert [s["name"] for s in record["steps"]] == ["tfidf", "e5", "text_cnn_12ep", "effnet_lite0", "e5_finetune_4l",
                                                    "knn_tfidf", "knn_e5"]
    assert [u["name"] for u in record["upgrades"]] == ["e5_finetune_4l", "text_cnn_12ep"]
    assert [u["name"] for u in record["upgrade_ties"]] == ["knn_text"]
    assert "+0.0008 [-0.0031, +0.0047] OOF beside text_cnn_12ep and e5_finetune_4l" in out
    assert "e5_finetune_seed2 (needs e5_finetune in the plan)" in out
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


def budget_args(monkeypatch, demo_dir, run_dir, *extra):
    monkeypatch.setenv("ESHOPPYE_VERBOSE", "0")  # --verbose sets it for the process: restored after the test
    return recipes.build_parser().parse_args(["--budget", "1h", "--data-dir", str(demo_dir), "--run-dir", str(run_dir),
                                              *extra])


def tfidf_step(folds_left):
    from planner.costs import Estimate
    from planner.plan import Step

    return Step("tfidf", "tfidf", {"embed_dim": 0}, "tfidf", Estimate(60, 1.0, "reference"), folds_left)


def test_a_budget_run_prints_one_line_a_fold_and_one_table_a_step(demo_dir, tfidf_run, tmp_path, monkeypatch, capsys):
    from planner.cli import fold_trainer, print_step_table

    fold_trainer(budget_args(monkeypatch, demo_dir, tmp_path / "run"))(tfidf_step([0, 1, 2, 3, 4]), 0)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tfidf fold 0: weighted F1"), lines
    print_step_table(tfidf_run, "tfidf")  # at the step's end: every fold and the out-of-fold scores
    table = capsys.readouterr().out
    assert table.count("fold scores") == 1 and "tfidf out-of-fold: weighted F1" in table
    assert [line.split()[0] for line in table.splitlines()[3:8]] == ["0", "1", "2", "3", "4"]


@pytest.mark.parametrize("extra, table, quiet", [((), False, True), (("--verbose",), True, False),
                                                 (("--verbose", "--quiet"), True, True)])
def test_verbose_brings_back_per_epoch_lines_and_a_table_a_fold(demo_dir, tmp_path, monkeypatch, extra, table, quiet):
    from planner.cli import fold_trainer
    from recipebook import training

    calls = []
    monkeypatch.setattr(training, "train_model", lambda model, **options: calls.append((model, options)) or
                        ("tfidf", [], None))
    monkeypatch.setattr(training, "print_table", lambda *trained: calls.append(("table", trained)))
    fold_trainer(budget_args(monkeypatch, demo_dir, tmp_path / "run", *extra))(tfidf_step([0]), 0)
    (model, options), *tables = calls
    assert model == "tfidf" and options["quiet"] == quiet and options["overrides"] == {"embed_dim": 0}
    assert options["folds"] == "0" and options["run_dir"] == str(tmp_path / "run")
    assert tables == ([("table", ("tfidf", [], None))] if table else [])
