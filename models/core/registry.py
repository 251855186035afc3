"""The model registry: a name -> how to train one fold, its default hyperparameters and its
Keras Tuner search space.

Adding a model is one builder function and one `register(...)` call in its module; the module is
listed in `models/__init__.py`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from challenge.errors import DataError


@dataclass
class FoldData:
    """Everything one fold's training sees. Text models get cleaned strings, image models get
    file paths; labels are class positions (see challenge.labels.ClassIndex)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    n_classes: int
    fold_dir: Path
    seed: int = 42
    verbose: int = 2


@dataclass
class ModelSpec:
    name: str
    inputs: str  # "text" or "image": what train.py prepares for it
    defaults: dict
    train_fold: Callable  # (FoldData, hparams) -> folds.FoldOutput
    search_space: Callable | None = None  # (keras_tuner.HyperParameters) -> dict of overrides
    build: Callable | None = None  # Keras models: (hparams, n_classes, x_train) -> keras.Model
    description: str = ""
    tags: list[str] = field(default_factory=list)


REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    if spec.name in REGISTRY:
        raise ValueError(f"model {spec.name!r} is registered twice")
    REGISTRY[spec.name] = spec
    return spec


def get_model(name: str) -> ModelSpec:
    if name not in REGISTRY:
        raise DataError(f"Unknown model {name!r}. Registered models: {', '.join(sorted(REGISTRY))}.")
    return REGISTRY[name]


def resolve_hparams(spec: ModelSpec, overrides: dict) -> dict:
    """Defaults updated with user overrides; unknown keys are refused (typos lose hours)."""
    unknown = sorted(set(overrides) - set(spec.defaults))
    if unknown:
        raise DataError(
            f"Model {spec.name!r} has no hyperparameter {', '.join(unknown)}. Known: "
            f"{', '.join(sorted(spec.defaults))}."
        )
    resolved = dict(spec.defaults)
    for key, value in overrides.items():
        default = spec.defaults[key]
        resolved[key] = _coerce(value, default, key)
    return resolved


def _coerce(value, default, key):
    """`--set units=128` arrives as a string: give it the type of the default."""
    if not isinstance(value, str) or isinstance(default, str) or default is None:
        return value
    try:
        if isinstance(default, bool):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, (list, tuple)):
            return [type(default[0])(v) for v in value.split(",") if v] if default else value.split(",")
    except ValueError as err:
        raise DataError(f"--set {key}={value}: expected a {type(default).__name__} like {default!r}.") from err
    return value
