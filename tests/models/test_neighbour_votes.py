"""Neighbour votes (models/core/neighbour_votes.py) and the knn models that read other models'
representations from their caches."""
import numpy as np
import pytest
import scipy.sparse as sp

import train
from folds import RunDir
from models.core.neighbour_votes import VOTE_DEFAULTS, unit_blocks, vote


def test_a_near_duplicate_outvotes_a_crowd_of_loose_matches():
    # One training row almost equal to the query (class 0), five loose matches (class 1).
    query = np.array([[1.0, 0.0, 0.0]])
    near = [[1.0, 0.02, 0.0]]
    loose = [[0.6, 0.8, 0.0], [0.6, 0.0, 0.8], [0.5, 0.86, 0.0], [0.5, 0.0, 0.86], [0.55, 0.6, 0.58]]
    x_train, y_train = np.array(near + loose), np.array([0] + [1] * 5)
    by_similarity, = vote(x_train, y_train, [query], 3, {**VOTE_DEFAULTS, "k": 6, "power": 3.0})
    by_count, = vote(x_train, y_train, [query], 3, {**VOTE_DEFAULTS, "k": 6, "power": 0.0})
    assert by_similarity.argmax() == 0 and by_count.argmax() == 1
    assert by_count[0, 1] == pytest.approx(5 / 6, abs=1e-4)
    # A class absent from the training rows gets a zero column; rows are distributions.
    assert by_similarity[0, 2] == 0 and by_similarity.sum() == pytest.approx(1)


def test_an_empty_row_gets_the_plain_vote_of_its_neighbours():
    x_train = sp.csr_matrix(np.array([[1.0, 0], [0, 1.0], [0, 1.0]]))
    empty = sp.csr_matrix((1, 2))  # a text with no known n-gram: every similarity is 0
    probs, = vote(x_train, np.array([0, 1, 1]), [empty], 2, {**VOTE_DEFAULTS, "k": 3})
    assert np.isfinite(probs).all() and probs[0] == pytest.approx([1 / 3, 2 / 3], abs=1e-4)


def test_blocks_count_alike_whatever_their_scale():
    title, description = np.array([[3.0, 4.0]]), np.array([[0.0, 100.0]])
    both = unit_blocks([title, description])
    assert both.shape == (1, 4) and np.allclose(both, [[0.6, 0.8, 0.0, 1.0]])


def test_knn_tfidf_reads_the_tfidf_models_matrix_and_predicts_every_fold(demo_dir, tmp_path):
    cache = tmp_path / "cache"
    common = ["--data-dir", str(demo_dir), "--run-dir", str(tmp_path / "run"), "--quiet", "--set",
              f"cache_dir={cache}"]
    train.main(["--model", "tfidf", "--fold", "all", "--set", "embed_dim=0", *common])
    matrices = {p: p.stat().st_mtime_ns for p in (cache / "tfidf").glob("*.npz")}
    train.main(["--model", "knn_tfidf", "--fold", "all", *common])
    assert {p: p.stat().st_mtime_ns for p in (cache / "tfidf").glob("*.npz")} == matrices  # no new matrix
    store = RunDir(tmp_path / "run").model("knn_tfidf")
    assert store.oof().shape == (300, 6) and store.test().shape == (60, 6)
    assert np.allclose(store.oof().sum(1), 1, atol=1e-4)
    # Demo titles share class words: the neighbours' votes are far above chance (1/6).
    assert store.metrics()["oof"]["weighted_f1"] > 0.6
    assert store.fold_summary(0)["k"] == 20


def test_knn_e5_votes_over_cached_e5_embeddings(demo_dir, e5_cache, tmp_path):
    import shutil

    cache = tmp_path / "cache"
    shutil.copytree(e5_cache, cache)
    train.main(["--model", "knn_e5", "--fold", "0", "--n-folds", "2", "--data-dir", str(demo_dir), "--run-dir",
                str(tmp_path / "run"), "--quiet", "--set", f"cache_dir={cache}", "--set", "k=10"])
    summary = RunDir(tmp_path / "run").model("knn_e5").fold_summary(0)
    assert summary["dimensions"] == 2 * 384 and summary["weighted_f1"] > 0.5
    assert list((cache / "text_features").glob("*.npy"))  # the embeddings are in e5's encoder cache
