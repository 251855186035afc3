"""Training one registered model on some or all folds of a run: what `train.py` runs, and what a
recipe step (named or --budget) and the planner's probes call, so that none of them goes through
the command line's argument parser."""
from __future__ import annotations

from challenge.errors import DataError


def parse_folds(text: str, n_folds: int) -> list[int]:
    """'all', '0' or '0,2' -> fold numbers, each checked against the run's `n_folds`."""
    if text == "all":
        return list(range(n_folds))
    try:
        folds = [int(part) for part in text.split(",")]
    except ValueError:
        raise DataError(f"--fold {text!r}: give a fold number (0..{n_folds - 1}), a list like 0,2, or 'all'.")
    bad = [k for k in folds if not 0 <= k < n_folds]
    if bad:
        raise DataError(f"--fold {text!r}: folds {bad} do not exist; this run has folds 0..{n_folds - 1}.")
    return folds


def read_exclude_file(path: str):
    import pandas as pd

    try:
        frame = pd.read_csv(path, index_col=0)
    except (OSError, pd.errors.ParserError) as err:
        raise DataError(f"--exclude {path}: cannot read it as CSV ({err}). It lists product indices "
                        f"in its first column, as `python -m ensemble --method noise` writes.") from err
    return frame.index


def train_model(model: str, *, data_dir: str, run_dir: str, folds: str = "all", name: str | None = None,
                seed: int = 42, n_folds: int | None = None, overrides: dict | None = None,
                exclude_file: str | None = None, quiet: bool = False) -> tuple[str, list[dict], dict | None]:
    """Train `model` (stored as `name`) on `folds` of the run, creating the run's folds on first use.

    `overrides` are hyperparameters over the model's defaults: typed values, or strings as `--set`
    gives them. Returns the stored name, the folds' summaries and, once every fold of the run is
    finished, the out-of-fold metrics (else None)."""
    from models.catalogue import check_model_name

    check_model_name(model)  # a typo is refused before TensorFlow is imported
    from challenge.cli import load_data
    from folds.store import RunDir
    from models import get_model, resolve_hparams
    from models.core.cross_validate import cross_validate

    spec = get_model(model)
    hp = resolve_hparams(spec, overrides or {})
    data = load_data(data_dir)
    run = RunDir(run_dir)
    run.prepare(data, n_folds=n_folds, seed=seed)
    folds_to_run = parse_folds(folds, int(run.folds().max()) + 1)
    exclude = read_exclude_file(exclude_file) if exclude_file else None
    if exclude is not None and len(unknown := exclude.difference(data.train.index)):
        raise DataError(f"--exclude {exclude_file}: {len(unknown)} of its {len(exclude)} indices are not "
                        f"training rows of {data_dir} (first: {unknown[:5].tolist()}). Was it made for "
                        f"another dataset? Its first column must hold X_train's product indices.")
    summaries, metrics = cross_validate(data, run, spec, hp, folds_to_run, name=name, seed=seed,
                                        verbose=0 if quiet else 2, exclude=exclude)
    return name or spec.name, summaries, metrics


def print_table(name: str, summaries: list[dict], metrics: dict | None) -> None:
    """The folds' scores as a table, then the out-of-fold scores or what is still to train."""
    import pandas as pd

    table = pd.DataFrame(summaries)[["fold", "weighted_f1", "macro_f1", "accuracy", "seconds"]]
    print(f"\n{name}: fold scores")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if metrics:
        oof = metrics["oof"]
        print(f"{name} out-of-fold: weighted F1 {oof['weighted_f1']:.4f}, macro F1 {oof['macro_f1']:.4f}, "
              f"accuracy {oof['accuracy']:.4f}")
    else:
        print(f"{name}: some folds are still to train; oof.npy is assembled when all are finished.")
