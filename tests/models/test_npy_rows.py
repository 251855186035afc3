"""Rows of an .npy file written and read by offset (the e5_finetune states cache) agree with numpy's
own reading of the file, in any order and cut to any width."""
import numpy as np
import pytest

from models.text.npy_rows import NpyRows


def test_rows_written_out_of_order_read_back_as_numpy_sees_them(tmp_path):
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(7, 5, 3)).astype(np.float16)
    file = NpyRows.create(tmp_path / "states.npy", rows.shape, np.float16)
    order = np.array([4, 0, 6, 2, 1, 5, 3])
    file.write(order[:4], rows[order[:4]])
    file.write(order[4:], rows[order[4:]])
    assert np.array_equal(np.load(tmp_path / "states.npy"), rows)
    again = NpyRows(tmp_path / "states.npy")
    assert (again.shape, again.dtype) == ((7, 5, 3), np.float16)
    assert np.array_equal(again.read(np.array([6, 0, 6])), rows[[6, 0, 6]])
    assert np.array_equal(again.read(np.array([3, 1]), width=2), rows[[3, 1], :2])  # the first positions only
    assert np.array_equal(again.read(np.array([2]), width=99), rows[[2]])


def test_token_id_rows_without_a_trailing_axis(tmp_path):
    ids = np.arange(24, dtype=np.int32).reshape(4, 6)
    np.save(tmp_path / "ids.npy", ids)
    assert np.array_equal(NpyRows(tmp_path / "ids.npy").read(np.array([3, 0]), width=4), ids[[3, 0], :4])


def test_a_file_cut_short_names_itself_and_the_fix(tmp_path):
    np.save(tmp_path / "states.npy", np.ones((4, 8, 2), np.float16))
    rows = NpyRows(tmp_path / "states.npy")
    with open(tmp_path / "states.npy", "r+b") as file:
        file.truncate(rows.offset + 2 * rows.row_bytes + 5)
    assert np.array_equal(rows.read(np.array([1])), np.ones((1, 8, 2), np.float16))
    with pytest.raises(OSError, match=r"states\.npy: row 3 is cut short.*delete the file"):
        rows.read(np.array([3]))
