import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from challenge import DataError, read_challenge
from ensemble.blend import blend_weights
from ensemble.cross_fit import cross_fit
from ensemble.inputs import load_stack_inputs, probability_features
from folds import FoldOutput, RunDir


@pytest.fixture
def run_with_models(demo_dir, tmp_path):
    """A run with two fake models: 'signal' (noisy but informative) and 'noise' (random)."""
    data = read_challenge(demo_dir)
    run = RunDir(tmp_path / "run")
    classes, folds = run.prepare(data, n_folds=4)
    y = classes.encode(data.labels)
    rng = np.random.default_rng(0)
    onehot = np.eye(len(classes))[y]
    for name, probs in {"signal": 0.6 * onehot + 0.4 * rng.dirichlet(np.ones(len(classes)), len(y)),
                        "noise": rng.dirichlet(np.ones(len(classes)), len(y))}.items():
        store = run.model(name)
        store.save_config({"model": name})
        for k in range(4):
            rows = folds.to_numpy() == k
            test = rng.dirichlet(np.ones(len(classes)), len(data.test))
            store.save_fold(k, FoldOutput(probs[rows], test), y[rows])
        store.assemble(folds, y)
    return run, y


def memorising_fit_predict(x, y, to_predict, n_classes, seed):
    """1-nearest-neighbour: perfect on its own training rows, chance on unseen noise."""
    model = KNeighborsClassifier(n_neighbors=1).fit(x, y)
    out = []
    for p in to_predict:
        full = np.zeros((len(p), n_classes))
        full[:, model.classes_] = model.predict_proba(p)
        out.append(full)
    return out


def test_meta_learner_never_sees_the_rows_it_predicts(run_with_models):
    """Leakage guard: on pure-noise features a memoriser scores 1.0 in-sample; cross-fitted, its
    OOF accuracy must stay near chance."""
    run, y = run_with_models
    inputs = load_stack_inputs(run, ["noise"])
    metrics = cross_fit(run, "stack-memo", {"method": "memo"}, inputs.oof[0], inputs.test[0],
                        memorising_fit_predict)
    in_sample = memorising_fit_predict(inputs.oof[0], y, [inputs.oof[0]], inputs.oof[0].shape[1], 0)[0]
    assert (in_sample.argmax(1) == y).mean() == 1.0
    assert metrics["oof"]["accuracy"] < 0.5


def test_lgbm_stack_is_written_like_a_model(run_with_models):
    from ensemble.__main__ import main

    run, y = run_with_models
    main(["--method", "lgbm", "--models", "signal,noise", "--run-dir", str(run.root)])
    store = run.model("stack-lgbm")
    assert store.oof().shape == (len(y), 6) and store.test().shape == (60, 6)
    assert np.allclose(store.oof().sum(1), 1, atol=1e-4)
    assert store.metrics()["oof"]["weighted_f1"] > 0.8  # it found the informative model
    # a new set of inputs replaces the stack instead of failing
    main(["--method", "lgbm", "--models", "signal", "--run-dir", str(run.root)])
    assert run.model("stack-lgbm").config()["models"] == ["signal"]


def test_blend_weights_prefer_the_informative_model(run_with_models):
    run, y = run_with_models
    inputs = load_stack_inputs(run, ["signal", "noise"])
    weights = blend_weights(inputs.oof, y)
    assert weights.sum() == pytest.approx(1.0) and weights[0] > 0.8


def test_extra_features_add_two_columns_per_model():
    probs = [np.full((4, 3), 1 / 3), np.eye(3)[[0, 1, 2, 0]]]
    features = probability_features(probs, extras=True)
    assert features.shape == (4, 3 + 3 + 4)
    assert features[0, 6] == pytest.approx(1 / 3) and features[0, 7] == pytest.approx(np.log(3))


def test_models_from_another_label_set_are_refused(run_with_models):
    run, _ = run_with_models
    config_path = run.model("noise").dir / "config.json"
    import json

    config = json.loads(config_path.read_text())
    config["classes_fingerprint"] = "0000000000000000"
    config_path.write_text(json.dumps(config))
    with pytest.raises(DataError, match="class fingerprint 0000000000000000 is not the run's"):
        load_stack_inputs(run, ["signal", "noise"])
