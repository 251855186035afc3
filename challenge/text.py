"""Text cleaning for French product titles and HTML descriptions.

What the seed did, done once and well: entities unescaped (`&eacute;` -> é, also double-encoded
`&amp;eacute;`), tags stripped, punctuation removed, lower case, French stopwords dropped, and
optionally the words that are frequent across the whole corpus.
"""
from __future__ import annotations

import html
import re
from collections import Counter
from functools import lru_cache

import pandas as pd

TAG = re.compile(r"<[^>]+>")
# Anything that is not a letter (accents included) or a digit becomes a space.
NOT_WORD = re.compile(r"[^\w]+|_")
SPACES = re.compile(r"\s+")
TEXT_FIELDS = ("designation", "designation+description", "description")


@lru_cache(maxsize=1)
def french_stopwords() -> frozenset[str]:
    """French stopwords from the maintained `stop-words` package, accents kept."""
    from stop_words import get_stop_words

    return frozenset(get_stop_words("french"))


def clean_text(text: str, stopwords: frozenset[str] = frozenset()) -> str:
    text = html.unescape(html.unescape(text or ""))
    text = TAG.sub(" ", text).lower()
    text = SPACES.sub(" ", NOT_WORD.sub(" ", text)).strip()
    if stopwords:
        text = " ".join(w for w in text.split(" ") if w not in stopwords)
    return text


def light_clean(text: str) -> str:
    """For pretrained transformers, which read natural text: entities unescaped and tags stripped,
    case and punctuation kept."""
    text = html.unescape(html.unescape(text or ""))
    return SPACES.sub(" ", TAG.sub(" ", text)).strip()


def frequent_words(texts, top_n: int) -> frozenset[str]:
    """The `top_n` words found in the most documents (each document counted once)."""
    counts = Counter(w for t in texts for w in set(t.split()))
    return frozenset(w for w, _ in counts.most_common(top_n))


def product_text(frame: pd.DataFrame, fields: str = "designation") -> pd.Series:
    """The raw text a model reads: the title, or the title followed by the description.

    A row with an empty title falls back to its description when `fields` reads the title.
    """
    if fields not in TEXT_FIELDS:
        raise ValueError(f"text_fields must be one of {TEXT_FIELDS}, not {fields!r}")
    title = frame["designation"].fillna("").astype(str)
    description = frame["description"].fillna("").astype(str)
    if fields == "designation+description":
        return (title + " . " + description).str.strip(" .")
    if fields == "description":
        return description
    return title.where(title.str.strip() != "", description)


def clean_corpus(train: pd.Series, others: list[pd.Series], use_stopwords: bool = True,
                 drop_frequent: int = 0, light: bool = False) -> tuple[pd.Series, list[pd.Series]]:
    """Clean train and other splits the same way; frequent words are counted on train only.
    light: only `light_clean` (for pretrained transformers; stopwords and frequent words are kept)."""
    if light:
        return train.map(light_clean), [o.map(light_clean) for o in others]
    stop = french_stopwords() if use_stopwords else frozenset()
    train = train.map(lambda t: clean_text(t, stop))
    others = [o.map(lambda t: clean_text(t, stop)) for o in others]
    if drop_frequent:
        extra = frequent_words(train, drop_frequent)
        drop = lambda t: " ".join(w for w in t.split() if w not in extra)  # noqa: E731
        train, others = train.map(drop), [o.map(drop) for o in others]
    return train, others
