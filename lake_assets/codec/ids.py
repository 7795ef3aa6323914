"""Report ids exactly, to 2^64 - 1: `reports.id` is BIGINT UNSIGNED, so an id may not fit the
signed 64-bit `bigint` of Athena, Hive and Parquet's INT64. The lake holds ids as
`decimal(20,0)`, as the raw zone does; in NumPy they are `uint64`. Both conversions work on
the Arrow buffers: a non-negative decimal128 is its value in the low 8 bytes, zeros above."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

ID_TYPE = pa.decimal128(20, 0)


def ids_to_numpy(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """uint64 ids from a decimal(…, 0) or integer array without nulls."""
    if isinstance(arr, pa.ChunkedArray):  # one chunk (a decoded batch's) is read in place
        arr = arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    if arr.null_count:
        raise ValueError("ids must not be null")
    if pa.types.is_decimal128(arr.type) and arr.type.scale == 0:
        words = np.frombuffer(arr.buffers()[1], dtype="<u8")
        words = words[2 * arr.offset : 2 * (arr.offset + len(arr))].reshape(-1, 2)
        if words[:, 1].any():
            raise ValueError(f"an id is negative or above 2^64 - 1: {arr.type}")
        return words[:, 0]
    if pa.types.is_integer(arr.type):
        if pa.types.is_signed_integer(arr.type) and len(arr) and arr.to_numpy().min() < 0:
            raise ValueError("ids must not be negative")
        return arr.cast(pa.uint64()).to_numpy(zero_copy_only=False)
    raise TypeError(f"ids must be integers or decimal(20,0), not {arr.type}")


def ids_to_arrow(ids: np.ndarray, repeats: np.ndarray | None = None) -> pa.Array:
    """decimal(20,0) ids from uint64, built in place (no per-value conversion); with
    `repeats`, each id that many times (a report's id on each of its readings), in one pass."""
    words = np.zeros((len(ids), 2), dtype="<u8")
    words[:, 0] = ids
    if repeats is not None:
        words = np.repeat(words, repeats, axis=0)
    return pa.Array.from_buffers(ID_TYPE, len(words), [None, pa.py_buffer(words)])
