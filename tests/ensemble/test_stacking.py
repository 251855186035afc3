import json

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from challenge import DataError
from ensemble.blend import blend_weights
from ensemble.cross_fit import cross_fit
from ensemble.inputs import load_stack_inputs, probability_features


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


def overwrite_config(run, name, **changes):
    path = run.model(name).dir / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def test_models_from_another_label_set_are_refused(run_with_models):
    run, _ = run_with_models
    overwrite_config(run, "noise", classes_fingerprint="0000000000000000")
    with pytest.raises(DataError, match="class fingerprint 0000000000000000 is not the run's"):
        load_stack_inputs(run, ["signal", "noise"])


def test_models_with_other_row_counts_are_refused(run_with_models):
    run, _ = run_with_models
    store = run.model("noise")
    np.save(store.dir / "oof.npy", store.oof()[:-5])
    with pytest.raises(DataError, match=r"predictions of shape \(295, 6\).*300 train rows"):
        load_stack_inputs(run, ["signal", "noise"])


def test_models_trained_on_other_folds_are_refused(run_with_models):
    run, _ = run_with_models
    overwrite_config(run, "signal", folds_fingerprint="ffffffffffffffff")
    with pytest.raises(DataError, match="trained on other folds"):
        load_stack_inputs(run, ["signal"])


def test_cli_refuses_with_exit_status_2(run_with_models, capsys):
    from ensemble.__main__ import main

    run, _ = run_with_models
    with pytest.raises(SystemExit) as exit_info:
        main(["--method", "logreg", "--models", "signal,missing", "--run-dir", str(run.root)])
    assert exit_info.value.code == 2
    assert "no model named 'missing'" in capsys.readouterr().err


def test_lgbm_boosts_from_the_calibrated_blend(run_with_models):
    """With boosting all but switched off, the LightGBM stack returns the blend it starts from."""
    from ensemble.blend import blend_fit_predict_factory
    from ensemble.meta_learners import lgbm_fit_predict
    from sklearn.model_selection import train_test_split

    run, y = run_with_models
    inputs = load_stack_inputs(run, ["signal", "noise"])
    x = probability_features(inputs.oof)
    frozen = {"n_estimators": 1, "learning_rate": 1e-9}
    stacked = lgbm_fit_predict(x, y, [x[:50]], 6, 0, params=frozen, prior_models=2)[0]
    x_fit, _, y_fit, _ = train_test_split(x, y, test_size=0.1, random_state=0, stratify=y)
    blend = blend_fit_predict_factory(2)(x_fit, y_fit, [x[:50]], 6, 0).predictions[0]
    np.testing.assert_allclose(stacked, blend, atol=1e-4)
    plain = lgbm_fit_predict(x, y, [x[:50]], 6, 0, params=frozen)[0]
    assert not np.allclose(plain, blend, atol=1e-2)  # without the prior it starts from class priors


@pytest.mark.parametrize("rows, expected", [(1000, {"n_jobs": 1, "max_bin": 255}), (20000, {"max_bin": 63})])
def test_lightgbm_stack_settings_follow_the_data_size(monkeypatch, rows, expected):
    """Small stacks run on one thread; from 20k rows coarser histograms, half the rows a tree and
    every core (LightGBM's default thread count)."""
    import lightgbm as lgb

    from ensemble import meta_learners

    seen = {}

    class Recording(lgb.LGBMClassifier):
        def fit(self, *args, **kwargs):
            seen.update(self.get_params())
            return super().fit(*args, **kwargs)

    monkeypatch.setattr(meta_learners.lgb, "LGBMClassifier", Recording)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, rows)
    x = rng.random((rows, 3)) + np.eye(3)[y]
    val, = meta_learners.lgbm_fit_predict(x, y, [x[:5]], 3, 0, params={"n_estimators": 3})
    assert val.shape == (5, 3)
    assert {k: seen.get(k, 255 if k == "max_bin" else None) for k in expected} == expected
    assert (seen.get("n_jobs") is None) == (rows >= meta_learners.LARGE_DATA_ROWS)
