"""The planner's choices on a synthetic cost table (tests/planner/conftest.py): full recipe
5 + 15 + 10 + 5 + 100 min of models, 0.5 min a stacked model, 0.5 min for the submission."""
from __future__ import annotations

import pytest

from challenge.errors import DataError
from planner.costs import CostModel, DataSize
from planner.plan import format_plan, make_plan, parse_budget


def names(plan) -> list[str]:
    return [s.name for s in plan.steps]


@pytest.mark.parametrize("text, seconds", [("20m", 1200), ("90m", 5400), ("3h", 10800), ("1h30m", 5400),
                                           ("1.5h", 5400), (" 2h 15min ", 8100), ("45min", 2700)])
def test_budget_strings(text, seconds):
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["", "90", "3 hours", "h", "0m", "-5m", "1m30h"])
def test_bad_budget_strings_say_how_to_write_one(text):
    with pytest.raises(DataError, match="e.g. 20m"):
        parse_budget(text)


def test_too_small_a_budget_names_the_smallest_that_works(costs):
    with pytest.raises(DataError) as err:
        make_plan(costs, parse_budget("5m"))
    # tfidf 5 min + a stack of one 0.5 + the submission 0.5
    assert "too small" in str(err.value) and "--budget 6m" in str(err.value)
    assert names(make_plan(costs, parse_budget("6m"))) == ["tfidf"]


def test_a_budget_that_fits_everything_gives_the_full_recipe(costs):
    plan = make_plan(costs, parse_budget("140m"))
    assert names(plan) == ["tfidf", "e5", "text_cnn", "effnet_lite0", "e5_finetune"]
    assert plan.steps[2].settings["epochs"] == 3 and plan.steps[3].settings["image_size"] == 128
    assert plan.left_out == []
    assert plan.total_s == pytest.approx((5 + 15 + 10 + 5 + 100 + 2.5 + 0.5) * 60)


def test_a_middle_budget_drops_the_lowest_value_step_and_says_why(costs):
    plan = make_plan(costs, parse_budget("60m"))
    assert names(plan) == ["tfidf", "e5", "text_cnn", "effnet_lite0"]
    # 60 - 35 of models - a stack of five 2.5 - the submission 0.5 = 22 min left for it; even at its
    # fewest epochs (1 of 4) it needs 25
    assert plan.left_out == [("e5_finetune", "25 min estimated at 1 epoch, 22 left")]
    table = format_plan(plan, "header")
    assert "left out:\n  e5_finetune: 25 min estimated at 1 epoch, 22 left" in table
    # 3 more minutes: one epoch of it, under its own name
    plan = make_plan(costs, parse_budget("63m"))
    assert names(plan)[-1] == "e5_finetune_1ep" and plan.steps[-1].settings["epochs"] == 1 and plan.left_out == []
    assert "cumulative" in table and "stack-lgbm" in table and "submission" in table


def test_e5_comes_before_text_cnn_which_gets_as_many_epochs_as_fit(costs):
    plan = make_plan(costs, parse_budget("27m"))
    # tfidf 5 + e5 10; text_cnn's 3 epochs (15 min) do not fit in what is left, 2 do, under their own name
    assert names(plan) == ["tfidf", "e5", "text_cnn_2ep"]
    assert plan.steps[2].settings["epochs"] == 2
    assert set(dict(plan.left_out)) == {"effnet_lite0", "e5_finetune"}
    plan = make_plan(costs, parse_budget("16m"))  # e5 does not fit (16.5 with its stack), a later cheaper step does
    assert names(plan) == ["tfidf", "text_cnn_1ep"] and "e5" in dict(plan.left_out)


def test_on_small_data_text_cnn_is_offered_at_its_three_epochs_only(table):
    # 800 training rows a fold: 1 or 2 epochs of them are below min_row_passes, so the 12 minutes
    # left after tfidf and e5 go to the image step, not to a text_cnn that trains on too little
    small = CostModel(table, DataSize(train_rows=1000, test_rows=200, images=1200))
    plan = make_plan(small, parse_budget("27m"))
    assert names(plan) == ["tfidf", "e5", "effnet_lite0"]
    assert dict(plan.left_out)["text_cnn"] == "15 min estimated, 10 left"
    assert names(make_plan(small, parse_budget("40m"))) == ["tfidf", "e5", "text_cnn", "effnet_lite0"]
    # a run that started text_cnn at 1 epoch (an earlier plan, more rows) still finishes it
    plan = make_plan(small, parse_budget("27m"), done_folds={"text_cnn_1ep": [0]})
    assert names(plan) == ["tfidf", "e5", "text_cnn_1ep", "effnet_lite0"] and plan.steps[2].folds_left == [1, 2, 3, 4]


def test_without_images_the_image_step_is_left_out_for_that(table):
    costs = CostModel(table, DataSize(train_rows=1000, test_rows=200, images=0))
    plan = make_plan(costs, parse_budget("140m"))
    assert "effnet_lite0" not in names(plan)
    assert dict(plan.left_out)["effnet_lite0"] == "the data has no images"


def test_finished_folds_are_not_planned_again(costs):
    plan = make_plan(costs, parse_budget("10m"), done_folds={"tfidf": [0, 1, 2, 3, 4], "text_cnn_1ep": [0, 1]})
    tfidf, text_cnn = plan.steps[:2]
    assert tfidf.estimate.seconds == 0 and tfidf.folds_left == []
    assert text_cnn.name == "text_cnn_1ep" and text_cnn.folds_left == [2, 3, 4]


def test_steps_above_the_machines_memory_are_left_out(table):
    table["cpu"]["e5_finetune"]["peak_gb"]["value"] = 8.0
    costs = CostModel(table, DataSize(train_rows=1000, test_rows=200, images=1200))
    plan = make_plan(costs, parse_budget("140m"), memory_gb=4)  # the others peak at 1 GB
    assert "e5_finetune" not in names(plan)
    assert dict(plan.left_out)["e5_finetune"] == "needs about 8.0 GB, the machine has 4 GB"
    with pytest.raises(DataError, match="memory"):
        make_plan(costs, parse_budget("140m"), memory_gb=0.5)


def test_on_a_gpu_the_plan_takes_the_challenge_gpu_settings_and_says_they_are_estimates(table):
    costs = CostModel(table, DataSize(train_rows=1000, test_rows=200, images=1200), device="gpu")
    plan = make_plan(costs, parse_budget("35m"))  # 5 + 6 + 1 + 1 + 15 min, stack 2.5, submission 0.5
    assert names(plan) == ["tfidf", "text_cnn", "e5", "effnet_lite0", "e5_full"]
    assert plan.steps[3].settings == {"crop_background": True}
    assert plan.steps[4].settings["trainable_layers"] == 12
    assert plan.steps[0].estimate.basis == "reference"  # tfidf runs on the CPU: CPU figures
    assert all(s.estimate.basis == "estimate" for s in plan.steps[1:])


def test_a_rerun_finishes_the_epoch_setting_it_started(costs):
    # 2 epochs were started; with tfidf done, 3 epochs would now fit, but the started folds win
    plan = make_plan(costs, parse_budget("20m"), done_folds={"tfidf": list(range(5)), "text_cnn_2ep": [0]})
    assert names(plan) == ["tfidf", "e5", "text_cnn_2ep"] and plan.steps[2].folds_left == [1, 2, 3, 4]
    assert "(4 folds left)" in format_plan(plan, "")


def test_a_budget_larger_than_the_plan_says_what_is_unused_and_why(costs):
    plan = make_plan(costs, parse_budget("3h"))  # the 140m plan: 138 min
    assert names(plan) == names(make_plan(costs, parse_budget("140m")))
    table = format_plan(plan, "header")
    assert "unused: 42 min; every model and upgrade with a measured gain on the benchmarks is in the plan" in table
    assert "considered, by measured value per minute: tfidf, e5, text_cnn, effnet_lite0, e5_finetune" in table


def test_while_time_limits_the_plan_the_unused_note_says_so(costs, table):
    # e5_finetune left out for time: 60 - (35 + a stack of four 2 + 0.5)
    assert "unused: 22 min, too little for what is left out" in format_plan(make_plan(costs, parse_budget("60m")), "")
    # text_cnn left out: 20 - (tfidf 5 + e5 10 + a stack of two 1 + 0.5)
    assert "unused: 3.5 min, too little" in format_plan(make_plan(costs, parse_budget("20m")), "")
    # 180 - (130 of models + a stack of four 2 + the submission 0.5)
    no_images = make_plan(CostModel(table, DataSize(train_rows=1000, test_rows=200)), parse_budget("3h"))
    assert "unused: 48 min; every model and upgrade with a measured gain on the benchmarks that this data and machine allow" in (
        format_plan(no_images, ""))


def test_e5_finetune_gets_fewer_epochs_when_its_four_do_not_fit(costs):
    # 35 min of the other models + 3 epochs of fine-tuning (75 min) + stack and submission (3): 113
    plan = make_plan(costs, parse_budget("2h"))
    assert names(plan)[-1] == "e5_finetune_3ep" and plan.steps[-1].settings["epochs"] == 3
    assert plan.short_of_time
    plan = make_plan(costs, parse_budget("140m"))  # 4 epochs: 138
    assert names(plan)[-1] == "e5_finetune" and plan.steps[-1].settings["epochs"] == 4
