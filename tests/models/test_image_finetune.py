"""Phase 2 of the transfer models (models/image/finetune.py) on tiny data with random weights: which
layers train, the learning-rate schedule, resuming a killed fine-tuning run at the epoch it was in,
and the per-fold choice of phase recorded in done.json."""
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from models.image.finetune import FINETUNE_DEFAULTS, finetune, unfreeze_top, warmup_cosine
from models.image.image_head import build_head
from models.image.image_transfer import DEFAULTS, _keep

SIZE = 32


class Killed(Exception):
    """Stands for the process being killed in the middle of an epoch."""


class KillAt(keras.callbacks.Callback):
    def __init__(self, epoch: int, batch: int):
        super().__init__()
        self.kill_epoch, self.kill_batch, self.epoch = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == (self.kill_epoch, self.kill_batch):
            raise Killed


class EpochsSeen(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def tiny_net_and_head(n_classes: int):
    from models.image.backbones import get_backbone

    keras.utils.set_random_seed(0)
    net = get_backbone("effnet_lite0").build(SIZE, weights=None)
    head = build_head({**DEFAULTS, "head_units": [16]}, n_classes, int(net.output.shape[-1]))
    return net, head


def demo_images(demo_dir: Path, n: int = 96):
    from challenge.reader import read_challenge

    data = read_challenge(str(demo_dir))
    codes = {c: k for k, c in enumerate(sorted(data.labels.unique()))}
    return (data.train["image_path"].to_numpy(dtype=object)[:n], data.labels.map(codes).to_numpy()[:n],
            len(codes))


def test_only_the_top_layers_train_and_batch_norm_stays_in_inference_mode():
    from models.image.backbones import get_backbone

    net = get_backbone("effnet_lite0").build(SIZE, weights=None)
    unfreeze_top(net, 12)
    trainable = [layer for layer in net.layers if layer.trainable and layer.weights]
    assert trainable and all(layer in net.layers[-12:] for layer in trainable)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) and layer.trainable for layer in net.layers)


def test_learning_rate_warms_up_to_its_peak_then_decays_to_zero():
    schedule = warmup_cosine(1e-4, steps_per_epoch=10, epochs=3, warmup_epochs=0.5)
    rates = [float(schedule(step)) for step in range(31)]
    assert rates[0] == 0 and rates[5] == pytest.approx(1e-4) and max(rates) == pytest.approx(1e-4)
    assert all(a <= b for a, b in zip(rates[:5], rates[1:6]))  # rising through the warm-up
    assert all(a >= b for a, b in zip(rates[5:], rates[6:])) and rates[30] == pytest.approx(0, abs=1e-12)


def test_a_killed_finetuning_run_resumes_at_the_epoch_it_was_in(demo_dir, tmp_path):
    paths, y, n_classes = demo_images(demo_dir)
    train, val = (paths[:64], y[:64]), (paths[64:], y[64:])
    hp = {**DEFAULTS, "finetune_epochs": 3, "finetune_layers": 10, "finetune_batch_size": 16}
    steps_per_epoch = 64 // 16

    net, head = tiny_net_and_head(n_classes)
    with pytest.raises(Killed):
        finetune(net, head, hp, train, val, n_classes, None, tmp_path, verbose=0, callbacks=[KillAt(1, 2)])
    after_first_epoch = pd.read_csv(tmp_path / "history.csv")["epoch"].tolist()
    assert after_first_epoch == [0]

    net, head = tiny_net_and_head(n_classes)  # a new process: fresh weights, restored from the backup
    seen = EpochsSeen()
    ran = finetune(net, head, hp, train, val, n_classes, None, tmp_path, verbose=0, callbacks=[seen])
    assert seen.epochs == [1, 2] and ran == 2
    assert pd.read_csv(tmp_path / "history.csv")["epoch"].tolist() == [0, 1, 2]
    # The optimizer state came back too: the schedule went on from where it was, not from step 0.
    model_optimizer = seen.model.optimizer
    assert int(model_optimizer.iterations) == 3 * steps_per_epoch
    assert not (tmp_path / "backup").exists()  # removed once the run finished


def test_keep_better_records_the_phase_each_fold_kept():
    y_val = np.array([0, 1, 1, 0])
    right, wrong = np.eye(2)[y_val], np.eye(2)[1 - y_val]

    def outputs(probs):
        return {"val": {"probs": probs}, "test": {"probs": probs}}

    record = {}
    kept = _keep(outputs(right), outputs(wrong), y_val, "better", record)
    assert kept["val"]["probs"] is right and record["kept_phase"] == "frozen"
    assert record["frozen_val_f1"] == 1.0 and record["finetuned_val_f1"] == 0.0
    record = {}
    assert _keep(outputs(right), outputs(wrong), y_val, "finetuned", record)["val"]["probs"] is wrong
    assert record["kept_phase"] == "finetuned"


def test_finetune_defaults_are_the_transfer_models_defaults():
    assert {k: DEFAULTS[k] for k in FINETUNE_DEFAULTS} == FINETUNE_DEFAULTS


def test_rewarming_trains_the_head_alone_on_the_augmented_images(demo_dir):
    from challenge.images import image_dataset
    from models.image.finetune import rewarm_head

    paths, y, n_classes = demo_images(demo_dir, n=32)
    net, head = tiny_net_and_head(n_classes)
    hp = {**DEFAULTS, "finetune_augment": "affine", "finetune_rewarm_epochs": 1}
    backbone_before = [w.copy() for w in net.get_weights()]
    head_before = [w.copy() for w in head.get_layer("probs").get_weights()]
    ds = image_dataset(paths, SIZE, 16, labels=y, n_classes=n_classes, shuffle_seed=0)
    rewarm_head(net, head, hp, ds, n_classes, SIZE, seed=0, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(backbone_before, net.get_weights()))
    assert not all(np.array_equal(a, b) for a, b in zip(head_before, head.get_layer("probs").get_weights()))
