import pandas as pd
import pytest

from challenge import DataError, read_challenge


def test_reads_demo_folder(demo_dir):
    data = read_challenge(demo_dir)
    assert len(data.train) == 300 and len(data.test) == 60
    assert data.labels.index.equals(data.train.index)
    assert data.test.index.min() == 300  # test index continues after train
    assert data.images_present("train").all() and data.images_present("test").all()
    assert (data.train["description"] == "").mean() > 0.2  # NaN descriptions became empty strings


def test_missing_folder_names_it(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_challenge(tmp_path / "nowhere")


def test_missing_file_names_file_and_fix(data_copy):
    (data_copy / "Y_train_CVw08PX.csv").unlink()
    with pytest.raises(DataError, match=r"Y_train_CVw08PX\.csv is missing.*--data-dir"):
        read_challenge(data_copy)


def test_missing_column_lists_columns_found(data_copy):
    path = data_copy / "X_train_update.csv"
    pd.read_csv(path, index_col=0).rename(columns={"designation": "title"}).to_csv(path)
    with pytest.raises(DataError, match=r"no column 'designation'.*columns found.*title"):
        read_challenge(data_copy)


def test_x_y_row_mismatch_names_rows(data_copy):
    path = data_copy / "Y_train_CVw08PX.csv"
    pd.read_csv(path, index_col=0).drop(index=[5, 7]).to_csv(path)
    with pytest.raises(DataError, match=r"rows 5, 7 are in X_train_update.csv but not in Y_train"):
        read_challenge(data_copy)


def test_duplicated_index_is_refused(data_copy):
    path = data_copy / "X_test_update.csv"
    frame = pd.read_csv(path, index_col=0)
    pd.concat([frame, frame.iloc[:2]]).to_csv(path)
    with pytest.raises(DataError, match="repeats for rows 300, 301"):
        read_challenge(data_copy)


def test_empty_title_falls_back_to_description(data_copy):
    path = data_copy / "X_train_update.csv"
    frame = pd.read_csv(path, index_col=0)
    row = frame.index[frame["description"].notna()][0]
    frame.loc[row, "designation"] = ""
    frame.to_csv(path)
    with pytest.warns(UserWarning, match="empty designation"):
        data = read_challenge(data_copy)
    from challenge.text import product_text

    assert product_text(data.train).loc[row] == data.train.loc[row, "description"]


def test_row_without_any_text_is_an_error(data_copy):
    path = data_copy / "X_train_update.csv"
    frame = pd.read_csv(path, index_col=0)
    frame.loc[3, ["designation", "description"]] = ["", ""]
    frame.to_csv(path)
    with pytest.raises(DataError, match=r"rows 3 have neither a designation nor a description"):
        read_challenge(data_copy)


def test_non_integer_label_is_named(data_copy):
    path = data_copy / "Y_train_CVw08PX.csv"
    frame = pd.read_csv(path, index_col=0)
    frame["prdtypecode"] = frame["prdtypecode"].astype(object)
    frame.loc[4, "prdtypecode"] = "toys"
    frame.to_csv(path)
    with pytest.raises(DataError, match=r"rows 4 have a prdtypecode that is not an integer"):
        read_challenge(data_copy)
