"""The time a stopped `--budget` run already spent, so that starting it again plans only what is left.

A budget run that is killed (a restart, a lost session) keeps its finished folds, and the same command
resumes it. Without this, the resumed start would plan the whole budget again for the work left and
could take on steps the first start had left out for want of time (debfr-public, --budget 3h,
stopped in e5_finetune's last fold after 94 minutes: restarted, it planned a second e5_finetune seed
of 81 minutes on top, a run of about 3 hours 10). The budget is the whole run's: the time a stopped
start spent counts against it.

What a start spent is read from the run directory, not from a clock that died with the process:
from its plan.json's start to the newest file the start wrote (a finished fold, a checkpoint, a
training log), plus the probe it paid. The plan.json of a start that finished has an "outcome"; a
plan.json for another budget is another run: neither counts.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

PLAN_FILE = "plan.json"


def last_write_s(run_dir: Path, since_s: float) -> float | None:
    """The newest modification time of a file under run_dir (its plan.json aside) at or after since_s."""
    newest = None
    for path in run_dir.rglob("*"):
        if path.name == PLAN_FILE or not path.is_file():
            continue
        written = path.stat().st_mtime
        if written >= since_s and (newest is None or written > newest):
            newest = written
    return newest


def started_s(record: dict) -> float | None:
    """The start of a recorded run, seconds since the epoch (older plan.json files have local time text only)."""
    if "started_s" in record:
        return float(record["started_s"])
    if "started" in record:
        return time.mktime(time.strptime(record["started"], "%Y-%m-%d %H:%M:%S"))
    return None


def time_already_spent(run_dir: str | Path, budget: str) -> float:
    """Seconds that earlier, stopped starts of this budget run spent (0 when there were none)."""
    run_dir = Path(run_dir)
    path = run_dir / PLAN_FILE
    if not path.is_file():
        return 0.0
    record = json.loads(path.read_text())
    if "outcome" in record or record.get("budget") != budget:
        return 0.0  # the earlier run finished, or was for another budget: this is a new run
    before = float(record.get("spent_before_s", 0.0))
    start = started_s(record)
    if start is None:
        return before
    last = last_write_s(run_dir, start)
    working = 0.0 if last is None else last - start  # None: stopped before it wrote anything
    return before + float(record.get("probe_s", 0.0)) + working
