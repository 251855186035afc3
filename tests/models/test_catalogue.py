"""models.catalogue (what --help lists without importing TensorFlow) is the registry, exactly."""
import pytest

from challenge.errors import DataError
from models import REGISTRY, get_model
from models.catalogue import CATALOGUE, Entry, check_model_name


def test_catalogue_lists_exactly_the_registered_models():
    registered = {name: Entry(spec.inputs, spec.search_space is not None, spec.description)
                  for name, spec in REGISTRY.items()}
    assert CATALOGUE == registered, ("update models/catalogue.py to match the registry: "
                                     f"{set(CATALOGUE.items()) ^ set(registered.items())}")


def test_an_unknown_name_gets_the_registry_message():
    with pytest.raises(DataError) as from_catalogue:
        check_model_name("resnet9000")
    with pytest.raises(DataError) as from_registry:
        get_model("resnet9000")
    assert str(from_catalogue.value) == str(from_registry.value)
    check_model_name("bilstm")  # a registered name passes
