"""Pretrained transformer text models, one code path for the offline multilingual-e5-small and any
keras-hub preset.

- `e5` (frozen): the encoder's mean-pooled embeddings of the title and of the description, computed
  once per dataset and cached (models.text.encoder_cache); per fold, a standardised Dense head
  (the one the image models use) trains on them in seconds.
- `e5_finetune`: the top `trainable_layers` encoder layers + a classification head trained end to
  end per fold. The frozen layers below run once per dataset: their token states are cached, so
  on CPU an epoch costs only the top layers; so do the pooled outputs the head first trains on. `trainable_layers` >= the encoder's depth fine-tunes
  everything from the token ids (a GPU setting). AdamW with warm-up then cosine decay, early
  stopping on validation weighted F1, BackupAndRestore (a killed fold resumes from its last epoch).
- `hub_text`: `e5_finetune`'s trainer with a downloadable keras-hub preset (default
  `xlm_roberta_base_multi`), every layer trainable: for users with internet and a GPU.

Texts get light cleaning (entities and tags out, case and punctuation kept) and e5's "query: "
prefix (its convention for classification inputs; `prefix=""` for other presets).
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from folds.store import FoldOutput
from models.core.fit_once import fit_once, was_fitted
from models.core.keras_fold import (EMBEDDING_LAYER, classification_head, probs_and_embeddings, steps_per_execution,
                                    with_embeddings)
from models.core.metrics import class_weights, loss_for, standard_callbacks, weighted_f1_metric
from models.core.registry import FoldData, ModelSpec, register
from models.core.run_options import GPU_OPTIONS, distribution_scope, set_precision
from models.image.image_features import FeatureTable
from models.image.image_head import build_head, feature_dataset
from models.text.encoder_cache import (backbone_inputs, encoder_outputs, layer_count, load_backbone,
                                       load_tokenizer, pretrained_pooled, tokenize)
from models.text.npy_rows import NpyRows
from models.text.text_inputs import columns

SHARED = {
    "preset": "multilingual_e5_small",  # offline; or a keras-hub preset name / folder (downloads)
    "cache_dir": "cache",
    "cleaning": "light",
    "stopwords": False,
    "drop_frequent": 0,
    "prefix": "query: ",
    "encode_batch_size": 64,
    "optimizer": "adamw",
    "loss": "crossentropy",
    "class_weight": "none",
    **GPU_OPTIONS,
    "tensorboard": False,
}

FROZEN_DEFAULTS = {
    **SHARED,
    "text_fields": "designation|description",
    "max_length": 32,  # title tokens
    "description_length": 96,  # description tokens
    "standardize": True,
    "head_units": [512],
    "batch_norm": True,
    "dropout": 0.3,
    "input_dropout": 0.1,
    "learning_rate": 1e-3,
    "batch_size": 128,
    "steps_per_execution": 8,
    "epochs": 40,
    "patience": 6,
}

FINETUNE_DEFAULTS = {
    **SHARED,
    "text_fields": "designation+description",
    "max_length": 64,
    "trainable_layers": 2,  # the top encoder layers trained; the rest are cached once per dataset
    "dense_units": 256,
    "dropout": 0.1,
    "head_epochs": 30,  # the head alone first, on the pretrained pooled outputs (0: skip)
    "head_learning_rate": 1e-3,
    "learning_rate": 2e-4,
    "weight_decay": 0.01,
    "warmup_ratio": 0.1,
    "label_smoothing": 0.0,
    "batch_size": 32,
    "epochs": 4,
    "patience": 2,
}


# --------------------------------------------------------------------------- frozen: e5
def _field_lengths(hp: dict, n_fields: int) -> list[int]:
    return [hp["max_length"], hp["description_length"]][:n_fields]


def frozen_features(data: FoldData, hp: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) rows of the cached pooled embeddings, one block per text field."""
    parts = {"train": [], "val": [], "test": []}
    splits = {"train": columns(data.x_train), "val": columns(data.x_val), "test": columns(data.x_test)}
    for field, length in enumerate(_field_lengths(hp, len(splits["train"]))):
        texts = np.concatenate([splits[s][field] for s in parts])
        table = encoder_outputs(hp["preset"], texts, "pooled", max_length=length, prefix=hp["prefix"],
                                batch_size=hp["encode_batch_size"], cache_dir=hp["cache_dir"], verbose=data.verbose)
        for split in parts:
            parts[split].append(table.rows(splits[split][field]))
    return tuple(np.hstack(parts[s]).astype(np.float32) for s in ("train", "val", "test"))


def train_frozen_fold(data: FoldData, hp: dict) -> FoldOutput:
    started = time.time()
    x_train, x_val, x_test = frozen_features(data, hp)
    keras.utils.set_random_seed(data.seed)
    set_precision(hp["mixed_precision"])
    with distribution_scope(hp["strategy"]):
        head = build_head(hp, data.n_classes, x_train.shape[1], x_train)
        head.compile(optimizer=keras.optimizers.Adam(hp["learning_rate"]), loss=loss_for(hp["loss"]),
                     metrics=[weighted_f1_metric()], steps_per_execution=steps_per_execution(hp))
    history = head.fit(
        feature_dataset(x_train, data.y_train, data.n_classes, hp["batch_size"], shuffle_seed=data.seed),
        validation_data=feature_dataset(x_val, data.y_val, data.n_classes, hp["batch_size"]),
        epochs=hp["epochs"], shuffle=False,  # the dataset shuffles
        class_weight=class_weights(data.y_train, data.n_classes, hp["class_weight"]),
        callbacks=standard_callbacks(data.fold_dir, hp), verbose=data.verbose)
    (val_probs, val_embed), (test_probs, test_embed) = (probs_and_embeddings(head, x) for x in (x_val, x_test))
    output = FoldOutput(
        val_probs=val_probs, test_probs=test_probs, val_embed=val_embed, test_embed=test_embed,
        info={"epochs_run": len(history.epoch), "seconds": round(time.time() - started, 1)})
    keras.backend.clear_session()
    return output


# --------------------------------------------------------------------------- fine-tuned: e5_finetune
def sequence_table(texts, hp: dict, first_trainable: int, verbose: int) -> FeatureTable:
    """Per text a padded sequence and its length: the states after the last frozen layer (cached,
    float16), or the token ids (int32) when every layer trains."""
    if first_trainable > 0:
        return encoder_outputs(hp["preset"], texts, "states", layer=first_trainable, max_length=hp["max_length"],
                               prefix=hp["prefix"], batch_size=hp["encode_batch_size"], cache_dir=hp["cache_dir"],
                               verbose=verbose)
    unique = sorted({str(t) for t in texts})
    tokens = tokenize(load_tokenizer(hp["preset"], hp["cache_dir"]), unique, hp["max_length"], hp["prefix"])
    return FeatureTable(unique, tokens.ids, lengths=tokens.lengths)


WIDTHS = 4


def padded_width(longest: int, max_length: int) -> int:
    """A batch's sequence width: its longest text rounded up to a quarter of max_length (16 tokens at
    least). With XLA (Keras' default on a GPU) every new batch shape is a compilation: trimmed to
    each batch's longest text, the widths compiled up to max_length times per function (e5_full at
    128 tokens); rounded, at most WIDTHS times, for a few padding tokens more."""
    step = max(16, -(-max_length // WIDTHS))
    return min(max_length, -(-max(longest, 1) // step) * step)


def sequence_dataset(table: FeatureTable, rows: np.ndarray, y, n_classes: int, batch_size: int,
                     shuffle_seed: int | None = None) -> tf.data.Dataset:
    """Batches of (sequence, mask) trimmed to the batch's longest text rounded up (padded_width)."""
    ids_input = np.issubdtype(table.features.dtype, np.integer)
    # cached states are read by offset, not through their memory map (models/text/npy_rows.py)
    on_disk = NpyRows(table.path) if table.path is not None and isinstance(table.features, np.memmap) else None

    def gather(index):
        width = padded_width(int(table.lengths[index].max()), table.features.shape[1])
        seq = on_disk.read(index, width) if on_disk is not None else np.asarray(table.features[index, :width])
        # 0/1, not bool: under a strategy Keras averages a first batch over the replicas, and bool has no sum
        mask = (np.arange(width)[None, :] < table.lengths[index][:, None]).astype(np.int32)
        return seq, mask

    out_dtype = tf.int32 if ids_input else tf.float16
    ds = tf.data.Dataset.from_tensor_slices(rows if y is None else (rows, keras.utils.to_categorical(y, n_classes)))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(rows), seed=shuffle_seed, reshuffle_each_iteration=True)

    def load(index, *labels):
        seq, mask = tf.numpy_function(gather, [index], [out_dtype, tf.int32])
        seq.set_shape([None, None] if ids_input else [None, None, table.features.shape[-1]])
        mask.set_shape([None, None])
        features = {"sequence": seq, "mask": mask}
        return (features, *labels) if labels else features

    return ds.batch(batch_size).map(load, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def build_finetune_model(hp: dict, n_classes: int, backbone, first_trainable: int) -> tuple[keras.Model, keras.Model]:
    """Sequence in -> [frozen part already applied] -> trainable encoder layers -> masked mean ->
    classification head. With first_trainable == 0 the whole backbone runs on token ids.
    Returns (model, head): the head is a model of its own, so it can first train alone."""
    mask_input = keras.Input((None,), dtype="int32", name="mask")  # 1 for a token, 0 for padding
    mask = keras.ops.cast(mask_input, "bool")
    if first_trainable == 0:
        sequence = keras.Input((None,), dtype="int32", name="sequence")
        outputs = backbone(backbone_inputs(backbone, sequence, mask))
        x = outputs["sequence_output"] if isinstance(outputs, dict) else outputs
        # BERT's pooler (a dense layer on the first token) is not on the way to the loss: frozen, the
        # optimizer does not warn at every step that it has no gradients
        for layer in backbone.layers:
            if layer.name == "pooled_dense":
                layer.trainable = False
    else:
        sequence = keras.Input((None, int(backbone.hidden_dim)), dtype="float16", name="sequence")
        x = layers.Activation("linear", dtype=keras.mixed_precision.global_policy().compute_dtype)(sequence)
        for i in range(first_trainable, layer_count(backbone)):
            x = backbone.get_layer(f"transformer_layer_{i}")(x, padding_mask=mask)
    pooled = layers.GlobalAveragePooling1D(name="mean_pool")(x, mask=mask)
    head_input = keras.Input((int(backbone.hidden_dim),), name="pooled")
    head = keras.Model(head_input, classification_head(layers.Dropout(hp["dropout"])(head_input), hp, n_classes),
                       name="head")
    model = keras.Model({"sequence": sequence, "mask": mask_input}, head(pooled), name="text_encoder_classifier")
    return model, head


def length_order(table: FeatureTable, rows: np.ndarray) -> np.ndarray:
    """The permutation that sorts `rows` by token count. Batches of texts of like length are trimmed
    narrower (padded_width), and neither predictions nor the validation's weighted F1 depend on the
    order: on debfr-public, where 63% of the texts fill the 64 tokens, a batch of 128 in row order
    was nearly always 64 wide."""
    return np.argsort(table.lengths[rows], kind="stable")


def predict_rows(model: keras.Model, table: FeatureTable, rows: np.ndarray, n_classes: int, batch_size: int):
    """model.predict over `rows` of the table, run in length order, returned in the rows' order."""
    order = length_order(table, rows)
    back = np.argsort(order)
    out = model.predict(sequence_dataset(table, rows[order], None, n_classes, batch_size), verbose=0)
    return [o[back] for o in out] if isinstance(out, list) else out[back]


def train_head_first(model: keras.Model, head: keras.Model, table, rows: dict, data: FoldData, hp: dict,
                     first_trainable: int) -> int:
    """Linear probing before fine-tuning: the head learns on the (still pretrained) pooled outputs,
    so the encoder layers are not pulled around by a random head's gradients in the first steps. On
    a small catalogue it is most of what the model learns. Those outputs are the same in every fold:
    computed once per dataset and cached (encoder_cache.pretrained_pooled); run per fold they were
    102 of a 1-epoch fold's 331 s on debfr-public. Returns epochs run."""
    pooled = keras.Model(model.inputs, model.get_layer("mean_pool").output)
    every_text = pretrained_pooled(
        table, hp["preset"], f"from{first_trainable}", hp["max_length"], hp["prefix"], hp["cache_dir"],
        lambda: predict_rows(pooled, table, np.arange(len(table.paths)), data.n_classes, 4 * hp["batch_size"]))
    features = {split: every_text[rows[split]] for split in ("train", "val")}
    head.compile(optimizer=keras.optimizers.Adam(hp["head_learning_rate"]), loss=loss_for("crossentropy"),
                 metrics=[weighted_f1_metric()])
    history = head.fit(
        feature_dataset(features["train"], data.y_train, data.n_classes, hp["batch_size"], shuffle_seed=data.seed),
        validation_data=feature_dataset(features["val"], data.y_val, data.n_classes, hp["batch_size"]),
        epochs=hp["head_epochs"], shuffle=False, verbose=0,  # the dataset shuffles
        callbacks=[keras.callbacks.EarlyStopping(monitor="val_weighted_f1", mode="max", patience=5,
                                                 restore_best_weights=True)])
    return len(history.epoch)


def warmup_cosine(hp: dict, steps_per_epoch: int):
    """Linear warm-up to `learning_rate` over `warmup_ratio` of the steps, then cosine decay to 0."""
    total = max(1, steps_per_epoch * hp["epochs"])
    warmup = int(total * hp["warmup_ratio"])
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else hp["learning_rate"], decay_steps=max(1, total - warmup),
        warmup_target=hp["learning_rate"] if warmup else None, warmup_steps=warmup)


def train_finetune_fold(data: FoldData, hp: dict) -> FoldOutput:
    started = time.time()
    set_precision(hp["mixed_precision"])
    with distribution_scope(hp["strategy"]):  # its layers go into the model: their variables must be mirrored
        backbone = load_backbone(hp["preset"], hp["cache_dir"])
    depth = layer_count(backbone)
    first_trainable = max(0, depth - int(hp["trainable_layers"]))
    texts = np.concatenate([data.x_train, data.x_val, data.x_test])
    table = sequence_table(texts, hp, first_trainable, data.verbose)
    # seeded after the states: computing them (a cold cache) must not change the fold's result
    keras.utils.set_random_seed(data.seed)
    rows = {"train": table.index(data.x_train), "val": table.index(data.x_val), "test": table.index(data.x_test)}
    batch = hp["batch_size"]
    with distribution_scope(hp["strategy"]):
        model, head = build_finetune_model(hp, data.n_classes, backbone, first_trainable)
        if first_trainable > 0:
            del backbone  # only its top layers are in the model
        # the head alone, unless a fit of this fold finished before a stop (its weights hold the head's)
        head_epochs = train_head_first(model, head, table, rows, data, hp, first_trainable) \
            if hp["head_epochs"] and not was_fitted(data.fold_dir) else 0
        steps = math.ceil(len(rows["train"]) / batch)
        model.compile(
            optimizer=keras.optimizers.AdamW(learning_rate=warmup_cosine(hp, steps), weight_decay=hp["weight_decay"]),
            loss=keras.losses.CategoricalCrossentropy(label_smoothing=hp["label_smoothing"])
            if hp["loss"] == "crossentropy" else loss_for(hp["loss"]),
            metrics=[weighted_f1_metric()])
    val_order = length_order(table, rows["val"])
    epochs_run = fit_once(model, data.fold_dir, lambda: model.fit(
        sequence_dataset(table, rows["train"], data.y_train, data.n_classes, batch, shuffle_seed=data.seed),
        validation_data=sequence_dataset(table, rows["val"][val_order], np.asarray(data.y_val)[val_order],
                                         data.n_classes, batch),
        epochs=hp["epochs"], shuffle=False,  # the dataset shuffles
        class_weight=class_weights(data.y_train, data.n_classes, hp["class_weight"]),
        # the schedule owns the learning rate: no ReduceLROnPlateau
        callbacks=standard_callbacks(data.fold_dir, hp, reduce_lr=False), verbose=data.verbose))
    with distribution_scope(hp["strategy"]):  # predicts on every replica, as the model does
        embed_head = keras.Model(head.inputs, head.get_layer(EMBEDDING_LAYER).output)
        # one pass of the encoder layers for both outputs (the second pass was 13-30 s a fold on debfr-public)
        both = with_embeddings(model, embed_head(model.get_layer("mean_pool").output))
    out = {}
    for split in ("val", "test"):
        out[f"{split}_probs"], out[f"{split}_embed"] = predict_rows(both, table, rows[split], data.n_classes, 4 * batch)
    info = {"epochs_run": epochs_run, "head_epochs": head_epochs, "trainable_layers": depth - first_trainable,
            "seconds": round(time.time() - started, 1)}
    keras.backend.clear_session()
    return FoldOutput(out["val_probs"], out["test_probs"], out["val_embed"], out["test_embed"], info=info)


def finetune_search_space(hp) -> dict:
    return {
        "learning_rate": hp.Float("learning_rate", 5e-5, 5e-4, sampling="log"),
        "trainable_layers": hp.Int("trainable_layers", 1, 4),
        "dropout": hp.Float("dropout", 0.0, 0.3, step=0.1),
        "epochs": hp.Int("epochs", 2, 6),
    }


def frozen_search_space(hp) -> dict:
    return {
        "dropout": hp.Float("dropout", 0.1, 0.5, step=0.1),
        "learning_rate": hp.Float("learning_rate", 3e-4, 3e-3, sampling="log"),
        "head_units": hp.Choice("head_units", ["512", "1024,512", "256"]),
    }


register(ModelSpec(
    name="e5", inputs="text", defaults=FROZEN_DEFAULTS, train_fold=train_frozen_fold,
    search_space=frozen_search_space, tags=["keras", "text", "pretrained"],
    description="multilingual-e5-small (offline) frozen title + description embeddings, cached; Dense head per fold"))
register(ModelSpec(
    name="e5_finetune", inputs="text", defaults=FINETUNE_DEFAULTS, train_fold=train_finetune_fold,
    search_space=finetune_search_space, tags=["keras", "text", "pretrained"],
    description="multilingual-e5-small (offline), top encoder layers fine-tuned per fold on cached lower states"))
register(ModelSpec(
    name="hub_text", inputs="text", train_fold=train_finetune_fold, search_space=finetune_search_space,
    defaults={**FINETUNE_DEFAULTS, "preset": "xlm_roberta_base_multi", "prefix": "", "trainable_layers": 99,
              "learning_rate": 3e-5, "epochs": 3, "batch_size": 32},
    tags=["keras", "text", "pretrained"],
    description="a keras-hub preset (downloaded) fine-tuned end to end per fold: internet + GPU"))
