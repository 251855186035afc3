"""Read a challenge folder (X_train_update.csv, Y_train_CVw08PX.csv, X_test_update.csv, images/)
and check it, so that every later stage can trust what it gets."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from challenge.errors import DataError, DataWarning, rows_preview

X_TRAIN = "X_train_update.csv"
Y_TRAIN = "Y_train_CVw08PX.csv"
X_TEST = "X_test_update.csv"
X_COLUMNS = ("designation", "description", "productid", "imageid")
LABEL_COLUMN = "prdtypecode"
FALLBACK_ENCODING = "cp1252"


@dataclass
class ChallengeData:
    """Train and test tables indexed by the challenge's product index.

    `train` and `test` carry designation, description, productid, imageid and image_path;
    `labels` holds prdtypecode aligned with `train`.
    """

    data_dir: Path
    train: pd.DataFrame
    labels: pd.Series
    test: pd.DataFrame

    def images_present(self, split: str) -> pd.Series:
        frame = self.train if split == "train" else self.test
        return frame["image_path"].map(lambda p: Path(p).is_file())


def image_path(data_dir: Path, split: str, imageid, productid) -> str:
    return str(data_dir / "images" / f"image_{split}" / f"image_{imageid}_product_{productid}.jpg")


def _first_undecodable_line(path: Path, encoding: str) -> int:
    """The file line (from 1) of the first byte `encoding` cannot decode; 0 if there is none."""
    raw = path.read_bytes()
    try:
        raw.decode(encoding)
    except UnicodeDecodeError as err:
        return raw.count(b"\n", 0, err.start) + 1
    return 0


def read_csv_with_fallback(path: Path, **read_csv_args) -> pd.DataFrame:
    """pd.read_csv as UTF-8, or else as cp1252 with a warning: spreadsheet tools on Windows save
    French text in cp1252. Bytes that neither can decode are a DataError naming the line."""
    try:
        return pd.read_csv(path, **read_csv_args)
    except UnicodeDecodeError:
        pass
    try:
        frame = pd.read_csv(path, encoding=FALLBACK_ENCODING, **read_csv_args)
    except UnicodeDecodeError as err:
        line = _first_undecodable_line(path, FALLBACK_ENCODING)
        raise DataError(f"{path} is neither UTF-8 nor {FALLBACK_ENCODING} text (line {line}: {err.reason}). "
                        f"Re-save it as 'CSV UTF-8' from the tool that made it.") from err
    warnings.warn(
        f"{path} is not UTF-8 (first non-UTF-8 byte on line {_first_undecodable_line(path, 'utf-8')}); "
        f"it was read as {FALLBACK_ENCODING} (Windows Western European, as Excel saves French text). "
        f"If accents look wrong, re-save the file as 'CSV UTF-8'.",
        DataWarning, stacklevel=3,
    )
    return frame


def _read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(
            f"{path} is missing. A challenge folder holds {X_TRAIN}, {Y_TRAIN} and {X_TEST} "
            f"(and images/image_train, images/image_test). Point --data-dir at the folder that "
            f"holds them, or run `python -m challenge.demo` to make the demo folder."
        )
    try:
        frame = read_csv_with_fallback(path, index_col=0)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DataError(f"{path} could not be read as CSV ({err}). Re-download or re-export it.") from err
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path} has no column {', '.join(repr(c) for c in missing)} (columns found: "
            f"{list(frame.columns)}). The first column must be the unnamed product index, "
            f"followed by {', '.join(required)}; rename the columns or re-export the file."
        )
    duplicated = frame.index[frame.index.duplicated()].unique()
    if len(duplicated):
        raise DataError(
            f"{path}: the index (first column) repeats for rows {rows_preview(duplicated)}. "
            f"Each product index must appear once; remove the duplicated rows."
        )
    return frame


def _check_text(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    frame = frame.copy()
    frame["description"] = frame["description"].fillna("").astype(str)
    frame["designation"] = frame["designation"].fillna("").astype(str)
    empty_title = frame["designation"].str.strip() == ""
    nothing = empty_title & (frame["description"].str.strip() == "")
    if nothing.any():
        raise DataError(
            f"{path}: rows {rows_preview(frame.index[nothing])} have neither a designation nor a "
            f"description, so no text model can read them. Fill in their designation (the product "
            f"title) or drop those rows."
        )
    if empty_title.any():
        # Documented choice: a product without a title is read from its description alone.
        warnings.warn(
            f"{path}: {int(empty_title.sum())} rows have an empty designation "
            f"({rows_preview(frame.index[empty_title], 5)}); their text comes from the description.",
            DataWarning, stacklevel=3,
        )
    return frame


def read_challenge(data_dir: str | Path) -> ChallengeData:
    """Read and validate a challenge folder; raise DataError with the fix when something is off."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(
            f"The data folder {data_dir} does not exist. Pass --data-dir with the folder that holds "
            f"{X_TRAIN}, {Y_TRAIN} and {X_TEST}; without --data-dir the demo folder is made for you."
        )
    x_train = _read_csv(data_dir / X_TRAIN, X_COLUMNS)
    y_train = _read_csv(data_dir / Y_TRAIN, (LABEL_COLUMN,))
    x_test = _read_csv(data_dir / X_TEST, X_COLUMNS)

    if len(x_train) != len(y_train) or not x_train.index.equals(y_train.index):
        only_x = x_train.index.difference(y_train.index)
        only_y = y_train.index.difference(x_train.index)
        detail = []
        if len(only_x):
            detail.append(f"rows {rows_preview(only_x)} are in {X_TRAIN} but not in {Y_TRAIN}")
        if len(only_y):
            detail.append(f"rows {rows_preview(only_y)} are in {Y_TRAIN} but not in {X_TRAIN}")
        if not detail:
            detail.append("the rows are in a different order")
        raise DataError(
            f"{data_dir}: {X_TRAIN} ({len(x_train)} rows) and {Y_TRAIN} ({len(y_train)} rows) do not "
            f"match: {'; '.join(detail)}. Both files must list the same product indices in the same "
            f"order; re-export them together."
        )
    labels = y_train[LABEL_COLUMN]
    if labels.isna().any():
        raise DataError(
            f"{data_dir / Y_TRAIN}: rows {rows_preview(labels.index[labels.isna()])} have no "
            f"prdtypecode. Every training row needs a label; drop or label those rows."
        )
    non_integer = pd.to_numeric(labels, errors="coerce").isna()
    if non_integer.any():
        raise DataError(
            f"{data_dir / Y_TRAIN}: rows {rows_preview(labels.index[non_integer])} have a prdtypecode "
            f"that is not an integer code (e.g. {str(labels[non_integer].iloc[0])!r}). Fix those labels."
        )
    overlap = x_train.index.intersection(x_test.index)
    if len(overlap):
        raise DataError(
            f"{data_dir}: product indices {rows_preview(overlap)} are in both {X_TRAIN} and {X_TEST}. "
            f"Test indices continue after the training ones; check that the files are not swapped."
        )

    x_train = _check_text(x_train, data_dir / X_TRAIN)
    x_test = _check_text(x_test, data_dir / X_TEST)
    for frame, split in ((x_train, "train"), (x_test, "test")):
        frame["image_path"] = [
            image_path(data_dir, split, i, p) for i, p in zip(frame["imageid"], frame["productid"])
        ]
    return ChallengeData(data_dir, x_train, labels.astype("int64").rename(LABEL_COLUMN), x_test)
