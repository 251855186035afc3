import keras
import numpy as np
import pandas as pd
import pytest

from challenge import DataError
from models import REGISTRY, FoldData, get_model, resolve_hparams
from models.core.metrics import class_weights, soft_f1_loss


def test_registry_holds_the_text_models():
    assert {"tfidf", "bilstm", "lstm", "gru", "conv1d"} <= set(REGISTRY)
    assert get_model("bilstm").defaults["units"] == 100


def test_hparam_overrides_take_the_default_type():
    hp = resolve_hparams(get_model("bilstm"), {"units": "32", "dropout": "0.1", "tensorboard": "false"})
    assert hp["units"] == 32 and hp["dropout"] == 0.1 and hp["tensorboard"] is False
    with pytest.raises(DataError, match="expected a int"):
        resolve_hparams(get_model("bilstm"), {"units": "many"})


def test_soft_f1_loss_is_lower_for_better_predictions():
    y = np.eye(3)[[0, 1, 2, 0]].astype("float32")
    good = keras.ops.convert_to_numpy(soft_f1_loss(y, 0.9 * y + 0.1 / 3))
    bad = keras.ops.convert_to_numpy(soft_f1_loss(y, np.full_like(y, 1 / 3)))
    assert 0 <= good < bad <= 1


def test_class_weights_modes():
    y = np.array([0] * 8 + [1] * 2)
    balanced, sqrt = class_weights(y, 3, "balanced"), class_weights(y, 3, "sqrt")
    assert balanced[1] == pytest.approx(2.5) and sqrt[1] == pytest.approx(2.5 ** 0.5)
    assert balanced[2] == 1.0 and class_weights(y, 3, "none") is None


@pytest.mark.parametrize("name", ["lstm", "gru", "conv1d"])
def test_each_sequence_model_learns_a_toy_task(name, tmp_path):
    rng = np.random.default_rng(0)
    words = [["piscine", "pompe", "filtre"], ["chat", "chien", "litière"], ["livre", "roman", "tome"]]
    y = rng.integers(0, 3, 240)
    x = np.array([" ".join(rng.choice(words[c], 2)) for c in y], dtype=object)
    spec = get_model(name)
    hp = resolve_hparams(spec, {"epochs": 4, "units": 16, "max_tokens": 50, "embedding_dim": 16,
                                "dense_units": 16, "tensorboard": False, "learning_rate": 0.01})
    fold = FoldData(x[:180], y[:180], x[180:], y[180:], x[:7], 3, tmp_path, verbose=0)
    out = spec.train_fold(fold, hp)
    assert out.val_probs.shape == (60, 3) and out.test_probs.shape == (7, 3)
    assert out.val_embed.shape == (60, 16)
    assert (out.val_probs.argmax(1) == y[180:]).mean() > 0.9
    # every epoch's seconds beside its metrics (EpochSeconds): the planner's record reads them
    history = pd.read_csv(tmp_path / "history.csv")
    assert len(history) == out.info["epochs_run"] and (history["epoch_seconds"] > 0).all()
    assert history["epoch_seconds"].sum() <= out.info["seconds"]
