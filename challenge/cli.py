"""What every command line shares: the data/run folder flags and turning DataError into a clean
message with a non-zero exit instead of a traceback."""
from __future__ import annotations

import argparse
import functools
import os
import sys

DEFAULT_DATA_DIR = "demo_data"
DEFAULT_RUN_DIR = "runs/default"


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                        help=f"challenge folder with X_train_update.csv, Y_train_CVw08PX.csv, "
                             f"X_test_update.csv and images/ (default: {DEFAULT_DATA_DIR}, the demo "
                             f"data, made on first use)")


def add_run_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-dir", default=DEFAULT_RUN_DIR,
                        help=f"run directory shared by every model of a run (default: {DEFAULT_RUN_DIR})")


def load_data(data_dir: str):
    from challenge.demo import ensure_demo
    from challenge.reader import read_challenge

    if data_dir == DEFAULT_DATA_DIR:
        ensure_demo(data_dir)
    return read_challenge(data_dir)


def friendly_errors(main):
    """Run a CLI main; a DataError becomes 'error: <message>' on stderr and exit status 2."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        from challenge.errors import DataError

        try:
            return main(*args, **kwargs)
        except DataError as err:
            print(f"error: {err}", file=sys.stderr)
            if os.environ.get("ESHOPPYE_DEBUG"):
                raise
            sys.exit(2)

    return wrapper


def quiet_tensorflow() -> None:
    """TensorFlow's C++ start-up chatter hides the messages users need to read."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


# Set on import, before any CLI imports TensorFlow.
quiet_tensorflow()
