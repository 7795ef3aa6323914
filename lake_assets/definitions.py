"""The code location: assets, job, schedule and resources, wired from the environment.

Load it with `dagster dev` (workspace.yaml) or `-m lake_assets.definitions`.
"""

from __future__ import annotations

from pathlib import Path

from dagster import Definitions, in_process_executor

from lake_assets.assets import decoded_reports, raw_reports, reports_table
from lake_assets.automation.jobs import daily_reports_job
from lake_assets.automation.schedules import daily_reports_schedule
from lake_assets.resources.catalog import DuckDBCatalogResource, LakeCatalog
from lake_assets.resources.lake import LakeResource
from lake_assets.resources.mysql import MySQLResource
from lake_assets.settings import LakeSettings, env_int_or_default, env_or_default


def build_resources(settings: LakeSettings) -> dict[str, object]:
    return {
        "mysql": MySQLResource(
            host=env_or_default("MYSQL_HOST"),
            port=env_int_or_default("MYSQL_PORT"),
            user=env_or_default("MYSQL_USER"),
            password=env_or_default("MYSQL_PASSWORD"),
            database=env_or_default("MYSQL_DATABASE"),
        ),
        "lake": LakeResource(root=settings.lake_root),
        "catalog": build_catalog(settings),
    }


def build_catalog(settings: LakeSettings) -> LakeCatalog:
    return DuckDBCatalogResource(path=str(Path(settings.lake_root, "catalog.duckdb")))


settings = LakeSettings.from_env()

defs = Definitions(
    assets=[raw_reports, decoded_reports, reports_table],
    jobs=[daily_reports_job],
    schedules=[daily_reports_schedule],
    resources=build_resources(settings),
    # The three steps run one after another; one process avoids a start-up per step.
    executor=in_process_executor,
)
