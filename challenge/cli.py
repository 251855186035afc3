"""What every command line shares: the data/run folder flags and turning DataError into a clean
message with a non-zero exit instead of a traceback."""
from __future__ import annotations

import argparse
import functools
import os
import sys

from challenge.quiet import VERBOSE_ENV, set_verbose
from challenge.quiet import install as install_quiet_tensorflow
from challenge.warning_lines import install as install_one_line_warnings

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


def parse_overrides(pairs: list[str]) -> dict:
    """`--set key=value` pairs -> {key: "value"}; the model's defaults give the values their types."""
    from challenge.errors import DataError

    overrides = {}
    for pair in pairs:
        if "=" not in pair:
            raise DataError(f"--set {pair!r}: write key=value, e.g. --set units=128.")
        key, value = pair.split("=", 1)
        overrides[key.strip()] = value.strip()
    return overrides


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


class _Verbose(argparse.Action):
    """Acts while the arguments are parsed, before anything imports TensorFlow."""

    def __call__(self, parser, namespace, values, option_string=None):
        set_verbose()
        setattr(namespace, self.dest, True)


def add_verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", action=_Verbose, nargs=0, default=False,
                        help=f"show TensorFlow's own start-up and C++ log lines (hidden by default; "
                             f"{VERBOSE_ENV}=1 does the same)")


# On import, i.e. before any command line imports TensorFlow: its start-up chatter hides the messages
# users need to read (challenge/quiet.py), and a warning is one line of ours (challenge/warning_lines.py).
install_quiet_tensorflow()
install_one_line_warnings()
