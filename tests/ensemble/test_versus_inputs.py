"""Stacks judged against their inputs and the calibrated blend; the fallback; submit's warning."""
import numpy as np
import pytest

import submit
from ensemble.inputs import load_stack_inputs
from ensemble.versus_inputs import CALIBRATED_BLEND, judge_stack


@pytest.fixture
def run_with_bad_stack(run_with_models, fake_model):
    """Adds 'stack-bad', a "stack" of signal and noise whose OOF is random: worse than signal."""
    run, y = run_with_models
    rng = np.random.default_rng(5)
    fake_model(run, run.folds(), y, "stack-bad", rng.dirichlet(np.ones(6), len(y)), len(run.test_index()), rng,
               config={"method": "fake", "models": ["signal", "noise"]})
    return run, y


def test_a_stack_below_its_best_input_says_so_in_metrics_json(run_with_bad_stack):
    run, _ = run_with_bad_stack
    record = judge_stack(run, "stack-bad", load_stack_inputs(run, ["signal", "noise"]))
    signal = run.model("signal").metrics()["oof"]["weighted_f1"]
    assert record["best_input"] == "signal" and record["best_input_weighted_f1"] == round(signal, 4)
    assert {"signal", CALIBRATED_BLEND} <= set(record["below"])  # (and maybe noise too)
    assert record["below"][0] in ("signal", CALIBRATED_BLEND)  # the best candidate first
    assert record["verdict"].startswith("BELOW")
    assert record["gain_over_best_input"]["interval_95"][1] < 0
    assert run.model("stack-bad").metrics()["versus_inputs"] == record


def test_fallback_writes_the_best_candidates_predictions(run_with_bad_stack):
    run, y = run_with_bad_stack
    bad = run.model("stack-bad").metrics()["oof"]["weighted_f1"]
    record = judge_stack(run, "stack-bad", load_stack_inputs(run, ["signal", "noise"]), fallback=True)
    store = run.model("stack-bad")
    winner = record["fallback"]["to"]
    assert winner == record["below"][0] and record["fallback"]["stack_weighted_f1"] == round(bad, 4)
    assert store.metrics()["oof"]["weighted_f1"] >= run.model("signal").metrics()["oof"]["weighted_f1"]
    if winner == "signal":
        np.testing.assert_array_equal(store.oof(), run.model("signal").oof())
        np.testing.assert_allclose(store.test(), run.model("signal").test(), rtol=1e-6)
    assert store.fold_summary(0)["fallback_to"] == winner
    assert record["verdict"].startswith("replaced by") and winner in record["verdict"]


def test_cli_fallback_stack_never_scores_below_its_candidates(run_with_models, capsys):
    from ensemble.__main__ import main

    run, _ = run_with_models
    metrics = main(["--method", "logreg", "--models", "signal,noise", "--fallback", "best", "--run-dir", str(run.root)])
    record = metrics["versus_inputs"]
    assert metrics["oof"]["weighted_f1"] >= run.model("signal").metrics()["oof"]["weighted_f1"]
    assert metrics["oof"]["weighted_f1"] >= record["calibrated_blend_weighted_f1"] - 5e-5
    out = capsys.readouterr().out
    assert "OOF gain over its best input signal" in out and "95% interval" in out
    # Run again without fallback: the stack's own folds are fitted again, not the fallback's kept.
    again = main(["--method", "logreg", "--models", "signal,noise", "--run-dir", str(run.root)])
    assert "fallback" not in again["versus_inputs"]
    assert "fallback_to" not in run.model("stack-logreg").fold_summary(0)


def test_compare_shows_each_stacks_gain_with_its_interval(run_with_bad_stack, capsys):
    from ensemble.__main__ import main

    run, _ = run_with_bad_stack
    judge_stack(run, "stack-bad", load_stack_inputs(run, ["signal", "noise"]))
    table = main(["--method", "compare", "--run-dir", str(run.root)]).set_index("name")
    bad = table.loc["stack-bad"]
    assert bad["best_input"] == "signal" and bad["gain_low"] <= bad["gain"] <= bad["gain_high"] < 0
    assert bad["gain"] == pytest.approx(bad["weighted_f1"] - table.loc["signal", "weighted_f1"])
    assert np.isnan(table.loc["signal", "gain"])
    assert bad["note"].startswith("BELOW")
    printed = capsys.readouterr().out
    assert f"{bad['gain']:+.4f} [{bad['gain_low']:+.4f}, {bad['gain_high']:+.4f}] vs signal" in printed


def test_submit_warns_when_the_source_ranks_below_another_candidate(run_with_bad_stack, tmp_path, capsys):
    run, _ = run_with_bad_stack
    judge_stack(run, "stack-bad", load_stack_inputs(run, ["signal", "noise"]))
    submit.main(["--run-dir", str(run.root), "--source", "stack-bad", "--out", str(tmp_path / "bad.csv")])
    err = capsys.readouterr().err
    assert "warning: stack-bad" in err and "ranks below signal" in err and "--fallback best" in err
    submit.main(["--run-dir", str(run.root), "--source", "signal", "--out", str(tmp_path / "signal.csv")])
    assert "warning" not in capsys.readouterr().err


def test_submit_does_not_warn_about_a_stack_that_fell_back(run_with_bad_stack, tmp_path, capsys):
    run, _ = run_with_bad_stack
    judge_stack(run, "stack-bad", load_stack_inputs(run, ["signal", "noise"]), fallback=True)
    submit.main(["--run-dir", str(run.root), "--source", "stack-bad", "--out", str(tmp_path / "bad.csv")])
    assert "warning" not in capsys.readouterr().err
