"""Plans packed into parallel lanes (planner/lanes.py) on the synthetic cost table of
tests/planner/conftest.py: the folds dealt to GPU and CPU lanes, the estimate the longest lane, and
the budget then holding more than one fold after another would. Under a second in all."""
from __future__ import annotations

import pytest

import recipes
from challenge.errors import DataError
from planner.costs import Estimate
from planner.lanes import MachineShape, make_lane_plan, pack_lanes, parse_machine
from planner.plan import Plan, Step, make_plan, parse_budget


def step(name: str, seconds: float, once: float = 0.0) -> Step:
    return Step(name, name, {}, name, Estimate(seconds, 1.0, "reference", once_seconds=once), [0, 1, 2, 3, 4])


def test_a_described_machine_is_read_or_refused():
    assert parse_machine("gpus=2,cpus=4") == MachineShape(gpus=2, cpus=4)
    assert parse_machine("cpus=32") == MachineShape(gpus=0, cpus=32)
    for bad in ("2 gpus", "gpus=2;cpus=4", "cpus=0", ""):
        with pytest.raises(DataError, match="gpus=N,cpus=N|at least one"):
            parse_machine(bad)


def test_keras_folds_go_to_the_gpu_lanes_and_tfidf_to_the_cpu_lanes():
    plan = Plan(3600, "gpu", [step("tfidf", 100), step("text_cnn", 500, once=50)], Estimate(30, 1, "r"),
                Estimate(30, 1, "r"))
    lanes = {lane.name: lane for lane in pack_lanes(plan, MachineShape(gpus=2, cpus=4))}
    assert sorted(lanes) == ["CPU 1", "CPU 2", "GPU 1", "GPU 2"]  # 2 of the 4 cores feed the GPUs
    assert {name for lane in ("GPU 1", "GPU 2") for name, *_ in lanes[lane].folds} == {"text_cnn"}
    assert sorted(len(lanes[lane].folds) for lane in ("GPU 1", "GPU 2")) == [2, 3]
    # a tfidf fold on 1 core is priced at twice its 2-core reference time: 5 x 40 s over 2 lanes
    assert max(lanes[lane].end_s for lane in ("CPU 1", "CPU 2")) == pytest.approx(120)
    # text_cnn's first fold carries the once-per-run part (50 s), and the others wait for it
    first = min((start, end) for name, k, start, end in lanes["GPU 1"].folds + lanes["GPU 2"].folds)
    assert first == (0.0, pytest.approx(140)) and all(start >= 50 for lane in ("GPU 1", "GPU 2")
                                                     for _, k, start, _ in lanes[lane].folds if k)


def test_the_lanes_fit_what_one_fold_after_another_cannot(costs):
    budget = parse_budget("60m")
    sequential = make_plan(costs, budget)
    assert not any(s.name.startswith("e5_finetune") for s in sequential.steps)
    parallel = make_lane_plan(costs, budget, MachineShape(gpus=0, cpus=4), workers=2)
    assert [s.name for s in parallel.plan.steps][:4] == [s.name for s in sequential.steps]
    assert parallel.plan.steps[-1].name.startswith("e5_finetune")
    assert parallel.total_s <= budget < parallel.plan.total_s  # within the budget only side by side
    assert [lane.name for lane in parallel.lanes] == ["CPU 1", "CPU 2"]
    assert parallel.plan.budget_s == budget


def test_plan_only_for_a_described_machine_prints_its_lanes(demo_dir, tmp_path, capsys):
    args = ["--budget", "3h", "--plan-only", "--machine", "gpus=2,cpus=4", "--data-dir", str(demo_dir),
            "--run-dir", str(tmp_path / "run")]
    record = recipes.main(args)
    out = capsys.readouterr().out
    assert "on a described machine (2 GPU + 4 CPU cores), planned for the GPU" in out
    assert "lanes on 2 GPU + 4 CPU cores" in out and "GPU 2" in out and "longest lane" in out
    assert out.count("total: about") == 1  # the lanes' total, not the sum of the steps too
    assert record["lanes"]["total_s"] < record["budget_s"]
    with pytest.raises(SystemExit):  # a described machine is for --plan-only
        recipes.main([a for a in args if a != "--plan-only"])
    assert "--machine describes another machine" in capsys.readouterr().err
