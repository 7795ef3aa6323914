"""The three assets on an S3 lake with the Glue catalog, under moto: objects at the contract's
keys, readable Parquet, one partition per day pointing at exactly that day's data, re-runs
that change nothing visible, and failures (S3 or Glue) that leave the published day intact."""

from __future__ import annotations

import io
import json

import boto3
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from lake_assets.catalogs import glue as glue_module
from lake_assets.catalogs.glue import GlueCatalogResource
from lake_assets.defs.resources import lake_resource
from lake_assets.lake.s3 import S3Store
from lake_assets_tests.conftest import BUCKET, FakeMySQL, materialize_days
from lake_assets_tests.defs.reports.test_pipeline import ASSETS, DAYS, canned

ROOT = f"s3://{BUCKET}/lake"


def run(rows: dict, first: str, last: str | None = None):
    resources = {
        "mysql": FakeMySQL(canned=json.dumps(rows)),
        "lake": lake_resource(ROOT),
        "catalog": GlueCatalogResource(database="datalake", lake_root=ROOT),
    }
    return materialize_days(ASSETS, resources, first, last)


def objects(prefix: str) -> dict[str, bytes]:
    s3 = boto3.client("s3")
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for o in page.get("Contents", []):
            out[o["Key"]] = s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
    return out


def partitions() -> dict[str, str]:
    glue = boto3.client("glue")
    pages = glue.get_paginator("get_partitions").paginate(
        DatabaseName="datalake", TableName="reports"
    )
    return {
        p["Values"][0]: p["StorageDescriptor"]["Location"]
        for page in pages
        for p in page["Partitions"]
    }


def day_rows(location: str) -> int:
    """Readings under a partition's location, read back from the Parquet objects."""
    prefix = location.removeprefix(f"s3://{BUCKET}/")
    return sum(
        pq.read_table(io.BytesIO(body)).num_rows
        for key, body in objects(prefix).items()
        if key.endswith(".parquet")
    )


def test_range_run_on_s3_and_glue(aws: None) -> None:
    assert run(canned(DAYS, reports=3), DAYS[0], DAYS[-1]).success
    parts = partitions()
    assert sorted(parts) == ["20260101", "20260102", "20260103"]
    for date, location in parts.items():
        assert location.startswith(f"{ROOT}/data/reports/date={date}/")
        assert day_rows(location) == 12, "the partition holds exactly that day's readings"
        for zone in ("raw", "data", "quarantine"):
            keys = sorted(objects(f"lake/{zone}/reports/date={date}/"))
            assert keys[-1] == f"lake/{zone}/reports/date={date}/_manifest.json"
            assert len([k for k in keys if k.endswith(".parquet")]) == 1
    table = pq.read_table(
        io.BytesIO(
            next(
                body
                for key, body in objects(parts["20260101"].removeprefix(f"s3://{BUCKET}/")).items()
                if key.endswith(".parquet")
            )
        )
    )
    assert [f.name for f in table.schema] == [
        "report_id",
        "device_id",
        "ts",
        "channel",
        "unit",
        "value",
    ]
    assert "date" not in table.schema.names, "the partition column lives in the path only"


def test_rerun_gives_the_same_visible_state(aws: None) -> None:
    rows = canned(DAYS, reports=3)
    assert run(rows, DAYS[0], DAYS[-1]).success
    first = partitions()
    assert run(rows, DAYS[0], DAYS[-1]).success
    second = partitions()
    assert sorted(second) == sorted(first)
    assert all(second[d] != first[d] for d in first), "each day moved to its new attempt"
    assert {d: day_rows(loc) for d, loc in second.items()} == {d: 12 for d in first}
    for date in first:  # superseded attempts are gone
        data = [k for k in objects(f"lake/data/reports/date={date}/") if k.endswith(".parquet")]
        assert len(data) == 1 and data[0].startswith(second[date].removeprefix(f"s3://{BUCKET}/"))


def test_failed_s3_write_leaves_the_published_day(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(canned(DAYS[:1], reports=3), DAYS[0]).success
    before = partitions()
    published = objects("lake/data/")
    real_put = S3Store.put_if

    def failing_put(self: S3Store, key: str, data: bytes, version: str | None) -> str | None:
        if key.startswith("data/") and key.endswith("_manifest.json"):
            raise ClientError(
                {"Error": {"Code": "InternalError", "Message": "injected"}}, "PutObject"
            )
        return real_put(self, key, data, version)

    monkeypatch.setattr(S3Store, "put_if", failing_put)
    assert not run(canned(DAYS[:1], reports=7), DAYS[0]).success
    assert partitions() == before
    assert objects("lake/data/") == published, "the failed attempt's objects were removed"
    assert day_rows(before["20260101"]) == 12


def test_failed_glue_update_leaves_the_published_day(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(canned(DAYS[:1], reports=3), DAYS[0]).success
    before = partitions()
    real = glue_module.aws_client

    def throttled(config: object, service: str):
        client = real(config, service)
        if service == "glue":

            def fail(**_: object) -> None:
                raise ClientError(
                    {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                    "BatchUpdatePartition",
                )

            client.batch_update_partition = fail
        return client

    monkeypatch.setattr(glue_module, "aws_client", throttled)
    result = run(canned(DAYS[:1], reports=7), DAYS[0])
    assert not result.success
    assert partitions() == before
    assert day_rows(before["20260101"]) == 12, "the old attempt is still there for Athena"
