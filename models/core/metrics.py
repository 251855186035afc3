"""Keras training pieces shared by every neural model: the epoch-end weighted F1, the soft-F1 loss,
class weights and the standard callbacks."""
from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import keras
import numpy as np
from keras import ops
from sklearn.utils.class_weight import compute_class_weight

MONITOR = "val_weighted_f1"
EPOCH_SECONDS = "epoch_seconds"  # a history.csv column: each epoch's wall seconds, its validation included


def weighted_f1_metric() -> keras.metrics.Metric:
    """Stateful weighted F1 over the whole validation set (arg-max of each row)."""
    return keras.metrics.F1Score(average="weighted", name="weighted_f1")


@keras.saving.register_keras_serializable(package="eshoppye")
def soft_f1_loss(y_true, y_pred):
    """1 - macro soft-F1: F1 computed on probabilities instead of hard counts, so it has a gradient.

    The seed's loss against class imbalance: every class counts the same, whatever its size.
    """
    y_true = ops.cast(y_true, y_pred.dtype)
    tp = ops.sum(y_true * y_pred, axis=0)
    fp = ops.sum((1.0 - y_true) * y_pred, axis=0)
    fn = ops.sum(y_true * (1.0 - y_pred), axis=0)
    soft_f1 = 2.0 * tp / (2.0 * tp + fp + fn + 1e-7)
    return 1.0 - ops.mean(soft_f1)


def loss_for(name: str):
    if name == "crossentropy":
        return keras.losses.CategoricalCrossentropy()
    if name == "soft_f1":
        return soft_f1_loss
    raise ValueError(f"loss must be 'crossentropy' or 'soft_f1', not {name!r}")


def optimizer_for(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    optimizers = {"adam": keras.optimizers.Adam, "nadam": keras.optimizers.Nadam,
                  "adamw": keras.optimizers.AdamW, "rmsprop": keras.optimizers.RMSprop}
    if name not in optimizers:
        raise ValueError(f"optimizer must be one of {sorted(optimizers)}, not {name!r}")
    return optimizers[name](learning_rate=learning_rate)


def class_weights(y: np.ndarray, n_classes: int, mode: str) -> dict | None:
    """'none', 'balanced' (inverse frequency) or 'sqrt' (its square root: gentler on tiny classes)."""
    if mode == "none":
        return None
    present = np.unique(y)
    weights = compute_class_weight("balanced", classes=present, y=y)
    if mode == "sqrt":
        weights = np.sqrt(weights)
    elif mode != "balanced":
        raise ValueError(f"class_weight must be 'none', 'balanced' or 'sqrt', not {mode!r}")
    full = {k: 1.0 for k in range(n_classes)}
    full.update({int(c): float(w) for c, w in zip(present, weights)})
    return full


class ResumableBackup(keras.callbacks.BackupAndRestore):
    """BackupAndRestore that survives a kill while it writes: Keras's `double_checkpoint` keeps the
    previous epoch's backup beside the latest and falls back to it when the latest cannot be read;
    a backup cut short in its first save (nothing to fall back to) is dropped and the fold starts
    over instead of failing every retry."""

    def __init__(self, backup_dir: str):
        super().__init__(backup_dir, double_checkpoint=True)

    def on_train_begin(self, logs=None):
        try:
            super().on_train_begin(logs)
        except OSError as err:
            shutil.rmtree(self.backup_dir, ignore_errors=True)
            print(f"{self.backup_dir}: the backup was cut short by a stopped process ({err}) and has no earlier "
                  f"copy; this fold starts again from its first epoch.", file=sys.stderr)


class EpochSeconds(keras.callbacks.Callback):
    """Puts each epoch's wall seconds (its validation included) in the logs, so that CSVLogger writes
    them to history.csv: the record of past runs (planner/past_runs.py) reads a step's epochs apart
    from its other parts. Listed before CSVLogger, which writes the logs as this leaves them."""

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs[EPOCH_SECONDS] = round(time.perf_counter() - self._started, 3)


def standard_callbacks(fold_dir: Path, hp: dict, save_model: bool = True,
                       reduce_lr: bool = True) -> list[keras.callbacks.Callback]:
    """Resume after a crash, keep the best model, stop early, lower the LR, log every epoch and its
    seconds.

    `save_model=False` (a tuning trial) keeps no model.keras; `reduce_lr=False` for a model whose
    learning rate follows a schedule."""
    fold_dir = Path(fold_dir)
    fold_dir.mkdir(parents=True, exist_ok=True)
    callbacks = [
        EpochSeconds(),
        ResumableBackup(str(fold_dir / "backup")),
        keras.callbacks.EarlyStopping(monitor=MONITOR, mode="max", patience=hp.get("patience", 3),
                                      restore_best_weights=True),
        keras.callbacks.CSVLogger(str(fold_dir / "history.csv"), append=True),
    ]
    if reduce_lr:
        callbacks.insert(3, keras.callbacks.ReduceLROnPlateau(
            monitor=MONITOR, mode="max", factor=0.5, patience=max(1, hp.get("patience", 3) // 2), min_lr=1e-6))
    if save_model:
        callbacks.insert(2, keras.callbacks.ModelCheckpoint(str(fold_dir / "model.keras"), monitor=MONITOR,
                                                            mode="max", save_best_only=True))
    if hp.get("tensorboard", True):
        callbacks.append(keras.callbacks.TensorBoard(str(fold_dir / "tensorboard"), write_graph=False))
    return callbacks
