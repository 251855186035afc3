"""Human-readable names for prdtypecodes, read from a two-column CSV (prdtypecode,name).

The project ships docs/prdtypecode_names.csv with the 27 codes of the Rakuten challenge; it is used
by default when the run's codes are exactly those 27, so a run on other data (or on a subset of
codes reused for other classes, as in the benchmark sets) keeps plain codes.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from challenge.errors import DataError, rows_preview
from challenge.reader import read_csv_with_fallback

DEFAULT_NAMES = Path(__file__).resolve().parent.parent / "docs" / "prdtypecode_names.csv"


def read_code_names(path: str | Path) -> dict[int, str]:
    """{code: name} from a CSV whose header has `prdtypecode` and `name` columns."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} is missing. Pass --names with a CSV of two columns, prdtypecode,name "
                        f"(see {DEFAULT_NAMES.name} in docs/ for the challenge's codes).")
    try:
        frame = read_csv_with_fallback(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DataError(f"{path} could not be read as CSV ({err}). Save it as UTF-8 CSV with the "
                        f"header prdtypecode,name.") from err
    if not {"prdtypecode", "name"} <= set(frame.columns):
        raise DataError(f"{path} needs the columns prdtypecode and name (found {list(frame.columns)}). "
                        f"Rename the header to prdtypecode,name.")
    codes = pd.to_numeric(frame["prdtypecode"].str.strip(), errors="coerce")
    bad = frame.index[codes.isna() | (codes % 1 != 0)]
    if len(bad):
        raise DataError(f"{path}: data rows {rows_preview(bad + 1)} have a prdtypecode that is not an "
                        f"integer (e.g. {frame.loc[bad[0], 'prdtypecode']!r}). Fix those rows.")
    codes = codes.astype("int64")
    repeated = frame.index[codes.duplicated(keep=False)]
    if len(repeated):
        raise DataError(f"{path}: data rows {rows_preview(repeated + 1)} name the same prdtypecode "
                        f"twice ({sorted({int(c) for c in codes[repeated]})}). Keep one name per code.")
    return {int(c): n.strip() for c, n in zip(codes, frame["name"])}


NO_NAMES = "none"


def names_for_run(codes: list[int], path: str | Path | None = None) -> dict[int, str]:
    """Names for the run's codes: from `path` when given ('none': no names), else the shipped
    challenge list when the run has exactly its codes, else none (the report shows bare codes)."""
    if str(path) == NO_NAMES:
        return {}
    if path is not None:
        return read_code_names(path)
    known = read_code_names(DEFAULT_NAMES) if DEFAULT_NAMES.is_file() else {}
    return known if set(codes) == set(known) else {}


def code_label(code: int, names: dict[int, str], short: bool = False) -> str:
    """'2583 (piscine/spa / pool & spa)' for sentences, '2583 piscine/spa' (the part before
    ' / ') with `short` for figure axes, or '2583' when the code has no name."""
    name = names.get(int(code))
    if not name:
        return str(code)
    return f"{code} {name.split(' / ')[0]}" if short else f"{code} ({name})"
