"""The asset checks: reconciliation of every day with its source and upstream zone.

The raw and decoded reconciliations are blocking: a day that fails stops the run before
`reports_table`, so it is never published and the last good version stays visible.
"""

from dagster import (
    AssetCheckExecutionContext,
    AssetChecksDefinition,
    AssetCheckSeverity,
    DailyPartitionsDefinition,
    asset_check,
)

from lake_assets.catalogs.base import LakeCatalog
from lake_assets.defs.lake import LakeResource
from lake_assets.defs.reports import reconcile
from lake_assets.defs.steps.per_day import check_each_day
from lake_assets.lake.zones import TABLE


def build_report_checks(
    partitions: DailyPartitionsDefinition, max_quarantine_rate: float
) -> list[AssetChecksDefinition]:
    """The reports' four checks, per day of `partitions`; the quarantine rate's limit is
    LAKE_MAX_QUARANTINE_RATE."""

    @asset_check(
        asset="raw_reports",
        blocking=True,
        partitions_def=partitions,
        description="Raw rows = the source's rows in the extract's snapshot: count, "
        "min/max id and BIT_XOR(CRC32(id|updated_at)).",
    )
    def raw_matches_source(context: AssetCheckExecutionContext, lake: LakeResource):
        store = lake.store()
        return check_each_day(context, lambda day: reconcile.raw_matches_source(store, day))

    @asset_check(
        asset="decoded_reports",
        blocking=True,
        partitions_def=partitions,
        description="Every raw row is decoded into exactly n_samples × n_channels "
        "readings or quarantined once.",
    )
    def decoded_accounts_for_raw(context: AssetCheckExecutionContext, lake: LakeResource):
        store = lake.store()
        return check_each_day(context, lambda day: reconcile.decoded_accounts_for_raw(store, day))

    @asset_check(
        asset="decoded_reports",
        partitions_def=partitions,
        description="The share of quarantined rows stays under LAKE_MAX_QUARANTINE_RATE "
        f"(here {max_quarantine_rate:.2%}).",
    )
    def quarantine_rate(context: AssetCheckExecutionContext, lake: LakeResource):
        store = lake.store()
        return check_each_day(
            context,
            lambda day: reconcile.quarantine_rate(store, day, max_quarantine_rate),
            severity=AssetCheckSeverity.WARN,
        )

    @asset_check(
        asset="reports_table",
        partitions_def=partitions,
        description="The published version of each day is the current decoded attempt "
        "and holds exactly its readings, counted through the catalog.",
    )
    def published_matches_decoded(
        context: AssetCheckExecutionContext, lake: LakeResource, catalog: LakeCatalog
    ):
        store = lake.store()
        published = catalog.partitions(TABLE)  # once for the run, not once per day
        return check_each_day(
            context,
            lambda day: reconcile.published_matches_decoded(store, catalog, published, day),
        )

    return [
        raw_matches_source,
        decoded_accounts_for_raw,
        quarantine_rate,
        published_matches_decoded,
    ]
