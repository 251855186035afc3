"""Count XLA compilations: every module XLA compiles is dumped to a folder (XLA's own
`--xla_dump_to` flag), so the number of distinct modules there is the number of compilations.

A model fed batches of many shapes compiles once per shape on a GPU (minutes per epoch at e5's
size): the rehearsal tests and benchmarks/gpu_check.py count them to keep that bounded. XLA reads
the flag when TensorFlow starts: set it in the environment of a new process (`environment`)."""
from __future__ import annotations

import os
from pathlib import Path


def environment(folder: str | Path, base: dict | None = None) -> dict:
    """`base` (default os.environ) with XLA dumping every compiled module into `folder`."""
    env = dict(os.environ if base is None else base)
    env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_dump_to={folder}".strip()
    return env


def compilations(folder: str | Path) -> int:
    """Modules compiled so far (each one dumps several files named module_<number>.*)."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    return len({name.split(".")[0] for name in os.listdir(folder) if name.startswith("module_")})


def dump_folder() -> Path | None:
    """The folder this process dumps into, if XLA_FLAGS names one."""
    for flag in os.environ.get("XLA_FLAGS", "").split():
        if flag.startswith("--xla_dump_to="):
            return Path(flag.split("=", 1)[1])
    return None
