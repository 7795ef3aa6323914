"""The code location: assets, job, schedule and resources, wired from the environment.

Load it with `dagster dev` (workspace.yaml) or `-m lake_assets.definitions`.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from dagster import Definitions, in_process_executor

from lake_assets.assets import decoded_reports, raw_reports, reports_table
from lake_assets.automation.alerts import lake_alert_retries, lake_failure_alerts
from lake_assets.automation.dead_runs import lake_dead_runs
from lake_assets.automation.freshness import freshness_job, freshness_schedule
from lake_assets.automation.jobs import (
    HAS_FULL_COPIES,
    daily_reports_job,
    full_copies_job,
    iceberg_maintenance_job,
)
from lake_assets.automation.late_copies import build_late_copies_sensor
from lake_assets.automation.schedules import (
    daily_reports_schedule,
    full_copies_schedule,
    iceberg_maintenance_schedule,
)
from lake_assets.automation.sensors import late_reports_sensor
from lake_assets.checks.checks import ALL_CHECKS
from lake_assets.collector import keep_out_of_collections
from lake_assets.copies.assets import build_copy
from lake_assets.resources.catalog import LakeCatalog
from lake_assets.resources.duckdb_catalog import DuckDBCatalogResource
from lake_assets.resources.lake import lake_resource
from lake_assets.resources.mysql import MySQLResource
from lake_assets.settings import (
    LakeSettings,
    MySQLSettings,
    current_settings,
    secret,
)


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
        from lake_assets.resources.iceberg_catalog import IcebergCatalogResource

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
        from lake_assets.resources.glue import GlueCatalogResource

        return GlueCatalogResource(
            database=settings.glue_database,
            lake_root=settings.lake_root,
            athena_workgroup=settings.athena_workgroup,
            athena_output_location=settings.athena_output_location or None,
            kms_key_id=settings.s3_kms_key_id,
        )
    return DuckDBCatalogResource(path=str(Path(settings.lake_root, "catalog.duckdb")))


settings = current_settings()


def return_freed_arrow_memory_promptly() -> None:
    """With jemalloc (chosen in lake_assets/__init__.py), give freed pages back after 100 ms
    rather than jemalloc's default 1 s: flatter RSS over a long range, same speed."""
    if pa.default_memory_pool().backend_name == "jemalloc":
        pa.jemalloc_set_decay_ms(100)


return_freed_arrow_memory_promptly()

# One asset and one blocking check per table copy declared in the copies file.
copies = [build_copy(spec, settings) for spec in settings.copies]

ICEBERG = settings.table_format == "iceberg"
if ICEBERG:
    from lake_assets.assets.maintenance import iceberg_maintenance

defs = Definitions(
    assets=[
        raw_reports,
        decoded_reports,
        reports_table,
        *(asset for asset, _ in copies),
        *([iceberg_maintenance] if ICEBERG else []),
    ],
    asset_checks=[*ALL_CHECKS, *(check for _, check in copies)],
    jobs=[
        daily_reports_job,
        freshness_job,
        *([full_copies_job] if HAS_FULL_COPIES else []),
        *([iceberg_maintenance_job] if ICEBERG else []),
    ],
    schedules=[
        daily_reports_schedule,
        freshness_schedule,
        *([full_copies_schedule] if HAS_FULL_COPIES else []),
        *([iceberg_maintenance_schedule] if ICEBERG else []),
    ],
    sensors=[
        late_reports_sensor,
        *(
            [build_late_copies_sensor(settings.copies, settings)]
            if any(spec.daily for spec in settings.copies)
            else []
        ),
        lake_failure_alerts,
        lake_alert_retries,
        lake_dead_runs,
    ],
    resources=build_resources(settings),
    # The three steps run one after another; one process avoids a start-up per step.
    executor=in_process_executor,
)


# Everything made so far lives as long as the process: the collector need not walk it again.
keep_out_of_collections()
