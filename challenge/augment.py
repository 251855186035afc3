"""One random affine transform per image, applied to a whole batch in a single resampling pass.

Keras' RandomFlip, RandomTranslation, RandomRotation and RandomZoom each resample the batch once, so
the seed's four augmentations cost four passes over every pixel. `RandomAffine` draws the same four
random parameters per image, composes them into one 3x3 matrix and resamples once with
`keras.ops.image.affine_transform`: the same distribution of images at about a third of the cost,
which is what makes augmentation cheap enough to run on CPU (benchmarks/image_pipeline.py).
"""
from __future__ import annotations

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="eshoppye")
class RandomAffine(keras.layers.Layer):
    """Random horizontal flip, shift (fraction of the side), rotation (degrees) and zoom (fraction),
    composed per image. Active only in training; at inference images pass through unchanged.

    Pixels that come from outside the image repeat the nearest edge (fill_mode="nearest", as the seed's
    ImageDataGenerator did), which keeps white product backgrounds white.
    """

    def __init__(self, flip: bool = True, shift: float = 0.1, rotation_deg: float = 10.0, zoom: float = 0.1,
                 interpolation: str = "bilinear", fill_mode: str = "nearest", seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.flip, self.shift, self.rotation_deg, self.zoom = flip, shift, rotation_deg, zoom
        self.interpolation, self.fill_mode, self.seed = interpolation, fill_mode, seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # affine_transform is TensorFlow's ImageProjectiveTransformV3, which has no XLA kernel: with XLA
        # (Keras' default on a GPU) the first step failed with "tf2xla conversion failed". A model
        # holding this layer runs as a plain graph instead.
        self.supports_jit = False

    def _uniform(self, n, limit):
        return keras.random.uniform((n,), -limit, limit, seed=self.seed_generator)

    def transforms(self, n, height, width):
        """(n, 8) output->input transforms, the layout `affine_transform` expects."""
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        angle = self._uniform(n, math.radians(self.rotation_deg))
        scale = 1.0 + self._uniform(n, self.zoom)  # > 1 samples a larger area: zooms out
        mirror = ops.ones((n,))
        if self.flip:
            coin = keras.random.uniform((n,), seed=self.seed_generator)
            mirror = ops.where(coin < 0.5, -1.0, 1.0)
        dx = self._uniform(n, self.shift * width)
        dy = self._uniform(n, self.shift * height)
        cos, sin = ops.cos(angle) * scale, ops.sin(angle) * scale
        # input = R(angle) * scale * diag(mirror, 1) * (output - centre) + centre + shift
        a0, a1 = cos * mirror, -sin
        b0, b1 = sin * mirror, cos
        a2 = cx - a0 * cx - a1 * cy + dx
        b2 = cy - b0 * cx - b1 * cy + dy
        zero = ops.zeros((n,))
        return ops.stack([a0, a1, a2, b0, b1, b2, zero, zero], axis=1)

    def call(self, images, training=None):
        if not training:
            return images
        shape = ops.shape(images)
        transforms = self.transforms(shape[0], images.shape[1], images.shape[2])
        out = ops.image.affine_transform(ops.cast(images, "float32"), transforms,
                                         interpolation=self.interpolation, fill_mode=self.fill_mode)
        return ops.cast(out, images.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "flip": self.flip, "shift": self.shift, "rotation_deg": self.rotation_deg,
                "zoom": self.zoom, "interpolation": self.interpolation, "fill_mode": self.fill_mode,
                "seed": self.seed}
