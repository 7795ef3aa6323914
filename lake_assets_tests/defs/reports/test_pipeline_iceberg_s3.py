"""LAKE_TABLE_FORMAT=iceberg with LAKE_ROOT=s3://…: the Iceberg tables in Glue, the files and
metadata on S3, through moto's server over HTTP (pyiceberg reads and writes S3 with Arrow's own
client, which the in-process mock does not see)."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest

from lake_assets.catalogs.iceberg import RUN_ID, IcebergCatalogResource
from lake_assets.catalogs.iceberg_maintenance import maintain
from lake_assets.defs.resources import lake_resource
from lake_assets_tests.conftest import HTTP_BUCKET, FakeMySQL, materialize_days
from lake_assets_tests.defs.reports.test_pipeline import ASSETS, DAYS, canned
from lake_assets_tests.report_defs import ALL_CHECKS

ROOT = f"s3://{HTTP_BUCKET}/lake"


def resources(rows: dict) -> dict[str, object]:
    return {
        "mysql": FakeMySQL(canned=json.dumps(rows)),
        "lake": lake_resource(ROOT, "iceberg"),
        "catalog": IcebergCatalogResource(lake_root=ROOT),
    }


def readings_per_day(catalog: IcebergCatalogResource) -> dict[str, int]:
    table = catalog.table("reports")
    assert table is not None
    dates = table.scan(selected_fields=("date",)).to_arrow()["date"].to_pylist()
    return {d: dates.count(d) for d in sorted(set(dates))}


def data_keys() -> set[str]:
    s3 = boto3.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=HTTP_BUCKET, Prefix="lake/data/reports/"
    )
    return {
        f"s3://{HTTP_BUCKET}/{o['Key']}"
        for page in pages
        for o in page.get("Contents", [])
        if o["Key"].endswith(".parquet")
    }


def test_iceberg_tables_in_glue_on_s3(moto_endpoint: str) -> None:
    result = materialize_days(
        [*ASSETS, *ALL_CHECKS], resources(canned(DAYS, reports=300)), DAYS[0], DAYS[-1]
    )
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations() if e.partition)

    glue = boto3.client("glue").get_table(DatabaseName="datalake", Name="reports")["Table"]
    assert glue["Parameters"]["table_type"].upper() == "ICEBERG"
    assert glue["Parameters"]["metadata_location"].startswith(f"{ROOT}/iceberg/reports/metadata/")
    catalog = IcebergCatalogResource(lake_root=ROOT)
    assert readings_per_day(catalog) == {d.replace("-", ""): 1200 for d in DAYS}
    table = catalog.table("reports")
    assert table is not None
    assert table.current_snapshot().summary.additional_properties[RUN_ID] == result.run_id

    # a re-run replaces its day in one commit; the previous version stays readable
    again = materialize_days(ASSETS, resources(canned(DAYS, reports=5)), DAYS[0])
    assert again.success
    assert readings_per_day(catalog)["20260101"] == 20
    assert len(catalog.retained_attempts("reports", "20260101")) == 2
    assert data_keys() == live_files(catalog), "only what the snapshots read is on S3"

    # maintenance: once the old snapshots expire, their files go from S3 too
    table = catalog.table("reports")
    assert table is not None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=8)
    store = lake_resource(ROOT).store()
    done = maintain(table, "reports", store, dt.timedelta(days=7), dt.timedelta(hours=24), later)
    assert done.live_snapshots == 1 and done.removed_data_files == 1
    assert data_keys() == live_files(catalog)
    assert readings_per_day(catalog) == {"20260101": 20, "20260102": 1200, "20260103": 1200}


def live_files(catalog: IcebergCatalogResource) -> set[str]:
    table = catalog.table("reports")
    assert table is not None
    return set(table.inspect.all_data_files().column("file_path").to_pylist())


def test_a_failed_glue_commit_leaves_the_published_day(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Glue refuses the commit's UpdateTable (throttled): the run fails, the table still
    shows the previous version of the day, and the next run publishes the new one."""
    from botocore.exceptions import ClientError
    from pyiceberg.catalog.glue import GlueCatalog

    assert materialize_days(ASSETS, resources(canned(DAYS[:1], reports=3)), DAYS[0]).success
    catalog = IcebergCatalogResource(lake_root=ROOT)
    before = catalog.partitions("reports")

    def throttled(*_: object, **__: object) -> None:
        error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
        raise ClientError(error, "UpdateTable")  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(GlueCatalog, "_update_glue_table", throttled)
        failed = materialize_days(ASSETS, resources(canned(DAYS[:1], reports=7)), DAYS[0])
    assert not failed.success
    assert catalog.partitions("reports") == before
    assert readings_per_day(catalog) == {"20260101": 12}
    assert materialize_days(ASSETS, resources(canned(DAYS[:1], reports=7)), DAYS[0]).success
    assert readings_per_day(catalog) == {"20260101": 28}
