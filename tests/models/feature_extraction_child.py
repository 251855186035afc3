"""A feature extraction in a process of its own, for the kill -9 test (test_image_feature_resume.py).

    python tests/models/feature_extraction_child.py PATHS_JSON CACHE_DIR HALT_AT

It extracts with a tiny random-weight backbone and hangs, until killed, instead of predicting past
HALT_AT images, so that the test kills it at a known point in the middle of an extraction.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

SIZE, BATCH, CHUNK = 32, 8, 16  # small images, and a chunk of two batches: many chunks from few images


class CountingModel:
    """A backbone model that counts the images it predicts; with `halt_at`, it hangs rather than
    predict past that many."""

    def __init__(self, net, halt_at: int | None = None):
        self.net, self.halt_at, self.rows = net, halt_at, 0
        self.output = net.output

    def predict_on_batch(self, batch):
        if self.halt_at is not None and self.rows + len(batch) > self.halt_at:
            while True:
                time.sleep(60)
        self.rows += len(batch)
        return self.net.predict_on_batch(batch)


def tiny_backbone(halt_at: int | None = None):
    """A two-convolution backbone with seeded weights (the same in every process), and the list of
    the CountingModels it has built."""
    import keras

    from models.image.backbones import Backbone

    built = []

    def build(image_size, weights, cache_dir):
        seeded = [keras.initializers.GlorotUniform(seed=s) for s in (1, 2)]
        inputs = keras.Input((image_size, image_size, 3))
        x = keras.layers.Conv2D(8, 3, strides=2, activation="relu", kernel_initializer=seeded[0])(inputs)
        x = keras.layers.Conv2D(16, 3, strides=2, activation="relu", kernel_initializer=seeded[1])(x)
        net = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
        built.append(CountingModel(net, halt_at))
        return built[-1]

    return Backbone("tiny", SIZE, 16, lambda images: images / 127.5 - 1.0, build), built


def extract(paths, cache_dir, halt_at: int | None = None):
    """The features of `paths` (a FeatureTable) and the number of images this call predicted."""
    from models.image.image_features import extract_features

    backbone, built = tiny_backbone(halt_at)
    table = extract_features(backbone, SIZE, paths, BATCH, cache_dir=cache_dir, weights=None, verbose=0,
                             chunk_rows=CHUNK)
    return table, sum(model.rows for model in built)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    paths_json, cache, halt = sys.argv[1:]
    extract(json.loads(Path(paths_json).read_text()), cache, int(halt))
    sys.exit("finished: it should have been killed first")
