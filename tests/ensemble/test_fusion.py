import numpy as np
import pytest

from challenge import DataError
from ensemble.cross_fit import cross_fit
from ensemble.fusion import fusion_fit_predict_factory, load_embeddings

FAST = ["--set", "epochs=30", "--set", "patience=6", "--set", "units=32"]


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
    """Leakage guard: on pure-noise embeddings the net memorises its training rows, yet its
    cross-fitted OOF accuracy stays near chance."""
    run, y = run_with_embeddings
    x_oof, x_test, widths, _, _ = load_embeddings(run, ["emb_noise"])
    fit_predict = fusion_fit_predict_factory(widths, {"epochs": 50, "patience": 50, "dropout": 0.0,
                                                      "input_dropout": 0.0, "class_weight": "none"})
    in_sample = fit_predict(x_oof, y, [x_oof], 6, 0).predictions[0]
    assert (in_sample.argmax(1) == y).mean() > 0.75
    metrics = cross_fit(run, "stack-fusion-noise", {"method": "fusion"}, x_oof, x_test, fit_predict)
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
