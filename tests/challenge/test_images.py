"""The tf.data image pipeline and the bad-image check, on tiny generated images."""
import numpy as np
import pytest
from PIL import Image

from challenge import DataError
from challenge.images import BLANK, augmentation, check_images, decode_ratio, image_dataset


def _jpeg(path, size=40, colour=(200, 30, 30), left_half=None):
    pixels = np.zeros((size, size, 3), np.uint8) + np.array(colour, np.uint8)
    if left_half is not None:
        pixels[:, : size // 2] = left_half
    Image.fromarray(pixels).save(path, quality=95)
    return str(path)


def test_pipeline_gives_batches_of_resized_preprocessed_images(tmp_path):
    paths = [_jpeg(tmp_path / f"{i}.jpg") for i in range(5)]
    ds = image_dataset(paths, 16, batch_size=2, labels=[0, 1, 2, 0, 1], n_classes=3,
                       preprocess=lambda x: x / 255.0)
    batches = list(ds)
    assert [b[0].shape[0] for b in batches] == [2, 2, 1]
    images, onehot = batches[0]
    assert images.shape == (2, 16, 16, 3) and images.dtype == "float32"
    assert np.allclose(images[0, 8, 8], np.array([200, 30, 30]) / 255.0, atol=0.03)
    assert np.array_equal(onehot[1], [0, 1, 0])


def test_blank_path_png_and_flip(tmp_path):
    png_named_jpg = tmp_path / "icon.jpg"
    Image.fromarray(np.full((20, 20, 3), 7, np.uint8)).save(png_named_jpg, format="PNG")
    halves = _jpeg(tmp_path / "halves.jpg", left_half=(0, 0, 0), colour=(255, 255, 255))
    plain = next(iter(image_dataset([BLANK, str(png_named_jpg), halves], 20, batch_size=3))).numpy()
    assert (plain[0] == 255).all()  # blank image is white
    assert np.allclose(plain[1], 7)
    flipped = next(iter(image_dataset([halves], 20, batch_size=1, flip=True))).numpy()
    assert plain[2][:, 2].mean() < 30 and flipped[0][:, 2].mean() > 225


def test_large_jpegs_are_decoded_at_reduced_scale(tmp_path):
    big = [_jpeg(tmp_path / f"big{i}.jpg", size=500) for i in range(2)]
    assert decode_ratio(big, 224) == 2 and decode_ratio(big, 100) == 4 and decode_ratio(big, 600) == 1
    image = next(iter(image_dataset(big, 224, batch_size=2)))
    assert image.shape == (2, 224, 224, 3)


def test_bad_images_are_all_named_in_one_error(tmp_path):
    good = _jpeg(tmp_path / "good.jpg")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(open(_jpeg(tmp_path / "full.jpg", size=64), "rb").read()[:300])
    not_image = tmp_path / "text.jpg"
    not_image.write_text("not an image")
    paths = [good, str(tmp_path / "missing.jpg"), str(truncated), str(not_image), good]
    with pytest.raises(DataError) as err:
        check_images(paths)
    message = str(err.value)
    assert "3 image(s)" in message and "bad_images=blank" in message
    for name in ("missing.jpg: missing", "truncated.jpg: unreadable", "text.jpg: unreadable"):
        assert name in message
    assert "good.jpg" not in message

    cleaned, bad = check_images(paths, on_bad="blank")
    assert len(bad) == 3 and list(cleaned) == [good, BLANK, BLANK, BLANK, good]


def test_augmentation_changes_images_only_in_training():
    images = np.random.default_rng(0).uniform(0, 1, (4, 16, 16, 3)).astype("float32")
    layer = augmentation(seed=1)
    assert np.allclose(layer(images, training=False), images)
    assert not np.allclose(layer(images, training=True), images)


def test_random_affine_flip_only_gives_each_image_or_its_mirror():
    from challenge.augment import RandomAffine

    images = np.random.default_rng(0).uniform(0, 1, (16, 8, 8, 3)).astype("float32")
    out = np.asarray(RandomAffine(shift=0, rotation_deg=0, zoom=0, seed=3)(images, training=True))
    same = np.isclose(out, images, atol=1e-5).all(axis=(1, 2, 3))
    mirrored = np.isclose(out, images[:, :, ::-1], atol=1e-5).all(axis=(1, 2, 3))
    assert (same | mirrored).all()
    assert same.any() and mirrored.any()  # both outcomes occur in 16 coin flips with this seed


def test_random_affine_shift_moves_content_and_survives_saving(tmp_path):
    import keras

    from challenge.augment import RandomAffine

    image = np.zeros((1, 21, 21, 1), "float32")
    image[0, 10, 10, 0] = 1.0  # one bright pixel in the centre
    layer = RandomAffine(flip=False, shift=0.3, rotation_deg=0, zoom=0, interpolation="nearest", seed=0)
    moved = [np.argwhere(np.asarray(layer(image, training=True))[0, ..., 0] > 0.5) for _ in range(5)]
    assert any(len(m) and tuple(m[0]) != (10, 10) for m in moved)

    inputs = keras.Input((21, 21, 1))
    model = keras.Model(inputs, layer(inputs))
    model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras")
    assert restored.layers[-1].get_config()["shift"] == 0.3
    assert np.allclose(restored.predict(image, verbose=0), image)  # inference: unchanged


def test_crop_to_content_cuts_white_margins_into_a_square():
    from challenge.images import crop_to_content

    canvas = np.full((100, 60, 3), 255, np.uint8)
    canvas[10:30, 40:50] = (200, 0, 0)  # a 20x10 red box on white
    crop = np.asarray(crop_to_content(canvas))
    assert crop.shape == (20, 20, 3)  # the longer side of the box, square
    assert (crop[:, :, 1] == 0).sum() == 200  # the whole box is inside
    blank = np.full((50, 40, 3), 252, np.uint8)  # all background (JPEG-ish white): left as it is
    assert np.asarray(crop_to_content(blank)).shape == (50, 40, 3)
    canvas[:, 0:2] = 0  # content from top to bottom along the left edge: the square is the width
    assert np.asarray(crop_to_content(canvas)).shape == (60, 60, 3)


def test_image_dataset_crops_when_asked(tmp_path):
    from PIL import Image

    from challenge.images import image_dataset

    canvas = np.full((200, 200, 3), 255, np.uint8)
    canvas[80:120, 80:120] = (0, 0, 255)
    Image.fromarray(canvas).save(tmp_path / "icon.jpg", quality=95)
    plain = next(iter(image_dataset([str(tmp_path / "icon.jpg")], 20)))[0].numpy()
    cropped = next(iter(image_dataset([str(tmp_path / "icon.jpg")], 20, crop=True)))[0].numpy()
    assert plain[0, 0].min() > 240 and cropped[0, 0, 2] > 200 and cropped[0, 0, 0] < 60  # corner: white vs blue
