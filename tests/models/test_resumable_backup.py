"""A process killed while BackupAndRestore writes its backup (models/core/metrics.py ResumableBackup):
the next start resumes from the epoch before, or starts the fold over when there is none, instead of
failing on the cut-short file (CI saw a retried Ray fold fail with h5py's 'truncated file')."""
from __future__ import annotations

import keras
import numpy as np

from models.core.metrics import ResumableBackup


class StopAfter(keras.callbacks.Callback):
    """Stands in for a kill: ends the process's training after `epoch` with the backup left behind."""

    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


class Epochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_begin(self, epoch, logs=None):
        self.seen.append(epoch)


def fit(backup_dir, epochs, *extra):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    recorder = Epochs()
    try:
        model.fit(np.ones((8, 3)), np.ones((8, 2)), epochs=epochs, verbose=0,
                  callbacks=[ResumableBackup(str(backup_dir)), recorder, *extra])
    except KeyboardInterrupt:
        pass
    return recorder.seen


def cut_short(path):
    path.write_bytes(path.read_bytes()[:96])


def test_a_latest_backup_cut_short_resumes_from_the_one_before(tmp_path):
    backup = tmp_path / "backup"
    assert fit(backup, 6, StopAfter(2)) == [0, 1, 2]  # backups at the ends of epochs 1 (previous) and 2 (latest)
    cut_short(backup / "latest.weights.h5")
    assert fit(backup, 6) == [2, 3, 4, 5]  # from the previous backup: epoch 2 again


def test_a_backup_cut_short_in_its_first_save_starts_the_fold_over(tmp_path, capsys):
    backup = tmp_path / "backup"
    assert fit(backup, 4, StopAfter(0)) == [0]
    assert not (backup / "latest.weights.h5.bkp").exists()
    cut_short(backup / "latest.weights.h5")
    assert fit(backup, 4) == [0, 1, 2, 3]
    assert "has no earlier copy; this fold starts again from its first epoch" in capsys.readouterr().err
