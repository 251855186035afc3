"""Challenge-format inputs: reading and validating the files, labels, text cleaning, demo data."""
from challenge.errors import DataError
from challenge.reader import ChallengeData, read_challenge
from challenge.labels import ClassIndex

__all__ = ["DataError", "ChallengeData", "read_challenge", "ClassIndex"]
