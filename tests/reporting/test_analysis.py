import numpy as np
import pytest

from challenge import DataError
from reporting.analysis import (class_report, confident_mistakes, majority_warning, normalised_confusion,
                                notable_confusions)
from reporting.names import code_label, names_for_run, read_code_names

CODES = [10, 1560, 2583]
NAMES = {10: "livres", 1560: "mobilier", 2583: "piscine"}


def test_notable_confusion_names_the_classes_and_the_share():
    # 50 rows of 2583: 38 right, 12 taken for 1560 (24%); 2 rows of 10 taken for 1560 (below min_count).
    y_true = np.array([2] * 50 + [1] * 30 + [0] * 20)
    y_pred = np.array([2] * 38 + [1] * 12 + [1] * 30 + [0] * 18 + [1] * 2)
    counts, shares = normalised_confusion(y_true, y_pred, 3)
    assert shares[2, 1] == pytest.approx(0.24)
    assert np.allclose(shares.sum(axis=1), 1.0)
    found = notable_confusions(counts, shares, CODES, threshold=0.1, min_count=3)
    assert [(c.true_code, c.predicted_code) for c in found] == [(2583, 1560)]
    assert found[0].sentence(NAMES) == ("class 2583 (piscine) taken for 1560 (mobilier) in 24% of cases "
                                        "(12 of 50)")
    assert notable_confusions(counts, shares, CODES, threshold=0.3) == []


def test_class_report_counts_true_and_predicted_rows():
    y_true = np.array([0, 0, 1, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 1, 1])
    report, averages = class_report(y_true, y_pred, CODES, NAMES)
    assert averages["macro"]["f1"] == pytest.approx(report["f1"].mean())
    assert averages["weighted"]["support"] == 6
    assert report["code"].tolist() == CODES
    assert report["support"].tolist() == [2, 3, 1]
    assert report["predicted"].tolist() == [1, 5, 0]
    assert report.loc[2, "f1"] == 0.0
    assert report.loc[0, "precision"] == 1.0 and report.loc[0, "recall"] == 0.5


def test_majority_warning_only_when_most_rows_go_to_the_majority_class():
    y_true = np.array([2] * 40 + [1] * 30 + [0] * 30)
    lazy = np.array([2] * 90 + [0] * 10)
    warning = majority_warning(y_true, lazy, CODES, NAMES)
    assert "2583 (piscine)" in warning and "90% of rows" in warning and "40%" in warning
    assert "1 of 3 classes are never predicted" in warning
    lazy_but_all_classes = np.array([2] * 90 + [0] * 5 + [1] * 5)
    assert "never predicted" not in majority_warning(y_true, lazy_but_all_classes, CODES, NAMES)
    assert majority_warning(y_true, y_true, CODES, NAMES) is None
    # A class that really holds 80% of the rows may be predicted for 80% of them.
    skewed = np.array([2] * 80 + [0] * 20)
    assert majority_warning(skewed, skewed, CODES, NAMES) is None


def test_confident_mistakes_come_most_confident_first():
    oof = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    y_true = np.array([1, 0, 1, 1])
    mistakes = confident_mistakes(oof, y_true, limit=5)
    assert mistakes["row"].tolist() == [0, 1, 2]
    assert mistakes["confidence"].tolist() == pytest.approx([0.9, 0.8, 0.6])
    assert len(confident_mistakes(oof, y_true, limit=1)) == 1


def test_names_csv_is_read_and_checked(tmp_path):
    good = tmp_path / "names.csv"
    good.write_text("prdtypecode,name\n10,livres\n2583, piscine\n")
    assert read_code_names(good) == {10: "livres", 2583: "piscine"}
    assert names_for_run([10, 2583], good) == {10: "livres", 2583: "piscine"}
    assert code_label(1560, {10: "livres"}) == "1560"
    assert code_label(10, {10: "livres d'occasion / used books"}, short=True) == "10 livres d'occasion"
    assert code_label(10, {10: "livres d'occasion / used books"}) == "10 (livres d'occasion / used books)"

    repeated = tmp_path / "repeated.csv"
    repeated.write_text("prdtypecode,name\n10,a\n10,b\n")
    with pytest.raises(DataError, match=r"rows 1, 2 name the same prdtypecode"):
        read_code_names(repeated)
    not_codes = tmp_path / "bad.csv"
    not_codes.write_text("prdtypecode,name\n10,a\nabc,b\n")
    with pytest.raises(DataError, match=r"rows 2 have a prdtypecode that is not an integer"):
        read_code_names(not_codes)
    wrong_header = tmp_path / "header.csv"
    wrong_header.write_text("code,label\n10,a\n")
    with pytest.raises(DataError, match="prdtypecode,name"):
        read_code_names(wrong_header)


def test_shipped_challenge_names_are_used_only_when_they_cover_the_run():
    challenge = [10, 40, 50, 60, 1140, 1160, 1180, 1280, 1281, 1300, 1301, 1302, 1320, 1560, 1920, 1940,
                 2060, 2220, 2280, 2403, 2462, 2522, 2582, 2583, 2585, 2705, 2905]
    names = names_for_run(challenge)
    assert sorted(names) == challenge
    assert "piscine" in names[2583] and "mobilier" in names[1560]
    assert names_for_run([0, 1, 2]) == {}
    # Some challenge codes reused for other classes (as in the benchmark sets): no guessing.
    assert names_for_run(challenge[:10]) == {}
    assert names_for_run(challenge, "none") == {}
