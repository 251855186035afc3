"""The runner's stop-at-fold-end rule, with a fake trainer that advances a fake clock."""
from __future__ import annotations

import pytest

from challenge.errors import DataError
from planner.costs import Estimate
from planner.plan import Plan, Step
from planner.run import run_plan


class FakeRun:
    """Each fold of a step takes `minutes[name]` minutes of the fake clock."""

    def __init__(self, minutes: dict):
        self.minutes, self.now, self.trained = minutes, 0.0, []
        self.stacked = None

    def clock(self) -> float:
        return self.now

    def train_fold(self, step: Step, k: int) -> None:
        self.now += self.minutes[step.name] * 60
        self.trained.append((step.name, k))

    def is_complete(self, step: Step) -> bool:
        return all((step.name, k) in self.trained for k in range(5))

    def finish(self, names: list[str]) -> str:
        self.stacked = names
        return "submission.csv"


def step(name: str, minutes: float) -> Step:
    return Step(name, name, {}, name, Estimate(minutes * 60, 1.0, "reference"), [0, 1, 2, 3, 4])


def plan_of(*steps: Step, budget_min: float = 100) -> Plan:
    return Plan(budget_min * 60, "cpu", list(steps), Estimate(60, 0.5, "estimate"), Estimate(30, 0.1, "reference"))


def test_a_step_over_its_estimate_stops_at_the_end_of_its_fold_and_is_not_stacked():
    # text_cnn was estimated at 10 min (2 a fold) but takes 4 a fold: over 15 min after its 4th fold
    fake = FakeRun({"tfidf": 1, "text_cnn": 4, "e5": 1})
    summary = run_plan(plan_of(step("tfidf", 5), step("text_cnn", 10), step("e5", 5)),
                       fake.train_fold, fake.is_complete, fake.finish, clock=fake.clock)
    results = {r.name: r for r in summary.results}
    assert results["text_cnn"].folds_trained == [0, 1, 2, 3]
    assert not results["text_cnn"].complete
    assert "stopped after fold 3" in results["text_cnn"].note and "1.5 x its estimate" in results["text_cnn"].note
    assert results["e5"].complete  # the next step still runs
    assert fake.stacked == ["tfidf", "e5"] and summary.stacked == ["tfidf", "e5"]
    assert "stopped after fold 3" in summary.format() and "submission.csv" in summary.format()


def test_a_step_within_half_again_its_estimate_finishes():
    fake = FakeRun({"tfidf": 1.4})  # 7 min for an estimate of 5: within 1.5 x
    summary = run_plan(plan_of(step("tfidf", 5)), fake.train_fold, fake.is_complete, fake.finish, clock=fake.clock)
    assert summary.results[0].complete and fake.stacked == ["tfidf"]


def test_a_step_that_no_longer_fits_after_an_overrun_is_skipped():
    # tfidf takes 70 of its 50 estimated minutes (within 1.5 x): e5's 40 min no longer fit in 100
    fake = FakeRun({"tfidf": 14, "e5": 8})
    summary = run_plan(plan_of(step("tfidf", 50), step("e5", 40)), fake.train_fold, fake.is_complete, fake.finish,
                       clock=fake.clock)
    assert summary.results[1].note.startswith("skipped") and not summary.results[1].folds_trained
    assert fake.stacked == ["tfidf"]


def test_resumed_steps_train_only_their_missing_folds():
    fake = FakeRun({"tfidf": 1})
    fake.trained = [("tfidf", 0), ("tfidf", 1)]
    resumed = step("tfidf", 3)
    resumed.folds_left = [2, 3, 4]
    run_plan(plan_of(resumed), fake.train_fold, fake.is_complete, fake.finish, clock=fake.clock)
    assert fake.trained[2:] == [("tfidf", 2), ("tfidf", 3), ("tfidf", 4)]


def test_nothing_complete_is_a_clear_error():
    fake = FakeRun({"tfidf": 1})
    fake.is_complete = lambda step: False  # e.g. a fold failed to assemble
    with pytest.raises(DataError, match="nothing to stack"):
        run_plan(plan_of(step("tfidf", 5)), fake.train_fold, fake.is_complete, fake.finish, clock=fake.clock)


def test_the_first_step_is_never_stopped_and_a_small_overrun_is_not_an_overrun():
    # tfidf takes 3 x its estimate: still finished (the submission needs it); e5 is 40 s over 5 s
    fake = FakeRun({"tfidf": 3, "e5": 0.15})
    summary = run_plan(plan_of(step("tfidf", 5), step("e5", 0.1)), fake.train_fold, fake.is_complete, fake.finish,
                       clock=fake.clock)
    assert [r.complete for r in summary.results] == [True, True]


def test_each_step_that_trained_ends_with_one_table_after_its_last_fold():
    # e5 no longer fits after tfidf's overrun: skipped, no table
    fake = FakeRun({"tfidf": 14, "text_cnn": 0.1, "e5": 8})
    tables = []
    run_plan(plan_of(step("tfidf", 50), step("text_cnn", 1), step("e5", 40)), fake.train_fold, fake.is_complete,
             fake.finish, clock=fake.clock, step_finished=lambda s: tables.append((s.name, len(fake.trained))))
    assert tables == [("tfidf", 5), ("text_cnn", 10)]


def once_step(name: str, minutes: float, once_minutes: float) -> Step:
    return Step(name, name, {}, name, Estimate(minutes * 60, 1.0, "reference", once_seconds=once_minutes * 60),
                [0, 1, 2, 3, 4])


def test_a_step_whose_pace_projects_the_run_past_the_budget_stops_within_its_one_and_a_half():
    # e5 was estimated at 40 min (8 a fold) and takes 11 a fold: within 1.5 x (60) at every fold's end,
    # but at that pace the run ends at 5 + 55 + 1.5 = 61.5 min of a 50-min budget (+10% = 55): it stops
    fake = FakeRun({"tfidf": 1, "e5": 11})
    summary = run_plan(plan_of(step("tfidf", 5), step("e5", 40), budget_min=50), fake.train_fold,
                       fake.is_complete, fake.finish, clock=fake.clock)
    e5 = summary.results[1]
    assert e5.folds_trained == [0] and not e5.complete
    assert "over the budget of 50 min + 10%" in e5.note
    assert fake.stacked == ["tfidf"]


def test_a_slow_first_fold_that_carries_the_one_off_part_is_not_read_as_a_slow_pace():
    # e5: 20 of its 40 min are the one-off encoding in fold 0 (24 min with it), 4 a fold after:
    # read as a plain per-fold pace, fold 0 would project 120 min; against the estimate it is on time
    minutes = iter([24, 4, 4, 4, 4])
    fake = FakeRun({"tfidf": 1})
    fake.minutes = type("PerFold", (), {"__getitem__": lambda self, name: 1 if name == "tfidf" else next(minutes)})()
    summary = run_plan(plan_of(step("tfidf", 5), once_step("e5", 40, once_minutes=20), budget_min=50),
                       fake.train_fold, fake.is_complete, fake.finish, clock=fake.clock)
    assert summary.results[1].complete and fake.stacked == ["tfidf", "e5"]


def test_the_one_off_part_of_an_estimate_is_what_runs_once_per_step_or_dataset():
    from planner.costs import CostModel, DataSize, load_reference, Work
    model = CostModel(load_reference(), DataSize(7369, 1843))
    e5 = model.estimate("e5", Work(folds=5))
    cached = model.estimate("e5", Work(folds=5, dataset_cached=True))
    assert 0 < e5.once_seconds < e5.seconds
    assert e5.seconds - cached.seconds == pytest.approx(e5.once_seconds - cached.once_seconds)


def test_a_slow_run_corrects_the_later_steps_estimates_and_skips_one_that_no_longer_fits_at_that_pace():
    # tfidf and text_cnn take 1.4 x their estimates (7 and 14 of 5 and 10 min): with the 5 planned minutes
    # the pace counts as on time, e5 starts with 52 for its planned 40 (79 min left: it runs) and takes 40
    fake = FakeRun({"tfidf": 1.4, "text_cnn": 2.8, "e5": 8})
    summary = run_plan(plan_of(step("tfidf", 5), step("text_cnn", 10), step("e5", 40), step("conv1d", 45),
                               budget_min=100), fake.train_fold, fake.is_complete, fake.finish, clock=fake.clock)
    tfidf, text_cnn, e5, conv1d = summary.results
    assert tfidf.corrected_s == 5 * 60  # nothing measured yet: the plan's figure
    assert text_cnn.corrected_s == pytest.approx((7 + 5) / (5 + 5) * 10 * 60)  # 1.2: one step, shrunk
    assert e5.complete and e5.corrected_s == pytest.approx((7 + 14 + 5) / (5 + 10 + 5) * 40 * 60)
    # after e5 (1.0 x) the pace is (7 + 14 + 40 + 5) / (5 + 10 + 40 + 5) = 1.1: conv1d's planned 45 min would
    # fit in the 110 - 61 - 1.5 = 47.5 left of the budget + 10%, its 49.5 at the run's pace do not
    assert conv1d.corrected_s == pytest.approx(66 / 60 * 45 * 60)
    assert conv1d.note.startswith("skipped: 50 min estimated at this run's pace (45 in the plan), 48 left of the "
                                  "budget + 10%")
    assert "at pace" in summary.format()


def test_a_step_that_runs_past_the_budget_but_within_its_10_percent_still_starts():
    # debfr-public, --budget 45m: a plan of 45 min, the short steps a little over, e5_finetune's 35 planned
    # minutes read 39 at the run's pace with 36 left: it runs (the run ends within 45 + 10%), not skipped
    fake = FakeRun({"tfidf": 0.32, "e5": 1.2, "e5_finetune": 7.2})
    summary = run_plan(plan_of(step("tfidf", 1.3), step("e5", 5), step("e5_finetune", 35), budget_min=45),
                       fake.train_fold, fake.is_complete, fake.finish, clock=fake.clock)
    assert summary.results[2].corrected_s > 35 * 60 and summary.results[2].complete
    assert fake.stacked == ["tfidf", "e5", "e5_finetune"] and summary.elapsed_s < 45 * 60 * 1.1


def test_the_run_pace_is_bounded_and_starts_at_one():
    from planner.run import RUN_PACE_BOUNDS, RunPace
    pace = RunPace()
    assert pace.factor == 1.0
    pace.add(measured_s=30, estimated_s=1)  # start-up on tiny data: 30 x its estimate, a few seconds
    assert 1.0 < pace.factor < 1.1
    pace.add(measured_s=2400, estimated_s=1000)  # ... then steps that ran far over: the bound holds
    assert pace.factor == RUN_PACE_BOUNDS[1]
    pace.add(measured_s=0, estimated_s=6000)
    assert pace.factor == RUN_PACE_BOUNDS[0]


def test_one_short_steps_miss_moves_the_later_estimates_little_and_long_evidence_moves_them_fully():
    from planner.run import PACE_PRIOR_S, RunPace
    short = RunPace()
    short.add(measured_s=84, estimated_s=54)  # a 1-min step 56% over (debfr-public's tfidf, 15m run)
    assert short.factor < 1.1
    long = RunPace()
    long.add(measured_s=1.3 * 30 * PACE_PRIOR_S, estimated_s=30 * PACE_PRIOR_S)  # hours at 1.3 x
    assert long.factor == pytest.approx(1.3, abs=0.01)


def test_a_fast_run_lets_a_later_step_in_that_the_plan_figure_would_have_skipped():
    # everything runs at half its estimate: e5's 40 min read as 20 once tfidf's pace is known,
    # and they fit in the 100 - 25 - 1.5 = 73.5 min that the plan's 80 would not
    fake = FakeRun({"tfidf": 5, "e5": 4})
    summary = run_plan(plan_of(step("tfidf", 50), step("e5", 80), budget_min=100), fake.train_fold,
                       fake.is_complete, fake.finish, clock=fake.clock)
    assert summary.results[1].complete and fake.stacked == ["tfidf", "e5"]
