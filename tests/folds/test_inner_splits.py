"""folds/inner.py: the inner splits of a fold's training rows (tfidf's calibration folds, a stack's
early-stopping hold-out and bias tuning). A class of one row stays in every inner training part; on
ordinary data the splits are scikit-learn's own, so results do not change."""
import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold, train_test_split

from challenge import DataError
from folds.inner import holdout, inner_splits, single_row_classes

ORDINARY = np.array([0] * 12 + [1] * 9 + [2] * 6)
ONE_ROW = np.array([0] * 12 + [1] * 9 + [2])  # class 2: the single row a class of 2 has under --n-folds 2


def test_ordinary_labels_get_scikit_learns_own_splits():
    ours = inner_splits(ORDINARY, 3)
    theirs = list(StratifiedKFold(3).split(np.zeros(len(ORDINARY)), ORDINARY))
    assert all(np.array_equal(a, c) and np.array_equal(b, d) for (a, b), (c, d) in zip(ours, theirs, strict=True))
    x = np.arange(len(ORDINARY)) * 10
    assert all(np.array_equal(a, b) for a, b in zip(
        holdout(x, ORDINARY, 0.25, 3), train_test_split(x, ORDINARY, test_size=0.25, random_state=3, stratify=ORDINARY),
        strict=True))


@pytest.mark.parametrize("seed", [None, 0, 1, 2])
def test_a_single_row_is_in_every_training_part_and_never_held_out(seed):
    splits = inner_splits(ONE_ROW, 3, seed)
    assert len(splits) == 3 and list(single_row_classes(ONE_ROW)) == [2]
    single = int(np.flatnonzero(ONE_ROW == 2)[0])
    assert all(single in train and single not in held for train, held in splits)
    held = np.sort(np.concatenate([h for _, h in splits]))
    assert np.array_equal(held, np.delete(np.arange(len(ONE_ROW)), single))  # the others, once each


def test_the_number_of_folds_shrinks_to_the_smallest_class_of_two_rows_or_more():
    assert len(inner_splits(np.array([0] * 12 + [1] * 2 + [2]), 3)) == 2


@pytest.mark.parametrize("seed", range(8))
def test_the_holdout_keeps_a_single_row_in_the_fit_rows(seed):
    x = np.arange(len(ONE_ROW))
    x_fit, x_stop, y_fit, y_stop = holdout(x, ONE_ROW, 0.2, seed)
    assert 2 in y_fit and 2 not in y_stop and set(y_stop) == {0, 1}
    assert np.array_equal(ONE_ROW[x_fit], y_fit) and sorted([*x_fit, *x_stop]) == list(x)


def test_nothing_to_hold_out_is_a_data_error():
    with pytest.raises(DataError, match="Every class has a single row"):
        inner_splits(np.array([0, 1, 2]), 3)
