"""sensor-pack v1 encoder: the inverse of the decoder, for the demo seeder, tests and benchmarks.

The pipeline itself never encodes; devices do. This is the reference writer of the format.
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Sequence

import numpy as np

from lake_assets.codec.format import FLAG_WIDE, VERSION

INT16_MISSING = int(np.iinfo(np.int16).min)
INT32_MISSING = int(np.iinfo(np.int32).min)


def encode_report(
    base_ts: int,
    interval_s: int,
    channels: Sequence[int],
    raw_values: np.ndarray | Sequence[Sequence[int | None]],
    *,
    wide: bool | None = None,
) -> str:
    """Base64 text of one message; `raw_values` is samples × channels, None (or the sentinel)
    meaning missing. `wide` defaults to whatever the values need."""
    rows = [[_sentinel_if_none(v, wide) for v in sample] for sample in raw_values]
    values = np.array(rows, dtype=np.int64).reshape(len(rows), len(channels))
    if wide is None:
        small = values[values != INT16_MISSING]
        wide = bool(small.size) and bool(
            (small < INT16_MISSING + 1).any() or (small > np.iinfo(np.int16).max).any()
        )
        values[values == INT16_MISSING] = INT32_MISSING if wide else INT16_MISSING
    body = struct.pack(
        "<BBIHB", VERSION, FLAG_WIDE if wide else 0, base_ts, interval_s, len(channels)
    )
    body += bytes(channels) + struct.pack("<H", values.shape[0])
    body += values.astype("<i4" if wide else "<i2").tobytes()
    return frame(body)


def frame(body: bytes) -> str:
    """Append the CRC and base64 the message (also used to build deliberately bad messages)."""
    return base64.b64encode(body + struct.pack("<I", zlib.crc32(body))).decode("ascii")


def _sentinel_if_none(v: int | None, wide: bool | None) -> int:
    if v is None:
        return INT32_MISSING if wide else INT16_MISSING
    return int(v)
