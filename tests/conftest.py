"""Shared fixtures: a small generated challenge folder and helpers to break it on purpose."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from challenge.demo import make_demo  # noqa: E402


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
