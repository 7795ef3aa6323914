"""The schedules: shortly after a day closes in LAKE_TIMEZONE, materialize it (the daily job)
and refresh the full copies (at the same time)."""

from dagster import (
    DefaultScheduleStatus,
    ScheduleDefinition,
    build_schedule_from_partitioned_job,
)

from lake_assets.automation.jobs import (
    daily_reports_job,
    full_copies_job,
    iceberg_maintenance_job,
)
from lake_assets.settings import current_settings


def build_daily_schedule(hour: int, minute: int) -> ScheduleDefinition:
    """Each day at hour:minute (LAKE_TIMEZONE, the partitions' timezone), the day just closed;
    the delay after midnight leaves room for the last uploads of the day."""
    return build_schedule_from_partitioned_job(
        daily_reports_job,
        name="daily_reports_schedule",
        hour_of_day=hour,
        minute_of_hour=minute,
        default_status=DefaultScheduleStatus.STOPPED,
        description=f"Each day at {hour:02d}:{minute:02d} in LAKE_TIMEZONE, the day just closed.",
    )


def build_full_copies_schedule(hour: int, minute: int, timezone: str) -> ScheduleDefinition:
    return ScheduleDefinition(
        name="full_copies_schedule",
        job=full_copies_job,
        cron_schedule=f"{minute} {hour} * * *",
        execution_timezone=timezone,
        default_status=DefaultScheduleStatus.STOPPED,
        description=f"Each day at {hour:02d}:{minute:02d} in LAKE_TIMEZONE, a fresh copy of "
        "every full-copy table.",
    )


_settings = current_settings()
_at = _settings.schedule_time
daily_reports_schedule = build_daily_schedule(_at.hour, _at.minute)
full_copies_schedule = build_full_copies_schedule(_at.hour, _at.minute, _settings.timezone)

# Iceberg maintenance once a day, three hours after the daily run starts (the lake's lock keeps
# it from committing in the middle of a publish in any case).
iceberg_maintenance_schedule = ScheduleDefinition(
    name="iceberg_maintenance_schedule",
    job=iceberg_maintenance_job,
    cron_schedule=f"{_at.minute} {(_at.hour + 3) % 24} * * *",
    execution_timezone=_settings.timezone,
    default_status=DefaultScheduleStatus.STOPPED,
    description="Each day, three hours after LAKE_SCHEDULE_TIME: expire old Iceberg snapshots "
    "and delete the files nothing reads.",
)
