"""`daily_reports_schedule`: shortly after a day closes in LAKE_TIMEZONE, materialize it."""

from dagster import DefaultScheduleStatus, build_schedule_from_partitioned_job

from lake_assets.automation.jobs import daily_reports_job

# Minutes after midnight (LAKE_TIMEZONE) to wait for late uploads of the day just closed.
SCHEDULE_MINUTE = 30

daily_reports_schedule = build_schedule_from_partitioned_job(
    daily_reports_job,
    name="daily_reports_schedule",
    minute_of_hour=SCHEDULE_MINUTE,
    hour_of_day=0,
    default_status=DefaultScheduleStatus.STOPPED,
    description="Each day at 00:30 in LAKE_TIMEZONE, the day just closed.",
)
