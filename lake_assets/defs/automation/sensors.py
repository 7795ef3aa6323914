"""`late_reports_sensor`: re-run past days whose published version is not the source's.

Each tick costs one grouped query (count, MAX(updated_at) and checksum per day over the
look-back window), one listing of the catalog, and reading the day manifests. Days never
extracted belong to the schedule or a backfill and are left alone; days being materialized
now are skipped; a day already asked for is asked again only after a backoff (the cursor,
which Dagster persists), so a failed run is retried, not forgotten.
"""

import datetime as dt
import hashlib
import time

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

from lake_assets.catalogs.base import LakeCatalog, PartitionSpec, published_attempt
from lake_assets.core.days import date_to_path_value, key_to_date
from lake_assets.defs.automation.jobs import DAILY_REPORTS_JOB
from lake_assets.defs.automation.late_data import (
    Asked,
    ask,
    contiguous_ranges,
    days_in_flight,
    days_to_request,
    dump_cursor,
    fingerprint_key,
    is_current,
    load_cursor,
)
from lake_assets.defs.lake import LakeResource
from lake_assets.lake.manifest_stats import DataStats
from lake_assets.lake.store import LakeStore
from lake_assets.lake.zones import DATA, RAW, TABLE, DayPath, read_manifest
from lake_assets.settings import LakeSettings
from lake_assets.source.client import MySQLResource


def lookback_window(partitions: DailyPartitionsDefinition, days: int) -> list[dt.date]:
    """The last `days` closed partitions (today's open day belongs to the schedule)."""
    last = partitions.get_last_partition_key()
    if last is None:
        return []
    end = key_to_date(last)
    first = max(end - dt.timedelta(days=days - 1), partitions.start.date())
    return [first + dt.timedelta(days=i) for i in range((end - first).days + 1)]


def build_late_reports_sensor(
    settings: LakeSettings, partitions: DailyPartitionsDefinition
) -> SensorDefinition:
    """The sensor, ticking every LAKE_LATE_SENSOR_INTERVAL_S over LAKE_LATE_LOOKBACK_DAYS."""

    @sensor(
        name="late_reports_sensor",
        job_name=DAILY_REPORTS_JOB,
        minimum_interval_seconds=settings.late_sensor_interval_s,
        default_status=DefaultSensorStatus.STOPPED,
        description="Requests the past days (look-back LAKE_LATE_LOOKBACK_DAYS) whose published "
        "version is not the source's any more, as one run per contiguous range; asks again, "
        "with backoff, while a requested day stays changed.",
    )
    def late_reports_sensor(
        context: SensorEvaluationContext,
        mysql: MySQLResource,
        lake: LakeResource,
        catalog: LakeCatalog,
    ) -> SensorResult | SkipReason:
        return late_reports_tick(context, mysql, lake, catalog, settings, partitions)

    return late_reports_sensor


def late_reports_tick(
    context: SensorEvaluationContext,
    mysql: MySQLResource,
    lake: LakeResource,
    catalog: LakeCatalog,
    settings: LakeSettings,
    partitions: DailyPartitionsDefinition,
) -> SensorResult | SkipReason:
    window = lookback_window(partitions, settings.late_lookback_days)
    if not window:
        return SkipReason("no closed day yet")
    store = lake.store()
    extracted = [d for d in window if read_manifest(store, DayPath(RAW, d)) is not None]
    if not extracted:
        return SkipReason("no day of the window has been extracted yet")
    published = published_fingerprints(store, catalog.partitions(TABLE), extracted)
    with mysql.connect() as conn:
        source = {
            d: fingerprint_key(fp.as_dict())
            for d, fp in mysql.fingerprints(conn, window[0], window[-1]).items()
        }
    now = time.time()
    asked = {d: a for d, a in load_cursor(context.cursor).items() if d >= window[0]}
    days = days_to_request(
        source,
        published,
        extracted,
        asked,
        days_in_flight(context.instance),
        now,
        settings.late_sensor_interval_s,
    )
    still_stale = {d: a for d, a in asked.items() if not is_current(d, source, published)}
    cursor = ask(still_stale, days, source, now)
    if not days:
        return SensorResult(
            skip_reason=SkipReason("every extracted day is published as the source has it"),
            cursor=dump_cursor(cursor),
        )
    requests = [
        _run_request(first, last, [cursor[d] for d in days])
        for first, last in contiguous_ranges(days)
    ]
    context.log.info(
        f"{', '.join(map(str, days))}: the published version is not the source's; requesting"
    )
    return SensorResult(run_requests=requests, cursor=dump_cursor(cursor))


def published_fingerprints(
    store: LakeStore, catalog_days: dict[str, PartitionSpec], days: list[dt.date]
) -> dict[dt.date, str]:
    """For each day whose catalog version is the current decoded attempt, the fingerprint of
    the source snapshot it came from (absent: unpublished, or published from an older decode)."""
    out = {}
    for day in days:
        data = read_manifest(store, DayPath(DATA, day))
        spec = catalog_days.get(date_to_path_value(day))
        fingerprint = DataStats.of(data).source_fingerprint if data else None
        if fingerprint and data and published_attempt(spec) == data.attempt:
            out[day] = fingerprint_key(fingerprint.as_dict())
    return out


def _run_request(first: dt.date, last: dt.date, asked: list[Asked]) -> RunRequest:
    """A single day runs as that partition, so that it carries the `dagster/partition` tag
    that the run queue limits to one run per day (a scheduled run of the same day waits);
    a longer stretch runs as one single-run range."""
    run_key = f"late-{first}-{last}-{digest([f'{a.target}#{a.attempts}' for a in asked])}"
    trigger = {"lake/trigger": "late_reports_sensor"}
    if first == last:
        return RunRequest(run_key=run_key, partition_key=str(first), tags=trigger)
    return RunRequest(
        run_key=run_key,
        tags={
            "dagster/asset_partition_range_start": str(first),
            "dagster/asset_partition_range_end": str(last),
            **trigger,
        },
    )


def digest(parts: list[str]) -> str:
    """Stable across processes (unlike hash()), so a run key names the same change twice."""
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]
