"""Rows of a large `.npy` file written and read with plain file calls instead of a memory map.

The states cache of `e5_finetune` is 4.85 GB at the challenge's size. Read (or written) through
`np.memmap`, every page it touches stays mapped into the process and counts in its resident memory
until the map goes, although the kernel could drop it at any time: at the real size that was 4.9 of
the fine-tuning's 7.9 GB peak. `os.preadv` / `os.pwrite` at each row's offset move the same bytes
through the page cache without mapping them, so the process holds only the batch it asked for.

Rows are C-ordered, so the first `width` positions of a padded sequence row are contiguous: a batch
trimmed to its longest text reads only those bytes.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np


class NpyRows:
    """Row access to an `.npy` file of shape (rows, positions, ...), by offset."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        header = np.load(self.path, mmap_mode="r")  # reads the header only; the map is dropped below
        self.shape, self.dtype, self.offset = header.shape, header.dtype, header.offset
        del header
        self.position_items = int(np.prod(self.shape[2:], dtype=np.int64))  # items per position
        self.row_bytes = int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize

    @classmethod
    def create(cls, path: str | Path, shape: tuple, dtype) -> "NpyRows":
        """A new file of zeros (sparse on disk until written) with a valid `.npy` header."""
        np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape).flush()
        return cls(path)

    def read(self, index: np.ndarray, width: int | None = None) -> np.ndarray:
        """Rows `index` (in that order), each cut to its first `width` positions."""
        width = self.shape[1] if width is None else min(int(width), self.shape[1])
        out = np.empty((len(index), width, *self.shape[2:]), self.dtype)
        nbytes = width * self.position_items * self.dtype.itemsize
        with open(self.path, "rb", buffering=0) as file:
            for j, i in enumerate(np.asarray(index, dtype=np.int64)):
                got = os.preadv(file.fileno(), [memoryview(out[j]).cast("B")], self.offset + int(i) * self.row_bytes)
                if got != nbytes:
                    raise OSError(f"{self.path}: row {i} is cut short ({got} of {nbytes} bytes); delete the file "
                                  f"to compute it again")
        return out

    def write(self, index: np.ndarray, rows: np.ndarray) -> None:
        """Rows `index` of the file := `rows` (whole rows)."""
        rows = np.ascontiguousarray(rows, dtype=self.dtype)
        with open(self.path, "r+b", buffering=0) as file:
            for j, i in enumerate(np.asarray(index, dtype=np.int64)):
                os.pwrite(file.fileno(), memoryview(rows[j]).cast("B"), self.offset + int(i) * self.row_bytes)
