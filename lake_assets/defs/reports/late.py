"""What the late-data sensor asks of the reports: which days of its window were extracted, the
source version each published day was decoded from, and the source's version now.

A version is the day's fingerprint (count, MAX(updated_at) and BIT_XOR of CRC32 over the
rows' key) as one comparable string; a day without rows has the empty day's.
"""

from __future__ import annotations

import datetime as dt
import json

from lake_assets.catalogs.base import LakeCatalog, published_attempt
from lake_assets.core.days import date_to_path_value
from lake_assets.defs.steps.manifest_stats import DataStats
from lake_assets.lake.store import LakeStore
from lake_assets.lake.zones import DATA, RAW, TABLE, DayPath, read_manifest
from lake_assets.source.client import MySQLResource

COMPARED = ("rows", "max_updated_at", "checksum")


def fingerprint_key(fp: dict[str, object] | None) -> str:
    """A day's fingerprint as one comparable string (an absent day is an empty day)."""
    fp = fp or {"rows": 0, "max_updated_at": None, "checksum": 0}
    return json.dumps([fp.get(k) for k in COMPARED])


def published_versions(
    store: LakeStore, catalog: LakeCatalog, window: list[dt.date]
) -> tuple[list[dt.date], dict[dt.date, str]]:
    """The days of `window` ever extracted, and for each whose catalog version is the current
    decoded attempt, the fingerprint of the source snapshot it came from (absent: unpublished,
    or published from an older decode)."""
    extracted = [d for d in window if read_manifest(store, DayPath(RAW, d)) is not None]
    shown_by_date = catalog.partitions(TABLE) if extracted else {}  # one catalog read
    published = {}
    for day in extracted:
        data = read_manifest(store, DayPath(DATA, day))
        fingerprint = DataStats.of(data).source_fingerprint if data else None
        shown = published_attempt(shown_by_date.get(date_to_path_value(day)))
        if fingerprint and data and shown == data.attempt:
            published[day] = fingerprint_key(fingerprint.as_dict())
    return extracted, published


def source_versions(
    mysql: MySQLResource, window: list[dt.date], extracted: list[dt.date]
) -> dict[dt.date, str]:
    """The source's fingerprint of every day of `window`, in one grouped query."""
    with mysql.connect() as conn:
        found = mysql.fingerprints(conn, window[0], window[-1])
    return {day: fingerprint_key(found[day].as_dict() if day in found else None) for day in window}
