"""No tracked file names a folder of the machine it was written on (a home directory, the work or
temporary folders, an interpreter's install): such a path means nothing on a reader's machine, and
says more about the developer's than it should. Commands in committed logs and docs are written
relative to the repository (benchmarks/timed.log: `.venv/bin/python train.py --data-dir ../data`)."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# work, root's home, temporary folders, conda: joined at run time, so this file names none of them itself
MACHINE_FOLDERS = ("work", "root", "tmp", "var" + "/tmp", "var" + "/folders", "opt" + "/conda")
MACHINE_PATH = re.compile(
    r"(?<![\w.~-])(?:"
    r"/(?:" + "|".join(MACHINE_FOLDERS) + r")/"
    r"|/(?:home|Users)/[^/\s]+/"  # a user's home (Linux, macOS)
    r"|[A-Za-z]:\\Users\\"  # a user's home (Windows)
    r")"
    r"|/\.pyenv/"  # an interpreter installed by pyenv, wherever its home is
)


def machine_paths(text: str) -> list[tuple[int, str]]:
    """(line number, the path's start) of every machine path in `text`."""
    return [(number, match.group(0)) for number, line in enumerate(text.splitlines(), 1)
            for match in MACHINE_PATH.finditer(line)]


def tracked_texts(root: Path):
    """(relative path, text) of every tracked file; a link's text is its target, binary files are skipped."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    for relative in filter(None, listed.stdout.decode().split("\0")):
        path = root / relative
        if path.is_symlink():
            yield relative, os.readlink(path)
        elif path.is_file():
            data = path.read_bytes()
            if b"\0" not in data:
                yield relative, data.decode("utf-8", errors="replace")


def test_no_tracked_file_names_a_folder_of_the_machine():
    found = [f"{relative}:{number}: {path}" for relative, text in tracked_texts(REPO)
             for number, path in machine_paths(text)]
    assert not found, ("tracked files name folders of the machine they were written on; write them relative to "
                       "the repository (../data, runs/x, .venv/bin/python):\n" + "\n".join(found[:40]))


def rooted(*parts: str) -> str:
    """A path from the root, built at run time: the samples below must not be machine paths in this
    file's own text (the test above reads it too)."""
    return "/" + "/".join(parts)


@pytest.mark.parametrize("line, flagged", [
    (f"wall_s=3.1\t{rooted('work', 'main', '.venv', 'bin', 'python')} train.py", rooted("work", "")),
    (f"--data-dir {rooted('home', 'alice', 'rakuten')}", rooted("home", "alice", "")),
    (f"File \"{rooted('Users', 'bob', 'src', 'train.py')}\", line 3", rooted("Users", "bob", "")),
    ("C:" + "\\" + "Users" + "\\" + "carol", "C:" + "\\" + "Users" + "\\"),
    (rooted("usr", "local", ".pyenv", "versions", "3.12.1"), rooted(".pyenv", "")),
    (f"tempfile gave {rooted('tmp', 'pytest-of-x', 'y')}", rooted("tmp", "")),
    (".venv/bin/python train.py --data-dir ../shared/bench/debfr-public --run-dir runs/x", None),
    (f"see docs{rooted('work', 'notes.md')} and src{rooted('tmp', 'x')}", None),
])
def test_the_check_flags_machine_folders_and_passes_relative_ones(line, flagged):
    assert machine_paths(f"first line\n{line}") == ([(2, flagged)] if flagged else [])
