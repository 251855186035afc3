"""Build a run's report: read every finished model, compute its tables, draw its figures and
write RUN/report/index.html (self-contained) with the PNGs in RUN/report/figures/."""
from __future__ import annotations

import re
import time
from pathlib import Path

import matplotlib
import numpy as np

from challenge.errors import DataError
from ensemble.compare import stack_gain, stack_note
from folds.atomic import save_text
from folds.store import RunDir
from reporting import figures
from reporting.analysis import class_report, majority_warning, normalised_confusion, notable_confusions
from reporting.gallery import gallery_items
from reporting.leaderboard import leaderboard
from reporting.names import DEFAULT_NAMES, NO_NAMES, code_label, names_for_run
from reporting.page import png_data_uri, render_page
from reporting.run_data import ModelResult, load_model, read_products, run_info

MIN_COUNT = 3


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def choose_models(run: RunDir, requested: list[str] | None) -> list[str]:
    finished = run.finished_models()
    if not finished:
        raise DataError(f"{run.root} has no finished model yet (no <model>/metrics.json). Train every "
                        f"fold of a model first: python train.py --model tfidf --fold all --run-dir {run.root}")
    if not requested:
        return finished
    unknown = [m for m in requested if m not in finished]
    if unknown:
        raise DataError(f"--models names {', '.join(unknown)}, which {run.root} does not hold as a finished "
                        f"model. Finished here: {', '.join(finished)}.")
    return list(dict.fromkeys(requested))


def _f1_colour(f1: float) -> str:
    r, g, b, _ = matplotlib.colormaps["RdYlGn"](0.15 + 0.7 * float(np.clip(f1, 0, 1)))
    return f"rgba({int(r * 255)}, {int(g * 255)}, {int(b * 255)}, 0.45)"


def model_section(result: ModelResult, y: np.ndarray, codes: list[int], names: dict[int, str],
                  products, train_index: np.ndarray, figure_dir: Path, run_path: str,
                  threshold: float, gallery_size: int) -> dict:
    y_pred = result.oof.argmax(axis=1)
    report, averages = class_report(y, y_pred, codes, names)
    counts, shares = normalised_confusion(y, y_pred, len(codes))
    slug = _slug(result.name)
    long_labels = [code_label(c, names, short=True) for c in codes]
    pngs = {
        "confusion": figures.confusion_heatmap(shares, long_labels, [str(c) for c in codes], result.name,
                                               figure_dir / f"{slug}_confusion.png"),
        "f1": figures.f1_bars(report, long_labels, result.metrics["oof"]["weighted_f1"], result.name,
                              figure_dir / f"{slug}_f1_per_class.png"),
        "curves": figures.training_curves(result.histories, result.name, figure_dir / f"{slug}_training_curves.png"),
    }
    folds = result.fold_scores
    return {
        "name": result.name, "anchor": f"model-{slug}", "kind": result.kind, "is_stack": result.is_stack,
        "scores": result.metrics["oof"], "minutes": result.train_minutes,
        "fold_text": (f"{folds.mean():.4f} ± {folds.std():.4f} over {len(folds)} "
                      f"(min {folds.min():.4f}, max {folds.max():.4f})") if len(folds) else "–",
        "warning": majority_warning(y, y_pred, codes, names),
        "confusions": [c.sentence(names) for c in notable_confusions(counts, shares, codes, threshold, MIN_COUNT)],
        "report": [{**row, "colour": _f1_colour(row["f1"])} for row in report.to_dict("records")],
        "macro": averages["macro"], "weighted": averages["weighted"],
        "figures": {k: png_data_uri(v) for k, v in pngs.items()},
        "tensorboard": len(result.tensorboard), "logdir": f"{run_path}/{result.name}",
        "gallery": gallery_items(result.oof, y, codes, names, products, train_index, gallery_size),
    }


def build_report(run_dir: str | Path, models: list[str] | None = None, names_csv: str | Path | None = None,
                 out_dir: str | Path | None = None, data_dir: str | Path | None = None,
                 threshold: float = 0.1, gallery_size: int = 12) -> Path:
    """Write the report and return the path of its index.html."""
    run = RunDir(run_dir)
    codes = run.classes().codes
    y = run.train_labels()
    chosen = choose_models(run, models)
    names = names_for_run(codes, names_csv)
    products = read_products(run, data_dir)
    train_index = run.train_index()
    out = Path(out_dir) if out_dir else run.root / "report"
    figure_dir = out / "figures"
    run_path = str(run_dir).rstrip("/")

    results = [load_model(run, name, len(y)) for name in chosen]
    sections = [model_section(r, y, codes, names, products, train_index, figure_dir, run_path,
                              threshold, gallery_size) for r in results]
    gains = {r.name: gain for r in results if r.is_stack and (gain := stack_gain(run, r.name))}
    board = leaderboard(results, gains)
    for section, result in zip(sections, results):
        section["gain"] = board.set_index("model").at[result.name, "gain"]
        section["verdict"] = stack_note(result.metrics, gains.get(result.name)) if result.is_stack else ""
    anchors = {s["name"]: s["anchor"] for s in sections}
    warned = {s["name"] for s in sections if s["warning"]}
    order = {name: i for i, name in enumerate(board["model"])}
    sections.sort(key=lambda s: order[s["name"]])
    info = run_info(run)
    if names_csv and str(names_csv) != NO_NAMES:
        names_source = f"from {names_csv}"
    elif names:
        names_source = (f"the Rakuten challenge's, from {DEFAULT_NAMES.relative_to(DEFAULT_NAMES.parents[1])}, "
                        f"since the run has exactly its 27 codes (--names none to show bare codes)")
    else:
        names_source = "none (pass --names codes.csv with columns prdtypecode,name to name the classes)"
    context = {
        "run": {"name": run.root.resolve().name, "path": run_path, "n_rows": len(y), "n_classes": len(codes),
                "data_dir": info.get("data_dir"), "made": time.strftime("%Y-%m-%d %H:%M")},
        "models": sections,
        "leaderboard": [{**row, "anchor": anchors[row["model"]], "warned": row["model"] in warned}
                        for row in board.to_dict("records")],
        "leaderboard_png": png_data_uri(figures.leaderboard_bars(board, figure_dir / "leaderboard.png")),
        "warnings": [{"model": s["name"], "text": s["warning"]} for s in sections if s["warning"]],
        "threshold": threshold, "min_count": MIN_COUNT, "has_products": products is not None,
        "any_tensorboard": any(r.tensorboard for r in results),
        "names_source": names_source, "figures_dir": str(figure_dir),
    }
    index = out / "index.html"
    save_text(index, render_page(context))
    return index
