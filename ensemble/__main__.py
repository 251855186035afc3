"""Stack or blend the models of a run, cross-validated on the run's own folds.

    python -m ensemble --method lgbm --models tfidf,bilstm --run-dir runs/default
    python -m ensemble --method blend --models tfidf,bilstm

Writes RUN_DIR/stack-<method>/ with oof.npy, test.npy and metrics.json, like a model, so it can be
submitted (submit.py --source stack-lgbm) or compared.
"""
from __future__ import annotations

import argparse
import functools

from challenge.cli import add_run_dir, friendly_errors

METHODS = ("lgbm", "logreg", "blend")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ensemble", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", default="lgbm", choices=METHODS, help="meta-learner (default lgbm)")
    parser.add_argument("--models", help="comma-separated models of the run (default: every assembled "
                                         "model that is not a stack)")
    add_run_dir(parser)
    parser.add_argument("--name", help="output folder name (default stack-<method>)")
    parser.add_argument("--extra-features", action="store_true",
                        help="add each model's max probability and entropy as meta-features")
    parser.add_argument("--seed", type=int, default=42)
    return parser


@friendly_errors
def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    from ensemble.blend import blend_fit_predict_factory
    from ensemble.cross_fit import cross_fit
    from ensemble.inputs import load_stack_inputs, probability_features
    from ensemble.meta_learners import lgbm_fit_predict, logreg_fit_predict
    from folds.store import RunDir

    run = RunDir(args.run_dir)
    names = args.models.split(",") if args.models else [
        m for m in run.finished_models() if not m.startswith("stack-")]
    inputs = load_stack_inputs(run, names)
    extras = args.extra_features and args.method != "blend"
    x_oof = probability_features(inputs.oof, extras)
    x_test = probability_features(inputs.test, extras)
    fit_predict = {
        "lgbm": lgbm_fit_predict,
        "logreg": logreg_fit_predict,
        "blend": blend_fit_predict_factory(len(names)),
    }[args.method]
    name = args.name or f"stack-{args.method}"
    config = {"method": args.method, "models": names, "extra_features": extras, "seed": args.seed}
    metrics = cross_fit(run, name, config, x_oof, x_test, fit_predict, seed=args.seed)
    print_comparison(run, names + [name])
    return metrics


def print_comparison(run, names) -> None:
    import pandas as pd

    rows = [{"model": n, **run.model(n).metrics()["oof"]} for n in names]
    table = pd.DataFrame(rows).sort_values("weighted_f1", ascending=False)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
