"""The code location: assets, job, schedule and resources, wired from the environment and
the copies file it names (lake_assets/project.py).

Load it with `dagster dev` (workspace.yaml) or `-m lake_assets.definitions`.
"""

from __future__ import annotations

import pyarrow as pa
from dagster import Definitions, in_process_executor

from lake_assets.collector import keep_out_of_collections
from lake_assets.defs.automation.alerts import AlertTargets, build_alert_sensors
from lake_assets.defs.automation.dead_runs import lake_dead_runs
from lake_assets.defs.automation.freshness import build_freshness
from lake_assets.defs.automation.jobs import build_jobs
from lake_assets.defs.automation.late_data import (
    build_late_copies_sensor,
    build_late_reports_sensor,
)
from lake_assets.defs.automation.schedules import (
    build_daily_schedule,
    build_full_copies_schedule,
    build_iceberg_maintenance_schedule,
)
from lake_assets.defs.copies.assets import build_copy
from lake_assets.defs.reports import build_report_assets
from lake_assets.defs.reports.checks import build_report_checks
from lake_assets.defs.reports.daily import build_rollup
from lake_assets.project import Project, current_project


def return_freed_arrow_memory_promptly() -> None:
    """With jemalloc (chosen in lake_assets/__init__.py), give freed pages back after 100 ms
    rather than jemalloc's default 1 s: flatter RSS over a long range, same speed."""
    if pa.default_memory_pool().backend_name == "jemalloc":
        pa.jemalloc_set_decay_ms(100)


def build_defs(project: Project) -> Definitions:
    """Everything the code location holds, made from `project`: the reports' assets and
    checks, one asset and one blocking check per table copy of the copies file, the jobs,
    schedules and sensors, and the resources."""
    settings, daily, kinds = project.settings, project.daily, project.kinds
    alerts = build_alert_sensors(
        AlertTargets(
            sns_topic_arn=settings.alert_sns_topic_arn,
            webhook_url=settings.alert_webhook_url,
            webserver_url=settings.webserver_url,
        )
    )
    reports = build_report_assets(daily, kinds)
    rollup, rollup_check = build_rollup(daily, kinds)
    copies = [build_copy(spec, daily, kinds, settings.timezone) for spec in project.copies]
    jobs = build_jobs(project.copies)
    lookback, interval = settings.late_lookback_days, settings.late_sensor_interval_s
    freshness = build_freshness(settings.freshness_deadline, settings.timezone)
    at, tz = settings.schedule_time, settings.timezone
    iceberg = settings.table_format == "iceberg"
    maintenance = []
    if iceberg:
        from lake_assets.defs.maintenance import iceberg_maintenance

        maintenance = [iceberg_maintenance]
    return Definitions(
        assets=[*reports, rollup, *(asset for asset, _ in copies), *maintenance],
        asset_checks=[
            *build_report_checks(daily.partitions, settings.max_quarantine_rate),
            rollup_check,
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
            build_late_reports_sensor(daily.partitions, lookback, interval),
            *(
                [
                    build_late_copies_sensor(
                        project.copies, daily.partitions, lookback, interval, settings.timezone
                    )
                ]
                if any(spec.daily for spec in project.copies)
                else []
            ),
            alerts.failures,
            alerts.retries,
            lake_dead_runs,
        ],
        resources=project.resources(),
        # The three steps run one after another; one process avoids a start-up per step.
        executor=in_process_executor,
    )


return_freed_arrow_memory_promptly()
project = current_project()  # the one place, with cli.py, that reads the configuration
defs = build_defs(project)

# Everything made so far lives as long as the process: the collector need not walk it again.
keep_out_of_collections()
