"""The code location: assets, job, schedule and resources, wired from the environment.

Load it with `dagster dev` (workspace.yaml) or `-m lake_assets.definitions`.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from dagster import Definitions, in_process_executor

from lake_assets.assets import build_report_assets
from lake_assets.automation.alerts import lake_alert_retries, lake_failure_alerts
from lake_assets.automation.dead_runs import lake_dead_runs
from lake_assets.automation.freshness import build_freshness
from lake_assets.automation.jobs import build_jobs
from lake_assets.automation.late_copies import build_late_copies_sensor
from lake_assets.automation.schedules import (
    build_daily_schedule,
    build_full_copies_schedule,
    build_iceberg_maintenance_schedule,
)
from lake_assets.automation.sensors import build_late_reports_sensor
from lake_assets.checks.checks import build_report_checks
from lake_assets.collector import keep_out_of_collections
from lake_assets.copies.assets import build_copy
from lake_assets.policies import daily_policy
from lake_assets.resources.catalog import LakeCatalog
from lake_assets.resources.duckdb_catalog import DuckDBCatalogResource
from lake_assets.resources.lake import lake_resource
from lake_assets.settings import (
    LakeSettings,
    MySQLSettings,
    current_settings,
    secret,
)
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


def return_freed_arrow_memory_promptly() -> None:
    """With jemalloc (chosen in lake_assets/__init__.py), give freed pages back after 100 ms
    rather than jemalloc's default 1 s: flatter RSS over a long range, same speed."""
    if pa.default_memory_pool().backend_name == "jemalloc":
        pa.jemalloc_set_decay_ms(100)


def build_defs(settings: LakeSettings) -> Definitions:
    """Everything the code location holds, made from `settings`: the reports' assets and
    checks, one asset and one blocking check per table copy of the copies file, the jobs,
    schedules and sensors, and the resources."""
    daily = daily_policy(settings)
    reports = build_report_assets(settings)
    copies = [build_copy(spec, settings) for spec in settings.copies]
    jobs = build_jobs(settings.copies)
    freshness = build_freshness(settings.freshness_deadline, settings.timezone)
    at, tz = settings.schedule_time, settings.timezone
    iceberg = settings.table_format == "iceberg"
    maintenance = []
    if iceberg:
        from lake_assets.assets.maintenance import iceberg_maintenance

        maintenance = [iceberg_maintenance]
    return Definitions(
        assets=[*reports, *(asset for asset, _ in copies), *maintenance],
        asset_checks=[
            *build_report_checks(daily.partitions, settings.max_quarantine_rate),
            *(check for _, check in copies),
        ],
        jobs=[
            jobs.daily_reports,
            freshness.job,
            *([jobs.full_copies] if jobs.full_copies else []),
            *([jobs.iceberg_maintenance] if iceberg else []),
        ],
        schedules=[
            build_daily_schedule(jobs.daily_reports, at.hour, at.minute),
            freshness.schedule,
            *(
                [build_full_copies_schedule(jobs.full_copies, at.hour, at.minute, tz)]
                if jobs.full_copies
                else []
            ),
            *(
                [
                    build_iceberg_maintenance_schedule(
                        jobs.iceberg_maintenance, at.hour, at.minute, tz
                    )
                ]
                if iceberg
                else []
            ),
        ],
        sensors=[
            build_late_reports_sensor(settings, daily.partitions),
            *(
                [build_late_copies_sensor(settings.copies, settings, daily.partitions)]
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


return_freed_arrow_memory_promptly()
settings = current_settings()  # the one place, with cli.py, that reads the environment
defs = build_defs(settings)

# Everything made so far lives as long as the process: the collector need not walk it again.
keep_out_of_collections()
