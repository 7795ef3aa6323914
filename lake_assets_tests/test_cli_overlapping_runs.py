"""Two `dagster asset materialize --partition-range` runs over overlapping days, started
together as separate processes (as two operators or a schedule and a backfill would), on a
local lake and on S3 (moto's server over HTTP) with MariaDB as the source. Both finish; every
day ends as exactly one version that matches the source, nothing superseded is left, and the
table reads."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pymysql
import pytest

from lake_assets.catalogs.base import LakeCatalog
from lake_assets.catalogs.duckdb import DuckDBCatalogResource
from lake_assets.defs.resources import lake_resource
from lake_assets.demo.seed import replace_days
from lake_assets.lake.store import LakeStore
from lake_assets.lake.zones import DATA, DayPath, read_manifest
from lake_assets_tests.conftest import HTTP_BUCKET as BUCKET
from lake_assets_tests.defs.reports.test_pipeline_iceberg_s3 import readings_per_day
from lake_assets_tests.test_cli_range_run import ASSETS, dagster_env, expected_per_day

DAYS = [dt.date(2026, 2, 1) + dt.timedelta(days=i) for i in range(4)]
RANGES = [(DAYS[0], DAYS[2]), (DAYS[1], DAYS[3])]  # overlapping on DAYS[1] and DAYS[2]


def start(env: dict[str, str], first: dt.date, last: dt.date) -> subprocess.Popen:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "dagster", "asset", "materialize"),
            *("-m", "lake_assets.definitions", "--select", ASSETS),
            *("--partition-range", f"{first}...{last}"),
        ],
        env=env,
        cwd=env["DAGSTER_HOME"],  # not the repository: Dagster's CLI loads ./.env over env
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_both(env: dict[str, str]) -> None:
    from dagster import DagsterInstance

    # create the instance's storage once: two first processes would both migrate it
    DagsterInstance.from_config(env["DAGSTER_HOME"]).dispose()
    procs = [start(env, first, last) for first, last in RANGES]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    for proc, out in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out[-4000:]


def assert_each_day_published_as_decoded(catalog: LakeCatalog, store: LakeStore) -> None:
    """Every day's published files are its current decoded attempt's."""
    published = catalog.partitions("reports")
    for day in DAYS:
        data = read_manifest(store, DayPath(DATA, day))
        date = day.strftime("%Y%m%d")
        assert data is not None and published[date].files[0].split("/")[-2] == data.attempt


def parquet_keys_by_day(list_keys, zone: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for key in list_keys(f"{zone}/reports/"):
        if key.endswith(".parquet"):
            date = key.split("date=")[1][:8]
            out.setdefault(date, set()).add(key.split("/")[-2])  # the attempt folder
    return out


@pytest.mark.mysql
@pytest.mark.cli
def test_overlapping_cli_ranges_on_a_local_lake(
    mysql_server: dict, source_db: str, source_conn: pymysql.Connection, tmp_path: Path
) -> None:
    from lake_assets.lake.store import LocalStore

    replace_days(source_conn, DAYS, devices=3)
    lake_root = str(tmp_path / "lake")
    env = dagster_env(mysql_server, source_db, lake_root, tmp_path / "home")
    run_both(env)
    expected = expected_per_day(source_conn)
    _, rows = DuckDBCatalogResource(path=f"{lake_root}/catalog.duckdb").query(
        "SELECT date, count(*) FROM reports GROUP BY 1 ORDER BY 1"
    )
    assert dict(rows) == {d: readings for d, (_, readings, _) in expected.items()}
    store = LocalStore(lake_root)
    for zone in ("raw", "data", "quarantine"):
        attempts = parquet_keys_by_day(store.list_keys, zone)
        assert sorted(attempts) == sorted(expected)
        assert all(len(a) == 1 for a in attempts.values()), f"{zone}: one version a day"


@pytest.mark.mysql
@pytest.mark.cli
def test_overlapping_cli_ranges_into_iceberg(
    mysql_server: dict, source_db: str, source_conn: pymysql.Connection, tmp_path: Path
) -> None:
    """The same two processes on a local Iceberg lake: their commits on the shared days are
    serialized by the lake's lock and ordered by attempt; each day ends as one version, the
    table's, which matches the source."""
    from lake_assets.catalogs.iceberg import IcebergCatalogResource
    from lake_assets.lake.store import LocalStore

    replace_days(source_conn, DAYS, devices=3)
    lake_root = str(tmp_path / "lake")
    env = dagster_env(mysql_server, source_db, lake_root, tmp_path / "home")
    env["LAKE_TABLE_FORMAT"] = "iceberg"
    run_both(env)
    expected = expected_per_day(source_conn)
    catalog = IcebergCatalogResource(lake_root=lake_root)
    _, rows = catalog.query("SELECT date, count(*) FROM reports GROUP BY 1 ORDER BY 1")
    assert dict(rows) == {d: readings for d, (_, readings, _) in expected.items()}
    store = LocalStore(lake_root)
    assert_each_day_published_as_decoded(catalog, store)
    for zone in ("raw", "quarantine"):
        attempts = parquet_keys_by_day(store.list_keys, zone)
        assert all(len(a) == 1 for a in attempts.values()), f"{zone}: one version a day"


@pytest.mark.mysql
@pytest.mark.cli
def test_overlapping_cli_ranges_on_s3(
    mysql_server: dict,
    source_db: str,
    source_conn: pymysql.Connection,
    tmp_path: Path,
    moto_endpoint: str,
) -> None:
    replace_days(source_conn, DAYS, devices=3)
    env = dagster_env(mysql_server, source_db, f"s3://{BUCKET}/lake", tmp_path / "home")
    run_both(env)
    expected = expected_per_day(source_conn)
    glue, s3 = boto3.client("glue"), boto3.client("s3")
    parts = {
        p["Values"][0]: p["StorageDescriptor"]["Location"]
        for p in glue.get_partitions(DatabaseName="datalake", TableName="reports")["Partitions"]
    }
    assert sorted(parts) == sorted(expected)

    def list_keys(prefix: str) -> list[str]:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"lake/{prefix}")
        return [o["Key"].removeprefix("lake/") for p in pages for o in p.get("Contents", [])]

    for zone in ("raw", "data", "quarantine"):
        attempts = parquet_keys_by_day(list_keys, zone)
        assert all(len(a) == 1 for a in attempts.values()), f"{zone}: one version a day"
    data = parquet_keys_by_day(list_keys, "data")
    for date, location in parts.items():
        assert location.rstrip("/").rsplit("/", 1)[-1] in data[date], "the catalog's is the one"
        prefix = location.removeprefix(f"s3://{BUCKET}/")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]]
        rows = sum(
            pq.read_table(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read())).num_rows
            for k in keys
        )
        assert rows == expected[date][1]


@pytest.mark.mysql
@pytest.mark.cli
def test_overlapping_cli_ranges_into_iceberg_on_s3(
    mysql_server: dict,
    source_db: str,
    source_conn: pymysql.Connection,
    tmp_path: Path,
    moto_endpoint: str,
) -> None:
    """The two processes on an S3 Iceberg lake (Glue; moto's server): their commits on the
    shared days go one after the other under the lake's lock (an S3 lease), and each day ends
    as the current decoded version, matching the source."""
    from lake_assets.catalogs.iceberg import IcebergCatalogResource

    replace_days(source_conn, DAYS, devices=3)
    root = f"s3://{BUCKET}/lake"
    env = dagster_env(mysql_server, source_db, root, tmp_path / "home")
    env["LAKE_TABLE_FORMAT"] = "iceberg"
    run_both(env)
    expected = expected_per_day(source_conn)
    catalog = IcebergCatalogResource(lake_root=root)
    assert readings_per_day(catalog) == {d: n for d, (_, n, _) in expected.items()}
    assert_each_day_published_as_decoded(catalog, lake_resource(root).store())
