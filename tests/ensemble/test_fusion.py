import numpy as np
import pytest

from challenge import DataError
from ensemble.cross_fit import cross_fit
from ensemble.fusion import fusion_fit_predict_factory, load_embeddings

# A small net and a learning rate that gets it there in 10 epochs: most of a fit's cost is its fixed
# start (building and tracing the net), the rest is about 0.1 CPU-s an epoch.
FAST = ["--set", "epochs=10", "--set", "patience=4", "--set", "units=32", "--set", "learning_rate=0.005"]


def test_fusion_learns_from_embeddings_in_rotated_fold_spaces(run_with_embeddings):
    from ensemble.__main__ import main

    run, y = run_with_embeddings
    metrics = main(["--method", "fusion", "--models", "emb_signal", "--run-dir", str(run.root), *FAST])
    store = run.model("stack-fusion")
    assert store.oof().shape == (len(y), 6) and store.test().shape == (60, 6)
    assert store.config()["alignment_residual"]["emb_signal"] < 1e-3  # the rotations were undone
    assert metrics["oof"]["weighted_f1"] > 0.8
    # without the alignment the folds' rows are not comparable and the net does much worse
    unaligned = main(["--method", "fusion", "--models", "emb_signal", "--run-dir", str(run.root),
                      "--name", "stack-fusion-raw", "--set", "align=false", *FAST])
    assert unaligned["oof"]["weighted_f1"] < metrics["oof"]["weighted_f1"] - 0.2


def test_fusion_never_sees_the_rows_it_predicts(run_with_embeddings):
    """Leakage guard: on pure-noise embeddings the net memorises its training rows (each cross-fit
    fold's net also predicts its own training rows: right on more than 75% of them on average, where
    chance is 1/6), yet its cross-fitted OOF accuracy stays near chance."""
    run, _ = run_with_embeddings
    x_oof, x_test, widths, _, _ = load_embeddings(run, ["emb_noise"])
    fit_predict = fusion_fit_predict_factory(widths, {"epochs": 12, "patience": 12, "learning_rate": 0.02,
                                                      "dropout": 0.0, "input_dropout": 0.0, "class_weight": "none"})
    in_sample = []

    def fit_predict_scoring_its_own_rows(x, y, to_predict, n_classes, seed):
        own_rows, *predictions = fit_predict(x, y, [x, *to_predict], n_classes, seed).predictions
        in_sample.append((own_rows.argmax(1) == y).mean())
        return predictions

    metrics = cross_fit(run, "stack-fusion-noise", {"method": "fusion"}, x_oof, x_test,
                        fit_predict_scoring_its_own_rows)
    assert len(in_sample) == 4 and np.mean(in_sample) > 0.75
    assert metrics["oof"]["accuracy"] < 0.4


def test_fusion_refuses_models_without_embeddings(run_with_embeddings):
    run, _ = run_with_embeddings
    with pytest.raises(DataError, match="saved no embeddings"):
        load_embeddings(run, ["emb_signal", "signal"])


def test_fusion_refuses_embeddings_with_other_row_counts(run_with_embeddings):
    run, _ = run_with_embeddings
    path = run.model("emb_signal").fold_dir(2) / "val_embed.npy"
    np.save(path, np.load(path)[:-1])
    with pytest.raises(DataError, match="fold 2 has 75 rows"):
        load_embeddings(run, ["emb_signal"])


@pytest.fixture
def run_with_wide_embeddings(run_with_models, fake_model, signal_embeddings):
    """Adds 'emb_wide': a 12-d class signal inside 100-d embeddings, each fold model writing it in
    its own random orthonormal frame; the run has only 60 test rows, too few to align 100 dimensions."""
    run, y = run_with_models
    folds = run.folds()
    n_test, n_classes = len(run.test_index()), int(y.max()) + 1
    rng = np.random.default_rng(2)
    embed, tests = signal_embeddings(y, folds, n_test, rng, signal_dims=12, width=100, noise=0.05)
    fake_model(run, folds, y, "emb_wide", rng.dirichlet(np.ones(n_classes), len(y)), n_test, rng, embed, tests)
    return run, y


def test_embeddings_too_wide_to_align_are_reduced_with_a_warning(run_with_wide_embeddings):
    from ensemble.__main__ import main

    run, _ = run_with_wide_embeddings
    with pytest.warns(UserWarning, match="60 test rows are too few to align 100-d embeddings.*at most half the test rows, 30"):
        x_oof, x_test, widths, residuals, reductions = load_embeddings(run, ["emb_wide"])
    # 12 components carry the signal (99% of the variance); the rest is fold-specific noise
    assert widths == [12] and x_oof.shape[1] == 12 and x_test[0].shape == (60, 12)
    assert reductions == {"emb_wide": (100, 12)}
    assert residuals["emb_wide"] < 0.1  # the fold-wise components were rotated onto fold 0's
    with pytest.warns(UserWarning, match="PCA"):
        metrics = main(["--method", "fusion", "--models", "emb_wide", "--run-dir", str(run.root), *FAST])
    assert run.model("stack-fusion").config()["pca_reduced"] == {"emb_wide": {"from": 100, "to": 12}}
    assert metrics["oof"]["weighted_f1"] > 0.7


def test_without_reduction_too_wide_embeddings_are_refused(run_with_wide_embeddings):
    run, _ = run_with_wide_embeddings
    with pytest.raises(DataError, match="with 60 test rows for 100 dimensions"):
        load_embeddings(run, ["emb_wide"], reduce=False)


def test_too_few_test_rows_for_any_reduction_are_refused():
    from ensemble.fusion import reduce_for_alignment

    rng = np.random.default_rng(0)
    vals, tests = [rng.normal(size=(20, 10)) for _ in range(2)], [rng.normal(size=(3, 10)) for _ in range(2)]
    with pytest.raises(DataError, match="only 3 test rows"):
        reduce_for_alignment(vals, tests, "runs/x/model")
