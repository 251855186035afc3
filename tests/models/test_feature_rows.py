"""Training rows read from the feature caches a batch at a time (models.image.image_head.FeatureRows):
the same batches, labels and standardisation as the rows copied into one array."""
from __future__ import annotations

import numpy as np

from models.image.image_head import FeatureRows, build_head, feature_dataset
from models.image.image_transfer import DEFAULTS


def _plain_and_mirrored(tmp_path):
    rng = np.random.default_rng(0)
    plain = np.lib.format.open_memmap(tmp_path / "plain.npy", mode="w+", dtype=np.float32, shape=(50, 6))
    mirrored = np.lib.format.open_memmap(tmp_path / "mirrored.npy", mode="w+", dtype=np.float32, shape=(50, 6))
    plain[:], mirrored[:] = rng.normal(5, 3, (50, 6)), rng.normal(-5, 2, (50, 6))
    return plain, mirrored


def test_rows_are_read_from_every_part_in_order(tmp_path):
    plain, mirrored = _plain_and_mirrored(tmp_path)
    train = np.array([7, 3, 41, 0])
    rows = FeatureRows((plain, train), (mirrored, train))
    assert rows.shape == (8, 6)
    assert np.array_equal(rows.take(np.array([5, 0, 7, 2])), np.stack([mirrored[3], plain[7], mirrored[0], plain[41]]))


def test_batches_and_labels_match_the_copied_array(tmp_path):
    plain, mirrored = _plain_and_mirrored(tmp_path)
    train = np.arange(0, 50, 2)
    copied = np.concatenate([plain[train], mirrored[train]])
    y = np.tile(np.arange(25) % 4, 2)
    batches = [feature_dataset(x, y, 4, 8, shuffle_seed=3)
               for x in (copied, FeatureRows((plain, train), (mirrored, train)))]
    for (x_copy, y_copy), (x_read, y_read) in zip(*batches, strict=True):
        assert np.array_equal(x_copy, x_read) and np.array_equal(y_copy, y_read)


def test_the_head_standardises_rows_read_in_batches_like_the_array(tmp_path):
    plain, mirrored = _plain_and_mirrored(tmp_path)
    train = np.arange(50)
    hp = {**DEFAULTS, "standardize": True, "head_units": [8]}
    layers = [build_head(hp, 3, 6, x).get_layer("standardize")
              for x in (np.concatenate([plain, mirrored]), FeatureRows((plain, train), (mirrored, train)))]
    assert np.allclose(layers[0].mean, layers[1].mean, atol=1e-4)
    assert np.allclose(layers[0].variance, layers[1].variance, rtol=1e-4)
