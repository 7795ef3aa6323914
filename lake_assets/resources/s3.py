"""The lake on S3 (LAKE_ROOT=s3://bucket/prefix), through dagster-aws's S3 client.

Large files go up in parts (s3transfer's multipart upload above `MULTIPART_BYTES`); listing
is paginated and deletes are batched 1,000 keys a call, with per-key errors surfaced.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig

from lake_assets.resources.aws_errors import AwsError, explain_aws_errors

MULTIPART_BYTES = 64 * 1024 * 1024
DELETE_BATCH = 1000


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` → ("bucket", "some/prefix")."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, prefix.strip("/")


class S3Store:
    """LakeStore on S3: keys are relative to the root's prefix."""

    def __init__(self, root: str, client: Any) -> None:
        self.root = root
        self.bucket, self.prefix = split_s3_uri(root)
        self.client = client
        self.transfer = TransferConfig(
            multipart_threshold=MULTIPART_BYTES, multipart_chunksize=MULTIPART_BYTES
        )

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
                self.client.upload_file(str(path), self.bucket, self.key(key), Config=self.transfer)

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
            self.client.put_object(Bucket=self.bucket, Key=self.key(key), Body=data)

    def get_bytes(self, key: str) -> bytes | None:
        with self._errors("read", key, "s3:GetObject"):
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=self.key(key))
            except self.client.exceptions.NoSuchKey:
                return None
            return response["Body"].read()

    def list_sizes(self, prefix: str) -> dict[str, int]:
        base = self.key(prefix)
        strip = len(self.prefix) + 1 if self.prefix else 0
        out: dict[str, int] = {}
        with self._errors("list", prefix, "s3:ListBucket"):
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=base
            ):
                for obj in page.get("Contents", []):
                    out[obj["Key"][strip:]] = obj["Size"]
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


@contextmanager
def _scratch_file(key: str, prefix: str) -> Iterator[Path]:
    """A local temporary file for one object's transfer, removed afterwards whatever happens."""
    fd, tmp = tempfile.mkstemp(suffix=Path(key).suffix, prefix=prefix)
    os.close(fd)
    path = Path(tmp)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
