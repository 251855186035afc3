#!/usr/bin/env python
"""Write a run's report: RUN_DIR/report/index.html, one self-contained page (open it in a browser,
no server needed), and its figures as PNG files in RUN_DIR/report/figures/.

    python report.py --run-dir runs/demo
    python report.py --run-dir runs/rakuten --models tfidf,stack-lgbm --names codes.csv

The page holds a leaderboard of every model and stack (OOF weighted F1, macro F1, accuracy, spread
over folds, training minutes) and, per model, its classification report, normalised confusion
matrix, notable confusions, F1 per class, training curves, the most confident mistakes and a warning
when it predicts the majority class for most rows.
"""
from __future__ import annotations

import argparse

from challenge.cli import add_run_dir, friendly_errors


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_dir(parser)
    parser.add_argument("--models", help="comma-separated models/stacks to report (default: every finished one)")
    parser.add_argument("--names", help="CSV with columns prdtypecode,name to name the classes, or 'none' "
                                        "(default: docs/prdtypecode_names.csv when the run has exactly the "
                                        "challenge's 27 codes)")
    parser.add_argument("--data-dir", help="challenge folder for the error gallery's titles and images "
                                           "(default: the one recorded in RUN_DIR/run.json)")
    parser.add_argument("--out", help="report folder (default RUN_DIR/report)")
    parser.add_argument("--threshold", type=float, default=0.1,
                        help="list a confusion when at least this share of a class goes to one other "
                             "class (default 0.1)")
    parser.add_argument("--gallery", type=int, default=12, help="mistakes shown per model (default 12)")
    return parser


@friendly_errors
def main(argv=None):
    args = build_parser().parse_args(argv)
    from challenge.errors import DataError
    from reporting import build_report

    if not 0 < args.threshold <= 1:
        raise DataError(f"--threshold must be a share between 0 and 1 (e.g. 0.1 for 10%), not {args.threshold}.")
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    index = build_report(args.run_dir, models=models, names_csv=args.names, out_dir=args.out,
                         data_dir=args.data_dir, threshold=args.threshold, gallery_size=max(0, args.gallery))
    print(f"Wrote {index} (open it in a browser; figures in {index.parent / 'figures'})")
    return index


if __name__ == "__main__":
    main()
