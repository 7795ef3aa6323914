"""reports_daily on S3: a 7-day range leaves each day's rollup published in Glue (Hive
partitions, in-process moto) and in an Iceberg table in Glue (moto's server over HTTP), its
check passing, and its rows equal to the same aggregation over what the catalog publishes
as `reports`."""

from __future__ import annotations

import datetime as dt
import io
import json

import boto3
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from lake_assets.catalogs.glue import GlueCatalogResource
from lake_assets.catalogs.iceberg import IcebergCatalogResource
from lake_assets.defs.resources import lake_resource
from lake_assets_tests.conftest import BUCKET, HTTP_BUCKET, FakeMySQL, materialize_days
from lake_assets_tests.defs.reports.test_pipeline import ASSETS, canned
from lake_assets_tests.report_defs import reports_daily, rollup_matches_readings

WEEK = [str(dt.date(2026, 1, 1) + dt.timedelta(days=i)) for i in range(7)]
ALL = [*ASSETS, reports_daily, rollup_matches_readings]
AGGREGATE = """
SELECT date, device_id, channel, unit, count(value), count(*) - count(value), min(value),
       max(value), round(sum(value), 9), min(ts), max(ts)
FROM readings GROUP BY ALL ORDER BY ALL"""
ROLLED = """
SELECT date, device_id, channel, unit, readings, nulls, min, max, round(sum, 9), first_ts,
       last_ts
FROM rollup ORDER BY ALL"""


def same_aggregation(readings: pa.Table, rollup: pa.Table) -> list[tuple]:
    """The rollup's rows, asserted equal to the aggregation of the readings."""
    with duckdb.connect() as conn:
        conn.register("readings", readings)
        conn.register("rollup", rollup)
        want = conn.sql(AGGREGATE).fetchall()
        got = conn.sql(ROLLED).fetchall()
    assert got == want
    assert {r[0] for r in got} == {d.replace("-", "") for d in WEEK}
    return got


def run(resources: dict):
    result = materialize_days(ALL, resources, WEEK[0], WEEK[-1])
    assert result.success
    checks = [
        e for e in result.get_asset_check_evaluations() if e.check_name == "rollup_matches_readings"
    ]
    assert sorted(e.partition for e in checks if e.partition) == WEEK  # and the run's summary
    assert all(e.passed for e in checks)


def glue_table(table: str) -> pa.Table:
    """Every day Glue publishes for `table`, read from the objects under its locations."""
    glue, s3 = boto3.client("glue"), boto3.client("s3")
    days = []
    for page in glue.get_paginator("get_partitions").paginate(
        DatabaseName="datalake", TableName=table
    ):
        for part in page["Partitions"]:
            prefix = part["StorageDescriptor"]["Location"].removeprefix(f"s3://{BUCKET}/")
            for obj in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []):
                body = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
                day = pq.read_table(io.BytesIO(body))
                days.append(day.append_column("date", pa.array([part["Values"][0]] * len(day))))
    return pa.concat_tables(days, promote_options="permissive")


def test_a_week_on_s3_and_glue(aws: None) -> None:
    root = f"s3://{BUCKET}/lake"
    run(
        {
            "mysql": FakeMySQL(canned=json.dumps(canned(WEEK, reports=4))),
            "lake": lake_resource(root),
            "catalog": GlueCatalogResource(database="datalake", lake_root=root),
        }
    )
    rows = same_aggregation(glue_table("reports"), glue_table("reports_daily"))
    assert len(rows) == 7 * 4 * 2, "each day: four devices (a report each), two channels"


def test_a_week_in_iceberg_on_s3(moto_endpoint: str) -> None:
    root = f"s3://{HTTP_BUCKET}/lake"
    catalog = IcebergCatalogResource(lake_root=root)
    run(
        {
            "mysql": FakeMySQL(canned=json.dumps(canned(WEEK, reports=4))),
            "lake": lake_resource(root, "iceberg"),
            "catalog": catalog,
        }
    )

    def scan(name: str) -> pa.Table:
        table = catalog.table(name)
        assert table is not None
        return table.scan().to_arrow()

    rows = same_aggregation(scan("reports"), scan("reports_daily"))
    assert len(rows) == 7 * 4 * 2
