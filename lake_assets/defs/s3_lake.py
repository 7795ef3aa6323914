"""The lake on S3: `LakeResource` plus dagster-aws's `S3Resource` for its client.

Kept apart from defs/lake.py because importing dagster-aws costs a process about a
second (its package loads all its components): a local lake never pays it.
"""

from __future__ import annotations

from dagster_aws.s3 import S3Resource
from pydantic import Field

from lake_assets.defs.lake import LakeResource
from lake_assets.lake.aws import aws_client
from lake_assets.lake.s3 import S3Store
from lake_assets.lake.store import LakeStore


class S3LakeResource(LakeResource):
    """LAKE_ROOT=s3://bucket/prefix. `S3Resource` honours the standard AWS settings
    (AWS_REGION, AWS_ENDPOINT_URL, AWS_PROFILE, credentials) as boto3 does."""

    kms_key_id: str = Field(default="", description="LAKE_S3_KMS_KEY_ID: SSE-KMS for every object")
    s3: S3Resource = Field(default_factory=S3Resource)

    def _open(self) -> LakeStore:
        if not self.root.startswith("s3://"):
            return super()._open()
        return S3Store(self.root, aws_client(self.s3, "s3"), self.kms_key_id)
