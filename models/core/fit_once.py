"""A fold's `fit` is paid once, even when the process is stopped after it.

`BackupAndRestore` resumes a fit stopped between epochs, and deletes its backup when the fit ends.
What comes after (predicting the validation and test rows, with flip TTA for the images) is not
backed up: a process stopped there trained the whole fold again on restart. That window is long
where it matters: e5_finetune's predictions take about 6 minutes a fold at the real size on 2
cores, and a 3-hour budget run on debfr-public trained a 13-minute fold twice that way.

So the weights `fit` leaves in the model (EarlyStopping has put the best epoch's back) are saved
beside the fold with a marker; a restart of the same fold (the run directory refuses other
settings under the same name) loads them and goes straight to the predictions.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from folds.atomic import save_json, write_bytes_atomic

WEIGHTS = "fitted_weights.npz"  # the layers' weights only: a restart predicts, it does not train
MARKER = "fitted.json"


def was_fitted(folder: str | Path) -> bool:
    folder = Path(folder)
    return (folder / MARKER).is_file() and (folder / WEIGHTS).is_file()


def fit_once(model: keras.Model, folder: str | Path, fit: Callable[[], keras.callbacks.History]) -> int:
    """`fit()` (the model's own fit call), unless this fold's folder holds the weights of a fit that
    finished: then those are loaded into `model`. Returns the number of epochs the fit ran."""
    folder = Path(folder)
    if was_fitted(folder):
        with np.load(folder / WEIGHTS) as saved:
            model.set_weights([saved[f"arr_{i}"] for i in range(len(saved.files))])
        return int(json.loads((folder / MARKER).read_text())["epochs_run"])
    epochs = len(fit().epoch)
    weights = model.get_weights()
    write_bytes_atomic(folder / WEIGHTS, lambda out: np.savez(out, *weights))  # never half-written
    save_json(folder / MARKER, {"epochs_run": epochs})  # last: the weights are complete
    return epochs
