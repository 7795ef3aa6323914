"""The schedules: shortly after a day closes in LAKE_TIMEZONE, materialize it (the daily job)
and refresh the full copies (at the same time); Iceberg maintenance three hours later."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dagster import (
    DefaultScheduleStatus,
    ScheduleDefinition,
    build_schedule_from_partitioned_job,
)

if TYPE_CHECKING:  # what define_asset_job returns; dagster does not export the name
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )


def build_daily_schedule(
    job: UnresolvedAssetJobDefinition, hour: int, minute: int
) -> ScheduleDefinition:
    """Each day at hour:minute (LAKE_TIMEZONE, the partitions' timezone), the day just closed;
    the delay after midnight leaves room for the last uploads of the day."""
    return build_schedule_from_partitioned_job(
        job,
        name="daily_reports_schedule",
        hour_of_day=hour,
        minute_of_hour=minute,
        default_status=DefaultScheduleStatus.STOPPED,
        description=f"Each day at {hour:02d}:{minute:02d} in LAKE_TIMEZONE, the day just closed.",
    )


def build_full_copies_schedule(
    job: UnresolvedAssetJobDefinition, hour: int, minute: int, timezone: str
) -> ScheduleDefinition:
    return ScheduleDefinition(
        name="full_copies_schedule",
        job=job,
        cron_schedule=f"{minute} {hour} * * *",
        execution_timezone=timezone,
        default_status=DefaultScheduleStatus.STOPPED,
        description=f"Each day at {hour:02d}:{minute:02d} in LAKE_TIMEZONE, a fresh copy of "
        "every full-copy table.",
    )


def build_iceberg_maintenance_schedule(
    job: UnresolvedAssetJobDefinition, hour: int, minute: int, timezone: str
) -> ScheduleDefinition:
    """Once a day, three hours after the daily run starts (the lake's lock keeps it from
    committing in the middle of a publish in any case)."""
    return ScheduleDefinition(
        name="iceberg_maintenance_schedule",
        job=job,
        cron_schedule=f"{minute} {(hour + 3) % 24} * * *",
        execution_timezone=timezone,
        default_status=DefaultScheduleStatus.STOPPED,
        description="Each day, three hours after LAKE_SCHEDULE_TIME: expire old Iceberg "
        "snapshots and delete the files nothing reads.",
    )
