"""Freshness: at LAKE_FRESHNESS_DEADLINE, the day that closed last midnight (LAKE_TIMEZONE) must
be published in the catalog.

What is checked is that very day, not "some partition was materialized lately" (a re-run of an
older day must not hide a failed yesterday, which is what Dagster's cron FreshnessPolicy does),
and "yesterday" comes from the tick's local date, so DST days (23 or 25 hours) change nothing.
`freshness_schedule` runs `freshness_job` at the deadline; when the day is missing the run
fails, so `lake_failure_alerts` says so. It is a job of its own rather than an asset check on
`reports_table`, which every materialization and backfill of the table would also run.
"""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dagster import (
    AssetObservation,
    DefaultScheduleStatus,
    JobDefinition,
    OpExecutionContext,
    ScheduleDefinition,
    job,
    op,
)

from lake_assets.catalogs.base import LakeCatalog
from lake_assets.core.days import date_to_path_value
from lake_assets.core.errors import ExplainedFailure
from lake_assets.lake.zones import TABLE

SCHEDULED_AT = "dagster/scheduled_execution_time"


def day_due(at: dt.datetime, timezone: str) -> dt.date:
    """The day that must be published at `at`: the local day before `at`'s local date."""
    return at.astimezone(ZoneInfo(timezone)).date() - dt.timedelta(days=1)


@dataclass(frozen=True)
class Freshness:
    job: JobDefinition
    schedule: ScheduleDefinition


def build_freshness(deadline: dt.time, timezone: str) -> Freshness:
    """`freshness_job` and `freshness_schedule`, at `deadline` (LAKE_FRESHNESS_DEADLINE) in
    `timezone` (LAKE_TIMEZONE)."""

    @op(
        name="yesterday_published",
        description="Fails unless yesterday (LAKE_TIMEZONE) is published in the catalog.",
    )
    def yesterday_published(context: OpExecutionContext, catalog: LakeCatalog) -> None:
        check_yesterday(context, catalog, deadline, timezone)

    @job(
        name="freshness_job",
        description="At LAKE_FRESHNESS_DEADLINE: yesterday is published, or the run fails.",
    )
    def freshness_job() -> None:
        yesterday_published()

    return Freshness(freshness_job, build_freshness_schedule(freshness_job, deadline, timezone))


def check_yesterday(
    context: OpExecutionContext, catalog: LakeCatalog, deadline_at: dt.time, timezone: str
) -> None:
    tag = context.run.tags.get(SCHEDULED_AT)
    at = dt.datetime.fromisoformat(tag) if tag else dt.datetime.now(dt.UTC)
    day = day_due(at, timezone)
    published = catalog.partition(TABLE, date_to_path_value(day))
    deadline = f"{deadline_at:%H:%M} {timezone}"
    context.log_event(
        AssetObservation(
            asset_key="reports_table",
            partition=str(day),
            metadata={"published_by_deadline": published is not None, "deadline": deadline},
        )
    )
    if published is None:
        raise ExplainedFailure(
            f"{day} is not published by the deadline {deadline} — look at that day's runs, or "
            f"materialize it: dagster asset materialize … --partition {day}"
        )
    context.log.info(f"{day} is published ({published.rows:,} readings) by {deadline}")


def build_freshness_schedule(
    job: JobDefinition, deadline: dt.time, timezone: str
) -> ScheduleDefinition:
    return ScheduleDefinition(
        name="freshness_schedule",
        job=job,
        cron_schedule=f"{deadline.minute} {deadline.hour} * * *",
        execution_timezone=timezone,
        default_status=DefaultScheduleStatus.STOPPED,
        description=f"Each day at {deadline:%H:%M} in LAKE_TIMEZONE: yesterday is published.",
    )
