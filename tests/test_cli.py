"""Each CLI on the demo data, end to end: train (two models: `trained_run`, tests/conftest.py), stack,
submit, and their errors."""
import numpy as np
import pandas as pd
import pytest

import submit
import train
from ensemble.__main__ import main as ensemble_main
from folds import RunDir


def test_train_writes_oof_for_every_row(trained_run, demo_dir):
    run = RunDir(trained_run)
    for name in ("tfidf", "bilstm"):
        store = run.model(name)
        assert store.oof().shape == (300, 6) and store.test().shape == (60, 6)
        assert np.allclose(store.oof().sum(1), 1, atol=1e-3)
        assert (store.fold_dir(0) / "val_embed.npy").is_file()
    assert run.model("tfidf").metrics()["oof"]["weighted_f1"] > 0.7
    assert (run.model("bilstm").fold_dir(0) / "history.csv").is_file()
    assert (run.model("bilstm").fold_dir(0) / "model.keras").is_file()


def test_finished_folds_are_skipped(trained_run, demo_dir, capsys):
    before = (RunDir(trained_run).model("tfidf").fold_dir(2) / "done.json").stat().st_mtime_ns
    train.main(["--model", "tfidf", "--fold", "2", "--data-dir", str(demo_dir), "--run-dir", str(trained_run)])
    assert "finished earlier" in capsys.readouterr().out
    assert (RunDir(trained_run).model("tfidf").fold_dir(2) / "done.json").stat().st_mtime_ns == before


def test_stack_and_submission(trained_run, demo_dir, tmp_path):
    ensemble_main(["--method", "lgbm", "--models", "tfidf,bilstm", "--run-dir", str(trained_run)])
    out = submit.main(["--run-dir", str(trained_run), "--source", "stack-lgbm", "--out", str(tmp_path / "s.csv")])
    frame = pd.read_csv(out, index_col=0)
    answers = pd.read_csv(demo_dir / "demo_test_answers.csv", index_col=0)
    assert list(frame.columns) == ["prdtypecode"]
    assert frame.index.equals(answers.index)
    assert set(frame["prdtypecode"]) <= set(answers["prdtypecode"])
    assert (frame["prdtypecode"] == answers["prdtypecode"]).mean() > 0.7


def test_cli_errors_are_one_clean_message(tmp_path, capsys):
    """In-process (a TensorFlow start-up less): the same wrapper turns the error into exit status 2
    and one line on stderr, whatever runs `main`."""
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--model", "tfidf", "--data-dir", str(tmp_path / "none"), "--run-dir", str(tmp_path / "r")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].startswith("error: The data folder")
    assert "Traceback" not in err


def test_unknown_model_and_hparam_are_refused(demo_dir, tmp_path, capsys):
    common = ["--data-dir", str(demo_dir), "--run-dir", str(tmp_path / "r")]
    with pytest.raises(SystemExit):
        train.main(["--model", "resnet9000", *common])
    assert "Unknown model 'resnet9000'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train.main(["--model", "tfidf", "--set", "unitz=3", *common])
    assert "has no hyperparameter unitz" in capsys.readouterr().err


def test_submit_refuses_an_unfinished_source(trained_run, capsys):
    with pytest.raises(SystemExit):
        submit.main(["--run-dir", str(trained_run), "--source", "gru"])
    assert "no model named 'gru'" in capsys.readouterr().err
