"""One exception type for every problem a user can fix in their inputs or run directory.

The CLIs catch it and print its message (which names the file, the rows and the fix) with a
non-zero exit status instead of a traceback.
"""


class DataError(Exception):
    """A problem with the user's files, with a message that says how to fix it."""


class DataWarning(UserWarning):
    """Something odd in the user's files that the toolkit worked around (it says how)."""


def rows_preview(rows, limit: int = 10) -> str:
    """'3, 17, 42 (and 5 more)' for error messages."""
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" (and {len(rows) - limit} more)" if len(rows) > limit else "")
