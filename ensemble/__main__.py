"""Stack, blend or fuse the models of a run, cross-validated on the run's own folds; compare them;
find likely mislabelled training rows.

    python -m ensemble --method lgbm --models tfidf,bilstm --run-dir runs/default
    python -m ensemble --method blend --objective f1 --models tfidf,bilstm
    python -m ensemble --method fusion --models tfidf,effnet_lite0 --set units=128
    python -m ensemble --method logreg --bias          # + per-class bias tuned for weighted F1
    python -m ensemble --method compare                # every model and stack, best first
    python -m ensemble --method noise --models stack-lgbm --out noise.csv

lgbm, logreg, blend and fusion write RUN_DIR/stack-<method>/ with oof.npy, test.npy and
metrics.json, like a model, so a stack can be submitted (submit.py --source stack-lgbm), compared or
stacked again. noise writes a CSV that `train.py --exclude` reads.
"""
from __future__ import annotations

import argparse
import functools
import shutil

from challenge.cli import add_run_dir, add_verbose, friendly_errors

STACKS = ("lgbm", "logreg", "blend", "fusion")
METHODS = STACKS + ("compare", "noise")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ensemble", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", default="lgbm", choices=METHODS,
                        help="lgbm/logreg: meta-learner on OOF probabilities; blend: calibrated weighted "
                             "average; fusion: Keras net on the models' embeddings; compare: table of the "
                             "run; noise: likely mislabelled rows (default lgbm)")
    parser.add_argument("--models", help="comma-separated models (or stacks) of the run (default: every "
                                         "assembled model that is not a stack; for noise: the best one)")
    add_run_dir(parser)
    parser.add_argument("--name", help="output folder name (default stack-<method>)")
    parser.add_argument("--no-blend-prior", action="store_true",
                        help="lgbm: boost from the class priors instead of from the calibrated blend of "
                             "the models (the default, which keeps small-data stacks from falling "
                             "below the blend)")
    parser.add_argument("--extra-features", action="store_true",
                        help="lgbm/logreg: add each model's max probability and entropy as meta-features")
    parser.add_argument("--objective", default="logloss", choices=("logloss", "f1"),
                        help="blend: choose weights for OOF log-loss or weighted F1 (default logloss)")
    parser.add_argument("--no-calibrate", action="store_true",
                        help="blend: skip the per-model temperature calibration")
    parser.add_argument("--bias", action="store_true",
                        help="add per-class biases tuned for weighted F1 (inside each cross-fit fold, "
                             "on an inner cross-validation) to the stack's probabilities")
    parser.add_argument("--test-embed", default="fold", choices=("fold", "mean"),
                        help="fusion: test rows through the fold-k models' embeddings (default) or the "
                             "mean of every fold's test embeddings")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="fusion hyperparameter, e.g. --set units=128 (repeatable); see ensemble/fusion.py")
    parser.add_argument("--fallback", default="none", choices=("none", "best"),
                        help="when the stack's OOF weighted F1 falls below an input's or the calibrated "
                             "blend's beyond noise (paired-bootstrap 95%% interval below 0): none (default) "
                             "only says so; best writes the best such candidate's predictions as the "
                             "stack's output, recorded in metrics.json")
    parser.add_argument("--out", help="noise: CSV to write (default RUN_DIR/noise.csv)")
    parser.add_argument("--seed", type=int, default=42)
    add_verbose(parser)
    return parser


@friendly_errors
def main(argv=None):
    args = build_parser().parse_args(argv)
    from ensemble.compare import comparison_table, print_table
    from folds.store import RunDir

    run = RunDir(args.run_dir)
    if args.method == "compare":
        table = comparison_table(run)
        print_table(table)
        return table
    if args.method == "noise":
        return run_noise(run, args)
    names = args.models.split(",") if args.models else [
        m for m in run.finished_models() if not m.startswith("stack-")]
    metrics = run_stack(run, args, names)
    stack = args.name or f"stack-{args.method}"
    print_table(comparison_table(run, names + [stack]))
    report_verdict(run, stack, metrics["versus_inputs"])
    return metrics


def report_verdict(run, stack: str, record: dict) -> None:
    from ensemble.bootstrap import PairedGain

    gain = record["gain_over_best_input"]
    low, high = gain["interval_95"]
    print(f"{stack}: OOF gain over its best input {record['best_input']} "
          f"{PairedGain(gain['gain'], low, high, gain['resamples'], gain['seed']).text()} "
          f"(paired bootstrap, 95% interval); calibrated blend {record['calibrated_blend_weighted_f1']:.4f}.")
    if record["below"] and "fallback" not in record:
        best = record["below"][0]
        fix = (f"submit {best} instead (python submit.py --source {best} --run-dir {run.root})"
               if best in run.finished_models() else "run --method blend and submit stack-blend")
        print(f"WARNING: {stack} is {record['verdict']}: {fix}, or rerun with --fallback best.")
    elif "fallback" in record or record.get("tied"):
        print(f"{stack}: {record['verdict']}.")  # a tie within noise is news, not a warning


def run_stack(run, args, names: list[str]) -> dict:
    from ensemble.bias import with_bias_tuning
    from ensemble.blend import blend_fit_predict_factory
    from ensemble.cross_fit import cross_fit
    from ensemble.inputs import load_stack_inputs, probability_features
    from ensemble.meta_learners import lgbm_fit_predict, logreg_fit_predict
    from ensemble.versus_inputs import judge_stack

    if args.set and args.method != "fusion":
        from challenge.errors import DataError

        raise DataError(f"--set {args.set[0]}: only --method fusion takes --set settings.")
    inputs = load_stack_inputs(run, names)
    config = {"method": args.method, "models": names, "seed": args.seed, "bias": args.bias}
    if args.method == "fusion":
        x_oof, x_test, fit_predict, settings = fusion_inputs(run, args, names, inputs)
        config.update(settings)
    else:
        extras = args.extra_features and args.method != "blend"
        x_oof = probability_features(inputs.oof, extras)
        x_test = probability_features(inputs.test, extras)
        if args.method == "blend":
            fit_predict = blend_fit_predict_factory(len(names), args.objective, not args.no_calibrate)
            config.update(objective=args.objective, calibrate=not args.no_calibrate)
        else:
            fit_predict = {"lgbm": lgbm_fit_predict, "logreg": logreg_fit_predict}[args.method]
            config.update(extra_features=extras)
            if args.method == "lgbm" and not args.no_blend_prior:
                fit_predict = functools.partial(lgbm_fit_predict, prior_models=len(names))
                config.update(blend_prior=True)
    if args.bias:
        fit_predict = with_bias_tuning(fit_predict)
    config.update(fallback=args.fallback)
    name = args.name or f"stack-{args.method}"
    store = run.model(name)
    if store.fold_done(0) and "fallback_to" in store.fold_summary(0):
        shutil.rmtree(store.dir)  # its folds hold a fallback's predictions, not its own: fit them again
    cross_fit(run, name, config, x_oof, x_test, fit_predict, seed=args.seed)
    judge_stack(run, name, inputs, seed=args.seed, fallback=args.fallback == "best")
    return run.model(name).metrics()


def fusion_inputs(run, args, names, inputs):
    """Embedding blocks (OOF for training rows, per-fold test), plus probability blocks if asked."""
    import numpy as np

    from ensemble.fusion import DEFAULTS, fusion_fit_predict_factory, load_embeddings
    from models.core.registry import ModelSpec, resolve_hparams

    overrides = dict(pair.split("=", 1) for pair in args.set if "=" in pair)
    hp = resolve_hparams(ModelSpec("fusion", "embeddings", DEFAULTS, train_fold=None), overrides)
    x_oof, x_test, widths, residuals, reductions = load_embeddings(run, names, args.test_embed, hp["align"],
                                                                   hp["reduce"])
    if hp["probabilities"]:
        n_folds = len(x_test)
        for name, oof in zip(names, inputs.oof):
            store = run.model(name)
            tests = ([store.load_fold(k, "test_probs") for k in range(n_folds)]
                     if args.test_embed == "fold" else [store.test()] * n_folds)
            x_oof = np.hstack([x_oof, oof])
            x_test = [np.hstack([t, p]) for t, p in zip(x_test, tests)]
            widths.append(oof.shape[1])
    settings = {"hparams": hp, "test_embed": args.test_embed, "widths": widths,
                "alignment_residual": {k: round(v, 4) for k, v in residuals.items()},
                "pca_reduced": {k: {"from": w, "to": c} for k, (w, c) in reductions.items()}}
    return x_oof, x_test, fusion_fit_predict_factory(widths, hp), settings


def run_noise(run, args):
    import numpy as np

    from ensemble.compare import comparison_table
    from ensemble.inputs import load_stack_inputs
    from ensemble.noise import label_issue_report
    from pathlib import Path

    from folds.atomic import save_text

    names = args.models.split(",") if args.models else [comparison_table(run)["name"].iloc[0]]
    inputs = load_stack_inputs(run, names)
    probs = np.mean(inputs.oof, axis=0)
    report = label_issue_report(probs, run.train_labels(), run.train_index(), run.classes())
    out = args.out or str(run.root / "noise.csv")
    save_text(Path(out), report.to_csv(index=False))
    share = len(report) / len(probs)
    print(f"{len(report)} of {len(probs)} training rows ({share:.1%}) look mislabelled by "
          f"{'+'.join(names)}'s OOF probabilities -> {out}")
    print(report.head(10).to_string(index=False))
    print(f"Retrain without them: python train.py --model M --name M-clean --exclude {out} "
          f"--run-dir {run.root}")
    return report


if __name__ == "__main__":
    main()
