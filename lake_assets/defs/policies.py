"""What every daily asset shares, made from the values it is given: the partitions, the retry
policy and the backfill policy."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dagster import (
    BackfillPolicy,
    Backoff,
    DailyPartitionsDefinition,
    Jitter,
    RetryPolicy,
)


@dataclass(frozen=True)
class DailyPolicy:
    """The partitions, retries and backfill policy of the daily assets (one value, shared)."""

    partitions: DailyPartitionsDefinition
    retry: RetryPolicy
    backfill: BackfillPolicy


def build_daily_partitions(start: dt.date, timezone: str) -> DailyPartitionsDefinition:
    """The one daily partitions definition every daily asset shares: LAKE_START_DATE on, days
    of LAKE_TIMEZONE."""
    return DailyPartitionsDefinition(start_date=start.isoformat(), timezone=timezone)


def transient_retries(retries: int, delay_s: float) -> RetryPolicy:
    """Known transient failures (lost MySQL connection, lock wait timeout, deadlock, S3/Glue
    throttling beyond boto3's adaptive retries, a locked DuckDB catalog) are retried with
    exponential backoff and jitter; everything else fails at once
    (errors.only_transient_retried)."""
    return RetryPolicy(
        max_retries=retries,
        delay=delay_s,
        backoff=Backoff.EXPONENTIAL,
        jitter=Jitter.PLUS_MINUS,
    )


def daily_policy(
    *, start: dt.date, timezone: str, retries: int, retry_delay_s: float, days_per_run: int
) -> DailyPolicy:
    """Days from `start` in `timezone`; known transient failures retried `retries` times
    (LAKE_RETRY_MAX, LAKE_RETRY_DELAY_S). `days_per_run` (LAKE_BACKFILL_DAYS_PER_RUN): 0 runs
    a range of days as ONE run, which `--partition-range` needs; N splits a backfill into runs
    of N days, which the run queue spreads over workers while the `mysql_extract` pool
    protects the source."""
    return DailyPolicy(
        partitions=build_daily_partitions(start, timezone),
        retry=transient_retries(retries, retry_delay_s),
        backfill=(
            BackfillPolicy.multi_run(days_per_run) if days_per_run else BackfillPolicy.single_run()
        ),
    )
