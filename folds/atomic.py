"""Writes that never leave a half file behind: write to a temporary name, then rename.

A rename within one folder is atomic on POSIX, so a reader (or a re-run after `kill -9`) sees either
the old complete file or the new complete file, never a truncated one.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path

import numpy as np


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_bytes_atomic(path: Path, write) -> None:
    """Call `write(file_object)` on a temporary file, fsync it, then rename it onto `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_name(path)
    try:
        with open(temp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        if temp.exists():
            temp.unlink()


def save_npy(path: Path, array: np.ndarray) -> None:
    write_bytes_atomic(path, lambda f: np.save(f, array, allow_pickle=False))


def save_json(path: Path, payload) -> None:
    text = json.dumps(payload, indent=2, sort_keys=False, default=_jsonable)
    write_bytes_atomic(path, lambda f: f.write((text + "\n").encode()))


def save_text(path: Path, text: str) -> None:
    write_bytes_atomic(path, lambda f: f.write(text.encode()))


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@contextlib.contextmanager
def locked(path: Path):
    """An exclusive advisory lock held on `path` (a lock file) for the `with` block.

    Several `train.py --fold k` processes share one run directory; the shared files (folds.csv,
    classes.json, the assembled oof.npy) are created under this lock.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
