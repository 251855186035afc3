"""Frozen-backbone features, computed once and cached on disk as `.npy` arrays read memory-mapped.

The cache key is (backbone, weights, image size, options, flipped or not, the sorted list of image
paths), so the five folds of a run, which all see the same train + test images, share one
extraction (a lock file makes the second fold wait for the first), and a head trains on it in
seconds.

An extraction survives a kill. Features go, batch by batch, into a partial file with a stable name
(`.<key>.partial.npy`, the final array's shape, filled from the top); after every `chunk_rows`
images (2,048) the file is flushed to disk and then a small progress record (`.<key>.progress.json`:
the key, the shape, the rows done) is replaced atomically. A run that finds a record matching its
key and shape starts its image pipeline at the recorded row, so a kill -9 or a lost session costs at
most one chunk; a record that does not match is ignored and the extraction starts over. The
complete file is renamed into place, so an unfinished one is never mistaken for a finished one.

Memory does not grow with the number of images: rows are written with plain file writes (pages
dirtied through a memory map would count in the process's resident memory, 1.5 GB of multi-level
features at the challenge's 98,728 images) and nothing is kept between batches.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from folds.atomic import locked, save_json

CHUNK_ROWS = 2048  # images between two progress records: the most a killed extraction redoes


def cache_key(backbone: str, image_size: int, paths, flip: bool = False, weights: str = "imagenet",
              multilevel: bool = False, crop: bool = False) -> str:
    digest = hashlib.sha256("\n".join(paths).encode()).hexdigest()[:16]
    variant = f"{image_size}px{'-multilevel' if multilevel else ''}{'-crop' if crop else ''}{'-flip' if flip else ''}"
    return f"{backbone}-{weights or 'random'}-{variant}-{len(paths)}-{digest}"


def partial_path(target: Path) -> Path:
    """Where the features of `target` are written until they are complete."""
    return target.with_name(f".{target.stem}.partial.npy")


def progress_path(target: Path) -> Path:
    """The record of how many rows of the partial file are done."""
    return target.with_name(f".{target.stem}.progress.json")


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
                     verbose: int = 1, multilevel: bool = False, crop: bool = False,
                     chunk_rows: int = CHUNK_ROWS) -> FeatureTable:
    """Pooled features of every image in `paths` (duplicates allowed), from the cache when there.
    multilevel: also the pooled intermediate levels of the backbone (Backbone.levels); crop: white
    margins cut away first (challenge.images.crop_to_content); chunk_rows: images between two
    progress records (what an interrupted extraction resumes from)."""
    unique = sorted({str(p) for p in paths})
    key = cache_key(backbone.name, image_size, unique, flip, weights, multilevel, crop)
    folder = Path(cache_dir) / "features"
    target = folder / f"{key}.npy"
    folder.mkdir(parents=True, exist_ok=True)
    with locked(folder / f".{key}.lock"):  # two folds started at once extract once
        if not target.is_file():
            resumed_from = _extract_to(target, backbone, image_size, unique, batch_size, flip, cache_dir,
                                       weights, verbose, multilevel, crop, chunk_rows)
            save_json(folder / f"{key}.json", {"backbone": backbone.name, "image_size": image_size,
                                               "flip": flip, "weights": weights, "multilevel": multilevel,
                                               "crop": crop, "images": len(unique),
                                               "resumed_from_row": resumed_from})
    return FeatureTable(unique, np.load(target, mmap_mode="r"), target)


def _extract_to(target: Path, backbone, image_size, paths, batch_size, flip, cache_dir, weights, verbose,
                multilevel=False, crop=False, chunk_rows=CHUNK_ROWS) -> int:
    """Fill the partial file from its last recorded row on, then rename it onto `target`. Returns the
    row this run started at (0 unless it resumed)."""
    import keras

    from challenge.images import decode_ratio, image_dataset

    model = backbone.build(image_size, weights=weights, cache_dir=cache_dir, multilevel=multilevel)
    shape = (len(paths), int(model.output.shape[-1]))
    partial, progress = partial_path(target), progress_path(target)
    start = _rows_done(partial, progress, target.stem, shape)
    if start == 0:
        progress.unlink(missing_ok=True)  # first, so that no record ever describes the new file
        _new_partial(partial, shape)
    offset, row_bytes = np.load(partial, mmap_mode="r").offset, shape[1] * 4
    # The JPEG scale is judged from all the paths, so a resumed run decodes exactly like a whole one.
    ratio = 1 if crop else decode_ratio(paths, image_size)
    row = recorded = start
    desc = f"{backbone.name} features {image_size}px{' flipped' if flip else ''}"
    with open(partial, "r+b") as handle, tqdm(total=len(paths), initial=start, unit="img", disable=verbose == 0,
                                              desc=desc + (f" (resumed at {start})" if start else "")) as bar:
        handle.seek(offset + start * row_bytes)
        if start < len(paths):
            for batch in image_dataset(paths[start:], image_size, batch_size, preprocess=backbone.preprocess,
                                       flip=flip, crop=crop, ratio=ratio):
                features = np.ascontiguousarray(model.predict_on_batch(batch), dtype=np.float32)
                handle.write(features.tobytes())
                row += len(features)
                bar.update(len(features))
                if row - recorded >= chunk_rows and row < len(paths):
                    _record(handle, progress, target.stem, shape, row)
                    recorded = row
        _flush(handle)
    os.replace(partial, target)
    progress.unlink(missing_ok=True)
    keras.backend.clear_session()
    return start


def _new_partial(partial: Path, shape: tuple[int, int]) -> None:
    """An `.npy` of `shape` whose rows are a sparse hole until written: only the header is stored."""
    np.lib.format.open_memmap(partial, mode="w+", dtype=np.float32, shape=shape).flush()


def _flush(handle) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _record(handle, progress: Path, key: str, shape: tuple[int, int], rows_done: int) -> None:
    """The rows written so far reach the disk first, then the record that vouches for them."""
    _flush(handle)
    save_json(progress, {"key": key, "shape": list(shape), "rows_done": rows_done})


def _rows_done(partial: Path, progress: Path, key: str, shape: tuple[int, int]) -> int:
    """Rows of `partial` an interrupted run finished, by its progress record; 0 (start over) when
    there is no record, or it or the file belong to another key or shape."""
    try:
        record = json.loads(progress.read_text())
        header = np.load(partial, mmap_mode="r")
    except (OSError, ValueError, EOFError):
        return 0
    if not isinstance(record, dict) or record.get("key") != key or record.get("shape") != list(shape):
        return 0
    if header.shape != shape or header.dtype != np.float32:
        return 0
    rows = record.get("rows_done")
    return rows if isinstance(rows, int) and 0 <= rows <= shape[0] else 0
