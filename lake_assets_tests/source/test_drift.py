"""Schema drift on the real MariaDB: an added nullable column flows into new raw days; a
dropped or retyped column stops the extract with a clear message and writes nothing."""

from __future__ import annotations

import datetime as dt

import pyarrow.parquet as pq
import pymysql
import pytest
from dagster import DagsterInstance, materialize

from lake_assets.defs.resources import lake_resource
from lake_assets.demo.seed import replace_days
from lake_assets.lake.store import LocalStore
from lake_assets.lake.zones import RAW, DayPath, read_manifest
from lake_assets.source.client import MySQLResource
from lake_assets_tests.report_defs import raw_reports

DAY = dt.date(2026, 2, 1)


def extract(mysql: MySQLResource, lake_root: str):
    return materialize(
        [raw_reports],
        partition_key=str(DAY),
        instance=DagsterInstance.ephemeral(),
        resources={"mysql": mysql, "lake": lake_resource(lake_root)},
        raise_on_error=False,
    )


def failure_message(result) -> str:
    [failure] = [e for e in result.all_events if e.is_step_failure]
    return str(failure.step_failure_data.error)


@pytest.mark.mysql
def test_schema_drift(
    mysql_resource: MySQLResource, source_conn: pymysql.Connection, lake_root: str
) -> None:
    replace_days(source_conn, [DAY], devices=2)
    store = LocalStore(lake_root)
    assert extract(mysql_resource, lake_root).success
    first = read_manifest(store, DayPath(RAW, DAY))

    with source_conn.cursor() as cur:
        cur.execute("ALTER TABLE reports ADD COLUMN firmware VARCHAR(20) NULL")
        cur.execute("UPDATE reports SET firmware = '2.1.0'")
    assert extract(mysql_resource, lake_root).success
    second = read_manifest(store, DayPath(RAW, DAY))
    assert "firmware" in second.columns and "firmware" not in first.columns
    table = pq.read_table(store.path(second.files[0].key))
    assert set(table.column("firmware").to_pylist()) == {"2.1.0"}

    with source_conn.cursor() as cur:
        cur.execute("ALTER TABLE reports MODIFY encoded TEXT NULL")
    result = extract(mysql_resource, lake_root)
    assert not result.success
    assert "column `encoded` changed type from mediumtext to text" in failure_message(result)
    assert read_manifest(store, DayPath(RAW, DAY)) == second, "nothing was switched"

    with source_conn.cursor() as cur:
        cur.execute("ALTER TABLE reports MODIFY encoded MEDIUMTEXT NULL")
        cur.execute("ALTER TABLE reports DROP COLUMN created_at")
    result = extract(mysql_resource, lake_root)
    assert not result.success
    assert "column `created_at` (datetime(3)) was dropped" in failure_message(result)
    assert len(list(store.path(DayPath(RAW, DAY).prefix).rglob("*.parquet"))) == 1
