"""Which past days changed in the source since they were extracted (the late-data sensor's
decision), as plain functions of fingerprints, runs and the cursor."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from lake_assets.partitions import key_to_date

IN_FLIGHT = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]
COMPARED = ("rows", "max_updated_at", "checksum")


def fingerprint_key(fp: dict[str, object] | None) -> str:
    """A day's fingerprint as one comparable string (an absent day is an empty day)."""
    fp = fp or {"rows": 0, "max_updated_at": None, "checksum": 0}
    return json.dumps([fp.get(k) for k in COMPARED])


def changed_days(
    source: dict[dt.date, dict[str, object]],
    extracted: dict[dt.date, dict[str, object]],
    requested: dict[str, str],
    busy: set[dt.date],
) -> list[dt.date]:
    """Days extracted before whose source fingerprint differs now (late, updated or deleted
    rows), except days being materialized now and changes already requested (the cursor)."""
    out = []
    for day, was in sorted(extracted.items()):
        now = fingerprint_key(source.get(day))
        if now != fingerprint_key(was) and day not in busy and requested.get(str(day)) != now:
            out.append(day)
    return out


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
