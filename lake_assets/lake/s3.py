"""The lake on S3 (LAKE_ROOT=s3://bucket/prefix), through dagster-aws's S3 client.

Large files go up in parts (s3transfer's multipart upload above `MULTIPART_BYTES`); listing
is paginated and deletes are batched 1,000 keys a call, with per-key errors surfaced. With a
KMS key (LAKE_S3_KMS_KEY_ID), every object written — data, manifests, lock leases, and each
multipart upload (its parts take the upload's encryption) — asks for SSE-KMS with that key.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from lake_assets.lake.aws import AwsError, explain_aws_errors

MULTIPART_BYTES = 64 * 1024 * 1024
DELETE_BATCH = 1000
# A lock is a lease object: a holder that dies leaves it, and it is taken over once expired.
LOCK_LEASE_S = 600
LOCK_WAIT_S = 900
# S3 answers a lost conditional write with 412, or 409 when two such writes overlap.
_CONDITION_LOST = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` → ("bucket", "some/prefix")."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, prefix.strip("/")


class S3Store:
    """LakeStore on S3: keys are relative to the root's prefix."""

    def __init__(self, root: str, client: Any, kms_key_id: str = "") -> None:
        self.root = root
        self.bucket, self.prefix = split_s3_uri(root)
        self.client = client
        self.encryption = (
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id} if kms_key_id else {}
        )
        self.transfer = TransferConfig(
            multipart_threshold=MULTIPART_BYTES, multipart_chunksize=MULTIPART_BYTES
        )
        sweep_stale_scratch()

    def key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.key(key)}"

    def _errors(self, action: str, key: str, permission: str):
        return explain_aws_errors(action, self.uri(key), permission)

    @contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        with _scratch_file(key, "lake-upload-") as path:
            yield path
            with self._errors("write", key, "s3:PutObject"):
                self.client.upload_file(
                    str(path),
                    self.bucket,
                    self.key(key),
                    Config=self.transfer,
                    ExtraArgs=self.encryption or None,
                )

    @contextmanager
    def reading(self, key: str) -> Iterator[Path]:
        with _scratch_file(key, "lake-download-") as path:
            with self._errors("read", key, "s3:GetObject"):
                self.client.download_file(
                    self.bucket, self.key(key), str(path), Config=self.transfer
                )
            yield path

    def put_bytes(self, key: str, data: bytes) -> None:
        with self._errors("write", key, "s3:PutObject"):
            self.client.put_object(
                Bucket=self.bucket, Key=self.key(key), Body=data, **self.encryption
            )

    def get_bytes(self, key: str) -> bytes | None:
        with self._errors("read", key, "s3:GetObject"):
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=self.key(key))
            except self.client.exceptions.NoSuchKey:
                return None
            return response["Body"].read()

    def get_versioned(self, key: str) -> tuple[bytes | None, str | None]:
        with self._errors("read", key, "s3:GetObject"):
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=self.key(key))
            except self.client.exceptions.NoSuchKey:
                return None, None
            return response["Body"].read(), response["ETag"]

    def put_if(self, key: str, data: bytes, version: str | None) -> str | None:
        """S3's own compare-and-set: PutObject with If-Match (the ETag read) or, for a key that
        did not exist, If-None-Match: *."""
        condition = {"IfMatch": version} if version else {"IfNoneMatch": "*"}
        with self._errors("write", key, "s3:PutObject"):
            try:
                response = self.client.put_object(
                    Bucket=self.bucket, Key=self.key(key), Body=data, **condition, **self.encryption
                )
            except ClientError as e:
                if _error_code(e) in _CONDITION_LOST:
                    return None
                raise
        return response["ETag"]

    @contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """A lease object `_locks/<name>.json`, created with If-None-Match. A lease older than
        LOCK_LEASE_S (its holder died) is taken over with If-Match on its ETag. Each lease
        names its holder, so that a lease whose creation was applied but whose reply was lost
        (the retried PUT then gets 412) is known as ours, not waited on as another run's."""
        key = f"_locks/{name}.json"
        deadline = time.monotonic() + LOCK_WAIT_S
        delay = 0.05
        holder = uuid.uuid4().hex
        while True:
            lease = {"expires": time.time() + LOCK_LEASE_S, "holder": holder}
            body = json.dumps(lease).encode()
            if mine := self.put_if(key, body, None):
                break
            held, version = self.get_versioned(key)
            if held is not None and version and json.loads(held).get("holder") == holder:
                mine = version  # our own lease: the reply to its creation was lost
                break
            expired = held is not None and json.loads(held)["expires"] < time.time()
            if expired and (mine := self.put_if(key, body, version)):
                break
            if time.monotonic() > deadline:
                raise AwsError(
                    f"the lock {self.uri(key)} has been held for over {LOCK_WAIT_S}s by another "
                    "run; if no run is active, delete that object",
                    retryable=True,
                )
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 2.0)
        try:
            yield
        finally:
            self._release(key, mine)

    def _release(self, key: str, mine: str) -> None:
        """Delete our own lease only: if it expired and was taken over, the new holder keeps
        it. S3 deletes conditionally (If-Match); an S3-compatible store that does not is
        asked whether the lease is still ours first."""
        with self._errors("delete from", key, "s3:DeleteObject"):
            try:
                self.client.delete_object(Bucket=self.bucket, Key=self.key(key), IfMatch=mine)
                return
            except ClientError as e:
                if _error_code(e) in _CONDITION_LOST | {"NoSuchKey", "404"}:
                    return
            if self.get_versioned(key)[1] == mine:
                with suppress(self.client.exceptions.NoSuchKey):
                    self.client.delete_object(Bucket=self.bucket, Key=self.key(key))

    def list_sizes(self, prefix: str) -> dict[str, int]:
        return {key: obj["Size"] for key, obj in self._list(prefix).items()}

    def list_modified(self, prefix: str) -> dict[str, float]:
        return {key: obj["LastModified"].timestamp() for key, obj in self._list(prefix).items()}

    def _list(self, prefix: str) -> dict[str, dict[str, Any]]:
        base = self.key(prefix)
        strip = len(self.prefix) + 1 if self.prefix else 0
        out: dict[str, dict[str, Any]] = {}
        with self._errors("list", prefix, "s3:ListBucket"):
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=base
            ):
                for obj in page.get("Contents", []):
                    out[obj["Key"][strip:]] = obj
        return out

    def list_keys(self, prefix: str) -> list[str]:
        return sorted(self.list_sizes(prefix))

    def delete_keys(self, keys: Iterable[str]) -> int:
        keys = list(keys)
        for i in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": self.key(k)} for k in keys[i : i + DELETE_BATCH]]
            with self._errors("delete from", keys[i], "s3:DeleteObject"):
                response = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
            if errors := response.get("Errors"):
                first = errors[0]
                raise AwsError(
                    f"cannot delete {len(errors)} object(s) under {self.root}, e.g. "
                    f"{first.get('Key')}: {first.get('Code')} {first.get('Message')}"
                )
        return len(keys)

    def check_writable(self) -> None:
        """Fail early, naming the bucket and the fix, when the bucket is missing or denied."""
        with self._errors("use", "", "s3:ListBucket on the bucket"):
            self.client.head_bucket(Bucket=self.bucket)


def _error_code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", ""))


SCRATCH_MAX_AGE_S = 6 * 3600  # no transfer takes that long: older scratch files are debris


def scratch_dir() -> Path:
    return Path(tempfile.gettempdir(), "lake-assets-scratch")


def sweep_stale_scratch(max_age_s: float = SCRATCH_MAX_AGE_S) -> int:
    """Remove scratch files that a killed run (kill -9 skips every `finally`) left behind."""
    cutoff, removed = time.time() - max_age_s, 0
    for path in scratch_dir().glob("lake-*"):
        with suppress(FileNotFoundError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    return removed


@contextmanager
def _scratch_file(key: str, prefix: str) -> Iterator[Path]:
    """A local temporary file for one object's transfer, removed afterwards whatever happens
    (and, after a kill, by the next store's `sweep_stale_scratch`)."""
    scratch_dir().mkdir(exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=Path(key).suffix, prefix=prefix, dir=scratch_dir())
    os.close(fd)
    path = Path(tmp)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
