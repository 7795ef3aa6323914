"""LAKE_S3_KMS_KEY_ID, under moto: every object the lake writes — data, manifests, lock
leases, multipart uploads — asks for SSE-KMS with the key, and so do Athena's results. Every
S3 and Athena request of the process is recorded as it is sent."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import boto3
import pytest
from botocore.client import BaseClient

from lake_assets.catalogs.glue import GlueCatalogResource
from lake_assets.defs.resources import lake_resource
from lake_assets.lake import s3 as s3_module
from lake_assets_tests.conftest import BUCKET, FakeMySQL, materialize_days
from lake_assets_tests.defs.reports.test_pipeline import ASSETS, DAYS, canned

ROOT = f"s3://{BUCKET}/lake"
WRITES = {"PutObject", "CreateMultipartUpload", "CopyObject"}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, dict]]]:
    """Every API call any boto3 client of this process makes: (operation, parameters)."""
    calls: list[tuple[str, dict]] = []
    make_api_call = BaseClient._make_api_call

    def recording(self: BaseClient, operation: str, params: dict) -> object:
        calls.append((operation, dict(params)))
        return make_api_call(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    yield calls


def test_every_object_the_lake_writes_asks_for_the_key(
    aws: None, sent: list[tuple[str, dict]], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
    lake = lake_resource(ROOT, kms_key_id=key)
    resources = {
        "mysql": FakeMySQL(canned=json.dumps(canned(DAYS, reports=3))),
        "lake": lake,
        "catalog": GlueCatalogResource(database="datalake", lake_root=ROOT, kms_key_id=key),
    }
    assert materialize_days(ASSETS, resources, DAYS[0], DAYS[-1]).success
    # a file above the multipart threshold goes up in parts
    monkeypatch.setattr(s3_module, "MULTIPART_BYTES", 5 * 1024 * 1024)
    with lake.store().writing("big/object.bin") as path:
        path.write_bytes(os.urandom(11 * 1024 * 1024))

    writes = [(op, p) for op, p in sent if op in WRITES]
    kinds = {op for op, _ in writes}
    assert {"PutObject", "CreateMultipartUpload"} <= kinds
    assert sum(op == "UploadPart" for op, _ in sent) >= 2
    keys = {p["Key"] for _, p in writes}
    assert any(k.endswith("_manifest.json") for k in keys)
    assert any("/_locks/" in k or k.startswith("lake/_locks/") for k in keys)
    assert any(k.endswith(".parquet") for k in keys)
    for op, params in writes:
        assert (params.get("ServerSideEncryption"), params.get("SSEKMSKeyId")) == (
            "aws:kms",
            key,
        ), (op, params["Key"])
    # and S3 stored each object under that key
    s3 = boto3.client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for o in page.get("Contents", []):
            assert s3.head_object(Bucket=BUCKET, Key=o["Key"])["SSEKMSKeyId"] == key, o["Key"]


def test_athena_results_are_encrypted_with_the_key(aws: None, sent: list[tuple[str, dict]]) -> None:
    catalog = GlueCatalogResource(database="datalake", lake_root=ROOT, kms_key_id="alias/lake")
    catalog.query("SELECT 1")
    [params] = [p for op, p in sent if op == "StartQueryExecution"]
    assert params["ResultConfiguration"] == {
        "OutputLocation": f"{ROOT}/_athena/",
        "EncryptionConfiguration": {"EncryptionOption": "SSE_KMS", "KmsKey": "alias/lake"},
    }


def test_without_a_key_the_bucket_default_applies(aws: None, sent: list[tuple[str, dict]]) -> None:
    store = lake_resource(ROOT).store()
    store.put_bytes("plain.json", b"{}")
    [params] = [p for op, p in sent if op == "PutObject"]
    assert "ServerSideEncryption" not in params and "SSEKMSKeyId" not in params
