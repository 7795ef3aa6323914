"""The lake resource for a lake root, and the `kinds` that say where the tables land."""

from __future__ import annotations

from lake_assets.defs.lake import LakeResource


def lake_resource(root: str, table_format: str = "hive", kms_key_id: str = "") -> LakeResource:
    """The lake resource for LAKE_ROOT: a local folder, or s3://bucket/prefix."""
    if not root.startswith("s3://"):
        return LakeResource(root=root, table_format=table_format)
    from lake_assets.defs.s3_lake import S3LakeResource  # dagster-aws: only for S3

    return S3LakeResource(root=root, table_format=table_format, kms_key_id=kms_key_id)


def catalog_kinds(table_format: str, is_s3: bool) -> set[str]:
    """The catalog and query engine a table is published to, as the assets' `kinds`."""
    if table_format == "iceberg":
        return {"iceberg", "duckdb"}
    return {"glue", "athena"} if is_s3 else {"duckdb"}
