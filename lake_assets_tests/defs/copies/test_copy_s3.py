"""Copies on an S3 lake with the Glue catalog (moto): a full copy is an unpartitioned Glue
table whose location is exactly the latest copy; a daily copy has one partition per day;
both pass their reconciliation; stored rows that differ from the source fail it."""

from __future__ import annotations

import io

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pymysql
import pytest

from lake_assets.catalogs.glue import GlueCatalogResource
from lake_assets.core.tables import CopyMode, TableSpec
from lake_assets.defs.resources import lake_resource
from lake_assets.source.client import MySQLResource
from lake_assets_tests.conftest import BUCKET, materialize_days
from lake_assets_tests.report_defs import copy_defs

pytestmark = pytest.mark.mysql
ROOT = f"s3://{BUCKET}/lake"


def seed(conn: pymysql.Connection) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE sites (id BIGINT UNSIGNED PRIMARY KEY, name VARCHAR(40),"
            " opened DATETIME(3), price DECIMAL(65,30), blob_ BLOB)"
        )
        cur.executemany(
            "INSERT INTO sites VALUES (%s, %s, %s, %s, %s)",
            [
                (2**64 - 1, "Köln 😀", "2026-05-01 10:00:00.5", "1.5", b"\x00\x01"),
                (7, None, "2026-05-02 00:00:00", None, None),
                (8, "Wien", "2026-05-02 23:59:59.999", "-0.000000000000000000000000000001", b""),
            ],
        )


def run(mysql: MySQLResource, spec: TableSpec, partition: str | None = None):
    asset, check = copy_defs(spec, LAKE_ROOT=ROOT)
    resources = {
        "mysql": mysql,
        "lake": lake_resource(ROOT),
        "catalog": GlueCatalogResource(database="datalake", lake_root=ROOT),
    }
    return materialize_days([asset, check], resources, partition)  # type: ignore[arg-type]


def glue_table(name: str) -> dict:
    return boto3.client("glue").get_table(DatabaseName="datalake", Name=name)["Table"]


def keys(prefix: str) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def test_a_full_copy_is_the_glue_tables_location_and_is_replaced_whole(
    aws: None, source_conn: pymysql.Connection, mysql_resource: MySQLResource
) -> None:
    seed(source_conn)
    spec = TableSpec("sites", CopyMode.FULL)
    first = run(mysql_resource, spec)
    assert first.success and all(c.passed for c in first.get_asset_check_evaluations())
    table = glue_table("sites")
    assert table["PartitionKeys"] == []
    columns = {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}
    assert columns == {
        "id": "decimal(20,0)",
        "name": "string",
        "opened": "timestamp",
        "price": "string",
        "blob_": "binary",
    }
    location = table["StorageDescriptor"]["Location"]
    with source_conn.cursor() as cur:
        cur.execute("DELETE FROM sites WHERE id = 7")
    second = run(mysql_resource, spec)
    assert second.success and all(c.passed for c in second.get_asset_check_evaluations())
    new_location = glue_table("sites")["StorageDescriptor"]["Location"]
    assert new_location != location
    prefix = new_location.removeprefix(f"s3://{BUCKET}/")
    [part] = [k for k in keys(prefix) if k.endswith(".parquet")]
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=part)["Body"].read()
    assert sorted(pq.read_table(io.BytesIO(body))["id"].to_pylist()) == [8, 2**64 - 1]
    # only the published copy remains, with its manifest
    attempts = {k.split("/")[3] for k in keys("lake/data/sites/") if k.count("/") > 3}
    assert attempts == {prefix.rstrip("/").rsplit("/", 1)[-1]}


def test_a_daily_copy_has_a_partition_per_day(
    aws: None, source_conn: pymysql.Connection, mysql_resource: MySQLResource
) -> None:
    seed(source_conn)
    spec = TableSpec("sites", CopyMode.DAILY, date_column="opened")
    for day in ("2026-05-01", "2026-05-02"):
        result = run(mysql_resource, spec, day)
        assert result.success and all(c.passed for c in result.get_asset_check_evaluations())
    partitions = boto3.client("glue").get_partitions(DatabaseName="datalake", TableName="sites")
    assert {p["Values"][0]: p["Parameters"]["rows"] for p in partitions["Partitions"]} == {
        "20260501": "1",
        "20260502": "2",
    }


def test_stored_rows_that_differ_from_the_source_fail_the_check(
    aws: None, source_conn: pymysql.Connection, mysql_resource: MySQLResource
) -> None:
    seed(source_conn)
    spec = TableSpec("sites", CopyMode.FULL)
    assert run(mysql_resource, spec).success
    # Someone rewrites the published file with one value changed (same row count).
    location = glue_table("sites")["StorageDescriptor"]["Location"]
    [part] = [k for k in keys(location.removeprefix(f"s3://{BUCKET}/")) if k.endswith(".parquet")]
    s3 = boto3.client("s3")
    table = pq.read_table(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=part)["Body"].read()))
    names = table["name"].to_pylist()
    table = table.set_column(1, "name", pa.array([n and n.upper() for n in names]))
    out = io.BytesIO()
    pq.write_table(table, out)
    s3.put_object(Bucket=BUCKET, Key=part, Body=out.getvalue())

    from lake_assets.defs.copies.reconcile import copy_matches_source

    store = lake_resource(ROOT).store()
    verdict = copy_matches_source(
        store, GlueCatalogResource(database="datalake", lake_root=ROOT), spec, None
    )
    assert not verdict.passed
    assert "the stored rows differ from the source's" in verdict.description
    assert verdict.metadata["stored"]["rows"] == verdict.metadata["source"]["rows"] == 3


def test_full_and_daily_copies_into_iceberg_tables_in_glue(
    moto_endpoint: str, source_conn: pymysql.Connection, mysql_resource: MySQLResource
) -> None:
    """LAKE_TABLE_FORMAT=iceberg on S3 (moto's server: pyiceberg writes S3 with Arrow's own
    client): a full copy is an unpartitioned Iceberg table replaced whole by each commit, a
    daily copy one partitioned by `date`; both pass their reconciliation."""
    from lake_assets.catalogs.iceberg import IcebergCatalogResource
    from lake_assets_tests.conftest import HTTP_BUCKET

    seed(source_conn)
    root = f"s3://{HTTP_BUCKET}/lake"
    catalog = IcebergCatalogResource(lake_root=root)

    def copy(spec: TableSpec, partition: str | None = None):
        asset, check = copy_defs(spec, LAKE_ROOT=root)
        lake = lake_resource(root, "iceberg")
        resources = {"mysql": mysql_resource, "lake": lake, "catalog": catalog}
        result = materialize_days([asset, check], resources, partition)  # type: ignore[arg-type]
        assert result.success and all(c.passed for c in result.get_asset_check_evaluations())

    copy(TableSpec("sites", CopyMode.FULL))
    with source_conn.cursor() as cur:
        cur.execute("DELETE FROM sites WHERE id = 7")
    copy(TableSpec("sites", CopyMode.FULL))
    sites = catalog.table("sites")
    assert sites is not None and sites.spec().is_unpartitioned()
    got = sites.scan().to_arrow()
    assert sorted(got["id"].to_pylist()) == [8, 2**64 - 1], "the second copy, whole"
    assert {f.name: str(f.field_type) for f in sites.schema().fields} == {
        "id": "decimal(20, 0)",
        "name": "string",
        "opened": "timestamptz",
        "price": "string",  # DECIMAL(65,30): its exact text
        "blob_": "binary",
    }
    assert "0.000000000000000000000000000001" in " ".join(p for p in got["price"].to_pylist() if p)

    daily = TableSpec("events_by_day", CopyMode.DAILY, date_column="opened")
    with source_conn.cursor() as cur:
        cur.execute("CREATE TABLE events_by_day AS SELECT * FROM sites")
    for day in ("2026-05-01", "2026-05-02"):
        copy(daily, day)
    published = catalog.partitions("events_by_day")
    assert {d: p.rows for d, p in published.items()} == {"20260501": 1, "20260502": 1}
