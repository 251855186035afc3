"""Shared by every model: the registry, cross-validation over a run's folds, the Keras fold loop,
metrics and callbacks, run options and Keras Tuner searches."""
