"""CSVs saved by Windows spreadsheet tools (cp1252, a superset of Latin-1) are read, with a warning."""
import re

import pandas as pd
import pytest

from challenge import DataError, read_challenge
from challenge.errors import DataWarning

FRENCH = {3: "Crème brûlée à l'œuf, 9,99 €", 7: "Garçon de café élégant, façon années 80"}


def save_as_cp1252(path, texts=FRENCH):
    """Rewrite the challenge CSV at `path` in cp1252 with `texts` as the designation of some rows."""
    frame = pd.read_csv(path, index_col=0)
    for row, text in texts.items():
        frame.loc[row, "designation"] = text
    frame.to_csv(path, encoding="cp1252")
    return frame


def test_a_cp1252_csv_is_decoded_with_a_warning_naming_the_file(data_copy):
    path = data_copy / "X_train_update.csv"
    save_as_cp1252(path)
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # the test file really is not UTF-8
    with pytest.warns(DataWarning, match=re.escape(str(path)) + r" is not UTF-8 .*line \d+.*cp1252") as caught:
        data = read_challenge(data_copy)
    assert len([w for w in caught if issubclass(w.category, DataWarning)]) == 1  # only the file that needed it
    for row, text in FRENCH.items():
        assert data.train.loc[row, "designation"] == text


def test_a_utf8_folder_reads_without_the_warning(data_copy, recwarn):
    path = data_copy / "X_test_update.csv"
    frame = pd.read_csv(path, index_col=0)
    frame.loc[frame.index[0], "designation"] = FRENCH[3]
    frame.to_csv(path)  # UTF-8
    data = read_challenge(data_copy)
    assert data.test["designation"].iloc[0] == FRENCH[3]
    assert not [w for w in recwarn if issubclass(w.category, DataWarning)]


def test_bytes_that_no_encoding_reads_are_an_error_naming_file_and_line(data_copy):
    path = data_copy / "Y_train_CVw08PX.csv"
    lines = path.read_bytes().split(b"\n")
    lines[4] = lines[4] + b"\x81"  # undefined in cp1252 too
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(DataError, match=re.escape(str(path)) + r" is neither UTF-8 nor cp1252 text \(line 5"):
        read_challenge(data_copy)


def test_a_cp1252_class_names_csv_is_read_too(tmp_path):
    from reporting.names import read_code_names

    path = tmp_path / "names.csv"
    path.write_bytes('prdtypecode,name\n10,livres d\'occasion\n40,"jeux vidéo, pièces"\n'.encode("cp1252"))
    with pytest.warns(DataWarning, match=re.escape(str(path))):
        names = read_code_names(path)
    assert names == {10: "livres d'occasion", 40: "jeux vidéo, pièces"}


def test_training_goes_on_with_a_cp1252_folder(data_copy, tmp_path):
    import train
    from folds import RunDir

    for name in ("X_train_update.csv", "X_test_update.csv"):
        save_as_cp1252(data_copy / name, {row + (300 if "test" in name else 0): text
                                          for row, text in FRENCH.items()})
    run_dir = tmp_path / "run"
    with pytest.warns(DataWarning) as caught:
        train.main(["--model", "tfidf", "--fold", "0", "--data-dir", str(data_copy), "--run-dir", str(run_dir),
                    "--quiet"])
    warned = " ".join(str(w.message) for w in caught)
    assert "X_train_update.csv is not UTF-8" in warned and "X_test_update.csv is not UTF-8" in warned
    assert RunDir(run_dir).model("tfidf").fold_done(0)
