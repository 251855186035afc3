"""A challenge-format submission from a model's or a stack's test predictions: what `submit.py` runs
and a recipe's last step writes. The CSV has the test product index as its unnamed first column and a
prdtypecode column, one row per test product; it is checked before it is written."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from challenge.errors import DataError

if TYPE_CHECKING:  # imported in write_submission: the run directory brings scikit-learn
    from folds.store import RunDir


def make_submission(run: RunDir, source: str) -> pd.DataFrame:
    store = run.model(source)
    store.check_compatible()
    classes, test_index = run.classes(), run.test_index()
    probs = store.test()
    if probs.shape != (len(test_index), len(classes)):
        raise DataError(f"{store.dir / 'test.npy'} has shape {probs.shape}; the run expects "
                        f"({len(test_index)}, {len(classes)}). Retrain {source} in this run.")
    if not np.isfinite(probs).all():
        raise DataError(f"{store.dir / 'test.npy'} holds NaN or infinite values; retrain {source}.")
    codes = classes.decode(probs.argmax(axis=1))
    return pd.DataFrame({"prdtypecode": codes}, index=pd.Index(test_index))


def ranking_warning(run: RunDir, source: str) -> str | None:
    """A sentence when the run holds a candidate whose OOF weighted F1 beats `source`'s beyond noise
    (paired bootstrap), or when `source` is a stack that fell below its inputs or the calibrated blend
    beyond noise; None otherwise (a lower score within the noise is a tie, not a reason to warn)."""
    from ensemble.compare import significantly_better

    own = run.model(source).metrics()["oof"]["weighted_f1"]
    better = significantly_better(run, source)
    record = run.model(source).metrics().get("versus_inputs", {})
    lost = bool(record.get("below")) and "fallback" not in record  # a fallback already took the winner
    if not better and not lost:
        return None
    parts = []
    if better:
        name, f1, gain = better[0]
        parts.append(f"its OOF weighted F1 {own:.4f} ranks below {name} ({f1:.4f}; difference {gain.text()}, "
                     f"beyond noise){f' and {len(better) - 1} more' if len(better) > 1 else ''} "
                     f"(python -m ensemble --method compare --run-dir {run.root})")
    if lost:
        parts.append(f"the stack is {record['verdict']}")
    fix = " or rerun the stack with --fallback best" if record else ""
    return f"{source}: {'; '.join(parts)}. Submit the best candidate instead{fix}."


def check_submission(frame: pd.DataFrame, run: RunDir) -> None:
    expected = pd.Index(run.test_index())
    if frame.index.duplicated().any() or not frame.index.sort_values().equals(expected.sort_values()):
        raise DataError("The submission does not list every test index exactly once; this is a bug, please report it.")
    unknown = {int(c) for c in frame["prdtypecode"]} - set(run.classes().codes)
    if unknown:
        raise DataError(f"The submission predicts codes {sorted(unknown)} that the run never saw.")


def write_submission(run_dir: str | Path, source: str, out: str | Path | None = None) -> Path:
    """Write `source`'s submission (default RUN_DIR/submissions/<source>.csv), warn on stderr when the
    run holds a better candidate beyond noise, and say what was written."""
    from folds.atomic import save_text
    from folds.store import RunDir

    run = RunDir(run_dir)
    frame = make_submission(run, source)
    check_submission(frame, run)
    warning = ranking_warning(run, source)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    out = Path(out) if out else run.root / "submissions" / f"{source}.csv"
    save_text(out, frame.to_csv())
    counts = frame["prdtypecode"].value_counts()
    print(f"Wrote {out}: {len(frame)} rows, {counts.size} distinct codes "
          f"(most frequent {counts.index[0]}: {counts.iloc[0] / len(frame):.0%} of rows).")
    return out
