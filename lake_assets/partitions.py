"""The one daily partitions definition every asset shares, and the key ↔ path conversions."""

from __future__ import annotations

import datetime as dt

from dagster import DailyPartitionsDefinition

from lake_assets.settings import LakeSettings


def build_daily_partitions(settings: LakeSettings) -> DailyPartitionsDefinition:
    return DailyPartitionsDefinition(
        start_date=settings.start_date.isoformat(), timezone=settings.timezone
    )


def key_to_date(key: str) -> dt.date:
    """Dagster's partition key `YYYY-MM-DD` as a date."""
    return dt.date.fromisoformat(key)


def date_to_path_value(day: dt.date) -> str:
    """The value of `date=` in lake paths and in the catalog: `YYYYMMDD`."""
    return day.strftime("%Y%m%d")
