"""`late_reports_sensor`: re-extract past days whose source rows changed after extraction.

Each tick costs one grouped query (count, MAX(updated_at) and checksum per day over the
look-back window) plus reading the raw zone's day manifests. Days never extracted belong to
the schedule or a backfill and are left alone; days being materialized now are skipped; a
change already requested is not requested again (the cursor, which Dagster persists).
"""

import datetime as dt
import hashlib
import json

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from lake_assets.automation.jobs import daily_reports_job
from lake_assets.automation.late_data import (
    changed_days,
    contiguous_ranges,
    days_in_flight,
    fingerprint_key,
)
from lake_assets.partitions import daily_partitions, key_to_date
from lake_assets.resources.lake import LakeResource
from lake_assets.resources.mysql import MySQLResource
from lake_assets.settings import current_settings
from lake_assets.zones import RAW, DayPath, read_manifest

_settings = current_settings()


def lookback_window(days: int) -> list[dt.date]:
    """The last `days` closed partitions (today's open day belongs to the schedule)."""
    last = daily_partitions.get_last_partition_key()
    if last is None:
        return []
    end = key_to_date(last)
    first = max(end - dt.timedelta(days=days - 1), _settings.start_date)
    return [first + dt.timedelta(days=i) for i in range((end - first).days + 1)]


@sensor(
    job=daily_reports_job,
    minimum_interval_seconds=_settings.late_sensor_interval_s,
    default_status=DefaultSensorStatus.STOPPED,
    description="Requests the past days (look-back LAKE_LATE_LOOKBACK_DAYS) whose source rows "
    "changed since they were extracted, as one run per contiguous range.",
)
def late_reports_sensor(
    context: SensorEvaluationContext, mysql: MySQLResource, lake: LakeResource
) -> SensorResult | SkipReason:
    window = lookback_window(_settings.late_lookback_days)
    if not window:
        return SkipReason("no closed day yet")
    store = lake.store()
    extracted = {}
    for day in window:
        manifest = read_manifest(store, DayPath(RAW, day))
        if manifest is not None:
            extracted[day] = manifest.stats["fingerprint"]
    if not extracted:
        return SkipReason("no day of the window has been extracted yet")
    with mysql.connect() as conn:
        source = {
            d: fp.as_dict() for d, fp in mysql.fingerprints(conn, window[0], window[-1]).items()
        }

    requested: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    days = changed_days(source, extracted, requested, days_in_flight(context.instance))
    cursor = {d: v for d, v in requested.items() if key_to_date(d) >= window[0]}
    cursor.update({str(d): fingerprint_key(source.get(d)) for d in days})
    if not days:
        return SensorResult(
            skip_reason=SkipReason("no extracted day changed"),
            cursor=json.dumps(cursor, sort_keys=True),
        )
    requests = [_run_request(first, last, cursor, days) for first, last in contiguous_ranges(days)]
    context.log.info(f"source changed for {', '.join(map(str, days))}; requesting re-extraction")
    return SensorResult(run_requests=requests, cursor=json.dumps(cursor, sort_keys=True))


def _run_request(
    first: dt.date, last: dt.date, cursor: dict[str, str], days: list[dt.date]
) -> RunRequest:
    """A single day runs as that partition, so that it carries the `dagster/partition` tag
    that the run queue limits to one run per day (a scheduled run of the same day waits);
    a longer stretch runs as one single-run range."""
    run_key = f"late-{first}-{last}-{_digest([cursor[str(d)] for d in days])}"
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


def _digest(parts: list[str]) -> str:
    """Stable across processes (unlike hash()), so a run key names the same change twice."""
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]
