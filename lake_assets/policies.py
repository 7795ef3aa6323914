"""The retry policy shared by the assets."""

from dagster import Backoff, Jitter, RetryPolicy

from lake_assets.settings import current_settings

_settings = current_settings()

# Known transient failures (lost MySQL connection, lock wait timeout, deadlock, S3/Glue
# throttling beyond boto3's adaptive retries, a locked DuckDB catalog) are retried with
# exponential backoff and jitter; everything else fails at once (errors.only_transient_retried).
TRANSIENT_RETRIES = RetryPolicy(
    max_retries=_settings.retry_max,
    delay=_settings.retry_delay_s,
    backoff=Backoff.EXPONENTIAL,
    jitter=Jitter.PLUS_MINUS,
)
