"""The image input pipeline on tf.data, and the one-pass check for missing or unreadable images.

    paths -> read file -> decode JPEG (at reduced scale when the file is much larger than needed)
          -> resize -> [cache uint8] -> [shuffle] -> batch -> backbone preprocessing -> prefetch

Everything runs with AUTOTUNE parallelism. Augmentation is not done here: it is one Keras
preprocessing layer inside the training model (`augmentation()`), applied to whole batches, on the
GPU where there is one. An empty path stands for a blank (white) image: see `check_images`.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np

from challenge.errors import DataError

BLANK = ""  # the path given to an image that is replaced by a blank one
BLANK_VALUE = 255  # white, like the background of product photos
BACKGROUND_THRESHOLD = 240  # crop_to_content: a pixel with every channel >= this is background
SHOWN_IN_ERROR = 30


# -- finding bad images ------------------------------------------------------------------------
def _image_problem(path: str) -> str | None:
    """Why this image cannot be used, or None. Decodes at 1/8 scale (JPEG draft mode): fast, and it
    still reads every byte, so truncated files are caught."""
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        return "missing"
    try:
        with Image.open(p) as image:
            image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        return f"unreadable ({err})"
    return None


def find_bad_images(paths, workers: int = 8) -> dict[str, str]:
    """path -> problem, for every missing or unreadable file among `paths` (one pass, in threads)."""
    unique = sorted({str(p) for p in paths if str(p) != BLANK})
    with ThreadPoolExecutor(workers) as pool:
        problems = pool.map(_image_problem, unique, chunksize=64)
        return {p: why for p, why in zip(unique, problems) if why}


def check_images(paths: np.ndarray, on_bad: str = "error", report_to: Path | None = None
                 ) -> tuple[np.ndarray, dict[str, str]]:
    """Refuse bad images with one message that names them all, or (on_bad='blank') replace them.

    Returns the paths (bad ones turned into BLANK when allowed) and the bad files found.
    `report_to`: a file where the full list is written when it is too long for the message.
    """
    if on_bad not in ("error", "blank"):
        raise DataError(f"bad_images must be 'error' or 'blank', not {on_bad!r}.")
    bad = find_bad_images(paths)
    if not bad:
        return np.asarray(paths, dtype=object), bad
    if on_bad == "error":
        lines = [f"  {p}: {why}" for p, why in list(bad.items())[:SHOWN_IN_ERROR]]
        more = ""
        if len(bad) > SHOWN_IN_ERROR:
            more = f"  ... and {len(bad) - SHOWN_IN_ERROR} more"
            if report_to is not None:
                Path(report_to).parent.mkdir(parents=True, exist_ok=True)
                Path(report_to).write_text("".join(f"{p}\t{why}\n" for p, why in bad.items()))
                more += f" (full list in {report_to})"
        raise DataError(
            f"{len(bad)} image(s) are missing or unreadable:\n" + "\n".join(lines) + (f"\n{more}" if more else "")
            + "\nRestore those files (images/image_train/ or images/image_test/, named "
              "image_<imageid>_product_<productid>.jpg), or train with `--set bad_images=blank` to use a "
              "blank image for each of them (they are counted in the fold's metrics as blank_images)."
        )
    cleaned = np.array([BLANK if str(p) in bad else p for p in paths], dtype=object)
    return cleaned, bad


# -- the tf.data pipeline -----------------------------------------------------------------------
def decode_ratio(paths, image_size: int, sample: int = 16) -> int:
    """The largest JPEG DCT scale-down (1, 2, 4 or 8) that still leaves the images at least
    `image_size` on their short side, judged from the headers of a few files."""
    from PIL import Image

    sides = []
    for p in [p for p in paths if p != BLANK][:sample]:
        try:
            with Image.open(p) as image:
                if image.format == "JPEG":
                    sides.append(min(image.size))
        except OSError:
            continue
    if not sides:
        return 1
    short = min(sides)
    return max([r for r in (1, 2, 4, 8) if short // r >= image_size] or [1])


def crop_to_content(image, threshold: int = BACKGROUND_THRESHOLD):
    """The smallest square around the pixels that are not near-white background (a product shot on
    white, an icon centred on a white canvas), kept inside the image; the whole image when it is all
    background. A square keeps the aspect ratio when the crop is resized."""
    import tensorflow as tf

    content = tf.reduce_any(image < threshold, axis=-1)
    rows, cols = tf.where(tf.reduce_any(content, axis=1))[:, 0], tf.where(tf.reduce_any(content, axis=0))[:, 0]
    height, width = tf.shape(image, out_type=tf.int64)[0], tf.shape(image, out_type=tf.int64)[1]

    def square():
        top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        side = tf.minimum(tf.maximum(bottom - top, right - left), tf.minimum(height, width))
        y = tf.clip_by_value((top + bottom - side) // 2, 0, height - side)
        x = tf.clip_by_value((left + right - side) // 2, 0, width - side)
        return image[y:y + side, x:x + side]

    return tf.cond(tf.size(rows) > 0, square, lambda: image)


def load_image(path, image_size: int, ratio: int = 1, crop: bool = False):
    """One file -> (image_size, image_size, 3) uint8. JPEGs are decoded at 1/ratio scale; other
    formats (a PNG saved as .jpg) fully; an empty path gives a blank image. crop: cut the white
    margins away first (`crop_to_content`)."""
    import tensorflow as tf

    def decode():
        data = tf.io.read_file(path)
        is_jpeg = tf.equal(tf.strings.substr(data, 0, 2), b"\xff\xd8")
        image = tf.cond(
            is_jpeg,
            lambda: tf.io.decode_jpeg(data, channels=3, ratio=ratio, dct_method="INTEGER_FAST"),
            lambda: tf.io.decode_image(data, channels=3, expand_animations=False),
        )
        if crop:
            image = crop_to_content(image)
        image = tf.image.resize(image, (image_size, image_size))
        return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)

    def blank():
        return tf.fill((image_size, image_size, 3), tf.constant(BLANK_VALUE, tf.uint8))

    image = tf.cond(tf.equal(path, BLANK), blank, decode)
    image.set_shape((image_size, image_size, 3))
    return image


def image_dataset(paths, image_size: int, batch_size: int = 32, labels=None, n_classes: int | None = None,
                  preprocess: Callable | None = None, shuffle_seed: int | None = None,
                  cache: bool | str = False, ratio: int | None = None, flip: bool = False, crop: bool = False):
    """Batches of float32 images (after `preprocess`), with one-hot labels when `labels` is given.

    cache: True keeps the decoded uint8 images in memory after the first epoch, a path caches them
    in files there; either way later epochs skip reading and decoding. flip: mirror every image
    (test-time augmentation). ratio: JPEG scale-down; None picks it from the files (full scale when
    cropping, since the crop is smaller than the file). crop: cut white margins (`crop_to_content`).
    """
    import keras
    import tensorflow as tf

    paths = np.asarray(paths, dtype=object).astype(str)
    if ratio is None:
        ratio = 1 if crop else decode_ratio(paths, image_size)
    ds = tf.data.Dataset.from_tensor_slices(paths)
    ds = ds.map(lambda p: load_image(p, image_size, ratio, crop), num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True)
    if labels is not None:
        onehot = keras.utils.to_categorical(np.asarray(labels), n_classes).astype("float32")
        ds = tf.data.Dataset.zip((ds, tf.data.Dataset.from_tensor_slices(onehot)))
    if cache:
        ds = ds.cache("" if cache is True else str(cache))
    if shuffle_seed is not None:
        ds = ds.shuffle(min(len(paths), 10000), seed=shuffle_seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)

    def finish(images):
        images = tf.cast(images, tf.float32)
        if flip:
            images = tf.image.flip_left_right(images)
        return preprocess(images) if preprocess is not None else images

    if labels is not None:
        ds = ds.map(lambda x, y: (finish(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(finish, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def augmentation(seed: int | None = None, flip: bool = True, shift: float = 0.1, rotation_deg: float = 10.0,
                 zoom: float = 0.1):
    """The seed's augmentations (horizontal flip, shift, rotation, zoom) as one Keras layer that composes
    them into a single affine transform per image and resamples each batch once (challenge/augment.py).
    Active only in training; inference passes images through."""
    from challenge.augment import RandomAffine

    return RandomAffine(flip=flip, shift=shift, rotation_deg=rotation_deg, zoom=zoom, seed=seed,
                        name="augmentation")
