"""Which past days the late-data sensor asks for again, as plain functions of fingerprints,
runs and the cursor.

A day is judged by what is *published*: the source fingerprint of the raw extract that the
catalog's version of the day was decoded from. So a day whose raw zone is current but whose
decode or publish failed still counts as changed. What was asked for is remembered per day
(the cursor); a request whose run failed, leaving the day changed, is asked again after a
backoff that doubles with each attempt.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from lake_assets.core.days import key_to_date

IN_FLIGHT = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]
COMPARED = ("rows", "max_updated_at", "checksum")
MAX_BACKOFF_S = 6 * 3600


def fingerprint_key(fp: dict[str, object] | None) -> str:
    """A day's fingerprint as one comparable string (an absent day is an empty day)."""
    fp = fp or {"rows": 0, "max_updated_at": None, "checksum": 0}
    return json.dumps([fp.get(k) for k in COMPARED])


@dataclass(frozen=True)
class Asked:
    """What the cursor remembers of a day: the source version last asked for, how many times,
    and when last."""

    target: str
    attempts: int
    at: float


def source_key(source: dict[dt.date, str], day: dt.date) -> str:
    """The day's source fingerprint key (a day without rows has the empty day's)."""
    return source.get(day, fingerprint_key(None))


def is_current(day: dt.date, source: dict[dt.date, str], published: dict[dt.date, str]) -> bool:
    """The published version of the day is what the source has now."""
    return published.get(day) == source_key(source, day)


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
        target = source_key(source, day)
        prev = asked.get(day)
        if prev and prev.target == target and now - prev.at < backoff_s(prev.attempts, interval_s):
            continue
        out.append(day)
    return out


def ask(asked: dict[dt.date, Asked], days: list[dt.date], source: dict[dt.date, str], now: float):
    """The cursor after asking for `days`."""
    out = dict(asked)
    for day in days:
        target = source_key(source, day)
        prev = asked.get(day)
        attempts = prev.attempts + 1 if prev and prev.target == target else 1
        out[day] = Asked(target, attempts, now)
    return out


def dump_cursor(asked: dict[dt.date, Asked]) -> str:
    return json.dumps({str(d): asdict(a) for d, a in sorted(asked.items())}, sort_keys=True)


def load_cursor(cursor: str | None) -> dict[dt.date, Asked]:
    body = json.loads(cursor) if cursor else {}
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
