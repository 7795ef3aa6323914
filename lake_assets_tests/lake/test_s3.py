"""S3Store under moto: keys under the root's prefix, multipart uploads, batched deletes, and
errors that name the bucket and the fix."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from lake_assets.defs.resources import lake_resource
from lake_assets.lake import s3 as s3_module
from lake_assets.lake.aws import AwsError, explain_client_error
from lake_assets.lake.s3 import S3Store
from lake_assets_tests.conftest import BUCKET


def store() -> S3Store:
    return S3Store(f"s3://{BUCKET}/lake", boto3.client("s3"))


def test_round_trip_under_the_prefix(aws: None) -> None:
    s = store()
    s.put_bytes("raw/reports/date=20260101/_manifest.json", b"{}")
    with s.writing("raw/reports/date=20260101/a1/part-00000.parquet") as path:
        path.write_bytes(b"0123456789")
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert sorted(keys) == [
        "lake/raw/reports/date=20260101/_manifest.json",
        "lake/raw/reports/date=20260101/a1/part-00000.parquet",
    ]
    assert s.get_bytes("raw/reports/date=20260101/_manifest.json") == b"{}"
    assert s.get_bytes("raw/nothing") is None
    assert s.list_sizes("raw/reports/") == {
        "raw/reports/date=20260101/_manifest.json": 2,
        "raw/reports/date=20260101/a1/part-00000.parquet": 10,
    }
    with s.reading("raw/reports/date=20260101/a1/part-00000.parquet") as path:
        assert path.read_bytes() == b"0123456789"
    assert s.uri("raw/x") == f"s3://{BUCKET}/lake/raw/x"


def test_large_files_upload_in_parts(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_module, "MULTIPART_BYTES", 5 * 1024 * 1024)
    s = store()
    data = bytes(range(256)) * (12 * 1024 * 1024 // 256)
    with s.writing("big/part.parquet") as path:
        path.write_bytes(data)
    head = boto3.client("s3").head_object(Bucket=BUCKET, Key="lake/big/part.parquet")
    assert head["ETag"].strip('"').endswith("-3"), "a 12 MB file went up in three parts"
    assert s.get_bytes("big/part.parquet") == data


def test_listing_and_deleting_beyond_one_page(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_module, "DELETE_BATCH", 7)
    s = store()
    keys = [f"many/{i:04d}" for i in range(1005)]  # over one list page (1,000)
    client = boto3.client("s3")
    for k in keys:
        client.put_object(Bucket=BUCKET, Key=f"lake/{k}", Body=b"x")
    assert s.list_keys("many/") == keys
    assert s.delete_keys(keys[:20]) == 20
    assert s.list_keys("many/") == keys[20:]


def test_missing_bucket_names_the_bucket_and_setting(aws: None) -> None:
    with pytest.raises(AwsError, match=r"s3://no-such-bucket/.*does not exist.*LAKE_ROOT"):
        lake_resource("s3://no-such-bucket/lake").store()


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("AccessDenied", 403, "access denied — the pipeline's role needs s3:PutObject"),
        ("ExpiredToken", 400, "credentials are invalid or expired"),
        ("PermanentRedirect", 301, "the bucket is in eu-west-1 — set AWS_REGION=eu-west-1"),
    ],
)
def test_client_errors_say_what_to_fix(code: str, status: int, expected: str) -> None:
    error = ClientError(
        {
            "Error": {"Code": code, "Message": "m"},
            "ResponseMetadata": {
                "HTTPStatusCode": status,
                "HTTPHeaders": {"x-amz-bucket-region": "eu-west-1"},
            },
        },
        "PutObject",
    )
    message = explain_client_error(error, "write", "s3://b/k", "s3:PutObject")
    assert message.startswith("cannot write s3://b/k: ")
    assert expected in message


def test_scratch_files_left_by_a_killed_run_are_swept(aws: None) -> None:
    import os
    import time

    s3_module.scratch_dir().mkdir(exist_ok=True)
    old = s3_module.scratch_dir() / "lake-upload-killed.parquet"
    fresh = s3_module.scratch_dir() / "lake-upload-running.parquet"
    for path in (old, fresh):
        path.write_bytes(b"x")
    stale = time.time() - s3_module.SCRATCH_MAX_AGE_S - 60
    os.utime(old, (stale, stale))
    store()  # a new store (each run makes one) sweeps
    assert not old.exists(), "debris of a kill -9 is removed"
    assert fresh.exists(), "a transfer in progress is left alone"
    fresh.unlink()
