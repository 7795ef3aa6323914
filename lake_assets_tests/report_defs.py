"""The reports' assets, checks and sensor as the tests use them: made by the package's own
factories from the tests' environment (conftest.py sets it before anything is imported), as
`lake_assets.definitions` makes them from the process's."""

from __future__ import annotations

import os

from dagster import AssetChecksDefinition, AssetsDefinition

from lake_assets.core.tables import TableSpec
from lake_assets.defs.automation.alerts import AlertSensors, AlertTargets, build_alert_sensors
from lake_assets.defs.automation.late_data import build_late_reports_sensor
from lake_assets.defs.reports import build_report_assets
from lake_assets.defs.reports.checks import build_report_checks
from lake_assets.defs.reports.daily import build_rollup
from lake_assets.project import Project
from lake_assets.settings import LakeSettings

PROJECT = Project.from_env({k: v for k, v in os.environ.items() if k != "LAKE_COPIES"})
SETTINGS, DAILY = PROJECT.settings, PROJECT.daily

raw_reports, decoded_reports, reports_table = build_report_assets(DAILY, PROJECT.kinds)
ALL_CHECKS = build_report_checks(DAILY.partitions, SETTINGS.max_quarantine_rate)
raw_matches_source, decoded_accounts_for_raw, quarantine_rate, published_matches_decoded = (
    ALL_CHECKS
)
late_reports_sensor = build_late_reports_sensor(
    DAILY.partitions, SETTINGS.late_lookback_days, SETTINGS.late_sensor_interval_s
)


def alert_sensors() -> AlertSensors:
    """The alert sensors as the code location would make them now, from the environment the
    test has set (destinations, the webserver's URL)."""
    env = {k: v for k, v in os.environ.items() if k != "LAKE_COPIES"}
    settings = LakeSettings.from_env(env)
    return build_alert_sensors(
        AlertTargets(
            settings.alert_sns_topic_arn, settings.alert_webhook_url, settings.webserver_url
        )
    )


reports_daily, rollup_matches_readings = build_rollup(DAILY, PROJECT.kinds)


# What the tests' own environment sets for every definition (conftest.py): retries without
# waits, and the tests' first day. Nothing else of the process's environment.
TEST_ENV = {k: os.environ[k] for k in ("LAKE_RETRY_DELAY_S", "LAKE_START_DATE") if k in os.environ}


def copy_defs(spec: TableSpec, **env: str) -> tuple[AssetsDefinition, AssetChecksDefinition]:
    """A table copy's asset and check as the code location makes them, from the tests'
    environment and `env` (e.g. LAKE_ROOT, LAKE_TIMEZONE)."""
    return Project.from_env({**TEST_ENV, **env}).copy_defs(spec)
