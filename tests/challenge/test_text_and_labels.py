import pandas as pd
import pytest

from challenge import ClassIndex, DataError
from challenge.text import clean_corpus, clean_text, french_stopwords, frequent_words, product_text


def test_clean_text_unescapes_strips_and_lowercases():
    raw = "<p>T&eacute;l&eacute;commande <b>HARMONY</b> l&#x27;objet, 2x100&nbsp;! &amp;eacute;t&amp;eacute;</p>"
    assert clean_text(raw) == "télécommande harmony l objet 2x100 été"


def test_stopwords_come_from_the_package_and_are_removed():
    stop = french_stopwords()
    assert {"le", "la", "les", "des", "pour"} <= stop
    assert clean_text("Le jeu pour les enfants", stop) == "jeu enfants"


def test_frequent_words_counted_on_train_only():
    train = pd.Series(["lot piscine", "lot pompe", "lot filtre", "chat"])
    test = pd.Series(["lot chien"])
    assert frequent_words(train, 1) == {"lot"}
    cleaned_train, (cleaned_test,) = clean_corpus(train, [test], use_stopwords=False, drop_frequent=1)
    assert list(cleaned_train) == ["piscine", "pompe", "filtre", "chat"]
    assert list(cleaned_test) == ["chien"]


def test_product_text_fields():
    frame = pd.DataFrame({"designation": ["Pompe", ""], "description": ["<p>bleue</p>", "Filtre"]})
    assert list(product_text(frame)) == ["Pompe", "Filtre"]
    assert list(product_text(frame, "designation+description")) == ["Pompe . <p>bleue</p>", "Filtre"]
    with pytest.raises(ValueError):
        product_text(frame, "title")


def test_class_index_round_trip_and_fingerprint(tmp_path):
    index = ClassIndex.from_labels(pd.Series([2583, 10, 1560, 10]))
    assert index.codes == [10, 1560, 2583]
    assert list(index.decode(index.encode([2583, 10]))) == [2583, 10]
    assert index.fingerprint != ClassIndex([10, 1560]).fingerprint
    path = tmp_path / "classes.json"
    import json

    path.write_text(json.dumps(index.to_json()))
    assert ClassIndex.load(path) == index


def test_unknown_and_differing_label_sets_are_refused():
    index = ClassIndex([10, 40])
    with pytest.raises(DataError, match=r"Labels \[50\] are not among"):
        index.encode([10, 50])
    with pytest.raises(DataError, match=r"new codes \[50\], missing codes \[40\]"):
        index.check_same(ClassIndex([10, 50]), "somewhere")
