#!/usr/bin/env python
"""Image input speed and the feature cache's payoff, on generated 500x500 JPEGs.

    python benchmarks/image_pipeline.py [--images 800] [--size 224] [--batch 32]

Prints, for a cold first pass and a second epoch, images/s of
  - ImageDataGenerator.flow_from_dataframe with the seed's augmentations (flip, shift, rotate, zoom);
  - this project's tf.data pipeline (challenge.images): reduced-scale JPEG decode, resize, decoded
    images cached after the first pass, the same augmentations composed into one affine transform per
    image and applied to whole batches (challenge/augment.py);
then `speedup_vs_imagedatagenerator X` (second epoch), the per-epoch time of the head on cached
features vs the frozen backbone in the loop, and the peak memory of feature extraction at three
dataset sizes (each in a fresh process). Figures depend on the machine and on what else runs.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def make_jpegs(folder: Path, n: int, seed: int = 0) -> list[str]:
    """Product-photo-like JPEGs: a coloured shape on white, 500x500."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        image = Image.new("RGB", (500, 500), (255, 255, 255))
        draw = ImageDraw.Draw(image)
        x, y, r = rng.integers(120, 380, 2).tolist() + [int(rng.integers(60, 140))]
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
        pixels = np.asarray(image, np.int16) + rng.integers(-12, 13, (500, 500, 3))
        path = folder / f"img{i}.jpg"
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=90)
        paths.append(str(path))
    return paths


def images_per_second(batches, n_images: int) -> float:
    started = time.perf_counter()
    seen = 0
    for batch in batches:
        seen += len(batch[0] if isinstance(batch, tuple) else batch)
        if seen >= n_images:
            break
    return seen / (time.perf_counter() - started)


def image_data_generator(paths, size, batch):
    import tensorflow as tf

    generator = tf.keras.preprocessing.image.ImageDataGenerator(
        rescale=1 / 255.0, horizontal_flip=True, width_shift_range=0.1, height_shift_range=0.1,
        rotation_range=10, zoom_range=0.1)
    frame = pd.DataFrame({"filename": paths, "class": ["a"] * len(paths)})
    return generator.flow_from_dataframe(frame, x_col="filename", y_col="class", target_size=(size, size),
                                         batch_size=batch, shuffle=True, seed=0)


def tf_data_pipeline(paths, size, batch):
    import tensorflow as tf

    from challenge.images import augmentation, image_dataset

    augment = augmentation(seed=0)
    ds = image_dataset(paths, size, batch, shuffle_seed=0, cache=True, preprocess=lambda x: x / 255.0)
    return ds.map(lambda x: augment(x, training=True), num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE)


def speed(paths, size, batch) -> dict:
    n = len(paths)
    flow = image_data_generator(paths, size, batch)
    idg_cold = images_per_second(flow, n)
    idg_warm = images_per_second(flow, n)
    ds = tf_data_pipeline(paths, size, batch)
    ours_cold = images_per_second(iter(ds), n)
    ours_warm = images_per_second(iter(ds), n)
    from challenge.images import image_dataset

    plain = image_dataset(paths, size, batch, shuffle_seed=0, cache=True)
    plain_cold = images_per_second(iter(plain), n)
    plain_warm = images_per_second(iter(plain), n)
    return {"idg_cold": idg_cold, "idg_epoch2": idg_warm, "tfdata_cold": ours_cold, "tfdata_epoch2": ours_warm,
            "tfdata_noaug_cold": plain_cold, "tfdata_noaug_epoch2": plain_warm}


def head_vs_backbone(paths, size, batch) -> dict:
    """One epoch of the head on cached features vs one with the frozen backbone in the loop."""
    import keras

    from challenge.images import image_dataset
    from models.image.backbones import get_backbone
    from models.image.image_head import build_head, feature_dataset
    from models.image.image_transfer import DEFAULTS
    from models.core.keras_fold import compile_model

    backbone = get_backbone("effnet_lite0")
    net = backbone.build(size, cache_dir=tempfile.mkdtemp())
    labels = np.arange(len(paths)) % 10
    head = build_head(DEFAULTS, 10, backbone.features)
    head = compile_model(head, DEFAULTS)  # as train.py trains it: its own batch size, steps per call
    images = keras.Input((size, size, 3))
    in_loop = keras.Model(images, head(net(images, training=False)))
    net.trainable = False
    in_loop.compile("adam", "categorical_crossentropy")
    image_ds = image_dataset(paths, size, batch, labels=labels, n_classes=10, preprocess=backbone.preprocess,
                             cache=True)
    in_loop.fit(image_ds, epochs=1, verbose=0)  # warm-up: decode cache filled, graph traced
    started = time.perf_counter()
    in_loop.fit(image_ds, epochs=1, verbose=0)
    backbone_epoch = time.perf_counter() - started
    features = np.concatenate([net.predict_on_batch(x) for x, _ in image_ds])
    feature_ds = feature_dataset(features, labels, 10, DEFAULTS["batch_size"])
    head.fit(feature_ds, epochs=1, verbose=0)
    started = time.perf_counter()
    head.fit(feature_ds, epochs=1, verbose=0)
    head_epoch = time.perf_counter() - started
    return {"backbone_in_loop_epoch_s": backbone_epoch, "cached_head_epoch_s": head_epoch}


def extraction_memory(paths, size) -> dict:
    """Peak resident memory (MB) of extract_features in a fresh process, at three dataset sizes: flat
    means it levels off (TensorFlow and tf.data buffers) instead of growing with the images."""
    code = ("import json, resource, sys, tempfile; from models.image.backbones import get_backbone; "
            "from models.image.image_features import extract_features; paths = json.load(open(sys.argv[1])); "
            f"extract_features(get_backbone('effnet_lite0'), {size}, paths, 64, cache_dir=tempfile.mkdtemp(), "
            "verbose=0); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    out = {}
    for n in (len(paths) // 16, len(paths) // 4, len(paths)):
        listing = Path(tempfile.mkdtemp()) / "paths.json"
        listing.write_text(json.dumps(paths[:n]))
        result = subprocess.run([sys.executable, "-c", code, str(listing)], capture_output=True, text=True,
                                cwd=Path(__file__).resolve().parents[1], check=True)
        out[n] = float(result.stdout.strip().splitlines()[-1])
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=800, help="generated 500x500 JPEGs (default 800)")
    parser.add_argument("--size", type=int, default=224, help="model input size (default 224)")
    parser.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--skip-memory", action="store_true", help="skip the extraction-memory runs")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp()) / "jpegs"
    paths = make_jpegs(folder, args.images)
    print(f"{args.images} JPEGs 500x500 -> {args.size}x{args.size}, batch {args.batch}, "
          f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    s = speed(paths, args.size, args.batch)
    print(f"ImageDataGenerator + augmentation: cold {s['idg_cold']:.0f} img/s, epoch 2 {s['idg_epoch2']:.0f} img/s")
    print(f"tf.data pipeline + augmentation:   cold {s['tfdata_cold']:.0f} img/s, epoch 2 {s['tfdata_epoch2']:.0f} img/s")
    print(f"tf.data pipeline, no augmentation: cold {s['tfdata_noaug_cold']:.0f} img/s, "
          f"epoch 2 {s['tfdata_noaug_epoch2']:.0f} img/s")
    print(f"speedup_vs_imagedatagenerator {s['tfdata_epoch2'] / s['idg_epoch2']:.1f}")
    t = head_vs_backbone(paths, args.size, args.batch)
    print(f"epoch time: backbone in the loop {t['backbone_in_loop_epoch_s']:.2f} s, head on cached features "
          f"{t['cached_head_epoch_s']:.3f} s")
    print(f"speedup_cached_features {t['backbone_in_loop_epoch_s'] / t['cached_head_epoch_s']:.0f}")
    results = {**s, **t}
    if not args.skip_memory:
        memory = extraction_memory(paths, args.size)
        print("peak memory of feature extraction: " + ", ".join(f"{n} images {mb:.0f} MB" for n, mb in memory.items()))
        results["extraction_peak_mb"] = memory
    return results


if __name__ == "__main__":
    main()
