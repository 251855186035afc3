"""`knn_image`: class votes of the k most similar training images, cosine over the frozen backbone
features that the image models cache (models/image/image_features.py). Its defaults are those of the
`effnet_lite0` model (multi-level Lite0 features at 224 px): give it the `image_size` and
`crop_background` of the recipe's effnet_lite0 step and it reads that step's cache, costing only the
similarities. Features are standardised on the fold's training rows first: the pooled levels have
very different scales, and a few large channels would otherwise decide every cosine.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.preprocessing import StandardScaler

from challenge.images import check_images
from models.core.neighbour_votes import VOTE_DEFAULTS, register_neighbour_model
from models.core.registry import FoldData
from models.image.backbones import get_backbone
from models.image.image_features import extract_features

DEFAULTS = {
    "backbone": "effnet_lite0",
    "image_size": 224,
    "weights": "imagenet",
    "multilevel": True,
    "crop_background": False,
    "bad_images": "error",  # or "blank", as the image models
    "extract_batch_size": 64,
    "cache_dir": "cache",
    **VOTE_DEFAULTS,
}


def image_rows(data: FoldData, hp: dict):
    sizes = [len(data.x_train), len(data.x_val), len(data.x_test)]
    paths, _ = check_images(np.concatenate([data.x_train, data.x_val, data.x_test]), hp["bad_images"],
                            report_to=Path(data.fold_dir) / "bad_images.txt")
    weights = None if str(hp["weights"]).lower() in ("none", "random", "") else hp["weights"]
    table = extract_features(get_backbone(hp["backbone"]), int(hp["image_size"]), paths, hp["extract_batch_size"],
                             cache_dir=hp["cache_dir"], weights=weights, verbose=data.verbose,
                             multilevel=hp["multilevel"], crop=hp["crop_background"])
    x_train, x_val, x_test = (table.rows(part) for part in np.split(paths, np.cumsum(sizes)[:-1]))
    scaler = StandardScaler().fit(x_train)
    return tuple(scaler.transform(x).astype(np.float32) for x in (x_train, x_val, x_test))


register_neighbour_model(
    "knn_image", "image", image_rows, DEFAULTS,
    "class votes of the k most similar training images, cosine over cached EfficientNet-Lite0 features")
