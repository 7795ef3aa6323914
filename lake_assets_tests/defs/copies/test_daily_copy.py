"""Daily copies on the real MariaDB: a day is [00:00, 24:00) of LAKE_TIMEZONE (23 and 25 hours
on DST days) for DATETIME (read as UTC), TIMESTAMP and DATE columns; each day of a range run
shows its own figures; a re-run replaces the day; entries the source contradicts fail at once."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pymysql
import pytest
from dagster import AssetKey, DagsterInstance

from lake_assets.catalogs.base import LakeCatalog
from lake_assets.core.tables import CopyMode, TableSpec
from lake_assets.defs.resources import lake_resource
from lake_assets.source.client import MySQLResource
from lake_assets_tests.conftest import materialize_days
from lake_assets_tests.defs.reports.test_pipeline import (  # each test on both table formats
    FORMAT,
    catalog_of,
    iceberg,
    table_format,  # noqa: F401
)
from lake_assets_tests.report_defs import copy_defs

pytestmark = pytest.mark.mysql

BERLIN = "Europe/Berlin"
US = dt.timedelta(microseconds=1)
# UTC bounds of Berlin days: spring forward (23 h) and fall back (25 h)
SPRING = dt.date(2026, 3, 29), dt.datetime(2026, 3, 28, 23), dt.datetime(2026, 3, 29, 22)
AUTUMN = dt.date(2026, 10, 25), dt.datetime(2026, 10, 24, 22), dt.datetime(2026, 10, 25, 23)


def boundary_rows(start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Two rows in the day (its first and last microsecond), one either side of it."""
    return [start - US, start, end - US, end]


def seed_events(conn: pymysql.Connection) -> None:
    with conn.cursor() as cur:
        cur.execute("SET SESSION time_zone = '+00:00'")
        cur.execute(
            "CREATE TABLE events (id INT PRIMARY KEY, at DATETIME(6) NOT NULL,"
            " ts TIMESTAMP(6) NULL, d DATE, note VARCHAR(20))"
        )
        rows = []
        for _, start, end in (SPRING, AUTUMN):
            for at in boundary_rows(start, end):
                rows.append((len(rows) + 1, at, at, at.date(), f"at {at:%H:%M:%S.%f}"))
        cur.executemany("INSERT INTO events VALUES (%s, %s, %s, %s, %s)", rows)


def run(
    mysql: MySQLResource,
    root: str,
    spec: TableSpec,
    first: str,
    last: str | None = None,
    instance: DagsterInstance | None = None,
):
    asset, check = copy_defs(spec, LAKE_TIMEZONE=BERLIN)
    catalog = catalog_of(root)
    lake = lake_resource(root, FORMAT["table"])
    resources = {"mysql": mysql, "lake": lake, "catalog": catalog}
    kwargs = {"instance": instance} if instance else {}
    return materialize_days([asset, check], resources, first, last, **kwargs), catalog


def per_day(catalog: LakeCatalog, table: str = "events") -> dict[str, list[int]]:
    _, rows = catalog.query(f"SELECT date, list(id ORDER BY id) FROM {table} GROUP BY date")
    return dict(rows)


@pytest.mark.parametrize("column", ["at", "ts"])
def test_a_day_is_the_local_day_also_on_dst_days(
    source_conn: pymysql.Connection, mysql_resource: MySQLResource, lake_root: str, column: str
) -> None:
    seed_events(source_conn)
    spec = TableSpec("events", CopyMode.DAILY, date_column=column)
    for day, *_ in (SPRING, AUTUMN):
        before, after = day - dt.timedelta(days=1), day + dt.timedelta(days=1)
        result, catalog = run(
            mysql_resource, lake_root, spec, before.isoformat(), after.isoformat()
        )
        assert result.success
        assert all(c.passed for c in result.get_asset_check_evaluations())
    # ids 1-4 are the spring rows, 5-8 the autumn ones: the first and last microsecond of the
    # local day belong to it, the microsecond before to the day before, the end to the next.
    assert per_day(catalog) == {
        "20260328": [1],
        "20260329": [2, 3],
        "20260330": [4],
        "20261024": [5],
        "20261025": [6, 7],
        "20261026": [8],
    }


def test_a_date_column_selects_its_day(
    source_conn: pymysql.Connection, mysql_resource: MySQLResource, lake_root: str
) -> None:
    seed_events(source_conn)
    spec = TableSpec("events", CopyMode.DAILY, date_column="d")
    result, catalog = run(mysql_resource, lake_root, spec, "2026-03-28", "2026-03-29")
    assert result.success
    assert per_day(catalog) == {"20260328": [1, 2], "20260329": [3, 4]}


def test_each_day_of_a_range_run_shows_its_own_figures(
    source_conn: pymysql.Connection, mysql_resource: MySQLResource, lake_root: str
) -> None:
    seed_events(source_conn)
    spec = TableSpec("events", CopyMode.DAILY, date_column="d")
    instance = DagsterInstance.ephemeral()
    result, _ = run(mysql_resource, lake_root, spec, "2026-03-27", "2026-03-29", instance)
    assert result.success
    key = AssetKey(["copies", "events"])
    records = instance.fetch_materializations(key, limit=10).records
    assert len(records) == 3  # one materialization per day, no duplicates
    figures = {
        r.partition_key: (
            r.asset_materialization.metadata["dagster/row_count"].value,
            r.asset_materialization.metadata["dagster/partition_row_count"].value,
        )
        for r in records
    }
    assert figures == {"2026-03-27": (0, 0), "2026-03-28": (2, 2), "2026-03-29": (2, 2)}


def test_a_rerun_replaces_the_day_and_removes_the_old_attempt(
    source_conn: pymysql.Connection, mysql_resource: MySQLResource, lake_root: str
) -> None:
    seed_events(source_conn)
    spec = TableSpec("events", CopyMode.DAILY, date_column="d")
    assert run(mysql_resource, lake_root, spec, "2026-03-28")[0].success
    with source_conn.cursor() as cur:
        cur.execute("UPDATE events SET note = 'changed' WHERE id = 1")
        cur.execute("DELETE FROM events WHERE id = 2")
    result, catalog = run(mysql_resource, lake_root, spec, "2026-03-28")
    assert result.success and all(c.passed for c in result.get_asset_check_evaluations())
    _, rows = catalog.query("SELECT id, note FROM events")
    assert rows == [(1, "changed")]
    attempts = [p for p in Path(lake_root, "data/events/date=20260328").iterdir() if p.is_dir()]
    # an Iceberg table still reads the replaced version (time travel) until maintenance
    assert len(attempts) == (2 if iceberg() else 1)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            TableSpec("nope", CopyMode.FULL, origin="copies.yaml, entry 3 (nope)"),
            r"copies.yaml, entry 3 \(nope\): table `lake_test_\w+\.nope` does not exist",
        ),
        (
            TableSpec(
                "events",
                CopyMode.DAILY,
                date_column="missing",
                origin="copies.yaml, entry 1 (events)",
            ),
            r"copies.yaml, entry 1 \(events\): `events` has no column `missing`",
        ),
        (
            TableSpec(
                "events", CopyMode.DAILY, date_column="note", origin="copies.yaml, entry 1 (events)"
            ),
            r"entry 1 \(events\): date_column `note` is varchar\(20\), not a DATE",
        ),
        (
            TableSpec("events", CopyMode.FULL, sort_by=("nope",), origin="f, entry 1 (events)"),
            r"sort_by names column\(s\) nope",
        ),
    ],
)
def test_an_entry_the_source_contradicts_fails_at_once(
    source_conn: pymysql.Connection,
    mysql_resource: MySQLResource,
    lake_root: str,
    spec: TableSpec,
    message: str,
) -> None:
    seed_events(source_conn)
    result, _ = run(mysql_resource, lake_root, spec, None if not spec.daily else "2026-03-28")
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert len(failures) == 1  # not retried
    assert re.search(message, failures[0].step_failure_data.error.message)
    assert not any(e.event_type_value == "STEP_RESTARTED" for e in result.all_events)


def test_wide_rows_come_in_batches_bounded_in_bytes(
    source_conn: pymysql.Connection, mysql_resource: MySQLResource
) -> None:
    """Rows of 1 MB arrive a few at a time, rows of a few bytes thousands at a time: the
    extract's memory is bounded in bytes, whatever the width of the table."""
    from lake_assets.source.extract import judge_source
    from lake_assets.source.sql import Window, select_sql

    with source_conn.cursor() as cur:
        cur.execute("CREATE TABLE wide (id INT PRIMARY KEY, body LONGBLOB)")
        for i in range(40):
            cur.execute("INSERT INTO wide VALUES (%s, REPEAT('x', 1048576))", (i,))
        cur.execute("CREATE TABLE narrow (id INT PRIMARY KEY)")
        cur.execute("INSERT INTO narrow SELECT seq FROM seq_1_to_20000")
    mysql = mysql_resource.model_copy(update={"batch_bytes": 4 * 1024 * 1024})
    for table, most_rows in (("wide", 5), ("narrow", 5000)):
        spec = TableSpec(table, CopyMode.FULL)
        with mysql.connect() as conn:
            source = judge_source(mysql, conn, spec)
            sql = select_sql(table, source.columns, Window(), source.order_by)
            batches = list(mysql.stream(conn, source.columns, sql, (), {}))
        assert sum(b.num_rows for b in batches) == (40 if table == "wide" else 20000)
        assert max(b.nbytes for b in batches) <= 2 * mysql.batch_bytes
        assert max(b.num_rows for b in batches) <= most_rows
