"""Read a legacy (pre torch 1.6, non-zip) PyTorch state-dict file into numpy arrays, without torch.

The file is a run of pickles: a magic number, a protocol version, system info, then the state dict
whose tensors point at "storages" by persistent id, then the list of storage keys; after that come
the storages' raw bytes, one record per key (an int64 element count, then the data). A restricted
unpickler resolves only the handful of globals such a file names, so nothing else can execute.
"""
from __future__ import annotations

import collections
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


@dataclass
class _TensorRef:
    """A tensor whose storage bytes have not been read yet."""

    key: str
    offset: int
    shape: tuple
    stride: tuple


@dataclass
class _StorageType:
    dtype: type


def _rebuild_tensor(storage, offset, shape, stride, *_ignored):
    return _TensorRef(storage, offset, tuple(shape), tuple(stride))


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, storages: dict):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) in (("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor")):
            return _rebuild_tensor
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(STORAGE_DTYPES[name])
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a weights file")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, size, *_ = pid
        if kind != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        self.storages[key] = (storage_type.dtype, int(size))
        return key


def load_legacy_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """name -> numpy array, in the file's order; bit-identical to what torch.load returns."""
    with open(path, "rb") as f:
        if pickle.load(f) != LEGACY_MAGIC:
            raise ValueError(f"{path} is not a legacy torch pickle (zip-format files need torch)")
        pickle.load(f)  # protocol version
        info = pickle.load(f)
        if not info.get("little_endian", True):
            raise ValueError(f"{path} was written on a big-endian machine")
        storages: dict[str, tuple] = {}
        state = _RestrictedUnpickler(f, storages).load()
        keys = _RestrictedUnpickler(f, storages).load()
        data = {}
        for key in keys:
            dtype, size = storages[key]
            count = int(np.frombuffer(f.read(8), dtype="<i8")[0])
            if count != size:
                raise ValueError(f"{path}: storage {key} holds {count} elements, expected {size}")
            data[key] = np.frombuffer(f.read(count * np.dtype(dtype).itemsize), dtype=dtype)
    arrays = {}
    for name, ref in state.items():
        storage = data[ref.key]
        itemsize = storage.itemsize
        view = np.lib.stride_tricks.as_strided(storage[ref.offset:], shape=ref.shape,
                                               strides=[s * itemsize for s in ref.stride])
        arrays[name] = np.array(view)  # own, contiguous copy
    return arrays
