"""Phase 2 of transfer learning: the top of the backbone and the trained head, end to end on images.

The recipe, and why each piece is there (measured on fashion-public, docs/benchmarks.md#image-fine-tuning):

- The head starts from phase 1, trained on the cached features of the images and of their mirrors.
  Phase 2 shows it the same inputs by default (`finetune_augment="flip"`): with the seed's affine
  augmentation the head meets images it has never seen, its loss jumps, and those large gradients
  wreck the backbone in the first steps (the old phase 2 lost three points that way).
- Only the top `finetune_layers` layers train; every BatchNormalization layer, the backbone's and the
  head's, stays in inference mode (`trainable=False`): batch statistics of 32 small images are noise
  next to ImageNet's and the head's own.
- AdamW with a peak learning rate 10x below phase 1's, reached by a linear warm-up and followed by a
  cosine decay to zero (one `keras.optimizers.schedules.CosineDecay`), weight decay on the kernels
  only. Label smoothing is off by default: on a head trained without it, whose logits are very
  confident, the smoothed targets give losses of 10-30 and gradients that only shrink the logits.
- With `finetune_augment="affine"`, `finetune_rewarm_epochs` first trains the head alone on the
  augmented images, so that it knows them before its gradients reach the backbone.
- `BackupAndRestore` saves weights, optimizer state and epoch after every epoch: a killed fold restarts
  at the epoch it was in, with its learning-rate schedule where it was.
"""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from challenge.images import augmentation, image_dataset
from models.core.fit_once import fit_once, was_fitted
from models.core.metrics import MONITOR, ResumableBackup, class_weights, weighted_f1_metric
from models.core.run_options import distribution_scope

FINETUNE_DEFAULTS = {
    "finetune_epochs": 0,
    "finetune_layers": 40,
    "finetune_learning_rate": 1e-4,  # the peak, after warm-up
    "finetune_warmup": 0.3,  # warm-up length, in epochs
    "finetune_weight_decay": 1e-4,
    "finetune_label_smoothing": 0.0,
    "finetune_augment": "flip",  # "flip" (what the head was trained on), "affine" (flip, shift, rotation, zoom) or "none"
    "finetune_rewarm_epochs": 0,  # epochs of the head alone on the augmented images before the backbone thaws
    "finetune_rewarm_learning_rate": 1e-4,
    "finetune_batch_size": 32,
    "cache_images": True,  # keep decoded images in memory while fine-tuning
}
NO_WEIGHT_DECAY = ["bias", "gamma", "beta", "mean", "variance"]  # Normalization's statistics too


def unfreeze_top(net: keras.Model, n_layers: int) -> None:
    """The last `n_layers` layers of `net` trainable (all of them for 0), BatchNorm layers frozen."""
    net.trainable = True
    for layer in net.layers[:-n_layers] if n_layers else []:
        layer.trainable = False
    freeze_batch_norm(net)


def freeze_batch_norm(model: keras.Model) -> None:
    """A BatchNormalization layer with trainable=False runs in inference mode (Keras 3)."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


def warmup_cosine(peak: float, steps_per_epoch: int, epochs: int, warmup_epochs: float):
    """Linear warm-up from 0 to `peak`, then cosine decay to 0 at the end of the last epoch."""
    total = max(1, steps_per_epoch * epochs)
    warmup = min(int(round(steps_per_epoch * warmup_epochs)), total - 1)
    return keras.optimizers.schedules.CosineDecay(0.0, decay_steps=total - warmup, warmup_target=peak,
                                                  warmup_steps=warmup)


def finetune_optimizer(hp: dict, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    optimizer = keras.optimizers.AdamW(
        learning_rate=warmup_cosine(float(hp["finetune_learning_rate"]), steps_per_epoch,
                                    int(hp["finetune_epochs"]), float(hp["finetune_warmup"])),
        weight_decay=float(hp["finetune_weight_decay"]))
    optimizer.exclude_from_weight_decay(var_names=NO_WEIGHT_DECAY)
    return optimizer


def phase2_augmentation(mode: str, seed: int):
    if mode == "affine":
        return augmentation(seed=seed)
    if mode == "flip":
        return augmentation(seed=seed, shift=0.0, rotation_deg=0.0, zoom=0.0)
    if mode == "none":
        return None
    raise ValueError(f"finetune_augment must be 'flip', 'affine' or 'none', not {mode!r}")


def build_finetune_model(net: keras.Model, head: keras.Model, hp: dict, size: int, seed: int) -> keras.Model:
    """augmentation -> backbone (top layers trainable) -> head, BatchNorm in inference mode throughout."""
    unfreeze_top(net, int(hp["finetune_layers"]))
    freeze_batch_norm(head)
    images = keras.Input((size, size, 3), name="image")
    augment = phase2_augmentation(hp["finetune_augment"], seed)
    x = augment(images) if augment is not None else images
    return keras.Model(images, head(net(x)), name=f"{net.name}_finetuned")


def rewarm_head(net: keras.Model, head: keras.Model, hp: dict, train_ds, n_classes: int, size: int, seed: int,
                verbose: int = 2) -> None:
    """The head alone, backbone frozen, on the augmented images it is about to see: it learns them
    before its gradients reach the backbone (the phase-1 head scores 0.86 instead of 0.92 on the
    affine-augmented images of fashion-public)."""
    net.trainable = False
    freeze_batch_norm(head)
    with distribution_scope(hp.get("strategy", "none")):
        images = keras.Input((size, size, 3), name="image")
        augment = phase2_augmentation(hp["finetune_augment"], seed)
        model = keras.Model(images, head(net(augment(images) if augment is not None else images)), name="rewarm")
        model.compile(optimizer=keras.optimizers.AdamW(float(hp["finetune_rewarm_learning_rate"]),
                                                       weight_decay=float(hp["finetune_weight_decay"])),
                      loss=keras.losses.CategoricalCrossentropy(label_smoothing=float(hp["finetune_label_smoothing"])))
    model.fit(train_ds, epochs=int(hp["finetune_rewarm_epochs"]), shuffle=False, verbose=verbose)


def finetune_callbacks(folder: Path, extra=()) -> list[keras.callbacks.Callback]:
    """No ReduceLROnPlateau: the schedule sets the learning rate. The best epoch on validation is
    kept (usually the last: the learning rate ends at zero)."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        ResumableBackup(str(folder / "backup")),
        keras.callbacks.ModelCheckpoint(str(folder / "model.keras"), monitor=MONITOR, mode="max",
                                        save_best_only=True),
        keras.callbacks.EarlyStopping(monitor=MONITOR, mode="max", patience=10**6, restore_best_weights=True),
        keras.callbacks.CSVLogger(str(folder / "history.csv"), append=True),
        *extra,
    ]


def finetune(net: keras.Model, head: keras.Model, hp: dict, train: tuple, val: tuple, n_classes: int,
             preprocess, folder: Path, seed: int = 42, verbose: int = 2, callbacks=()) -> int:
    """Train `net`'s top layers and `head` together on the images; both are updated in place.

    train, val: (image paths, class positions). Returns the number of epochs run in this call (fewer
    than finetune_epochs when an interrupted run resumed)."""
    size, batch = int(net.inputs[0].shape[1]), int(hp["finetune_batch_size"])
    crop, cache = hp.get("crop_background", False), hp["cache_images"]
    train_ds = image_dataset(train[0], size, batch, labels=train[1], n_classes=n_classes, preprocess=preprocess,
                             shuffle_seed=seed, cache=cache, crop=crop)
    val_ds = image_dataset(val[0], size, batch, labels=val[1], n_classes=n_classes, preprocess=preprocess,
                           cache=cache, crop=crop)
    folder = Path(folder)
    # not again on a resume, nor after a finished fit (its weights hold the head's)
    if int(hp["finetune_rewarm_epochs"]) and not (folder / "backup").exists() and not was_fitted(folder):
        rewarm_head(net, head, hp, train_ds, n_classes, size, seed, verbose)
    with distribution_scope(hp.get("strategy", "none")):
        model = build_finetune_model(net, head, hp, size, seed)
        model.compile(optimizer=finetune_optimizer(hp, steps_per_epoch=int(np.ceil(len(train[0]) / batch))),
                      loss=keras.losses.CategoricalCrossentropy(label_smoothing=float(hp["finetune_label_smoothing"])),
                      metrics=[weighted_f1_metric()])
    return fit_once(model, folder, lambda: model.fit(
        train_ds, validation_data=val_ds, epochs=int(hp["finetune_epochs"]), shuffle=False,
        class_weight=class_weights(train[1], n_classes, hp.get("class_weight", "none")),
        callbacks=finetune_callbacks(folder, callbacks), verbose=verbose))
