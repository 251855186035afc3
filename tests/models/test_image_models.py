"""Image models end to end on the demo folder (32x32 images): train.py writes probabilities and
embeddings per fold, features are extracted once and shared, bad images are refused or blanked,
fine-tuning runs, and image and text models stack together."""
import shutil

import numpy as np
import pytest

import train
from challenge import DataError
from ensemble.__main__ import main as ensemble_main
from folds import RunDir

FAST_CNN = ["--set", "filters=8,16", "--set", "dense_units=16", "--epochs", "2"]
FAST_LITE0 = ["--set", "image_size=32", "--set", "head_units=64,32", "--epochs", "3"]


@pytest.fixture(scope="module")
def image_run(demo_dir, effnet_weights, tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    shutil.copytree(effnet_weights, root / "cache")  # the converted weights, no features yet
    common = ["--data-dir", str(demo_dir), "--run-dir", str(root / "run"), "--n-folds", "2", "--quiet"]
    train.main(["--model", "effnet_lite0", "--fold", "all", *FAST_LITE0, *common,
                "--set", f"cache_dir={root / 'cache'}"])
    return root, common


def test_effnet_lite0_writes_folds_like_text_models(image_run):
    root, _ = image_run
    store = RunDir(root / "run").model("effnet_lite0")
    assert store.oof().shape == (300, 6) and store.test().shape == (60, 6)
    assert np.allclose(store.oof().sum(1), 1, atol=1e-3)
    assert store.load_fold(0, "val_embed").shape[1] == 32 and store.load_fold(1, "test_embed").shape == (60, 32)
    # Class-dependent shapes and colours: ImageNet features separate them well above chance (1/6).
    assert store.metrics()["oof"]["accuracy"] > 0.5
    # One extraction for both folds: the plain and the mirrored features of all 360 images.
    cached = sorted(p.name for p in (root / "cache" / "features").glob("*.npy"))
    assert len(cached) == 2 and all("-32px-multilevel" in name and "-360-" in name for name in cached)
    # Lite0's default: four pooled intermediate stages (2,544 channels) before its 1,280 pooled features.
    assert np.load(root / "cache" / "features" / cached[0], mmap_mode="r").shape == (360, 2544 + 1280)


def test_a_second_head_reuses_the_cached_features(image_run):
    root, common = image_run
    features = root / "cache" / "features"
    before = {p.name: p.stat().st_mtime_ns for p in features.glob("*.npy")}
    train.main(["--model", "effnet_lite0", "--name", "lite0_small_head", "--fold", "0", *FAST_LITE0,
                "--set", "head_units=16", "--set", "tta=false", "--set", "flip_train=false", *common,
                "--set", f"cache_dir={root / 'cache'}"])
    assert {p.name: p.stat().st_mtime_ns for p in features.glob("*.npy")} == before
    assert RunDir(root / "run").model("lite0_small_head").load_fold(0, "val_embed").shape[1] == 16


def test_cnn_small_and_text_models_stack_with_image_models(image_run):
    root, common = image_run
    train.main(["--model", "cnn_small", "--fold", "all", *FAST_CNN, *common])
    train.main(["--model", "tfidf", "--fold", "all", "--set", "classifier=logreg", "--set", "embed_dim=0", *common])
    run = RunDir(root / "run")
    assert run.model("cnn_small").fold_summary(0)["image_size"] == 32  # the images' own size
    ensemble_main(["--method", "logreg", "--models", "tfidf,effnet_lite0,cnn_small", "--run-dir", str(root / "run")])
    assert run.model("stack-logreg").oof().shape == (300, 6)


def test_bad_images_are_listed_then_blanked_and_counted(data_copy, tmp_path):
    train_images = sorted((data_copy / "images" / "image_train").glob("*.jpg"))
    train_images[3].unlink()
    train_images[7].write_bytes(b"\xff\xd8 broken")
    common = ["--model", "cnn_small", "--data-dir", str(data_copy), "--n-folds", "2", "--fold", "0",
              "--quiet", *FAST_CNN, "--epochs", "1"]
    with pytest.raises(DataError) as err:
        train.main.__wrapped__([*common, "--run-dir", str(tmp_path / "a")])
    assert "2 image(s)" in str(err.value)
    assert train_images[3].name in str(err.value) and train_images[7].name in str(err.value)

    train.main([*common, "--run-dir", str(tmp_path / "b"), "--set", "bad_images=blank"])
    assert RunDir(tmp_path / "b").model("cnn_small").fold_summary(0)["blank_images"] == 2


def test_finetuning_phase_trains_the_backbone_end_to_end(demo_dir, image_run, tmp_path):
    root, _ = image_run  # its feature cache: the head phase needs no extraction here
    train.main(["--model", "effnet_lite0", "--data-dir", str(demo_dir), "--run-dir", str(tmp_path / "r"),
                "--n-folds", "2", "--fold", "0", "--quiet", *FAST_LITE0, "--epochs", "1",
                "--set", f"cache_dir={root / 'cache'}", "--set", "finetune_epochs=1",
                "--set", "finetune_layers=6", "--set", "tta=false", "--set", "finetune_keep=better"])
    store = RunDir(tmp_path / "r").model("effnet_lite0")
    fold = store.fold_dir(0)
    assert (fold / "finetune" / "history.csv").is_file() and (fold / "finetune" / "model.keras").is_file()
    assert np.load(fold / "val_probs.npy").shape == (150, 6)
    # done.json says which phase the fold kept, and the validation score of each.
    done = store.fold_summary(0)
    kept = max(("finetuned", "frozen"), key=lambda phase: done[f"{phase}_val_f1"])
    assert done["kept_phase"] == kept and done["weighted_f1"] == pytest.approx(done[f"{kept}_val_f1"], abs=1e-4)


def test_head_standardises_features_with_training_statistics():
    from models.image.image_head import build_head
    from models.image.image_transfer import DEFAULTS

    rng = np.random.default_rng(0)
    x_train = rng.normal(0, 1, (200, 6)) * np.array([0.01, 0.1, 1, 10, 100, 1000]) + 5
    head = build_head({**DEFAULTS, "standardize": True, "head_units": [8]}, 3, 6, x_train)
    normalise = head.get_layer("standardize")
    scaled = np.asarray(normalise(x_train.astype("float32")))
    assert np.allclose(scaled.mean(0), 0, atol=1e-3) and np.allclose(scaled.std(0), 1, atol=1e-2)
    plain = build_head({**DEFAULTS, "standardize": False, "head_units": [8]}, 3, 6, x_train)
    assert "standardize" not in [layer.name for layer in plain.layers]


def test_knn_image_votes_over_the_cached_features(image_run):
    root, common = image_run
    features = root / "cache" / "features"
    before = {p.name: p.stat().st_mtime_ns for p in features.glob("*.npy")}
    train.main(["--model", "knn_image", "--fold", "all", "--set", "image_size=32", *common,
                "--set", f"cache_dir={root / 'cache'}"])
    assert {p.name: p.stat().st_mtime_ns for p in features.glob("*.npy")} == before  # effnet_lite0's features
    store = RunDir(root / "run").model("knn_image")
    assert store.oof().shape == (300, 6) and np.allclose(store.test().sum(1), 1, atol=1e-4)
    assert store.metrics()["oof"]["accuracy"] > 0.4  # class-dependent shapes and colours; chance is 1/6
