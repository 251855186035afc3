"""The GPU road rehearsed on the CPU (ESHOPPYE_GPU_REHEARSAL=1, models/core/rehearsal.py): every
registered Keras model trains and predicts one fold (a) under mixed_float16, (b) mirrored over 2
replicas, (c) with XLA resolved as on a GPU, its compilations counted; the RNNs keep cuDNN's
conditions. The rehearsal is process-wide: every setting runs in one process of its own
(tests/models/rehearsal_child.py: one TensorFlow start) over every model at tiny sizes, made once
for the file's tests by a fixture. `pytest -k rehearsal` runs them, with the challenge_gpu recipe
(tests/test_gpu_recipe_rehearsal.py: e5_full's mixed precision and XLA) and gpu_check's smoke."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from challenge.demo import make_demo
from models.core import xla_compilations
from models.core.rehearsal import environment as rehearsal_environment

REPO = Path(__file__).resolve().parents[2]
TEXT = {"epochs": 1, "batch_size": 20, "dense_units": 16, "tensorboard": False}
RNN = {**TEXT, "units": 8, "max_tokens": 500, "embedding_dim": 16}
E5 = {"epochs": 1, "batch_size": 16, "max_length": 32}
# extract_batch_size above the 72 images: one batch shape, one trace (one XLA compilation) per pass
IMAGE = {"epochs": 1, "batch_size": 20, "image_size": 32, "head_units": "16", "weights": "none",
         "extract_batch_size": 128}
# name -> (registered model, overrides); e5_full is challenge_gpu's end-to-end e5 (recipes.py)
STEPS = {
    "bilstm": ("bilstm", {**RNN, "attention": True}),
    "lstm": ("lstm", RNN),
    "gru": ("gru", RNN),
    "conv1d": ("conv1d", RNN),
    "text_cnn": ("text_cnn", {**TEXT, "filters": 8, "embedding_dim": 16, "char_embedding_dim": 8,
                              "sequence_length": 12, "description_length": 24, "char_length": 30}),
    # two fields: a third of the demo's descriptions are empty, fully padded sequences
    "text_transformer": ("text_transformer", {**TEXT, "text_fields": "designation|description", "layers": 1,
                                              "heads": 2, "embedding_dim": 16, "ff_units": 16,
                                              "description_length": 24}),
    "e5": ("e5", {**E5, "description_length": 16, "head_units": "16"}),
    "e5_finetune": ("e5_finetune", {**E5, "trainable_layers": 1, "head_epochs": 1, "dense_units": 16}),
    "e5_full": ("e5_finetune", {**E5, "trainable_layers": 12, "head_epochs": 0, "dense_units": 16,
                                "mixed_precision": True}),
    "cnn_small": ("cnn_small", {**TEXT, "filters": "8,16"}),
    "effnet_lite0": ("effnet_lite0", {**IMAGE, "weights": "imagenet", "finetune_epochs": 1, "finetune_layers": 5,
                                      "finetune_batch_size": 20}),
}
# The keras.applications backbones: effnet_lite0's code (features extracted, then the same head) with
# another network. Under XLA on a CPU each costs a minute of compiling: rehearsed mixed and mirrored.
# The mirrored images' features (flip_train, tta) go through the same network and code as the plain
# ones, rehearsed with effnet_lite0: each backbone extracts once.
BACKBONE = {**IMAGE, "flip_train": False, "tta": False}
APPLICATIONS = {
    **{name: (name, BACKBONE) for name in ("vgg16", "resnet50", "mobilenet_v2", "efficientnet_b0", "convnext_tiny",
                                           "efficientnetv2_s")},
    "xception": ("xception", {**BACKBONE, "image_size": 71}),  # Xception's smallest input
}
# Compiled with XLA where a GPU would: no TextVectorization inside (it has no XLA kernel) and no
# RandomAffine (cnn_small; effnet_lite0's phase 2 runs without XLA, its head and extraction with it)
XLA_MODELS = {"e5", "e5_finetune", "e5_full", "effnet_lite0"}
MOST_COMPILATIONS = 12  # per model and fold at these sizes: a few shapes for each of its functions


# hub_text is e5_finetune's trainer with every layer trainable and a downloaded preset: e5_full's run
SAME_AS = {"hub_text": "e5_full"}


@pytest.fixture(scope="module")
def rehearsal_data(tmp_path_factory, tiny_e5_preset, effnet_weights) -> dict:
    """60 products over 3 classes (fold 0: 48 training rows, batches of 20, 20 and 8), the tiny e5
    stand-in and Lite0's converted weights."""
    root = tmp_path_factory.mktemp("rehearsal")
    make_demo(root / "data", n_train=60, n_test=12, n_classes=3, image_size=32, seed=3)
    shutil.copytree(effnet_weights, root / "cache")
    return {"root": root, "preset": str(tiny_e5_preset), "cache": str(root / "cache")}


def steps_for(data: dict, extra: dict, steps_table: dict) -> list[dict]:
    steps = []
    for name, (model, overrides) in steps_table.items():
        settings = {**overrides, **extra}
        if model in ("e5", "e5_finetune", "hub_text"):
            settings.update(preset=data["preset"], cache_dir=data["cache"], prefix="")
        if "image_size" in overrides:
            settings["cache_dir"] = data["cache"]
        steps.append({"name": name, "model": model, "set": settings})
    return steps


# setting -> (overrides added to every model, models, XLA resolved as on a GPU or as on a CPU). In
# this order the mirrored run reads the encoder outputs and image features the mixed run cached
# (cache keys hold neither precision nor strategy), as a second run on a GPU would.
SETTINGS = {
    # e5_full's mixed run with XLA is challenge_gpu's own, both folds (tests/test_gpu_recipe_rehearsal.py)
    "mixed_xla": ({"mixed_precision": True}, {k: v for k, v in STEPS.items() if k != "e5_full"}, True),
    "mixed_applications": ({"mixed_precision": True}, APPLICATIONS, False),
    "mirrored": ({"strategy": "mirrored"}, STEPS, True),
}


@pytest.fixture(scope="module")
def rehearsed(rehearsal_data) -> dict:
    """Fold 0 of every model under each of SETTINGS, in one process in GPU rehearsal with XLA's
    modules dumped (tests/models/rehearsal_child.py): per setting, the child's results per model.
    The file runs in one xdist worker (tests/conftest.py: WORKER_GROUPS), so this runs once."""
    root = rehearsal_data["root"]
    job, result = root / "job.json", root / "result.json"
    runs = [{"setting": setting, "run_dir": str(root / setting), "xla": xla,
             "models": steps_for(rehearsal_data, extra, table)} for setting, (extra, table, xla) in SETTINGS.items()]
    job.write_text(json.dumps({"data_dir": str(root / "data"), "runs": runs}))
    env = {**os.environ, "ESHOPPYE_GPU_REHEARSAL": "0", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env = xla_compilations.environment(root / "xla", rehearsal_environment(env))
    done = subprocess.run([sys.executable, str(REPO / "tests" / "models" / "rehearsal_child.py"), str(job),
                           str(result)], cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    assert result.is_file(), done.stdout[-2000:] + done.stderr[-4000:]
    results = json.loads(result.read_text())
    print(json.dumps({setting: {k: (v["seconds"], v.get("xla_compilations")) for k, v in models.items()}
                      for setting, models in results.items()}))
    return results


def setting_results(rehearsed: dict, setting: str) -> dict:
    """One setting's results, every model's failure reported at once."""
    results = rehearsed.get(setting, {})
    failed = {name: r["error"] for name, r in results.items() if not r["ok"]}
    assert not failed, "\n\n".join(f"--- {name}\n{error}" for name, error in failed.items())
    assert set(results) == set(SETTINGS[setting][1]), (setting, sorted(results))  # the child did not stop short
    return results


def assert_probabilities(results: dict) -> None:
    for name, r in results.items():
        for split in ("val", "test"):
            assert r[split]["dtype"] == "float32" and r[split]["finite"], (name, split, r[split])
            assert r[split]["max_sum_error"] < 1e-3, (name, split, r[split])


def test_rehearsal_covers_every_keras_model():
    from models import REGISTRY

    keras_models = {name for name, spec in REGISTRY.items() if "keras" in spec.tags}
    assert keras_models == {model for model, _ in {**STEPS, **APPLICATIONS}.values()} | set(SAME_AS)


def test_rehearsal_mixed_float16_with_xla_as_on_a_gpu(rehearsed):
    """(a) and (c) together, as a GPU runs them: float16 compute, XLA wherever Keras turns it on there,
    every compilation counted (XLA's module dump)."""
    results = setting_results(rehearsed, "mixed_xla")
    assert_probabilities(results)
    for name, r in results.items():
        if name in XLA_MODELS:
            assert 0 < r["xla_compilations"] <= MOST_COMPILATIONS, (name, r["xla_compilations"])
        else:
            assert r["xla_compilations"] == 0, (name, r["xla_compilations"])


def test_rehearsal_keras_applications_backbones_mixed_float16(rehearsed):
    """(a) for the keras.applications backbones, XLA resolved as on a CPU (see APPLICATIONS)."""
    assert_probabilities(setting_results(rehearsed, "mixed_applications"))


def test_rehearsal_mirrored_two_replicas_every_keras_model(rehearsed):
    """(b): 2 replicas. The keras.applications backbones are left to effnet_lite0: what a strategy
    touches (the head, phase 2) is the same code; their feature extraction runs outside it. Keras
    compiles nothing with XLA under a tf.distribute strategy: e5's head and e5_full, unlike their mixed
    run (e5_finetune's cached lower layers and the image features are computed outside the strategy)."""
    results = setting_results(rehearsed, "mirrored")
    assert_probabilities(results)
    assert results["e5"]["xla_compilations"] == results["e5_full"]["xla_compilations"] == 0, results


@pytest.mark.parametrize("kind", ["bilstm", "lstm", "gru"])
def test_rehearsal_rnns_meet_the_cudnn_conditions(kind):
    """keras.layers.LSTM / GRU use the cuDNN kernel on a GPU only with tanh, sigmoid, no recurrent
    dropout, no unrolling, a bias (GRU: reset_after) and masks that are right padding with no
    fully masked row; otherwise they run the generic loop, several times slower, without a word."""
    import keras

    from models import get_model, resolve_hparams

    titles = np.array(["chaussure de sport", "figurine manga", "câble usb", "le la les"], dtype=object)
    for attention in (False, True):
        spec = get_model(kind)
        hp = resolve_hparams(spec, {"units": 4, "embedding_dim": 4, "max_tokens": 50, "attention": attention})
        model = spec.build(hp, 2, titles)
        rnns = [inner for layer in model.layers
                for inner in ([layer.forward_layer, layer.backward_layer]
                              if isinstance(layer, keras.layers.Bidirectional) else [layer])
                if isinstance(inner, (keras.layers.LSTM, keras.layers.GRU))]
        assert len(rnns) == (1 if kind == "lstm" else 2)
        for rnn in rnns:
            cell = rnn.cell
            assert cell.activation is keras.activations.tanh, (kind, rnn.name)
            assert cell.recurrent_activation is keras.activations.sigmoid, (kind, rnn.name)
            assert cell.recurrent_dropout == 0 and not rnn.unroll and cell.use_bias, (kind, rnn.name)
            assert rnn.use_cudnn in ("auto", True) and getattr(cell, "reset_after", True), (kind, rnn.name)
        # the masks the RNNs get: right padding, and an empty text keeps one step
        embedding = next(layer for layer in model.layers if isinstance(layer, keras.layers.Embedding))
        ids = keras.Model(model.input, embedding.input)(np.array([["chaussure inconnu"], [""]], dtype=object))
        mask = keras.ops.convert_to_numpy(ids) != 0
        assert mask[:, 0].all(), mask
        assert all(np.array_equal(row, np.sort(row)[::-1]) for row in mask), mask  # True steps, then False


def test_rehearsal_sequence_batches_take_at_most_four_widths():
    """e5_finetune's batches are trimmed to their longest text, rounded up: under XLA each width is
    a compilation, so texts of every length from 1 to 128 tokens give at most 4 widths."""
    from models.image.image_features import FeatureTable
    from models.text.pretrained_text import sequence_dataset

    lengths = np.arange(1, 129)
    ids = np.where(np.arange(128)[None, :] < lengths[:, None], 5, 1).astype(np.int32)
    table = FeatureTable([str(i) for i in lengths], ids, lengths=lengths)
    widths = {int(features["sequence"].shape[1])
              for features in sequence_dataset(table, np.arange(128), None, 2, batch_size=3)}
    assert widths == {32, 64, 96, 128}
    short = next(iter(sequence_dataset(table, np.arange(5), None, 2, batch_size=5)))
    assert short["sequence"].shape == (5, 32) and short["mask"].numpy().sum(axis=1).tolist() == [1, 2, 3, 4, 5]


def test_rehearsal_environment_keeps_the_xla_flags_it_is_given():
    env = rehearsal_environment({"XLA_FLAGS": "--xla_dump_to=somewhere", "PATH": "p"})
    assert env["ESHOPPYE_GPU_REHEARSAL"] == "1" and env["PATH"] == "p"
    assert env["XLA_FLAGS"].split() == ["--xla_dump_to=somewhere", "--xla_backend_optimization_level=0"]
