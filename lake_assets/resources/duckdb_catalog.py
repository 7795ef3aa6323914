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

import duckdb
from pydantic import Field

from lake_assets.errors import ExplainedFailure
from lake_assets.resources.catalog import TABLE_COLUMNS, LakeCatalog, PartitionSpec

DUCKDB_TYPES = {
    "decimal(20,0)": "DECIMAL(20,0)",
    "bigint": "BIGINT",
    "timestamp": "TIMESTAMPTZ",
    "string": "VARCHAR",
    "double": "DOUBLE",
}


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

    def publish(self, table: str, partitions: Sequence[PartitionSpec], run_id: str) -> None:
        """Make `partitions` the published version of their days, in one transaction."""
        now = dt.datetime.now(dt.UTC)
        with self.connect() as conn:
            conn.execute("BEGIN TRANSACTION")
            try:
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
    if not conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'reports'"
    ).fetchone()[0]:
        _define_view(conn, "reports")


def _define_view(conn: duckdb.DuckDBPyConnection, table: str) -> None:
    files = [
        f
        for (files_json,) in conn.execute(
            "SELECT files FROM lake_partitions WHERE table_name = ? ORDER BY date", [table]
        ).fetchall()
        for f in json.loads(files_json)
    ]
    cols = ", ".join(name for name, _ in TABLE_COLUMNS)
    if files:
        listed = ", ".join(_sql_string(f) for f in files)
        body = (
            f"SELECT {cols}, CAST(date AS VARCHAR) AS date FROM read_parquet([{listed}],"
            " hive_partitioning = true, hive_types = {'date': VARCHAR})"
        )
    else:
        typed = ", ".join(f"CAST(NULL AS {DUCKDB_TYPES[t]}) AS {n}" for n, t in TABLE_COLUMNS)
        body = f"SELECT {typed}, CAST(NULL AS VARCHAR) AS date WHERE false"
    conn.execute(f"CREATE OR REPLACE VIEW {table} AS {body}")


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
