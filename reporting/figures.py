"""The report's PNG figures (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import PowerNorm  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay  # noqa: E402

from folds.atomic import write_bytes_atomic  # noqa: E402

DPI = 100


def _save(fig, path: Path, dpi: int = DPI) -> Path:
    write_bytes_atomic(path, lambda f: fig.savefig(f, format="png", dpi=dpi, bbox_inches="tight"))
    plt.close(fig)
    return path


def confusion_heatmap(shares: np.ndarray, row_labels: list[str], column_labels: list[str], title: str,
                      path: Path) -> Path:
    """Row-normalised confusion matrix; every cell of 5% or more is written in per cent."""
    n = len(row_labels)
    side = min(max(5.0, 0.42 * n + 3.0), 16.0)
    fig, ax = plt.subplots(figsize=(side + 1.5, side))
    display = ConfusionMatrixDisplay(shares, display_labels=column_labels)
    display.plot(ax=ax, cmap="Blues", include_values=False, colorbar=True, xticks_rotation="vertical")
    # A square-root colour scale, so that a 5% confusion is visible next to a 95% diagonal.
    display.im_.set_norm(PowerNorm(gamma=0.5, vmin=0, vmax=1))
    ax.set_yticks(range(n), row_labels)
    for (t, p), share in np.ndenumerate(shares):
        if share >= 0.05:
            ax.text(p, t, f"{share * 100:.0f}", ha="center", va="center", fontsize=7 if n > 12 else 9,
                    color="white" if share > 0.5 else "black")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"{title}: where each true class (row) goes, in % of the row (shown from 5%)")
    return _save(fig, path)


def f1_bars(report: pd.DataFrame, labels: list[str], weighted_f1: float, title: str, path: Path) -> Path:
    """Per-class F1, worst at the top, with the class's row count beside each bar."""
    order = np.argsort(report["f1"].to_numpy(), kind="stable")[::-1]
    n = len(order)
    fig, ax = plt.subplots(figsize=(6, max(2.5, 0.28 * n + 1.0)))
    f1 = report["f1"].to_numpy()[order]
    support = report["support"].to_numpy()[order]
    colours = plt.cm.RdYlGn(np.clip(f1, 0, 1))
    ax.barh(range(n), f1, color=colours, edgecolor="grey", linewidth=0.5)
    ax.set_yticks(range(n), [labels[i] for i in order], fontsize=9)
    for y, (value, count) in enumerate(zip(f1, support)):
        ax.text(1.03, y, f"{value:.2f}  n={count}", va="center", fontsize=8)
    ax.axvline(weighted_f1, color="black", linestyle="--", linewidth=1)
    ax.set_xlim(0, 1.25)
    ax.set_xticks(np.linspace(0, 1, 6))
    ax.set_xlabel("F1 (out of fold)")
    ax.set_title(f"{title}: F1 per class (dashed line: weighted F1 {weighted_f1:.3f})", fontsize=10)
    return _save(fig, path, dpi=130)  # shown scaled down beside the per-class table: stays sharp


def training_curves(histories: dict[int, pd.DataFrame], title: str, path: Path) -> Path | None:
    """Loss and weighted F1 per epoch, training dashed and validation solid, one colour per fold."""
    if not histories:
        return None
    panels = [(m, m.replace("_", " ")) for m in ("loss", "weighted_f1")
              if any(m in h.columns or f"val_{m}" in h.columns for h in histories.values())]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 3.8), squeeze=False)
    colours = plt.cm.tab10.colors
    for ax, (metric, label) in zip(axes[0], panels):
        for k, history in sorted(histories.items()):
            epochs = history["epoch"] + 1 if "epoch" in history.columns else np.arange(1, len(history) + 1)
            colour = colours[k % len(colours)]
            if metric in history.columns:
                ax.plot(epochs, history[metric], linestyle="--", color=colour, alpha=0.7)
            if f"val_{metric}" in history.columns:
                ax.plot(epochs, history[f"val_{metric}"], marker="o", markersize=3, color=colour,
                        label=f"fold {k}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_title(f"{title}: {label} (dashed: training, solid: validation)", fontsize=10)
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0][-1].legend(fontsize=8)
    return _save(fig, path)


def leaderboard_bars(table: pd.DataFrame, path: Path) -> Path:
    """OOF weighted F1 per model with the per-fold range as an error bar."""
    fig, ax = plt.subplots(figsize=(8, max(2.0, 0.45 * len(table) + 1.0)))
    y = np.arange(len(table))[::-1]
    low = table["oof_weighted_f1"] - table["fold_min"]
    high = table["fold_max"] - table["oof_weighted_f1"]
    ax.barh(y, table["oof_weighted_f1"], xerr=[low.clip(lower=0), high.clip(lower=0)], color="#4c78a8",
            capsize=3)
    ax.set_yticks(y, table["model"])
    for yy, value in zip(y, table["oof_weighted_f1"]):
        ax.text(0.01, yy, f"{value:.4f}", va="center", color="white", fontsize=9)
    ax.set_xlim(0, 1)
    ax.set_xlabel("out-of-fold weighted F1 (bar: range over folds)")
    return _save(fig, path)
