"""Warnings printed as one line of ours, `warning: <message>`, like the commands' `error: <message>`.

Python's own form starts with the warning's file and line and quotes the source line that raised it
(`/path/to/challenge/reader.py:66: DataWarning: ...` then `  warnings.warn(`): a user reads a
traceback into it, and it names folders of the machine. The project's warnings (DataWarning) already
say what happened and what to do; a library's warning keeps its category and the package it came
from, so that it can still be looked up.
"""
from __future__ import annotations

import warnings
from pathlib import PurePath

from challenge.errors import DataWarning


def origin(filename: str) -> str:
    """The installed package a file belongs to (`keras` for .../site-packages/keras/src/x.py), or the
    file's own name outside an installation."""
    parts = PurePath(filename).parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts and parts.index(marker) + 1 < len(parts):
            return PurePath(parts[parts.index(marker) + 1]).stem
    return PurePath(filename).name


def one_line(message, category, filename, lineno, line=None) -> str:
    """warnings.formatwarning's signature, our form: no path, no line number, no source line."""
    text = " ".join(str(message).split())
    if issubclass(category, DataWarning):
        return f"warning: {text}\n"
    return f"warning: {text} ({category.__name__} from {origin(filename)})\n"


def install() -> None:
    """Every warning this process prints (warnings.showwarning writes what formatwarning returns)."""
    warnings.formatwarning = one_line
