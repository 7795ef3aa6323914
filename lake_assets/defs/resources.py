"""The resources, made from the settings they are given: the source, the lake and the
catalog. Each catalog (and dagster-aws, for an S3 lake) is imported only when chosen: pyiceberg
and dagster-aws cost a process start about a second each."""

from __future__ import annotations

from pathlib import Path

from lake_assets.catalogs.base import LakeCatalog
from lake_assets.catalogs.duckdb import DuckDBCatalogResource
from lake_assets.defs.lake import LakeResource
from lake_assets.settings import LakeSettings, MySQLSettings, secret
from lake_assets.source.client import MySQLResource


def build_resources(settings: LakeSettings) -> dict[str, object]:
    return {
        "mysql": build_mysql(settings.mysql),
        "lake": lake_resource(
            settings.lake_root, settings.table_format, kms_key_id=settings.s3_kms_key_id
        ),
        "catalog": build_catalog(settings),
    }


def build_mysql(mysql: MySQLSettings) -> MySQLResource:
    return MySQLResource(
        host=mysql.host,
        port=mysql.port,
        user=mysql.user,
        password=secret("MYSQL_PASSWORD"),
        database=mysql.database,
        connect_retry_s=mysql.connect_retry_s,
        read_timeout_s=mysql.read_timeout_s,
    )


def build_catalog(settings: LakeSettings) -> LakeCatalog:
    """DuckDB next to a local lake, Glue (and Athena) for an S3 lake: LAKE_ROOT decides; with
    LAKE_TABLE_FORMAT=iceberg, Iceberg tables in a SQL catalog next to a local lake, or in
    Glue for an S3 lake. Each is imported only when chosen: pyiceberg and dagster-aws cost
    a process start about a second each."""
    if settings.table_format == "iceberg":
        from lake_assets.catalogs.iceberg import IcebergCatalogResource

        return IcebergCatalogResource(
            lake_root=settings.lake_root,
            namespace=settings.glue_database,
            athena_workgroup=settings.athena_workgroup,
            athena_output_location=settings.athena_output_location or None,
            kms_key_id=settings.s3_kms_key_id,
            snapshot_retention_days=settings.snapshot_retention_days,
            orphan_margin_hours=settings.orphan_margin_hours,
        )
    if settings.is_s3:
        from lake_assets.catalogs.glue import GlueCatalogResource

        return GlueCatalogResource(
            database=settings.glue_database,
            lake_root=settings.lake_root,
            athena_workgroup=settings.athena_workgroup,
            athena_output_location=settings.athena_output_location or None,
            kms_key_id=settings.s3_kms_key_id,
        )
    return DuckDBCatalogResource(path=str(Path(settings.lake_root, "catalog.duckdb")))


def lake_resource(root: str, table_format: str = "hive", kms_key_id: str = "") -> LakeResource:
    """The lake resource for LAKE_ROOT: a local folder, or s3://bucket/prefix."""
    if not root.startswith("s3://"):
        return LakeResource(root=root, table_format=table_format)
    from lake_assets.defs.s3_lake import S3LakeResource  # dagster-aws: only for S3

    return S3LakeResource(root=root, table_format=table_format, kms_key_id=kms_key_id)
