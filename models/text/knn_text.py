"""Neighbour votes over text representations that other steps already compute and cache:

- `knn_tfidf`: cosine over the TF-IDF matrix of the `tfidf` model (the same corpus cache, so after
  a `tfidf` step with the same vectoriser settings it costs only the similarities);
- `knn_e5`: cosine over the frozen multilingual-e5-small embeddings of the `e5` model (the same
  encoder cache), title and description each scaled to unit length so that both count alike.

models/core/neighbour_votes.py does the voting; docs/knn.md has what they add to a stack.
"""
from __future__ import annotations


import numpy as np

from models.core.neighbour_votes import VOTE_DEFAULTS, register_neighbour_model, unit_blocks
from models.core.registry import FoldData
from models.text import tfidf
from models.text.pretrained_text import FROZEN_DEFAULTS, frozen_features

# What the representation depends on: the text preparation and the vectoriser / encoder settings,
# taken from the model that computes it so that both read the same cache entry.
TFIDF_DEFAULTS = {**{key: tfidf.DEFAULTS[key] for key in
                     ("text_fields", "stopwords", "drop_frequent", "vocabulary", "cache_dir",
                      *tfidf.VECTORIZER_SETTINGS)},
                  **VOTE_DEFAULTS}
E5_DEFAULTS = {**{key: FROZEN_DEFAULTS[key] for key in
                  ("preset", "cache_dir", "cleaning", "stopwords", "drop_frequent", "prefix",
                   "encode_batch_size", "text_fields", "max_length", "description_length")},
               **VOTE_DEFAULTS}


def tfidf_rows(data: FoldData, hp: dict):
    """The fold's TF-IDF rows; each field's vectorisers already give unit-length rows."""
    return tfidf.tfidf_matrices(data, hp)


def e5_rows(data: FoldData, hp: dict):
    """The fold's frozen e5 embeddings, one unit-length block per text field."""
    n_fields = len(hp["text_fields"].split("|"))
    return tuple(unit_blocks(np.split(x, n_fields, axis=1)) for x in frozen_features(data, hp))


register_neighbour_model(
    "knn_tfidf", "text", tfidf_rows, TFIDF_DEFAULTS,
    "class votes of the k most similar training rows, cosine over the tfidf model's TF-IDF matrix")
register_neighbour_model(
    "knn_e5", "text", e5_rows, E5_DEFAULTS,
    "class votes of the k most similar training rows, cosine over frozen e5 title + description embeddings")
