"""The offline EfficientNet-Lite0 port: the torch pickle reader, the weight mapping (checked on real
photos), the cached conversion, and the keras.applications backbones (random weights only)."""
import pickle
import struct

import numpy as np
import pytest
import tensorflow as tf

from models.image.backbones import BACKBONES, get_backbone
from models.image.backbones.effnet_lite0 import converted_weights, effnet_lite0, preprocess, torch_weights_path
from models.image.backbones.torch_pickle import LEGACY_MAGIC, load_legacy_state_dict

CATS = range(281, 286)  # ImageNet: tabby, tiger cat, Persian, Siamese, Egyptian cat
ESPRESSO = 967


def test_reads_the_legacy_torch_pickle_without_torch():
    state = load_legacy_state_dict(torch_weights_path())
    assert len(state) == 296
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280) and state["_fc.weight"].dtype == np.float32
    assert np.isfinite(state["_blocks.15._bn2.running_var"]).all()


def test_refuses_a_pickle_that_names_other_code(tmp_path):
    evil = tmp_path / "evil.pth"
    with open(evil, "wb") as f:
        for header in (LEGACY_MAGIC, 1001, {"little_endian": True}):
            pickle.dump(header, f, protocol=2)
        # GLOBAL os.system, then call it: what a malicious weights file would do.
        f.write(b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00trueq\x00\x85R.")
    with pytest.raises(pickle.UnpicklingError, match="os.system"):
        load_legacy_state_dict(evil)


def test_effnet_lite0_names_real_photos(effnet_weights):
    """The session's conversion of the torch weights (conftest.py, `effnet_weights`) names photos."""
    data = pytest.importorskip("skimage.data")
    model = effnet_lite0(224, include_top=True, cache_dir=effnet_weights)
    assert (effnet_weights / "weights" / "effnet_lite0.weights.h5").is_file()
    photos = np.stack([tf.image.resize(img.astype("float32"), (224, 224)) for img in (data.chelsea(), data.coffee())])
    probs = tf.nn.softmax(model(preprocess(photos))).numpy()
    assert probs[0].argmax() in CATS and probs[0][list(CATS)].sum() > 0.8
    assert probs[1].argmax() == ESPRESSO
    # The second build loads the cached conversion instead of converting again.
    cached = converted_weights(effnet_weights)
    before = cached.stat().st_mtime_ns
    effnet_lite0(64, include_top=False, cache_dir=effnet_weights)
    assert cached.stat().st_mtime_ns == before


@pytest.mark.parametrize("name", ["vgg16", "resnet50", "xception", "mobilenet_v2", "efficientnet_b0"])
def test_keras_application_backbones_give_pooled_features(name):
    backbone = get_backbone(name)
    size = 75 if name == "xception" else 32
    net = backbone.build(size, weights=None)
    images = backbone.preprocess(np.full((2, size, size, 3), 128.0, dtype="float32"))
    assert net(images).shape == (2, backbone.features)


def test_every_backbone_is_a_registered_model():
    from models import REGISTRY

    assert set(BACKBONES) <= set(REGISTRY) and REGISTRY["effnet_lite0"].inputs == "image"


@pytest.mark.parametrize("name, level_channels", [
    ("effnet_lite0", 240 + 480 + 672 + 1152), ("mobilenet_v2", 192 + 384 + 576 + 960),
    ("efficientnet_b0", 240 + 480 + 672 + 1152)])
def test_multilevel_features_put_pooled_stages_before_the_last_layer(name, level_channels):
    import keras

    backbone = get_backbone(name)
    net = backbone.build(64, weights=None, multilevel=True)
    images = backbone.preprocess(np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype("float32"))
    features = np.asarray(net(images))
    assert features.shape == (2, level_channels + backbone.features)
    last = keras.Model(net.input, net.get_layer("multilevel").input[-1])  # the plain pooled features
    assert np.allclose(features[:, level_channels:], np.asarray(last(images)), atol=1e-5)
    assert np.abs(features[:, :level_channels]).std() > 0  # the levels carry signal, not padding


def test_multilevel_is_refused_where_no_levels_are_defined():
    from challenge import DataError

    with pytest.raises(DataError, match="multilevel=false"):
        get_backbone("vgg16").build(32, weights=None, multilevel=True)
