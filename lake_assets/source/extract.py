"""Reading a copy from MySQL: the table judged against its entry, then one consistent snapshot
holding both the server's checksum and the streamed rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pymysql

from lake_assets.core.days import PARTITION_COLUMN
from lake_assets.core.errors import ExplainedFailure
from lake_assets.core.fingerprints import RowChecksum
from lake_assets.core.tables import TableSpec
from lake_assets.source.client import Extract, MySQLResource, end_snapshot
from lake_assets.source.sql import Window, checksum_sql, day_window, select_sql
from lake_assets.source.types import SourceColumn, UnsupportedColumnType

DATE_TYPES = {"date", "datetime", "timestamp"}


class CopyEntryError(ExplainedFailure):
    """The source does not have what the copies file's entry says (not retried)."""


@dataclass(frozen=True)
class SourceTable:
    """A copied table as the source declares it, checked against its entry."""

    spec: TableSpec
    columns: list[SourceColumn]
    order_by: tuple[str, ...]

    @property
    def checksum_columns(self) -> list[SourceColumn]:
        """What the row checksum covers: the entry's checksum columns, else every column."""
        wanted = self.spec.checksum_columns
        return [c for c in self.columns if c.name in wanted] if wanted else self.columns

    @property
    def date_column(self) -> SourceColumn | None:
        return next((c for c in self.columns if c.name == self.spec.date_column), None)

    def window(self, day: dt.date | None, timezone: str) -> Window:
        if day is None:
            return Window()
        assert self.date_column is not None
        return day_window(self.date_column, day, timezone)


def judge_source(
    mysql: MySQLResource, conn: pymysql.connections.Connection, spec: TableSpec
) -> SourceTable:
    """The table's declared columns and order; fails at once, naming the copies file's entry,
    when the table or its date column is not what the entry says."""

    def fail(problem: str) -> CopyEntryError:
        return CopyEntryError(f"{spec.label}: {problem}")

    columns = mysql.columns_of(conn, spec.table)
    if not columns:
        return_hint = "fix the entry or set MYSQL_DATABASE"
        raise fail(f"table `{mysql.database}.{spec.table}` does not exist — {return_hint}")
    by_name = {c.name: c for c in columns}
    for column in columns:
        try:
            _ = column.arrow_type
        except UnsupportedColumnType as e:
            raise fail(str(e)) from None
    if spec.daily:
        date_column = by_name.get(spec.date_column or "")
        if date_column is None:
            raise fail(f"`{spec.table}` has no column `{spec.date_column}` (date_column)")
        if date_column.data_type.lower() not in DATE_TYPES:
            raise fail(
                f"date_column `{spec.date_column}` is {date_column.column_type}, not a DATE, "
                "DATETIME or TIMESTAMP"
            )
        if any(c.name.lower() == PARTITION_COLUMN for c in columns):
            raise fail(
                f"`{spec.table}` has a column `{PARTITION_COLUMN}`, the lake's partition "
                "column; copy it with mode: full, or from a view that renames it"
            )
    for key, names in (("sort_by", spec.sort_by), ("checksum_columns", spec.checksum_columns)):
        missing = [c for c in names if c not in by_name]
        if missing:
            raise fail(f"{key} names column(s) {', '.join(missing)} that `{spec.table}` lacks")
    order_by = spec.sort_by or tuple(mysql.primary_key(conn, spec.table))
    return SourceTable(spec, columns, order_by)


def server_checksum(
    cur: pymysql.cursors.Cursor, source: SourceTable, window: Window
) -> RowChecksum:
    """The server's checksum of the rows in `window` (count, BIT_XOR and SUM of CRC32)."""
    cur.execute(checksum_sql(source.spec.table, source.checksum_columns, window), window.args)
    [(rows, xor, total)] = cur.fetchall()
    return RowChecksum(int(rows), int(xor or 0), int(total or 0))


@contextmanager
def extract(
    mysql: MySQLResource, spec: TableSpec, day: dt.date | None, timezone: str
) -> Iterator[tuple[SourceTable, Extract[RowChecksum]]]:
    """The table as the source declares it, and the day's (or the whole table's) rows with the
    server's checksum of exactly those rows, from one consistent snapshot."""
    with mysql.connect() as conn, mysql.explain_errors():
        source = judge_source(mysql, conn, spec)
        window = source.window(day, timezone)
        with mysql.cursor(conn) as cur:
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            expected = server_checksum(cur, source, window)
        zero_dates: dict[str, int] = {}
        yield (
            source,
            Extract(
                columns=source.columns,
                expected=expected,
                batches=mysql.stream(
                    conn,
                    source.columns,
                    select_sql(spec.table, source.columns, window, source.order_by),
                    window.args,
                    zero_dates,
                ),
                zero_dates=zero_dates,
            ),
        )
        # a failure above closes the connection, which ends the snapshot: no rollback to fail
        end_snapshot(conn)
