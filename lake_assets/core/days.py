"""Days, in the three spellings the lake uses, converted in one place: Dagster's partition key
`YYYY-MM-DD`, a `datetime.date`, and the `YYYYMMDD` of `date=` in lake paths and catalogs."""

from __future__ import annotations

import datetime as dt

PARTITION_COLUMN = "date"  # the partition column of every daily table: `date=YYYYMMDD`


def key_to_date(key: str) -> dt.date:
    """Dagster's partition key `YYYY-MM-DD` as a date."""
    return dt.date.fromisoformat(key)


def date_to_path_value(day: dt.date) -> str:
    """The value of `date=` in lake paths and in the catalog: `YYYYMMDD`."""
    return day.strftime("%Y%m%d")


def path_value_to_date(value: str) -> dt.date:
    """`YYYYMMDD`, as in `date=` of lake paths and in the catalog, as a date."""
    return dt.datetime.strptime(value, "%Y%m%d").date()
