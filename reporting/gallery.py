"""The error gallery: the most confident mistakes, with the product's title, a description
snippet and an image thumbnail embedded in the page (base64), so the HTML stands alone."""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from challenge.text import SPACES, TAG
from reporting.analysis import confident_mistakes
from reporting.names import code_label

THUMBNAIL = 112


def plain_text(raw: str, limit: int = 160) -> str:
    """HTML description as readable text, cut at a word boundary."""
    text = SPACES.sub(" ", TAG.sub(" ", html.unescape(html.unescape(raw or "")))).strip()
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


def thumbnail_data_uri(path: str | Path, size: int = THUMBNAIL) -> str | None:
    """A small JPEG of the image as a data: URI, or None when the file is missing or unreadable."""
    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            image.thumbnail((size, size))
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=80)
    except (OSError, UnidentifiedImageError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def gallery_items(oof: np.ndarray, y_true: np.ndarray, codes: list[int], names: dict[int, str],
                  products: pd.DataFrame | None, train_index: np.ndarray, limit: int) -> list[dict]:
    """One dict per mistake, ready for the page template."""
    items = []
    for m in confident_mistakes(oof, y_true, limit).itertuples(index=False):
        item = {
            "index": int(train_index[m.row]),
            "true": code_label(codes[m.true], names), "predicted": code_label(codes[m.predicted], names),
            "confidence": float(m.confidence), "true_probability": float(m.true_probability),
            "title": "", "description": "", "image": None,
        }
        if products is not None:
            product = products.iloc[m.row]
            item.update(title=str(product["designation"]), description=plain_text(product["description"]),
                        image=thumbnail_data_uri(product["image_path"]))
        items.append(item)
    return items
