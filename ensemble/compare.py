"""One table of every assembled model and stack of a run, best OOF weighted F1 first; for a stack,
its OOF gain over its best input with a paired-bootstrap 95% interval, and its verdict (BELOW only
when that interval lies under 0; a lower score inside the noise is a tie)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from challenge.errors import DataError
from ensemble.bootstrap import PairedGain, paired_gain
from folds.store import RunDir


def stack_gain(run: RunDir, name: str) -> tuple[str, PairedGain] | None:
    """(best input, gain of the stack over it) for a stack whose inputs are all assembled; else None."""
    from ensemble.versus_inputs import best_input

    store = run.model(name)
    inputs = store.config().get("models") if (store.dir / "config.json").is_file() else None
    if not inputs or not all(run.model(m).is_assembled() for m in inputs):
        return None
    best, _ = best_input(run, inputs)
    return best, paired_gain(run.train_labels(), store.oof(), run.model(best).oof())


def stack_note(metrics: dict, gain: tuple[str, PairedGain] | None) -> str:
    """The stack's own verdict (metrics.json), or one read off its gain for stacks made before."""
    if "versus_inputs" in metrics:
        return metrics["versus_inputs"]["verdict"]
    if gain and gain[1].significant_loss:
        return f"BELOW its input {gain[0]}"
    if gain and gain[1].gain < 0:
        return f"tied with its input {gain[0]} within noise"
    return ""


def significantly_better(run: RunDir, name: str) -> list[tuple[str, float, PairedGain]]:
    """The run's other models and stacks whose OOF weighted F1 beats `name`'s beyond noise (the paired
    bootstrap interval of `name` minus them lies below 0): (name, weighted F1, gain), best first."""
    scores = {m: run.model(m).metrics()["oof"]["weighted_f1"] for m in run.finished_models()}
    y, own = run.train_labels(), run.model(name).oof()
    ahead = sorted((m for m in scores if scores[m] > scores[name]), key=lambda m: -scores[m])
    gains = ((m, paired_gain(y, own, run.model(m).oof())) for m in ahead)
    return [(m, scores[m], gain) for m, gain in gains if gain.significant_loss]


def comparison_table(run: RunDir, names: list[str] | None = None) -> pd.DataFrame:
    names = names or run.finished_models()
    if not names:
        raise DataError(f"{run.root} has no assembled model or stack yet. Train one first: "
                        f"python train.py --model tfidf --fold all --run-dir {run.root}")
    rows = []
    for name in names:
        metrics = run.model(name).metrics()
        is_stack = name.startswith("stack-")
        gain = stack_gain(run, name) if is_stack else None
        rows.append({"name": name, "kind": "stack" if is_stack else "model",
                     **{k: metrics["oof"][k] for k in ("weighted_f1", "macro_f1", "accuracy")},
                     "best_input": gain[0] if gain else "",
                     "gain": gain[1].gain if gain else np.nan,
                     "gain_low": gain[1].low if gain else np.nan,
                     "gain_high": gain[1].high if gain else np.nan,
                     "note": stack_note(metrics, gain) if is_stack else ""})
    return pd.DataFrame(rows).sort_values("weighted_f1", ascending=False, ignore_index=True)


def print_table(table: pd.DataFrame) -> None:
    shown = table.copy()
    shown["gain over best input (95% interval)"] = [
        "" if np.isnan(g) else f"{g:+.4f} [{lo:+.4f}, {hi:+.4f}] vs {best}"
        for g, lo, hi, best in zip(table["gain"], table["gain_low"], table["gain_high"], table["best_input"])]
    shown = shown.drop(columns=["best_input", "gain", "gain_low", "gain_high"])
    note = shown.pop("note")
    if note.astype(bool).any():
        shown["note"] = note
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}", justify="left"))
