"""Keras Tuner searches over a registered model's search space, scored on the run's folds.

Keras Tuner has no cross-validation of its own, so `FoldTuner.run_trial` trains the trial's
configuration on each requested fold of the run's folds.csv and reports the mean of the folds' best
validation weighted F1 (`val_weighted_f1`) as the trial's objective. Keras models with a `build`
are trained with the pieces of `models.core.keras_fold` (no test predictions, no model file); models
without one (the scikit-learn `tfidf`, image models with their own fold training) are trained with
their spec's `train_fold` and their validation probabilities scored the same way.

Each fold of a trial writes `trial_<id>/fold<k>/score.json` when it is finished, and Keras folds
keep a `BackupAndRestore` backup, so a trial that was interrupted and is retried (Keras Tuner puts
the trial in flight back in its queue when a search is reloaded) starts from where it stopped.
"""
from __future__ import annotations

import contextlib
import gc
import json
import os
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np
import pandas as pd
import tensorflow as tf

from challenge.errors import DataError
from challenge.reader import ChallengeData
from folds.atomic import save_json
from folds.scoring import score
from models.core.cross_validate import ModelInputs, model_inputs
from models.core.keras_fold import compile_model, text_dataset
from models.core.metrics import MONITOR, class_weights, standard_callbacks
from models.core.registry import FoldData, ModelSpec, resolve_hparams

TUNERS = ("random", "bayesian", "hyperband")
OBJECTIVE = kt.Objective(MONITOR, direction="max")
# Hyperband's bookkeeping values live in the trial's hyperparameters under this prefix.
TUNER_KEYS = "tuner/"


# -- the search space ---------------------------------------------------------------------------
def searched_names(spec: ModelSpec) -> list[str]:
    if spec.search_space is None:
        raise DataError(f"Model {spec.name!r} declares no search space, so there is nothing to tune. "
                        f"Add a `search_space(hp)` to its ModelSpec (see models/text/text_rnn.py).")
    hp = kt.HyperParameters()
    spec.search_space(hp)
    return [p.name for p in hp.space]


def search_space(spec: ModelSpec, fixed: dict) -> kt.HyperParameters:
    """The model's space; values the user fixed with --set are pinned (hp.Fixed), not searched."""
    hp = kt.HyperParameters()
    for name in searched_names(spec):
        if name in fixed:
            hp.Fixed(name, fixed[name])
    spec.search_space(hp)
    return hp


class AtomicSaves:
    """Oracle state written to a temporary file and renamed into place.

    Keras Tuner writes oracle.json and trial_*/trial.json in place, so a process killed during the
    write (right after a trial ends) leaves an empty file and the search can no longer be reloaded.
    """

    def save(self):
        save_json(self._get_oracle_fname(), self.get_state())

    def _save_trial(self, trial):
        save_json(Path(self._get_trial_dir(trial.trial_id)) / "trial.json", trial.get_state())


class RandomSearchOracle(AtomicSaves, kt.oracles.RandomSearchOracle):
    pass


class BayesianOptimizationOracle(AtomicSaves, kt.oracles.BayesianOptimizationOracle):
    pass


class HyperbandOracle(AtomicSaves, kt.oracles.HyperbandOracle):
    pass


def make_oracle(kind: str, space: kt.HyperParameters, max_trials: int, epochs: int, seed: int,
                initial_points: int | None = None) -> kt.Oracle:
    """random / bayesian run `max_trials` trials; hyperband's budget is `epochs` (its max_epochs)."""
    common = {"objective": OBJECTIVE, "hyperparameters": space, "seed": seed}
    if kind == "random":
        return RandomSearchOracle(max_trials=max_trials, **common)
    if kind == "bayesian":
        # Keras Tuner's default is 3 random points per dimension (21 for bilstm), which would make
        # a short search purely random; half the trials (at least 2) leaves room for the model.
        points = initial_points or max(2, max_trials // 2)
        return BayesianOptimizationOracle(max_trials=max_trials, num_initial_points=points, **common)
    if kind == "hyperband":
        return HyperbandOracle(max_epochs=epochs, factor=3, **common)
    raise DataError(f"--tuner {kind!r}: choose one of {', '.join(TUNERS)}.")


# -- what each trial trains on ------------------------------------------------------------------
@dataclass
class SearchData:
    """The training rows of a run, encoded labels and fold numbers; the model inputs (cleaned text
    or image paths) are made once per input setting, as several trials share them."""

    data: ChallengeData
    y: np.ndarray
    folds: np.ndarray
    n_classes: int
    _inputs: dict = field(default_factory=dict)

    def fold(self, spec: ModelSpec, hp: dict, k: int, fold_dir: Path, seed: int, verbose: int) -> FoldData:
        inputs = self.inputs(spec, hp)
        val = self.folds == k
        return FoldData(x_train=inputs.train[~val], y_train=self.y[~val], x_val=inputs.train[val],
                        y_val=self.y[val], x_test=inputs.train[val][:1],  # the search predicts no test set
                        n_classes=self.n_classes, fold_dir=fold_dir, seed=seed, verbose=verbose)

    def inputs(self, spec: ModelSpec, hp: dict) -> ModelInputs:
        key = (spec.inputs, hp.get("text_fields"), hp.get("stopwords"), hp.get("drop_frequent"))
        if key not in self._inputs:
            self._inputs[key] = model_inputs(spec, hp, self.data)
        return self._inputs[key]


def dataset_builder(spec: ModelSpec):
    """The tf.data builder a Keras spec trains with: the `make_dataset` bound into its
    `train_fold = partial(train_keras_fold, build, make_dataset=...)`, else text."""
    return getattr(spec.train_fold, "keywords", {}).get("make_dataset", text_dataset)


def fit_keras_fold(spec: ModelSpec, fold: FoldData, hp: dict, strategy=None) -> float:
    """Train one fold with the standard callbacks (no model file) and return its best epoch's
    validation weighted F1, read from history.csv so epochs before a resume count too."""
    make_dataset = dataset_builder(spec)
    keras.utils.set_random_seed(fold.seed)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = compile_model(spec.build(hp, fold.n_classes, fold.x_train), hp)
    batch = hp["batch_size"]
    model.fit(
        make_dataset(fold.x_train, fold.y_train, fold.n_classes, batch, shuffle_seed=fold.seed),
        validation_data=make_dataset(fold.x_val, fold.y_val, fold.n_classes, batch),
        epochs=hp["epochs"], shuffle=False,  # the dataset shuffles
        class_weight=class_weights(fold.y_train, fold.n_classes, hp["class_weight"]),
        callbacks=standard_callbacks(fold.fold_dir, hp, save_model=False), verbose=fold.verbose,
    )
    del model
    history = pd.read_csv(fold.fold_dir / "history.csv")
    return float(history[MONITOR].max())


def fit_other_fold(spec: ModelSpec, fold: FoldData, hp: dict, strategy=None) -> float:
    """A model without a `build` (scikit-learn, or a Keras model with its own fold training): its
    own train_fold, scored on the fold's validation rows."""
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        output = spec.train_fold(fold, hp)
    return score(fold.y_val, output.val_probs)["weighted_f1"]


# -- the tuner ----------------------------------------------------------------------------------
class FoldTuner(kt.Tuner):
    """A Keras Tuner whose trial is one model configuration trained on several folds.

    `search(data)` takes a `SearchData`; on a distributed chief nothing is trained, so it may be
    called without data there.
    """

    def __init__(self, oracle: kt.Oracle, spec: ModelSpec, fixed: dict, folds: list[int], epochs: int,
                 seed: int = 42, verbose: int = 2, **kwargs):
        super().__init__(oracle=oracle, **kwargs)
        self.spec, self.fixed, self.folds = spec, dict(fixed), list(folds)
        self.epochs, self.seed, self.verbose = epochs, seed, verbose

    def trial_hparams(self, hps: kt.HyperParameters) -> dict:
        """The model's resolved hyperparameters for a trial: defaults, --set values, searched values
        and the epochs of the search (Hyperband's `tuner/epochs` when it gives one)."""
        overrides = {**self.fixed, **self.spec.search_space(hps)}
        if "epochs" in self.spec.defaults:
            overrides["epochs"] = int(hps.values.get(f"{TUNER_KEYS}epochs", self.epochs))
        return resolve_hparams(self.spec, overrides)

    def run_trial(self, trial, data: SearchData | None = None, **kwargs) -> dict:
        if data is None:
            raise ValueError("FoldTuner.search(data) needs the training data on a tuner that runs trials")
        hp = self.trial_hparams(trial.hyperparameters)
        trial_dir = Path(self.get_trial_dir(trial.trial_id))
        scores = {}
        for k in self.folds:
            fold_dir = trial_dir / f"fold{k}"
            done = fold_dir / "score.json"
            if done.is_file():  # finished before the search was interrupted
                scores[k] = json.loads(done.read_text())[MONITOR]
                continue
            started = time.time()
            fold = data.fold(self.spec, hp, k, fold_dir, seed=self.seed + k, verbose=self.verbose)
            # Each fold starts from an empty Keras session: no graphs or layer names pile up.
            keras.backend.clear_session()
            gc.collect()
            if self.spec.build is not None:
                scores[k] = fit_keras_fold(self.spec, fold, hp, self.distribution_strategy)
            else:
                scores[k] = fit_other_fold(self.spec, fold, hp, self.distribution_strategy)
            keras.backend.clear_session()
            gc.collect()
            seconds = round(time.time() - started, 1)
            save_json(done, {MONITOR: scores[k], "fold": k, "seconds": seconds, "tuner_id": self.tuner_id})
            print(f"[{self.tuner_id}] trial {trial.trial_id} fold {k}: {MONITOR} {scores[k]:.4f} ({seconds:.0f} s)",
                  flush=True)
        metrics = {MONITOR: float(np.mean(list(scores.values())))}
        metrics.update({f"{MONITOR}_fold{k}": float(v) for k, v in scores.items()})
        # The process's peak memory so far: flat across trials means nothing piles up between them.
        metrics["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return metrics

    def save(self):
        """As Keras Tuner's, with the tuner's own state file written atomically too."""
        if not self._is_worker():
            self.oracle.save()
        save_json(self._get_tuner_fname(), self.get_state())

    # The trial's folds are scored in run_trial; there is no single model to save or reload.
    def save_model(self, trial_id, model, step=0):
        pass

    def load_model(self, trial):
        raise NotImplementedError("FoldTuner keeps no models: train the best hyperparameters with "
                                  "train.py --hparams best_hparams.json")


def distributed_role() -> str:
    """'single', 'chief' or 'worker', from Keras Tuner's environment variables (the same rule as
    Keras Tuner: an oracle address means distributed, a tuner id containing 'chief' is the chief)."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return "single"
    missing = [v for v in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID") if v not in os.environ]
    if missing:
        raise DataError(f"KERASTUNER_ORACLE_IP is set but {', '.join(missing)} is not: a distributed "
                        f"search needs all three (see docs/tuning.md#distributed-search).")
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


def make_strategy(name: str):
    """`mirrored`: a tf.distribute.MirroredStrategy over this machine's GPUs (CPU if none)."""
    if name == "none":
        return None
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    raise DataError(f"--strategy {name!r}: choose 'none' or 'mirrored'.")


# -- results ------------------------------------------------------------------------------------
def trials_table(oracle: kt.Oracle) -> pd.DataFrame:
    """One row per trial, best first: status, objective, per-fold scores and the searched values."""
    rows = []
    for trial in oracle.trials.values():
        row = {"trial": trial.trial_id, "status": trial.status,
               MONITOR: trial.score if trial.score is not None else np.nan}
        for name in sorted(trial.metrics.metrics):
            if name != MONITOR:
                row[name.replace(f"{MONITOR}_", "")] = trial.metrics.get_last_value(name)
        row.update({k: v for k, v in trial.hyperparameters.values.items() if not k.startswith(TUNER_KEYS)})
        if f"{TUNER_KEYS}epochs" in trial.hyperparameters.values:
            row["epochs"] = trial.hyperparameters.values[f"{TUNER_KEYS}epochs"]
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    return table.sort_values([MONITOR, "trial"], ascending=[False, True], na_position="last")


def best_hparams(oracle: kt.Oracle, fixed: dict) -> dict:
    """The best completed trial's searched values plus the --set values: what train.py --hparams
    needs (the search's epochs are left out: they were a budget, not a finding)."""
    completed = [t for t in oracle.trials.values() if t.status == kt.engine.trial.TrialStatus.COMPLETED]
    if not completed:
        raise DataError("No trial of this search completed, so there are no best hyperparameters yet. "
                        "Look at the trials' messages above (ESHOPPYE_DEBUG=1 shows tracebacks).")
    best = oracle.get_best_trials(1)[0]
    values = {k: v for k, v in best.hyperparameters.values.items() if not k.startswith(TUNER_KEYS)}
    return {"trial": best.trial_id, "score": best.score, "hparams": {**fixed, **values}}
