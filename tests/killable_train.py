"""`train.py` in a process of its own that stops at a chosen point of a fold, for the kill -9 tests:

    python tests/killable_train.py STOPPED_FILE FOLD EPOCH TRAIN_ARGS...

runs `train.py TRAIN_ARGS...` and, in fold FOLD, hangs before the second batch of epoch EPOCH (epochs
0..EPOCH-1 are then finished, backed up and in history.csv), after writing STOPPED_FILE. The test kills
it there with SIGKILL: in the middle of an epoch, however fast or slow the machine, so the training
can be as small as the test likes. EPOCH `after-fit` hangs at the fold's first prediction instead:
its fit has returned, the fold's outputs are not written yet.
"""
from __future__ import annotations

import runpy
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AFTER_FIT = -1


def install_stop(stopped_file: Path, fold: int, epoch: int) -> None:
    """Every Keras fold's standard callbacks (models.core.metrics), in fold `fold`, get one more: the
    stop. Set before the model modules import them."""
    import keras

    from models.core import metrics

    def hang(where: str) -> None:
        stopped_file.write_text(f"fold {fold} {where}\n")
        while True:
            time.sleep(60)

    fit_ended = []

    class StopMidEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, current, logs=None):
            self.current = current

        def on_train_batch_begin(self, batch, logs=None):
            if self.current == epoch and batch == 1:
                hang(f"epoch {epoch}")

        def on_train_end(self, logs=None):
            fit_ended.append(True)

    predict = keras.Model.predict

    def predict_or_hang(model, *args, **kwargs):
        if epoch == AFTER_FIT and fit_ended:
            hang("after its fit")
        return predict(model, *args, **kwargs)

    keras.Model.predict = predict_or_hang

    standard_callbacks = metrics.standard_callbacks

    def with_stop(fold_dir, hp, **options):
        callbacks = standard_callbacks(fold_dir, hp, **options)
        return [*callbacks, StopMidEpoch()] if Path(fold_dir).name == f"fold{fold}" else callbacks

    metrics.standard_callbacks = with_stop


if __name__ == "__main__":
    stopped, fold, epoch, *train_args = sys.argv[1:]
    sys.path.insert(0, str(ROOT))
    install_stop(Path(stopped), int(fold), AFTER_FIT if epoch == "after-fit" else int(epoch))
    sys.argv = [str(ROOT / "train.py"), *train_args]
    runpy.run_path(sys.argv[0], run_name="__main__")
