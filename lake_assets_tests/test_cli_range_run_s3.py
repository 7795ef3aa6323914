"""The documented range run with LAKE_ROOT=s3://…, against moto's server over HTTP (a separate
AWS endpoint, reached through AWS_ENDPOINT_URL as a real one would be), with MariaDB as the
source; then `lake-assets query` through Athena's API."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pymysql
import pytest

from lake_assets.demo.seed import replace_days
from lake_assets_tests.conftest import HTTP_BUCKET as BUCKET
from lake_assets_tests.conftest import REPO
from lake_assets_tests.defs.reports.test_pipeline_iceberg_s3 import readings_per_day
from lake_assets_tests.test_cli_range_run import (
    DAYS,
    dagster_env,
    expected_per_day,
    materialize_range,
)


@pytest.mark.mysql
@pytest.mark.cli
def test_cli_range_run_on_s3_over_http(
    mysql_server: dict,
    source_db: str,
    source_conn: pymysql.Connection,
    tmp_path: Path,
    moto_endpoint: str,
) -> None:
    replace_days(source_conn, DAYS, devices=4)
    env = dagster_env(mysql_server, source_db, f"s3://{BUCKET}/lake", tmp_path / "home")
    materialize_range(env, DAYS[0], DAYS[-1])
    materialize_range(env, DAYS[0], DAYS[-1])
    assert_glue_holds_the_source(source_conn)

    # `lake-assets query` goes to Athena; moto serves the result we queue for it.
    queued = {
        "results": [
            {
                "rows": [
                    {"Data": [{"VarCharValue": "date"}, {"VarCharValue": "n"}]},
                    {"Data": [{"VarCharValue": "20260101"}, {"VarCharValue": "42"}]},
                ],
                "column_info": [
                    {"Name": "date", "Type": "varchar"},
                    {"Name": "n", "Type": "bigint"},
                ],
            }
        ]
    }
    urllib.request.urlopen(
        urllib.request.Request(
            f"{moto_endpoint}/moto-api/static/athena/query-results",
            data=json.dumps(queued).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lake_assets.cli",
            "query",
            "SELECT date, count(*) AS n FROM reports GROUP BY 1",
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].split() == ["date", "n"]
    assert proc.stdout.splitlines()[2].split() == ["20260101", "42"]
    [execution] = boto3.client("athena").list_query_executions()["QueryExecutionIds"]
    detail = boto3.client("athena").get_query_execution(QueryExecutionId=execution)
    assert detail["QueryExecution"]["QueryExecutionContext"]["Database"] == "datalake"


def assert_glue_holds_the_source(source_conn: pymysql.Connection) -> None:
    """Glue has a partition per source day, and each holds exactly that day's readings, in
    files that are all (and only) what the day's manifest lists."""
    glue, s3 = boto3.client("glue"), boto3.client("s3")
    parts = {
        p["Values"][0]: p["StorageDescriptor"]["Location"]
        for p in glue.get_partitions(DatabaseName="datalake", TableName="reports")["Partitions"]
    }
    expected = expected_per_day(source_conn)
    assert sorted(parts) == sorted(expected)
    for date, location in parts.items():
        prefix = location.removeprefix(f"s3://{BUCKET}/")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]]
        rows = sum(
            pq.read_table(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read())).num_rows
            for k in keys
        )
        assert rows == expected[date][1], f"{date}: the partition holds the day's readings"
        day = [
            o["Key"]
            for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"lake/data/reports/date={date}/")[
                "Contents"
            ]
        ]
        assert sorted(day) == sorted([*keys, f"lake/data/reports/date={date}/_manifest.json"])


@pytest.mark.mysql
@pytest.mark.cli
def test_cli_range_run_into_iceberg_on_s3_over_http(
    mysql_server: dict,
    source_db: str,
    source_conn: pymysql.Connection,
    tmp_path: Path,
    moto_endpoint: str,
) -> None:
    """The range run with LAKE_TABLE_FORMAT=iceberg and LAKE_ROOT=s3://…, twice: an Iceberg
    table in Glue whose current snapshot holds each day's readings once."""
    from lake_assets.catalogs.iceberg import IcebergCatalogResource

    replace_days(source_conn, DAYS, devices=4)
    root = f"s3://{BUCKET}/lake"
    env = dagster_env(mysql_server, source_db, root, tmp_path / "home")
    env["LAKE_TABLE_FORMAT"] = "iceberg"
    materialize_range(env, DAYS[0], DAYS[-1])
    materialize_range(env, DAYS[0], DAYS[-1])

    glue = boto3.client("glue").get_table(DatabaseName="datalake", Name="reports")["Table"]
    assert glue["Parameters"]["table_type"].upper() == "ICEBERG"
    catalog = IcebergCatalogResource(lake_root=root)
    expected = expected_per_day(source_conn)
    assert readings_per_day(catalog) == {d: n for d, (_, n, _) in expected.items()}
    table = catalog.table("reports")
    assert table is not None
    ops = [x.summary.operation.value for x in table.snapshots()]
    assert ops == ["append", "overwrite"], "two commits, one snapshot each"
