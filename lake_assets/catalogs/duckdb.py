"""The embedded catalog: a DuckDB file whose view `reports` covers exactly the published days.

The published days live in the table `lake_partitions` (one row per table and day, with the
day's files), the DuckDB equivalent of Glue partitions. Publishing updates those rows and
redefines the view over their files in one transaction, so a query sees each day once, in its
old or its new version. DuckDB allows one writer process at a time: a publish that finds the
file locked retries with backoff (reports_table also runs in the `lake_catalog` pool).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from lake_assets.catalogs.base import (
    REPORTS_SHAPE,
    LakeCatalog,
    PartitionSpec,
    TableShape,
    as_shape,
)
from lake_assets.catalogs.types import duckdb_type
from lake_assets.core.errors import ExplainedFailure
from lake_assets.lake.store import LakeStore

if TYPE_CHECKING:
    import duckdb


class CatalogLocked(ExplainedFailure):
    """Another process holds the DuckDB catalog: transient, retried."""


class DuckDBCatalogResource(LakeCatalog):
    """The DuckDB catalog at `<LAKE_ROOT>/catalog.duckdb`."""

    path: str

    def describe(self) -> str:
        return f"duckdb:{self.path}"

    lock_timeout_s: float = Field(default=120.0, description="how long to wait for the writer lock")

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        import duckdb  # here, not at the top: a run that publishes nothing never loads it

        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.05
        if read_only and not Path(self.path).exists():
            read_only = False  # a first reader creates the (empty) catalog
        while True:
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                conn = duckdb.connect(self.path, read_only=read_only)
                break
            except duckdb.IOException as e:
                if "lock" not in str(e).lower() or time.monotonic() > deadline:
                    raise CatalogLocked(
                        f"the catalog {self.path} is locked by another process "
                        f"for over {self.lock_timeout_s:.0f}s: {e}",
                        retryable=True,
                    ) from None
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 2.0)
        try:
            if not read_only:
                _ensure_schema(conn)
            yield conn
        finally:
            conn.close()

    def publish(
        self, table: TableShape | str, partitions: Sequence[PartitionSpec], run_id: str
    ) -> None:
        """Make `partitions` the published version of their days, in one transaction."""
        shape = as_shape(table)
        table = shape.name
        now = dt.datetime.now(dt.UTC)
        with self.connect() as conn:
            conn.execute("BEGIN TRANSACTION")
            try:
                conn.execute(
                    "INSERT OR REPLACE INTO lake_tables (table_name, columns, partitioned)"
                    " VALUES (?, ?, ?)",
                    [table, json.dumps(shape.columns), shape.partitioned],
                )
                for p in partitions:
                    conn.execute(
                        "INSERT OR REPLACE INTO lake_partitions"
                        " (table_name, date, location, files, rows, run_id, published_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [table, p.date, p.location, json.dumps(p.files), p.rows, run_id, now],
                    )
                _define_view(conn, table)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def partitions(self, table: str) -> dict[str, PartitionSpec]:
        """The published days of `table`, by YYYYMMDD."""
        with self.connect(read_only=True) as conn:
            if not _has_partitions_table(conn):
                return {}
            rows = conn.execute(
                "SELECT date, location, files, rows FROM lake_partitions WHERE table_name = ?",
                [table],
            ).fetchall()
        return {r[0]: PartitionSpec(r[0], r[1], json.loads(r[2]), r[3]) for r in rows}

    def partition(self, table: str, date: str) -> PartitionSpec | None:
        with self.connect(read_only=True) as conn:
            if not _has_partitions_table(conn):
                return None
            row = conn.execute(
                "SELECT date, location, files, rows FROM lake_partitions"
                " WHERE table_name = ? AND date = ?",
                [table, date],
            ).fetchone()
        return PartitionSpec(row[0], row[1], json.loads(row[2]), row[3]) if row else None

    def published_rows(self, table: str, spec: PartitionSpec, store: LakeStore) -> int:
        """Counted through the view, as a user's query would."""
        where = f" WHERE date = {sql_string(spec.date)}" if spec.date else ""
        _, [(rows,)] = self.query(f"SELECT count(*) FROM {sql_identifier(table)}{where}")
        return int(rows)

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        with self.connect(read_only=True) as conn:
            cur = conn.execute(sql)
            names = [d[0] for d in cur.description or []]
            return names, cur.fetchall()


def _has_partitions_table(conn: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'lake_partitions'"
        ).fetchone()[0]
    )


def _ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS lake_partitions ("
        " table_name VARCHAR, date VARCHAR, location VARCHAR, files VARCHAR, rows BIGINT,"
        " run_id VARCHAR, published_at TIMESTAMPTZ, PRIMARY KEY (table_name, date))"
    )
    conn.execute(
        "CREATE TABLE IF NOT EXISTS lake_tables ("
        " table_name VARCHAR PRIMARY KEY, columns VARCHAR, partitioned BOOLEAN)"
    )
    if not conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
        [REPORTS_SHAPE.name],
    ).fetchone()[0]:
        _define_view(conn, REPORTS_SHAPE.name)


def _shape(conn: duckdb.DuckDBPyConnection, table: str) -> TableShape:
    row = conn.execute(
        "SELECT columns, partitioned FROM lake_tables WHERE table_name = ?", [table]
    ).fetchone()
    if row is None:
        return as_shape(table)  # reports, in a catalog made before lake_tables existed
    return TableShape(table, tuple(tuple(c) for c in json.loads(row[0])), row[1])


def _define_view(conn: duckdb.DuckDBPyConnection, table: str) -> None:
    """The view over the published files: every declared column (a column added later reads
    as null in older days), plus `date` for a daily table."""
    shape = _shape(conn, table)
    files = [
        f
        for (files_json,) in conn.execute(
            "SELECT files FROM lake_partitions WHERE table_name = ? ORDER BY date", [table]
        ).fetchall()
        for f in json.loads(files_json)
    ]
    cols = ", ".join(sql_identifier(name) for name, _ in shape.columns)
    date = ", CAST(date AS VARCHAR) AS date" if shape.partitioned else ""
    if files:
        listed = ", ".join(sql_string(f) for f in files)
        options = (
            "hive_partitioning = true, hive_types = {'date': VARCHAR}, union_by_name = true"
            if shape.partitioned
            else "hive_partitioning = false"
        )
        body = f"SELECT {cols}{date} FROM read_parquet([{listed}], {options})"
    else:
        typed = ", ".join(
            f"CAST(NULL AS {duckdb_type(t)}) AS {sql_identifier(n)}" for n, t in shape.columns
        )
        date = ", CAST(NULL AS VARCHAR) AS date" if shape.partitioned else ""
        body = f"SELECT {typed}{date} WHERE false"
    conn.execute(f"CREATE OR REPLACE VIEW {sql_identifier(table)} AS {body}")


def sql_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
