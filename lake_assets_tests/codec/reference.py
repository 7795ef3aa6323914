"""A straightforward, per-message sensor-pack v1 codec written from the spec alone.

It is the oracle of the property tests: slow and obvious, and independent of the package's
vectorised decoder and of its encoder.
"""

from __future__ import annotations

import base64
import re
import struct
import zlib

NAMES = {
    1: ("temperature", "degC", 100),
    2: ("humidity", "pct_rh", 100),
    3: ("co2", "ppm", 1),
    4: ("tvoc", "ppb", 1),
    5: ("pm2_5", "ug_m3", 10),
    6: ("pressure", "hpa", 10),
    7: ("illuminance", "lux", 1),
    8: ("noise", "dba", 10),
}

STRICT_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")

Reading = tuple[int, str, "str | None", "float | None"]


def body(
    base_ts: int,
    interval: int,
    channels: list[int],
    values: list[list[int]],
    wide: bool,
    *,
    version: int = 1,
    flags: int | None = None,
) -> bytes:
    """The bytes before the CRC; `values` are raw ints (the sentinel means missing)."""
    f = (1 if wide else 0) if flags is None else flags
    out = struct.pack("<BBIHB", version, f, base_ts, interval, len(channels)) + bytes(channels)
    out += struct.pack("<H", len(values))
    fmt = "<i" if wide else "<h"
    for sample in values:
        for v in sample:
            out += struct.pack(fmt, v)
    return out


def frame(data: bytes) -> str:
    return base64.b64encode(data + struct.pack("<I", zlib.crc32(data))).decode()


def decode(encoded: str | None) -> list[Reading] | str:
    """The readings of a message, or the spec's first applicable quarantine reason."""
    if encoded is None or encoded == "":
        return "empty"
    # RFC 4648 strict: alphabet only, length a multiple of 4, at most two '=' and only at the
    # end. (Python's b64decode, even in strict_mode, also accepts excess '=' after a full quad.)
    if not STRICT_BASE64.fullmatch(encoded) or len(encoded) % 4:
        return "base64"
    raw = base64.b64decode(encoded, validate=True)
    if len(raw) < 16:
        return "truncated"
    data, crc = raw[:-4], struct.unpack("<I", raw[-4:])[0]
    if zlib.crc32(data) != crc:
        return "crc"
    if data[0] != 1:
        return "version"
    if data[1] & 0xFE:
        return "flags"
    n_ch = data[8]
    if len(data) < 11 + n_ch:
        return "length"
    base_ts, interval = struct.unpack_from("<IH", data, 2)
    channels = list(data[9 : 9 + n_ch])
    if n_ch == 0 or interval == 0 or len(set(channels)) != n_ch:
        return "header"
    (n_samples,) = struct.unpack_from("<H", data, 9 + n_ch)
    wide = bool(data[1] & 1)
    width = 4 if wide else 2
    if len(data) != 11 + n_ch + n_samples * n_ch * width:
        return "length"
    fmt, missing = ("<i", -(2**31)) if wide else ("<h", -(2**15))
    readings: list[Reading] = []
    pos = 11 + n_ch
    for s in range(n_samples):
        for code in channels:
            (v,) = struct.unpack_from(fmt, data, pos)
            pos += width
            name, unit, scale = NAMES.get(code, (f"code_{code}", None, 1))
            readings.append(
                (base_ts + s * interval, name, unit, None if v == missing else v / scale)
            )
    return readings
