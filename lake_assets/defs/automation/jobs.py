"""The jobs: the daily one (the reports pipeline and every daily copy), the full copies, and
Iceberg maintenance, made from the copies they are given.

The daily job's partitions are the assets' own, which Dagster infers from the selection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dagster import AssetSelection, define_asset_job

from lake_assets.core.tables import TableSpec

if TYPE_CHECKING:  # what define_asset_job returns; dagster does not export the name
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

DAILY_REPORTS_JOB = "daily_reports_job"  # what the sensors ask for runs of, by name


@dataclass(frozen=True)
class Jobs:
    daily_reports: UnresolvedAssetJobDefinition
    full_copies: UnresolvedAssetJobDefinition | None  # None: no full copy is declared
    iceberg_maintenance: UnresolvedAssetJobDefinition


def build_jobs(copies: Sequence[TableSpec]) -> Jobs:
    full = [c.asset_key for c in copies if not c.daily]
    return Jobs(
        daily_reports=define_asset_job(
            name=DAILY_REPORTS_JOB,
            selection=AssetSelection.assets(
                "raw_reports", "decoded_reports", "reports_table", "reports_daily"
            )
            | AssetSelection.assets(*[c.asset_key for c in copies if c.daily]),
            description="Extract, decode and publish the selected day(s) of MySQL `reports` "
            "and their daily rollup, and copy the same day(s) of every daily table copy.",
        ),
        full_copies=define_asset_job(
            name="full_copies_job",
            selection=AssetSelection.assets(*full),
            description="Copy every table declared with `mode: full`, each replaced atomically.",
        )
        if full
        else None,
        iceberg_maintenance=define_asset_job(
            name="iceberg_maintenance_job",
            selection=AssetSelection.assets("iceberg_maintenance"),
            description="Expire old Iceberg snapshots and delete the files nothing reads any more.",
        ),
    )
