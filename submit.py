#!/usr/bin/env python
"""Write a challenge-format submission from a model's or a stack's test predictions.

    python submit.py --run-dir runs/default --source stack-lgbm --out submissions/stack-lgbm.csv

The CSV has the test product index as its unnamed first column and a prdtypecode column, one row per
test product; it is checked (every test index once, only codes of the run) before it is written.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from challenge.cli import add_run_dir, friendly_errors


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_dir(parser)
    parser.add_argument("--source", default="stack-lgbm",
                        help="a model or stack of the run (default stack-lgbm)")
    parser.add_argument("--out", help="CSV to write (default RUN_DIR/submissions/<source>.csv)")
    return parser


@friendly_errors
def main(argv=None) -> Path:
    args = build_parser().parse_args(argv)
    from recipebook.submission import write_submission

    return write_submission(args.run_dir, args.source, args.out)


if __name__ == "__main__":
    main()
