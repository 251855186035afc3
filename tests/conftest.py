"""Shared fixtures, each made once per session: a small generated challenge folder, a run with the
TF-IDF model trained on it, the converted multilingual-e5-small preset and the converted
EfficientNet-Lite0 weights. Session fixtures are shared by every test: never modify them; copy
them first (`data_copy`, `shutil.copytree`)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from challenge.demo import make_demo  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """300 training and 60 test products over 6 classes, 32x32 images. Never modify it."""
    return make_demo(tmp_path_factory.mktemp("demo"), n_train=300, n_test=60, n_classes=6,
                     image_size=32, seed=1)


@pytest.fixture
def data_copy(demo_dir, tmp_path) -> Path:
    """A private copy of the demo folder that a test may damage."""
    target = tmp_path / "data"
    shutil.copytree(demo_dir, target)
    return target


@pytest.fixture(scope="session")
def tfidf_run(demo_dir, tmp_path_factory) -> Path:
    """A run directory over `demo_dir` with `train.py --model tfidf` finished on all 5 folds (seed 42,
    the defaults). Never modify it: copy it (shutil.copytree) to add models."""
    import train

    run_dir = tmp_path_factory.mktemp("tfidf_run") / "run"
    train.main(["--model", "tfidf", "--fold", "all", "--data-dir", str(demo_dir), "--run-dir", str(run_dir),
                "--quiet"])
    return run_dir


@pytest.fixture(scope="session")
def e5_cache(tmp_path_factory) -> Path:
    """A cache folder (the models' `cache_dir`) holding the real multilingual-e5-small converted to a
    keras-hub preset: one conversion for the whole session (about 15 s). Encoder outputs the tests
    cache in it are keyed by their texts and settings, so sharing it changes no result."""
    from models.text.e5_weights import e5_preset

    cache = tmp_path_factory.mktemp("e5cache")
    e5_preset(cache)
    return cache


@pytest.fixture(scope="session")
def effnet_weights(tmp_path_factory) -> Path:
    """A cache folder holding only the EfficientNet-Lite0 ImageNet weights converted from the torch
    pickle (cache/weights/effnet_lite0.weights.h5), converted once a session. Never write into it."""
    from models.image.backbones.effnet_lite0 import converted_weights

    cache = tmp_path_factory.mktemp("effnet_weights")
    converted_weights(cache)
    return cache


@pytest.fixture
def image_cache(effnet_weights, tmp_path) -> Path:
    """A private cache folder that starts with the converted EfficientNet-Lite0 weights only (no
    image features): pass it as `--set cache_dir=...` to train an effnet_lite0 model."""
    target = tmp_path / "cache"
    shutil.copytree(effnet_weights, target)
    return target


@pytest.fixture(scope="session")
def tiny_e5_preset(e5_cache, tmp_path_factory) -> Path:
    """A local keras-hub preset folder with e5's own tokenizer and a 2-layer, 16-wide BERT with
    random weights: the code paths of the pretrained text models at a fraction of e5's 118M
    parameters (for tests where training every layer, not the weights, is the point)."""
    import keras_hub

    from models.text.encoder_cache import load_tokenizer

    folder = tmp_path_factory.mktemp("tiny_preset") / "tiny_e5"
    tokenizer = load_tokenizer("multilingual_e5_small", e5_cache)
    keras_hub.models.BertBackbone(vocabulary_size=250037, num_layers=2, num_heads=2, hidden_dim=16,
                                  intermediate_dim=32, max_sequence_length=64).save_to_preset(str(folder))
    tokenizer.save_to_preset(str(folder))
    return folder
