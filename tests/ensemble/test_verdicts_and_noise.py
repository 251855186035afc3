"""Verdicts that respect noise: a stack a few rows below the calibrated blend is tied with it when the
paired-bootstrap interval of the difference spans 0 (no warning anywhere), and BELOW it, with the
warnings, when the interval excludes 0, though the OOF gap is the same 0.0006."""
import numpy as np
import pandas as pd
import pytest

import submit
from benchmarks.synthetic_oof import write_synthetic_models
from challenge import ChallengeData
from ensemble.__main__ import report_verdict
from ensemble.inputs import load_stack_inputs
from ensemble.versus_inputs import CALIBRATED_BLEND, blend_candidate, judge_stack, submitted_because
from folds import FoldOutput, RunDir

N_TRAIN, N_TEST, CODES = 12_000, 50, [10, 40, 50, 60, 1280, 2583]
ROWS_NET = 8  # rows the stack gets wrong net of the blend: 8 / 12,000 = 0.0007 of accuracy


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    """A prepared run of 12,000 rows with two synthetic models and their calibrated blend's OOF."""
    rng = np.random.default_rng(3)
    labels = pd.Series(rng.choice(CODES, N_TRAIN), name="prdtypecode")
    root = tmp_path_factory.mktemp("verdicts")
    data = ChallengeData(root, pd.DataFrame(index=range(N_TRAIN)), labels,
                         pd.DataFrame(index=range(N_TRAIN, N_TRAIN + N_TEST)))
    run = RunDir(root / "run")
    run.prepare(data, n_folds=4)
    names = write_synthetic_models(run, 2)
    inputs = load_stack_inputs(run, names)
    blend = blend_candidate(run, inputs, run.train_labels(), seed=42)
    return run, names, inputs, blend


def add_stack(run, names, blend_oof, name, to_wrong, to_right, seed):
    """A fake stack whose OOF is the blend's with `to_wrong` of its right rows made wrong and
    `to_right` of its wrong rows made right."""
    y, folds = run.train_labels(), run.folds()
    rng = np.random.default_rng(seed)
    n_classes = blend_oof.shape[1]
    right = np.flatnonzero(blend_oof.argmax(axis=1) == y)
    wrong = np.flatnonzero(blend_oof.argmax(axis=1) != y)
    oof = blend_oof.copy()
    for row in rng.choice(right, to_wrong, replace=False):
        oof[row] = np.eye(n_classes)[(y[row] + 1) % n_classes]
    for row in rng.choice(wrong, to_right, replace=False):
        oof[row] = np.eye(n_classes)[y[row]]
    store = run.model(name)
    store.save_config({"method": "fake", "models": names})
    for k in range(int(folds.max()) + 1):
        rows = folds.to_numpy() == k
        store.save_fold(k, FoldOutput(oof[rows], np.full((N_TEST, n_classes), 1 / n_classes)), y[rows])
    store.assemble(folds, y)
    return store


def judged(run, names, inputs, stack, capsys, tmp_path):
    """judge_stack, then what `python -m ensemble`, `submit.py` and `--method compare` print."""
    record = judge_stack(run, stack, inputs)
    capsys.readouterr()
    report_verdict(run, stack, record)
    submit.main(["--run-dir", str(run.root), "--source", stack, "--out", str(tmp_path / f"{stack}.csv")])
    from ensemble.__main__ import main

    table = main(["--method", "compare", "--run-dir", str(run.root)]).set_index("name")
    return record, capsys.readouterr(), table


def test_a_stack_0_0006_below_the_blend_within_noise_is_tied_without_a_warning(synthetic_run, capsys, tmp_path):
    run, names, inputs, blend = synthetic_run
    # 60 rows made wrong and 52 made right: the same net loss, spread over many rows (a wide interval).
    store = add_stack(run, names, blend.oof, "stack-tied", 60, 60 - ROWS_NET, seed=1)
    record, printed, table = judged(run, names, inputs, "stack-tied", capsys, tmp_path)

    gap = blend.weighted_f1 - store.metrics()["oof"]["weighted_f1"]
    assert 0.0003 < gap < 0.0010  # the 0.0006, give or take a row
    versus_blend = record["versus_ahead"][CALIBRATED_BLEND]
    low, high = versus_blend["interval_95"]
    assert low < 0 < high
    assert record["below"] == [] and record["tied"] == [CALIBRATED_BLEND]
    assert record["verdict"].startswith("tied with the calibrated blend") and "within noise" in record["verdict"]
    assert "BELOW" not in record["verdict"]
    assert run.model("stack-tied").metrics()["versus_inputs"] == record  # metrics.json says the same
    out, err = printed
    assert "stack-tied: tied with the calibrated blend" in out
    assert "BELOW" not in out and "WARNING" not in out and "warning" not in err
    assert table.loc["stack-tied", "note"].startswith("tied with")
    assert submitted_because("stack-tied", record).startswith("stack-tied's own predictions, tied with")


def test_the_same_gap_beyond_noise_is_below_and_warned(synthetic_run, capsys, tmp_path):
    run, names, inputs, blend = synthetic_run
    # The same net loss, all of it one way: the interval excludes 0.
    store = add_stack(run, names, blend.oof, "stack-below", ROWS_NET, 0, seed=2)
    record, printed, table = judged(run, names, inputs, "stack-below", capsys, tmp_path)

    gap = blend.weighted_f1 - store.metrics()["oof"]["weighted_f1"]
    assert 0.0003 < gap < 0.0010
    assert record["versus_ahead"][CALIBRATED_BLEND]["interval_95"][1] < 0
    assert record["below"] == [CALIBRATED_BLEND]
    assert record["verdict"].startswith("BELOW the calibrated blend")
    out, err = printed
    assert "WARNING: stack-below is BELOW the calibrated blend" in out
    assert "warning: stack-below" in err and "the stack is BELOW the calibrated blend" in err
    assert table.loc["stack-below", "note"].startswith("BELOW")


def test_fallback_best_replaces_only_a_stack_below_beyond_noise(synthetic_run):
    run, names, inputs, blend = synthetic_run
    add_stack(run, names, blend.oof, "stack-tied-fb", 60, 60 - ROWS_NET, seed=1)
    tied = judge_stack(run, "stack-tied-fb", inputs, fallback=True)
    assert "fallback" not in tied and "fallback_to" not in run.model("stack-tied-fb").fold_summary(0)

    add_stack(run, names, blend.oof, "stack-below-fb", ROWS_NET, 0, seed=2)
    below = judge_stack(run, "stack-below-fb", inputs, fallback=True)
    assert below["fallback"]["to"] == CALIBRATED_BLEND
    np.testing.assert_allclose(run.model("stack-below-fb").oof(), blend.oof, rtol=1e-6)
    because = submitted_because("stack-below-fb", below)
    assert because.startswith("the calibrated blend's predictions (--fallback best), since stack-below-fb itself "
                              "was BELOW the calibrated blend")


def test_submit_warns_about_a_better_model_only_beyond_noise(synthetic_run, capsys, tmp_path):
    """synthetic0 is far below the run's best (a warning); a copy of the best a few rows worse is a tie."""
    run, names, _, _ = synthetic_run
    scores = {m: run.model(m).metrics()["oof"]["weighted_f1"] for m in run.finished_models()}
    best = max(scores, key=scores.get)
    add_stack(run, names, run.model(best).oof(), "stack-near-best", 30, 30 - ROWS_NET, seed=4)
    assert 0 < scores[best] - run.model("stack-near-best").metrics()["oof"]["weighted_f1"] < 0.0015
    capsys.readouterr()
    for source in ("stack-near-best", names[0]):
        submit.main(["--run-dir", str(run.root), "--source", source, "--out", str(tmp_path / f"{source}.csv")])
    err = capsys.readouterr().err
    assert f"warning: {names[0]}: its OOF weighted F1" in err and "beyond noise" in err
    assert "warning: stack-near-best" not in err


def test_a_stack_judged_before_the_rule_is_noted_by_its_gains_interval():
    """Stacks without a versus_inputs record (made before) get their note from the gain over the best
    input: BELOW only when its interval is under 0; a loss inside the noise is a tie."""
    from ensemble.bootstrap import PairedGain
    from ensemble.compare import stack_note

    assert stack_note({}, ("tfidf", PairedGain(-0.0006, -0.0031, +0.0019, 1000, 0))) == \
        "tied with its input tfidf within noise"
    assert stack_note({}, ("tfidf", PairedGain(-0.0106, -0.0150, -0.0062, 1000, 0))) == "BELOW its input tfidf"
    assert stack_note({}, ("tfidf", PairedGain(+0.0040, +0.0010, +0.0070, 1000, 0))) == ""
