"""The constants of sensor-pack v1 and the Arrow schemas of what decoding produces."""

from __future__ import annotations

from typing import NamedTuple

import pyarrow as pa

from lake_assets.codec.ids import ID_TYPE

VERSION = 1
FLAG_WIDE = 0x01
HEADER_BYTES = 11  # version, flags, base_ts, interval_s, n_channels, n_samples (channels excluded)
CRC_BYTES = 4
MIN_MESSAGE_BYTES = 16  # one channel, no samples, CRC included


class Channel(NamedTuple):
    name: str
    unit: str
    scale: float


CHANNELS: dict[int, Channel] = {
    1: Channel("temperature", "degC", 100.0),
    2: Channel("humidity", "pct_rh", 100.0),
    3: Channel("co2", "ppm", 1.0),
    4: Channel("tvoc", "ppb", 1.0),
    5: Channel("pm2_5", "ug_m3", 10.0),
    6: Channel("pressure", "hpa", 10.0),
    7: Channel("illuminance", "lux", 1.0),
    8: Channel("noise", "dba", 10.0),
}

# Quarantine reasons, in the order the spec checks them ("length" appears twice there).
REASONS: tuple[str, ...] = (
    "empty",
    "base64",
    "truncated",
    "crc",
    "version",
    "flags",
    "length",
    "header",
)


def channel_name(code: int) -> str:
    """The reading's channel: the spec's name, or `code_<N>` for codes newer firmware added."""
    known = CHANNELS.get(code)
    return known.name if known else f"code_{code}"


# Channel and unit are dictionary-encoded in memory (a code indexes a 256-entry
# dictionary); they are plain UTF-8 strings in Parquet and in every catalog.
CHANNEL_TYPE = pa.dictionary(pa.int16(), pa.string())
TS_TYPE = pa.timestamp("ms", tz="UTC")

READINGS_SCHEMA = pa.schema(
    [
        pa.field("report_id", ID_TYPE, nullable=False),
        pa.field("device_id", pa.int64(), nullable=False),
        pa.field("ts", TS_TYPE, nullable=False),
        pa.field("channel", CHANNEL_TYPE, nullable=False),
        pa.field("unit", CHANNEL_TYPE),
        pa.field("value", pa.float64()),
    ]
)

# The same columns as they are stored: what Parquet, DuckDB and Glue see.
READINGS_STORED_SCHEMA = pa.schema(
    [f.with_type(pa.string()) if f.type == CHANNEL_TYPE else f for f in READINGS_SCHEMA]
)

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("report_id", ID_TYPE, nullable=False),
        pa.field("device_id", pa.int64(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("encoded", pa.string()),
    ]
)
