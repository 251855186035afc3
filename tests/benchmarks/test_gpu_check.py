"""benchmarks/gpu_check.py --smoke: the GPU check's whole path (facts, a reference probe, fold 0 of
e5_full and folds 0-1 of effnet_lite0, XLA compilations counted, the cost table's GPU rows) on the
CPU at a tiny size, writing a copy of the cost table, never the real one."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from challenge.demo import make_demo

REPO = Path(__file__).resolve().parents[2]


def test_rehearsal_gpu_check_smoke_runs_the_whole_path_on_the_cpu(tiny_e5_preset, effnet_weights, tmp_path):
    data, cache = tmp_path / "data", tmp_path / "cache"
    make_demo(data, n_train=60, n_test=12, n_classes=3, image_size=32, seed=7)
    shutil.copytree(effnet_weights, cache)
    table = REPO / "planner" / "reference_costs.json"
    before = table.read_text()
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--smoke", "--text-data", str(data),
         "--image-data", str(data), "--out", str(tmp_path / "out"),
         f"--set-text=preset={tiny_e5_preset}", f"--set-text=cache_dir={cache}", "--set-text=prefix=",
         f"--set-image=cache_dir={cache}", "--set-image=extract_batch_size=128"],  # one batch shape to compile
        cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    assert table.read_text() == before  # the smoke never writes the real table
    report = json.loads((tmp_path / "out" / "gpu_check.json").read_text())
    assert report["smoke"] and report["facts"]["visible_gpus"] == []
    assert set(report["probes"]["seconds"]) >= {"tfidf"}
    text, image = report["e5_full"], report["effnet_lite0_224"]
    assert 0 <= text["weighted_f1"] <= 1 and text["texts_per_s"] > 0 and text["train_rows"] == 48
    assert image["images_per_s"] > 0 and len(image["weighted_f1"]) == 2 and image["images"] == 72
    # the smoke's folds run in rehearsal, XLA resolved as on a GPU: e5_full compiles, a few widths only
    assert 0 < text["xla_compilations"] <= 40
    # e5_full with its head phase first, mixed precision under XLA: probabilities float32, finite, summing to 1
    for split in ("val", "test"):
        probs = np.load(tmp_path / "out" / "work" / "text_run" / "e5_full" / "fold0" / f"{split}_probs.npy")
        assert probs.dtype == np.float32 and np.isfinite(probs).all() and np.abs(probs.sum(axis=1) - 1).max() < 1e-3
    written = json.loads((tmp_path / "out" / "reference_costs.json").read_text())
    epoch = written["gpu"]["e5_full"]["parts"]["epoch"]
    assert epoch["measured"] is True and epoch["rows"] == 48 and "gpu_check.py" in epoch["source"]
    assert written["gpu"]["effnet_lite0_224"]["parts"]["features"]["rows"] == 144
