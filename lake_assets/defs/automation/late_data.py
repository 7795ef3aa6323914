"""The late-data sensors: re-run past days whose published version is not the source's any
more (rows added, changed or deleted after the day was published, or a decode or publish that
failed), for the reports (`late_reports_sensor`) and for the daily table copies
(`late_copies_sensor`), by one set of rules.

Each watched table says, for the days of the look-back window, which were ever extracted, the
source version each published day came from, and the source's version now (the reports: the
day's fingerprint, defs/reports/late.py; a copy: the server checksum, defs/copies/late.py).
A day is judged by what is *published*, so a day whose raw zone is current but whose decode
or publish failed still counts as changed. Days never extracted belong to the schedule or a
backfill and are left alone; days being materialized now are skipped; what was asked for is
remembered per table and day (the cursor, which Dagster persists), and asked again, while the
day stays changed, after a backoff that doubles with each attempt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterRunStatus,
    DailyPartitionsDefinition,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from lake_assets.catalogs.base import LakeCatalog
from lake_assets.core.days import key_to_date
from lake_assets.core.tables import TableSpec
from lake_assets.defs.automation.jobs import DAILY_REPORTS_JOB
from lake_assets.defs.copies import late as copies_late
from lake_assets.defs.lake import LakeResource
from lake_assets.defs.reports import late as reports_late
from lake_assets.lake.store import LakeStore
from lake_assets.source.client import MySQLResource

Versions = dict[dt.date, str]


@dataclass(frozen=True)
class Watched:
    """A table a late-data sensor watches: its name (the cursor's key), the assets a request
    runs (None: the whole job), and how to read its versions."""

    name: str
    assets: list[AssetKey] | None
    # (store, catalog, window) → the days ever extracted, and the published days' versions
    published: Callable[[LakeStore, LakeCatalog, list[dt.date]], tuple[list[dt.date], Versions]]
    # (mysql, window, extracted) → the source's version of each extracted day now
    source: Callable[[MySQLResource, list[dt.date], list[dt.date]], Versions]


def reports_watched() -> Watched:
    return Watched("reports", None, reports_late.published_versions, reports_late.source_versions)


def copy_watched(spec: TableSpec, timezone: str) -> Watched:
    return Watched(
        spec.name,
        [spec.asset_key],
        lambda store, catalog, window: copies_late.published_versions(store, catalog, spec, window),
        lambda mysql, window, copied: copies_late.source_versions(mysql, spec, copied, timezone),
    )


def build_late_reports_sensor(
    partitions: DailyPartitionsDefinition, lookback_days: int, interval_s: int
) -> SensorDefinition:
    """Every LAKE_LATE_SENSOR_INTERVAL_S, over LAKE_LATE_LOOKBACK_DAYS: one grouped query
    (count, MAX(updated_at) and checksum per day), one listing of the catalog, the manifests."""
    return build_late_data_sensor(
        "late_reports_sensor",
        [reports_watched()],
        partitions,
        lookback_days,
        interval_s,
        "Requests the past days (look-back LAKE_LATE_LOOKBACK_DAYS) whose published version "
        "is not the source's any more, as one run per contiguous range; asks again, with "
        "backoff, while a requested day stays changed.",
    )


def build_late_copies_sensor(
    specs: Sequence[TableSpec],
    partitions: DailyPartitionsDefinition,
    lookback_days: int,
    interval_s: int,
    timezone: str,
) -> SensorDefinition:
    """Over the daily copies of `specs`: one checksum query per table and day of the window."""
    return build_late_data_sensor(
        "late_copies_sensor",
        [copy_watched(spec, timezone) for spec in specs if spec.daily],
        partitions,
        lookback_days,
        interval_s,
        "Requests the past days (look-back LAKE_LATE_LOOKBACK_DAYS) of each daily table copy "
        "whose published version is not the source's any more, as one run per table and "
        "contiguous range; asks again, with backoff, while a requested day stays changed.",
    )


def build_late_data_sensor(
    name: str,
    watched: list[Watched],
    partitions: DailyPartitionsDefinition,
    lookback_days: int,
    interval_s: int,
    description: str,
) -> SensorDefinition:
    @sensor(
        name=name,
        job_name=DAILY_REPORTS_JOB,
        minimum_interval_seconds=interval_s,
        default_status=DefaultSensorStatus.STOPPED,
        description=description,
    )
    def late_data_sensor(
        context: SensorEvaluationContext,
        mysql: MySQLResource,
        lake: LakeResource,
        catalog: LakeCatalog,
    ) -> SensorResult | SkipReason:
        window = lookback_window(partitions, lookback_days)
        if not window or not watched:
            return SkipReason("nothing to watch, or no closed day yet")
        return late_data_tick(
            context, name, watched, window, interval_s, mysql, lake.store(), catalog
        )

    return late_data_sensor


def late_data_tick(
    context: SensorEvaluationContext,
    sensor_name: str,
    watched: list[Watched],
    window: list[dt.date],
    interval_s: int,
    mysql: MySQLResource,
    store: LakeStore,
    catalog: LakeCatalog,
) -> SensorResult | SkipReason:
    saved = json.loads(context.cursor) if context.cursor else {}
    saved = saved if isinstance(saved, dict) else {}  # another format: start over
    busy = days_in_flight(context.instance)
    now = time.time()
    requests, cursors = [], {}
    for table in watched:
        extracted, published = table.published(store, catalog, window)
        if not extracted:
            continue
        source = table.source(mysql, window, extracted)
        asked = {d: a for d, a in load_cursor(saved.get(table.name)).items() if d >= window[0]}
        days = days_to_request(source, published, extracted, asked, busy, now, interval_s)
        still_stale = {d: a for d, a in asked.items() if not is_current(d, source, published)}
        cursor = ask(still_stale, days, source, now)
        cursors[table.name] = dump_cursor(cursor)
        for first, last in contiguous_ranges(days):
            in_range = [cursor[d] for d in days if first <= d <= last]
            requests.append(_run_request(sensor_name, table, first, last, in_range))
        if days:
            context.log.info(
                f"{table.name} {', '.join(map(str, days))}: the published version is not "
                "the source's; requesting"
            )
    cursor_text = json.dumps(cursors, sort_keys=True)
    if not requests:
        return SensorResult(
            skip_reason=SkipReason("every extracted day is published as the source has it"),
            cursor=cursor_text,
        )
    return SensorResult(run_requests=requests, cursor=cursor_text)


def lookback_window(partitions: DailyPartitionsDefinition, days: int) -> list[dt.date]:
    """The last `days` closed partitions (today's open day belongs to the schedule)."""
    last = partitions.get_last_partition_key()
    if last is None:
        return []
    end = key_to_date(last)
    first = max(end - dt.timedelta(days=days - 1), partitions.start.date())
    return [first + dt.timedelta(days=i) for i in range((end - first).days + 1)]


def _run_request(
    sensor_name: str, table: Watched, first: dt.date, last: dt.date, asked: list[Asked]
) -> RunRequest:
    """A single day runs as that partition, so that it carries the `dagster/partition` tag
    that the run queue limits to one run per day (a scheduled run of the same day waits);
    a longer stretch runs as one single-run range."""
    changes = digest([f"{a.target}#{a.attempts}" for a in asked])
    name = "" if table.assets is None else f"{table.name}-"
    run_key = f"late-{name}{first}-{last}-{changes}"
    trigger = {"lake/trigger": sensor_name}
    if first == last:
        return RunRequest(
            run_key=run_key, partition_key=str(first), asset_selection=table.assets, tags=trigger
        )
    return RunRequest(
        run_key=run_key,
        asset_selection=table.assets,
        tags={
            "dagster/asset_partition_range_start": str(first),
            "dagster/asset_partition_range_end": str(last),
            **trigger,
        },
    )


def digest(parts: list[str]) -> str:
    """Stable across processes (unlike hash()), so a run key names the same change twice."""
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]


# -- the rules, as plain functions of versions, runs and the cursor ----------------------------

IN_FLIGHT = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]
MAX_BACKOFF_S = 6 * 3600


@dataclass(frozen=True)
class Asked:
    """What the cursor remembers of a day: the source version last asked for, how many times,
    and when last."""

    target: str
    attempts: int
    at: float


def is_current(day: dt.date, source: dict[dt.date, str], published: dict[dt.date, str]) -> bool:
    """The published version of the day is what the source has now."""
    return day in published and published[day] == source.get(day)


def backoff_s(attempts: int, interval_s: float) -> float:
    return min(interval_s * 2 ** (attempts - 1), MAX_BACKOFF_S)


def days_to_request(
    source: dict[dt.date, str],
    published: dict[dt.date, str],
    extracted: Iterable[dt.date],
    asked: dict[dt.date, Asked],
    busy: set[dt.date],
    now: float,
    interval_s: float,
) -> list[dt.date]:
    """Extracted days whose published version is not the source's now (late, updated or
    deleted rows, or a failed decode or publish), except days being materialized and days
    asked for recently (within the backoff of their attempts) for the same source version."""
    out = []
    for day in sorted(extracted):
        if is_current(day, source, published) or day in busy:
            continue
        target = source.get(day)
        prev = asked.get(day)
        if prev and prev.target == target and now - prev.at < backoff_s(prev.attempts, interval_s):
            continue
        out.append(day)
    return out


def ask(asked: dict[dt.date, Asked], days: list[dt.date], source: dict[dt.date, str], now: float):
    """The cursor after asking for `days`."""
    out = dict(asked)
    for day in days:
        target = source.get(day)
        prev = asked.get(day)
        attempts = prev.attempts + 1 if prev and prev.target == target else 1
        out[day] = Asked(target, attempts, now)
    return out


def dump_cursor(asked: dict[dt.date, Asked]) -> str:
    return json.dumps({str(d): asdict(a) for d, a in sorted(asked.items())}, sort_keys=True)


def load_cursor(cursor: object) -> dict[dt.date, Asked]:
    body = json.loads(cursor) if cursor and isinstance(cursor, str) else {}
    return {  # an entry of the earlier cursor format (a bare string) starts over
        key_to_date(d): Asked(**a) for d, a in body.items() if isinstance(a, dict)
    }


def contiguous_ranges(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    ranges: list[tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if ranges and day == ranges[-1][1] + dt.timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def days_in_flight(instance: DagsterInstance) -> set[dt.date]:
    """Days that a queued or running run is materializing (single day or range)."""
    busy: set[dt.date] = set()
    for run in instance.get_runs(filters=RunsFilter(statuses=IN_FLIGHT)):
        tags = run.tags
        if "dagster/partition" in tags:
            busy.add(key_to_date(tags["dagster/partition"]))
        start = tags.get("dagster/asset_partition_range_start")
        end = tags.get("dagster/asset_partition_range_end")
        if start and end:
            day, last = key_to_date(start), key_to_date(end)
            while day <= last:
                busy.add(day)
                day += dt.timedelta(days=1)
    return busy
