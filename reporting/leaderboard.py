"""The leaderboard: every model and stack of the run on the same out-of-fold rows."""
from __future__ import annotations

import numpy as np
import pandas as pd

from reporting.run_data import ModelResult


def leaderboard(results: list[ModelResult], gains: dict | None = None) -> pd.DataFrame:
    """One row per model, best OOF weighted F1 first; `gains` maps a stack to (its best input, its
    PairedGain over it), shown as text ("" for models)."""
    gains = gains or {}
    rows = []
    for r in results:
        folds = r.fold_scores
        epochs = [f["epochs_run"] for f in r.metrics.get("folds", []) if "epochs_run" in f]
        rows.append({
            "model": r.name, "kind": r.kind,
            "oof_weighted_f1": r.metrics["oof"]["weighted_f1"], "oof_macro_f1": r.metrics["oof"]["macro_f1"],
            "oof_accuracy": r.metrics["oof"]["accuracy"],
            "folds": len(folds),
            "fold_mean": float(folds.mean()) if len(folds) else np.nan,
            "fold_std": float(folds.std()) if len(folds) else np.nan,
            "fold_min": float(folds.min()) if len(folds) else np.nan,
            "fold_max": float(folds.max()) if len(folds) else np.nan,
            "epochs": float(np.mean(epochs)) if epochs else np.nan,
            "train_minutes": r.train_minutes,
            "gain": f"{gains[r.name][1].text()} vs {gains[r.name][0]}" if r.name in gains else "",
        })
    table = pd.DataFrame(rows)
    return table.sort_values("oof_weighted_f1", ascending=False, kind="stable").reset_index(drop=True)
