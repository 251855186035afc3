"""`recipes.py --recipe challenge_gpu` in a process of its own (ESHOPPYE_GPU_REHEARSAL=1 is set in its
environment: logical devices and XLA are process-wide), with tiny overrides added to the recipe's own
settings.

    python tests/recipe_rehearsal_child.py JOB.json

JOB: {"argv": recipes.py's arguments, "set": {step name: overrides}}."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import recipes  # noqa: E402


def main(job_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    for step in recipes.RECIPES["challenge_gpu"]["models"]:  # in place: the recipe's settings stay, tiny sizes added
        step.setdefault("set", {}).update(job["set"].get(step.get("name", step["model"]), {}))
    recipes.main(job["argv"])


if __name__ == "__main__":
    main(sys.argv[1])
