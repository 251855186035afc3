"""Feature-level fusion: a small Keras net on the concatenated per-model embeddings of a run.

Every model fold saves `fold<k>/val_embed.npy` (its validation rows) and `test_embed.npy`. A fold-k
model saw every training row outside fold k, so its embeddings of those rows are over-fitted. The
fusion net therefore trains on OOF embeddings: each training row embedded by the one model that did
not see it (assembled across folds, like oof.npy). Fusion fold k's validation rows are then embedded
by the fold-k models, and by default so are its test rows (`test_embed="fold"`), so validation and
test come from the same embedding space; `test_embed="mean"` averages the folds' test embeddings.

Five fold models give five embedding spaces: a TF-IDF SVD's later components flip sign and rotate
from fold to fold, a fine-tuned network's units mean different things. Assembled as they are, the
OOF rows of different folds would not be comparable (the net learns nothing). Every fold model
embedded the same test rows, so each fold's space is mapped onto fold 0's by an orthogonal
Procrustes rotation fitted on those test embeddings (features only, never a label). Blocks whose
folds already agree (a frozen backbone) are left as they are.

Each model's embedding is one block: normalised on the fusion fold's training rows (a Keras
Normalization layer), projected to the same width (Dense + BatchNorm + ReLU + Dropout) so a
1280-d image vector cannot drown a 128-d text vector, concatenated, then classified. Early stopping
watches the weighted F1 on a stratified slice of the fusion fold's own training rows, so the rows
it predicts never choose its epoch.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy.linalg import orthogonal_procrustes

from challenge.errors import DataError, DataWarning
from ensemble.embedding_reduction import KEEP_VARIANCE, MIN_COMPONENTS, alignable_width, reduce_fold_embeddings
from folds.inner import holdout
from folds.store import RunDir

DEFAULTS = {
    "units": 256,
    "input_dropout": 0.2,
    "dropout": 0.4,
    "learning_rate": 1e-3,
    "batch_size": 64,
    "epochs": 100,
    "patience": 10,
    "class_weight": "sqrt",  # none | balanced | sqrt (models.core.metrics.class_weights)
    "stop_fraction": 0.15,  # share of the training rows that drives early stopping
    "probabilities": False,  # also feed each model's OOF probabilities as a block
    "align": True,  # rotate every fold's embedding space onto fold 0's (see the module docstring)
    "reduce": True,  # PCA-reduce embeddings wider than the common test rows can align (embedding_reduction)
}


def folds_agree(tests: list[np.ndarray]) -> bool:
    """True when every fold embedded the test rows alike (a frozen backbone): nothing to align."""
    return all(np.allclose(t, tests[0], rtol=1e-4, atol=1e-5) for t in tests[1:])


def align_to_first_fold(vals: list[np.ndarray], tests: list[np.ndarray], where: str):
    """Rotate every fold's embeddings (validation and test rows) into fold 0's space, the rotation
    fitted on the test rows that every fold embedded. Returns the aligned lists and the relative
    residual on the test rows (0 = identical spaces)."""
    reference = tests[0] - tests[0].mean(axis=0)
    scale = np.linalg.norm(reference) + 1e-12
    if folds_agree(tests):
        return vals, tests, 0.0
    if tests[0].shape[0] < tests[0].shape[1]:
        raise DataError(f"{where}: the folds embed the test rows differently, and with {tests[0].shape[0]} "
                        f"test rows for {tests[0].shape[1]} dimensions their spaces cannot be aligned. "
                        f"Use a model with a smaller embedding, --set reduce=true, or --set align=false.")
    aligned_vals, aligned_tests, residuals = [], [], []
    for val, test in zip(vals, tests):
        mean = test.mean(axis=0)
        rotation, _ = orthogonal_procrustes(test - mean, reference)
        aligned_tests.append((test - mean) @ rotation + tests[0].mean(axis=0))
        aligned_vals.append((val - mean) @ rotation + tests[0].mean(axis=0))
        residuals.append(np.linalg.norm((test - mean) @ rotation - reference) / scale)
    return aligned_vals, aligned_tests, float(max(residuals))


def reduce_for_alignment(vals: list[np.ndarray], tests: list[np.ndarray], where: str, seed: int = 0):
    """PCA-reduce every fold's embeddings when the common test rows are too few to align them
    (warning what was done); returns (vals, tests, (width before, width after) or None)."""
    width, n_test = vals[0].shape[1], len(tests[0])
    if n_test >= width or folds_agree(tests):
        return vals, tests, None
    limit = min(alignable_width(n_test), width)
    if limit < MIN_COMPONENTS:
        raise DataError(f"{where}: only {n_test} test rows, too few to align the folds' embedding spaces "
                        f"even after reducing them. Use --set align=false, or a probability stack (lgbm).")
    vals, tests, components = reduce_fold_embeddings(vals, tests, limit, seed=seed)
    warnings.warn(f"{where}: {n_test} test rows are too few to align {width}-d embeddings across folds, "
                  f"so each fold's embedding was reduced to its {components} leading PCA components "
                  f"(fitted on that fold's own validation and test rows; at most half the test rows, "
                  f"{limit}, and no more than explain {KEEP_VARIANCE:.0%} of the variance) before "
                  f"alignment. --set reduce=false refuses instead; --set align=false skips the alignment.",
                  DataWarning, stacklevel=2)
    return vals, tests, (width, components)


def load_embeddings(run: RunDir, names: list[str], test_embed: str = "fold", align: bool = True,
                    reduce: bool = True):
    """(OOF embeddings (n_train, D), per-fold test embeddings [(n_test, D)] * folds, block widths,
    alignment residual per model, {model: (width before, width after)} for reduced models)."""
    if test_embed not in ("fold", "mean"):
        raise DataError(f"test_embed must be 'fold' or 'mean', not {test_embed!r}.")
    folds = run.folds().to_numpy()
    n_folds, n_test = int(folds.max()) + 1, len(run.test_index())
    oof_blocks, test_blocks, widths, residuals, reductions = [], [], [], {}, {}
    for name in names:
        store = run.model(name)
        store.check_compatible()
        missing = [k for k in range(n_folds) if not (store.fold_dir(k) / "val_embed.npy").is_file()]
        if missing:
            raise DataError(f"{store.dir}: folds {missing} saved no embeddings (val_embed.npy), so "
                            f"{name} cannot feed the fusion net. Use models that save embeddings "
                            f"(Keras models, tfidf with embed_dim > 0) or a probability stack (lgbm).")
        vals, tests = [], []
        for k in range(n_folds):
            rows = np.flatnonzero(folds == k)
            val, test = store.load_fold(k, "val_embed"), store.load_fold(k, "test_embed")
            width = vals[0].shape[1] if vals else val.shape[1]
            if val.shape != (len(rows), width) or test.shape != (n_test, width):
                raise DataError(
                    f"{store.fold_dir(k)}: embeddings of shape {val.shape} / {test.shape}, but fold {k} "
                    f"has {len(rows)} rows, the test set {n_test} rows and fold 0 width {width}. "
                    f"Delete that fold folder and train it again.")
            vals.append(val)
            tests.append(test)
        if align and reduce:
            vals, tests, reduction = reduce_for_alignment(vals, tests, str(store.dir))
            if reduction:
                reductions[name] = reduction
        if align:
            vals, tests, residuals[name] = align_to_first_fold(vals, tests, str(store.dir))
        oof = np.zeros((len(folds), vals[0].shape[1]), dtype=np.float32)
        for k, val in enumerate(vals):
            oof[folds == k] = val
        oof_blocks.append(oof)
        test_blocks.append(tests if test_embed == "fold" else [np.mean(tests, axis=0)] * n_folds)
        widths.append(oof.shape[1])
    per_fold_test = [np.hstack([blocks[k] for blocks in test_blocks]) for k in range(n_folds)]
    return np.hstack(oof_blocks), per_fold_test, widths, residuals, reductions


def build_fusion(widths: list[int], n_classes: int, hp: dict, x_train_blocks: list[np.ndarray]):
    import keras
    from keras import layers

    from models.core.metrics import weighted_f1_metric

    inputs, branches = [], []
    for i, (width, block) in enumerate(zip(widths, x_train_blocks)):
        inp = keras.Input(shape=(width,), name=f"block{i}")
        norm = layers.Normalization(name=f"normalise{i}")
        norm.adapt(block)
        h = layers.Dropout(hp["input_dropout"])(norm(inp))
        h = layers.Dense(hp["units"], use_bias=False)(h)
        h = layers.Activation("relu")(layers.BatchNormalization()(h))
        branches.append(layers.Dropout(hp["dropout"])(h))
        inputs.append(inp)
    h = layers.Concatenate()(branches) if len(branches) > 1 else branches[0]
    h = layers.Dense(hp["units"], use_bias=False)(h)
    h = layers.Activation("relu", name="penultimate")(layers.BatchNormalization()(h))
    h = layers.Dropout(hp["dropout"])(h)
    model = keras.Model(inputs, layers.Dense(n_classes, activation="softmax")(h), name="fusion")
    model.compile(optimizer=keras.optimizers.Adam(hp["learning_rate"]), loss="categorical_crossentropy",
                  metrics=[weighted_f1_metric()])
    return model


def fusion_fit_predict_factory(widths: list[int], hp: dict | None = None):
    """A cross_fit-compatible fit_predict over features made of blocks of the given widths."""
    hp = {**DEFAULTS, **(hp or {})}
    cuts = np.cumsum(widths)[:-1]

    def fit_predict(x, y, to_predict, n_classes, seed):
        import keras

        from ensemble.cross_fit import FitResult
        from models.core.keras_fold import predict_in_memory
        from models.core.metrics import MONITOR, class_weights

        keras.utils.set_random_seed(seed)
        # a class of one row stays in the fit rows (folds/inner.py)
        x_fit, x_stop, y_fit, y_stop = holdout(x, y, hp["stop_fraction"], seed)
        blocks = lambda a: np.split(a.astype(np.float32), cuts, axis=1)  # noqa: E731
        onehot = lambda labels: keras.utils.to_categorical(labels, n_classes)  # noqa: E731
        model = build_fusion(widths, n_classes, hp, blocks(x_fit))
        stop = keras.callbacks.EarlyStopping(monitor=MONITOR, mode="max", patience=hp["patience"],
                                             restore_best_weights=True)
        history = model.fit(blocks(x_fit), onehot(y_fit), validation_data=(blocks(x_stop), onehot(y_stop)),
                            epochs=hp["epochs"], batch_size=hp["batch_size"], callbacks=[stop], verbose=0,
                            class_weight=class_weights(y_fit, n_classes, hp["class_weight"]))
        predictions = [predict_in_memory(model, blocks(p), batch_size=512) for p in to_predict]
        best = int(np.argmax(history.history[MONITOR]))
        info = {"epochs_run": len(history.epoch), "best_epoch": best + 1,
                "stop_weighted_f1": round(float(history.history[MONITOR][best]), 4)}
        keras.backend.clear_session()
        return FitResult(predictions, info)

    return fit_predict
