"""Frozen-backbone features, computed once and cached on disk as memory-mapped arrays.

The cache key is (backbone, weights, image size, flipped or not, the sorted list of image paths), so
the five folds of a run, which all see the same train + test images, share one extraction, and a
head trains on it in seconds. Features are written batch by batch into a memory-mapped `.npy`, so
extraction memory does not grow with the number of images; the file is renamed into place when
complete, so an interrupted extraction is never mistaken for a finished one.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from folds.atomic import locked, save_json


def cache_key(backbone: str, image_size: int, paths, flip: bool = False, weights: str = "imagenet",
              multilevel: bool = False, crop: bool = False) -> str:
    digest = hashlib.sha256("\n".join(paths).encode()).hexdigest()[:16]
    variant = f"{image_size}px{'-multilevel' if multilevel else ''}{'-crop' if crop else ''}{'-flip' if flip else ''}"
    return f"{backbone}-{weights or 'random'}-{variant}-{len(paths)}-{digest}"


class FeatureTable:
    """Features for a set of images; `rows(paths)` gives the features of those images in that order."""

    def __init__(self, paths: list[str], features: np.ndarray, path: Path | None = None,
                 lengths: np.ndarray | None = None):
        self.paths, self.features, self.path = paths, features, path
        self.lengths = lengths  # per row, for padded sequences (models.text.encoder_cache)
        self._row = {p: i for i, p in enumerate(paths)}

    def index(self, paths) -> np.ndarray:
        return np.array([self._row[str(p)] for p in paths], dtype=np.int64)

    def rows(self, paths) -> np.ndarray:
        return self.features[self.index(paths)]


def extract_features(backbone, image_size: int, paths, batch_size: int = 64, flip: bool = False,
                     cache_dir: str | Path = "cache", weights: str | None = "imagenet",
                     verbose: int = 1, multilevel: bool = False, crop: bool = False) -> FeatureTable:
    """Pooled features of every image in `paths` (duplicates allowed), from the cache when there.
    multilevel: also the pooled intermediate levels of the backbone (Backbone.levels); crop: white
    margins cut away first (challenge.images.crop_to_content)."""
    unique = sorted({str(p) for p in paths})
    key = cache_key(backbone.name, image_size, unique, flip, weights, multilevel, crop)
    folder = Path(cache_dir) / "features"
    target = folder / f"{key}.npy"
    folder.mkdir(parents=True, exist_ok=True)
    with locked(folder / f".{key}.lock"):  # two folds started at once extract once
        if not target.is_file():
            _extract_to(target, backbone, image_size, unique, batch_size, flip, cache_dir, weights, verbose,
                        multilevel, crop)
            save_json(folder / f"{key}.json", {"backbone": backbone.name, "image_size": image_size,
                                               "flip": flip, "weights": weights, "multilevel": multilevel,
                                               "crop": crop, "images": len(unique)})
    return FeatureTable(unique, np.load(target, mmap_mode="r"), target)


def _extract_to(target: Path, backbone, image_size, paths, batch_size, flip, cache_dir, weights, verbose,
                multilevel=False, crop=False):
    import keras

    from challenge.images import image_dataset

    model = backbone.build(image_size, weights=weights, cache_dir=cache_dir, multilevel=multilevel)
    partial = target.with_name(f".{target.stem}.{os.getpid()}.npy")
    out = np.lib.format.open_memmap(partial, mode="w+", dtype=np.float32,
                                    shape=(len(paths), int(model.output.shape[-1])))
    ds = image_dataset(paths, image_size, batch_size, preprocess=backbone.preprocess, flip=flip, crop=crop)
    row = 0
    with tqdm(total=len(paths), desc=f"{backbone.name} features {image_size}px{' flipped' if flip else ''}",
              unit="img", disable=verbose == 0) as bar:
        for batch in ds:
            features = model.predict_on_batch(batch)
            out[row:row + len(features)] = features
            row += len(features)
            bar.update(len(features))
    out.flush()
    del out
    os.replace(partial, target)
    keras.backend.clear_session()
