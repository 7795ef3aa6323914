"""GlueCatalogResource under moto: table, partitions, schema updates, batch errors."""

from __future__ import annotations

import boto3
import pytest

from lake_assets.catalogs import glue as glue_module
from lake_assets.catalogs.base import PartitionSpec
from lake_assets.catalogs.glue import GlueCatalogResource
from lake_assets.lake.aws import AwsError
from lake_assets_tests.conftest import BUCKET

ROOT = f"s3://{BUCKET}/lake"


def catalog() -> GlueCatalogResource:
    return GlueCatalogResource(database="datalake", lake_root=ROOT)


def spec(date: str, attempt: str, rows: int = 3) -> PartitionSpec:
    location = f"{ROOT}/data/reports/date={date}/{attempt}/"
    return PartitionSpec(date, location, [location + "part-00000.parquet"], rows)


def test_publish_creates_database_table_and_partitions(aws: None) -> None:
    catalog().publish("reports", [spec("20260101", "a1"), spec("20260102", "a1")], "run1")
    glue = boto3.client("glue")
    table = glue.get_table(DatabaseName="datalake", Name="reports")["Table"]
    sd = table["StorageDescriptor"]
    assert [(c["Name"], c["Type"]) for c in sd["Columns"]] == [
        ("report_id", "decimal(20,0)"),
        ("device_id", "bigint"),
        ("ts", "timestamp"),
        ("channel", "string"),
        ("unit", "string"),
        ("value", "double"),
    ]
    assert table["PartitionKeys"] == [{"Name": "date", "Type": "string"}]
    assert sd["Location"] == f"{ROOT}/data/reports/"
    assert sd["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    parts = catalog().partitions("reports")
    assert sorted(parts) == ["20260101", "20260102"]
    assert parts["20260101"].location == spec("20260101", "a1").location
    assert parts["20260101"].rows == 3


def test_republish_switches_the_location(aws: None) -> None:
    catalog().publish("reports", [spec("20260101", "a1")], "run1")
    catalog().publish("reports", [spec("20260101", "a2", rows=5)], "run2")
    parts = catalog().partitions("reports")
    assert list(parts) == ["20260101"]
    assert parts["20260101"].location.endswith("/a2/")
    assert parts["20260101"].rows == 5


def test_many_days_are_published_in_batches(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(glue_module, "BATCH_WRITE", 4)
    days = [f"202601{d:02d}" for d in range(1, 11)]
    catalog().publish("reports", [spec(d, "a1") for d in days], "run1")
    catalog().publish("reports", [spec(d, "a2") for d in days], "run2")
    parts = catalog().partitions("reports")
    assert sorted(parts) == days
    assert all(p.location.endswith("/a2/") for p in parts.values())


def test_declared_schema_change_updates_the_table(aws: None) -> None:
    glue = boto3.client("glue")
    c = catalog()
    assert c.ensure_table(glue, "reports") == "created"
    assert c.ensure_table(glue, "reports") == "unchanged"
    old = c.table_input("reports")
    old["StorageDescriptor"]["Columns"] = old["StorageDescriptor"]["Columns"][:-1]
    glue.update_table(DatabaseName="datalake", TableInput=old)
    assert c.ensure_table(glue, "reports") == "updated"
    columns = glue.get_table(DatabaseName="datalake", Name="reports")["Table"]["StorageDescriptor"][
        "Columns"
    ]
    assert columns[-1] == {"Name": "value", "Type": "double"}


def test_partition_errors_in_the_response_body_are_raised(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = glue_module.aws_client

    def failing_client(config: object, service: str):
        client = real(config, service)
        if service == "glue":
            client.batch_create_partition = lambda **_: {
                "Errors": [
                    {
                        "PartitionValues": ["20260101"],
                        "ErrorDetail": {
                            "ErrorCode": "InternalServiceException",
                            "ErrorMessage": "boom",
                        },
                    }
                ]
            }
        return client

    monkeypatch.setattr(glue_module, "aws_client", failing_client)
    with pytest.raises(AwsError, match=r"could not create 1 partition.*date=20260101.*boom"):
        catalog().publish("reports", [spec("20260101", "a1")], "run1")
