"""One table of every assembled model and stack of a run, best OOF weighted F1 first."""
from __future__ import annotations

import pandas as pd

from challenge.errors import DataError
from folds.store import RunDir


def comparison_table(run: RunDir, names: list[str] | None = None) -> pd.DataFrame:
    names = names or run.finished_models()
    if not names:
        raise DataError(f"{run.root} has no assembled model or stack yet. Train one first: "
                        f"python train.py --model tfidf --fold all --run-dir {run.root}")
    rows = []
    for name in names:
        metrics = run.model(name).metrics()
        rows.append({"name": name, "kind": "stack" if name.startswith("stack-") else "model",
                     **{k: metrics["oof"][k] for k in ("weighted_f1", "macro_f1", "accuracy")}})
    return pd.DataFrame(rows).sort_values("weighted_f1", ascending=False, ignore_index=True)


def print_table(table: pd.DataFrame) -> None:
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
