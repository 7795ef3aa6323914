"""late_copies_sensor on the real MariaDB: a copied day whose source rows change afterwards
is requested (only that table, only that day); an unchanged one is not; a request is not
repeated during its backoff; running it makes the day current again."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pymysql
import pytest
from dagster import build_sensor_context, instance_for_test

from lake_assets.catalogs.duckdb import DuckDBCatalogResource
from lake_assets.core.tables import CopyMode, TableSpec
from lake_assets.defs.automation.late_data import build_late_copies_sensor
from lake_assets.defs.resources import lake_resource
from lake_assets.project import Project
from lake_assets.source.client import MySQLResource
from lake_assets_tests.conftest import materialize_days
from lake_assets_tests.report_defs import TEST_ENV

pytestmark = pytest.mark.mysql

YESTERDAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
DAYS = [YESTERDAY - dt.timedelta(days=2), YESTERDAY - dt.timedelta(days=1), YESTERDAY]
SPEC = TableSpec("events", CopyMode.DAILY, date_column="d")
PROJECT = Project.from_env(TEST_ENV)


def resources(mysql: MySQLResource, root: str) -> dict[str, object]:
    return {
        "mysql": mysql,
        "lake": lake_resource(root),
        "catalog": DuckDBCatalogResource(path=str(Path(root, "catalog.duckdb"))),
    }


def evaluate(instance, mysql: MySQLResource, root: str, cursor: str | None = None):
    settings = PROJECT.settings
    sensor = build_late_copies_sensor(
        [SPEC],
        PROJECT.daily.partitions,
        settings.late_lookback_days,
        settings.late_sensor_interval_s,
        settings.timezone,
    )
    with build_sensor_context(
        instance=instance, cursor=cursor, resources=resources(mysql, root)
    ) as context:
        return sensor(context)


def test_a_changed_copied_day_is_requested_again(
    source_conn: pymysql.Connection, mysql_resource: MySQLResource, lake_root: str
) -> None:
    with source_conn.cursor() as cur:
        cur.execute("CREATE TABLE events (id INT PRIMARY KEY, d DATE, v DOUBLE)")
        cur.executemany(
            "INSERT INTO events VALUES (%s, %s, %s)",
            [(i, day, i / 3) for i, day in enumerate(DAYS * 2)],
        )
    asset, check = PROJECT.copy_defs(SPEC)
    first, last = DAYS[0].isoformat(), DAYS[-1].isoformat()
    assert materialize_days(
        [asset, check], resources(mysql_resource, lake_root), first, last
    ).success
    with instance_for_test() as instance:
        result = evaluate(instance, mysql_resource, lake_root)
        assert not result.run_requests, "every copied day is current"
        with source_conn.cursor() as cur:  # a late row, and a changed value, on the middle day
            cur.execute("INSERT INTO events VALUES (100, %s, 1.0)", (DAYS[1],))
            cur.execute("UPDATE events SET v = 42 WHERE id = 1")
        result = evaluate(instance, mysql_resource, lake_root, result.cursor)
        [request] = result.run_requests
        assert request.partition_key == DAYS[1].isoformat()
        assert request.asset_selection == [SPEC.asset_key]
        again = evaluate(instance, mysql_resource, lake_root, result.cursor)
        assert not again.run_requests, "asked for: quiet during the backoff"
        assert set(json.loads(again.cursor)) == {"events"}
    # Running what was requested makes the day current.
    assert materialize_days(
        [asset, check], resources(mysql_resource, lake_root), request.partition_key
    ).success
    with instance_for_test() as instance:
        assert not evaluate(instance, mysql_resource, lake_root).run_requests
