"""`late_copies_sensor`: re-copy past days of a daily copy whose published version is not the
source's any more (rows added, changed or deleted after the day was copied).

The same rules as `late_reports_sensor` (late_data.py), per copied table: a day is judged by
the server checksum (count, BIT_XOR and SUM of CRC32 over every column) that its published
copy was verified against, compared with the source's now; days never copied are left to the
schedule; days being materialized are skipped; a request is repeated only after a backoff.
Each tick costs one checksum query per table and day of the look-back window.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence

from dagster import (
    DailyPartitionsDefinition,
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from lake_assets.catalogs.base import LakeCatalog, published_attempt, slot_value
from lake_assets.core.fingerprints import RowChecksum
from lake_assets.core.tables import TableSpec
from lake_assets.defs.automation.jobs import DAILY_REPORTS_JOB
from lake_assets.defs.automation.late_data import (
    Asked,
    ask,
    contiguous_ranges,
    days_in_flight,
    days_to_request,
    dump_cursor,
    is_current,
    load_cursor,
)
from lake_assets.defs.automation.sensors import digest, lookback_window
from lake_assets.defs.copies.manifest_stats import CopyStats
from lake_assets.defs.lake import LakeResource
from lake_assets.lake.store import LakeStore
from lake_assets.lake.zones import DATA, DayPath, read_manifest
from lake_assets.settings import LakeSettings
from lake_assets.source.client import MySQLResource
from lake_assets.source.extract import judge_source, server_checksum


def checksum_key(checksum: RowChecksum) -> str:
    return json.dumps([checksum.rows, checksum.xor, checksum.sum])


def published_checksums(
    store: LakeStore, catalog: LakeCatalog, spec: TableSpec, days: list[dt.date]
) -> tuple[list[dt.date], dict[dt.date, str]]:
    """The days ever copied, and for those published as their current copy, the server
    checksum that copy was verified against."""
    copied, published = [], {}
    shown_by_date = catalog.partitions(spec.name)  # one catalog read, not one per day
    for day in days:
        manifest = read_manifest(store, DayPath(DATA, day, spec.name))
        if manifest is None:
            continue
        copied.append(day)
        shown = published_attempt(shown_by_date.get(slot_value(day)))
        if shown == manifest.attempt:
            published[day] = checksum_key(CopyStats.from_dict(manifest.stats).source_checksum)
    return copied, published


def source_checksums(
    mysql: MySQLResource, spec: TableSpec, days: list[dt.date], timezone: str
) -> dict[dt.date, str]:
    with mysql.connect() as conn, mysql.cursor(conn) as cur:
        source = judge_source(mysql, conn, spec)
        return {
            day: checksum_key(server_checksum(cur, source, source.window(day, timezone)))
            for day in days
        }


def build_late_copies_sensor(
    specs: Sequence[TableSpec], settings: LakeSettings, partitions: DailyPartitionsDefinition
) -> SensorDefinition:
    daily = [spec for spec in specs if spec.daily]

    @sensor(
        name="late_copies_sensor",
        job_name=DAILY_REPORTS_JOB,
        minimum_interval_seconds=settings.late_sensor_interval_s,
        default_status=DefaultSensorStatus.STOPPED,
        description="Requests the past days (look-back LAKE_LATE_LOOKBACK_DAYS) of each daily "
        "table copy whose published version is not the source's any more, as one run per table "
        "and contiguous range; asks again, with backoff, while a requested day stays changed.",
    )
    def late_copies_sensor(
        context: SensorEvaluationContext,
        mysql: MySQLResource,
        lake: LakeResource,
        catalog: LakeCatalog,
    ) -> SensorResult | SkipReason:
        window = lookback_window(partitions, settings.late_lookback_days)
        if not window or not daily:
            return SkipReason("no daily copy, or no closed day yet")
        store = lake.store()
        cursors = json.loads(context.cursor) if context.cursor else {}
        busy = days_in_flight(context.instance)
        now = time.time()
        requests, next_cursors = [], {}
        for spec in daily:
            copied, published = published_checksums(store, catalog, spec, window)
            if not copied:
                continue
            source = source_checksums(mysql, spec, copied, settings.timezone)
            saved = load_cursor(cursors.get(spec.name))
            asked = {d: a for d, a in saved.items() if d >= window[0]}
            days = days_to_request(
                source, published, copied, asked, busy, now, settings.late_sensor_interval_s
            )
            still_stale = {d: a for d, a in asked.items() if not is_current(d, source, published)}
            cursor = ask(still_stale, days, source, now)
            next_cursors[spec.name] = dump_cursor(cursor)
            for first, last in contiguous_ranges(days):
                requests.append(_run_request(spec, first, last, [cursor[d] for d in days]))
            if days:
                context.log.info(f"{spec.name} {', '.join(map(str, days))}: changed; requesting")
        cursor_text = json.dumps(next_cursors, sort_keys=True)
        if not requests:
            return SensorResult(
                skip_reason=SkipReason("every copied day is published as the source has it"),
                cursor=cursor_text,
            )
        return SensorResult(run_requests=requests, cursor=cursor_text)

    return late_copies_sensor


def _run_request(spec: TableSpec, first: dt.date, last: dt.date, asked: list[Asked]) -> RunRequest:
    run_key = (
        f"late-{spec.name}-{first}-{last}-{digest([f'{a.target}#{a.attempts}' for a in asked])}"
    )
    trigger = {"lake/trigger": "late_copies_sensor"}
    if first == last:
        return RunRequest(
            run_key=run_key,
            partition_key=str(first),
            asset_selection=[spec.asset_key],
            tags=trigger,
        )
    return RunRequest(
        run_key=run_key,
        asset_selection=[spec.asset_key],
        tags={
            "dagster/asset_partition_range_start": str(first),
            "dagster/asset_partition_range_end": str(last),
            **trigger,
        },
    )
