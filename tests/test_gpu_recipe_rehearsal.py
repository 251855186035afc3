"""`python recipes.py --recipe challenge_gpu` end to end in GPU rehearsal (models/core/rehearsal.py:
2 logical devices, XLA as on a GPU), on a small generated folder with images: every step with the
recipe's own settings (e5_full: every layer trainable, mixed precision) at tiny sizes, the stack and
the submission. It is also e5_full's mixed-precision-with-XLA rehearsal (tests/models/test_gpu_rehearsal.py
leaves it here): both folds' probabilities checked, its XLA compilations counted."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from challenge.demo import make_demo
from models.core import rehearsal, xla_compilations

REPO = Path(__file__).resolve().parents[1]
XLA_STEPS = {"e5", "e5_full", "effnet_lite0"}  # compiled with XLA on a GPU (docs/gpu.md); not tfidf, text_cnn
MOST_COMPILATIONS = 2 * 12  # two folds, each at most tests/models/test_gpu_rehearsal.py's bound


def test_rehearsal_challenge_gpu_recipe_end_to_end(tiny_e5_preset, effnet_weights, tmp_path):
    data, run, cache = tmp_path / "data", tmp_path / "run", tmp_path / "cache"
    # as many test rows as a fold has validation rows: one shape for both predictions (one compilation)
    make_demo(data, n_train=60, n_test=30, n_classes=3, image_size=32, seed=5)
    shutil.copytree(effnet_weights, cache)
    # a batch above a fold's 30 training rows: one batch shape, so one XLA compilation, per function and fold
    e5 = {"preset": str(tiny_e5_preset), "cache_dir": str(cache), "prefix": "", "epochs": 1, "batch_size": 32}
    tiny = {
        "text_cnn": {"filters": 8, "embedding_dim": 16, "char_embedding_dim": 8, "dense_units": 16, "epochs": 1,
                     "sequence_length": 12, "description_length": 24, "char_length": 30},
        "e5": {**e5, "max_length": 16, "description_length": 16, "head_units": "16"},
        # no head phase: gpu_check's smoke rehearses e5_full's with these settings. One width (16 tokens):
        # fewer compilations; batches of several widths are rehearsed there and by e5_finetune (32 tokens)
        "e5_full": {**e5, "max_length": 16, "head_epochs": 0, "dense_units": 16},
        "effnet_lite0": {"image_size": 32, "cache_dir": str(cache), "epochs": 1, "head_units": "16",
                         "extract_batch_size": 128},  # all 72 images in one batch: one shape to compile
    }
    job = tmp_path / "job.json"
    counts = tmp_path / "compilations.json"
    job.write_text(json.dumps({"argv": ["--recipe", "challenge_gpu", "--data-dir", str(data), "--run-dir", str(run),
                                        "--n-folds", "2", "--quiet"], "set": tiny, "compilations": str(counts)}))
    env = rehearsal.environment({**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    env = xla_compilations.environment(tmp_path / "xla", env)
    done = subprocess.run([sys.executable, str(REPO / "tests" / "recipe_rehearsal_child.py"), str(job)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    print(done.stdout[done.stdout.find("minutes per step"):].splitlines()[0], counts.read_text())
    for name in ("tfidf", "text_cnn", "e5", "e5_full", "effnet_lite0", "stack-lgbm"):
        assert (run / name / "metrics.json").is_file(), name
    # the recipe's own settings were kept under the tiny ones
    config = json.loads((run / "e5_full" / "config.json").read_text())
    config = config.get("hparams", config)
    assert config["trainable_layers"] == 12 and config["mixed_precision"] is True
    # the Keras steps' probabilities (e5_full's in float16 compute) float32, finite, rows summing to 1
    for probs in sorted(p for name in ("text_cnn", *XLA_STEPS) for p in run.glob(f"{name}/fold*/*_probs.npy")):
        values = np.load(probs)
        assert values.dtype == np.float32 and np.isfinite(values).all(), probs
        assert np.abs(values.sum(axis=1) - 1).max() < 1e-3, probs
    assert len(list(run.glob("e5_full/fold*/val_probs.npy"))) == 2
    # XLA where a GPU would compile, a bounded number of times; nowhere else
    compiled = json.loads(counts.read_text())
    assert set(compiled) == {"tfidf", "text_cnn", "e5", "e5_full", "effnet_lite0"}, compiled
    for name, n in compiled.items():
        assert (0 < n <= MOST_COMPILATIONS) if name in XLA_STEPS else n == 0, (name, n)
    submission = pd.read_csv(run / "submissions" / "stack-lgbm.csv")
    assert len(submission) == 30 and "minutes per step" in done.stdout
