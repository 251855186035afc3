#!/usr/bin/env python
"""Why did the old fine-tuning lose, and which phase-2 recipe wins? Short probes on one fold.

Needs a run where `train.py --model effnet_lite0 --fold K` has finished (its phase-1 head is read
from RUN_DIR/effnet_lite0/fold<K>/head/model.keras, its features from the cache). It prints:

1. the mismatch: the phase-1 head's loss and weighted F1 on the fold's validation images as phase 2
   first shows them, plain and through the seed's affine augmentation;
2. per recipe, the validation weighted F1 (no TTA) after `--steps` training steps, or after whole
   epochs with `--epochs`.

    python benchmarks/finetune_diagnosis.py --data-dir ../shared/bench/fashion-public \\
        --run-dir runs/fashion --fold 0 --recipes old,old_flip,new --steps 60
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

# name -> (phase-2 settings over the new defaults, whether to rebuild the old optimizer and head)
RECIPES = {
    "old": ({"finetune_augment": "affine", "finetune_learning_rate": 1e-4, "finetune_label_smoothing": 0.0}, True),
    "old_flip": ({"finetune_augment": "flip", "finetune_learning_rate": 1e-4, "finetune_label_smoothing": 0.0}, True),
    "old_lr1e5": ({"finetune_augment": "affine", "finetune_learning_rate": 1e-5, "finetune_label_smoothing": 0.0},
                  True),
    # as measured for issue 14: label smoothing 0.1 then, 0 by default now
    "new": ({"finetune_label_smoothing": 0.1}, False),
    "new_affine": ({"finetune_augment": "affine", "finetune_label_smoothing": 0.1}, False),
    "rewarm_affine": ({"finetune_augment": "affine", "finetune_rewarm_epochs": 1, "finetune_label_smoothing": 0.1},
                      False),
    "new_nols": ({"finetune_label_smoothing": 0.0}, False),
    "new_lr3e5": ({"finetune_learning_rate": 3e-5}, False),
    "new_all": ({"finetune_layers": 0}, False),
    "new_80": ({"finetune_layers": 80}, False),
}


def fold_paths(data_dir: str, run_dir: str, fold: int):
    from challenge.cli import load_data
    from folds import RunDir

    data, run = load_data(data_dir), RunDir(run_dir)
    y = run.classes().encode(data.labels)
    in_fold = run.folds().to_numpy() == fold
    paths = data.train["image_path"].to_numpy(dtype=object)
    return (paths[~in_fold], y[~in_fold]), (paths[in_fold], y[in_fold]), len(run.classes())


def weighted_f1(y, probs) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, np.asarray(probs).argmax(1), average="weighted"))


def mismatch(net, head, val, n_classes, preprocess, size):
    """The phase-1 head on the validation images, plain and augmented as the old phase 2 showed them."""
    import keras

    from challenge.images import augmentation, image_dataset

    augment = augmentation(seed=0)
    loss = keras.losses.CategoricalCrossentropy()
    for name, view in (("plain", lambda x: x), ("affine", lambda x: augment(x, training=True))):
        probs = np.concatenate([np.asarray(head(net(view(x), training=False), training=False))
                                for x in image_dataset(val[0], size, 64, preprocess=preprocess)])
        onehot = keras.utils.to_categorical(val[1], n_classes)
        print(f"phase-1 head on {name} validation images: loss {float(loss(onehot, probs)):.3f}, "
              f"weighted F1 {weighted_f1(val[1], probs):.4f}", flush=True)


def old_phase2(net, head, hp, size, seed):
    """The phase 2 before issue 14: affine augmentation, Adam at a flat rate, head BatchNorm training."""
    import keras

    from challenge.images import augmentation
    from models.image.finetune import phase2_augmentation

    net.trainable = True
    for layer in net.layers[:-hp["finetune_layers"]]:
        layer.trainable = False
    for layer in net.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    images = keras.Input((size, size, 3))
    augment = phase2_augmentation(hp["finetune_augment"], seed) if hp["finetune_augment"] != "affine" \
        else augmentation(seed=seed)
    model = keras.Model(images, head(net(augment(images), training=False)))
    model.compile(optimizer=keras.optimizers.Adam(hp["finetune_learning_rate"]),
                  loss=keras.losses.CategoricalCrossentropy())
    return model


def new_phase2(net, head, hp, size, seed, steps_per_epoch):
    import keras

    from models.image.finetune import build_finetune_model, finetune_optimizer

    model = build_finetune_model(net, head, hp, size, seed)
    model.compile(optimizer=finetune_optimizer(hp, steps_per_epoch),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=hp["finetune_label_smoothing"]))
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--cache-dir", default="cache")
    parser.add_argument("--recipes", default="old,old_flip,new")
    parser.add_argument("--steps", type=int, default=60, help="training steps per probe (batch 32)")
    parser.add_argument("--epochs", type=int, default=0, help="whole epochs instead of --steps")
    parser.add_argument("--skip-mismatch", action="store_true")
    args = parser.parse_args(argv)

    import keras

    from challenge.images import image_dataset
    from models.image.backbones import get_backbone
    from models.image.finetune import rewarm_head
    from models.image.image_transfer import DEFAULTS

    backbone = get_backbone("effnet_lite0")
    size = args.image_size
    train, val, n_classes = fold_paths(args.data_dir, args.run_dir, args.fold)
    head_file = Path(args.run_dir) / "effnet_lite0" / f"fold{args.fold}" / "head" / "model.keras"

    def fresh():
        keras.backend.clear_session()
        keras.utils.set_random_seed(42 + args.fold)
        net = backbone.build(size, cache_dir=args.cache_dir, multilevel=True)
        return net, keras.saving.load_model(head_file)

    def val_f1(net, head):
        probs = np.concatenate([np.asarray(head(net(x, training=False), training=False))
                                for x in image_dataset(val[0], size, 128, preprocess=backbone.preprocess)])
        return weighted_f1(val[1], probs)

    if not args.skip_mismatch:
        net, head = fresh()
        print(f"phase-1 head, frozen backbone: validation weighted F1 {val_f1(net, head):.4f} (no TTA)", flush=True)
        mismatch(net, head, val, n_classes, backbone.preprocess, size)

    epochs = args.epochs or 1
    steps_per_epoch = int(np.ceil(len(train[0]) / 32))
    for name in args.recipes.split(","):
        overrides, old = RECIPES[name]
        hp = {**DEFAULTS, "finetune_epochs": epochs, **overrides}
        net, head = fresh()
        started = time.time()
        ds = image_dataset(train[0], size, 32, labels=train[1], n_classes=n_classes,
                           preprocess=backbone.preprocess, shuffle_seed=42, cache=True)
        if hp["finetune_rewarm_epochs"]:
            rewarm_head(net, head, hp, ds, n_classes, size, 42, verbose=0)
            print(f"{name}: head re-warmed on augmented images, validation weighted F1 {val_f1(net, head):.4f} "
                  f"({time.time() - started:.0f} s)", flush=True)
        model = (old_phase2(net, head, hp, size, 42) if old
                 else new_phase2(net, head, hp, size, 42, steps_per_epoch if args.epochs else args.steps))
        for epoch in range(epochs):
            model.fit(ds if args.epochs else ds.take(args.steps), epochs=1, verbose=0)
            print(f"{name} {hp['finetune_augment']} lr {hp['finetune_learning_rate']:g} "
                  f"{'epoch ' + str(epoch + 1) if args.epochs else str(args.steps) + ' steps'}: "
                  f"validation weighted F1 {val_f1(net, head):.4f} ({time.time() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
