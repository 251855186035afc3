"""Word + character n-gram TF-IDF into a linear model (scikit-learn): fast, strong on titles.

With `text_fields="designation|description"` (the default) title and description get their own
vocabularies, so a word in the title weighs differently from the same word deep in a description;
the title gets word 1-2 and char_wb 1-5 grams, the description word 1-2 and char_wb 3-5 grams
(capped by `description_char_features`). All counts are sublinear (1 + log tf). The LinearSVC's
scores become probabilities by sigmoid calibration (CalibratedClassifierCV), so the stack reads
comparable numbers from every model; a fold whose smallest class has fewer training rows than the
calibration's folds gets fewer folds, and a class of a single training row temperature scaling
(`calibration`).

Its "embedding" for the fusion net is a TruncatedSVD projection of the TF-IDF matrix.

With `vocabulary="corpus"` (the default) the vectorisers are fitted once on every text of the run,
training and test rows alike (no labels involved), and every fold reads its rows from that cached
matrix (models/text/tfidf_corpus.py); `vocabulary="fold"` fits them on each fold's training rows.

At the challenge's size (68k training rows a fold, descriptions up to thousands of characters) the
costs are: description character n-grams (most of the matrix), the calibration's three LinearSVC
fits and the SVD; so descriptions are cut to `description_max_chars`, the calibration folds run
`n_jobs` at a time, and the SVD reads `svd_rows` sampled rows and their `svd_features` most frequent
n-grams (benchmarks/real_size.py measures each;
docs/benchmarks.md#tfidf-two-fields-the-corpus-vocabulary-calibration-in-processes).
"""
from __future__ import annotations

import functools
import time

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC
from joblib import parallel_config

from folds.inner import inner_splits, single_row_classes
from folds.store import FoldOutput
from models.core.registry import FoldData, ModelSpec, register
from models.text.tfidf_corpus import corpus_matrices

DEFAULTS = {
    "text_fields": "designation|description",
    "stopwords": False,
    "drop_frequent": 0,
    "word_ngrams": 2,
    "char_ngrams": 5,
    "max_features": 300000,
    "description_char_features": 100000,  # two inputs: char n-grams kept for the description
    "description_max_chars": 2000,  # two inputs: descriptions cut to this many characters (0: whole)
    "classifier": "svm",  # calibrated LinearSVC; or "logreg"
    "C": 0.5,
    "calibration_folds": 3,  # svm: the calibration's folds (fewer for a smaller class), each one LinearSVC fit
    "class_weight": "none",
    "embed_dim": 128,
    "svd_rows": 10000,  # rows the embedding's SVD is fitted on (0: all)
    "svd_features": 20000,  # the most frequent n-grams among them it reads (0: all)
    "n_jobs": 2,  # calibration folds fitted at once, in worker processes (bit-identical to 1)
    "parallel_from_rows": 10000,  # below this many training rows one process is faster than starting workers
    "vocabulary": "corpus",  # vectorisers fitted once on all texts (no labels) and cached; "fold": per fold
    "cache_dir": "cache",
}

# What the TF-IDF matrix depends on besides the texts themselves (the corpus cache's key).
VECTORIZER_SETTINGS = ("word_ngrams", "char_ngrams", "max_features", "description_char_features",
                       "description_max_chars")


def words(hp: dict) -> TfidfVectorizer:
    return TfidfVectorizer(ngram_range=(1, hp["word_ngrams"]), sublinear_tf=True, min_df=1,
                           max_features=hp["max_features"], token_pattern=r"(?u)\b\w+\b")


def chars(hp: dict, shortest: int = 2, max_features: int | None = None) -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(shortest, hp["char_ngrams"]), sublinear_tf=True,
                           min_df=2, max_features=max_features or hp["max_features"])


def vectorizer(hp: dict, two_columns: bool = False):
    """One text column: words + chars. Two (title, description): each its own words + chars."""
    if not two_columns:
        return FeatureUnion([("words", words(hp)), ("chars", chars(hp))])
    # An integer column picks a 1-D column, what TfidfVectorizer expects.
    return ColumnTransformer([
        ("title_words", words(hp), 0), ("title_chars", chars(hp, shortest=1), 0),
        ("description_words", words(hp), 1),
        ("description_chars", chars(hp, shortest=3, max_features=hp["description_char_features"]), 1),
    ])


def truncate_descriptions(x: np.ndarray, max_chars: int) -> np.ndarray:
    """Cut the description column: past a few paragraphs a description repeats itself, and its
    character n-grams cost in proportion to its length."""
    if not max_chars or np.ndim(x) != 2:
        return x
    x = x.copy()
    x[:, 1] = pd.Series(x[:, 1], dtype=object).str.slice(0, max_chars).to_numpy(dtype=object)
    return x


def calibration(y: np.ndarray, hp: dict) -> tuple[list, str]:
    """The calibration's folds and method for a fold's training labels.

    Up to `calibration_folds` stratified folds, as many as the smallest class allows (folds/inner.py).
    A class with a single training row (a class of 2 rows under --n-folds 2) stays in every
    calibration fold's training part, so no held-out row of it is there to fit its own sigmoid (it
    would come out flat, the class never predicted): then one temperature for all classes, fitted
    on the held-out rows of the others, turns every class's scores into probabilities."""
    method = "temperature" if len(single_row_classes(y)) else "sigmoid"
    return inner_splits(y, hp["calibration_folds"]), method


def classifier(hp: dict, seed: int, y: np.ndarray):
    weight = None if hp["class_weight"] == "none" else "balanced"
    if hp["classifier"] == "svm":
        jobs = hp["n_jobs"] if len(y) >= hp["parallel_from_rows"] else 1
        folds, method = calibration(y, hp)
        return CalibratedClassifierCV(LinearSVC(C=hp["C"], class_weight=weight, random_state=seed),
                                      cv=folds, method=method, n_jobs=jobs)
    if hp["classifier"] == "logreg":
        return LogisticRegression(C=hp["C"] * 20, class_weight=weight, max_iter=2000)
    raise ValueError(f"classifier must be 'svm' or 'logreg', not {hp['classifier']!r}")


def calibration_info(model) -> dict:
    """What the fold's done.json records of the calibration (nothing for logreg)."""
    if not isinstance(model, CalibratedClassifierCV):
        return {}
    return {"calibration": f"{model.method}, {len(model.cv)} folds"}


def full_probabilities(model, x, n_classes: int) -> np.ndarray:
    """predict_proba with a column for every class, also those absent from the training fold."""
    probs = np.zeros((x.shape[0], n_classes), dtype=np.float32)
    probs[:, model.classes_] = model.predict_proba(x)
    return probs


def fusion_embedding(hp: dict, x_train, others: list, seed: int) -> list[np.ndarray]:
    """TruncatedSVD of the TF-IDF matrix, fitted on `svd_rows` sampled training rows and the
    `svd_features` n-grams most frequent among them: the randomized SVD's dense work grows with the
    width (hundreds of thousands of n-grams at full size), and the leading directions live in the
    frequent n-grams."""
    rows = np.sort(np.random.default_rng(seed).permutation(x_train.shape[0])[: hp["svd_rows"] or None])
    sample = x_train[rows]
    columns = np.sort(np.argsort(sample.getnnz(axis=0), kind="stable")[-hp["svd_features"]:])
    svd = TruncatedSVD(min(hp["embed_dim"], len(columns) - 1), random_state=seed)
    svd.fit(sample[:, columns].astype(np.float32))
    return [svd.transform(x[:, columns].astype(np.float32)) for x in others]


def tfidf_matrices(data: FoldData, hp: dict) -> list:
    """The fold's training, validation and test rows as TF-IDF matrices."""
    two_columns = np.ndim(data.x_train) == 2
    parts = [data.x_train, data.x_val, data.x_test]
    cut = functools.partial(truncate_descriptions, max_chars=hp["description_max_chars"])
    if hp["vocabulary"] == "corpus":
        settings = {**{k: hp[k] for k in VECTORIZER_SETTINGS}, "two_columns": two_columns}
        return corpus_matrices(parts, lambda: vectorizer(hp, two_columns), settings, hp["cache_dir"], prepare=cut)
    if hp["vocabulary"] != "fold":
        raise ValueError(f"vocabulary must be 'corpus' or 'fold', not {hp['vocabulary']!r}")
    features = vectorizer(hp, two_columns)
    x_train = features.fit_transform(cut(data.x_train))
    return [x_train, features.transform(cut(data.x_val)), features.transform(cut(data.x_test))]


def train_tfidf_fold(data: FoldData, hp: dict) -> FoldOutput:
    started = time.time()
    x_train, x_val, x_test = tfidf_matrices(data, hp)
    # Processes, not threads (see the module docstring); joblib memory-maps the matrix to them.
    with parallel_config(backend="loky"):
        model = classifier(hp, data.seed, data.y_train).fit(x_train, data.y_train)
    output = FoldOutput(full_probabilities(model, x_val, data.n_classes),
                        full_probabilities(model, x_test, data.n_classes))
    if hp["embed_dim"]:
        output.val_embed, output.test_embed = fusion_embedding(hp, x_train, [x_val, x_test], data.seed)
    output.info = {"seconds": round(time.time() - started, 1), "features": int(x_train.shape[1]),
                   **calibration_info(model)}
    return output


def tfidf_search_space(hp) -> dict:
    return {
        "C": hp.Float("C", 0.05, 5.0, sampling="log"),
        "word_ngrams": hp.Int("word_ngrams", 1, 3),
        "char_ngrams": hp.Int("char_ngrams", 3, 6),
        "text_fields": hp.Choice("text_fields", ["designation", "designation+description",
                                                 "designation|description"]),
    }


register(ModelSpec(
    name="tfidf", inputs="text", defaults=DEFAULTS, train_fold=train_tfidf_fold,
    search_space=tfidf_search_space, tags=["sklearn", "text"],
    description="word + char_wb TF-IDF per field (title, description), calibrated LinearSVC",
))
