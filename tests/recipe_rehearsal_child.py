"""`recipes.py --recipe challenge_gpu` in a process of its own (ESHOPPYE_GPU_REHEARSAL=1 is set in its
environment: logical devices and XLA are process-wide), with tiny overrides added to the recipe's own
settings.

    python tests/recipe_rehearsal_child.py JOB.json

JOB: {"argv": recipes.py's arguments, "set": {step name: overrides}, "compilations": a JSON file}.
With XLA_FLAGS dumping modules (models/core/xla_compilations.py), the XLA compilations of each step
(all its folds) are written to job["compilations"]."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import recipes  # noqa: E402
from models.core.xla_compilations import compilations, dump_folder  # noqa: E402
from recipebook import steps  # noqa: E402


def counting_compilations(train_step, out: Path):
    """recipebook.steps.train_step, each step's XLA compilations added to `out`."""
    counts = {}

    def counted(step, *args, **kwargs):
        before = compilations(dump_folder())
        train_step(step, *args, **kwargs)
        counts[step["name"]] = compilations(dump_folder()) - before
        out.write_text(json.dumps(counts))

    return counted


def main(job_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    for step in recipes.RECIPES["challenge_gpu"]["models"]:  # in place: the recipe's settings stay, tiny sizes added
        step.setdefault("set", {}).update(job["set"].get(step.get("name", step["model"]), {}))
    steps.train_step = counting_compilations(steps.train_step, Path(job["compilations"]))
    recipes.main(job["argv"])


if __name__ == "__main__":
    main(sys.argv[1])
