"""Retry and freshness policies shared by the assets."""

import datetime as dt

from dagster import Backoff, FreshnessPolicy, Jitter, RetryPolicy

from lake_assets.settings import current_settings

_settings = current_settings()

# Transient failures (lost MySQL connection, lock wait timeout, deadlock, S3/Glue throttling
# beyond boto3's adaptive retries) are retried with exponential backoff and jitter. Permanent
# ones raise Failure(allow_retries=False) (SourceError, AwsError, LakeError) and fail at once.
TRANSIENT_RETRIES = RetryPolicy(
    max_retries=_settings.retry_max,
    delay=_settings.retry_delay_s,
    backoff=Backoff.EXPONENTIAL,
    jitter=Jitter.PLUS_MINUS,
)

_deadline = _settings.freshness_deadline
# Yesterday must be published by LAKE_FRESHNESS_DEADLINE: at each deadline, the table must
# have been materialized since midnight (when the day closed).
TABLE_FRESHNESS = FreshnessPolicy.cron(
    deadline_cron=f"{_deadline.minute} {_deadline.hour} * * *",
    lower_bound_delta=dt.timedelta(hours=_deadline.hour, minutes=_deadline.minute),
    timezone=_settings.timezone,
)
