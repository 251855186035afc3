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


def test_train_cli_prints_the_small_class_error_and_exit_status_2(data_copy, tmp_path, capsys):
    import train

    x_path, y_path = data_copy / "X_train_update.csv", data_copy / "Y_train_CVw08PX.csv"
    x, y = pd.read_csv(x_path, index_col=0), pd.read_csv(y_path, index_col=0)
    code = int(y["prdtypecode"].iloc[0])
    keep = ~y.index.isin(y.index[y["prdtypecode"] == code][2:])  # that class keeps 2 rows
    x[keep].to_csv(x_path)
    y[keep].to_csv(y_path)
    common = ["--model", "tfidf", "--fold", "0", "--data-dir", str(data_copy), "--quiet"]
    with pytest.raises(SystemExit) as exit_info:
        train.main([*common, "--run-dir", str(tmp_path / "run")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and f"prdtypecode {code} has 2 rows" in err and "--n-folds 2" in err
    assert "np.int64" not in err
    # The fix it names works (logreg: the SVM's inner 3-fold calibration needs 3 rows a class per fold).
    train.main([*common, "--run-dir", str(tmp_path / "run"), "--n-folds", "2", "--set", "classifier=logreg"])
