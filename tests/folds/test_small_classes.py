"""A class too small for the folds is refused with its prdtypecode, its row count as a plain number
and the fix: the most folds that work, or merging/dropping the class."""
import pandas as pd
import pytest

from challenge import DataError
from folds import make_folds


def message(labels, n_splits=5) -> str:
    with pytest.raises(DataError) as caught:
        make_folds(pd.Series(labels), n_splits)
    text = str(caught.value)
    assert "np." not in text and "int64" not in text  # plain numbers, not numpy reprs
    return text


def test_one_small_class_names_its_code_count_and_the_most_folds_that_work():
    text = message([10] * 20 + [2583] * 2)
    assert "prdtypecode 2583 has 2 rows" in text and "5 stratified folds" in text
    assert "--n-folds 2" in text and "merge class 2583" in text and "drop its 2 rows" in text
    assert len(make_folds(pd.Series([10] * 20 + [2583] * 2), 2).unique()) == 2  # and that fix works


def test_several_small_classes_are_listed_smallest_first_with_the_largest_n_that_works():
    text = message([10] * 20 + [40] * 4 + [50] * 3 + [60] * 30)
    assert "prdtypecodes 50 (3 rows), 40 (4 rows)" in text and "--n-folds 3" in text
    assert "60" not in text.split("Fix")[0]  # a class with enough rows is not named


def test_a_class_of_one_row_can_only_be_merged_or_dropped():
    text = message([10] * 20 + [40] * 1)
    assert "prdtypecode 40 has 1 row " in text and "merge class 40" in text and "--n-folds" not in text
    text = message([10] * 20 + [40] * 1 + [50] * 3)
    assert "merge/drop only 40 and pass --n-folds 3" in text


def keep_rows_of_one_class(data_dir, n: int) -> int:
    """Cut the demo folder's first class down to `n` training rows; returns its prdtypecode."""
    x_path, y_path = data_dir / "X_train_update.csv", data_dir / "Y_train_CVw08PX.csv"
    x, y = pd.read_csv(x_path, index_col=0), pd.read_csv(y_path, index_col=0)
    code = int(y["prdtypecode"].iloc[0])
    keep = ~y.index.isin(y.index[y["prdtypecode"] == code][n:])
    x[keep].to_csv(x_path)
    y[keep].to_csv(y_path)
    return code


def test_train_cli_prints_the_small_class_error_and_exit_status_2(data_copy, tmp_path, capsys):
    import json

    import numpy as np

    import train

    code = keep_rows_of_one_class(data_copy, 2)
    common = ["--model", "tfidf", "--data-dir", str(data_copy), "--quiet"]
    with pytest.raises(SystemExit) as exit_info:
        train.main([*common, "--fold", "0", "--run-dir", str(tmp_path / "run")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and f"prdtypecode {code} has 2 rows" in err and "--n-folds 2" in err
    assert "np.int64" not in err
    # The fix it names works for the default calibrated SVM too: each fold's training part holds one
    # row of that class, which its calibration keeps in every inner fold (temperature scaling).
    metrics = train.main([*common, "--run-dir", str(tmp_path / "run"), "--n-folds", "2"])
    oof = np.load(tmp_path / "run" / "tfidf" / "oof.npy")
    assert metrics is not None and np.allclose(oof.sum(axis=1), 1, atol=1e-3)  # every row predicted
    done = json.loads((tmp_path / "run" / "tfidf" / "fold0" / "done.json").read_text())
    assert done["calibration"] == "temperature, 3 folds"


def test_train_cli_refuses_a_class_of_one_row_with_the_fix(data_copy, tmp_path, capsys):
    import train

    code = keep_rows_of_one_class(data_copy, 1)
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--model", "tfidf", "--data-dir", str(data_copy), "--run-dir", str(tmp_path / "run"),
                    "--n-folds", "2", "--quiet"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and f"prdtypecode {code} has 1 row in the training labels" in err
    assert f"merge class {code}" in err and "drop its 1 row" in err
