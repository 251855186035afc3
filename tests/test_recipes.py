"""`python recipes.py --recipe NAME` end to end on the demo data: a two-entry recipe trains what is not
finished yet with the recipe's own settings, stacks both entries and writes the submission."""
from __future__ import annotations

import json
import shutil

import pandas as pd

import recipes
from recipebook.recipes import RECIPES


def test_a_named_recipe_trains_its_entries_stacks_them_and_submits(demo_dir, tfidf_run, tmp_path, monkeypatch,
                                                                   capsys):
    run_dir = tmp_path / "run"
    shutil.copytree(tfidf_run, run_dir)  # tfidf is finished: the recipe skips it
    monkeypatch.setitem(RECIPES, "two_tfidf", {
        "description": "tfidf and a logistic-regression tfidf without embeddings", "stack": "lgbm",
        "models": [{"name": "tfidf", "model": "tfidf", "set": {}},
                   {"name": "tfidf_lr", "model": "tfidf", "set": {"classifier": "logreg", "embed_dim": 0}}]})
    minutes = recipes.main(["--recipe", "two_tfidf", "--data-dir", str(demo_dir), "--run-dir", str(run_dir),
                            "--quiet"])
    out = capsys.readouterr().out
    assert list(minutes) == ["tfidf", "tfidf_lr", "stack-lgbm"]
    assert "finished earlier" in out and "tfidf_lr out-of-fold: weighted F1" in out
    config = json.loads((run_dir / "tfidf_lr" / "config.json").read_text())
    assert config["hparams"]["classifier"] == "logreg" and config["hparams"]["embed_dim"] == 0
    submission = pd.read_csv(run_dir / "submissions" / "stack-lgbm.csv", index_col=0)
    assert len(submission) == 60 and list(submission.columns) == ["prdtypecode"]
    assert f"submission: {run_dir / 'submissions' / 'stack-lgbm.csv'} holds" in out
