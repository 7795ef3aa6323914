"""What every daily asset shares, made from the settings it is given: the partitions, the retry
policy and the backfill policy."""

from __future__ import annotations

from dataclasses import dataclass

from dagster import (
    BackfillPolicy,
    Backoff,
    DailyPartitionsDefinition,
    Jitter,
    RetryPolicy,
)

from lake_assets.settings import LakeSettings


@dataclass(frozen=True)
class DailyPolicy:
    """The partitions, retries and backfill policy of the daily assets (one value, shared)."""

    partitions: DailyPartitionsDefinition
    retry: RetryPolicy
    backfill: BackfillPolicy


def build_daily_partitions(settings: LakeSettings) -> DailyPartitionsDefinition:
    """The one daily partitions definition every daily asset shares: LAKE_START_DATE on, days
    of LAKE_TIMEZONE."""
    return DailyPartitionsDefinition(
        start_date=settings.start_date.isoformat(), timezone=settings.timezone
    )


def transient_retries(settings: LakeSettings) -> RetryPolicy:
    """Known transient failures (lost MySQL connection, lock wait timeout, deadlock, S3/Glue
    throttling beyond boto3's adaptive retries, a locked DuckDB catalog) are retried with
    exponential backoff and jitter; everything else fails at once
    (errors.only_transient_retried)."""
    return RetryPolicy(
        max_retries=settings.retry_max,
        delay=settings.retry_delay_s,
        backoff=Backoff.EXPONENTIAL,
        jitter=Jitter.PLUS_MINUS,
    )


def daily_policy(settings: LakeSettings) -> DailyPolicy:
    """LAKE_BACKFILL_DAYS_PER_RUN: 0 (the default) runs a range of days as ONE run, which
    `--partition-range` needs; N splits a backfill into runs of N days, which the run queue
    spreads over workers while the `mysql_extract` pool protects the source."""
    days = settings.backfill_days_per_run
    return DailyPolicy(
        partitions=build_daily_partitions(settings),
        retry=transient_retries(settings),
        backfill=BackfillPolicy.multi_run(days) if days else BackfillPolicy.single_run(),
    )
