"""The project as configured: the settings (from the environment), the table copies (from the
copies file the settings name), and the values the definitions' builders are given.

With settings.py, the one place where configuration becomes values: `definitions.py` and
`cli.py` call it; everything below them takes plain arguments (the floor plan, enforced by
`lint-imports`: nothing under `defs/` imports the settings).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dagster import AssetChecksDefinition, AssetsDefinition

from lake_assets.catalogs.base import LakeCatalog
from lake_assets.catalogs.duckdb import DuckDBCatalogResource
from lake_assets.core.copies_file import CopiesConfigError, load_copies
from lake_assets.core.tables import TableSpec
from lake_assets.defs.copies.assets import build_copy
from lake_assets.defs.lake import LakeResource
from lake_assets.defs.policies import DailyPolicy, daily_policy
from lake_assets.defs.resources import catalog_kinds, lake_resource
from lake_assets.settings import LakeSettings, MySQLSettings, SettingsError, copies_file, secret
from lake_assets.source.client import MySQLResource


@dataclass(frozen=True)
class Project:
    settings: LakeSettings
    copies: tuple[TableSpec, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Project:
        """The settings of `env` (the process's environment and ./.env when None) and the
        copies file they name. Every problem of both is reported at once:
        SettingsError.problems, one sentence each naming the variable or the file's entry."""
        problems: list[str] = []
        settings = None
        try:
            settings = LakeSettings.from_env(env)
        except SettingsError as e:
            problems.extend(e.problems)
        copies: tuple[TableSpec, ...] = ()
        try:
            path = settings.copies_file if settings else copies_file(env or os.environ)
            copies = load_copies(Path(path)) if path else ()
        except SettingsError:
            pass  # LAKE_COPIES itself is wrong: the settings said so already
        except CopiesConfigError as e:
            problems.append(str(e))
        if problems or settings is None:
            raise SettingsError(*problems)
        return cls(settings, copies)

    @functools.cached_property
    def daily(self) -> DailyPolicy:
        """The one policy every daily asset of the project shares."""
        return daily_policy_of(self.settings)

    @property
    def kinds(self) -> set[str]:
        """Where the tables land, for the assets' `kinds`."""
        return catalog_kinds(self.settings.table_format, self.settings.is_s3)

    def resources(self) -> dict[str, object]:
        return build_resources(self.settings)

    def copy_defs(self, spec: TableSpec) -> tuple[AssetsDefinition, AssetChecksDefinition]:
        """A table copy's asset and blocking check, as the code location makes them."""
        return build_copy(spec, self.daily, self.kinds, self.settings.timezone)


@functools.cache
def current_project() -> Project:
    """The process's project, read once (the code location, the CLI)."""
    return Project.from_env()


def daily_policy_of(settings: LakeSettings) -> DailyPolicy:
    return daily_policy(
        start=settings.start_date,
        timezone=settings.timezone,
        retries=settings.retry_max,
        retry_delay_s=settings.retry_delay_s,
        days_per_run=settings.backfill_days_per_run,
    )


def build_resources(settings: LakeSettings) -> dict[str, object]:
    return {
        "mysql": build_mysql(settings.mysql),
        "lake": build_lake(settings),
        "catalog": build_catalog(settings),
    }


def build_lake(settings: LakeSettings) -> LakeResource:
    return lake_resource(
        settings.lake_root, settings.table_format, kms_key_id=settings.s3_kms_key_id
    )


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
