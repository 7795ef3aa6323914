"""The SQL a copy sends: its day's window, its order, and its server-side row checksum.

The checksum of a set of rows is (COUNT, BIT_XOR, SUM) of CRC32 over each row's key: every
column rendered as text, NULL as `\\N`, joined with `|`. XOR alone would let duplicated rows
cancel out; the SUM does not. `checksums.py` computes the same key from the lake's files,
so the reconciliation compares what the server had in the snapshot with what was stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from lake_assets.source.types import (
    GEOMETRIES,
    STRINGS,
    SourceColumn,
    without_zero_date_sql,
)

NULL_TEXT = "\\N"
SEPARATOR = "|"


@dataclass(frozen=True)
class Window:
    """The WHERE clause selecting a copy's rows: the whole table, or one day."""

    sql: str = "TRUE"
    args: tuple[object, ...] = ()


def day_window(column: SourceColumn, day: dt.date, timezone: str) -> Window:
    """The day's rows: `[00:00, 24:00)` of `day` in `timezone` (23 or 25 hours on DST days).
    DATETIME values are taken as UTC, as the session's time_zone is UTC."""
    name = f"`{column.name}`"
    if column.data_type.lower() == "date":
        return Window(f"{name} = %s", (day,))
    tz = ZoneInfo(timezone)

    def utc_midnight(d: dt.date) -> dt.datetime:
        local = dt.datetime.combine(d, dt.time(0), tz)
        return local.astimezone(dt.UTC).replace(tzinfo=None)

    return Window(
        f"{name} >= %s AND {name} < %s",
        (utc_midnight(day), utc_midnight(day + dt.timedelta(days=1))),
    )


def checksum_text_sql(column: SourceColumn) -> str:
    """The column as the checksum's text, the way the lake can render it back."""
    name, t = f"`{column.name}`", column.data_type.lower()
    if column.temporal:
        expr = without_zero_date_sql(name)  # zero dates are null in the lake
    elif t in ("bit", "year"):
        expr = f"{name} + 0"
    elif t == "float":
        expr = f"CAST({name} AS DOUBLE)"
    elif t in GEOMETRIES:
        expr = f"ST_AsBinary({name})"
    elif t in STRINGS:
        expr = f"CONVERT({name} USING utf8mb4)"
    else:
        expr = name
    return f"IFNULL({expr}, '\\\\N')"


def row_key_sql(columns: Sequence[SourceColumn]) -> str:
    return "CRC32(CONCAT_WS('|', " + ", ".join(checksum_text_sql(c) for c in columns) + "))"


def checksum_sql(table: str, columns: Sequence[SourceColumn], window: Window) -> str:
    key = row_key_sql(columns)
    return f"SELECT COUNT(*), BIT_XOR({key}), SUM({key}) FROM `{table}` WHERE {window.sql}"


def select_sql(
    table: str, columns: Sequence[SourceColumn], window: Window, order_by: Sequence[str]
) -> str:
    names = ", ".join(c.select_sql for c in columns)
    order = f" ORDER BY {', '.join(f'`{c}`' for c in order_by)}" if order_by else ""
    return f"SELECT {names} FROM `{table}` WHERE {window.sql}{order}"
