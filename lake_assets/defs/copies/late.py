"""What the late-data sensor asks of a daily copy: which days of its window were copied, the
server checksum each published copy was verified against, and the server's checksum now
(count, BIT_XOR and SUM of CRC32 over every column; one query per day)."""

from __future__ import annotations

import datetime as dt
import json

from lake_assets.catalogs.base import LakeCatalog, published_attempt, slot_value
from lake_assets.core.fingerprints import RowChecksum
from lake_assets.core.tables import TableSpec
from lake_assets.defs.steps.manifest_stats import CopyStats
from lake_assets.lake.store import LakeStore
from lake_assets.lake.zones import DATA, DayPath, read_manifest
from lake_assets.source.client import MySQLResource
from lake_assets.source.extract import judge_source, server_checksum


def checksum_key(checksum: RowChecksum) -> str:
    return json.dumps([checksum.rows, checksum.xor, checksum.sum])


def published_versions(
    store: LakeStore, catalog: LakeCatalog, spec: TableSpec, window: list[dt.date]
) -> tuple[list[dt.date], dict[dt.date, str]]:
    """The days ever copied, and for those published as their current copy, the server
    checksum that copy was verified against."""
    copied, published = [], {}
    shown_by_date = catalog.partitions(spec.name)  # one catalog read, not one per day
    for day in window:
        manifest = read_manifest(store, DayPath(DATA, day, spec.name))
        if manifest is None:
            continue
        copied.append(day)
        shown = published_attempt(shown_by_date.get(slot_value(day)))
        if shown == manifest.attempt:
            published[day] = checksum_key(CopyStats.of(manifest).source_checksum)
    return copied, published


def source_versions(
    mysql: MySQLResource, spec: TableSpec, days: list[dt.date], timezone: str
) -> dict[dt.date, str]:
    """The server's checksum now of each of `days` (days of `timezone`)."""
    with mysql.connect() as conn, mysql.cursor(conn) as cur:
        source = judge_source(mysql, conn, spec)
        return {
            day: checksum_key(server_checksum(cur, source, source.window(day, timezone)))
            for day in days
        }
