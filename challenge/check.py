"""Validate a challenge folder before training and print what is in it.

    python -m challenge.check --data-dir rakuten        (or: make check DATA=rakuten)

Reads and checks the three CSVs (the same checks every command makes), then prints rows, classes
with their counts, empty descriptions and titles, and image files found or missing. Exit status 2
when something must be fixed, with the message saying what and where.
"""
from __future__ import annotations

import argparse
import sys

from challenge.cli import add_data_dir, friendly_errors, load_data
from challenge.errors import DataError, rows_preview


def summarise(data) -> dict:
    images = {split: data.images_present(split) for split in ("train", "test")}
    return {
        "train_rows": len(data.train),
        "test_rows": len(data.test),
        "classes": data.labels.value_counts().sort_index().to_dict(),
        "empty_descriptions": {s: int((f["description"].str.strip() == "").sum())
                               for s, f in (("train", data.train), ("test", data.test))},
        "empty_titles": {s: int((f["designation"].str.strip() == "").sum())
                         for s, f in (("train", data.train), ("test", data.test))},
        "images_found": {s: int(p.sum()) for s, p in images.items()},
        "images_missing": {s: list(p.index[~p]) for s, p in images.items()},
    }


def print_summary(summary: dict, data_dir) -> None:
    print(f"{data_dir}: {summary['train_rows']} training rows, {summary['test_rows']} test rows")
    counts = summary["classes"]
    largest = max(counts.values())
    print(f"{len(counts)} classes (largest {largest}, smallest {min(counts.values())}, "
          f"imbalance {largest / min(counts.values()):.1f}x):")
    for code, count in counts.items():
        print(f"  {code:>6}  {count:>6}  {'#' * max(1, round(40 * count / largest))}")
    for split in ("train", "test"):
        rows = summary[f"{split}_rows"]
        print(f"{split}: empty descriptions {summary['empty_descriptions'][split]} "
              f"({summary['empty_descriptions'][split] / rows:.0%}), empty titles "
              f"{summary['empty_titles'][split]}, images found {summary['images_found'][split]}/{rows}")


@friendly_errors
def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m challenge.check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_dir(parser)
    parser.add_argument("--text-only", action="store_true",
                        help="do not require images (text-only data such as debfr-public)")
    args = parser.parse_args(argv)
    data = load_data(args.data_dir)
    summary = summarise(data)
    print_summary(summary, args.data_dir)
    missing = {s: rows for s, rows in summary["images_missing"].items() if rows}
    if missing and not args.text_only:
        split, rows = next(iter(missing.items()))
        frame = data.train if split == "train" else data.test
        raise DataError(
            f"{sum(map(len, missing.values()))} image files are missing (e.g. {split} rows "
            f"{rows_preview(rows, 5)}; row {rows[0]} expects {frame.loc[rows[0], 'image_path']}). Copy the images to {args.data_dir}/images/image_train|image_test/, or pass "
            f"--text-only if you train text models only."
        )
    print("OK: the folder is ready for training.")
    return summary


if __name__ == "__main__":
    main()
    sys.exit(0)
