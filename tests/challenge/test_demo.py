"""The demo data's look-alike classes: listed with the same words, told apart only by the photo or only
by the description, and only where both classes of a pair are in the data."""
import numpy as np
import pandas as pd
import pytest

from challenge.demo import DESCRIPTION_TOLD, IMAGE_TOLD, SHARED, VOCABULARY, look_alikes, make_demo


def test_each_pair_shares_what_does_not_tell_it_apart():
    sources = look_alikes(list(VOCABULARY))
    for first, second in IMAGE_TOLD:
        a, b = sources[first], sources[second]
        assert a["title"] == b["title"] and a["description"] == b["description"]
        assert a["photo"] != b["photo"]
    for first, second in DESCRIPTION_TOLD:
        a, b = sources[first], sources[second]
        assert a["title"] == b["title"] and a["photo"] == b["photo"]
        assert not set(a["description"]) >= set(b["description"])


def test_a_pair_with_one_class_missing_is_no_pair():
    """The tests' small folders (6 classes or fewer) hold one class of some pairs: each keeps its own words."""
    codes = list(VOCABULARY)[:6]
    assert {10, 40, 1140, 1160} <= set(codes)
    for code, source in look_alikes(codes).items():
        assert source["title"] == source["description"] == VOCABULARY[code].split()
        assert source["photo"] == code and source["own_words"] == []


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    folder = make_demo(tmp_path_factory.mktemp("demo"), n_train=900, n_test=10, image_size=8, seed=3)
    x = pd.read_csv(folder / "X_train_update.csv", index_col=0).fillna("")
    x["code"] = pd.read_csv(folder / "Y_train_CVw08PX.csv", index_col=0)["prdtypecode"]
    return x


def words_of(texts: pd.Series) -> set[str]:
    return set(" ".join(texts).lower().split()) - set(SHARED)


def test_look_alike_titles_share_their_words_in_the_files(products):
    for first, second in [*IMAGE_TOLD, *DESCRIPTION_TOLD]:
        titles = [products.loc[products["code"] == code, "designation"] for code in (first, second)]
        shared = words_of(titles[0]) & words_of(titles[1])
        # The pair's own title words (plus words borrowed at random): most of what each title says.
        for side in titles:
            assert np.mean([len(set(t.lower().split()) & shared) >= 2 for t in side]) > 0.8, (first, second)


def test_description_told_pairs_differ_in_their_descriptions(products):
    for first, second in DESCRIPTION_TOLD:
        own = {code: set(VOCABULARY[code].split()) - set(VOCABULARY[other].split()) - set(SHARED)
               for code, other in ((first, second), (second, first))}
        for code in (first, second):
            described = products.loc[(products["code"] == code) & (products["description"] != ""), "description"]
            # each description names its own class's words far more often than the other's
            mine = described.map(lambda d: len(set(d.split()) & own[code])).sum()
            theirs = described.map(lambda d: len(set(d.split()) & own[second if code == first else first])).sum()
            assert mine > 5 * max(theirs, 1), (code, mine, theirs)
