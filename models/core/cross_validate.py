"""Train a registered model fold by fold on a run's folds, skipping finished folds, then assemble
its out-of-fold and test predictions. This is what `train.py` runs."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from challenge.reader import ChallengeData
from challenge.text import clean_corpus, product_text
from folds.store import RunDir
from models.core.registry import FoldData, ModelSpec


@dataclass
class ModelInputs:
    train: np.ndarray
    test: np.ndarray


def model_inputs(spec: ModelSpec, hp: dict, data: ChallengeData) -> ModelInputs:
    """What the model reads: cleaned text for text models, image paths for image models."""
    if spec.inputs == "text":
        # "designation|description": two inputs, one column each (see models/text/text_inputs.py)
        columns = [clean_corpus(product_text(data.train, fields), [product_text(data.test, fields)],
                                use_stopwords=hp["stopwords"], drop_frequent=hp["drop_frequent"],
                                light=hp.get("cleaning") == "light")
                   for fields in hp["text_fields"].split("|")]
        train = np.stack([c[0].to_numpy(dtype=object) for c in columns], axis=1)
        test = np.stack([c[1][0].to_numpy(dtype=object) for c in columns], axis=1)
        return ModelInputs(train[:, 0], test[:, 0]) if len(columns) == 1 else ModelInputs(train, test)
    if spec.inputs == "image":
        return ModelInputs(data.train["image_path"].to_numpy(dtype=object),
                           data.test["image_path"].to_numpy(dtype=object))
    raise ValueError(f"model {spec.name!r} declares unknown inputs {spec.inputs!r}")


def cross_validate(data: ChallengeData, run: RunDir, spec: ModelSpec, hp: dict, folds_to_run,
                   name: str | None = None, seed: int = 42, verbose: int = 2,
                   exclude: pd.Index | None = None) -> tuple[list[dict], dict | None]:
    """Train the folds in `folds_to_run` that are not finished yet.

    Returns the summaries of the requested folds and, once every fold of the run is finished, the
    assembled metrics (else None). `exclude` lists training rows (product indices) left out of every
    fold's training set; they are still predicted when their fold is validated.
    """
    name = name or spec.name
    classes = run.classes()
    folds = run.folds()
    store = run.model(name)
    store.save_config({"model": spec.name, "hparams": hp, "seed": seed,
                       "excluded_rows": 0 if exclude is None else int(len(exclude))})
    y = classes.encode(data.labels)
    inputs = None
    keep = np.ones(len(y), dtype=bool) if exclude is None else ~data.train.index.isin(exclude)
    summaries = []
    for k in tqdm(list(folds_to_run), desc=f"{name} folds", unit="fold", disable=verbose == 0):
        if store.fold_done(k):
            summary = store.fold_summary(k)
            tqdm.write(f"{name} fold {k}: finished earlier (weighted F1 {summary['weighted_f1']:.4f}), skipped")
            summaries.append(summary)
            continue
        if inputs is None:
            inputs = model_inputs(spec, hp, data)
        in_fold = folds.to_numpy() == k
        train_rows = ~in_fold & keep
        fold = FoldData(
            x_train=inputs.train[train_rows], y_train=y[train_rows],
            x_val=inputs.train[in_fold], y_val=y[in_fold], x_test=inputs.test,
            n_classes=len(classes), fold_dir=store.fold_dir(k), seed=seed + k, verbose=verbose,
        )
        output = spec.train_fold(fold, hp)
        summary = store.save_fold(k, output, fold.y_val)
        tqdm.write(f"{name} fold {k}: weighted F1 {summary['weighted_f1']:.4f} "
                   f"({summary.get('seconds', 0):.0f} s)")
        summaries.append(summary)
    return summaries, store.assemble(folds, y)
