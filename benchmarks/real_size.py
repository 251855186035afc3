#!/usr/bin/env python
"""The pipeline at the challenge's real size: minutes and peak memory of every step.

    python benchmarks/real_size.py                                  # everything, 5 folds, 85k / 14k rows
    python benchmarks/real_size.py --steps data,folds,tfidf --folds 0
    python benchmarks/real_size.py --steps text_cnn --folds 0 --epochs 1
    python benchmarks/real_size.py --steps e5_finetune --folds 0 --epochs 1
    python benchmarks/real_size.py --steps data,images --images 2000 --image-counts 500,2000
    python benchmarks/real_size.py --steps images --image-counts 2000,20000,98728 --image-size 128

Writes a generated challenge folder (benchmarks/real_size_data.py: real row and class counts,
~10-word titles, HTML descriptions empty for 35% of rows; --images N 500x500 JPEGs) into --data-dir,
then runs each step as its own process (the same commands a user types) and records wall minutes,
CPU minutes (user + system) and peak resident memory (max RSS, from os.wait4) of that process.
Results accumulate in RUN_DIR/real_size.json, so the steps can be run in pieces; the table printed
at the end holds every step measured in that run directory so far.

Steps: data, folds, clean_text, tfidf (one row per fold), text_cnn (one row per fold, the night
recipe's settings, --epochs), effnet_lite0 (one row per fold, the night recipe's settings: features
of every image, plain and mirrored, then the head), e5 and e5_finetune (one row per fold, the text
recipe's settings; the first fold encodes or caches every row, --folds 0 --epochs 1 times the
fine-tuning's cached states and one epoch), stack (LightGBM stack of --stack-models), submit
(submission + its row count), stack_synthetic (--synthetic-models generated models of the real
shape, then their LightGBM stack), images (feature extraction of the first N train + test JPEGs
with the night recipe's image settings, one row per --image-counts N, each in a fresh process; the
largest N, when it is every image, fills the feature cache the effnet_lite0 step then reads; without
the data step it uses the JPEGs already in --data-dir).

--timer CMD runs each step as `CMD LABEL -- command` (e.g. `--timer ../shared/tools/timed`, which
waits for idle cores and logs each step to benchmarks/timed.log); the figures recorded are then
that tool's, with the load average before the step.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from challenge import quiet  # noqa: E402  (the --inline image step imports TensorFlow)

quiet.install()

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("data", "folds", "clean_text", "tfidf", "text_cnn", "effnet_lite0", "e5", "e5_finetune", "stack", "submit",
         "stack_synthetic", "images")
# which recipe's settings each trained step times: the night recipe's models, the text recipe's transformers
STEP_RECIPE = {"tfidf": "night", "text_cnn": "night", "effnet_lite0": "night", "e5": "text", "e5_finetune": "text"}
DEFAULT_STEPS = ("data", "folds", "clean_text", "tfidf", "text_cnn", "stack", "submit", "stack_synthetic")
# The steps run in ROOT, and their commands are logged (a timer's log is committed): the interpreter and
# this script as a user types them there, not as this machine's absolute paths.
PYTHON = os.path.relpath(sys.executable, ROOT) if Path(sys.executable).is_relative_to(ROOT) else sys.executable
SCRIPT = Path(__file__).resolve().relative_to(ROOT).as_posix()


def measured(argv: list[str], log) -> dict:
    """Run argv to completion; its wall and CPU minutes and peak memory (GB, max RSS of the process
    and the children it waited for)."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return {"wall_min": (time.perf_counter() - started) / 60, "cpu_min": (usage.ru_utime + usage.ru_stime) / 60,
            "peak_gb": usage.ru_maxrss / 1024 ** 2, "exit": process.returncode}


def timer_figures(timed_log: Path, name: str) -> dict:
    """The last line the timer wrote for `name` (tab-separated key=value fields), as minutes and GB."""
    lines = [line.split("\t") for line in timed_log.read_text().splitlines()] if timed_log.is_file() else []
    fields = next((dict(f.split("=", 1) for f in line[2:] if "=" in f) for line in reversed(lines)
                   if len(line) > 2 and line[1] == name), None)
    if not fields:
        return {}
    return {"wall_min": float(fields["wall_s"]) / 60, "cpu_min": float(fields["cpu_s"]) / 60,
            "peak_gb": int(fields["peak_MB"]) / 1024, "load_before": float(fields["load_before"])}


def slug(label: str) -> str:
    return "real_size-" + label.replace(" ", "_").replace(",", "")


def step_commands(step: str, args) -> list[tuple[str, list[str], str]]:
    """(label, argv, note) for each process of a step."""
    py, common = PYTHON, ["--data-dir", args.data_dir, "--run-dir", args.run_dir]
    inline = [py, SCRIPT, *common, "--train", str(args.train), "--test", str(args.test),
              "--images", str(args.images), "--synthetic-models", str(args.synthetic_models),
              "--image-size", str(args.image_size), "--inline"]
    folds = range(5) if args.folds == "all" else [int(k) for k in args.folds.split(",")]
    if step in ("data", "folds", "clean_text"):
        return [(step, inline + [step], "")]
    if step == "stack_synthetic":
        names = ",".join(f"synthetic{m}" for m in range(args.synthetic_models))
        return [("synthetic models", inline + [step], f"{args.synthetic_models} models of the real shape"),
                (f"stack lgbm, {args.synthetic_models} synthetic", [py, "-m", "ensemble", "--method", "lgbm",
                 "--models", names, "--run-dir", str(Path(args.run_dir) / "synthetic")], "")]
    if step == "images":
        return [(f"images {n}", inline + [f"images:{n}"], f"{n} JPEGs, {args.image_size}px, multilevel, crop")
                for n in map(int, args.image_counts.split(","))]
    if step in STEP_RECIPE:
        settings = {**recipe_settings(STEP_RECIPE[step], step), **step_epochs(step, args)}
        train = [py, "train.py", "--model", step, *common, "--quiet", *(f"--set={k}={v}" for k, v in settings.items())]
        note = {"text_cnn": f"{settings.get('epochs')} epoch(s)", "e5_finetune": f"{settings.get('epochs', 'all')} epoch(s)",
                "effnet_lite0": f"{settings.get('image_size')}px"}.get(step, "")
        return [(f"{step} fold {k}", train + ["--fold", str(k)], note) for k in folds]
    if step == "stack":
        return [(f"{args.stack_name} ({args.stack_models})",
                 [py, "-m", "ensemble", "--method", "lgbm", "--models", args.stack_models, "--name", args.stack_name,
                  "--run-dir", args.run_dir], args.stack_models.replace(",", " + "))]
    if step == "submit":
        return [(f"submit {args.stack_name}", [py, "submit.py", "--run-dir", args.run_dir, "--source", args.stack_name,
                                               "--out", str(submission_path(args))], "")]
    raise ValueError(step)


def run_inline(step: str, args) -> None:
    """The Python-only steps, run inside the measured child process."""
    if step == "data":
        from benchmarks.real_size_data import make_real_size

        make_real_size(args.data_dir, args.train, args.test, args.images)
        return
    from challenge.reader import read_challenge
    from folds.store import RunDir

    data = read_challenge(args.data_dir)
    run = RunDir(args.run_dir)
    if step == "folds":
        run.prepare(data)
    elif step == "clean_text":
        from challenge.text import clean_corpus, product_text

        for fields in ("designation", "description"):
            clean_corpus(product_text(data.train, fields), [product_text(data.test, fields)], use_stopwords=True)
    elif step == "stack_synthetic":
        from benchmarks.synthetic_oof import write_synthetic_models

        synthetic = RunDir(Path(args.run_dir) / "synthetic")
        synthetic.prepare(data)
        write_synthetic_models(synthetic, args.synthetic_models)
    elif step.startswith("images:"):
        extract_images(data, int(step.split(":")[1]), args.image_size)


def recipe_settings(recipe: str, model: str) -> dict:
    """The settings `recipe` (recipebook/recipes.py) gives `model`, so the steps time what the recipe runs."""
    from recipebook.recipes import RECIPES

    return next((step.get("set", {}) for step in RECIPES[recipe]["models"] if step["model"] == model), {})


def step_epochs(step: str, args) -> dict:
    """--epochs for text_cnn (default 3, the night recipe's) and e5_finetune (default: the recipe's)."""
    if step == "text_cnn":
        return {"epochs": args.epochs or 3}
    return {"epochs": args.epochs} if step == "e5_finetune" and args.epochs else {}


def extract_images(data, n: int, image_size: int) -> None:
    """Features of the first n train + test images with the night recipe's image settings, into the
    project's feature cache (the effnet_lite0 step reads the same entry when n is every image)."""
    import pandas as pd

    from models.image.backbones import get_backbone
    from models.image.image_features import extract_features
    from models.image.image_transfer import DEFAULTS

    settings = {**DEFAULTS, "multilevel": True, **recipe_settings("night", "effnet_lite0"), "image_size": image_size}
    paths = [p for p in pd.concat([data.train["image_path"], data.test["image_path"]]).iloc[:n] if Path(p).is_file()]
    if len(paths) < n:
        raise SystemExit(f"only {len(paths)} of the first {n} JPEGs are in the data folder; "
                         f"make them with --steps data --images {n}")
    extract_features(get_backbone("effnet_lite0"), image_size, paths, settings["extract_batch_size"],
                     cache_dir=settings["cache_dir"], verbose=1, multilevel=settings["multilevel"],
                     crop=settings["crop_background"] in (True, "true", "True"))


def record(results_path: Path, label: str, result: dict) -> dict:
    table = json.loads(results_path.read_text()) if results_path.is_file() else {}
    table[label] = result
    results_path.write_text(json.dumps(table, indent=1))
    return table


def format_table(table: dict) -> str:
    lines = ["| step | wall min | CPU min | peak GB | load before | note |", "|---|---:|---:|---:|---:|---|"]
    for label, r in table.items():
        failed = f" (exit {r['exit']})" if r["exit"] else ""
        load = f"{r['load_before']:.2f}" if "load_before" in r else ""
        lines.append(f"| {label} | {r['wall_min']:.2f} | {r['cpu_min']:.2f} | {r['peak_gb']:.2f} | {load} | "
                     f"{r.get('note', '')}{failed} |")
    return "\n".join(lines)


def submission_path(args) -> Path:
    return Path(args.run_dir) / f"submission-{args.stack_name}.csv"


def check_submission(args) -> str:
    import pandas as pd

    rows = len(pd.read_csv(submission_path(args), index_col=0))
    return f"{rows} rows ({'as expected' if rows == args.test else f'expected {args.test}'})"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="real_size_data", help="generated challenge folder (default real_size_data)")
    parser.add_argument("--run-dir", default="runs/real_size", help="run directory (default runs/real_size)")
    parser.add_argument("--steps", default=",".join(DEFAULT_STEPS), help=f"comma-separated, of {', '.join(STEPS)}")
    parser.add_argument("--folds", default="all", help="folds to train: 'all' or a list like 0,1 (default all)")
    parser.add_argument("--train", type=int, default=84916, help="training rows (default 84916, the challenge's)")
    parser.add_argument("--test", type=int, default=13812, help="test rows (default 13812)")
    parser.add_argument("--images", type=int, default=0, help="data: 500x500 JPEGs for the first N products (default 0)")
    parser.add_argument("--image-counts", default="500,2000", help="images: extraction sizes to measure (default 500,2000)")
    parser.add_argument("--image-size", type=int, default=128, help="images: backbone input size (default 128, "
                                                                     "the night recipe's)")
    parser.add_argument("--epochs", type=int, default=None, help="text_cnn: epochs per fold (default 3, the night "
                                                               "recipe's); e5_finetune: (default the text recipe's)")
    parser.add_argument("--stack-models", default="tfidf,text_cnn",
                        help="stack: the models stacked (default tfidf,text_cnn; the night recipe adds effnet_lite0)")
    parser.add_argument("--stack-name", default="stack-lgbm", help="stack, submit: the stack's folder (default "
                                                                    "stack-lgbm)")
    parser.add_argument("--timer", help="run each step as `TIMER LABEL -- command` and record the timer's "
                                        "figures (e.g. ../shared/tools/timed)")
    parser.add_argument("--synthetic-models", type=int, default=5, help="stack_synthetic: models (default 5)")
    parser.add_argument("--inline", help=argparse.SUPPRESS)
    return parser


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    if args.inline:
        run_inline(args.inline, args)
        return {}
    steps = args.steps.split(",")
    unknown = set(steps) - set(STEPS)
    if unknown:
        raise SystemExit(f"unknown steps {sorted(unknown)}; choose from {', '.join(STEPS)}")
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    table = {}
    with open(run_dir / "real_size.log", "a") as log:
        for step in steps:
            for label, command, note in step_commands(step, args):
                print(f"{label} ...", flush=True)
                log.write(f"\n== {label}: {' '.join(command)}\n")
                log.flush()
                if args.timer:
                    result = measured([*args.timer.split(), slug(label), "--", *command], log)
                    result = {**result, **timer_figures(ROOT / os.environ.get("TIMED_LOG", "benchmarks/timed.log"),
                                                        slug(label))}
                else:
                    result = measured(command, log)
                if step == "submit" and result["exit"] == 0:
                    note = check_submission(args)
                table = record(run_dir / "real_size.json", label, {**result, "note": note})
                print(f"  {result['wall_min']:.2f} min wall, {result['cpu_min']:.2f} CPU min, "
                      f"{result['peak_gb']:.2f} GB peak{'' if not result['exit'] else ', FAILED: see ' + log.name}",
                      flush=True)
    print(format_table(table))
    return table


if __name__ == "__main__":
    main()
