"""`cnn_small`: a small CNN trained from scratch at the images' own resolution (capped), with the
augmentation layers inside the model. A cheap second opinion next to the ImageNet backbones."""
from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np
from keras import layers

from challenge.images import augmentation, check_images, image_dataset
from folds.store import FoldOutput
from models.core.fit_once import fit_once
from models.core.keras_fold import classification_head, compile_model, with_embeddings
from models.core.metrics import class_weights, standard_callbacks
from models.core.registry import FoldData, ModelSpec, register
from models.core.run_options import GPU_OPTIONS, distribution_scope, set_precision

DEFAULTS = {
    "image_size": 0,  # 0: the images' own size (read from the first file), capped at max_image_size
    "max_image_size": 96,
    "filters": [32, 64, 128],
    "convs_per_block": 1,
    "dense_units": 256,
    "block_dropout": 0.1,
    "dropout": 0.3,
    "augment": True,
    "shift": 0.1,
    "rotation_deg": 0.0,
    "zoom": 0.0,
    "tta": True,
    "crop_background": False,  # cut white margins before resizing (challenge.images.crop_to_content)
    "bad_images": "error",
    "optimizer": "adam",
    "learning_rate": 2e-3,
    "loss": "crossentropy",
    "class_weight": "none",
    "batch_size": 64,
    "epochs": 20,
    "patience": 4,
    "tensorboard": False,
    **GPU_OPTIONS,
}


def native_size(paths, cap: int) -> int:
    """Short side of the first readable image, capped."""
    from PIL import Image

    for p in paths:
        try:
            with Image.open(p) as image:
                return int(min(min(image.size), cap))
        except OSError:
            continue
    return cap


def build_cnn_small(hp: dict, n_classes: int, image_size: int, seed: int | None = None) -> keras.Model:
    images = keras.Input((image_size, image_size, 3), name="image")
    x = layers.Rescaling(1 / 255.0)(images)
    if hp["augment"]:
        x = augmentation(seed, shift=hp["shift"], rotation_deg=hp["rotation_deg"], zoom=hp["zoom"])(x)
    filters = hp["filters"]
    filters = [int(f) for f in filters.split(",")] if isinstance(filters, str) else list(filters)
    for i, width in enumerate(filters):
        for j in range(hp["convs_per_block"]):
            x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv{i}_{j}")(x)
            # momentum 0.9: the moving statistics settle within the first epoch on small data
            x = layers.BatchNormalization(momentum=0.9)(x)
            x = layers.ReLU()(x)
        if i < len(filters) - 1:
            x = layers.MaxPooling2D()(x)
        elif x.shape[1] <= 8:  # small maps (28x28 input): keep where things are
            x = layers.Flatten()(x)
        else:
            x = layers.GlobalAveragePooling2D()(x)
        x = layers.Dropout(hp["block_dropout"])(x)
    probs = classification_head(x, hp, n_classes)
    return keras.Model(images, probs, name="cnn_small")


def train_cnn_fold(data: FoldData, hp: dict) -> FoldOutput:
    started = time.time()
    sizes = [len(data.x_train), len(data.x_val), len(data.x_test)]
    paths, bad = check_images(np.concatenate([data.x_train, data.x_val, data.x_test]), hp["bad_images"],
                              report_to=Path(data.fold_dir) / "bad_images.txt")
    train_paths, val_paths, test_paths = np.split(paths, np.cumsum(sizes)[:-1])
    size = int(hp["image_size"]) or native_size(train_paths, hp["max_image_size"])
    batch = hp["batch_size"]

    keras.utils.set_random_seed(data.seed)
    set_precision(hp["mixed_precision"])
    with distribution_scope(hp["strategy"]):
        model = compile_model(build_cnn_small(hp, data.n_classes, size, seed=data.seed), hp)
    crop = hp["crop_background"]
    train_ds = image_dataset(train_paths, size, batch, labels=data.y_train, n_classes=data.n_classes,
                             shuffle_seed=data.seed, cache=True, crop=crop)
    val_ds = image_dataset(val_paths, size, batch, labels=data.y_val, n_classes=data.n_classes, cache=True,
                           crop=crop)
    epochs_run = fit_once(model, data.fold_dir, lambda: model.fit(
        train_ds, validation_data=val_ds, epochs=hp["epochs"], shuffle=False,  # the dataset shuffles
        class_weight=class_weights(data.y_train, data.n_classes, hp["class_weight"]),
        callbacks=standard_callbacks(data.fold_dir, hp), verbose=data.verbose))
    both = with_embeddings(model)  # each view's images decoded once for both outputs
    out = {}
    for k, p in (("val", val_paths), ("test", test_paths)):
        views = [image_dataset(p, size, 256, flip=f, crop=crop) for f in ([False, True] if hp["tta"] else [False])]
        predicted = [both.predict(v, verbose=0) for v in views]
        out[f"{k}_probs"] = np.mean([probs for probs, _ in predicted], axis=0)
        out[f"{k}_embed"] = np.mean([embed for _, embed in predicted], axis=0)
    info = {"epochs_run": epochs_run, "seconds": round(time.time() - started, 1),
            "blank_images": len(bad), "image_size": size}
    keras.backend.clear_session()
    return FoldOutput(out["val_probs"], out["test_probs"], out["val_embed"], out["test_embed"], info=info)


def cnn_search_space(hp) -> dict:
    return {
        "filters": hp.Choice("filters", ["32,64,128", "32,64", "64,128,256"]),
        "dense_units": hp.Choice("dense_units", [128, 256, 512]),
        "dropout": hp.Float("dropout", 0.2, 0.6, step=0.1),
        "learning_rate": hp.Float("learning_rate", 3e-4, 5e-3, sampling="log"),
    }


register(ModelSpec(
    name="cnn_small", inputs="image", defaults=DEFAULTS, train_fold=train_cnn_fold,
    search_space=cnn_search_space, tags=["keras", "image"],
    description="small CNN from scratch at the images' own resolution, augmentation inside the model",
))
