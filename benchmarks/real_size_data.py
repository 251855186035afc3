"""A challenge folder at the real size, for timing and memory: 84,916 / 13,812 rows, 27 classes.

Class counts are the challenge's own training counts (a 13:1 imbalance). Titles are about ten
words, descriptions HTML, empty for 35% of rows and otherwise up to several thousand characters
(log-normal length, like the real ones). Words come from a Zipf-distributed vocabulary of
pseudo-French words, with the demo's French class words at the head of each class's ranking, so
the vocabulary grows with the rows as real text does and the models have a signal to learn.
Optionally the first N products get 500x500 JPEGs drawn like the demo's images.
"""
from __future__ import annotations

import html
import os
from pathlib import Path

import numpy as np
import pandas as pd

from challenge.demo import SHARED, VOCABULARY, _image

# The challenge's training counts per prdtypecode.
CLASS_COUNTS = {
    10: 3116, 40: 2508, 50: 1681, 60: 832, 1140: 2671, 1160: 3953, 1180: 764, 1280: 4870, 1281: 2070,
    1300: 5045, 1301: 807, 1302: 2491, 1320: 3241, 1560: 5073, 1920: 4303, 1940: 803, 2060: 4993,
    2220: 824, 2280: 4760, 2403: 4774, 2462: 1421, 2522: 4989, 2582: 2589, 2583: 10209, 2585: 2496,
    2705: 2761, 2905: 872,
}
REAL_TRAIN, REAL_TEST = 84916, 13812
SYLLABLES = ("ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo la le li lo lu ma me mi mo mu "
             "na ne ni no pa pe pi po ra re ri ro sa se si so ta te ti to va ve vi vo "
             "ch ou on an in en eau ain ier ette é è tion que gne ille").split()
VOCABULARY_SIZE = 60000
CLASS_SHARE = {"title": 0.45, "description": 0.3}  # share of words drawn from the class's own ranking
LINE_BREAK = "<br />"


def pseudo_words(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct French-looking words of 1-4 syllables."""
    syllables = np.array(SYLLABLES, dtype=object)
    words = syllables[rng.integers(len(syllables), size=n * 2)]
    for _ in range(3):
        longer = rng.random(n * 2) < 0.7
        words = np.where(longer, words + syllables[rng.integers(len(syllables), size=n * 2)], words)
    return pd.unique(words)[:n]


def zipf_ranks(rng: np.random.Generator, n_draws: int, n_words: int, exponent: float = 1.05) -> np.ndarray:
    weights = 1.0 / (np.arange(n_words) + 2.7) ** exponent
    cdf = np.cumsum(weights / weights.sum())
    return np.minimum(np.searchsorted(cdf, rng.random(n_draws)), n_words - 1)


def class_rankings(rng: np.random.Generator, vocabulary: np.ndarray, codes: list[int]) -> np.ndarray:
    """One word ranking per class: the demo's French words for the class first, then a random order."""
    position = {w: i for i, w in enumerate(vocabulary)}
    rankings = np.empty((len(codes), len(vocabulary)), dtype=np.int64)
    for c, code in enumerate(codes):
        head = [position[w] for w in VOCABULARY[code].split()]
        rest = rng.permutation(np.setdiff1d(np.arange(len(vocabulary)), head))
        rankings[c] = np.concatenate([head, rest])
    return rankings


def texts(rng, vocabulary, rankings, classes: np.ndarray, lengths: np.ndarray, class_share: float,
          line_breaks: float = 0.0) -> list[str]:
    """One string per row: `lengths[i]` words, a share from the row's class ranking, the rest from the
    global ranking (the last row of `rankings`)."""
    row_of_word = np.repeat(np.arange(len(classes)), lengths)
    ranks = zipf_ranks(rng, len(row_of_word), len(vocabulary))
    own = rng.random(len(row_of_word)) < class_share
    word_ids = np.where(own, rankings[classes[row_of_word], ranks], rankings[-1, ranks])
    words = vocabulary[word_ids]
    if line_breaks:
        words = np.where(rng.random(len(words)) < line_breaks, LINE_BREAK, words)
    return [" ".join(chunk) for chunk in np.split(words, np.cumsum(lengths)[:-1])]


def html_descriptions(rng, bodies: list[str], empty: float = 0.35) -> pd.Series:
    descriptions = pd.Series(bodies, dtype=object)
    # Half the descriptions carry entity-encoded accents, as in the real data.
    encoded = rng.random(len(descriptions)) < 0.5
    descriptions[encoded] = (descriptions[encoded].map(html.escape)
                             .str.replace("é", "&eacute;").str.replace("è", "&egrave;"))
    descriptions = "<p>" + descriptions + "</p>"
    descriptions[rng.random(len(descriptions)) < empty] = np.nan
    return descriptions


def train_counts(shares: np.ndarray, n_train: int) -> np.ndarray:
    """The challenge's class counts scaled to n_train rows (largest remainders rounded up), at least
    5 a class so that every fold sees every class."""
    exact = shares / shares.sum() * n_train
    counts = np.floor(exact).astype(int)
    counts[np.argsort(counts - exact)[: n_train - counts.sum()]] += 1
    return np.maximum(counts, 5)


def make_real_size(out_dir: str | Path, n_train: int = REAL_TRAIN, n_test: int = REAL_TEST, n_images: int = 0,
                   seed: int = 0) -> Path:
    """Write the folder; the first `n_images` products (train first) get 500x500 JPEGs."""
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    codes = sorted(CLASS_COUNTS)
    shares = np.array([CLASS_COUNTS[c] for c in codes], dtype=float)
    train = rng.permutation(np.repeat(np.arange(len(codes)), train_counts(shares, n_train)))
    n_train = len(train)  # a few more than asked for when a tiny n_train lifts a class to 5
    classes = np.concatenate([train, rng.choice(len(codes), size=n_test, p=shares / shares.sum())])

    french = list(dict.fromkeys(w for c in codes for w in VOCABULARY[c].split() + SHARED))
    made = pseudo_words(rng, VOCABULARY_SIZE)
    vocabulary = np.array(french + [w for w in made if w not in set(french)], dtype=object)
    n = len(classes)
    rankings = np.vstack([class_rankings(rng, vocabulary, codes), rng.permutation(len(vocabulary))])

    title_lengths = 4 + rng.poisson(6, size=n)
    titles = texts(rng, vocabulary, rankings, classes, title_lengths, CLASS_SHARE["title"])
    description_lengths = np.clip(rng.lognormal(4.3, 0.9, size=n), 5, 900).astype(int)
    bodies = texts(rng, vocabulary, rankings, classes, description_lengths, CLASS_SHARE["description"],
                   line_breaks=0.03)
    frame = pd.DataFrame({
        "designation": pd.Series(titles).str.capitalize(),
        "description": html_descriptions(rng, bodies),
        "productid": 1_000_000 + 7 * np.arange(n),
        "imageid": 900_000_000 + 13 * np.arange(n),
    })
    out.mkdir(parents=True, exist_ok=True)
    frame.iloc[:n_train].to_csv(out / "X_train_update.csv")
    pd.DataFrame({"prdtypecode": np.array(codes)[classes[:n_train]]}).to_csv(out / "Y_train_CVw08PX.csv")
    test = frame.iloc[n_train:].copy()
    test.index = range(n_train, n)  # the test index continues after train, as in the challenge
    test.to_csv(out / "X_test_update.csv")
    write_images(out, frame, classes, n_train, n_images, seed)  # last: the text steps need not wait
    return out


def write_images(out: Path, frame: pd.DataFrame, classes: np.ndarray, n_train: int, n_images: int, seed: int,
                 workers: int | None = None) -> None:
    """500x500 JPEGs for the first n_images products. Each image draws from its own generator
    (seed, position), so the folder is the same however many processes write it, and a file that
    is already there (an earlier, interrupted run) is not drawn again."""
    jobs = []
    for i in range(min(n_images, len(frame))):
        split = "train" if i < n_train else "test"
        path = out / "images" / f"image_{split}" / f"image_{frame.imageid[i]}_product_{frame.productid[i]}.jpg"
        if not path.is_file():
            jobs.append((seed, i, int(classes[i]), str(path)))
    for split in ("train", "test"):
        (out / "images" / f"image_{split}").mkdir(parents=True, exist_ok=True)
    if not jobs:
        return
    from concurrent.futures import ProcessPoolExecutor

    from tqdm.auto import tqdm

    with ProcessPoolExecutor(workers or os.cpu_count()) as pool:
        list(tqdm(pool.map(_write_image, jobs, chunksize=256), total=len(jobs), desc="JPEGs", unit="img",
                  mininterval=10))


def _write_image(job: tuple) -> None:
    seed, position, class_position, path = job
    partial = f"{path}.part"
    _image(np.random.default_rng([seed, position]), class_position, 500).save(partial, format="JPEG", quality=90)
    os.replace(partial, path)  # a killed writer leaves a .part, never a truncated .jpg
