"""Trains fold 0 of each model named in a JSON job under several GPU settings, all in one process of
its own (logical devices and XLA flags are process-wide; a TensorFlow start costs ~10 s, so the
settings share one), and writes what it saw.

    python tests/models/rehearsal_child.py JOB.json RESULT.json

JOB: {"data_dir", "runs": [{"setting", "run_dir", "xla", "models": [{"name", "model", "set": {...}}]}]}.
The environment holds the rehearsal: ESHOPPYE_GPU_REHEARSAL=1 and, for counting compilations,
XLA_FLAGS (xla_compilations). A run with "xla": false resolves `jit_compile="auto"` as on a CPU
(never XLA) for its models; the precision policy and the strategy are per model (their settings).
RESULT: per setting and model, the fold's probabilities checked (dtype, finite, rows summing to 1),
the XLA compilations it caused, its seconds, or the error it raised."""
from __future__ import annotations

import contextlib
import json
import sys
import time
import traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from models.core.xla_compilations import compilations, dump_folder  # noqa: E402
from recipebook.training import train_model  # noqa: E402


def check_fold(fold_dir: Path) -> dict:
    out = {}
    for split in ("val", "test"):
        probs = np.load(fold_dir / f"{split}_probs.npy")
        out[split] = {"dtype": str(probs.dtype), "finite": bool(np.isfinite(probs).all()),
                      "max_sum_error": float(np.abs(probs.sum(axis=1) - 1).max()), "rows": len(probs)}
    return out


@contextlib.contextmanager
def xla_as_on_a_cpu(off: bool):
    """While `off`, Keras resolves jit_compile="auto" as on a CPU (never XLA), the rehearsal's
    resolution (models/core/rehearsal.py) put back after."""
    from keras.src.trainers import trainer

    resolve = trainer.Trainer._resolve_auto_jit_compile
    if off:
        never = lambda model: False  # noqa: E731
        never.rehearsal = True  # rehearsal.start() leaves it in place
        trainer.Trainer._resolve_auto_jit_compile = never
    try:
        yield
    finally:
        trainer.Trainer._resolve_auto_jit_compile = resolve


def main(job_path: str, result_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    dump = dump_folder()
    results = {}
    for run in job["runs"]:
        results[run["setting"]] = {}
        for step in run["models"]:
            before = compilations(dump) if dump else None
            started = time.time()
            try:
                with xla_as_on_a_cpu(not run["xla"]):
                    train_model(step["model"], name=step["name"], folds="0", quiet=True, data_dir=job["data_dir"],
                                run_dir=run["run_dir"], overrides={k: str(v) for k, v in step["set"].items()})
                result = {"ok": True, **check_fold(Path(run["run_dir"]) / step["name"] / "fold0")}
            except Exception:  # the parent reports every model's failure at once
                result = {"ok": False, "error": traceback.format_exc()[-3000:]}
            result["seconds"] = round(time.time() - started, 1)
            if dump:
                result["xla_compilations"] = compilations(dump) - before
            results[run["setting"]][step["name"]] = result
            Path(result_path).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:3])
