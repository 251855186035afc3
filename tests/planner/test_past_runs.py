"""What earlier budget runs took on this machine corrects the next plan (planner/past_runs.py)."""
from __future__ import annotations

import pytest

import recipes
from planner.costs import CostModel, DataSize, Estimate
from planner.past_runs import HISTORY, MIN_RECORDED_S, PastRuns, StepTime, measured_steps, state_dir
from planner.plan import Plan, Step, format_plan
from planner.run import RunSummary, StepResult


def test_a_recorded_ratio_is_this_machines_and_datas_only_bounded_and_the_median_of_the_last_runs(tmp_path):
    past = PastRuns(tmp_path)
    # (key, measured, the plan's estimate, the reference figures): the ratio is over the reference's
    past.record("machine-a", "data-1", [("tfidf", 300.0, 240.0, 200.0), ("e5", 1000.0, 100.0, 10.0),
                                        ("text_cnn", 5.0, 10.0, 10.0)])
    assert past.factors("machine-a", "data-1") == {"tfidf": 1.5, "e5": 20.0}  # e5's 100 x bounded; 10 s not kept
    assert past.factors("machine-b", "data-1") == {} and past.factors("machine-a", "data-2") == {}
    past.record("machine-a", "data-2", [("tfidf", 100.0, 200.0, 200.0)])
    past.record("machine-a", "data-1", [("tfidf", 180.0, 200.0, 200.0)])
    assert past.factors("machine-a", "data-1") == {"tfidf": pytest.approx(1.2), "e5": 20.0}  # (1.5 + 0.9) / 2
    assert past.factors("machine-a", "data-2") == {"tfidf": 0.5}
    for took in (200.0, 220.0, 400.0, 240.0):  # one slow hour (2.0) does not set the next plan
        past.record("machine-a", "data-1", [("tfidf", took, 200.0, 200.0)])
    assert past.factors("machine-a", "data-1")["tfidf"] == pytest.approx(1.1)  # median of 0.9 1.0 1.1 1.2 2.0
    assert HISTORY == 5  # 1.5, the oldest, is gone
    assert MIN_RECORDED_S > 10


def test_ratios_taken_over_figures_the_table_no_longer_holds_are_dropped(tmp_path, table):
    costs = CostModel(table, DataSize(train_rows=1000, test_rows=200))
    before = costs.figures_versions()
    past = PastRuns(tmp_path)
    past.record("m", "d", [("tfidf", 300.0, 240.0, 200.0), ("e5", 100.0, 100.0, 100.0)], versions=before)
    assert past.factors("m", "d", before) == {"tfidf": 1.5, "e5": 1.0}
    table["cpu"]["tfidf"]["parts"]["work"]["seconds"] *= 2  # the cost table re-measured tfidf
    after = costs.figures_versions()
    assert after["tfidf"] != before["tfidf"] and after["e5"] == before["e5"]
    assert past.factors("m", "d", after) == {"e5": 1.0}  # tfidf is probed again
    past.record("m", "d", [("tfidf", 100.0, 100.0, 100.0)], versions=after)  # and its list starts again
    assert past.factors("m", "d", after) == {"tfidf": 1.0, "e5": 1.0}


def test_a_part_that_reads_at_most_max_rows_stops_growing_there(table):
    table["cpu"]["tfidf"]["parts"] = {"svd": {"seconds": 4.0, "per": "fold", "scale": "train_rows", "rows": 10000,
                                              "max_rows": 10000, "measured": True}}
    small = CostModel(table, DataSize(train_rows=6250, test_rows=100)).estimate("tfidf", _work(), False)
    large = CostModel(table, DataSize(train_rows=62500, test_rows=100)).estimate("tfidf", _work(), False)
    assert small.seconds == pytest.approx(5 * 4.0 * 0.5) and large.seconds == pytest.approx(5 * 4.0)


def test_the_record_lives_in_the_machines_state_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("ESHOPPYE_STATE_DIR", str(tmp_path / "mine"))
    assert PastRuns().path == tmp_path / "mine" / "past_runs.json"
    monkeypatch.delenv("ESHOPPYE_STATE_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert state_dir() == tmp_path / "xdg" / "eshoppye"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert state_dir() == tmp_path / "home" / ".local" / "state" / "eshoppye"


def test_a_past_run_scales_the_reference_figures_in_place_of_the_probe_and_says_so(table):
    costs = CostModel(table, DataSize(train_rows=1000, test_rows=200))
    table["cpu"]["e5"]["probe"] = "e5"
    plain = costs.estimate("e5", _work())
    costs.probe_ratios = {name: 0.7 for name in ("e5", "tfidf")}
    probed = costs.estimate("e5", _work())
    assert probed.seconds == pytest.approx(0.7 * plain.seconds) and probed.basis == plain.basis + " x probe"
    costs.past_factors = {"e5": 1.3}
    corrected = costs.estimate("e5", _work())
    assert corrected.seconds == pytest.approx(1.3 * plain.seconds) and corrected.machine_factor == 1.3
    assert corrected.basis == plain.basis + " x past run"
    assert costs.estimate("tfidf", _work()).basis == plain.basis + " x probe"  # other steps keep the probe


def test_a_step_with_no_run_of_its_own_takes_the_past_run_of_the_step_its_probe_times(table):
    # e5_finetune_4l is priced from e5_finetune's figures and probe: e5_finetune's run here scales it too
    costs = CostModel(table, DataSize(train_rows=1000, test_rows=200))
    table["cpu"]["e5_variant"] = dict(table["cpu"]["e5"], probe="e5")
    plain = costs.estimate("e5_variant", _work())
    costs.probe_ratios = {"e5": 1.8}
    costs.past_factors = {"e5": 1.4}
    borrowed = costs.estimate("e5_variant", _work())
    assert borrowed.seconds == pytest.approx(1.4 * plain.seconds) and borrowed.machine_factor == 1.4
    assert borrowed.basis == plain.basis + " x past run of e5"
    costs.past_factors["e5_variant"] = 1.2  # once it has run here, its own record wins
    assert costs.estimate("e5_variant", _work()).seconds == pytest.approx(1.2 * plain.seconds)


def _finetune_table(table: dict) -> dict:
    """A fine-tune at the reference: its states once (100 s), a start a fold (80 s), an epoch a fold (60
    s); a variant priced from the same probe with epochs twice as long (e5_finetune_4l's kind)."""
    def part(seconds, per):
        return {"seconds": seconds, "per": per, "scale": "fixed", "measured": True, "source": "test"}

    table["cpu"]["e5_finetune"] = {"parts": {"states": part(100, "dataset"), "start": part(80, "fold"),
                                             "epoch": part(60, "fold_epoch")}, "probe": "e5_finetune"}
    table["cpu"]["e5_finetune_4l"] = {"parts": {"states": part(100, "dataset"), "start": part(80, "fold"),
                                                "epoch": part(120, "fold_epoch")}, "probe": "e5_finetune"}
    return table


def test_a_step_that_trains_epochs_is_planned_at_other_epochs_from_its_epochs_and_its_rest_apart(tmp_path, table):
    from planner.costs import Work

    costs = CostModel(_finetune_table(table), DataSize(train_rows=1000, test_rows=200))
    one_epoch = costs.estimate("e5_finetune", Work(folds=5, epochs=1))
    assert one_epoch.seconds == 800 and one_epoch.epoch_reference_s == 300  # 100 + 5 x 80 + 5 x 60
    # this machine runs the epochs 1.6 x the reference and the rest 0.5 x: 480 + 250 s at 1 epoch
    past = PastRuns(tmp_path)
    past.record("m", "d", [StepTime("e5_finetune", 730.0, 800.0, 800.0, epochs_took_s=480.0, epochs_reference_s=300.0)])
    costs.past_factors = past.factors("m", "d")
    costs.past_split = past.split_factors("m", "d")
    assert costs.past_factors == {"e5_finetune": pytest.approx(730 / 800)}
    assert costs.past_split == {"e5_finetune": (pytest.approx(1.6), pytest.approx(0.5))}
    assert costs.estimate("e5_finetune", Work(folds=5, epochs=1)).seconds == pytest.approx(730)  # the run itself
    four = costs.estimate("e5_finetune", Work(folds=5, epochs=4))
    # 1,200 s of epochs x 1.6 + 500 s of the rest x 0.5; one ratio (x0.91) would say 1,551
    assert four.seconds == pytest.approx(1920 + 250) and four.once_seconds == pytest.approx(50)
    assert four.basis == "reference x past run"
    wider = costs.estimate("e5_finetune_4l", Work(folds=5, epochs=4))  # borrows e5_finetune's two ratios
    assert wider.seconds == pytest.approx(2400 * 1.6 + 500 * 0.5)
    assert wider.basis == "reference x past run of e5_finetune"
    # a run that did not measure its epochs (no history column) adds to the single ratio only
    past.record("m", "d", [("e5_finetune", 800.0, 800.0, 800.0)])
    assert past.split_factors("m", "d") == {"e5_finetune": (pytest.approx(1.6), pytest.approx(0.5))}
    assert past.factors("m", "d")["e5_finetune"] == pytest.approx((730 / 800 + 1.0) / 2)


def test_measured_steps_read_the_epochs_seconds_from_the_folds_history(tmp_path):
    import pandas as pd

    for k, seconds in ((0, [100.0, 110.0]), (1, [90.0])):
        (tmp_path / "run" / "e5_finetune" / f"fold{k}").mkdir(parents=True)
        pd.DataFrame({"epoch": range(len(seconds)), "loss": 1.0, "epoch_seconds": seconds}).to_csv(
            tmp_path / "run" / "e5_finetune" / f"fold{k}" / "history.csv", index=False)
    (tmp_path / "run" / "text_cnn" / "fold0").mkdir(parents=True)  # a fold logged before the column existed
    pd.DataFrame({"epoch": [0], "loss": [1.0]}).to_csv(tmp_path / "run" / "text_cnn" / "fold0" / "history.csv",
                                                       index=False)
    finetune = Step("e5_finetune", "e5_finetune", {}, "e5_finetune",
                    Estimate(1000.0, 1.0, "reference", once_seconds=0.0, epoch_reference_s=400.0), [0, 1, 2, 3])
    cnn = Step("text_cnn", "text_cnn", {}, "text_cnn", Estimate(100.0, 1.0, "reference", epoch_reference_s=80.0), [0])
    plan = Plan(3600.0, "cpu", [finetune, cnn], Estimate(0, 0, ""), Estimate(0, 0, ""))
    results = [StepResult("e5_finetune", 1000.0, elapsed_s=600.0, folds_trained=[0, 1]),
               StepResult("text_cnn", 100.0, elapsed_s=120.0, folds_trained=[0])]
    # two of four folds: 500 s planned, 200 of them epochs; 300 s of the 600 taken were epochs
    assert measured_steps(plan, results, tmp_path / "run") == [
        StepTime("e5_finetune", 600.0, 500.0, 500.0, 300.0, 200.0), StepTime("text_cnn", 120.0, 100.0, 100.0)]
    assert StepTime("e5_finetune", 600.0, 500.0, 500.0, 300.0, 200.0).split() == (1.5, 1.0)
    assert measured_steps(plan, results)[0] == StepTime("e5_finetune", 600.0, 500.0, 500.0)  # no folder: one ratio


def _work():
    from planner.costs import Work

    return Work(folds=5)


def test_measured_steps_compare_the_folds_trained_with_their_estimate_and_reference_figures():
    # 600 s over 5 folds, 100 of them once (the first fold carries them): 2 folds are 200 + 100 planned
    trained = Step("e5", "e5", {}, "e5", Estimate(600.0, 1.0, "reference", once_seconds=100.0), [0, 1, 2, 3, 4])
    skipped = Step("e5_finetune", "e5_finetune", {}, "e5_finetune", Estimate(900.0, 1.0, "reference"), [0, 1])
    corrected = Step("tfidf", "tfidf", {}, "tfidf", Estimate(400.0, 1.0, "reference", machine_factor=2.0), [0, 1])
    plan = Plan(3600.0, "cpu", [trained, skipped, corrected], Estimate(0, 0, ""), Estimate(0, 0, ""))
    results = [StepResult("e5", 600.0, elapsed_s=450.0, folds_trained=[0, 1]), StepResult("e5_finetune", 900.0),
               StepResult("tfidf", 400.0, elapsed_s=500.0, folds_trained=[0, 1])]
    assert measured_steps(plan, results) == [StepTime("e5", 450.0, 300.0, 300.0), StepTime("tfidf", 500.0, 400.0, 200.0)]


def test_a_probed_budget_run_records_its_steps_and_the_next_plan_reads_them(demo_dir, tmp_path, monkeypatch):
    from planner import cli
    from planner.costs import load_reference
    from planner.machine import this_machine
    from folds.store import data_identity
    from planner.probe import ProbeCache, data_fingerprint
    from challenge.cli import load_data

    table = load_reference()
    table["probe"]["cpu"] = {"seconds": {"tfidf": 5.0}}  # a reference probe for tfidf only
    monkeypatch.setattr(cli, "load_reference", lambda: table)
    cache = tmp_path / "cache"
    data = load_data(str(demo_dir))  # the probe is cached, so none runs
    ProbeCache().put(this_machine().key, data_fingerprint(data_identity(data)), {"tfidf": 10.0}, {})  # 2 x
    run_dir = tmp_path / "run"
    args = recipes.build_parser().parse_args(["--budget", "2h", "--device", "cpu", "--data-dir", str(demo_dir),
                                              "--run-dir", str(run_dir), "--quiet"])
    first, _ = cli.build_plan(args, str(cache))
    tfidf = first.steps[0]
    assert tfidf.name == "tfidf" and tfidf.estimate.basis == "reference x probe"

    def slow_run(plan, *unused, **options):  # every fold of tfidf took 1.5 x its estimate
        took = 1.5 * max(tfidf.estimate.seconds, MIN_RECORDED_S)
        plan.steps[0].estimate.seconds = max(tfidf.estimate.seconds, MIN_RECORDED_S)
        return RunSummary([StepResult("tfidf", 0, elapsed_s=took, folds_trained=list(plan.steps[0].folds_left))]
                          + [StepResult(s.name, 0) for s in plan.steps[1:]], ["tfidf"])

    monkeypatch.setattr("planner.run.run_plan", slow_run)
    cli.run_budget(args, str(cache))
    assert not (cache / "planner" / "past_runs.json").exists()  # the machine's record, not the project's
    fingerprint = data_fingerprint(data_identity(data))
    assert PastRuns().factors(this_machine().key, fingerprint)["tfidf"] == pytest.approx(3.0)  # 1.5 x 2 x reference
    assert first.data_key == fingerprint
    second, header = cli.build_plan(args, str(cache))
    assert "from earlier runs on this machine and data (planner/past_runs.py), this machine's time / the " \
           "reference's: tfidf x3.00" in header  # and tfidf is not probed again
    assert second.steps[0].estimate.basis == "reference x past run"
    assert "'x past run' = scaled by what an earlier run of the step took on this machine and data" in \
        format_plan(second, "")
    assert second.steps[0].estimate.seconds == pytest.approx(1.5 * tfidf.estimate.seconds)
    no_probe = recipes.build_parser().parse_args(["--budget", "2h", "--device", "cpu", "--data-dir", str(demo_dir),
                                                  "--run-dir", str(run_dir), "--no-probe"])
    assert "past run" not in cli.build_plan(no_probe, str(cache))[0].steps[0].estimate.basis


def test_a_budget_run_in_a_new_folder_does_not_probe_again(demo_dir, tmp_path, monkeypatch, machine_state_dir):
    """The probes measure the machine and the data: kept with the machine's record, a second plan with
    another cache folder (a run started in a new folder) reads them instead of training them again."""
    from planner import cli
    from planner.costs import load_reference

    table = load_reference()
    table["probe"]["cpu"] = {"seconds": {"tfidf": 5.0}}  # a reference probe for tfidf only
    monkeypatch.setattr(cli, "load_reference", lambda: table)
    probed = []

    class CountingProbe:
        def __init__(self, data, cache_dir):
            pass

        def __enter__(self):
            return self

        def __call__(self, name, spec):
            probed.append(name)
            return 10.0

        def __exit__(self, *exc):
            pass

    monkeypatch.setattr(cli, "_LazyProbe", CountingProbe)
    headers = []
    for folder in ("first", "second"):
        args = recipes.build_parser().parse_args(["--budget", "2h", "--device", "cpu", "--data-dir", str(demo_dir),
                                                  "--run-dir", str(tmp_path / folder / "run"), "--quiet"])
        plan, header = cli.build_plan(args, str(tmp_path / folder / "cache"))
        assert plan.steps[0].estimate.basis == "reference x probe"
        headers.append(header)
    assert probed == ["tfidf"]
    assert "probed now" in headers[0] and "probed earlier (cached)" in headers[1]
    assert (machine_state_dir / "probes.json").is_file() and not (tmp_path / "first" / "cache" / "planner").exists()
