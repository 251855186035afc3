"""The corpus-wide TF-IDF matrix: built once, shared by folds, a row's vector a function of its text."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from models import get_model, resolve_hparams
from models.core.registry import FoldData
from models.text.tfidf_corpus import corpus_matrices

TEXTS = np.array([["pelle de jardin", "acier"], ["jeu de cartes", ""], ["pelle", "bois <b>"], ["cartes", "jeu"],
                  ["pelle de jardin", "acier"], ["livre", "roman policier"]], dtype=object)


def make_counter():
    built = []

    def make():
        built.append(1)
        return TfidfVectorizer(analyzer=lambda row: row[0].split() + ["d:" + w for w in row[1].split()])

    return make, built


def test_folds_share_one_matrix_and_a_text_has_one_vector(tmp_path):
    make, built = make_counter()
    first = corpus_matrices([TEXTS[:4], TEXTS[4:5], TEXTS[5:]], make, {"s": 1}, tmp_path)
    second = corpus_matrices([TEXTS[2:], TEXTS[:2], TEXTS[5:]], make, {"s": 1}, tmp_path)
    assert len(built) == 1 and len(list((tmp_path / "tfidf").glob("*.npz"))) == 1
    assert [m.shape[0] for m in first] == [4, 1, 1] and [m.shape[0] for m in second] == [4, 2, 1]
    # The same text gets the same row wherever it sits (row 0 and row 4 are one product twice).
    assert np.array_equal(first[0][0].toarray(), first[1][0].toarray())
    assert np.array_equal(first[0][2].toarray(), second[0][0].toarray())
    # Other settings or other texts are another entry.
    corpus_matrices([TEXTS[:4], TEXTS[4:5], TEXTS[5:]], make, {"s": 2}, tmp_path)
    corpus_matrices([TEXTS[:3], TEXTS[5:]], make, {"s": 1}, tmp_path)
    assert len(built) == 3


def test_a_leftover_temporary_file_is_not_read_as_the_matrix(tmp_path):
    make, built = make_counter()
    (tmp_path / "tfidf").mkdir()
    (tmp_path / "tfidf" / ".junk.npz.123.tmp").write_bytes(b"half a file")
    corpus_matrices([TEXTS[:4], TEXTS[4:]], make, {"s": 1}, tmp_path)
    assert len(built) == 1


@pytest.mark.parametrize("vocabulary", ["corpus", "fold"])
def test_tfidf_learns_with_either_vocabulary(tmp_path, vocabulary):
    rng = np.random.default_rng(0)
    words = np.array([["pelle jardin", "outil"], ["roman policier", "livre"], ["cartes jeu", "famille"]],
                     dtype=object)
    y = rng.integers(0, 3, size=150)
    x = np.array([[f"{words[c, 0]} {rng.integers(99)}", f"{words[c, 1]} n{rng.integers(99)}"] for c in y],
                 dtype=object)
    spec = get_model("tfidf")
    hp = resolve_hparams(spec, {"vocabulary": vocabulary, "cache_dir": str(tmp_path), "embed_dim": 0})
    out = spec.train_fold(FoldData(x[:120], y[:120], x[120:], y[120:], x[:5], 3, tmp_path, verbose=0), hp)
    assert (out.val_probs.argmax(1) == y[120:]).mean() > 0.9
    assert (tmp_path / "tfidf").is_dir() == (vocabulary == "corpus")
