"""The registered models by name, without importing them: what `--help` and argument checks need.

Importing the registry imports every model module, and TensorFlow with them (seconds); a command
line that only lists or checks names reads this table instead. tests/models/test_catalogue.py keeps
it equal to the registry: a model added there fails the test until it is listed here too.
"""
from __future__ import annotations

from typing import NamedTuple

from challenge.errors import DataError


class Entry(NamedTuple):
    inputs: str  # "text" or "image", as ModelSpec.inputs
    tunable: bool  # has a Keras Tuner search space (tune.py)
    description: str  # ModelSpec.description


CATALOGUE: dict[str, Entry] = {
    "tfidf": Entry("text", True, "word + char_wb TF-IDF per field (title, description), calibrated LinearSVC"),
    "bilstm": Entry("text", True, "the seed's Embedding + Bidirectional LSTM on titles"),
    "lstm": Entry("text", True, "Embedding + one-directional LSTM"),
    "gru": Entry("text", True, "Embedding + Bidirectional GRU"),
    "conv1d": Entry("text", True, "Embedding + 1-D convolution + global max pooling"),
    "text_cnn": Entry("text", True, "word + character CNN on the title, word CNN on the description"),
    "text_transformer": Entry("text", True, "small Transformer encoder (2 blocks, attention pooling) trained "
                                            "from scratch"),
    "e5": Entry("text", True, "multilingual-e5-small (offline) frozen title + description embeddings, cached; "
                              "Dense head per fold"),
    "e5_finetune": Entry("text", True, "multilingual-e5-small (offline), top encoder layers fine-tuned per fold "
                                       "on cached lower states"),
    "hub_text": Entry("text", True, "a keras-hub preset (downloaded) fine-tuned end to end per fold: internet + GPU"),
    "knn_tfidf": Entry("text", True, "class votes of the k most similar training rows, cosine over the tfidf model's "
                                     "TF-IDF matrix"),
    "knn_e5": Entry("text", True, "class votes of the k most similar training rows, cosine over frozen e5 title + "
                                  "description embeddings"),
    "cnn_small": Entry("image", True, "small CNN from scratch at the images' own resolution, augmentation inside "
                                      "the model"),
    "effnet_lite0": Entry("image", True, "EfficientNet-Lite0 (ImageNet weights offline) multi-level features + "
                                         "[1024, 512] head"),
    "vgg16": Entry("image", True, "keras.applications VGG16 (ImageNet download) features + head"),
    "resnet50": Entry("image", True, "keras.applications ResNet50 (ImageNet download) features + head"),
    "xception": Entry("image", True, "keras.applications Xception (ImageNet download) features + head"),
    "mobilenet_v2": Entry("image", True, "keras.applications MobileNetV2 (ImageNet download) features + head"),
    "efficientnet_b0": Entry("image", True, "keras.applications EfficientNetB0 (ImageNet download) features + head"),
    "convnext_tiny": Entry("image", True, "keras.applications ConvNeXt-Tiny (ImageNet download) features + head"),
    "efficientnetv2_s": Entry("image", True, "keras.applications EfficientNetV2-S (ImageNet download) features + "
                                             "head, 384 px"),
    "knn_image": Entry("image", True, "class votes of the k most similar training images, cosine over cached "
                                      "EfficientNet-Lite0 features"),
}


def check_model_name(name: str) -> None:
    """The friendly error for a mistyped --model (as models.get_model words it), before anything slow
    is imported."""
    if name not in CATALOGUE:
        raise DataError(f"Unknown model {name!r}. Registered models: {', '.join(sorted(CATALOGUE))}.")


def names(tunable_only: bool = False) -> list[str]:
    return sorted(name for name, entry in CATALOGUE.items() if entry.tunable or not tunable_only)


def models_epilog(tunable_only: bool = False) -> str:
    """A --help epilog: one line per model, its inputs and what it is."""
    width = max(len(name) for name in CATALOGUE)
    lines = [f"  {name:{width}s}  {CATALOGUE[name].inputs:5s}  {CATALOGUE[name].description}"
             for name in names(tunable_only)]
    return "models:\n" + "\n".join(lines)
