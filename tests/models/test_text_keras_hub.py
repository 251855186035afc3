"""The keras-hub path, offline: a tiny randomly initialised BERT over the fold's own vocabulary."""
import sys

import keras
import numpy as np
import pytest

from challenge import DataError
from models import FoldData, get_model, resolve_hparams


def test_hub_text_fine_tunes_a_tiny_bert(tmp_path):
    pytest.importorskip("keras_hub")
    rng = np.random.default_rng(0)
    words = [["piscine", "pompe", "filtre"], ["chat", "chien", "litière"], ["livre", "roman", "tome"]]
    y = rng.integers(0, 3, 180)
    x = np.array([" ".join(rng.choice(words[c], 3)) for c in y], dtype=object)
    spec = get_model("hub_text")
    hp = resolve_hparams(spec, {"preset": "tiny", "sequence_length": 8, "tiny_layers": 1, "tiny_hidden_dim": 16,
                                "dense_units": 16, "learning_rate": 3e-3, "epochs": 4, "patience": 2,
                                "batch_size": 16})
    out = spec.train_fold(FoldData(x[:140], y[:140], x[140:], y[140:], x[:5], 3, tmp_path, verbose=0), hp)
    assert out.val_probs.shape == (40, 3) and out.val_embed.shape == (40, 16)
    assert (out.val_probs.argmax(1) == y[140:]).mean() > 0.9
    model = keras.models.load_model(tmp_path / "model.keras")
    assert any("bert" in layer.name.lower() for layer in model.layers)


def test_without_keras_hub_the_message_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "keras_hub", None)
    spec = get_model("hub_text")
    x = np.array(["a b", "c d"], dtype=object)
    with pytest.raises(DataError, match="requirements-extras.txt"):
        spec.train_fold(FoldData(x, np.array([0, 1]), x, np.array([0, 1]), x, 2, tmp_path, verbose=0),
                        resolve_hparams(spec, {"preset": "tiny"}))
