"""A stopped `--budget` run, started again, plans only the time it has left (planner/resume.py)."""
from __future__ import annotations

import json
import os
import time

import pytest

from planner.plan import format_plan, make_plan, parse_budget
from planner.resume import time_already_spent
from planner.run import run_plan
from tests.planner.test_run import FakeRun, plan_of, step


def stopped_run(run_dir, budget="3h", minutes_ago=30, last_write_minutes_ago=10, **record):
    """A run directory whose budget run started `minutes_ago` and last wrote a file `last_write_minutes_ago`."""
    run_dir.mkdir(parents=True, exist_ok=True)
    now = time.time()
    (run_dir / "plan.json").write_text(json.dumps({"budget": budget, "started_s": now - minutes_ago * 60, **record}))
    fold = run_dir / "tfidf" / "fold0"
    fold.mkdir(parents=True, exist_ok=True)
    (fold / "done.json").write_text("{}")
    written = now - last_write_minutes_ago * 60
    os.utime(fold / "done.json", (written, written))
    return run_dir


def test_a_stopped_start_spent_from_its_start_to_its_last_file_written_and_its_probe(tmp_path):
    run = stopped_run(tmp_path / "run", probe_s=60)
    assert time_already_spent(run, "3h") == pytest.approx(20 * 60 + 60, abs=2)


def test_every_earlier_start_adds_up(tmp_path):
    run = stopped_run(tmp_path / "run", spent_before_s=600)
    assert time_already_spent(run, "3h") == pytest.approx(600 + 20 * 60, abs=2)


def test_files_older_than_the_start_are_earlier_work_not_this_runs_time(tmp_path):
    run = stopped_run(tmp_path / "run", minutes_ago=5, last_write_minutes_ago=50)  # a fold trained before it
    assert time_already_spent(run, "3h") == 0


@pytest.mark.parametrize("record, budget", [({"outcome": []}, "3h"), ({}, "45m")])
def test_a_finished_run_or_another_budget_is_a_new_run(tmp_path, record, budget):
    assert time_already_spent(stopped_run(tmp_path / "run", **record), budget) == 0
    assert time_already_spent(tmp_path / "empty", "3h") == 0


def test_older_plan_files_with_a_local_start_time_are_read(tmp_path):
    run = stopped_run(tmp_path / "run")
    record = json.loads((run / "plan.json").read_text())
    started = record.pop("started_s")
    record["started"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))
    (run / "plan.json").write_text(json.dumps(record))
    assert time_already_spent(run, "3h") == pytest.approx(20 * 60, abs=2)


def test_the_plan_leaves_out_what_no_longer_fits_after_the_time_spent(costs):
    full = make_plan(costs, parse_budget("27m"))
    assert [s.name for s in full.steps] == ["tfidf", "e5", "text_cnn_2ep"]
    # 10 minutes spent by a stopped start that finished tfidf: e5 (10) still fits in 27, text_cnn does not
    resumed = make_plan(costs, parse_budget("27m"), done_folds={"tfidf": [0, 1, 2, 3, 4]}, spent_s=600)
    assert [s.name for s in resumed.steps] == ["tfidf", "e5", "text_cnn_1ep"]
    assert resumed.total_s == pytest.approx(600 + 10 * 60 + 5 * 60 + 3 * 30 + 30)
    table = format_plan(resumed, "header")
    assert "by the stopped start of this run" in table.splitlines()[2] and "of 27 min" in table


def test_the_runner_counts_the_time_spent_before_it_started():
    fake = FakeRun({"tfidf": 1, "e5": 2})
    plan = plan_of(step("tfidf", 5), step("e5", 10), budget_min=60)
    plan.spent_s = 50 * 60  # 50 of the 60 minutes gone: e5's 10 no longer fit with the stack and submission
    summary = run_plan(plan, fake.train_fold, fake.is_complete, fake.finish, clock=fake.clock)
    assert summary.results[1].note.startswith("skipped") and summary.elapsed_s == pytest.approx(55 * 60)


def test_a_resumed_plan_only_says_it_resumed_and_what_was_spent(demo_dir, tmp_path, capsys):
    import recipes

    stopped_run(tmp_path / "run", budget="2h")
    record = recipes.main(["--plan-only", "--no-probe", "--budget", "2h", "--device", "cpu",
                           "--data-dir", str(demo_dir), "--run-dir", str(tmp_path / "run")])
    assert record["spent_before_s"] == pytest.approx(20 * 60, abs=2)
    assert "resumed: an earlier start of this run stopped after 20 min of the budget" in capsys.readouterr().out
