#!/usr/bin/env python
"""OOF weighted-F1 gain of one model or stack of a run over another, with a paired bootstrap
interval (ensemble.bootstrap): e.g. what the transformer models add to a stack.

    python benchmarks/paired_gain.py --run-dir runs/debfr --model stack-lgbm --versus stack-lgbm-base
    python benchmarks/paired_gain.py ... --answers ../shared/bench/answers/debfr-public.csv

With `--answers` (a benchmark's answer file: index, prdtypecode) the same gain on the test rows too.
"""
from __future__ import annotations

import argparse
import sys

import pandas as pd
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ensemble.bootstrap import RESAMPLES, paired_gain  # noqa: E402
from folds.store import RunDir  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--model", required=True, help="model or stack whose gain is measured")
    parser.add_argument("--versus", required=True, help="the model or stack it is compared with")
    parser.add_argument("--answers", help="a benchmark's test answers (CSV: index, prdtypecode): also the test gain")
    parser.add_argument("--resamples", type=int, default=RESAMPLES)
    args = parser.parse_args(argv)
    run = RunDir(args.run_dir)
    gain = paired_gain(run.train_labels(), run.model(args.model).oof(), run.model(args.versus).oof(),
                       resamples=args.resamples)
    print(f"{args.model} vs {args.versus}: OOF weighted F1 gain {gain.text()} (95% paired bootstrap, "
          f"{gain.resamples} resamples)")
    if args.answers:
        answers = pd.read_csv(args.answers, index_col=0)["prdtypecode"].reindex(run.test_index())
        y_test = run.classes().encode(answers.to_numpy())
        gain = paired_gain(y_test, run.model(args.model).test(), run.model(args.versus).test(),
                           resamples=args.resamples)
        print(f"{args.model} vs {args.versus}: test weighted F1 gain {gain.text()} ({len(y_test)} rows)")


if __name__ == "__main__":
    main()
