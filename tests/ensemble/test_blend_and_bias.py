import json

import numpy as np
import pytest
from scipy.special import softmax

from ensemble.bias import apply_class_bias, fit_class_bias, weighted_f1
from ensemble.blend import blend_weights
from ensemble.calibration import apply_temperature, fit_temperature


def test_temperature_undoes_over_confidence():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, (4000, 5))
    y = np.array([rng.choice(5, p=p) for p in softmax(logits, axis=1)])  # labels drawn from softmax(logits)
    over_confident = softmax(3 * logits, axis=1)
    temperature = fit_temperature(over_confident, y)
    assert temperature == pytest.approx(3, rel=0.1)
    assert np.allclose(apply_temperature(over_confident, temperature), softmax(logits, axis=1), atol=0.03)


def test_f1_weights_prefer_the_informative_model(run_with_models):
    from ensemble.inputs import load_stack_inputs

    run, y = run_with_models
    inputs = load_stack_inputs(run, ["signal", "noise"])
    weights = blend_weights(inputs.oof, y, objective="f1")
    assert weights.sum() == pytest.approx(1.0) and weights[0] > weights[1]
    assert weighted_f1(y, np.tensordot(weights, np.stack(inputs.oof), axes=1)) >= weighted_f1(y, inputs.oof[0])


def test_calibrated_blend_stack_records_weights_and_temperatures(run_with_models):
    from ensemble.__main__ import main

    run, y = run_with_models
    main(["--method", "blend", "--objective", "f1", "--models", "signal,noise", "--run-dir", str(run.root)])
    store = run.model("stack-blend")
    assert store.config()["objective"] == "f1" and store.config()["calibrate"] is True
    fold0 = json.loads((store.fold_dir(0) / "done.json").read_text())
    assert len(fold0["weights"]) == 2 and len(fold0["temperatures"]) == 2
    assert fold0["weights"][0] > fold0["weights"][1]
    assert store.metrics()["oof"]["weighted_f1"] > 0.8


def test_class_bias_recovers_an_under_predicted_class():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 900)
    probs = softmax(2.5 * np.eye(3)[y] + rng.normal(0, 1, (900, 3)), axis=1)
    probs[:, 2] *= 0.15  # class 2 is under-predicted: arg-max rarely picks it
    bias = fit_class_bias(probs, y)
    assert bias[2] - bias[[0, 1]].mean() > 1.0
    assert weighted_f1(y, apply_class_bias(probs, bias)) > weighted_f1(y, probs) + 0.1


def test_bias_tuning_inside_cross_fit(run_with_models):
    from ensemble.__main__ import main

    run, _ = run_with_models
    main(["--method", "blend", "--bias", "--models", "signal,noise", "--run-dir", str(run.root)])
    store = run.model("stack-blend")
    assert store.config()["bias"] is True
    assert len(json.loads((store.fold_dir(3) / "done.json").read_text())["class_bias"]) == 6
    assert np.allclose(store.test().sum(1), 1, atol=1e-4)
    assert store.metrics()["oof"]["weighted_f1"] > 0.8
