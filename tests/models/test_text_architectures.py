"""The text CNN, the small Transformer, RNN attention pooling and two-input (title + description)
models, on a toy task a working model learns in a few epochs."""
import keras
import numpy as np
import pytest

from challenge.cli import load_data
from models import FoldData, get_model, resolve_hparams
from models.core.cross_validate import model_inputs
from models.text.text_inputs import TWO_FIELDS, text_dataset

WORDS = [["piscine", "pompe", "filtre"], ["chat", "chien", "litière"], ["livre", "roman", "tome"]]
NOISE = ["article", "lot", "neuf", "taille", "couleur"]


def toy_fold(tmp_path, two_inputs=False, title_informative=True):
    """Three classes; the class shows in the title (or, with `title_informative=False`, only in the
    description)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 240)
    cue = lambda c: " ".join(rng.choice(WORDS[c], 2))  # noqa: E731
    filler = lambda: " ".join(rng.choice(NOISE, 2))  # noqa: E731
    title = np.array([cue(c) if title_informative else filler() for c in y], dtype=object)
    if two_inputs:
        description = np.array([f"{filler()} {cue(c)} {filler()}" for c in y], dtype=object)
        x = np.stack([title, description], axis=1)
    else:
        x = title
    return FoldData(x[:180], y[:180], x[180:], y[180:], x[:7], 3, tmp_path, verbose=0), y[180:]


SMALL = {"epochs": 5, "max_tokens": 60, "embedding_dim": 16, "dense_units": 16, "learning_rate": 0.01,
         "tensorboard": False}


def train_and_check(name, overrides, tmp_path, **toy):
    spec = get_model(name)
    fold, y_val = toy_fold(tmp_path, **toy)
    out = spec.train_fold(fold, resolve_hparams(spec, {**SMALL, **overrides}))
    assert out.val_probs.shape == (60, 3) and out.test_probs.shape == (7, 3)
    assert out.val_embed.shape == (60, 16)
    np.testing.assert_allclose(out.val_probs.sum(1), 1.0, atol=1e-4)
    assert (out.val_probs.argmax(1) == y_val).mean() > 0.9
    return fold, out


def reloaded_predictions(fold):
    """The saved best model, loaded back, on the validation rows."""
    model = keras.models.load_model(fold.fold_dir / "model.keras")
    return model.predict(text_dataset(fold.x_val, None, 3, 32), verbose=0)


def test_text_cnn_reads_the_description_as_a_second_input(tmp_path):
    # The class is only in the description: a title-only model could not pass.
    fold, out = train_and_check("text_cnn", {"filters": 16, "char_length": 40, "text_fields": TWO_FIELDS},
                                tmp_path, two_inputs=True, title_informative=False)
    np.testing.assert_allclose(reloaded_predictions(fold), out.val_probs, atol=1e-4)


def test_text_cnn_char_branch_alone_reads_titles(tmp_path):
    # A one-word vocabulary leaves the word branch blind; the characters must carry the class.
    train_and_check("text_cnn", {"filters": 16, "char_length": 40, "max_tokens": 3, "text_fields": "designation"},
                    tmp_path)


def test_text_transformer_learns_and_reloads(tmp_path):
    fold, out = train_and_check("text_transformer", {"layers": 1, "heads": 2, "ff_units": 32,
                                                     "text_fields": "designation"}, tmp_path)
    np.testing.assert_allclose(reloaded_predictions(fold), out.val_probs, atol=1e-4)


@pytest.mark.parametrize("name", ["bilstm", "gru"])
def test_rnn_attention_pooling(name, tmp_path):
    fold, out = train_and_check(name, {"attention": True, "units": 16}, tmp_path)
    assert keras.models.load_model(fold.fold_dir / "model.keras").get_layer("attention_pooling")
    np.testing.assert_allclose(reloaded_predictions(fold), out.val_probs, atol=1e-4)


def test_two_input_text_fields_give_two_cleaned_columns(demo_dir):
    data = load_data(str(demo_dir))
    spec = get_model("text_cnn")
    inputs = model_inputs(spec, resolve_hparams(spec, {"text_fields": TWO_FIELDS}), data)
    assert inputs.train.shape == (len(data.train), 2) and inputs.test.shape == (len(data.test), 2)
    row = 0
    assert inputs.train[row, 0].split()[0] in data.train["designation"].iloc[row].lower()
    one = model_inputs(spec, resolve_hparams(spec, {"text_fields": "designation"}), data)
    assert one.train.ndim == 1


def test_tfidf_two_columns_beat_title_only_when_the_class_is_in_the_description(tmp_path):
    spec = get_model("tfidf")
    fold, y_val = toy_fold(tmp_path, two_inputs=True, title_informative=False)
    out = spec.train_fold(fold, resolve_hparams(spec, {"embed_dim": 8}))
    assert (out.val_probs.argmax(1) == y_val).mean() > 0.9
    np.testing.assert_allclose(out.val_probs.sum(1), 1.0, atol=1e-4)  # calibrated probabilities
    assert out.val_embed.shape == (60, 8) and out.info["features"] > 0


def test_tfidf_reads_only_the_head_of_long_descriptions(tmp_path):
    from models.text.tfidf import truncate_descriptions

    x = np.array([["titre", "début " + "x" * 50], ["autre", ""]], dtype=object)
    cut = truncate_descriptions(x, 10)
    assert cut[:, 0].tolist() == ["titre", "autre"] and cut[:, 1].tolist() == ["début xxxx", ""]
    assert x[0, 1].endswith("x" * 50)  # the fold's own array is left alone
    # The class cue sits past the cut: the model can no longer see it in the description.
    spec = get_model("tfidf")
    fold, y_val = toy_fold(tmp_path, two_inputs=True, title_informative=False)
    blind = spec.train_fold(fold, resolve_hparams(spec, {"embed_dim": 0, "description_max_chars": 1}))
    assert (blind.val_probs.argmax(1) == y_val).mean() < 0.6


def test_tfidf_embedding_svd_fitted_on_a_sample_of_rows(tmp_path):
    spec = get_model("tfidf")
    fold, _ = toy_fold(tmp_path, two_inputs=True)
    out = spec.train_fold(fold, resolve_hparams(spec, {"embed_dim": 6, "svd_rows": 50, "n_jobs": 1}))
    assert out.val_embed.shape == (60, 6) and out.test_embed.shape == (7, 6)
    assert np.isfinite(out.val_embed).all() and out.val_embed.std() > 0


def test_tfidf_calibration_in_two_processes_is_bit_identical_to_one(tmp_path):
    # Threads gave different probabilities from run to run (liblinear's generator is process-wide).
    spec = get_model("tfidf")
    fold, _ = toy_fold(tmp_path, two_inputs=True)
    one = spec.train_fold(fold, resolve_hparams(spec, {"embed_dim": 0, "n_jobs": 1}))
    two = [spec.train_fold(fold, resolve_hparams(spec, {"embed_dim": 0, "n_jobs": 2, "parallel_from_rows": 0}))
           for _ in range(2)]
    for out in two:
        assert np.array_equal(out.val_probs, one.val_probs) and np.array_equal(out.test_probs, one.test_probs)


@pytest.mark.parametrize("recipe", ["demo", "text", "text_fr", "night", "challenge_gpu", "images"])
def test_every_recipe_names_registered_models_with_valid_settings(recipe):
    from recipebook.recipes import RECIPES, recipe_steps

    steps = recipe_steps(RECIPES[recipe])
    for step in steps:
        spec = get_model(step["model"])
        resolve_hparams(spec, {k: str(v) for k, v in step["set"].items()})  # as --set passes them
