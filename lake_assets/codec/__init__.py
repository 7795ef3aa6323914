"""sensor-pack v1: the binary format of `reports.encoded` (see docs/sensor-pack-v1.md)."""

from lake_assets.codec.decode import Decoded, decode_reports
from lake_assets.codec.encode import encode_report
from lake_assets.codec.format import (
    CHANNELS,
    QUARANTINE_SCHEMA,
    READINGS_SCHEMA,
    REASONS,
    channel_name,
)

__all__ = [
    "CHANNELS",
    "QUARANTINE_SCHEMA",
    "READINGS_SCHEMA",
    "REASONS",
    "Decoded",
    "channel_name",
    "decode_reports",
    "encode_report",
]
