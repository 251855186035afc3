"""Challenge-format inputs: reading and validating the files, labels, text cleaning, demo data.

The names below load on first use (PEP 562): a command line imports challenge.cli without pandas,
so its --help answers at once."""
from importlib import import_module

_HOMES = {"DataError": "challenge.errors", "ChallengeData": "challenge.reader",
          "read_challenge": "challenge.reader", "ClassIndex": "challenge.labels"}

__all__ = list(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'challenge' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
