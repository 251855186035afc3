"""The first minutes with each command line (issue 19): --help and argument errors answer without
importing TensorFlow or the other slow libraries, and a run that does import TensorFlow prints none
of its start-up logging and no library warning.

Each command runs in a fresh process through RUNNER, which reports the modules it imported: an
import count, unlike a timing, does not depend on how busy the machine is.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SLOW_LIBRARIES = ("tensorflow", "keras", "keras_hub", "keras_tuner", "lightgbm", "sklearn")
IMPORTED = "imported slow libraries: "

# Runs `python SCRIPT ARGS...` or `python -m MODULE ARGS...` as the shell would, then prints which
# of the slow libraries it imported as the last line of stdout; exits with the command's status.
RUNNER = f"""
import json, runpy, sys
args = sys.argv[1:]
status = 0
try:
    if args[0] == "-m":
        sys.argv = args[1:]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = args
        sys.path.insert(0, "")
        runpy.run_path(args[0], run_name="__main__")
except SystemExit as stop:
    status = stop.code if isinstance(stop.code, int) else (stop.code is not None)
sys.stdout.flush()
print({IMPORTED!r} + json.dumps([m for m in {SLOW_LIBRARIES!r} if m in sys.modules]))
sys.exit(status)
"""

ENTRY_POINTS = {
    "train": ["train.py"],
    "tune": ["tune.py"],
    "submit": ["submit.py"],
    "recipes": ["recipes.py"],
    "report": ["report.py"],
    "ensemble": ["-m", "ensemble"],
    "check": ["-m", "challenge.check"],
    "real_size": ["benchmarks/real_size.py"],
}

# TensorFlow's and absl's start-up logging, in any of its forms.
STARTUP_NOISE = re.compile(r"[IWEF]\d{4} \d\d:\d\d|absl::InitializeLog|cuInit|cuda|oneDNN|cpu_feature_guard",
                           re.IGNORECASE)


def run_entry_point(command: list[str], env: dict | None = None) -> tuple[subprocess.CompletedProcess, list[str]]:
    result = subprocess.run([sys.executable, "-c", RUNNER, *command], cwd=ROOT, capture_output=True, text=True,
                            env=env, timeout=600)
    *_, last = result.stdout.strip().splitlines() or [""]
    assert last.startswith(IMPORTED), result.stdout + result.stderr
    return result, json.loads(last[len(IMPORTED):])


def clean_env() -> dict:
    """The environment of a user's shell: no logging settings from the test session."""
    drop = ("TF_CPP_MIN_LOG_LEVEL", "ESHOPPYE_VERBOSE")
    return {key: value for key, value in os.environ.items() if key not in drop}


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_help_imports_no_slow_library(name):
    result, imported = run_entry_point([*ENTRY_POINTS[name], "--help"], env=clean_env())
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
    assert imported == [], f"{name} --help imported {imported}"
    assert result.stderr == ""


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_argument_errors_import_no_slow_library(name):
    result, imported = run_entry_point([*ENTRY_POINTS[name], "--no-such-option"], env=clean_env())
    assert result.returncode == 2
    assert "unrecognized arguments: --no-such-option" in result.stderr
    assert imported == []


@pytest.mark.parametrize("script", ["train.py", "tune.py"])
def test_an_unknown_model_is_refused_before_tensorflow_loads(script, tmp_path):
    result, imported = run_entry_point([script, "--model", "resnet9000", "--run-dir", str(tmp_path / "r")],
                                       env=clean_env())
    assert result.returncode == 2
    assert result.stderr.startswith("error: Unknown model 'resnet9000'. Registered models: ")
    assert "bilstm" in result.stderr and "effnet_lite0" in result.stderr
    assert "tensorflow" not in imported


def test_help_lists_the_models_with_their_inputs():
    result, _ = run_entry_point(["train.py", "--help"])
    assert re.search(r"^\s+effnet_lite0\s+image\s+EfficientNet-Lite0", result.stdout, re.MULTILINE)
    assert re.search(r"^\s+tfidf\s+text\s+", result.stdout, re.MULTILINE)


def test_a_training_run_prints_no_tensorflow_start_up_lines_nor_warnings(demo_dir, tmp_path):
    command = ["train.py", "--model", "bilstm", "--fold", "0", "--epochs", "1", "--set", "units=8",
               "--set", "max_tokens=500", "--data-dir", str(demo_dir), "--run-dir", str(tmp_path / "r"), "--quiet"]
    result, imported = run_entry_point(command, env=clean_env())
    assert result.returncode == 0, result.stderr
    assert "tensorflow" in imported  # else this test proves nothing
    noise = [line for line in result.stderr.splitlines() if STARTUP_NOISE.search(line)]
    assert noise == [], "\n".join(noise)
    warnings = [line for line in result.stderr.splitlines() if "warning" in line.lower() or "retracing" in line]
    assert warnings == [], "\n".join(warnings)
    assert "bilstm fold 0: weighted F1" in result.stdout


# Python's warning header (`path/to/reader.py:66: DataWarning: ...`) and a C++ log line of TensorFlow's.
PYTHON_WARNING_HEADER = re.compile(r"^\S.*:\d+: \w*Warning: ")
TENSORFLOW_LOG_LINE = re.compile(r"^[IWEF]\d{4} ")


def test_a_demo_style_run_warns_in_one_line_of_ours_and_tensorflow_says_nothing(data_copy, tmp_path):
    """A run that both warns (cp1252 CSVs) and imports TensorFlow: its stderr holds our warnings, one
    line each, and neither Python's warning header with its quoted source line nor a TensorFlow line."""
    from tests.challenge.test_encoding import FRENCH, save_as_cp1252

    for name in ("X_train_update.csv", "X_test_update.csv"):
        save_as_cp1252(data_copy / name, {row + (300 if "test" in name else 0): text for row, text in FRENCH.items()})
    command = ["train.py", "--model", "bilstm", "--fold", "0", "--epochs", "1", "--set", "units=8",
               "--set", "max_tokens=500", "--data-dir", str(data_copy), "--run-dir", str(tmp_path / "r"), "--quiet"]
    result, imported = run_entry_point(command, env=clean_env())
    assert result.returncode == 0, result.stderr
    assert "tensorflow" in imported
    lines = result.stderr.splitlines()
    assert [line for line in lines if PYTHON_WARNING_HEADER.search(line) or TENSORFLOW_LOG_LINE.search(line)
            or line.strip() == "warnings.warn("] == []
    ours = [line for line in lines if line.startswith("warning: ")]
    assert len(ours) == 2 and all(" is not UTF-8 " in line and "cp1252" in line for line in ours), lines
