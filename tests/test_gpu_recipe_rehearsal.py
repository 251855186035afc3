"""`python recipes.py --recipe challenge_gpu` end to end in GPU rehearsal (models/core/rehearsal.py:
2 logical devices, XLA as on a GPU), on a small generated folder with images: every step with the
recipe's own settings (e5_full: every layer trainable, mixed precision) at tiny sizes, the stack and
the submission."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from challenge.demo import make_demo
from models.core import rehearsal

REPO = Path(__file__).resolve().parents[1]


def test_rehearsal_challenge_gpu_recipe_end_to_end(tiny_e5_preset, effnet_weights, tmp_path):
    data, run, cache = tmp_path / "data", tmp_path / "run", tmp_path / "cache"
    make_demo(data, n_train=60, n_test=12, n_classes=3, image_size=32, seed=5)
    shutil.copytree(effnet_weights, cache)
    e5 = {"preset": str(tiny_e5_preset), "cache_dir": str(cache), "prefix": "", "epochs": 1, "batch_size": 16}
    tiny = {
        "text_cnn": {"filters": 8, "embedding_dim": 16, "char_embedding_dim": 8, "dense_units": 16, "epochs": 1,
                     "sequence_length": 12, "description_length": 24, "char_length": 30},
        "e5": {**e5, "max_length": 16, "description_length": 16, "head_units": "16"},
        # no head phase: gpu_check's smoke rehearses e5_full's with these settings
        "e5_full": {**e5, "max_length": 32, "head_epochs": 0, "dense_units": 16},
        "effnet_lite0": {"image_size": 32, "cache_dir": str(cache), "epochs": 1, "head_units": "16",
                         "extract_batch_size": 128},  # all 72 images in one batch: one shape to compile
    }
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"argv": ["--recipe", "challenge_gpu", "--data-dir", str(data), "--run-dir", str(run),
                                        "--n-folds", "2", "--quiet"], "set": tiny}))
    env = rehearsal.environment({**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    done = subprocess.run([sys.executable, str(REPO / "tests" / "recipe_rehearsal_child.py"), str(job)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    for name in ("tfidf", "text_cnn", "e5", "e5_full", "effnet_lite0", "stack-lgbm"):
        assert (run / name / "metrics.json").is_file(), name
    # the recipe's own settings were kept under the tiny ones
    config = json.loads((run / "e5_full" / "config.json").read_text())
    config = config.get("hparams", config)
    assert config["trainable_layers"] == 12 and config["mixed_precision"] is True
    submission = pd.read_csv(run / "submissions" / "stack-lgbm.csv")
    assert len(submission) == 12 and "minutes per step" in done.stdout
