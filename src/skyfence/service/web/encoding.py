"""The compact binary payload of cell layers: H3 ids once, then one byte per cell per frame.

Layout (little-endian)::

    bytes 0-3    b"SFC1"
    bytes 4-7    uint32  n_cells
    bytes 8-11   uint32  n_frames (1 for a map, the time steps for coverage)
    bytes 12-15  uint32  reserved (0)
    then         uint64  cell ids [n_cells] (H3 indexes)
    then         uint8   values [n_frames, n_cells] (frame-major; 255 = no value)

The world at H3 res 3 (41,162 cells) is 16 + 8 x 41,162 + 41,162 = 370 kB, against about 25 MB as a GeoJSON
FeatureCollection of cell polygons (``benchmarks/web_dashboard.py`` measures both).  The browser reads it with one
``BigUint64Array`` and one ``Uint8Array`` view on the same buffer; no parsing.
"""

from __future__ import annotations

import struct
from typing import Final

import numpy as np

__all__ = ["MAGIC", "NO_VALUE", "decode_cells", "encode_cells"]

MAGIC: Final = b"SFC1"
NO_VALUE: Final = 255
_HEADER: Final = struct.Struct("<4sIII")


def encode_cells(cells: np.ndarray, values: np.ndarray) -> bytes:
    """``cells`` [n] H3 ids and ``values`` [n] or [frames, n] small integers (0-254) → one payload."""
    cells = np.ascontiguousarray(cells, dtype="<u8")
    values = np.asarray(values)
    if values.ndim == 1:
        values = values[np.newaxis, :]
    if values.shape[1] != cells.size:
        raise ValueError(f"values have {values.shape[1]} cells, ids {cells.size}")
    if values.size and (values.min() < 0 or values.max() > NO_VALUE):
        raise ValueError("values must lie in 0..255")
    frames = np.ascontiguousarray(values, dtype=np.uint8)
    return _HEADER.pack(MAGIC, cells.size, frames.shape[0], 0) + cells.tobytes() + frames.tobytes()


def decode_cells(payload: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of :func:`encode_cells`: ``(cells [n] uint64, values [frames, n] uint8)``."""
    magic, n, frames, _ = _HEADER.unpack_from(payload)
    if magic != MAGIC or len(payload) != _HEADER.size + 9 * n * 1 + (frames - 1) * n:
        raise ValueError("not an SFC1 cell payload")
    cells = np.frombuffer(payload, dtype="<u8", count=n, offset=_HEADER.size)
    values = np.frombuffer(payload, dtype=np.uint8, offset=_HEADER.size + 8 * n).reshape(frames, n)
    return cells, values
