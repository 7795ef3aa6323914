"""The retry and backfill policies shared by the assets."""

from dagster import BackfillPolicy, Backoff, Jitter, RetryPolicy

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

# LAKE_BACKFILL_DAYS_PER_RUN: 0 (the default) runs a range of days as ONE run, which
# `--partition-range` needs; N splits a backfill into runs of N days, which the run queue
# spreads over workers while the `mysql_extract` pool protects the source.
DAILY_BACKFILL = (
    BackfillPolicy.multi_run(_settings.backfill_days_per_run)
    if _settings.backfill_days_per_run
    else BackfillPolicy.single_run()
)
