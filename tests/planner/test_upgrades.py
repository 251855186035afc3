"""The upgrade pass of --budget (planner/upgrades.py) on the synthetic cost table of conftest.py,
text-only: the first pass is tfidf 5 + e5 10 + text_cnn 3 epochs 15 min (+ e5_finetune, 25 min an
epoch), a stacked model 0.5 min, the submission 0.5. The upgrades below are made up for the
arithmetic; the project's own table is checked against the cost table and the model registry."""
from __future__ import annotations

import json

import pytest

from planner.costs import CostModel, DataSize, Work, load_reference
from planner.plan import CPU_CANDIDATES, GPU_CANDIDATES, format_plan, make_plan, parse_budget
from planner.run_on_ray import step_job
from planner.upgrades import Beside, Upgrade, UpgradeStep, load_upgrades
from tests.planner.conftest import per_fold

TEXT_CNN_12 = Upgrade("text_cnn_12ep", "text_cnn at 12 epochs", (UpgradeStep("text_cnn_12ep", "text_cnn", {}, "text_cnn", 12),),
                      gain=0.004, interval=(0.001, 0.007), measured_on="a benchmark", replaces="text_cnn")
KNN = Upgrade("knn_text", "neighbour votes", (UpgradeStep("knn_tfidf", "knn_tfidf", {}, "knn_tfidf"),
                                              UpgradeStep("knn_e5", "knn_e5", {}, "knn_e5")),
              gain=0.005, measured_on="a benchmark", requires=("tfidf", "e5"), unless=("e5_finetune",))
SEED_2 = Upgrade("e5_finetune_seed2", "a second seed",
                 (UpgradeStep("e5_finetune_s2", "e5_finetune", {}, "e5_finetune", 4, seed_offset=100),),
                 gain=0.003, measured_on="a benchmark", requires=("e5_finetune",))
UPGRADES = (TEXT_CNN_12, KNN, SEED_2)


@pytest.fixture
def text_costs(table) -> CostModel:
    table["cpu"]["knn_tfidf"] = per_fold(12)  # 1 min for 5 folds
    table["cpu"]["knn_e5"] = per_fold(12)
    return CostModel(table, DataSize(train_rows=1000, test_rows=200, images=0))


def names(plan) -> list[str]:
    return [s.name for s in plan.steps]


def taken(plan) -> list[str]:
    return [u.name for u, _ in plan.upgrades.taken]


def test_what_the_first_pass_leaves_goes_to_the_upgrades_that_fit(text_costs):
    # first pass 30 min + a stack of 3 (1.5) + the submission (0.5) = 32 of 40: e5_finetune needs 50 even at
    # 2 epochs. Of the 8 min left the neighbours take 2 + 1 for two more stacked models; text_cnn at 12
    # epochs would need 60 - 15 = 45 more
    plan = make_plan(text_costs, parse_budget("40m"), upgrades=UPGRADES)
    assert names(plan) == ["tfidf", "e5", "text_cnn", "knn_tfidf", "knn_e5"]
    assert taken(plan) == ["knn_text"] and [u.name for u, _ in plan.upgrades.did_not_fit] == ["text_cnn_12ep"]
    assert plan.total_s == pytest.approx((30 + 2 + 2.5 + 0.5) * 60)
    table = format_plan(plan, "")
    assert "  knn_text: neighbour votes; +3.0 min for +0.0050 OOF on a benchmark" in table
    assert "upgrades that did not fit:\n  text_cnn_12ep: +45 min needed, 5.0 left" in table
    assert "unused: 5.0 min, too little for what is left out or did not fit above" in table


def test_without_upgrades_the_same_budget_leaves_the_time_unused(text_costs):
    plan = make_plan(text_costs, parse_budget("40m"))
    assert names(plan) == ["tfidf", "e5", "text_cnn"] and plan.upgrades.taken == []


def test_upgrades_go_by_gain_per_minute_and_a_replacement_keeps_its_place(text_costs):
    # 3h: first pass 130 min + stack 2 + submission 0.5 leaves 47.5; text_cnn at 12 epochs (+45, 0.004)
    # comes before a second seed (+100.5, 0.003); the neighbours add nothing beside e5_finetune
    plan = make_plan(text_costs, parse_budget("3h"), upgrades=UPGRADES)
    assert names(plan) == ["tfidf", "e5", "text_cnn_12ep", "e5_finetune"]
    assert plan.steps[2].settings["epochs"] == 12 and plan.steps[2].estimate.seconds == 60 * 60
    assert taken(plan) == ["text_cnn_12ep"] and [u.name for u, _ in plan.upgrades.did_not_fit] == ["e5_finetune_seed2"]
    why = {u.name: reason for u, reason in plan.upgrades.not_applicable}
    assert why["knn_text"] == "adds nothing measurable beside e5_finetune"
    assert "upgrades not taken: knn_text (adds nothing measurable beside e5_finetune)" in format_plan(plan, "")
    assert plan.total_s <= plan.budget_s


def test_when_every_upgrade_is_in_the_plan_says_more_time_adds_nothing(text_costs):
    plan = make_plan(text_costs, parse_budget("5h"), upgrades=UPGRADES)
    assert names(plan) == ["tfidf", "e5", "text_cnn_12ep", "e5_finetune", "e5_finetune_s2"]
    assert plan.steps[-1].seed_offset == 100 and "seed=run's + 100" in plan.steps[-1].describe_settings()
    table = format_plan(plan, "")
    assert ("unused: 22 min; every model and upgrade with a measured gain on the benchmarks that this data and "
            "machine allow is in the plan") in table


def test_fewer_first_pass_epochs_still_silence_an_upgrade_measured_without_them(text_costs):
    # 100m: e5_finetune fits at 2 epochs only, stored as e5_finetune_2ep: still no neighbours beside it,
    # and no second seed of the 4-epoch model it was measured with
    plan = make_plan(text_costs, parse_budget("100m"), upgrades=UPGRADES)
    assert "e5_finetune_2ep" in names(plan)
    why = {u.name: reason for u, reason in plan.upgrades.not_applicable}
    assert why["knn_text"] == "adds nothing measurable beside e5_finetune_2ep"
    assert why["e5_finetune_seed2"] == "needs e5_finetune in the plan"


@pytest.mark.parametrize("gain, reason", [(None, "gain not measured yet"), (0.0, "no gain measured"),
                                          (-0.002, "no gain measured")])
def test_an_upgrade_without_a_positive_measured_gain_is_never_taken(text_costs, gain, reason):
    unmeasured = Upgrade("knn_text", "neighbour votes", KNN.steps, gain=gain, requires=("tfidf", "e5"))
    plan = make_plan(text_costs, parse_budget("40m"), upgrades=(unmeasured,))
    assert names(plan) == ["tfidf", "e5", "text_cnn"]
    assert plan.upgrades.not_applicable[0][1].startswith(reason)


def test_an_upgrade_too_big_for_the_machines_memory_is_left_out(text_costs, table):
    table["cpu"]["knn_tfidf"]["peak_gb"] = {"value": 30.0, "rows": 1}
    plan = make_plan(text_costs, parse_budget("40m"), upgrades=UPGRADES, memory_gb=16)
    assert "knn_tfidf" not in names(plan)
    assert ("knn_text", "needs about 30.0 GB, the machine has 16 GB") in \
        [(u.name, why) for u, why in plan.upgrades.not_applicable]


def test_a_second_seed_trains_with_the_runs_seed_plus_its_offset(text_costs):
    plan = make_plan(text_costs, parse_budget("5h"), upgrades=UPGRADES)
    common = {"data_dir": "d", "run_dir": "r", "seed": 42, "n_folds": 5}
    jobs = {s.name: step_job(s, common, quiet=True) for s in plan.steps}
    assert jobs["e5_finetune"]["seed"] == 42 and jobs["e5_finetune_s2"]["seed"] == 142


def test_the_projects_upgrades_are_priced_registered_and_point_at_plan_steps():
    from models.catalogue import names as registered_models

    table = load_reference()
    entries = {c.entry for c in CPU_CANDIDATES + GPU_CANDIDATES}
    upgrades = load_upgrades()
    assert upgrades, "planner/upgrades.json lists no upgrade"
    upgrade_steps = {s.name for u in upgrades for s in u.steps}
    # a first-pass step at fewer epochs than its first option is stored as <entry>_<n>ep
    fewer_epochs = {f"{c.entry}_{n}ep" for c in CPU_CANDIDATES + GPU_CANDIDATES for n in c.epoch_options[1:]}
    for upgrade in upgrades:
        for step in upgrade.steps:
            assert step.cost in table["cpu"], f"{upgrade.name}: no cost entry {step.cost!r}"
            assert step.model in registered_models(), f"{upgrade.name}: {step.model!r} is not a registered model"
        for name in (upgrade.replaces,) * bool(upgrade.replaces) + upgrade.requires:
            assert name in entries, f"{upgrade.name}: {name!r} is not a step the first pass can choose"
        for name in upgrade.unless + tuple(step for b in upgrade.beside for step in b.steps):  # a first-pass or upgrade step
            assert name in entries | upgrade_steps | fewer_epochs, f"{upgrade.name}: {name!r} is not a step any plan can hold"
        for b in upgrade.beside:
            assert b.interval and b.interval[0] <= b.gain <= b.interval[1] and b.measured_on, f"{upgrade.name}: {b}"
        if upgrade.gain is not None:
            assert upgrade.interval and upgrade.measured_on, f"{upgrade.name}: a gain needs its interval and source"
    # every upgrade's stored names are its own: none collides with a first-pass step's
    assert not {s.name for u in upgrades for s in u.steps} & entries


def test_the_json_and_the_loader_agree_on_every_field(tmp_path):
    path = tmp_path / "upgrades.json"
    path.write_text(json.dumps({"upgrades": [{
        "name": "u", "what": "w", "replaces": "text_cnn", "requires": ["tfidf"], "unless": ["e5_finetune"],
        "device": "cpu", "needs_images": True,
        "steps": [{"name": "s", "model": "text_cnn", "set": {"a": 1}, "cost": "text_cnn", "epochs": 12,
                   "seed_offset": 7}],
        "gain": {"oof": 0.01, "interval": [0.002, 0.018], "measured_on": "debfr-public"},
        "beside": {"knn_tfidf": {"oof": 0.001, "interval": [-0.002, 0.004], "measured_on": "debfr-public"}}}]}))
    (upgrade,) = load_upgrades(path)
    assert upgrade == Upgrade("u", "w", (UpgradeStep("s", "text_cnn", {"a": 1}, "text_cnn", 12, 7),), 0.01,
                              (0.002, 0.018), "debfr-public", "text_cnn", ("tfidf",), ("e5_finetune",), True, "cpu",
                              (Beside("knn_tfidf", 0.001, (-0.002, 0.004), "debfr-public"),))


def test_a_gain_clear_of_the_noise_goes_before_a_tie_whatever_their_gains_per_minute(text_costs):
    # 4h: the first pass (130 min) + stack + submission leave 107.5. text_cnn at 12 epochs is a tie here
    # (+0.004, interval below zero): by gain per minute (0.004 / 45 min) it would go before the second
    # seed (0.003 / 100.5 min, clear of the noise); the seed goes first and leaves 7 min
    tie = Upgrade("text_cnn_12ep", "text_cnn at 12 epochs", TEXT_CNN_12.steps, gain=0.004, interval=(-0.001, 0.009),
                  measured_on="a benchmark", replaces="text_cnn")
    seed = Upgrade("e5_finetune_seed2", "a second seed", SEED_2.steps, gain=0.003, interval=(0.001, 0.005),
                   measured_on="a benchmark", requires=("e5_finetune",))
    plan = make_plan(text_costs, parse_budget("4h"), upgrades=(tie, seed))
    assert taken(plan) == ["e5_finetune_seed2"] and plan.upgrades.ties == []
    assert [u.name for u, _ in plan.upgrades.did_not_fit] == ["text_cnn_12ep"]
    # with the time for both, the tie comes in the second pass, and the plan says it is one
    plan = make_plan(text_costs, parse_budget("5h"), upgrades=(tie, seed))
    assert taken(plan) == ["e5_finetune_seed2"] and [u.name for u, _ in plan.upgrades.ties] == ["text_cnn_12ep"]
    assert ("with the time still left, ties (a gain above zero, its interval reaching below it):\n"
            "  text_cnn_12ep: text_cnn at 12 epochs; +45 min for +0.0040 [-0.0010, +0.0090] OOF on a benchmark"
            in format_plan(plan, ""))


def test_a_gain_measured_beside_a_step_of_the_plan_is_the_one_that_applies(text_costs):
    knn = Upgrade("knn_text", "neighbour votes", KNN.steps, gain=0.005, interval=(0.002, 0.008),
                  measured_on="a benchmark", requires=("tfidf", "e5"),
                  beside=(Beside("e5_finetune", -0.0008, (-0.005, 0.0033), "a benchmark"),))
    cnn = Upgrade("text_cnn_12ep", "text_cnn at 12 epochs", TEXT_CNN_12.steps, gain=0.004, interval=(0.001, 0.007),
                  measured_on="a benchmark", replaces="text_cnn",
                  beside=(Beside("e5_finetune", 0.0006, (-0.0033, 0.0045), "the e5_finetune stack"),))
    short = make_plan(text_costs, parse_budget("40m"), upgrades=(knn,))  # no e5_finetune: the votes' own gain
    assert taken(short) == ["knn_text"]
    plan = make_plan(text_costs, parse_budget("3h"), upgrades=(knn, cnn))
    why = {u.name: reason for u, reason in plan.upgrades.not_applicable}
    assert why["knn_text"] == "adds nothing measurable beside e5_finetune (-0.0008 [-0.0050, +0.0033] OOF)"
    # beside e5_finetune text_cnn at 12 epochs is a tie: taken with the time left, and said so
    assert taken(plan) == [] and [u.name for u, _ in plan.upgrades.ties] == ["text_cnn_12ep"]
    assert "+0.0006 [-0.0033, +0.0045] OOF beside e5_finetune on the e5_finetune stack" in format_plan(plan, "")
    assert names(plan) == ["tfidf", "e5", "text_cnn_12ep", "e5_finetune"]


def test_the_projects_table_on_debfr_public_sizes(table):
    """The project's own upgrades on the synthetic costs: a short budget takes the votes (clear of the
    noise), a long one e5_finetune with 4 trainable layers in its place (clear), then text_cnn at 12
    epochs, and the votes as a tie (measured beside both); the 2-layer e5_finetune's second seed no
    longer applies."""
    table["cpu"]["knn_tfidf"] = per_fold(12)
    table["cpu"]["knn_e5"] = per_fold(12)
    table["cpu"]["e5_finetune_4l"] = per_fold(560, "fold_epoch")  # about 1.9 x e5_finetune
    costs = CostModel(table, DataSize(train_rows=1000, test_rows=200, images=0))
    upgrades = load_upgrades()
    short = make_plan(costs, parse_budget("40m"), upgrades=upgrades)
    assert taken(short) == ["knn_text"] and short.upgrades.ties == []
    long = make_plan(costs, parse_budget("8h"), upgrades=upgrades)
    assert taken(long) == ["e5_finetune_4l", "text_cnn_12ep"]
    assert [u.name for u, _ in long.upgrades.ties] == ["knn_text"]
    assert names(long) == ["tfidf", "e5", "text_cnn_12ep", "e5_finetune_4l", "knn_tfidf", "knn_e5"]
    why = {u.name: reason for u, reason in long.upgrades.not_applicable}
    assert why == {"e5_finetune_seed2": "needs e5_finetune in the plan"}


def test_a_once_per_dataset_part_an_earlier_step_of_the_plan_cached_is_not_paid_again(text_costs, table):
    # knn_tfidf reads the TF-IDF matrix tfidf (every plan's first step) cached: 10 min built alone, 0 in a plan
    table["cpu"]["knn_tfidf"]["parts"]["matrix"] = {"seconds": 600, "per": "dataset", "cached_by": "tfidf",
                                                    "scale": "fixed", "measured": True}
    alone = text_costs.estimate("knn_tfidf", Work(folds=5))
    plan = make_plan(text_costs, parse_budget("40m"), upgrades=UPGRADES)
    knn = next(s for s in plan.steps if s.name == "knn_tfidf")
    assert alone.seconds == pytest.approx(600 + 60) and knn.estimate.seconds == pytest.approx(60)


def test_the_gain_measured_beside_the_most_of_a_plans_steps_applies():
    # the votes beside text_cnn 12 epochs alone lost a little; in the stack that also held the 4-layer
    # e5_finetune they were a tie above zero: a plan holding both reads the second
    knn = Upgrade("knn_text", "votes", (), gain=0.008, measured_on="debfr-public",
                  beside=(Beside("text_cnn_12ep", -0.0005, (-0.005, 0.004), "the cnn stack"),
                          Beside("text_cnn_12ep+e5_finetune_4l", 0.0008, (-0.003, 0.005), "the 4l stack")))
    assert knn.gain_in(["tfidf", "text_cnn_12ep"]) == (-0.0005, (-0.005, 0.004), "text_cnn_12ep")
    both = ["tfidf", "text_cnn_12ep", "e5_finetune_4l"]
    assert knn.gain_in(both) == (0.0008, (-0.003, 0.005), "text_cnn_12ep and e5_finetune_4l")
    assert knn.measured_on_in(both) == "the 4l stack" and knn.is_tie(both)
    assert knn.gain_in(["tfidf", "e5_finetune_4l"])[0] == 0.008  # only part of a pair: not that measurement


def test_a_gain_measured_beside_a_step_at_fewer_epochs_applies_before_its_familys():
    # the votes beside the 4-epoch e5_finetune: a tie; beside it at 1 epoch: a gain
    knn = Upgrade("knn_text", "votes", (), gain=0.008, measured_on="debfr-public",
                  beside=(Beside("e5_finetune", -0.0008, (-0.005, 0.003), "the 4-epoch stack"),
                          Beside("e5_finetune_1ep", 0.0042, (0.0003, 0.008), "the 1-epoch stack")))
    assert knn.gain_in(["tfidf", "e5_finetune_1ep"]) == (0.0042, (0.0003, 0.008), "e5_finetune_1ep")
    assert knn.gain_in(["tfidf", "e5_finetune_3ep"])[0] == -0.0008  # the family's, for want of its own
    assert knn.gain_in(["tfidf", "e5_finetune"])[0] == -0.0008


def test_a_gain_measured_beside_a_step_names_that_step_when_the_plan_holds_it_at_fewer_epochs():
    knn = Upgrade("knn_text", "votes", (), gain=0.008, measured_on="debfr-public",
                  beside=(Beside("e5_finetune", -0.0008, (-0.005, 0.003), "debfr-public"),))
    assert knn.gain_in(["tfidf", "e5_finetune_3ep"]) == (-0.0008, (-0.005, 0.003), "e5_finetune")
    assert knn.gain_in(["tfidf", "e5"])[0] == 0.008
